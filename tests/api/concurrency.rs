//! Many requests at the same instant, over real HTTP on a real database: caps
//! hold, credit is never spent twice, a key makes one order (SPEC §2).

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{CodeGrant, Money, PromoCode};
use storecredit::store::Store;
use storecredit::store::codes::NewCode;

use crate::helpers::*;

#[actix_web::test]
async fn twenty_parallel_redemptions_of_a_code_capped_at_five_make_five_credits() {
    let Some(app) = spawn_app().await else { return };
    app.with_store(|store| {
        store.create_code(
            &storecredit::domain::Actor::command(),
            &NewCode {
                code: PromoCode::parse("RUSH-5").unwrap(),
                description: "$5.00 credit for Software".into(),
                grant: CodeGrant::Credit {
                    amount: Money::from_cents(500),
                    categories: store.categories().parse_list("software").unwrap(),
                    valid_for: None,
                },
                redeem_by: None,
                max_redemptions: Some(5),
            },
            app.clock.now(),
        )
    })
    .unwrap();
    let mut shoppers = Vec::new();
    for i in 0..20 {
        shoppers.push(app.new_shopper(&format!("rush{i}@example.com")).await);
    }
    let mut tokens = Vec::new();
    for shopper in &shoppers {
        tokens.push(shopper.csrf_token("/redeem").await);
    }

    let responses = join_all(shoppers.iter().zip(&tokens).map(|(shopper, token)| async move {
        shopper
            .post_form("/redeem", &[("code", "RUSH-5"), ("csrf_token", token)])
            .await
    }))
    .await;

    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count(),
        15,
        "{statuses:?}"
    );
    let code = app
        .with_store(Store::list_codes)
        .unwrap()
        .into_iter()
        .find(|c| c.code == "RUSH-5")
        .unwrap();
    assert_eq!(code.redemptions, 5);
    let mut with_credit = 0;
    for shopper in &shoppers {
        match shopper.balance("software").await.as_str() {
            "$5.00" => with_credit += 1,
            "$0.00" => {}
            other => panic!("unexpected balance {other}"),
        }
    }
    assert_eq!(with_credit, 5);
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn twenty_parallel_orders_never_spend_more_than_the_credit_there_is() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    ann.redeem("MUSIC-KINDLE-10").await; // $10.00 of credit, no card
    let book = app.product_id("Quiet Arithmetic"); // $2.99 Kindle book
    let mut forms = Vec::new();
    for _ in 0..20 {
        forms.push(ann.checkout_form(book).await);
    }

    let path = format!("/checkout/{book}");
    let (ann, path) = (&ann, &path);
    let responses = join_all(forms.iter().map(|form| async move {
        ann.post_form(
            path,
            &[("csrf_token", &form.csrf_token), ("idempotency_key", &form.key)],
        )
        .await
    }))
    .await;

    let placed = responses
        .iter()
        .filter(|r| r.status() == StatusCode::SEE_OTHER)
        .count();
    let refused = responses
        .iter()
        .filter(|r| r.status() == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!(placed, 3, "three $2.99 books fit in $10.00");
    assert_eq!(refused, 17);
    assert_eq!(ann.balance("kindle").await, "$1.03");
    let orders = ann.get_html("/orders").await;
    assert_eq!(
        orders.matches("href=\"/orders/").count(),
        3,
        "refusals leave no order behind"
    );
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn the_same_idempotency_key_five_times_in_parallel_makes_one_order() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let book = app.product_id("The Cartographer's Daughter");
    let form = app.checkout_form(book).await;
    let path = format!("/checkout/{book}");
    let fields = [
        ("csrf_token", form.csrf_token.as_str()),
        ("idempotency_key", form.key.as_str()),
    ];

    let responses = join_all((0..5).map(|_| app.post_form(&path, &fields))).await;

    let locations: Vec<&str> = responses.iter().map(location).collect();
    assert!(locations.iter().all(|l| *l == locations[0]), "{locations:?}");
    assert_eq!(app.balance("kindle").await, "$5.01", "paid once");
    assert_eq!(
        app.get_html("/orders").await.matches("href=\"/orders/").count(),
        2
    );
    app.assert_ledger_holds();
}

