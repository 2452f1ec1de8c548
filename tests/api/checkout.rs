//! Checkout: credit pays first, the card pays the rest, all or nothing (SPEC §2).

use reqwest::StatusCode;

use crate::helpers::*;

const KINDLE_4_99: &str = "The Cartographer's Daughter";
const KINDLE_9_99: &str = "Debugging the Universe";
const KINDLE_2_99: &str = "Quiet Arithmetic";
const ALBUM_8_99: &str = "Salt & Static";
const SOFTWARE_29_99: &str = "PixelPress Photo Editor";
const VIDEO_TITLE: &str = "Harbor Lights";

#[actix_web::test]
async fn signed_out_checkout_redirects_to_signin_and_back() {
    let Some(app) = spawn_app().await else { return };
    let id = app.product_id(KINDLE_4_99);
    let response = app.get(&format!("/checkout/{id}")).await;
    assert_eq!(
        location(&response),
        format!("/signin?return_to=%2Fcheckout%2F{id}")
    );
}

#[actix_web::test]
async fn a_shared_credit_spent_on_kindle_drops_in_both_balances() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let response = app.buy(app.product_id(KINDLE_4_99), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/orders/"));
    let receipt = app.follow(&response).await;
    assert_eq!(paid(&receipt, "price"), "$4.99");
    assert_eq!(paid(&receipt, "promotional-credit"), "$4.99");
    assert_eq!(paid(&receipt, "card"), "$0.00");

    let popup = app.popup().await;
    let amounts: Vec<&str> = popup.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(amounts, ["$9.02", "$5.01", "$3.50", "$25.00", "$0.00"]);
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn a_saved_discount_comes_off_first_then_the_soonest_expiring_credit() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let album = app.product_id(ALBUM_8_99);
    let summary = app.get_html(&format!("/checkout/{album}")).await;
    let discount_id = form_field(&summary, "discount_id").expect("the saved discount is offered");
    let response = app.buy(album, &[("discount_id", &discount_id)]).await;
    let receipt = app.follow(&response).await;
    assert_eq!(paid(&receipt, "price"), "$8.99");
    assert_eq!(paid(&receipt, "discount"), "$1.80"); // 20% of $8.99 = 1.798
    assert_eq!(paid(&receipt, "promotional-credit"), "$7.19");
    assert_eq!(paid(&receipt, "card"), "$0.00");
    // $4.01 from the Digital Music credit expiring in 30 days, $3.18 from the shared one.
    assert_eq!(app.balance("music").await, "$6.82");
    assert_eq!(app.balance("kindle").await, "$6.82");
    // The discount is used up.
    let again = app.buy(album, &[("discount_id", &discount_id)]).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().await.unwrap().contains("already been used"));
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn gift_cards_pay_after_promotional_credit_and_the_card_pays_the_rest() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let receipt = app
        .follow(&app.buy(app.product_id(SOFTWARE_29_99), &[]).await)
        .await;
    assert_eq!(paid(&receipt, "promotional-credit"), "$0.00");
    assert_eq!(paid(&receipt, "gift-card"), "$25.00");
    assert_eq!(paid(&receipt, "card"), "$4.99");
    assert!(receipt.contains("Charged to Visa ending in 4242"));
    assert_eq!(app.balance("gift-card").await, "$0.00");
}

