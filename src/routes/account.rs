//! The account pages: credit activity, saved discounts, the default payment method.

use std::sync::Arc;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use askama::Template;

use super::{
    Chrome, Older, PAGE_SIZE, ReturnTo, blocking, capitalise, flash, html, render_with_status, see_other,
};
use crate::auth::{SignedIn, csrf};
use crate::clock::Clock;
use crate::domain::{CardSummary, Categories, LocalPath, Money, format_date, format_last_day};
use crate::error::AppError;
use crate::store::Store;
use crate::store::credits::{CreditActivity, LedgerEvent, LedgerEventKind};
use crate::store::discounts::SavedDiscount;

#[derive(Template)]
#[template(path = "credit_activity.html")]
struct CreditActivityPage {
    chrome: Chrome,
    categories: Arc<Categories>,
    credits: Vec<CreditActivity>,
    now: time::OffsetDateTime,
    /// The link to older credits, when there are any.
    older: Option<i64>,
    /// This is not the newest page.
    paged: bool,
    /// Whether the shopper gets reminders a week before credit expires.
    reminders_on: bool,
    notice: Option<String>,
}

/// How many of a credit's latest ledger entries its section shows.
const ENTRIES_PER_CREDIT: usize = 10;

impl CreditActivityPage {
    fn status(&self, entry: &CreditActivity) -> &'static str {
        if entry.credit.is_expired(self.now) {
            "Expired"
        } else if entry.credit.remaining.is_zero() {
            "Used up"
        } else {
            "Active"
        }
    }

    fn valid_for(&self, entry: &CreditActivity) -> String {
        match entry.credit.kind {
            crate::domain::CreditKind::GiftCard => "Everything (gift card)".to_owned(),
            crate::domain::CreditKind::Promotional(valid) => self.categories.describe(valid),
        }
    }

    fn expiry(&self, entry: &CreditActivity) -> String {
        entry
            .credit
            .expires_at
            .map_or_else(|| "Never".to_owned(), format_last_day)
    }

    fn date(&self, at: &time::OffsetDateTime) -> String {
        format_date(*at)
    }

    /// What a ledger event did, in words: "Added to your account", "Spent on order 12"…
    fn what_happened(&self, event: &LedgerEvent) -> String {
        match (event.kind, event.order_id) {
            (LedgerEventKind::Grant, Some(order)) => {
                format!("Returned from a refund of order {order}, as a new credit")
            }
            (LedgerEventKind::Grant, None) => "Added to your account".to_owned(),
            (LedgerEventKind::Spend, Some(order)) => format!("Spent on order {order}"),
            (LedgerEventKind::Spend, None) => "Spent".to_owned(),
            (LedgerEventKind::Refund, Some(order)) => format!("Returned from a refund of order {order}"),
            (LedgerEventKind::Refund, None) => "Returned".to_owned(),
            (LedgerEventKind::Adjust, _) => "Adjusted by customer service".to_owned(),
        }
    }

    /// "+$10.00" or "−$0.99".
    fn change(&self, event: &LedgerEvent) -> String {
        let amount = Money::from_cents(event.change_cents.abs());
        if event.change_cents < 0 {
            format!("\u{2212}{amount}")
        } else {
            format!("+{amount}")
        }
    }
}

pub async fn credit_activity(
    chrome: Chrome,
    shopper: SignedIn,
    session: Session,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    query: web::Query<Older>,
) -> Result<HttpResponse, AppError> {
    let categories = store.categories();
    let (store, before) = (store.get_ref().clone(), query.before);
    let (page, reminders_on) = blocking(move || {
        Ok::<_, crate::store::StoreError>((
            store.credit_activity_page(shopper.user_id, before, PAGE_SIZE, ENTRIES_PER_CREDIT)?,
            store.reminders_on(shopper.user_id)?,
        ))
    })
    .await?;
    html(&CreditActivityPage {
        categories,
        chrome,
        credits: page.entries,
        now: clock.now(),
        older: page.older,
        paged: before.is_some(),
        reminders_on,
        notice: flash::take(&session),
    })
}

#[derive(Template)]
#[template(path = "discounts.html")]
struct DiscountsPage {
    chrome: Chrome,
    categories: Arc<Categories>,
    discounts: Vec<SavedDiscount>,
    now: time::OffsetDateTime,
}

impl DiscountsPage {
    fn is_ready(&self, discount: &SavedDiscount) -> bool {
        discount.is_usable(self.now)
    }
}

pub async fn discounts(
    chrome: Chrome,
    shopper: SignedIn,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    let categories = store.categories();
    let store = store.get_ref().clone();
    let discounts = blocking(move || store.discounts_of(shopper.user_id)).await?;
    html(&DiscountsPage {
        categories,
        chrome,
        discounts,
        now: clock.now(),
    })
}

#[derive(Template)]
#[template(path = "payment.html")]
struct PaymentPage {
    chrome: Chrome,
    current: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    csrf_token: String,
    /// Where to go once a card is set (the checkout that sent the shopper here).
    return_to: Option<String>,
}

async fn payment_page(
    chrome: Chrome,
    shopper: &SignedIn,
    session: &Session,
    store: &Store,
    error: Option<String>,
    return_to: Option<LocalPath>,
) -> Result<HttpResponse, AppError> {
    let (store, user) = (store.clone(), shopper.user_id);
    let current = blocking(move || store.default_card(user))
        .await?
        .map(|card| card.label());
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = PaymentPage {
        chrome,
        current,
        notice: flash::take(session),
        error,
        csrf_token: csrf::token(session)?,
        return_to: return_to.map(|path| path.as_str().to_owned()),
    };
    render_with_status(&page, status)
}

pub async fn payment(
    chrome: Chrome,
    shopper: SignedIn,
    session: Session,
    store: web::Data<Store>,
    query: web::Query<ReturnTo>,
) -> Result<HttpResponse, AppError> {
    let return_to = query.return_to.as_deref().and_then(LocalPath::parse);
    payment_page(chrome, &shopper, &session, &store, None, return_to).await
}

#[derive(serde::Deserialize)]
pub struct PaymentForm {
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    csrf_token: String,
    return_to: Option<String>,
}

pub async fn set_payment(
    chrome: Chrome,
    shopper: SignedIn,
    session: Session,
    form: web::Form<PaymentForm>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    csrf::verify(&session, &form.csrf_token)?;
    let return_to = form.return_to.as_deref().and_then(LocalPath::parse);
    // The full number lives only in this request: it is reduced to brand and last
    // four digits here and never stored or logged.
    let card = match CardSummary::from_number(&form.card_number) {
        Ok(card) => card,
        Err(invalid) => {
            return payment_page(
                chrome,
                &shopper,
                &session,
                &store,
                Some(capitalise(&invalid.to_string())),
                return_to,
            )
            .await;
        }
    };
    let label = card.label();
    let (store, user, now) = (store.get_ref().clone(), shopper.user_id, clock.now());
    blocking(move || store.set_default_card(user, &card, now)).await?;
    match return_to {
        // Back to the checkout that needed a card: its summary now shows it.
        Some(path) => Ok(see_other(path.as_str())),
        None => {
            flash::set(&session, &format!("Your default payment method is now {label}."));
            Ok(see_other("/account/payment"))
        }
    }
}
