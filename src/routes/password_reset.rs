//! `GET/POST /password/forgot` and `GET/POST /password/reset/{token}`: getting back
//! in after forgetting a password (SPEC §7).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Chrome, blocking, render_with_status, see_other};
use crate::auth::client_address::ClientAddress;
use crate::auth::csrf::{self, FormToken};
use crate::auth::device;
use crate::auth::password::Passwords;
use crate::auth::throttle::Throttle;
use crate::clock::Clock;
use crate::domain::{Email, UserId};
use crate::error::AppError;
use crate::store::Store;

/// The one answer to every reset request, so it reveals nothing about which
/// e-mail addresses have an account.
const LINK_ON_ITS_WAY: &str = "If an account uses that e-mail address, a link to choose a new password is on its way. It works once, for 30 minutes.";

/// Where links in mail point: the site's public origin, e.g. `https://shop.example`.
#[derive(Debug, Clone)]
pub struct LinkOrigin(pub String);

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    chrome: Chrome,
    csrf_token: String,
    email: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

pub async fn forgot_form(chrome: Chrome, token: FormToken) -> Result<HttpResponse, AppError> {
    let page = ForgotPage {
        chrome,
        csrf_token: token.value.clone(),
        email: String::new(),
        notice: None,
        error: None,
    };
    token.respond(render_with_status(&page, StatusCode::OK)?)
}

#[derive(serde::Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    csrf_token: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn request_link(
    chrome: Chrome,
    request: HttpRequest,
    form: web::Form<ForgotForm>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    client: ClientAddress,
    throttle: web::Data<Throttle>,
) -> Result<HttpResponse, AppError> {
    csrf::verify_form(&request, &form.csrf_token)?;
    let form = form.into_inner();
    let Ok(email) = Email::parse(&form.email) else {
        let page = ForgotPage {
            chrome,
            csrf_token: form.csrf_token,
            email: form.email.trim().chars().take(254).collect(),
            notice: None,
            error: Some("Enter the e-mail address you sign in with, like name@example.com.".to_owned()),
        };
        return render_with_status(&page, StatusCode::BAD_REQUEST);
    };
    // From a browser that signed in to this account before, counted on its own:
    // requests others make for the account do not stop its owner asking.
    let device = device::recognised(&request, email.as_str());
    throttle
        .password_reset(email.as_str(), client, device.as_ref())
        .await?;
    // Looked up and queued after the answer, so the answer takes the same time
    // whether or not the address has an account.
    let (store, now) = (store.get_ref().clone(), clock.now());
    actix_web::rt::spawn(async move {
        match blocking(move || store.mail_password_reset(&email, now)).await {
            Ok(true) => tracing::info!("password reset link queued"),
            Ok(false) => {}
            Err(e) => tracing::error!(error = ?e, "could not queue a password reset link"),
        }
    });
    let page = ForgotPage {
        chrome,
        csrf_token: form.csrf_token,
        email: String::new(),
        notice: Some(LINK_ON_ITS_WAY),
        error: None,
    };
    render_with_status(&page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    chrome: Chrome,
    csrf_token: String,
    token: String,
    error: Option<String>,
}

/// The tokens of mailed links (reset, registration confirmation) are 32
/// letters and digits; anything else cannot be one, and is refused before the
/// database is asked.
pub(crate) fn plausible_token(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

async fn account_for(store: &Store, token: &str, clock: &Clock) -> Result<UserId, AppError> {
    if !plausible_token(token) {
        return Err(AppError::ResetLinkUnusable);
    }
    let (store, token, now) = (store.clone(), token.to_owned(), clock.now());
    blocking(move || store.password_reset_account(&token, now))
        .await?
        .ok_or(AppError::ResetLinkUnusable)
}

pub async fn reset_form(
    chrome: Chrome,
    form_token: FormToken,
    token: web::Path<String>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    account_for(&store, &token, &clock).await?;
    let page = ResetPage {
        chrome,
        csrf_token: form_token.value.clone(),
        token,
        error: None,
    };
    form_token.respond(render_with_status(&page, StatusCode::OK)?)
}

#[derive(serde::Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    csrf_token: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn reset(
    chrome: Chrome,
    request: HttpRequest,
    token: web::Path<String>,
    form: web::Form<ResetForm>,
    store: web::Data<Store>,
    passwords: web::Data<Passwords>,
    clock: web::Data<Clock>,
    throttle: web::Data<Throttle>,
) -> Result<HttpResponse, AppError> {
    csrf::verify_form(&request, &form.csrf_token)?;
    let (token, form) = (token.into_inner(), form.into_inner());
    let user = account_for(&store, &token, &clock).await?;
    let reader = store.get_ref().clone();
    let email = blocking(move || reader.login_of(user))
        .await?
        .ok_or(AppError::ResetLinkUnusable)?
        .email;
    let new_password = match passwords
        .check_new(form.new_password, vec![email.clone()])
        .await?
    {
        Ok(password) => password,
        Err(weak) => {
            let page = ResetPage {
                chrome,
                csrf_token: form.csrf_token,
                token,
                error: Some(format!("New password: {weak}.")),
            };
            return render_with_status(&page, StatusCode::BAD_REQUEST);
        }
    };
    let hash = passwords.hash(new_password.expose().to_owned()).await?;
    let (writer, now) = (store.get_ref().clone(), clock.now());
    // The token is spent inside the same transaction: of two submissions at once,
    // one sets the password and the other finds the link used.
    blocking(move || writer.reset_password(&token, &hash, now))
        .await?
        .ok_or(AppError::ResetLinkUnusable)?;
    throttle.account_recovered(&email).await?;
    tracing::info!(user_id = %user, "password reset by e-mail; every session ended");
    // This browser read the account's mailbox: it is the owner's from now on.
    let mut response = see_other("/signin?reset=done");
    device::remember(&request, &mut response, &email)?;
    Ok(response)
}