#[actix_web::test]
async fn the_summary_previews_a_code_without_redeeming_it() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let book = app.product_id(KINDLE_4_99);
    let summary = ann
        .get_html(&format!("/checkout/{book}?promo_code=gift-20"))
        .await;
    assert_eq!(paid(&summary, "gift-card"), "$4.99");
    assert_eq!(paid(&summary, "card"), "$0.00");
    assert!(summary.contains("Applied: GIFT-20"));
    assert_eq!(
        ann.balance("gift-card").await,
        "$0.00",
        "nothing redeemed by looking"
    );
    assert_eq!(ann.redeem("GIFT-20").await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_code_worth_more_than_the_order_leaves_the_rest_as_credit() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let response = ann
        .buy(app.product_id(KINDLE_4_99), &[("promo_code", " gift-20 ")])
        .await;
    let receipt = ann.follow(&response).await;
    assert_eq!(paid(&receipt, "gift-card"), "$4.99");
    assert_eq!(paid(&receipt, "card"), "$0.00");
    assert_eq!(ann.balance("gift-card").await, "$15.01");
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn with_a_remainder_and_no_card_the_order_is_refused_and_nothing_changes() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let response = ann
        .buy(app.product_id(SOFTWARE_29_99), &[("promo_code", "GIFT-20")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Add a default payment\n       method to pay the remaining $9.99"),
        "{html}"
    );
    assert_eq!(ann.balance("gift-card").await, "$0.00");
    assert!(ann.get_html("/orders").await.contains("haven't ordered anything"));
    // The code was not consumed.
    assert_eq!(ann.redeem("GIFT-20").await.status(), StatusCode::SEE_OTHER);
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn credit_then_card_for_a_new_shopper() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    ann.redeem("MUSIC-KINDLE-10").await;
    let first = ann.follow(&ann.buy(app.product_id(KINDLE_9_99), &[]).await).await;
    assert_eq!(paid(&first, "promotional-credit"), "$9.99");
    assert_eq!(ann.balance("music").await, "$0.01");

    let refused = ann.buy(app.product_id(KINDLE_2_99), &[]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(
        ann.set_card("5555 5555 5555 4444").await.status(),
        StatusCode::SEE_OTHER
    );
    let second = ann.follow(&ann.buy(app.product_id(KINDLE_2_99), &[]).await).await;
    assert_eq!(paid(&second, "promotional-credit"), "$0.01");
    assert_eq!(paid(&second, "card"), "$2.98");
    assert!(second.contains("Mastercard ending in 4444"));
    assert_eq!(ann.balance("kindle").await, "$0.00");
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn a_discount_for_another_category_is_refused_and_not_consumed() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    ann.set_card("4242424242424242").await;
    let response = ann
        .buy(app.product_id(KINDLE_4_99), &[("promo_code", "ALBUM-20-OFF")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("applies to Digital Music only")
    );
    assert_eq!(ann.redeem("ALBUM-20-OFF").await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_code_and_a_saved_discount_together_are_a_400() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let response = app
        .buy(
            app.product_id(ALBUM_8_99),
            &[("promo_code", "GIFT-20"), ("discount_id", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.popup().await, demo_balances());
}

#[actix_web::test]
async fn the_same_submission_twice_makes_one_order() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let book = app.product_id(KINDLE_4_99);
    let form = app.checkout_form(book).await;
    let fields = [
        ("csrf_token", form.csrf_token.as_str()),
        ("idempotency_key", form.key.as_str()),
    ];
    let first = app.post_form(&format!("/checkout/{book}"), &fields).await;
    let second = app.post_form(&format!("/checkout/{book}"), &fields).await;
    assert_eq!(location(&first), location(&second));
    assert_eq!(app.balance("kindle").await, "$5.01", "charged once");
    let orders = app.get_html("/orders").await;
    assert_eq!(
        orders.matches("href=\"/orders/").count(),
        2,
        "the past order and this one"
    );
}

#[actix_web::test]
async fn a_malformed_order_form_is_a_400_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let book = app.product_id(KINDLE_4_99);
    let form = app.checkout_form(book).await;
    for key in ["", "short", "has spaces in it!!!!!!", &"k".repeat(65)] {
        let response = app
            .post_form(
                &format!("/checkout/{book}"),
                &[("csrf_token", &form.csrf_token), ("idempotency_key", key)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{key:?}");
    }
    let unknown = app
        .post_form(
            "/checkout/999999",
            &[("csrf_token", &form.csrf_token), ("idempotency_key", &form.key)],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let forged = app
        .post_form(&format!("/checkout/{book}"), &[("idempotency_key", &form.key)])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.popup().await, demo_balances());
}

#[actix_web::test]
async fn order_history_and_receipts_belong_to_their_owner() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let orders = app.get_html("/orders").await;
    assert!(
        orders.contains("Lanterns Over Harbor Street"),
        "the demo's past track order"
    );
    let start = orders.find("href=\"/orders/").unwrap() + "href=\"".len();
    let path = &orders[start..start + orders[start..].find('"').unwrap()];
    let receipt = app.get_html(path).await;
    assert_eq!(paid(&receipt, "promotional-credit"), "$0.99");

    let ann = app.new_shopper("ann@example.com").await;
    assert_eq!(ann.get(path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        ann.get("/orders/not-a-number").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn a_card_number_is_checked_and_only_its_last_four_digits_kept() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let bad = ann.set_card("4242 4242 4242 4241").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("isn&#39;t valid"));
    let page = ann.follow(&ann.set_card("4242 4242 4242 4242").await).await;
    assert!(page.contains("Visa ending in 4242"));
    let stored = app
        .with_store(|store| {
            let ann =
                store.user_id_by_email(&storecredit::domain::Email::parse("ann@example.com").unwrap())?;
            store.default_card(ann.expect("Ann's account"))
        })
        .unwrap()
        .expect("a default card");
    assert_eq!((stored.brand.as_str(), stored.last4.as_str()), ("Visa", "4242"));
    let dump = app.everything_stored();
    assert!(
        !dump.windows(16).any(|w| w == b"4242424242424242"),
        "the full number is never stored"
    );
}

/// Posts the order form of `product` with the given key and extra fields.
async fn submit_order(
    browser: &Browser,
    product: i64,
    form: &CheckoutForm,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = vec![
        ("csrf_token", form.csrf_token.as_str()),
        ("idempotency_key", form.key.as_str()),
    ];
    fields.extend_from_slice(extra);
    browser.post_form(&format!("/checkout/{product}"), &fields).await
}

fn order_links(orders_page: &str) -> usize {
    orders_page.matches("href=\"/orders/").count()
}

#[actix_web::test]
async fn an_order_form_reused_for_another_product_is_a_409_and_places_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let (book, other_book) = (app.product_id(KINDLE_4_99), app.product_id(KINDLE_2_99));
    let form = app.checkout_form(book).await;
    let first = submit_order(&app, book, &form, &[]).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);

    let reused = submit_order(&app, other_book, &form, &[]).await;
    assert_eq!(reused.status(), StatusCode::CONFLICT);
    let html = reused.text().await.unwrap();
    assert!(
        html.contains("This order form was already used for a different order"),
        "{html}"
    );
    assert!(
        html.contains(&format!("action=\"/checkout/{other_book}\"")),
        "a way on: the order form for what was asked for now"
    );
    assert_ne!(form_field(&html, "idempotency_key"), Some(form.key.clone()));
    assert_eq!(
        order_links(&app.get_html("/orders").await),
        2,
        "the past order and the first"
    );
    assert_eq!(
        app.balance("kindle").await,
        "$5.01",
        "charged for the first order only"
    );
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn an_order_form_reused_with_another_promotion_is_a_409_and_places_nothing() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    ann.set_card("4242424242424242").await;
    let album = app.product_id(ALBUM_8_99);
    let form = ann.checkout_form(album).await;
    let first = submit_order(&ann, album, &form, &[("promo_code", "ALBUM-20-OFF")]).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);

    for other in [&[("promo_code", "GIFT-20")][..], &[]] {
        let reused = submit_order(&ann, album, &form, other).await;
        assert_eq!(reused.status(), StatusCode::CONFLICT, "{other:?}");
        assert!(
            reused
                .text()
                .await
                .unwrap()
                .contains("already used for a different order")
        );
    }
    assert_eq!(order_links(&ann.get_html("/orders").await), 1);
    // GIFT-20 was not redeemed by the refused order.
    assert_eq!(ann.balance("gift-card").await, "$0.00");
    assert_eq!(ann.redeem("GIFT-20").await.status(), StatusCode::SEE_OTHER);
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn the_same_order_form_with_the_same_promotion_twice_is_the_first_order() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    ann.set_card("4242424242424242").await;
    let album = app.product_id(ALBUM_8_99);
    let form = ann.checkout_form(album).await;
    let first = submit_order(&ann, album, &form, &[("promo_code", "ALBUM-20-OFF")]).await;
    // The same code typed differently is the same promotion.
    let second = submit_order(&ann, album, &form, &[("promo_code", " album-20-off ")]).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&first), location(&second));
    assert_eq!(order_links(&ann.get_html("/orders").await), 1);
}

#[actix_web::test]
async fn each_credit_drawn_on_is_its_own_line_and_empty_lines_are_left_out() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    // $8.99: $4.01 from the Digital Music credit ending first, $4.98 from the shared one.
    let summary = app
        .get_html(&format!("/checkout/{}", app.product_id(ALBUM_8_99)))
        .await;
    assert_eq!(paid_lines(&summary, "promotional-credit"), ["$4.01", "$4.98"]);
    assert!(
        !summary.contains("data-paid=\"discount\""),
        "no $0.00 discount line"
    );
    assert!(
        !summary.contains("data-paid=\"gift-card\""),
        "no $0.00 gift card line"
    );
    assert!(!summary.contains("data-paid=\"card\""), "no $0.00 card line");
    assert!(summary.contains("use by "), "each credit line names its last day");

    let receipt = app.follow(&app.buy(app.product_id(ALBUM_8_99), &[]).await).await;
    assert_eq!(paid_lines(&receipt, "promotional-credit"), ["$4.01", "$4.98"]);
    assert!(receipt.contains("Credit left now: <span class=\"amount\">$5.02</span> for Digital Music"));
}

