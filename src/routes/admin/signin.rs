//! `GET/POST /admin/signin` and `POST /admin/signout` (SPEC §8).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::session::ConsoleCookie;
use super::{ConsoleChrome, Staff, may};
use crate::auth::client_address::ClientAddress;
use crate::auth::csrf::{self, FormToken};
use crate::auth::password::Passwords;
use crate::auth::throttle::Throttle;
use crate::auth::totp;
use crate::clock::Clock;
use crate::domain::{Actor, Email, LocalPath};
use crate::error::AppError;
use crate::routes::{blocking, render_with_status, see_other};
use crate::store::Store;
use crate::store::audit::{AuditAction, Change};

/// One answer for every failure: an unknown e-mail, a wrong password, a wrong,
/// old or reused code, a disabled or unenrolled member.
pub const WRONG_CREDENTIALS: &str = "That e-mail address, password and code don't match a staff account. \
     Check them (the code changes every 30 seconds) and try again.";

#[derive(Template)]
#[template(path = "admin/signin.html")]
struct SignInPage {
    chrome: ConsoleChrome,
    csrf_token: String,
    return_to: String,
    email: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

/// Where to go after signing in: a safe path under `/admin`, else `/admin`. A
/// path with a `.` or `..` segment (plain or percent-encoded) could resolve
/// outside `/admin`, so it is not followed.
pub fn console_return_to(candidate: Option<&str>) -> LocalPath {
    candidate
        .and_then(LocalPath::parse)
        .filter(|path| {
            let path = path.as_str();
            let route = path.split(['?', '#']).next().unwrap_or_default();
            let dotted = route.split('/').any(|segment| {
                matches!(
                    segment.to_ascii_lowercase().as_str(),
                    "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
                )
            });
            let under_admin = path == "/admin"
                || (path.starts_with("/admin/") || path.starts_with("/admin?"))
                    && !path.starts_with("/admin/signin")
                    && !path.starts_with("/admin/enrol/");
            under_admin && !dotted
        })
        .unwrap_or_else(|| LocalPath::parse("/admin").expect("a local path"))
}

#[derive(serde::Deserialize)]
pub struct SignInQuery {
    return_to: Option<String>,
    enrolled: Option<String>,
}

pub async fn show(token: FormToken, query: web::Query<SignInQuery>) -> Result<HttpResponse, AppError> {
    let page = SignInPage {
        chrome: ConsoleChrome::signed_out(),
        csrf_token: token.value.clone(),
        return_to: console_return_to(query.return_to.as_deref()).as_str().to_owned(),
        email: String::new(),
        error: None,
        notice: (query.enrolled.as_deref() == Some("1"))
            .then_some("You are enrolled. Sign in with your password and a new code from your app."),
    };
    token.respond(render_with_status(&page, StatusCode::OK)?)
}

#[derive(serde::Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
    return_to: Option<String>,
    #[serde(default)]
    csrf_token: String,
}

/// An e-mail as typed, fit for the audit trail: trimmed, at most 254 characters,
/// control characters replaced.
fn typed_for_record(typed: &str) -> String {
    typed
        .trim()
        .chars()
        .take(254)
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    request: HttpRequest,
    form: web::Form<SignInForm>,
    store: web::Data<Store>,
    passwords: web::Data<Passwords>,
    client: ClientAddress,
    throttle: web::Data<Throttle>,
    clock: web::Data<Clock>,
    cookie: web::Data<ConsoleCookie>,
) -> Result<HttpResponse, AppError> {
    csrf::verify_form(&request, &form.csrf_token)?;
    let SignInForm {
        email: typed_email,
        password,
        totp: typed_code,
        return_to,
        csrf_token,
    } = form.into_inner();
    let return_to = console_return_to(return_to.as_deref());
    // Counted before anything is checked, so a burst cannot outrun the count.
    let attempt = throttle.console_sign_in(&typed_email, client).await?;

    let record = match Email::parse(&typed_email) {
        Ok(email) => {
            let store = store.get_ref().clone();
            blocking(move || store.staff_sign_in(&email)).await?
        }
        Err(_) => None,
    };
    // An unknown e-mail is checked against a dummy hash: the answer takes as long.
    let password_matches = passwords
        .verify(password, record.as_ref().map(|r| r.password_hash.clone()))
        .await?;
    let now = clock.now();
    let opened = match record {
        Some(record) if password_matches => {
            match totp::matching_step(&record.totp_secret, &typed_code, now) {
                Some(step) => {
                    let store = store.get_ref().clone();
                    blocking(move || {
                        if !store.accept_totp_step(record.member.id, step)? {
                            return Ok::<_, crate::store::StoreError>(None);
                        }
                        store.open_console_session(&record.member, record.credentials_version, now)
                    })
                    .await?
                }
                None => None,
            }
        }
        _ => None,
    };

    match opened {
        Some(session) => {
            throttle.succeeded(attempt).await?;
            tracing::info!("console sign-in");
            let mut response = see_other(return_to.as_str());
            response
                .add_cookie(&cookie.carrying(&session.token))
                .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot set the console cookie: {e}")))?;
            Ok(response)
        }
        None => {
            tracing::info!(client = %client.0, "console sign-in refused");
            let (store, typed) = (store.get_ref().clone(), typed_for_record(&typed_email));
            let visitor = Actor::Visitor {
                address: client.0.to_string(),
            };
            let change = Change::new(AuditAction::ConsoleSignInFailed, format!("staff:{typed}"));
            blocking(move || store.record_audit(&visitor, &change, now)).await?;
            let page = SignInPage {
                chrome: ConsoleChrome::signed_out(),
                // The token just accepted stays valid for the next try.
                csrf_token,
                return_to: return_to.as_str().to_owned(),
                email: typed_email.trim().chars().take(254).collect(),
                error: Some(WRONG_CREDENTIALS),
                notice: None,
            };
            render_with_status(&page, StatusCode::UNAUTHORIZED)
        }
    }
}

#[derive(serde::Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf_token: String,
}

/// Ends this console session; back to the console's sign-in.
pub async fn sign_out(
    staff: Staff<may::Any>,
    request: HttpRequest,
    form: web::Form<SignOutForm>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    cookie: web::Data<ConsoleCookie>,
) -> Result<HttpResponse, AppError> {
    staff.verify_csrf(&form.csrf_token)?;
    if let Some(token) = cookie.token(&request) {
        let (store, now) = (store.get_ref().clone(), clock.now());
        blocking(move || store.end_console_session(&token, now)).await?;
    }
    let mut response = see_other("/admin/signin");
    response
        .add_cookie(&cookie.removal())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot clear the console cookie: {e}")))?;
    Ok(response)
}
