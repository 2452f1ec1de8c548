//! `GET /orders` and `GET /orders/{id}`: order history and receipts.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::breakdown::{PaidLine, breakdown};
use super::{Chrome, Older, PAGE_SIZE, blocking, html};
use crate::auth::SignedIn;
use crate::clock::Clock;
use crate::domain::{Money, format_date};
use crate::error::AppError;
use crate::store::Store;
use crate::store::gift_cards::GiftCard;
use crate::store::orders::{Receipt, RefundedTo};

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    chrome: Chrome,
    orders: Vec<Receipt>,
    /// The link to older orders, when there are any.
    older: Option<i64>,
    /// This is not the newest page.
    paged: bool,
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
    query: web::Query<Older>,
) -> Result<HttpResponse, AppError> {
    let (store, before) = (store.get_ref().clone(), query.before);
    let page = blocking(move || store.orders_page(shopper.user_id, before, PAGE_SIZE)).await?;
    html(&OrdersPage {
        chrome,
        orders: page.entries,
        older: page.older,
        paged: before.is_some(),
    })
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    chrome: Chrome,
    order: Receipt,
    placed_on: String,
    refunded_on: Option<String>,
    lines: Vec<PaidLine>,
    /// The department of the product bought; `None` for a gift card.
    category_label: Option<String>,
    left_in_category: Money,
    left_on_gift_cards: Money,
    /// What a gift card bought with this order has become.
    gift_card: Option<GiftCard>,
}

pub async fn receipt(
    chrome: Chrome,
    shopper: SignedIn,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (reader, id, user) = (store.get_ref().clone(), id.into_inner(), shopper.user_id);
    // Someone else's order is indistinguishable from one that does not exist.
    let order = blocking(move || reader.receipt(user, id))
        .await?
        .ok_or(AppError::NotFound)?;
    let now = clock.now();
    let (reader, product_id) = (store.get_ref().clone(), order.product_id);
    let (category, gift_card) = match product_id {
        Some(product_id) => {
            let product = blocking(move || reader.product(product_id)).await?;
            (Some(product.ok_or(AppError::NotFound)?.category), None)
        }
        None => (
            None,
            blocking(move || reader.gift_card(Some(user), id, now)).await?,
        ),
    };
    let balances = match store.on_worker() {
        Some(here) => here.balances_for(user, now)?,
        None => {
            let store = store.get_ref().clone();
            blocking(move || store.balances_for(user, now)).await?
        }
    };
    html(&ReceiptPage {
        refunded_on: order.refunded_at.map(format_date),
        category_label: category.as_ref().map(|category| category.label().to_owned()),
        left_in_category: category.map_or(Money::ZERO, |category| balances.of_category(category.id())),
        gift_card,
        left_on_gift_cards: balances.gift_cards(),
        lines: breakdown(
            order.price,
            order.discount,
            &order.drawn,
            order.card,
            order.card_label.as_deref(),
        ),
        placed_on: format_date(order.placed_at),
        chrome,
        order,
    })
}