#[actix_web::test]
async fn a_credit_code_for_other_categories_is_added_not_applied() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    ann.set_card("4242 4242 4242 4242").await;
    let video = app.product_id(VIDEO_TITLE);
    let summary = ann
        .get_html(&format!("/checkout/{video}?promo_code=MUSIC-KINDLE-10"))
        .await;
    assert!(!summary.contains("Applied:"), "it changes nothing here");
    assert!(summary.contains("MUSIC-KINDLE-10 will be added to your account"));
    assert!(summary.contains("not Instant Video"));

    let receipt = ann
        .follow(&ann.buy(video, &[("promo_code", "MUSIC-KINDLE-10")]).await)
        .await;
    assert!(!receipt.contains("Promotion:"), "the card paid, not the code");
    assert!(receipt.contains("MUSIC-KINDLE-10 was added to your account"));
    assert_eq!(paid(&receipt, "promotional-credit"), "$0.00");
    assert_eq!(ann.balance("kindle").await, "$10.00");
}

#[actix_web::test]
async fn adding_a_card_from_checkout_returns_to_that_checkout() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let book = app.product_id(KINDLE_4_99);
    let summary = ann.get_html(&format!("/checkout/{book}")).await;
    let add_card = format!("/account/payment?return_to=%2Fcheckout%2F{book}");
    assert!(summary.contains(&format!("href=\"{add_card}\"")), "{summary}");
    let token = ann.csrf_token(&add_card).await;
    let back = format!("/checkout/{book}");
    let response = ann
        .post_form(
            "/account/payment",
            &[
                ("card_number", "4242 4242 4242 4242"),
                ("csrf_token", &token),
                ("return_to", &back),
            ],
        )
        .await;
    assert_eq!(location(&response), back);
    assert!(ann.get_html(&back).await.contains("id=\"place-order\""));
}

