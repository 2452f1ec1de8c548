//! `GET /checkout/{id}` (the order summary, with a preview of a code) and
//! `POST /checkout/{id}` (placing the order).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use rand::distr::{Alphanumeric, SampleString};

use super::breakdown::{PaidLine, breakdown};
use super::{Chrome, blocking, capitalise, render_with_status, see_other};
use crate::auth::client_address::ClientAddress;
use crate::auth::throttle::{Attempt, Throttle};
use crate::auth::{SignedIn, csrf};
use crate::clock::Clock;
use crate::domain::{CodeRefusal, Money, PromoCode};
use crate::error::AppError;
use crate::store::Store;
use crate::store::catalog::Product;
use crate::store::discounts::SavedDiscount;
use crate::store::orders::{CheckoutError, OrderPlan, Promotion};
use crate::telemetry::Metrics;

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    chrome: Chrome,
    product: Product,
    lines: Vec<PaidLine>,
    promotion: Option<String>,
    code_note: Option<String>,
    /// This summary's address, for "add a card" to come back to.
    return_here: String,
    /// The refusal shown is about the typed code: tie it to the code field.
    code_refused: bool,
    error: Option<String>,
    /// The remainder cannot be paid: no default card.
    needs_card: bool,
    card_due: Money,
    discounts: Vec<SavedDiscount>,
    promo_code: String,
    selected_discount: Option<i64>,
    idempotency_key: String,
    csrf_token: String,
}

impl CheckoutPage {
    fn is_selected(&self, discount: &SavedDiscount) -> bool {
        self.selected_discount == Some(discount.id)
    }
}

#[derive(serde::Deserialize)]
pub struct PromotionInput {
    promo_code: Option<String>,
    discount_id: Option<String>,
}

impl PromotionInput {
    fn typed_code(&self) -> &str {
        self.promo_code.as_deref().map(str::trim).unwrap_or_default()
    }

    fn parse(&self) -> Result<Promotion, Refusal> {
        let code = self.typed_code();
        let discount = self
            .discount_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty());
        match (code.is_empty(), discount) {
            (true, None) => Ok(Promotion::None),
            (false, Some(_)) => Err(Refusal::Shown(
                "use either a promotional code or a saved discount, not both".into(),
                StatusCode::BAD_REQUEST,
            )),
            (false, None) => PromoCode::parse(code).map(Promotion::Code).map_err(|malformed| {
                Refusal::Shown(CodeRefusal::from(malformed).to_string(), StatusCode::BAD_REQUEST)
            }),
            (true, Some(id)) => id.parse().map(Promotion::SavedDiscount).map_err(|_| {
                Refusal::Input(AppError::BadRequest("That discount choice is not valid.".into()))
            }),
        }
    }
}

/// Why an order could not go ahead: shown on the summary, or an error page.
enum Refusal {
    Shown(String, StatusCode),
    Input(AppError),
}

impl From<CheckoutError> for Refusal {
    fn from(error: CheckoutError) -> Self {
        match error {
            CheckoutError::UnknownProduct => Refusal::Input(AppError::NotFound),
            CheckoutError::NotForSale => Refusal::Input(AppError::NotForSale),
            CheckoutError::Store(e) => Refusal::Input(e.into()),
            CheckoutError::Refused(refusal) => Refusal::Shown(refusal.to_string(), StatusCode::BAD_REQUEST),
            CheckoutError::KeyUsedForAnotherOrder | CheckoutError::PriceChanged { .. } => {
                Refusal::Shown(error.to_string(), StatusCode::CONFLICT)
            }
            other => Refusal::Shown(other.to_string(), StatusCode::UNPROCESSABLE_ENTITY),
        }
    }
}

struct Context {
    chrome: Chrome,
    shopper: SignedIn,
    store: Store,
    clock: Clock,
    csrf_token: String,
}

impl Context {
    fn new(
        chrome: Chrome,
        shopper: SignedIn,
        session: &Session,
        store: &Store,
        clock: &Clock,
    ) -> Result<Context, AppError> {
        Ok(Context {
            chrome,
            shopper,
            store: store.clone(),
            clock: clock.clone(),
            csrf_token: csrf::token(session)?,
        })
    }

    async fn plan(
        &self,
        product_id: i64,
        promotion: Promotion,
    ) -> Result<Result<OrderPlan, CheckoutError>, AppError> {
        let (store, user, now) = (self.store.clone(), self.shopper.user_id, self.clock.now());
        blocking(move || Ok::<_, AppError>(store.preview_order(user, product_id, &promotion, now))).await
    }

