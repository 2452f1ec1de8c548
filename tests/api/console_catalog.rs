//! The console's catalog (SPEC §6–§8, managers and owners): departments renamed,
//! reordered, hidden and shown; products added, renamed, repriced, hidden and
//! shown. What staff hide leaves the shop at once, but never a shopper's past
//! orders or the credit they hold.

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{Actor, AdjustmentReason, CreditKind, CreditSource, Email, Money, Role};
use storecredit::store::credits::NewCredit;

use crate::console::staff_member;
use crate::helpers::{TestApp, location, spawn_app};

fn category_id(app: &TestApp, slug: &str) -> i64 {
    app.with_store(|store| store.categories().by_slug(slug).unwrap().id().get())
}

/// An audit entry as these tests read it: (who, what, subject, before, after).
type Entry = (String, String, String, Option<String>, Option<String>);

/// The audit trail's newest entries.
fn trail(app: &TestApp) -> Vec<Entry> {
    app.with_store(|store| store.audit_page(&Default::default(), None, 20))
        .unwrap()
        .entries
        .into_iter()
        .map(|entry| {
            (
                entry.actor,
                entry.action,
                entry.subject,
                entry.before,
                entry.after,
            )
        })
        .collect()
}

#[actix_web::test]
async fn a_hidden_product_leaves_the_shop_and_checkout_refuses_it_but_old_receipts_keep_it() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let product = app.product_id("SafeKeep Backup");
    let bought = app.buy(product, &[]).await;
    assert_eq!(bought.status(), StatusCode::SEE_OTHER);
    let receipt = location(&bought).to_owned();
    let open_checkout = app.checkout_form(product).await;
    let manager = staff_member(&app, Role::Manager).await;

    let hidden = manager
        .post_console(&format!("/admin/products/{product}/hide"), &[])
        .await;

    assert_eq!(hidden.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&hidden), format!("/admin/products/{product}"));
    assert!(
        manager
            .follow(&hidden)
            .await
            .contains("data-product-state>hidden<")
    );
    assert_eq!(
        app.get(&format!("/products/{product}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let software = app.get_html("/store/software").await;
    assert!(!software.contains(&format!("data-product-id=\"{product}\"")));
    assert!(!app.get_html("/store").await.contains("SafeKeep Backup"));
    assert_eq!(
        app.get(&format!("/checkout/{product}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let orders_before = app.sql_rows("SELECT id FROM orders").len();
    let refused = app
        .post_form(
            &format!("/checkout/{product}"),
            &[
                ("csrf_token", &open_checkout.csrf_token),
                ("idempotency_key", &open_checkout.key),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert!(refused.text().await.unwrap().contains("not for sale"));
    assert_eq!(
        app.sql_rows("SELECT id FROM orders").len(),
        orders_before,
        "nothing ordered"
    );
    let old = app.get(&receipt).await;
    assert_eq!(old.status(), StatusCode::OK, "the receipt stays");
    assert!(old.text().await.unwrap().contains("SafeKeep Backup"));

    let shown = manager
        .post_console(&format!("/admin/products/{product}/show"), &[])
        .await;
    assert_eq!(shown.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/products/{product}")).await.status(),
        StatusCode::OK
    );
    let who = format!("staff:{}", manager.email);
    let actions: Vec<String> = trail(&app)
        .into_iter()
        .filter(|entry| entry.0 == who && entry.1.starts_with("product."))
        .map(|entry| format!("{} {}", entry.1, entry.2))
        .collect();
    assert_eq!(
        actions,
        [
            format!("product.show product:{product}"),
            format!("product.hide product:{product}")
        ]
    );
}

#[actix_web::test]
async fn a_hidden_department_leaves_the_shop_but_the_pop_up_keeps_credit_held_in_it() {
    let Some(app) = spawn_app().await else { return };
    let holder = app.new_shopper("holder@example.com").await;
    let empty = app.new_shopper("empty@example.com").await;
    let software = app.with_store(|store| store.categories().by_slug("software").unwrap().id());
    let user = app
        .with_store(|store| store.user_id_by_email(&Email::parse("holder@example.com").unwrap()))
        .unwrap()
        .unwrap();
    let now = app.clock.now();
    app.with_store(|store| {
        store.grant_credit(
            &Actor::command(),
            user,
            &NewCredit {
                kind: CreditKind::Promotional(std::iter::once(software).collect()),
                source: CreditSource::Grant,
                description: "Software credit".into(),
                amount: Money::from_cents(500),
                expires_at: None,
                code_redemption_id: None,
            },
            &AdjustmentReason::parse("test").unwrap(),
            now,
        )
    })
    .unwrap();
    let manager = staff_member(&app, Role::Manager).await;

    let hidden = manager
        .post_console(&format!("/admin/categories/{}/hide", software.get()), &[])
        .await;

    assert_eq!(hidden.status(), StatusCode::SEE_OTHER);
    let home = app.get_html("/").await;
    assert!(
        !home.contains("href=\"/store/software\""),
        "out of the navigation"
    );
    assert_eq!(app.get("/store/software").await.status(), StatusCode::NOT_FOUND);
    assert!(
        !app.get_html("/store")
            .await
            .contains("data-category=\"software\"")
    );
    assert!(
        holder
            .popup()
            .await
            .contains(&("software".into(), "$5.00".into())),
        "money is never hidden from its owner: {:?}",
        holder.popup().await
    );
    assert!(
        !empty.popup().await.iter().any(|(hook, _)| hook == "software"),
        "{:?}",
        empty.popup().await
    );

    manager
        .post_console(&format!("/admin/categories/{}/show", software.get()), &[])
        .await;
    assert!(app.get_html("/").await.contains("href=\"/store/software\""));
    assert!(empty.popup().await.iter().any(|(hook, _)| hook == "software"));
}

#[actix_web::test]
async fn a_renamed_department_shows_its_new_label_in_the_shop_at_once() {
    let Some(app) = spawn_app().await else { return };
    let owner = staff_member(&app, Role::Owner).await;

    let renamed = owner
        .post_console(
            &format!("/admin/categories/{}/rename", category_id(&app, "kindle")),
            &[("label", "Books")],
        )
        .await;

    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    assert!(app.get_html("/store/kindle").await.contains(">Books<"));
    let clash = owner
        .post_console(
            &format!("/admin/categories/{}/rename", category_id(&app, "kindle")),
            &[("label", "Software")],
        )
        .await;
    assert_eq!(clash.status(), StatusCode::CONFLICT);
    let html = clash.text().await.unwrap();
    assert!(html.contains("Label: "), "{html}");
    assert!(
        html.contains("aria-describedby=\"category-2-label-error\""),
        "{html}"
    );
    assert!(
        trail(&app).contains(&(
            format!("staff:{}", owner.email),
            "category.rename".into(),
            "category:kindle".into(),
            Some("Kindle".into()),
            Some("Books".into())
        )),
        "{:?}",
        trail(&app)
    );
}

#[actix_web::test]
async fn departments_moved_at_once_keep_each_place_unique() {
    let Some(app) = spawn_app().await else { return };
    let first = staff_member(&app, Role::Manager).await;
    let second = staff_member(&app, Role::Owner).await;
    let ids: Vec<i64> = app.with_store(|store| store.categories().iter().map(|c| c.id().get()).collect());

    let mut moves = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let _ = n;
        for (staff, direction) in [(&first, "up"), (&second, "down")] {
            let path = format!("/admin/categories/{id}/move");
            moves.push(async move { staff.post_console(&path, &[("direction", direction)]).await });
        }
    }
    let answers = join_all(moves).await;

    for answer in &answers {
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::CONFLICT].contains(&answer.status()),
            "{}",
            answer.status()
        );
    }
    let positions: Vec<String> = app
        .sql_rows("SELECT position FROM categories ORDER BY position")
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let expected: Vec<String> = (1..=ids.len()).map(|n| n.to_string()).collect();
    assert_eq!(positions, expected);
    let moved = trail(&app)
        .iter()
        .filter(|entry| entry.1 == "category.move")
        .count();
    let went = answers
        .iter()
        .filter(|a| a.status() == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(moved, went, "each move that went through is on the record");
}

#[actix_web::test]
async fn a_price_typed_wrongly_is_refused_naming_the_field_and_a_good_one_is_kept_with_who() {
    let Some(app) = spawn_app().await else { return };
    let product = app.product_id("SafeKeep Backup");
    let manager = staff_member(&app, Role::Manager).await;
    let path = format!("/admin/products/{product}/price");
    let before: Vec<Vec<String>> = app.sql_rows("SELECT price_cents FROM products ORDER BY id");

    for typed in ["2,50", "12.505", "ten", "-3", "0"] {
        let refused = manager.post_console(&path, &[("price", typed)]).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{typed}");
        let html = refused.text().await.unwrap();
        assert!(html.contains("Price: "), "{typed}: {html}");
        assert!(html.contains("aria-describedby=\"price-price-error\""), "{typed}");
    }
    assert_eq!(
        app.sql_rows("SELECT price_cents FROM products ORDER BY id"),
        before
    );

    let kept = manager.post_console(&path, &[("price", "$12.50")]).await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    assert!(manager.follow(&kept).await.contains("data-product-price>$12.50<"));
    assert!(
        app.get_html(&format!("/products/{product}"))
            .await
            .contains("$12.50")
    );
    let newest = trail(&app).remove(0);
    assert_eq!(newest.0, format!("staff:{}", manager.email));
    assert_eq!(newest.1, "product.price");
    assert_eq!(newest.4.as_deref(), Some("$12.50"));
}

#[actix_web::test]
async fn a_product_added_in_the_console_is_on_sale_and_the_list_pages_and_downloads() {
    let Some(app) = spawn_app().await else { return };
    let manager = staff_member(&app, Role::Manager).await;

    let added = manager
        .post_console(
            "/admin/products",
            &[
                ("category", "music"),
                ("title", "Quiet Harbour"),
                ("creator", "The Tides"),
                ("format", "MP3 album"),
                ("price", "7"),
                ("description", "Sea songs."),
            ],
        )
        .await;

    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let id: i64 = location(&added).rsplit('/').next().unwrap().parse().unwrap();
    assert!(app.get_html("/store/music").await.contains("Quiet Harbour"));
    assert!(app.get_html(&format!("/products/{id}")).await.contains("$7.00"));

    let music = manager.get_html("/admin/catalog?category=music").await;
    assert!(music.contains(&format!("data-product-id=\"{id}\"")));
    // The whole catalog is more than a page: newest first, 20, then older.
    let all = manager.get_html("/admin/catalog").await;
    assert_eq!(all.matches("data-product-id=").count(), 20);
    assert!(
        all.contains(&format!("data-product-id=\"{id}\"")),
        "the newest first"
    );
    assert!(all.contains("rel=\"next\""));
    let csv = manager.get("/admin/catalog?category=music&format=csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("id,category,title,creator,format,price,featured,hidden"));
    assert!(
        text.contains("Quiet Harbour,The Tides,MP3 album,7.00,false,false"),
        "{text}"
    );

    let missing = manager
        .post_console(
            "/admin/products",
            &[("category", "music"), ("title", ""), ("price", "1")],
        )
        .await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert!(missing.text().await.unwrap().contains("Title: "));
}
