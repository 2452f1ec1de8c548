//! `GET /signin` and `POST /signin`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Chrome, blocking, render_with_status, see_other};
use crate::auth;
use crate::auth::client_address::ClientAddress;
use crate::auth::csrf::{self, FormToken};
use crate::auth::device;
use crate::auth::password::Passwords;
use crate::auth::throttle::Throttle;
use crate::clock::Clock;
use crate::domain::{Email, LocalPath};
use crate::error::AppError;
use crate::store::Store;
use crate::telemetry::Metrics;

/// One answer for an unknown e-mail and a wrong password, so the form reveals
/// nothing about which accounts exist.
const WRONG_CREDENTIALS: &str =
    "That e-mail address and password don't match an account. Check them and try again.";

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    chrome: Chrome,
    csrf_token: String,
    return_to: String,
    email: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    /// Show the demo credentials (only when the demo account was seeded).
    demo: bool,
}

/// `?return_to=` (where to go after signing in) and `?reset=done` (after a new
/// password was set by e-mail).
#[derive(serde::Deserialize)]
pub struct SignInQuery {
    return_to: Option<String>,
    reset: Option<String>,
}

pub async fn show(
    chrome: Chrome,
    token: FormToken,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, AppError> {
    let page = SignInPage {
        demo: chrome.demo,
        chrome,
        csrf_token: token.value.clone(),
        return_to: LocalPath::or_home(query.return_to.as_deref()).as_str().to_owned(),
        email: String::new(),
        error: None,
        notice: (query.reset.as_deref() == Some("done"))
            .then_some("Your new password is set, and you are signed out everywhere. Sign in with it."),
    };
    token.respond(render_with_status(&page, StatusCode::OK)?)
}

#[derive(serde::Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    return_to: Option<String>,
    #[serde(default)]
    csrf_token: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    chrome: Chrome,
    request: HttpRequest,
    session: Session,
    form: web::Form<SignInForm>,
    store: web::Data<Store>,
    passwords: web::Data<Passwords>,
    client: ClientAddress,
    throttle: web::Data<Throttle>,
    metrics: web::Data<Metrics>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    csrf::verify_form(&request, &form.csrf_token)?;
    let SignInForm {
        email: typed_email,
        password,
        return_to,
        csrf_token,
    } = form.into_inner();
    let return_to = LocalPath::or_home(return_to.as_deref());
    // A browser that signed in to this account before is counted on its own.
    let device = device::recognised(&request, &typed_email);
    // Counted before the password is checked, so a burst cannot outrun the count.
    let attempt = throttle.sign_in(&typed_email, client, device.as_ref()).await?;

    let email = Email::parse(&typed_email).ok();
    let login = match email.clone() {
        Some(email) => {
            let store = store.get_ref().clone();
            blocking(move || store.find_login(&email)).await?
        }
        None => None,
    };
    let stored_hash = login.as_ref().map(|login| login.password_hash.clone());
    let password_matches = passwords.verify(password, stored_hash).await?;

    match login.filter(|_| password_matches).zip(email) {
        Some((login, email)) => {
            throttle.succeeded(attempt).await?;
            if device.is_none() {
                let (store, user, now) = (store.get_ref().clone(), login.user_id, clock.now());
                let browser = device::user_agent(&request);
                blocking(move || store.note_new_device(user, &browser, now)).await?;
                tracing::info!(user_id = %login.user_id, "signed in from a new device");
            }
            auth::sign_in(&session, login.user_id, &login.name, login.credentials_version)?;
            tracing::info!(user_id = %login.user_id, "signed in");
            let mut response = see_other(return_to.as_str());
            // A new cookie (a new nonce) at every success.
            device::remember(&request, &mut response, email.as_str())?;
            Ok(response)
        }
        None => {
            tracing::info!(client = %client.0, "sign-in refused");
            metrics.sign_in_failed();
            let page = SignInPage {
                demo: chrome.demo,
                chrome,
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