    /// The summary page: the preview of `promotion`, or, when that is refused, the
    /// plain preview with the reason on top.
    async fn page(
        self,
        product_id: i64,
        input: &PromotionInput,
        submitted_key: Option<String>,
        refused: Option<(String, StatusCode)>,
    ) -> Result<HttpResponse, AppError> {
        let mut refused = refused;
        // Preview the promotion asked for, unless the request was already refused:
        // then the plain summary, with the reason on top.
        let mut promotion = match input.parse() {
            Err(Refusal::Input(e)) => return Err(e),
            Err(Refusal::Shown(message, status)) => {
                refused.get_or_insert((message, status));
                Promotion::None
            }
            Ok(_) if refused.is_some() => Promotion::None,
            Ok(promotion) => promotion,
        };
        let plan = match self.plan(product_id, promotion.clone()).await? {
            Ok(plan) => plan,
            Err(error) => {
                match Refusal::from(error) {
                    Refusal::Input(e) => return Err(e),
                    Refusal::Shown(message, status) => refused = Some((message, status)),
                }
                promotion = Promotion::None;
                self.plan(product_id, Promotion::None)
                    .await?
                    .map_err(|e| match Refusal::from(e) {
                        Refusal::Input(e) => e,
                        Refusal::Shown(message, _) => AppError::BadRequest(message),
                    })?
            }
        };
        let selected_discount = match promotion {
            Promotion::SavedDiscount(id) => Some(id),
            _ => None,
        };
        let user = self.shopper.user_id;
        let store = self.store.clone();
        let now = self.clock.now();
        let category = plan.product.category.id();
        let discounts: Vec<SavedDiscount> = blocking(move || store.discounts_of(user))
            .await?
            .into_iter()
            .filter(|d| d.is_usable(now) && d.terms.fits(category))
            .collect();
        let a = &plan.allocation;
        let card_label = plan.card.as_ref().map(|card| card.label());
        let (message, status) = refused.map_or((None, StatusCode::OK), |(m, s)| (Some(capitalise(&m)), s));
        let page = CheckoutPage {
            lines: breakdown(a.price, a.discount, &plan.drawn, a.card, card_label.as_deref()),
            needs_card: plan.card.is_none() && !a.card.is_zero(),
            card_due: a.card,
            promotion: plan.promotion.clone().filter(|_| message.is_none()),
            code_note: plan.code_note.clone().filter(|_| message.is_none()),
            code_refused: message.is_some() && !input.typed_code().is_empty(),
            return_here: match input.typed_code() {
                "" => format!("/checkout/{product_id}"),
                code => format!(
                    "/checkout/{product_id}?promo_code={}",
                    percent_encoding::utf8_percent_encode(code, percent_encoding::NON_ALPHANUMERIC)
                ),
            },
            error: message,
            discounts,
            promo_code: input.typed_code().chars().take(64).collect(),
            selected_discount,
            idempotency_key: submitted_key.unwrap_or_else(new_idempotency_key),
            csrf_token: self.csrf_token,
            chrome: self.chrome,
            product: plan.product,
        };
        render_with_status(&page, status)
    }
}

/// A typed code is a guess until it is accepted: counted against the shopper and
/// their address before it is looked up (SPEC §6).
async fn count_code_attempt(
    input: &PromotionInput,
    shopper: &SignedIn,
    client: ClientAddress,
    throttle: &Throttle,
) -> Result<Option<Attempt>, AppError> {
    if input.typed_code().is_empty() {
        return Ok(None);
    }
    throttle.code(shopper.user_id, client).await.map(Some)
}

#[allow(clippy::too_many_arguments)]
pub async fn show(
    chrome: Chrome,
    shopper: SignedIn,
    session: Session,
    product_id: web::Path<i64>,
    input: web::Query<PromotionInput>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    client: ClientAddress,
    throttle: web::Data<Throttle>,
) -> Result<HttpResponse, AppError> {
    let attempt = count_code_attempt(&input, &shopper, client, &throttle).await?;
    let context = Context::new(chrome, shopper, &session, &store, &clock)?;
    let page = context.page(product_id.into_inner(), &input, None, None).await?;
    // The summary is shown with a 200 only when the code was accepted.
    if let Some(attempt) = attempt
        && page.status() == StatusCode::OK
    {
        throttle.succeeded(attempt).await?;
    }
    Ok(page)
}

