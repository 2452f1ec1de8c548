//! `GET /signin` and `POST /signin`.

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Chrome, SiteOptions, blocking, render_with_status};
use crate::auth::client_address::ClientAddress;
use crate::auth::password::Passwords;
use crate::auth::{self, csrf};
use crate::clock::Clock;
use crate::config::SigninThrottle;
use crate::domain::{Email, LocalPath};
use crate::error::AppError;
use crate::store::Store;
use crate::store::throttle::Subject;

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
    /// Show the demo credentials (only when the demo account was seeded).
    demo: bool,
}

#[derive(serde::Deserialize)]
pub struct ReturnTo {
    return_to: Option<String>,
}

pub async fn show(
    chrome: Chrome,
    session: Session,
    query: web::Query<ReturnTo>,
    site: web::Data<SiteOptions>,
) -> Result<HttpResponse, AppError> {
    let page = SignInPage {
        demo: site.demo,
        chrome,
        csrf_token: csrf::token(&session)?,
        return_to: LocalPath::or_home(query.return_to.as_deref()).as_str().to_owned(),
        email: String::new(),
        error: None,
    };
    render_with_status(&page, StatusCode::OK)
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

pub async fn submit(
    chrome: Chrome,
    session: Session,
    form: web::Form<SignInForm>,
    store: web::Data<Store>,
    passwords: web::Data<Passwords>,
    site: web::Data<SiteOptions>,
    client: ClientAddress,
    throttle: web::Data<SigninThrottle>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    csrf::verify(&session, &form.csrf_token)?;
    let SignInForm {
        email: typed_email,
        password,
        return_to,
        ..
    } = form.into_inner();
    let return_to = LocalPath::or_home(return_to.as_deref());

    // Throttled by what was typed, so an unknown e-mail is throttled like a known
    // one and the answer reveals nothing.
    let account = Subject::Account(typed_email.trim().to_lowercase().chars().take(254).collect());
    let address = Subject::Address(client.0.to_string());
    let now = clock.now();
    let subjects = [account.clone(), address.clone()];
    let checker = store.get_ref().clone();
    if let Some(wait) = blocking(move || checker.signin_blocked_for(&subjects, now)).await? {
        tracing::warn!(client = %client.0, "sign-in throttled");
        return Err(AppError::TooManyAttempts {
            retry_after_seconds: wait.whole_seconds(),
        });
    }

    let login = match Email::parse(&typed_email) {
        Ok(email) => {
            let store = store.get_ref().clone();
            blocking(move || store.find_login(&email)).await?
        }
        Err(_) => None,
    };
    let stored_hash = login.as_ref().map(|login| login.password_hash.clone());
    let password_matches = passwords.verify(password, stored_hash).await?;

    match login.filter(|_| password_matches) {
        Some(login) => {
            let clearing = store.get_ref().clone();
            blocking(move || clearing.clear_signin_failures(&account)).await?;
            auth::sign_in(&session, login.user_id, &login.name)?;
            tracing::info!(user_id = %login.user_id, "signed in");
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, return_to.as_str()))
                .finish())
        }
        None => {
            tracing::info!(client = %client.0, "sign-in refused");
            let rules = [(account, throttle.per_account), (address, throttle.per_address)];
            let recording = store.get_ref().clone();
            blocking(move || recording.record_signin_failure(&rules, now)).await?;
            let page = SignInPage {
                chrome,
                demo: site.demo,
                csrf_token: csrf::token(&session)?,
                return_to: return_to.as_str().to_owned(),
                email: typed_email.trim().chars().take(254).collect(),
                error: Some(WRONG_CREDENTIALS),
            };
            render_with_status(&page, StatusCode::UNAUTHORIZED)
        }
    }
}