#[actix_web::test]
async fn a_refunded_orders_receipt_says_so_and_where_each_amount_went() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let response = app.buy(app.product_id(SOFTWARE_29_99), &[]).await;
    let order: i64 = location(&response).rsplit('/').next().unwrap().parse().unwrap();
    app.with_store(|store| {
        store.refund_order(
            &storecredit::domain::Actor::command(),
            order,
            &refund_request(None),
            app.clock.now(),
        )
    })
    .unwrap();
    let receipt = app.get_html(&format!("/orders/{order}")).await;
    assert!(
        receipt.contains(&format!("Order {order} was refunded")),
        "{receipt}"
    );
    assert!(!receipt.contains("Thank you"));
    assert!(receipt.contains("$25.00</span> back on your credit"), "{receipt}");
    assert!(
        receipt.contains("$4.99</span> refunded to Visa ending in 4242"),
        "{receipt}"
    );
}

fn refund_request(amount: Option<&str>) -> storecredit::store::orders::RefundRequest {
    storecredit::store::orders::RefundRequest {
        amount: amount.map(|typed| storecredit::domain::Money::parse(typed).unwrap()),
        reason: storecredit::domain::AdjustmentReason::parse("customer asked").unwrap(),
        revoked_share_to: None,
    }
}

#[actix_web::test]
async fn a_partly_refunded_orders_receipt_says_how_much_and_where_it_went() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let response = app.buy(app.product_id(SOFTWARE_29_99), &[]).await;
    let order: i64 = location(&response).rsplit('/').next().unwrap().parse().unwrap();

    app.with_store(|store| {
        store.refund_order(
            &storecredit::domain::Actor::command(),
            order,
            &refund_request(Some("3.00")),
            app.clock.now(),
        )
    })
    .unwrap();

    let receipt = app.get_html(&format!("/orders/{order}")).await;
    assert!(!receipt.contains("was refunded"), "{receipt}");
    assert!(
        receipt.contains(
            "Partly refunded: <span class=\"amount\">$3.00</span> of <span class=\"amount\">$29.99</span> so far"
        ),
        "{receipt}"
    );
    assert!(
        receipt.contains("$3.00</span> refunded to Visa ending in 4242"),
        "the card is refunded first: {receipt}"
    );
    assert!(!receipt.contains("back on your credit"), "{receipt}");
    let orders = app.get_html("/orders").await;
    assert!(orders.contains("(partly refunded)"), "{orders}");
}

