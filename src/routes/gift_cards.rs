//! `GET /gift-cards` (the Gift Cards department's form) and `POST /gift-cards`
//! (buying one, paid by card alone: SPEC §9).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::checkout::{new_idempotency_key, valid_idempotency_key};
use super::{Chrome, blocking, capitalise, render_with_status, see_other};
use crate::auth::{SignedIn, csrf, viewer};
use crate::clock::Clock;
use crate::domain::CardSummary;
use crate::error::AppError;
use crate::store::Store;
use crate::store::gift_cards::{
    FieldProblem, GiftCardError, GiftCardFields, GiftCardPurchase, LARGEST_DOLLARS, MESSAGE_LIMIT,
    SMALLEST_DOLLARS,
};
use crate::telemetry::Metrics;

#[derive(Template)]
#[template(path = "gift_cards.html")]
struct GiftCardPage {
    chrome: Chrome,
    signed_in: bool,
    /// The card that pays; `None` asks the shopper to add one first.
    card: Option<CardSummary>,
    form: GiftCardForm,
    problems: Vec<FieldProblem>,
    /// A refusal of the whole order (not one field's).
    error: Option<String>,
    today: String,
    smallest: i64,
    largest: i64,
    message_limit: usize,
}

impl GiftCardPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|problem| problem.field == field)
            .map(|problem| problem.message.as_str())
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct GiftCardForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    recipient_email: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    deliver_on: String,
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    csrf_token: String,
}

impl GiftCardForm {
    fn fields(&self) -> GiftCardFields<'_> {
        GiftCardFields {
            amount: &self.amount,
            recipient_email: &self.recipient_email,
            message: &self.message,
            deliver_on: &self.deliver_on,
        }
    }

    /// What the form shows again: as typed, cut to what its fields allow.
    fn shown_again(mut self) -> GiftCardForm {
        self.amount = self.amount.chars().take(16).collect();
        self.recipient_email = self.recipient_email.chars().take(254).collect();
        self.message = self.message.chars().take(MESSAGE_LIMIT * 2).collect();
        self.deliver_on = self.deliver_on.chars().take(16).collect();
        self
    }
}

/// The form as it is shown: fresh, or again with what was wrong.
struct Shown {
    form: GiftCardForm,
    problems: Vec<FieldProblem>,
    error: Option<String>,
    status: StatusCode,
}

async fn page(
    chrome: Chrome,
    store: &Store,
    clock: &Clock,
    user: Option<&SignedIn>,
    shown: Shown,
) -> Result<HttpResponse, AppError> {
    let Shown {
        form,
        problems,
        error,
        status,
    } = shown;
    let card = match user {
        Some(shopper) => {
            let (store, user) = (store.clone(), shopper.user_id);
            blocking(move || store.default_card(user)).await?
        }
        None => None,
    };
    let page = GiftCardPage {
        chrome,
        signed_in: user.is_some(),
        card,
        form,
        problems,
        error,
        today: clock.now().date().to_string(),
        smallest: SMALLEST_DOLLARS,
        largest: LARGEST_DOLLARS,
        message_limit: MESSAGE_LIMIT,
    };
    render_with_status(&page, status)
}

pub async fn show(
    chrome: Chrome,
    request: HttpRequest,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    let shopper = viewer(&request);
    let form = GiftCardForm {
        amount: "25".to_owned(),
        idempotency_key: new_idempotency_key(),
        ..GiftCardForm::default()
    };
    let shown = Shown {
        form,
        problems: Vec::new(),
        error: None,
        status: StatusCode::OK,
    };
    page(chrome, &store, &clock, shopper.as_ref(), shown).await
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    chrome: Chrome,
    shopper: SignedIn,
    session: Session,
    form: web::Form<GiftCardForm>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, AppError> {
    csrf::verify(&session, &form.csrf_token)?;
    let form = form.into_inner();
    if !valid_idempotency_key(&form.idempotency_key) {
        return Err(AppError::BadRequest(
            "This gift card form is incomplete. Open the Gift Cards page and fill it in again.".into(),
        ));
    }
    let now = clock.now();
    let purchase = match GiftCardPurchase::parse(&form.fields(), now.date()) {
        Ok(purchase) => purchase,
        Err(problems) => {
            let shown = Shown {
                form: form.shown_again(),
                problems,
                error: None,
                status: StatusCode::BAD_REQUEST,
            };
            return page(chrome, &store, &clock, Some(&shopper), shown).await;
        }
    };
    let (writer, user, key) = (
        store.get_ref().clone(),
        shopper.user_id,
        form.idempotency_key.clone(),
    );
    let outcome =
        blocking(move || Ok::<_, AppError>(writer.buy_gift_card(user, &purchase, &key, now))).await?;
    let (error, status, form) = match outcome {
        Ok(placed) => {
            if placed.created {
                tracing::info!(user_id = %user, order_id = placed.order_id, "gift card bought");
                metrics.order_placed();
            }
            return Ok(see_other(&format!("/orders/{}", placed.order_id)));
        }
        Err(GiftCardError::Store(error)) => return Err(error.into()),
        Err(error @ GiftCardError::NoPaymentMethod(_)) => {
            (error.to_string(), StatusCode::UNPROCESSABLE_ENTITY, form)
        }
        Err(error @ GiftCardError::TooMany) => (error.to_string(), StatusCode::TOO_MANY_REQUESTS, form),
        Err(error @ GiftCardError::KeyUsedForAnotherOrder) => {
            // The old form's key is spent: a fresh one to send it again.
            let form = GiftCardForm {
                idempotency_key: new_idempotency_key(),
                ..form
            };
            (error.to_string(), StatusCode::CONFLICT, form)
        }
    };
    tracing::info!(user_id = %user, reason = %error, "gift card refused");
    let shown = Shown {
        form: form.shown_again(),
        problems: Vec::new(),
        error: Some(capitalise(&error)),
        status,
    };
    page(chrome, &store, &clock, Some(&shopper), shown).await
}
