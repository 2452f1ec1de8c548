//! The flow as a shopper clicks it, in a real Chromium: the pop-up window, the
//! keyboard, no JavaScript, a double click, and axe-core on every page.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::key::Key;

use crate::harness::{DEMO_EMAIL, DEMO_PASSWORD, HELP_PATH, JavaScript, Session, axe_source};
use crate::support::demo_balances;

#[actix_web::test]
async fn check_your_balance_signs_in_then_opens_the_popup_window_and_closes_it() {
    let Some(mut s) = Session::start("popup", JavaScript::On).await else {
        return;
    };

    s.goto(HELP_PATH).await;
    s.screenshot("help-signed-out").await;
    s.click("#check-balance").await;
    s.wait_for_path("/signin?return_to=%2Fhelp%2Fdigital-music-credit")
        .await;
    s.screenshot("signin-form").await;

    s.sign_in_here(DEMO_EMAIL, DEMO_PASSWORD).await;
    s.wait_for_path(HELP_PATH).await;
    assert!(s.text(".account__greeting").await.contains("Hello, Demo Shopper"));
    s.screenshot("help-signed-in").await;

    let help_window = s.client.window().await.unwrap();
    s.click("#check-balance").await;
    let popup = s.wait_for_new_window(&help_window).await;
    assert_eq!(
        s.client.windows().await.unwrap().len(),
        2,
        "a second window opened"
    );
    s.client.switch_to_window(popup).await.unwrap();
    s.wait_for_path("/balance").await;
    assert_eq!(s.client.title().await.unwrap(), "Your Account Balances");
    assert_eq!(s.balances().await, demo_balances());
    // A pop-up (window.open with popup features) has no toolbar, unlike a tab, and
    // knows the help page that opened it. (Headless Chromium ignores its size.)
    let shape = s
        .client
        .execute("return [window.toolbar.visible, window.opener !== null];", vec![])
        .await
        .unwrap();
    assert_eq!(
        shape,
        serde_json::json!([false, true]),
        "a pop-up window opened by the help page"
    );
    s.screenshot("popup").await;

    s.click("[data-close-window]").await;
    let started = std::time::Instant::now();
    while s.client.windows().await.unwrap().len() > 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the pop-up did not close"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.client.switch_to_window(help_window).await.unwrap();
    assert_eq!(s.path().await, HELP_PATH, "the help page is still there");
    s.screenshot("help-after-close").await;

    // Opened as a plain tab, the balances offer a way back to the store and no
    // Close button (a tab a script did not open cannot close itself).
    s.goto("/balance").await;
    let visible = |css: &'static str| {
        format!("return getComputedStyle(document.querySelector('{css}')).display !== 'none';")
    };
    let shown = |value: serde_json::Value| serde_json::from_value::<bool>(value).unwrap();
    assert!(!shown(
        s.client
            .execute(&visible("[data-close-window]"), vec![])
            .await
            .unwrap()
    ));
    assert!(shown(
        s.client
            .execute(&visible("[data-tab-only]"), vec![])
            .await
            .unwrap()
    ));
    s.screenshot("popup-as-a-tab").await;
    s.click("[data-tab-only]").await;
    s.wait_for_path("/").await;

    // The same pages on a phone-sized window.
    s.client.set_window_size(390, 844).await.unwrap();
    s.goto(HELP_PATH).await;
    s.screenshot("help-on-a-phone").await;
    s.goto("/balance").await;
    s.screenshot("popup-on-a-phone").await;
    let overflow: bool = serde_json::from_value(
        s.client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(!overflow, "no sideways scrolling on a phone");
    s.finish().await;
}

