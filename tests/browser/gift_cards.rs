//! Buying a gift card in a real Chromium (SPEC §9): the Gift Cards department
//! from the navigation, its form refusing a bad amount beside the field, then
//! the order page following the card from sent to redeemed.

use std::time::Duration;

use fantoccini::Locator;
use storecredit::domain::{Email, PromoCode};

use crate::harness::{DEMO_EMAIL, DEMO_PASSWORD, JavaScript, Session};

#[actix_web::test]
async fn a_shopper_buys_a_gift_card_for_a_friend_and_sees_it_sent_then_redeemed() {
    let Some(mut s) = Session::start("gift-card", JavaScript::On).await else {
        return;
    };
    s.goto("/signin").await;
    s.sign_in_here(DEMO_EMAIL, DEMO_PASSWORD).await;
    s.wait_for_path("/").await;
    s.client
        .find(Locator::LinkText("Gift Cards"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait_for_path("/gift-cards").await;
    s.screenshot("form").await;

    // A refused amount comes back beside its field, with what was typed kept.
    s.fill("#amount", "2").await;
    s.fill("#recipient_email", "sam@example.com").await;
    s.fill("#message", "Happy birthday, Sam!").await;
    s.client
        .execute(
            "document.getElementById('amount').removeAttribute('min');",
            vec![],
        )
        .await
        .unwrap();
    s.click("#buy-gift-card").await;
    let problem = s.text("#amount-error").await;
    assert!(problem.contains("$5 to $500"), "{problem}");
    let kept = s.find("#recipient_email").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("sam@example.com"));
    s.screenshot("refused").await;

    s.fill("#amount", "25").await;
    s.click("#buy-gift-card").await;
    s.find("#receipt-heading").await;
    let path = s.path().await;
    assert!(path.starts_with("/orders/"), "{path}");

    // The sender mails the card within a second or two; the page follows it.
    let store = s.store();
    let mut state = String::new();
    for _ in 0..50 {
        s.goto(&path).await;
        state = s
            .find("[data-gift-card-state]")
            .await
            .attr("data-gift-card-state")
            .await
            .unwrap()
            .unwrap_or_default();
        if state == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(state, "sent");
    let status = s.text(".gift-card-status").await;
    assert!(
        status.contains("sam@example.com") && status.contains("Happy birthday, Sam!"),
        "{status}"
    );
    s.screenshot("sent").await;

    // Sam redeems the code from the mail.
    let mail = s.mail_to("sam@example.com").await;
    let start = mail.find("GC-").expect("a code in the mail");
    let code: String = mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let sam = crate::support::off_the_runtime(|| {
        store
            .create_user(
                &Email::parse("sam@example.com").unwrap(),
                &storecredit::domain::DisplayName::parse("Sam").unwrap(),
                "not-a-real-hash",
                time::OffsetDateTime::now_utc(),
            )
            .unwrap()
    });
    crate::support::off_the_runtime(|| {
        store
            .redeem_code(
                sam,
                &PromoCode::parse(&code).unwrap(),
                time::OffsetDateTime::now_utc(),
            )
            .unwrap()
    });
    s.goto(&path).await;
    let state = s
        .find("[data-gift-card-state]")
        .await
        .attr("data-gift-card-state")
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("redeemed"));
    s.screenshot("redeemed").await;
    s.finish().await;
}