#[actix_web::test]
async fn a_credit_code_that_other_credit_makes_unneeded_says_so() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    // $3.99 of video: the demo's $3.50 video credit and part of VIDEO-5's new credit pay;
    // on a cheaper video the old credit covers it all.
    let cheap_video = app
        .with_store(|store| store.products_in(None))
        .unwrap()
        .into_iter()
        .filter(|p| p.category.slug() == "video")
        .min_by_key(|p| p.price.cents())
        .unwrap();
    assert!(cheap_video.price.cents() <= 350, "a video the old credit covers");
    let summary = app
        .get_html(&format!("/checkout/{}?promo_code=VIDEO-5", cheap_video.id))
        .await;
    assert!(
        summary.contains("your other credit already covers it"),
        "{summary}"
    );
    assert!(!summary.contains("not Instant Video"));
}

#[actix_web::test]
async fn a_code_and_a_saved_discount_together_are_explained_on_the_summary() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let album = app.product_id(ALBUM_8_99);
    let response = app
        .get(&format!(
            "/checkout/{album}?promo_code=ALBUM-20-OFF&discount_id=1"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("not both"), "{html}");
    assert!(html.contains("id=\"place-order\""), "the summary, with a way on");
}

#[actix_web::test]
async fn a_refused_code_is_tied_to_the_code_field() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let album = app.product_id(ALBUM_8_99);
    let html = app
        .get(&format!("/checkout/{album}?promo_code=NOPE"))
        .await
        .text()
        .await
        .unwrap();
    let at = html.find("<input id=\"promo_code\"").expect("the code field");
    let field = &html[at..at + html[at..].find('>').unwrap()];
    assert!(field.contains("aria-invalid=\"true\""), "{field}");
    assert!(field.contains("aria-describedby=\"order-error\""), "{field}");
    assert!(html.contains("id=\"order-error\""));
    // Without a code, the field is not marked.
    let plain = app.get_html(&format!("/checkout/{album}")).await;
    assert!(!plain.contains("aria-invalid"));
}

#[actix_web::test]
async fn a_price_changed_after_the_summary_is_refused_and_the_new_summary_orders_at_it() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let product = app.product_id(KINDLE_4_99);
    let html = app.get_html(&format!("/checkout/{product}")).await;
    let field = |name| form_field(&html, name).unwrap_or_else(|| panic!("{name} in {html}"));
    let (csrf, key, shown) = (
        field("csrf_token"),
        field("idempotency_key"),
        field("price_cents"),
    );
    assert_eq!(shown, "499");
    let orders_before = app.with_store(orders_of_demo);

    app.with_store(|store| {
        store
            .set_product_price(
                &storecredit::domain::Actor::command(),
                product,
                storecredit::domain::Money::from_cents(45_000),
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
    });
    let form = [
        ("csrf_token", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("price_cents", shown.as_str()),
    ];
    let refused = app.post_form(&format!("/checkout/{product}"), &form).await;

    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let page = refused.text().await.unwrap();
    assert!(page.contains("price changed from $4.99 to $450.00"), "{page}");
    assert!(page.contains("name=\"price_cents\" value=\"45000\""), "{page}");
    assert_eq!(
        app.with_store(orders_of_demo),
        orders_before,
        "nothing was ordered"
    );
    let popup = app.popup().await;
    assert_eq!(popup[1].1, "$10.00", "the Kindle credit is untouched: {popup:?}");

    let again = [
        ("csrf_token", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("price_cents", "45000"),
    ];
    let placed = app.post_form(&format!("/checkout/{product}"), &again).await;
    assert_eq!(placed.status(), StatusCode::SEE_OTHER);
    let receipt = app.follow(&placed).await;
    assert_eq!(paid(&receipt, "price"), "$450.00");
    app.assert_ledger_holds();
}

fn orders_of_demo(store: &storecredit::store::Store) -> usize {
    let demo = store
        .user_id_by_email(&storecredit::domain::Email::parse(DEMO_EMAIL).unwrap())
        .unwrap()
        .unwrap();
    store.orders_of(demo).unwrap().len()
}