#[actix_web::test]
async fn a_new_shopper_redeems_a_shared_credit_and_spends_it_on_kindle_books() {
    let Some(mut s) = Session::start("new-shopper", JavaScript::On).await else {
        return;
    };

    s.goto("/register").await;
    s.fill("#name", "Robin").await;
    s.fill("#email", "robin@example.com").await;
    s.fill("#password", "lantern meadow copper").await;
    s.screenshot("register").await;
    s.click("form[action='/register'] button[type=submit]").await;
    assert!(s.text("#mail-sent-heading").await.contains("Check your mail"));
    s.screenshot("check-your-mail").await;
    // The link in the mail shows a button; pressing it makes the account.
    let link = s.confirmation_path("robin@example.com").await;
    s.goto(&link).await;
    assert!(
        s.text("#confirm-heading")
            .await
            .contains("Confirm your e-mail address")
    );
    s.fill("#password", "lantern meadow copper").await;
    s.screenshot("confirm-your-address").await;
    s.click("form[action^='/register/confirm/'] button[type=submit]")
        .await;
    s.wait_for_path("/").await;
    assert!(s.text(".account__greeting").await.contains("Hello, Robin"));

    s.goto("/redeem").await;
    s.fill("#code", "music-kindle-10").await;
    s.click("form[action='/redeem'] button[type=submit]").await;
    s.wait_for_path("/redeem").await;
    assert!(
        s.text("[role=status]")
            .await
            .contains("$10.00 of credit for Digital Music and Kindle")
    );
    s.screenshot("redeemed").await;

    s.goto("/balance").await;
    let amounts = |b: Vec<(String, String)>| b.into_iter().map(|(_, a)| a).collect::<Vec<_>>();
    assert_eq!(
        amounts(s.balances().await),
        ["$10.00", "$10.00", "$0.00", "$0.00", "$0.00"]
    );
    s.screenshot("popup-with-credit").await;

    s.goto("/account/payment").await;
    s.fill("#card_number", "4242 4242 4242 4242").await;
    s.click("form[action='/account/payment'] button[type=submit]")
        .await;
    // The page posts to itself: wait for the answer's notice, which the form lacks,
    // before reading the card (else the old page's element may be read as it goes).
    s.find("[role=status]").await;
    assert_eq!(s.text("[data-default-card]").await, "Visa ending in 4242");

    // A $4.99 Kindle book: the credit pays it all.
    s.goto("/store/kindle").await;
    s.client
        .find(Locator::LinkText("The Cartographer's Daughter"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.click("#buy-now").await;
    let first_title = s.text("#summary-heading").await;
    let first_price = s.text("[data-paid=price]").await;
    s.screenshot("checkout").await;
    s.click("#place-order").await;
    s.find("#receipt-heading").await;
    let card_lines = s.client.find_all(Locator::Css("[data-paid=card]")).await.unwrap();
    assert!(
        card_lines.is_empty(),
        "{first_title} at {first_price}: nothing on the card, so no card line"
    );
    s.screenshot("receipt-credit-only").await;

    // Both balances dropped by the same amount.
    s.goto("/balance").await;
    let after_first = amounts(s.balances().await);
    assert_eq!(
        after_first[0], after_first[1],
        "one pot: Digital Music and Kindle move together"
    );
    assert_ne!(after_first[0], "$10.00");

    // "Debugging the Universe" costs $9.99: the rest of the credit, then the card.
    s.goto("/store/kindle").await;
    s.client
        .find(Locator::LinkText("Debugging the Universe"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.click("#buy-now").await;
    s.click("#place-order").await;
    s.find("#receipt-heading").await;
    let credit = s.text("[data-paid=promotional-credit]").await;
    let card = s.text("[data-paid=card]").await;
    assert_eq!(credit, after_first[1], "the credit paid what it had");
    assert!(
        card.starts_with('$') && card != "$0.00",
        "the card paid only the remainder: {card}"
    );
    s.screenshot("receipt-credit-then-card").await;

    s.goto("/balance").await;
    assert_eq!(
        amounts(s.balances().await),
        ["$0.00", "$0.00", "$0.00", "$0.00", "$0.00"]
    );
    s.screenshot("popup-spent").await;
    s.finish().await;
}

#[actix_web::test]
async fn the_keyboard_alone_reaches_check_your_balance_and_opens_the_popup() {
    let Some(mut s) = Session::start("keyboard", JavaScript::On).await else {
        return;
    };
    s.goto("/signin?return_to=%2Fhelp%2Fdigital-music-credit").await;
    s.sign_in_here(DEMO_EMAIL, DEMO_PASSWORD).await;
    s.wait_for_path(HELP_PATH).await;

    let help_window = s.client.window().await.unwrap();
    let mut reached = false;
    for _ in 0..40 {
        s.client
            .active_element()
            .await
            .unwrap()
            .send_keys(&Key::Tab)
            .await
            .unwrap();
        let focused = s.client.active_element().await.unwrap();
        if focused.attr("id").await.unwrap().as_deref() == Some("check-balance") {
            let outline = focused.css_value("outline-style").await.unwrap();
            let width = focused.css_value("outline-width").await.unwrap();
            assert_ne!(outline, "none", "a visible focus ring");
            assert_ne!(width, "0px", "a visible focus ring");
            s.screenshot("focus-ring").await;
            focused.send_keys(&Key::Enter).await.unwrap();
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches Check Your Balance");
    let popup = s.wait_for_new_window(&help_window).await;
    s.client.switch_to_window(popup).await.unwrap();
    s.wait_for_path("/balance").await;
    assert_eq!(s.balances().await, demo_balances());
    s.finish().await;
}

#[actix_web::test]
async fn without_javascript_the_control_still_opens_the_balances() {
    let Some(mut s) = Session::start("no-javascript", JavaScript::Off).await else {
        return;
    };
    s.goto(HELP_PATH).await;
    s.click("#check-balance").await;
    s.wait_for_path("/signin?return_to=%2Fhelp%2Fdigital-music-credit")
        .await;
    s.sign_in_here(DEMO_EMAIL, DEMO_PASSWORD).await;
    s.wait_for_path(HELP_PATH).await;

    let help_window = s.client.window().await.unwrap();
    s.click("#check-balance").await;
    let tab = s.wait_for_new_window(&help_window).await;
    s.client.switch_to_window(tab).await.unwrap();
    s.wait_for_path("/balance").await;
    assert_eq!(s.balances().await, demo_balances());
    s.screenshot("balances-in-a-new-tab").await;
    s.finish().await;
}

#[actix_web::test]
async fn a_double_click_on_place_your_order_makes_one_order() {
    let Some(s) = Session::start("double-click", JavaScript::On).await else {
        return;
    };
    s.goto("/signin").await;
    s.sign_in_here(DEMO_EMAIL, DEMO_PASSWORD).await;
    s.wait_for_path("/").await;
    let orders_before = order_count(&s).await;

    s.goto("/store/kindle").await;
    s.client
        .find(Locator::LinkText("Quiet Arithmetic"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.click("#buy-now").await;
    let button = s.find("#place-order").await;
    let double_click = MouseActions::new("mouse".to_owned())
        .then(PointerAction::MoveToElement {
            element: button,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    s.client.perform_actions(double_click).await.unwrap();
    s.find("#receipt-heading").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(order_count(&s).await, orders_before + 1);
    s.goto("/balance").await;
    let kindle = s.balances().await[1].1.clone();
    assert_eq!(kindle, "$7.01", "charged once for a $2.99 book");
    s.finish().await;
}

async fn order_count(s: &Session) -> usize {
    s.goto("/orders").await;
    s.client
        .find_all(Locator::Css("a[href^='/orders/']"))
        .await
        .unwrap()
        .len()
}

#[actix_web::test]
async fn every_page_passes_axe_with_no_serious_or_critical_violation() {
    let Some(axe) = axe_source() else { return };
    let Some(s) = Session::start("accessibility", JavaScript::On).await else {
        return;
    };
    // First prove the check can fail: a page with an unlabelled field and an image
    // without text is caught.
    s.client
        .goto("data:text/html,<html lang=en><title>t</title><main><img src=x.png><input></main></html>")
        .await
        .unwrap();
    let canary = s.accessibility_violations(&axe).await;
    assert!(
        canary.iter().any(|v| v.contains("image-alt")),
        "axe catches a bad page: {canary:?}"
    );

    let mut violations = Vec::new();
    let signed_out = [
        "/",
        HELP_PATH,
        "/signin",
        "/register",
        "/store",
        "/store/music",
        "/products/1",
        "/no-such-page",
        "/password/forgot",
        "/password/reset/Abcdefghijklmnopqrstuvwxyz012345",
        "/register/confirm/Abcdefghijklmnopqrstuvwxyz012345",
        "/gift-cards",
    ];
    for path in signed_out {
        violations.extend(violations_on(&s, &axe, path).await);
    }
    s.goto("/signin").await;
    s.sign_in_here(DEMO_EMAIL, DEMO_PASSWORD).await;
    s.wait_for_path("/").await;
    let signed_in = [
        "/",
        HELP_PATH,
        "/balance",
        "/store/kindle",
        "/products/7",
        "/checkout/7",
        "/checkout/2",
        "/checkout/7?promo_code=NOPE",
        "/checkout/2?promo_code=MUSIC-KINDLE-10",
        "/redeem",
        "/orders",
        "/orders/1",
        "/library",
        "/account/credit",
        "/account/discounts",
        "/account/payment",
        "/account/password",
        "/gift-cards",
    ];
    for path in signed_in {
        violations.extend(violations_on(&s, &axe, path).await);
    }
    assert!(violations.is_empty(), "axe found:\n{}", violations.join("\n"));
    s.finish().await;
}

#[actix_web::test]
async fn a_refused_form_moves_the_focus_to_the_first_field_with_a_problem() {
    let Some(mut s) = Session::start("form-errors", JavaScript::On).await else {
        return;
    };
    s.goto("/register").await;
    s.fill("#name", "Robin").await;
    s.fill("#email", "not-an-address").await;
    s.fill("#password", "short-but-ok").await;
    // The browser's own checks would stop this form; the server's must speak too.
    s.client
        .execute(
            "document.querySelector('form[action=\"/register\"]').noValidate = true;",
            vec![],
        )
        .await
        .unwrap();
    s.click("form[action='/register'] button[type=submit]").await;
    s.find("#email-error").await;
    let focused = s
        .client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(
        focused,
        serde_json::json!("email"),
        "the focus is on the e-mail field"
    );
    s.screenshot("register-with-problems").await;

    // The same pages on a phone: nothing scrolls sideways.
    s.client.set_window_size(390, 844).await.unwrap();
    s.screenshot("register-with-problems-on-a-phone").await;
    s.goto("/signin").await;
    s.sign_in_here(DEMO_EMAIL, DEMO_PASSWORD).await;
    s.wait_for_path("/").await;
    for (path, step) in [
        ("/orders", "orders-on-a-phone"),
        ("/checkout/2", "checkout-on-a-phone"),
        ("/orders/1", "receipt-on-a-phone"),
        ("/library", "library-on-a-phone"),
        ("/account/credit", "credit-activity-on-a-phone"),
    ] {
        s.goto(path).await;
        s.screenshot(step).await;
        let overflow: bool = serde_json::from_value(
            s.client
                .execute(
                    "return document.documentElement.scrollWidth > window.innerWidth;",
                    vec![],
                )
                .await
                .unwrap(),
        )
        .unwrap();
        assert!(!overflow, "{path} scrolls sideways on a phone");
        let wrapped: bool = serde_json::from_value(
            s.client
                .execute(
                    "return [...document.querySelectorAll('[data-paid]')].some(e => { \
                     const r = document.createRange(); r.selectNodeContents(e.parentElement); \
                     return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1; });",
                    vec![],
                )
                .await
                .unwrap(),
        )
        .unwrap();
        assert!(!wrapped, "{path}: an amount wraps");
    }
    s.finish().await;
}

/// What axe finds on one page, each finding prefixed with the page's path.
async fn violations_on(s: &Session, axe: &str, path: &str) -> Vec<String> {
    s.goto(path).await;
    s.accessibility_violations(axe)
        .await
        .into_iter()
        .map(|violation| format!("{path}: {violation}"))
        .collect()
}