#[derive(serde::Deserialize)]
pub struct CheckoutForm {
    #[serde(flatten)]
    promotion: PromotionInput,
    #[serde(default)]
    idempotency_key: String,
    /// The price the summary showed, in cents: the order is refused if it is no
    /// longer the price (a form without it takes the price as it is).
    #[serde(default)]
    price_cents: Option<String>,
    #[serde(default)]
    csrf_token: String,
}

/// A fresh order form's idempotency key: 32 random letters and digits.
pub(super) fn new_idempotency_key() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// Keys come from our own forms: 16 to 64 letters, digits or dashes.
pub(super) fn valid_idempotency_key(key: &str) -> bool {
    (16..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    chrome: Chrome,
    shopper: SignedIn,
    session: Session,
    product_id: web::Path<i64>,
    form: web::Form<CheckoutForm>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    client: ClientAddress,
    throttle: web::Data<Throttle>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, AppError> {
    csrf::verify(&session, &form.csrf_token)?;
    let form = form.into_inner();
    if !valid_idempotency_key(&form.idempotency_key) {
        return Err(AppError::BadRequest(
            "This order form is incomplete. Go back to the product and start checkout again.".into(),
        ));
    }
    let attempt = count_code_attempt(&form.promotion, &shopper, client, &throttle).await?;
    let product_id = product_id.into_inner();
    let context = Context::new(chrome, shopper, &session, &store, &clock)?;
    let promotion = match form.promotion.parse() {
        Ok(promotion) => promotion,
        Err(Refusal::Input(e)) => return Err(e),
        Err(Refusal::Shown(message, status)) => {
            return context
                .page(
                    product_id,
                    &form.promotion,
                    Some(form.idempotency_key),
                    Some((message, status)),
                )
                .await;
        }
    };
    let shown_price = match form
        .price_cents
        .as_deref()
        .map(str::trim)
        .filter(|typed| !typed.is_empty())
    {
        None => None,
        Some(typed) => Some(
            typed
                .parse::<i64>()
                .ok()
                .filter(|cents| *cents > 0)
                .map(Money::from_cents)
                .ok_or_else(|| {
                    AppError::BadRequest(
                        "This order form is incomplete. Go back to the product and start checkout again."
                            .into(),
                    )
                })?,
        ),
    };
    let (store, user, now, key) = (
        context.store.clone(),
        context.shopper.user_id,
        context.clock.now(),
        form.idempotency_key.clone(),
    );
    let outcome = blocking(move || {
        Ok::<_, AppError>(store.place_order_at(user, product_id, shown_price, &promotion, &key, now))
    })
    .await?;
    if let Some(attempt) = attempt
        && !matches!(outcome, Err(CheckoutError::Refused(_)))
    {
        throttle.succeeded(attempt).await?;
    }
    match outcome {
        Ok(placed) => {
            if placed.created {
                tracing::info!(user_id = %user, order_id = placed.order_id, "order placed");
                metrics.order_placed();
            }
            Ok(see_other(&format!("/orders/{}", placed.order_id)))
        }
        Err(CheckoutError::NoPaymentMethod(_)) => {
            // The summary (with the promotion still applied) explains what is due
            // and links to the payment page.
            tracing::info!(user_id = %user, "order refused: no payment method for the remainder");
            let mut response = context
                .page(product_id, &form.promotion, Some(form.idempotency_key), None)
                .await?;
            response.head_mut().status = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(CheckoutError::KeyUsedForAnotherOrder) => {
            // The summary of what was asked for now, with a fresh form: the old
            // one's key is spent.
            tracing::info!(user_id = %user, "order refused: its form was used for another order");
            let reason = CheckoutError::KeyUsedForAnotherOrder.to_string();
            context
                .page(
                    product_id,
                    &form.promotion,
                    None,
                    Some((reason, StatusCode::CONFLICT)),
                )
                .await
        }
        Err(error) => match Refusal::from(error) {
            Refusal::Input(e) => Err(e),
            Refusal::Shown(message, status) => {
                tracing::info!(user_id = %user, reason = %message, "order refused");
                context
                    .page(
                        product_id,
                        &form.promotion,
                        Some(form.idempotency_key),
                        Some((message, status)),
                    )
                    .await
            }
        },
    }
}