/// The server keeps a copy of sessions (`store::session_cache`). A sign-out that lands
/// while other requests are using the same session on both workers must still end
/// it for every request sent after the sign-out was answered.
#[actix_web::test]
async fn a_sign_out_amid_parallel_requests_ends_the_session_for_every_later_one() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let copy = app.cookie_header();
    let signed_out = Arc::new(AtomicBool::new(false));
    let hammer = |worker: usize| {
        let (url, copy, signed_out) = (app.url("/balance"), copy.clone(), signed_out.clone());
        async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            // Until each worker has sent ten requests after the sign-out's answer.
            let mut after_sign_out = Vec::new();
            while after_sign_out.len() < 10 {
                let sent_after = signed_out.load(Ordering::SeqCst);
                let status = client
                    .get(&url)
                    .header("cookie", &copy)
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert!(
                    status == StatusCode::OK || status == StatusCode::SEE_OTHER,
                    "worker {worker}: {status}"
                );
                if sent_after {
                    after_sign_out.push(status);
                }
            }
            after_sign_out
        }
    };
    let sign_out = async {
        let token = app.csrf_token("/orders").await;
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        let response = app.post_form("/signout", &[("csrf_token", &token)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        signed_out.store(true, Ordering::SeqCst);
    };
    let (later, ()) = futures::join!(join_all((0..4).map(hammer)), sign_out);
    let later: Vec<StatusCode> = later.into_iter().flatten().collect();
    assert_eq!(later.len(), 40);
    assert!(
        later.iter().all(|status| *status == StatusCode::SEE_OTHER),
        "{later:?}"
    );
}

/// The workers' reads share read snapshots (`src/store/sqlite/thread_reader.rs`),
/// here for a minute rather than a millisecond so that nothing but the rules can
/// make a look fresh. With other shoppers keeping both workers reading, a shopper
/// still sees each purchase on the very next look. (PostgreSQL shares no
/// snapshots, the knob does nothing there: the same looks must be fresh all the same.)
#[actix_web::test]
async fn each_purchase_shows_on_the_next_look_while_others_keep_the_workers_reading() {
    let Some(app) = spawn_app_on(|database| {
        Store::open_location(database)
            .expect("the database opens")
            .with_read_snapshot_window(std::time::Duration::from_secs(60))
    })
    .await
    else {
        return;
    };
    let ann = app.new_shopper("ann@example.com").await;
    ann.redeem("MUSIC-KINDLE-10").await; // $10.00 for Digital Music and Kindle
    let readers: Vec<Browser> = {
        let mut readers = Vec::new();
        for i in 0..4 {
            readers.push(app.new_shopper(&format!("reader{i}@example.com")).await);
        }
        readers
    };
    let book = app.product_id("Quiet Arithmetic"); // $2.99 Kindle book
    let done = std::cell::Cell::new(false);
    let looks = std::cell::Cell::new(0_u32);

    let background = join_all(readers.iter().map(|reader| {
        let (done, looks) = (&done, &looks);
        async move {
            while !done.get() {
                assert_eq!(reader.get("/balance").await.status(), StatusCode::OK);
                looks.set(looks.get() + 1);
            }
        }
    }));
    let shopper = async {
        for expected in ["$7.01", "$4.02", "$1.03"] {
            assert_eq!(ann.buy(book, &[]).await.status(), StatusCode::SEE_OTHER);
            let popup = ann.popup().await;
            let shown = |hook: &str| popup.iter().find(|(h, _)| h == hook).map(|(_, a)| a.clone());
            assert_eq!(shown("kindle").as_deref(), Some(expected));
            assert_eq!(shown("music").as_deref(), Some(expected));
        }
        done.set(true);
    };
    futures::join!(background, shopper);

    assert!(looks.get() > 0, "the other shoppers were reading meanwhile");
    app.assert_ledger_holds();
}
