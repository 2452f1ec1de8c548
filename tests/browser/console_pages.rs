//! The console's customer and order pages in a real browser: a manager enrolled
//! and signed in with a TOTP code computed here; every page passes axe and none
//! scrolls sideways on a phone; a refused form puts the focus on its field.

use storecredit::auth::totp;
use storecredit::domain::{Actor, DisplayName, Email, Role};

use crate::harness::{DEMO_EMAIL, JavaScript, Session, axe_source};

const PASSWORD: &str = "violet-kestrel-maps-north";

/// Adds a manager, enrols them in the browser and signs them in.
async fn sign_in_a_manager(s: &Session) {
    let store = s.store();
    let now = time::OffsetDateTime::now_utc();
    let (_, token) = crate::support::off_the_runtime(|| {
        store.add_staff(
            &Actor::command(),
            &Email::parse("mo@shop.example").unwrap(),
            &DisplayName::parse("Mo Manager").unwrap(),
            Role::Manager,
            now,
        )
    })
    .expect("a staff member");
    s.goto(&format!("/admin/enrol/{token}")).await;
    let secret = s
        .find("[data-totp-secret]")
        .await
        .attr("data-totp-secret")
        .await
        .unwrap()
        .expect("the secret");
    let step = totp::step_at(time::OffsetDateTime::now_utc());
    s.fill("#password", PASSWORD).await;
    s.fill("#password_confirm", PASSWORD).await;
    s.fill("#totp", &totp::code_at_step(&secret, step).unwrap()).await;
    s.click("form[action^='/admin/enrol/'] button[type=submit]").await;
    s.find("form[action='/admin/signin']").await;
    s.goto("/admin/signin").await;
    s.fill("#email", "mo@shop.example").await;
    s.fill("#password", PASSWORD).await;
    s.fill("#totp", &totp::code_at_step(&secret, step + 1).unwrap())
        .await;
    s.click("form[action='/admin/signin'] button[type=submit]").await;
    s.wait_for_path("/admin").await;
}

async fn scrolls_sideways(s: &Session) -> bool {
    serde_json::from_value(
        s.client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth;",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap()
}

#[actix_web::test]
async fn the_customer_and_order_pages_pass_axe_and_fit_a_phone() {
    let Some(axe) = axe_source() else { return };
    let Some(mut s) = Session::start("console-pages", JavaScript::On).await else {
        return;
    };
    let store = s.store();
    let (demo, credit) = crate::support::off_the_runtime(|| {
        let demo = store
            .user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap())
            .unwrap()
            .unwrap();
        // A grant waiting for approval, so the approvals page shows its forms.
        let big = storecredit::store::credits::NewCredit {
            kind: storecredit::domain::CreditKind::GiftCard,
            source: storecredit::domain::CreditSource::Grant,
            description: "A big apology".into(),
            amount: storecredit::domain::Money::from_cents(60_000),
            expires_at: None,
            code_redemption_id: None,
        };
        store
            .ask_grant(
                &storecredit::domain::Actor::command(),
                storecredit::store::approvals::GrantAuthority::Full,
                demo,
                &big,
                &storecredit::domain::AdjustmentReason::parse("a long outage").unwrap(),
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
        (demo.0, store.credits_of(demo).unwrap()[0].id.0)
    });
    sign_in_a_manager(&s).await;
    let customer = format!("/admin/customers/{demo}");
    let pages = [
        "/admin",
        "/admin/approvals",
        "/admin/customers",
        "/admin/customers?q=demo",
        customer.as_str(),
        "/admin/orders",
        "/admin/orders?from=12%2F01%2F2026",
        "/admin/orders/1",
    ];

    let mut violations = Vec::new();
    for width in [1280, 390] {
        s.client.set_window_size(width, 900).await.unwrap();
        for path in pages {
            s.goto(path).await;
            violations.extend(
                s.accessibility_violations(&axe)
                    .await
                    .into_iter()
                    .map(|violation| format!("{path} at {width} px: {violation}")),
            );
            if width == 390 {
                assert!(!scrolls_sideways(&s).await, "{path} scrolls sideways on a phone");
            }
        }
    }
    s.screenshot("customer-on-a-phone").await;

    s.goto(&customer).await;
    s.fill(&format!("#adjust-{credit}-amount"), "2,50").await;
    s.fill(&format!("#adjust-{credit}-reason"), "a typo").await;
    s.click(&format!("#adjust-{credit} button[type=submit]")).await;
    s.find(&format!("#adjust-{credit}-amount-error")).await;
    let focused = s
        .client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, serde_json::json!(format!("adjust-{credit}-amount")));
    violations.extend(s.accessibility_violations(&axe).await);
    assert!(!scrolls_sideways(&s).await, "the refused form scrolls sideways");
    s.screenshot("refused-adjustment-on-a-phone").await;

    assert!(violations.is_empty(), "axe found:\n{}", violations.join("\n"));
    s.finish().await;
}
