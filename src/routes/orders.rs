//! `GET /orders` and `GET /orders/{id}`: order history and receipts.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::checkout::{PaidLine, paid_lines};
use super::{Chrome, blocking, html};
use crate::auth::SignedIn;
use crate::domain::format_date;
use crate::error::AppError;
use crate::store::Store;
use crate::store::orders::Receipt;

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    chrome: Chrome,
    orders: Vec<Receipt>,
}

impl OrdersPage {
    fn date(&self, order: &Receipt) -> String {
        format_date(order.placed_at)
    }
}

pub async fn list(
    chrome: Chrome,
    shopper: SignedIn,
    store: web::Data<Store>,
) -> Result<HttpResponse, AppError> {
    let store = store.get_ref().clone();
    let orders = blocking(move || store.orders_of(shopper.user_id)).await?;
    html(&OrdersPage { chrome, orders })
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    chrome: Chrome,
    order: Receipt,
    placed_on: String,
    lines: Vec<PaidLine>,
}

pub async fn receipt(
    chrome: Chrome,
    shopper: SignedIn,
    store: web::Data<Store>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (store, id) = (store.get_ref().clone(), id.into_inner());
    // Someone else's order is indistinguishable from one that does not exist.
    let order = blocking(move || store.receipt(shopper.user_id, id))
        .await?
        .ok_or(AppError::NotFound)?;
    html(&ReceiptPage {
        lines: paid_lines(
            order.price,
            order.discount,
            order.promotional_credit,
            order.gift_card,
            order.card,
            order.card_label.as_deref(),
        ),
        placed_on: format_date(order.placed_at),
        chrome,
        order,
    })
}
