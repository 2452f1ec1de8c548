//! `GET /redeem` and `POST /redeem`: claim a credit, gift card or discount code.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Chrome, blocking, capitalise, flash, render_with_status, see_other};
use crate::auth::client_address::ClientAddress;
use crate::auth::throttle::Throttle;
use crate::auth::{SignedIn, csrf};
use crate::clock::Clock;
use crate::domain::{Categories, CodeRefusal, PromoCode, format_last_day};
use crate::error::AppError;
use crate::store::Store;
use crate::store::codes::{RedeemError, Redeemed};

#[derive(Template)]
#[template(path = "redeem.html")]
struct RedeemPage {
    chrome: Chrome,
    notice: Option<String>,
    error: Option<String>,
    code: String,
}

pub async fn show(chrome: Chrome, _shopper: SignedIn, session: Session) -> Result<HttpResponse, AppError> {
    let page = RedeemPage {
        chrome,
        notice: flash::take(&session),
        error: None,
        code: String::new(),
    };
    render_with_status(&page, StatusCode::OK)
}

#[derive(serde::Deserialize)]
pub struct RedeemForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf_token: String,
}

/// What the shopper reads after a redemption.
fn confirmation(redeemed: &Redeemed, categories: &Categories) -> String {
    match redeemed {
        Redeemed::Credit {
            amount,
            categories: valid,
            expires_at,
            ..
        } => {
            let until =
                expires_at.map_or_else(String::new, |at| format!(", to use by {}", format_last_day(at)));
            format!(
                "{amount} of credit for {} is now in your account{until}.",
                categories.describe(*valid)
            )
        }
        Redeemed::GiftCard { amount, .. } => format!("A {amount} gift card is now in your account."),
        Redeemed::Discount { description, .. } => {
            format!("\"{description}\" is saved to your account; choose it at checkout.")
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    chrome: Chrome,
    shopper: SignedIn,
    session: Session,
    form: web::Form<RedeemForm>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    client: ClientAddress,
    throttle: web::Data<Throttle>,
) -> Result<HttpResponse, AppError> {
    csrf::verify(&session, &form.csrf_token)?;
    // Counted before the code is looked up, so a burst of guesses cannot outrun it.
    let attempt = throttle.code(shopper.user_id, client).await?;
    let refusal = match PromoCode::parse(&form.code) {
        Err(malformed) => CodeRefusal::from(malformed),
        Ok(code) => {
            let categories = store.categories();
            let (store, now, user) = (store.get_ref().clone(), clock.now(), shopper.user_id);
            tracing::info!(user_id = %user, code = %code.masked(), "redeeming a code");
            let outcome = blocking(move || Ok::<_, AppError>(store.redeem_code(user, &code, now))).await?;
            match outcome {
                Ok(redeemed) => {
                    throttle.succeeded(attempt).await?;
                    flash::set(&session, &confirmation(&redeemed, &categories));
                    return Ok(see_other("/redeem"));
                }
                Err(RedeemError::Refused(refusal)) => refusal,
                Err(RedeemError::Store(e)) => return Err(e.into()),
            }
        }
    };
    let page = RedeemPage {
        chrome,
        notice: None,
        error: Some(capitalise(&refusal.to_string())),
        code: form.code.trim().chars().take(64).collect(),
    };
    render_with_status(&page, StatusCode::BAD_REQUEST)
}
