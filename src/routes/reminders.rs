//! `GET/POST /mail/unsubscribe/{token}` and `POST /mail/resubscribe/{token}`:
//! turning off (and on again) the reminders sent before credit expires, from
//! the link each reminder carries (SPEC §9, RFC 8058 one-click); and
//! `POST /account/reminders`, the same choice from the shopper's own pages.
//!
//! The token in the path is the whole capability: it names one account's
//! reminders and nothing else, and whoever holds the message holds it. A GET
//! only asks (mail scanners open every link); only a POST changes anything.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Chrome, blocking, flash, html, see_other};
use crate::auth::{SignedIn, csrf};
use crate::error::AppError;
use crate::store::Store;
use crate::store::reminders::UnsubscribeToken;

/// What the page says and offers, whichever way it was reached.
#[derive(Template)]
#[template(path = "reminders.html")]
struct RemindersPage {
    chrome: Chrome,
    token: String,
    /// Whether the account gets reminders now (after this request).
    on: bool,
    /// The choice was just made (a POST), rather than asked about (a GET).
    changed: bool,
}

/// The token a link carries, when it can be one; anything else is the 404 an
/// unknown token gets.
fn token_in(path: web::Path<String>) -> Result<UnsubscribeToken, AppError> {
    UnsubscribeToken::parse(&path.into_inner()).ok_or(AppError::NotFound)
}

/// Asks before stopping reminders; changes nothing.
pub async fn ask(
    chrome: Chrome,
    token: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AppError> {
    let token = token_in(token)?;
    let (store, lookup) = (store.get_ref().clone(), token.clone());
    let on = blocking(move || store.reminders_by_token(&lookup))
        .await?
        .ok_or(AppError::NotFound)?;
    html(&RemindersPage {
        chrome,
        token: token.as_str().to_owned(),
        on,
        changed: false,
    })
}

/// Turns reminders off: the page's button, and the one-click POST a mail
/// provider sends with the body `List-Unsubscribe=One-Click` (RFC 8058), with
/// no cookies and no CSRF token (see `csrf::reject_cross_site_posts`). The
/// body is not needed: the token in the path says whose reminders stop.
pub async fn unsubscribe(
    chrome: Chrome,
    token: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AppError> {
    set(chrome, token, store, false).await
}

/// Turns reminders back on, from the page shown after turning them off.
pub async fn resubscribe(
    chrome: Chrome,
    token: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AppError> {
    set(chrome, token, store, true).await
}

async fn set(
    chrome: Chrome,
    token: web::Path<String>,
    store: web::Data<Store>,
    on: bool,
) -> Result<HttpResponse, AppError> {
    let token = token_in(token)?;
    let (store, change) = (store.get_ref().clone(), token.clone());
    if !blocking(move || store.set_reminders_by_token(&change, on)).await? {
        return Err(AppError::NotFound);
    }
    html(&RemindersPage {
        chrome,
        token: token.as_str().to_owned(),
        on,
        changed: true,
    })
}

#[derive(serde::Deserialize)]
pub struct RemindersForm {
    #[serde(default)]
    reminders: String,
    #[serde(default)]
    csrf_token: String,
}

/// The shopper's own switch on their credit activity page.
pub async fn set_from_account(
    shopper: SignedIn,
    session: Session,
    form: web::Form<RemindersForm>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AppError> {
    csrf::verify(&session, &form.csrf_token)?;
    let on = match form.reminders.as_str() {
        "on" => true,
        "off" => false,
        _ => {
            return Err(AppError::BadRequest(
                "The reminders field must be \"on\" or \"off\".".into(),
            ));
        }
    };
    let (store, user) = (store.get_ref().clone(), shopper.user_id);
    blocking(move || store.set_reminders(user, on)).await?;
    flash::set(
        &session,
        if on {
            "We will remind you a week before your credit expires."
        } else {
            "You will not get reminders before your credit expires."
        },
    );
    Ok(see_other("/account/credit"))
}
