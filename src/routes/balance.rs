//! `GET /balance`: the pop-up window with the balances.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{assets, blocking, html};
use crate::auth::SignedIn;
use crate::clock::Clock;
use crate::domain::BalanceLine;
use crate::error::AppError;
use crate::store::Store;

/// A standalone document (no site header): it lives in a small window.
#[derive(Template)]
#[template(path = "balance.html")]
struct BalancePopup<'a> {
    stylesheet: &'static str,
    script: &'static str,
    name: String,
    lines: Vec<BalanceLine<'a>>,
}

pub async fn show(
    shopper: SignedIn,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    let (user, now) = (shopper.user_id, clock.now());
    let balances = match store.on_worker() {
        Some(here) => here.balances_for(user, now)?,
        None => {
            let store = store.get_ref().clone();
            blocking(move || store.balances_for(user, now)).await?
        }
    };
    html(&BalancePopup {
        stylesheet: assets::stylesheet_url(),
        script: assets::script_url(),
        name: shopper.name,
        lines: balances.lines(),
    })
}
