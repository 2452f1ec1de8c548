//! Helpers for console tests: staff members added, enrolled with a TOTP code
//! computed here from the enrolment page's secret, and signed in.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Response, StatusCode};
use storecredit::auth::totp;
use storecredit::domain::{Actor, DisplayName, Email, Role};

use crate::helpers::{Browser, TestApp, form_field, location};

/// The password every staff member these helpers enrol gets.
pub const STAFF_PASSWORD: &str = "violet-kestrel-maps-north";

/// A signed-in staff member's browser, with the CSRF token of their console
/// session (every console POST carries it).
pub struct StaffBrowser {
    pub browser: Browser,
    pub csrf_token: String,
    pub email: String,
    pub role: Role,
    /// Their TOTP secret, to compute codes.
    pub secret: String,
}

impl std::ops::Deref for StaffBrowser {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl StaffBrowser {
    /// POSTs a console form with this session's CSRF token added.
    pub async fn post_console(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &self.csrf_token)];
        form.extend_from_slice(fields);
        self.browser.post_form(path, &form).await
    }

    /// Signs out of the console.
    pub async fn sign_out(&self) -> Response {
        self.post_console("/admin/signout", &[]).await
    }
}

/// Adds a staff member as an operator command would; the enrolment token.
pub fn add_staff(app: &TestApp, email: &str, role: Role) -> String {
    let (email, name) = (
        Email::parse(email).unwrap(),
        DisplayName::parse("Sam Staff").unwrap(),
    );
    let now = app.clock.now();
    app.with_store(|store| store.add_staff(&Actor::command(), &email, &name, role, now))
        .expect("the staff member is added")
        .1
}

/// The code of `secret` `steps` time steps from the app's now.
pub fn code(app: &TestApp, secret: &str, steps: i64) -> String {
    totp::code_at_step(secret, totp::step_at(app.clock.now()) + steps).expect("a code")
}

/// The secret an enrolment page shows in its `data-totp-secret` element.
pub fn secret_on(html: &str) -> String {
    let marker = "data-totp-secret=\"";
    let start = html.find(marker).expect("a data-totp-secret element") + marker.len();
    let end = start + html[start..].find('"').expect("the attribute's end");
    html[start..end].to_owned()
}

/// Opens the enrolment link with `browser` and enrols with the code of the
/// current step; the answer and the secret.
pub async fn enrol(app: &TestApp, browser: &Browser, token: &str) -> (Response, String) {
    let path = format!("/admin/enrol/{token}");
    let html = browser.get_html(&path).await;
    let secret = secret_on(&html);
    let csrf = form_field(&html, "csrf_token").expect("a CSRF token");
    let code = code(app, &secret, 0);
    let response = browser
        .post_form(
            &path,
            &[
                ("password", STAFF_PASSWORD),
                ("password_confirm", STAFF_PASSWORD),
                ("totp", &code),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    (response, secret)
}

/// Submits the console's sign-in form.
pub async fn console_sign_in(browser: &Browser, email: &str, password: &str, code: &str) -> Response {
    let csrf = browser.csrf_token("/admin/signin").await;
    browser
        .post_form(
            "/admin/signin",
            &[
                ("email", email),
                ("password", password),
                ("totp", code),
                ("csrf_token", &csrf),
            ],
        )
        .await
}

/// A staff member with `role`, added, enrolled and signed in (with the code of
/// the next step, the enrolment having used the current one), in a browser of
/// their own.
pub async fn staff_member(app: &TestApp, role: Role) -> StaffBrowser {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let email = format!(
        "{}-{}@shop.example",
        role.as_str(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    staff_member_named(app, &email, role).await
}

/// [`staff_member`] with the e-mail address given.
pub async fn staff_member_named(app: &TestApp, email: &str, role: Role) -> StaffBrowser {
    let token = add_staff(app, email, role);
    let browser = app.new_browser();
    let (enrolled, secret) = enrol(app, &browser, &token).await;
    assert_eq!(enrolled.status(), StatusCode::SEE_OTHER, "enrolment of {email}");
    let signed_in = console_sign_in(&browser, email, STAFF_PASSWORD, &code(app, &secret, 1)).await;
    assert_eq!(
        signed_in.status(),
        StatusCode::SEE_OTHER,
        "console sign-in of {email}"
    );
    assert_eq!(location(&signed_in), "/admin");
    let home = browser.get_html("/admin").await;
    let csrf_token = form_field(&home, "csrf_token").expect("the console's CSRF token");
    StaffBrowser {
        browser,
        csrf_token,
        email: email.to_owned(),
        role,
        secret,
    }
}
