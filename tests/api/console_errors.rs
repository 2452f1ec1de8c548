//! Errors under `/admin` are drawn in the console's layout, not the shop's: a
//! page that does not exist (404), a page a role may not open (403) and a form
//! whose token is stale (403) show the console's header, with its sections
//! when a console session is present, and the error's own status.

use reqwest::{Response, StatusCode};
use storecredit::domain::Role;

use crate::console::staff_member;
use crate::helpers::*;

/// The page's status and body, with what shows it is the console's layout.
async fn console_error_page(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    assert!(
        response
            .headers()
            .get("content-type")
            .is_some_and(|kind| kind.to_str().unwrap_or_default().starts_with("text/html")),
        "an HTML page"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"<body class="console">"#),
        "the console's layout:\n{html}"
    );
    assert!(html.contains("· storecredit console</title>"), "{html}");
    assert!(
        html.contains(&format!(r#"data-console-error="{}""#, status.as_u16())),
        "{html}"
    );
    assert!(
        !html.contains(r#"aria-label="Departments""#),
        "not the shop's header:\n{html}"
    );
    html
}

#[actix_web::test]
async fn a_page_missing_under_admin_is_a_404_in_the_consoles_layout_with_its_sections() {
    let Some(app) = spawn_app().await else { return };
    let staff = staff_member(&app, Role::Support).await;

    let html = console_error_page(staff.get("/admin/no-such-page").await, StatusCode::NOT_FOUND).await;
    assert!(html.contains("find that page"), "{html}");
    assert!(
        html.contains(r#"aria-label="Console sections""#),
        "signed in: the sections"
    );
    assert!(
        html.contains(r#"action="/admin/signout""#),
        "signed in: the sign-out button"
    );
    assert!(html.contains(r#"href="/admin">Go to the console"#), "{html}");

    // An object that does not exist is a 404 drawn the same way.
    console_error_page(staff.get("/admin/customers/999999").await, StatusCode::NOT_FOUND).await;

    // Signed out, the same page has no sections and leads to the sign-in.
    let stranger = app.new_browser();
    let html = console_error_page(stranger.get("/admin/no-such-page").await, StatusCode::NOT_FOUND).await;
    assert!(!html.contains("Console sections"), "signed out: no sections");
    assert!(html.contains(r#"href="/admin/signin""#), "{html}");

    // Outside the console, a missing page is still the shop's.
    let shop = app.browser.get("/no-such-page").await;
    assert_eq!(shop.status(), StatusCode::NOT_FOUND);
    let html = shop.text().await.unwrap();
    assert!(
        html.contains(r#"aria-label="Departments""#),
        "the shop's layout:\n{html}"
    );
    assert!(!html.contains(r#"<body class="console">"#));
}

#[actix_web::test]
async fn a_page_a_role_may_not_open_is_a_403_in_the_consoles_layout() {
    let Some(app) = spawn_app().await else { return };
    let support = staff_member(&app, Role::Support).await;

    let html = console_error_page(support.get("/admin/approvals").await, StatusCode::FORBIDDEN).await;
    assert!(html.contains("Your role does not allow this"), "{html}");
    assert!(html.contains(r#"aria-label="Console sections""#));

    // A console form with a stale token: a 403 in the console's layout (its
    // address is an action's, not a page's: the way on is the dashboard).
    let refused = support
        .browser
        .post_form("/admin/customers/1/unlock", &[("csrf_token", "stale")])
        .await;
    let html = console_error_page(refused, StatusCode::FORBIDDEN).await;
    assert!(html.contains("This form has expired"), "{html}");
    assert!(!html.contains("Back to the form"), "{html}");
    assert!(html.contains(r#"href="/admin">Go to the console"#), "{html}");
}

#[actix_web::test]
async fn a_stale_sign_in_form_is_a_403_in_the_consoles_layout_leading_back_to_it() {
    let Some(app) = spawn_app().await else { return };
    let refused = app
        .browser
        .post_form(
            "/admin/signin",
            &[
                ("csrf_token", "stale"),
                ("email", "mo@shop.example"),
                ("password", "x"),
                ("totp", "123456"),
            ],
        )
        .await;
    let html = console_error_page(refused, StatusCode::FORBIDDEN).await;
    assert!(
        html.contains(r#"href="/admin/signin">Back to the form"#),
        "{html}"
    );
    assert!(!html.contains("Console sections"), "signed out: no sections");
}
