//! Orders: previewing and placing them (credit first, then the card), receipts,
//! history and refunds.

use std::fmt;

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::catalog::{Product, select_product};
use super::codes::{RedeemError, check_redeemable, redeem_in};
use super::credits::{credit_from_row, credit_kind, insert_credit_for_order, select_credits, spend_credit};
use super::discounts::{select_discount, use_discount};
use super::gift_cards::{GIFT_CARD_FORMAT, void_for_refund};
use super::payment::select_default_card;
use super::sql::{Connection, Row, page_limit, sql, unix};
use super::{Page, Store, StoreError, StoreFailure, outbox};
use crate::domain::{
    Actor, AdjustmentReason, Allocation, CardSummary, Categories, CodeRefusal, Credit, CreditId, CreditKind,
    CreditStatus, LastDay, Money, PromoCode, UserId, format_date,
};
use crate::mail::messages::{self, Line, OrderFacts, RefundEnded, RefundFacts};
use crate::store::rules::orders::{
    AppliedPromotion, KeyedOrder, PreviewedPromotion, file_ledger_event, order_terms, overflow_credit,
    preview_plan, refund_credit_description, refund_slices, replacement_credit, restored_discount,
    revoked_share_credit, usable_saved_discount,
};

/// A receipt's columns, for a `WHERE` to follow.
macro_rules! receipt_query {
    () => {
        "SELECT o.id, o.product_id, p.title, p.format, o.price_cents, o.discount_cents,
                o.promotional_credit_cents, o.gift_card_cents, o.card_cents, o.card_label, o.promotion,
                o.placed_at, o.refunded_at, o.code_note, o.refunded_cents
         FROM orders o LEFT JOIN products p ON p.id = o.product_id"
    };
}

/// The one promotion an order may use (SPEC §2: at most one per order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Promotion {
    None,
    /// A code typed at checkout: a discount code applies to this order; a credit or
    /// gift card code is redeemed into the account first.
    Code(PromoCode),
    /// One of the account's saved discounts.
    SavedDiscount(i64),
}

/// What placing an order would do, or did.
#[derive(Debug, Clone)]
pub struct OrderPlan {
    pub product: Product,
    pub allocation: Allocation,
    /// Each credit the order would draw on, in the order they pay.
    pub drawn: Vec<DrawnCredit>,
    /// The code or discount that changes this order, in words.
    pub promotion: Option<String>,
    /// A valid code that does not change this order: what it adds, and why it does
    /// not pay here.
    pub code_note: Option<String>,
    pub card: Option<CardSummary>,
}

/// One credit an order draws on, as a breakdown line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawnCredit {
    pub gift_card: bool,
    pub description: String,
    /// The last day the credit could be spent; `None` when it never expires.
    pub last_day: Option<LastDay>,
    pub amount: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub order_id: i64,
    /// `false` when this submission had already placed the order (a double submit).
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("that product is not in the catalog")]
    UnknownProduct,
    /// Hidden by staff (it, or its category): not for sale now.
    #[error("that product is not for sale now")]
    NotForSale,
    #[error("{0}")]
    Refused(#[from] CodeRefusal),
    #[error("that discount is not in your account")]
    UnknownDiscount,
    #[error("that discount has already been used or has expired")]
    DiscountUnavailable,
    #[error("add a default payment method to pay the remaining {0}")]
    NoPaymentMethod(Money),
    /// The idempotency key already placed an order for something else.
    #[error(
        "this order form was already used for a different order, so nothing was ordered \
         now. Check this order and place it again if it is what you want"
    )]
    KeyUsedForAnotherOrder,
    /// Staff changed the price after the shopper's checkout page showed it.
    #[error(
        "the price changed from {shown} to {now} while you were checking out, so nothing was \
         ordered. Check the new total below and place the order again if you still want it"
    )]
    PriceChanged { shown: Money, now: Money },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RedeemError> for CheckoutError {
    fn from(error: RedeemError) -> Self {
        match error {
            RedeemError::Refused(refusal) => CheckoutError::Refused(refusal),
            RedeemError::Store(store) => CheckoutError::Store(store),
        }
    }
}

impl StoreFailure for CheckoutError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CheckoutError::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// A placed order as its receipt shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub id: i64,
    /// `None` for a gift card bought in the store.
    pub product_id: Option<i64>,
    pub product_title: String,
    pub product_format: String,
    pub price: Money,
    pub discount: Money,
    pub promotional_credit: Money,
    pub gift_card: Money,
    pub card: Money,
    pub card_label: Option<String>,
    pub promotion: Option<String>,
    /// A code that was redeemed but did not change the order, and why.
    pub code_note: Option<String>,
    pub placed_at: OffsetDateTime,
    /// When the order was refunded in full (`None` while any of it is left).
    pub refunded_at: Option<OffsetDateTime>,
    /// How much of what was paid its refunds have covered so far (partial refunds
    /// included; shares withheld from revoked credits count as covered).
    pub refunded: Money,
    /// Of that, what was withheld: shares of credits revoked since (filled in for
    /// a single receipt only).
    pub withheld: Money,
    /// Each credit the order drew on (filled in for a single receipt only).
    pub drawn: Vec<DrawnCredit>,
    /// Where a refunded order's money went (filled in for a single receipt only).
    pub refunded_to: Vec<RefundedTo>,
}

impl Receipt {
    /// What was paid for the order (credits and card; a discount is not money paid).
    pub fn paid(&self) -> Money {
        self.promotional_credit + self.gift_card + self.card
    }

    /// Refunded in part: some of it refunded, some left.
    pub fn partly_refunded(&self) -> bool {
        self.refunded_at.is_none() && !self.refunded.is_zero()
    }
}

/// One place a refunded order's money went back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundedTo {
    /// Back into the credit it came from.
    Credit {
        description: String,
        last_day: Option<LastDay>,
        amount: Money,
    },
    /// A new credit, because the one it came from had expired.
    NewCredit {
        last_day: Option<LastDay>,
        amount: Money,
    },
    /// Back to the card it was charged to.
    Card { label: String, amount: Money },
}

/// How long a refund's new credit lasts, when the credit the order spent has
/// expired since (SPEC §6): through the 30th day after the refund.
pub const REFUND_CREDIT_DAYS: i64 = 30;

/// What a refund is asked to do: how much, why, and where a share paid from a
/// credit revoked since goes (by default nowhere: it is withheld).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// `None`: all that is left of the order.
    pub amount: Option<Money>,
    pub reason: AdjustmentReason,
    pub revoked_share_to: Option<RevokedShareTo>,
}

impl RefundRequest {
    /// All that is left of the order, withholding revoked shares.
    pub fn whole(reason: AdjustmentReason) -> RefundRequest {
        RefundRequest {
            amount: None,
            reason,
            revoked_share_to: None,
        }
    }

    /// `amount` of the order, withholding revoked shares.
    pub fn part(amount: Money, reason: AdjustmentReason) -> RefundRequest {
        RefundRequest {
            amount: Some(amount),
            ..RefundRequest::whole(reason)
        }
    }

    pub fn revoked_share_to(self, to: RevokedShareTo) -> RefundRequest {
        RefundRequest {
            revoked_share_to: Some(to),
            ..self
        }
    }
}

/// Where a manager sends a share of a refund that was paid from a credit revoked
/// since (never back onto that credit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokedShareTo {
    /// A new credit of the same kind and categories, valid [`REFUND_CREDIT_DAYS`] days.
    NewCredit,
    /// Added to the card refund (only for an order paid in part by card).
    Card,
}

impl RevokedShareTo {
    /// `credit` or `card`, as a command or a form names it.
    pub fn parse(input: &str) -> Option<RevokedShareTo> {
        match input.trim() {
            "credit" | "new-credit" => Some(RevokedShareTo::NewCredit),
            "card" => Some(RevokedShareTo::Card),
            _ => None,
        }
    }
}

/// What one refund did, and where the money went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunded {
    pub order_id: i64,
    /// The refund's number among all refunds.
    pub refund_id: i64,
    /// How much of the order this refund covered (withheld shares included).
    pub amount: Money,
    /// What is left of the order to refund afterwards.
    pub left: Money,
    /// Returned to the credits the order spent, which are still valid.
    pub credit_returned: Money,
    /// Each credit money went back into, and how much.
    pub returned_to: Vec<ReturnedShare>,
    /// The shares granted again as new credits (their credit has expired since,
    /// has no room left for them, or was revoked and the manager chose a new credit).
    pub new_credits: Vec<RefundCredit>,
    /// The shares of credits an operator has revoked since: not returned (a
    /// revoked credit stays revoked).
    pub withheld: Vec<WithheldShare>,
    /// Refunded to the card (its own part, and revoked shares sent there).
    pub card_refunded: Money,
    /// The card refunded, when there was a card part.
    pub card_label: Option<String>,
    /// The one-time discount the order used (its description), usable again once
    /// the order is refunded in full (`None` too when it has expired since).
    pub discount_restored: Option<String>,
}

impl Refunded {
    /// Refunded in full with this refund.
    pub fn fully_refunded(&self) -> bool {
        self.left.is_zero()
    }

    pub fn withheld_total(&self) -> Money {
        self.withheld.iter().map(|share| share.amount).sum()
    }

    pub fn new_credits_total(&self) -> Money {
        self.new_credits.iter().map(|credit| credit.amount).sum()
    }
}

/// "Refunded $5.00 of order 12: $2.00 to Visa ending in 4242, $3.00 back to
/// credit 7; $5.00 left to refund": for a staff member.
impl fmt::Display for Refunded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Refunded {} of order {}", self.amount, self.order_id)?;
        let mut parts = Vec::new();
        if !self.card_refunded.is_zero() {
            let card = self.card_label.as_deref().unwrap_or("the card");
            parts.push(format!("{} to {card}", self.card_refunded));
        }
        for share in &self.returned_to {
            parts.push(format!("{} back to credit {}", share.amount, share.credit.0));
        }
        for credit in &self.new_credits {
            parts.push(format!("{} as new credit {}", credit.amount, credit.id.0));
        }
        for share in &self.withheld {
            parts.push(format!(
                "{} withheld (paid from credit {}, revoked since)",
                share.amount, share.credit.0
            ));
        }
        if !parts.is_empty() {
            write!(f, ": {}", parts.join(", "))?;
        }
        if self.fully_refunded() {
            write!(f, "; the order is now refunded in full")?;
        } else {
            write!(f, "; {} left to refund", self.left)?;
        }
        if let Some(discount) = &self.discount_restored {
            write!(f, "; the discount \"{discount}\" is usable again")?;
        }
        Ok(())
    }
}

/// An amount a refund put back into the credit it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnedShare {
    pub credit: CreditId,
    pub amount: Money,
}

/// A share of an order a refund did not return, and the revoked credit it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithheldShare {
    pub credit: CreditId,
    /// The revoked credit's kind and categories (what a grant giving it back
    /// would be).
    pub kind: CreditKind,
    pub amount: Money,
}

/// A credit a refund granted in place of a share it could not return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundCredit {
    pub id: CreditId,
    pub kind: CreditKind,
    pub amount: Money,
    pub expires_at: Option<OffsetDateTime>,
    pub why: NewCreditWhy,
}

/// Why a refund granted a new credit instead of returning a share to its credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewCreditWhy {
    /// The credit has expired since the order.
    Expired,
    /// An operator raised the credit since, and the share no longer fits in what it
    /// was worth.
    NoRoom,
    /// An operator revoked the credit since, and the manager asked for a new credit.
    Revoked,
}

/// Why a refund was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("there is no order {0}")]
    NotFound(i64),
    #[error("order {0} has already been refunded in full")]
    AlreadyRefunded(i64),
    #[error("a refund must be more than $0.00")]
    Zero,
    #[error("only {left} of order {order} is left to refund, less than the {asked} asked for")]
    MoreThanLeft { order: i64, asked: Money, left: Money },
    #[error(
        "order {0} was not paid by card, so a revoked credit's share cannot go to the card: \
         choose a new credit or leave it withheld"
    )]
    NoCardToRefund(i64),
    /// A gift card bought in the store is refunded whole, voiding its code.
    #[error("order {0} is a gift card: it is refunded whole or not at all")]
    GiftCardInPart(i64),
    #[error(
        "the gift card of order {order} was redeemed by {by}, so it cannot be refunded: its value \
         is that account's gift card credit now (see `storecredit credit list --email {by}`)"
    )]
    GiftCardRedeemed { order: i64, by: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for RefundError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            RefundError::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// One refund of an order, as the order's page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub id: i64,
    /// How much of the order it covered (withheld shares included).
    pub amount: Money,
    /// What went to the card.
    pub card: Money,
    pub card_label: Option<String>,
    /// What it withheld (shares of credits revoked since).
    pub withheld: Money,
    pub reason: String,
    /// Who refunded: `staff:<email>` or `cli:<user>`.
    pub actor: String,
    pub at: OffsetDateTime,
}

/// An order as an operator lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub id: i64,
    pub placed_at: OffsetDateTime,
    pub user: UserId,
    pub email: String,
    pub name: String,
    pub product_title: String,
    pub price: Money,
    pub discount: Money,
    pub promotional_credit: Money,
    pub gift_card: Money,
    pub card: Money,
    /// When it was refunded in full.
    pub refunded_at: Option<OffsetDateTime>,
    /// How much of it has been refunded so far.
    pub refunded: Money,
}

/// Which orders a staff member's list shows; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Placed at or after this instant.
    pub since: Option<OffsetDateTime>,
    /// Placed before this instant.
    pub until: Option<OffsetDateTime>,
    /// Text the customer's e-mail or name contains, in any case.
    pub customer: Option<String>,
}

/// How many orders a filtered list reads at a time while it gathers a page.
const ORDER_SEARCH_CHUNK: usize = 500;

/// An order summary's columns, for a `WHERE` to follow.
macro_rules! order_summary_query {
    () => {
        "SELECT o.id, o.placed_at, u.id, u.email, u.name, p.title, o.price_cents, o.discount_cents,
                o.promotional_credit_cents, o.gift_card_cents, o.card_cents, o.refunded_at,
                o.refunded_cents
         FROM orders o JOIN users u ON u.id = o.user_id LEFT JOIN products p ON p.id = o.product_id"
    };
}

fn order_summary_from_row(row: &Row<'_>) -> Result<OrderSummary, StoreError> {
    Ok(OrderSummary {
        id: row.get(0)?,
        placed_at: row.instant(1)?,
        user: UserId(row.get(2)?),
        email: row.get(3)?,
        name: row.get(4)?,
        product_title: order_title(row.get(5)?, row.get(6)?),
        price: Money::from_cents(row.get(6)?),
        discount: Money::from_cents(row.get(7)?),
        promotional_credit: Money::from_cents(row.get(8)?),
        gift_card: Money::from_cents(row.get(9)?),
        card: Money::from_cents(row.get(10)?),
        refunded_at: row.optional_instant(11)?,
        refunded: Money::from_cents(row.get(12)?),
    })
}

/// Everything about one order, for an operator: the receipt, whose it is, which
/// credits paid how much, and where a refund sent the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetails {
    pub receipt: Receipt,
    pub user: UserId,
    pub email: String,
    /// The credits the order drew on, oldest credit first.
    pub draws: Vec<CreditMovement>,
    /// After a refund: what went back to those credits.
    pub returned: Vec<CreditMovement>,
    /// After a refund: the new credits granted for shares of credits that had
    /// expired since.
    pub new_credits: Vec<CreditMovement>,
    /// After a refund: what went to the card in all, and the card.
    pub card_refund: Option<(Money, String)>,
    /// Each refund, oldest first, with who made it and why.
    pub refunds: Vec<RefundRecord>,
}

/// An amount moved to or from one credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditMovement {
    pub credit: CreditId,
    pub kind: CreditKind,
    pub description: String,
    pub amount: Money,
}

/// The product to order, read in the order's transaction: one staff have hidden
/// (or whose category they have hidden) is not for sale.
fn load_product(connection: &mut dyn Connection, product_id: i64) -> Result<Product, CheckoutError> {
    let product = select_product(connection, product_id)?.ok_or(CheckoutError::UnknownProduct)?;
    if !product.on_sale() {
        return Err(CheckoutError::NotForSale);
    }
    Ok(product)
}

impl Store {
    /// The exact breakdown placing this order would produce now, changing nothing
    /// (a typed code is checked, not redeemed). Read in one snapshot, so the
    /// credits and the promotion agree.
    pub fn preview_order(
        &self,
        user: UserId,
        product_id: i64,
        promotion: &Promotion,
        now: OffsetDateTime,
    ) -> Result<OrderPlan, CheckoutError> {
        let categories = self.categories();
        self.read_consistent(|connection| {
            Ok(preview_in(
                connection,
                user,
                product_id,
                promotion,
                &categories,
                now,
            ))
        })?
    }

    /// Places an order in ONE transaction, in the order of SPEC §2: the promotion,
    /// promotional credit, gift-card credit, then the default card. Any refusal
    /// (a bad code, no card for a remainder) rolls everything back, so the code is
    /// not consumed. The same idempotency key twice gives the first order back if
    /// it asks for the same order, and is refused if it asks for anything else.
    /// Two submissions of one key at once: SQLite's writer takes them in turn; on
    /// PostgreSQL the one that loses is a serialization failure (it read the key
    /// absent, as the winner did), run again, and then finds the winner's order.
    pub fn place_order(
        &self,
        user: UserId,
        product_id: i64,
        promotion: &Promotion,
        idempotency_key: &str,
        now: OffsetDateTime,
    ) -> Result<Placed, CheckoutError> {
        self.place_order_at(user, product_id, None, promotion, idempotency_key, now)
    }

    /// [`Store::place_order`] at the price the shopper was shown: refused with
    /// [`CheckoutError::PriceChanged`], changing nothing, when the product's price
    /// is no longer `shown_price` (staff changed it meanwhile). `None` takes the
    /// price as it is.
    pub fn place_order_at(
        &self,
        user: UserId,
        product_id: i64,
        shown_price: Option<Money>,
        promotion: &Promotion,
        idempotency_key: &str,
        now: OffsetDateTime,
    ) -> Result<Placed, CheckoutError> {
        let request = promotion.request(product_id);
        let categories = self.categories();
        self.write(|tx| {
            if let Some(earlier) = order_with_key(tx, user, idempotency_key)? {
                if !earlier.asked_for(Some(product_id), &request) {
                    return Err(CheckoutError::KeyUsedForAnotherOrder);
                }
                return Ok(Placed {
                    order_id: earlier.id,
                    created: false,
                });
            }
            let product = load_product(tx, product_id)?;
            // The code is checked before the price: a wrong code is refused (and
            // counted as a guess) whatever the price.
            let applied = apply_promotion(tx, user, &product, promotion, &categories, now)?;
            if let Some(shown) = shown_price
                && shown != product.price
            {
                return Err(CheckoutError::PriceChanged {
                    shown,
                    now: product.price,
                });
            }
            let credits = select_credits(tx, user)?;
            let terms = order_terms(&product, &applied, &credits, &categories, now, || {
                select_default_card(tx, user)
            })?;
            let allocation = &terms.allocation;
            // The key was free when read above, but the same form submitted at
            // once may be placing its order beside this one. On SQLite's single
            // writer it cannot have been placed since. On PostgreSQL a bare INSERT
            // would meet the other's committed row as a unique violation (23505),
            // which is not retried: PostgreSQL reports it as a serialization
            // failure only when the read above happened to go through the key's
            // own index, and the planner may read through `orders_by_user_newest`
            // instead (as it does on a new store since `refunded_cents` widened
            // the row). `ON CONFLICT … DO NOTHING` on the key is a serialization
            // failure in a SERIALIZABLE transaction whenever the row it meets is
            // one its snapshot does not see, whatever the plan: the transaction
            // is run again, and then answers with the order the other one placed.
            let order_id: Option<i64> = tx.query_opt(
                sql!(
                    "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, discount_cents,
                                         promotional_credit_cents, gift_card_cents, card_cents, card_label,
                                         promotion, placed_at, request, code_note)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                     ON CONFLICT (user_id, idempotency_key) DO NOTHING
                     RETURNING id"
                ),
                &[
                    &user.0,
                    &product.id,
                    &idempotency_key,
                    &allocation.price.cents(),
                    &allocation.discount.cents(),
                    &allocation.promotional_credit.cents(),
                    &allocation.gift_card.cents(),
                    &allocation.card.cents(),
                    &terms.card_label,
                    &terms.promotion,
                    &unix(now),
                    &request,
                    &terms.code_note,
                ],
                |row| row.get(0),
            )?;
            // Nothing inserted and no error: a row this transaction's read did not
            // see holds the key (neither engine lets that happen, see above). Run
            // it again rather than commit what it wrote so far (a redeemed code)
            // without its order.
            let Some(order_id) = order_id else {
                return Err(StoreError::WrittenMeanwhile("an order with this idempotency key").into());
            };
            for draw in &allocation.draws {
                spend_credit(tx, draw.credit, draw.amount, order_id, now)?;
            }
            if let Some(discount_id) = applied.discount_id
                && !use_discount(tx, discount_id, order_id)?
            {
                return Err(CheckoutError::DiscountUnavailable);
            }
            let receipt = OrderFacts {
                order_id,
                title: product.title.clone(),
                format: product.format.clone(),
                placed_on: format_date(now),
                price: allocation.price,
                discount: allocation.discount,
                promotion: terms.promotion.clone(),
                promotional_credit: allocation.promotional_credit,
                gift_card: allocation.gift_card,
                card: allocation.card,
                card_label: terms.card_label.clone(),
                in_library: true,
            };
            let (recipient, origin) = (outbox::recipient_in(tx, user)?, outbox::site_origin_in(tx)?);
            outbox::enqueue(tx, &messages::receipt(&recipient, &origin, &receipt)?, now)?;
            Ok(Placed {
                order_id,
                created: true,
            })
        })
    }

    /// One of `user`'s orders; `None` for an unknown id or someone else's order.
    /// Read in one snapshot, so the receipt and its ledger lines agree.
    pub fn receipt(&self, user: UserId, order_id: i64) -> Result<Option<Receipt>, StoreError> {
        self.read_consistent(|connection| {
            let Some(mut receipt) = connection.query_opt(
                sql!(concat!(receipt_query!(), " WHERE o.id = $1 AND o.user_id = $2")),
                &[&order_id, &user.0],
                receipt_from_row,
            )?
            else {
                return Ok(None);
            };
            connection.for_each_row(
                sql!(
                    "SELECT e.kind, c.kind, c.description, c.expires_at, abs(e.amount_cents)
                     FROM credit_events e JOIN credits c ON c.id = e.credit_id
                     WHERE e.order_id = $1 ORDER BY e.id"
                ),
                &[&order_id],
                &mut |row| {
                    let gift_card = row.text(1)? == "gift_card";
                    let last_day = row.optional_instant(3)?.map(LastDay::of);
                    let amount = Money::from_cents(row.get(4)?);
                    file_ledger_event(
                        &mut receipt,
                        row.text(0)?,
                        gift_card,
                        row.get(2)?,
                        last_day,
                        amount,
                    );
                    Ok(())
                },
            )?;
            let card_refunds = connection.query(
                sql!(
                    "SELECT card_label, card_cents FROM refunds
                     WHERE order_id = $1 AND card_cents > 0 ORDER BY id"
                ),
                &[&order_id],
                |row| {
                    Ok(RefundedTo::Card {
                        label: row.get(0)?,
                        amount: Money::from_cents(row.get(1)?),
                    })
                },
            )?;
            receipt.refunded_to.extend(card_refunds);
            receipt.withheld = Money::from_cents(connection.query_value(
                sql!(
                    "SELECT CAST(COALESCE(SUM(withheld_cents), 0) AS BIGINT) FROM refunds WHERE order_id = $1"
                ),
                &[&order_id],
            )?);
            Ok(Some(receipt))
        })
    }

    /// An account's orders, newest first.
    pub fn orders_of(&self, user: UserId) -> Result<Vec<Receipt>, StoreError> {
        Ok(self.orders_page(user, None, usize::MAX)?.entries)
    }

    /// Up to `size` of an account's orders, newest first, older than the order
    /// `before` (from the newest without it): one index range read.
    pub fn orders_page(
        &self,
        user: UserId,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<Receipt>, StoreError> {
        self.read(|connection| {
            let rows = connection.query(
                sql!(concat!(
                    receipt_query!(),
                    " WHERE o.user_id = $1 AND o.id < $2 ORDER BY o.id DESC LIMIT $3"
                )),
                &[&user.0, &before.unwrap_or(i64::MAX), &page_limit(size)],
                receipt_from_row,
            )?;
            Ok(Page::of(rows, size, |order| order.id))
        })
    }

    /// Refunds an order in full or in part, in one transaction (SPEC §8). The
    /// money goes back the way it came, in the reverse order of payment: the card
    /// first, then gift cards, then promotional credit (the credit drawn last first);
    /// several refunds follow each other up to what was paid. A share paid by a
    /// credit that is still valid goes back into it (a `refund` ledger event), and
    /// what no longer fits there (an operator raised it since) comes back as a new
    /// credit beside it; a share of a credit that has expired since comes back as a
    /// new credit of the same kind and categories, valid for [`REFUND_CREDIT_DAYS`]
    /// days; a share of a credit revoked since is never put back onto it: it is
    /// withheld unless the request sends it to a new credit or the card. The
    /// order's one-time discount is usable again once it is refunded in full.
    pub fn refund_order(
        &self,
        actor: &Actor,
        order_id: i64,
        request: &RefundRequest,
        now: OffsetDateTime,
    ) -> Result<Refunded, RefundError> {
        self.write(|tx| refund_in(tx, actor, order_id, request, now))
    }

    /// Orders newest first: every account's, or one account's.
    pub fn list_orders(&self, user: Option<UserId>) -> Result<Vec<OrderSummary>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(concat!(
                    order_summary_query!(),
                    " WHERE CAST($1 AS BIGINT) IS NULL OR o.user_id = $1
                     ORDER BY o.placed_at DESC, o.id DESC"
                )),
                &[&user.map(|user| user.0)],
                order_summary_from_row,
            )
        })
    }

    /// A page of every account's orders placed in `filter`'s time range whose
    /// customer's e-mail or name contains its text (any case), newest first: up
    /// to `size` orders older than the order `before`. The range is read through
    /// the index on the order id, a chunk at a time and only as far as the page
    /// needs; the text is matched here, so both engines fold case alike.
    pub fn orders_list_page(
        &self,
        filter: &OrderFilter,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let wanted = filter
            .customer
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_lowercase);
        self.read(|connection| {
            let mut found = Vec::new();
            let mut cursor = before.unwrap_or(i64::MAX);
            while found.len() <= size {
                let chunk = connection.query(
                    sql!(concat!(
                        order_summary_query!(),
                        " WHERE o.id < $1 AND o.placed_at >= $2 AND o.placed_at < $3
                         ORDER BY o.id DESC LIMIT $4"
                    )),
                    &[
                        &cursor,
                        &filter.since.map_or(i64::MIN, unix),
                        &filter.until.map_or(i64::MAX, unix),
                        &page_limit(ORDER_SEARCH_CHUNK - 1),
                    ],
                    order_summary_from_row,
                )?;
                let exhausted = chunk.len() < ORDER_SEARCH_CHUNK;
                for order in chunk {
                    cursor = order.id;
                    let wanted_here = wanted.as_deref().is_none_or(|wanted| {
                        order.email.to_lowercase().contains(wanted)
                            || order.name.to_lowercase().contains(wanted)
                    });
                    if wanted_here {
                        found.push(order);
                        if found.len() > size {
                            break;
                        }
                    }
                }
                if exhausted {
                    break;
                }
            }
            Ok(Page::of(found, size, |order| order.id))
        })
    }

    /// One order with its credits and refund, whoever's it is; `None` for an
    /// unknown id. Read in one snapshot, so the parts agree.
    pub fn order_details(&self, order_id: i64) -> Result<Option<OrderDetails>, StoreError> {
        self.read_consistent(|connection| {
            let Some(receipt) = connection.query_opt(
                sql!(concat!(receipt_query!(), " WHERE o.id = $1")),
                &[&order_id],
                receipt_from_row,
            )?
            else {
                return Ok(None);
            };
            let (user, email): (i64, String) = connection.query_one(
                sql!("SELECT u.id, u.email FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1"),
                &[&order_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let mut movements = |kind: &str| {
                connection.query(
                    sql!(
                        "SELECT c.id, c.kind, c.category_mask, c.description, CAST(abs(SUM(e.amount_cents)) AS BIGINT)
                         FROM credit_events e JOIN credits c ON c.id = e.credit_id
                         WHERE e.order_id = $1 AND e.kind = $2 GROUP BY c.id ORDER BY c.id"
                    ),
                    &[&order_id, &kind],
                    credit_movement_from_row,
                )
            };
            let (draws, returned) = (movements("spend")?, movements("refund")?);
            // `refund_order` names the new credits it grants after their order.
            let new_credits = connection.query(
                sql!(
                    "SELECT c.id, c.kind, c.category_mask, c.description, c.original_cents FROM credits c
                     WHERE c.user_id = $1 AND c.source = 'refund' AND c.description = $2 ORDER BY c.id"
                ),
                &[&user, &refund_credit_description(order_id)],
                credit_movement_from_row,
            )?;
            let refunds = connection.query(
                sql!(
                    "SELECT id, amount_cents, card_cents, card_label, withheld_cents, reason, actor, refunded_at
                     FROM refunds WHERE order_id = $1 ORDER BY id"
                ),
                &[&order_id],
                |row| {
                    Ok(RefundRecord {
                        id: row.get(0)?,
                        amount: Money::from_cents(row.get(1)?),
                        card: Money::from_cents(row.get(2)?),
                        card_label: row.get(3)?,
                        withheld: Money::from_cents(row.get(4)?),
                        reason: row.get(5)?,
                        actor: row.get(6)?,
                        at: row.instant(7)?,
                    })
                },
            )?;
            let card_total: Money = refunds.iter().map(|refund| refund.card).sum();
            let card_refund = refunds
                .iter()
                .find_map(|refund| refund.card_label.clone())
                .map(|label| (card_total, label));
            Ok(Some(OrderDetails {
                receipt,
                user: UserId(user),
                email,
                draws,
                returned,
                new_credits,
                card_refund,
                refunds,
            }))
        })
    }
}

/// The order a refund reads before it writes.
struct RefundableOrder {
    user: UserId,
    paid: i64,
    refunded: i64,
    refunded_in_full: bool,
    card_cents: i64,
    card_label: Option<String>,
}

/// A share of the order paid by one credit, and where that credit stands now.
struct CreditShare {
    credit: Credit,
    cents: i64,
    revoked: bool,
}

/// [`Store::refund_order`] inside its transaction.
fn refund_in(
    tx: &mut dyn Connection,
    actor: &Actor,
    order_id: i64,
    request: &RefundRequest,
    now: OffsetDateTime,
) -> Result<Refunded, RefundError> {
    let order = tx
        .query_opt(
            sql!(
                "SELECT user_id, promotional_credit_cents + gift_card_cents + card_cents, refunded_cents,
                        refunded_at, card_cents, card_label
                 FROM orders WHERE id = $1"
            ),
            &[&order_id],
            |row| {
                Ok(RefundableOrder {
                    user: UserId(row.get(0)?),
                    paid: row.get(1)?,
                    refunded: row.get(2)?,
                    refunded_in_full: row.get::<Option<i64>>(3)?.is_some(),
                    card_cents: row.get(4)?,
                    card_label: row.get(5)?,
                })
            },
        )?
        .ok_or(RefundError::NotFound(order_id))?;
    let left = order.paid - order.refunded;
    if order.refunded_in_full {
        return Err(RefundError::AlreadyRefunded(order_id));
    }
    let cents = match request.amount {
        Some(amount) if amount.is_zero() => return Err(RefundError::Zero),
        Some(amount) if amount.cents() > left => {
            return Err(RefundError::MoreThanLeft {
                order: order_id,
                asked: amount,
                left: Money::from_cents(left),
            });
        }
        Some(amount) => amount.cents(),
        // An order paid wholly by a discount has nothing to give back, but a
        // refund in full still releases the discount.
        None => left,
    };
    void_for_refund(tx, order_id, cents == left, now)?;
    // The order's own row is written first, moved by one conditional UPDATE: of
    // two refunds at once, SQLite's writer takes them in turn and PostgreSQL runs
    // the second again (it conflicts on this row), which then reads what the
    // first left; the condition and the table's CHECK keep the sum within what
    // was paid whatever happens.
    let after: Option<i64> = tx.query_opt(
        sql!(
            "UPDATE orders SET refunded_cents = refunded_cents + $2,
                    refunded_at = CASE WHEN refunded_cents + $2 = promotional_credit_cents + gift_card_cents + card_cents
                                       THEN $3 ELSE refunded_at END
             WHERE id = $1 AND refunded_at IS NULL
               AND refunded_cents + $2 <= promotional_credit_cents + gift_card_cents + card_cents
             RETURNING refunded_cents"
        ),
        &[&order_id, &cents, &unix(now)],
        |row| row.get(0),
    )?;
    let Some(after) = after else {
        return Err(RefundError::MoreThanLeft {
            order: order_id,
            asked: Money::from_cents(cents),
            left: Money::from_cents(left),
        });
    };
    let before = after - cents;
    let shares = credit_shares(tx, order_id, now)?;
    let mut paid = vec![order.card_cents];
    paid.extend(shares.iter().map(|share| share.cents));
    let slices = refund_slices(&paid, before, after);
    let mut card_cents = slices[0];
    let mut returned_to = Vec::new();
    let mut new_credits = Vec::new();
    let mut withheld = Vec::new();
    for (share, &cents) in shares.iter().zip(&slices[1..]).filter(|(_, cents)| **cents > 0) {
        let credit = &share.credit;
        if share.revoked {
            match request.revoked_share_to {
                None => withheld.push(WithheldShare {
                    credit: credit.id,
                    kind: credit.kind,
                    amount: Money::from_cents(cents),
                }),
                Some(RevokedShareTo::Card) => {
                    if order.card_label.is_none() {
                        return Err(RefundError::NoCardToRefund(order_id));
                    }
                    card_cents += cents;
                }
                Some(RevokedShareTo::NewCredit) => {
                    let replacement = revoked_share_credit(credit, cents, order_id, now);
                    let id = insert_credit_for_order(
                        tx,
                        order.user,
                        &replacement.credit,
                        Some(order_id),
                        Some(actor),
                        now,
                    )?;
                    new_credits.push(replacement.granted(id));
                }
            }
            continue;
        }
        if let Some(replacement) = replacement_credit(credit, cents, order_id, now) {
            let id = insert_credit_for_order(
                tx,
                order.user,
                &replacement.credit,
                Some(order_id),
                Some(actor),
                now,
            )?;
            new_credits.push(replacement.granted(id));
            continue;
        }
        // An operator may have raised the credit since: what no longer fits in
        // what it was worth comes back as a new credit beside it (the UPDATE's
        // condition only guards the CHECK: the room was read in this transaction).
        let room = credit.original.cents() - credit.remaining.cents();
        let back = cents.min(room).max(0);
        if back > 0 {
            let changed = tx.execute(
                sql!(
                    "UPDATE credits SET remaining_cents = remaining_cents + $2
                     WHERE id = $1 AND remaining_cents + $2 <= original_cents"
                ),
                &[&credit.id.0, &back],
            )?;
            if changed != 1 {
                return Err(StoreError::Corrupt(format!(
                    "credit {} has no room for {back} cents",
                    credit.id.0
                ))
                .into());
            }
            tx.execute(
                sql!(
                    "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, note, created_at, actor)
                     VALUES ($1, 'refund', $2, $3, 'Order refunded', $4, $5)"
                ),
                &[&credit.id.0, &back, &order_id, &unix(now), &actor.to_string()],
            )?;
            returned_to.push(ReturnedShare {
                credit: credit.id,
                amount: Money::from_cents(back),
            });
        }
        if cents > back {
            let overflow = overflow_credit(credit, cents - back, order_id);
            let id =
                insert_credit_for_order(tx, order.user, &overflow.credit, Some(order_id), Some(actor), now)?;
            new_credits.push(overflow.granted(id));
        }
    }
    let withheld_cents: i64 = withheld.iter().map(|share| share.amount.cents()).sum();
    let card_label = order.card_label.filter(|_| card_cents > 0);
    let refund_id: i64 = tx.query_value(
        sql!(
            "INSERT INTO refunds (order_id, amount_cents, card_cents, card_label, withheld_cents, reason, actor,
                                  refunded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
        ),
        &[
            &order_id,
            &cents,
            &card_cents,
            &card_label,
            &withheld_cents,
            &request.reason.as_str(),
            &actor.to_string(),
            &unix(now),
        ],
    )?;
    let in_full = after == order.paid;
    let discount_restored = if in_full {
        let released = tx.query_opt(
            sql!(
                "UPDATE discounts SET used_by_order_id = NULL WHERE used_by_order_id = $1
                 RETURNING description, expires_at"
            ),
            &[&order_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        restored_discount(released, now)
    } else {
        None
    };
    let refunded = Refunded {
        order_id,
        refund_id,
        amount: Money::from_cents(cents),
        left: Money::from_cents(order.paid - after),
        credit_returned: returned_to.iter().map(|share| share.amount).sum(),
        returned_to,
        new_credits,
        withheld,
        card_refunded: Money::from_cents(card_cents),
        card_label,
        discount_restored,
    };
    audit::record(
        tx,
        actor,
        &Change::new(AuditAction::OrderRefund, format!("order:{order_id}"))
            .customer(order.user)
            .before(format!(
                "{} of {} refunded",
                Money::from_cents(before),
                Money::from_cents(order.paid)
            ))
            .after(audit_after(&refunded, after, order.paid))
            .reason(request.reason.as_str()),
        now,
    )?;
    queue_refund_mail(tx, order.user, &refunded, now)?;
    Ok(refunded)
}

/// Queues the message telling the shopper of a refund and where its money went,
/// in the refund's transaction.
fn queue_refund_mail(
    tx: &mut dyn Connection,
    user: UserId,
    refunded: &Refunded,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let (title, paid, for_product): (String, i64, bool) = tx.query_one(
        sql!(
            "SELECT p.title, o.promotional_credit_cents + o.gift_card_cents + o.card_cents, o.price_cents,
                    o.product_id IS NOT NULL
             FROM orders o LEFT JOIN products p ON p.id = o.product_id WHERE o.id = $1"
        ),
        &[&refunded.order_id],
        |row| Ok((order_title(row.get(0)?, row.get(2)?), row.get(1)?, row.get(3)?)),
    )?;
    let mut went_to = Vec::new();
    if !refunded.card_refunded.is_zero() {
        let card = refunded.card_label.as_deref().unwrap_or("your card");
        went_to.push(Line::new(
            format!("Refunded to {card}"),
            refunded.card_refunded.to_string(),
        ));
    }
    for share in &refunded.returned_to {
        let (description, ends): (String, Option<i64>) = tx.query_one(
            sql!("SELECT description, expires_at FROM credits WHERE id = $1"),
            &[&share.credit.0],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let what = match ends.map(super::sql::instant).transpose()? {
            Some(ends) => format!(
                "Back on your credit \"{description}\", usable until {}",
                LastDay::of(ends)
            ),
            None => format!("Back on your credit \"{description}\""),
        };
        went_to.push(Line::new(what, share.amount.to_string()));
    }
    for credit in &refunded.new_credits {
        let what = match credit.expires_at {
            Some(ends) => format!("As a new store credit, usable until {}", LastDay::of(ends)),
            None => "As a new store credit".to_owned(),
        };
        went_to.push(Line::new(what, credit.amount.to_string()));
    }
    let facts = RefundFacts {
        order_id: refunded.order_id,
        title,
        amount: refunded.amount,
        went_to,
        left: refunded.left,
        paid: Money::from_cents(paid),
        withheld: refunded.withheld_total(),
        to_card: !refunded.card_refunded.is_zero(),
        ended: match (for_product, refunded.left.is_zero()) {
            (false, _) => Some(RefundEnded::GiftCard),
            (true, true) => Some(RefundEnded::LibraryItem),
            (true, false) => None,
        },
    };
    let (recipient, origin) = (outbox::recipient_in(tx, user)?, outbox::site_origin_in(tx)?);
    outbox::enqueue(tx, &messages::refund(&recipient, &origin, &facts)?, now)?;
    Ok(())
}

/// What the audit trail says a refund did: the amount, and where each part went.
fn audit_after(refunded: &Refunded, after: i64, paid: i64) -> String {
    let mut parts = vec![format!(
        "{} of {} refunded (this refund {})",
        Money::from_cents(after),
        Money::from_cents(paid),
        refunded.amount
    )];
    if !refunded.card_refunded.is_zero() {
        parts.push(format!("{} to the card", refunded.card_refunded));
    }
    for share in &refunded.returned_to {
        parts.push(format!("{} to credit {}", share.amount, share.credit.0));
    }
    for credit in &refunded.new_credits {
        parts.push(format!("{} as new credit {}", credit.amount, credit.id.0));
    }
    for share in &refunded.withheld {
        parts.push(format!(
            "{} withheld from revoked credit {}",
            share.amount, share.credit.0
        ));
    }
    if let Some(discount) = &refunded.discount_restored {
        parts.push(format!("discount \"{discount}\" usable again"));
    }
    parts.join("; ")
}

/// The shares of an order paid by credits, in the reverse order of payment: gift
/// cards, then promotional credits (SPEC §2 draws them the other way round), and
/// within a kind the credit drawn last first.
fn credit_shares(
    tx: &mut dyn Connection,
    order_id: i64,
    now: OffsetDateTime,
) -> Result<Vec<CreditShare>, StoreError> {
    let mut shares: Vec<(CreditShare, i64)> = tx.query(
        sql!(
            "SELECT c.id, c.kind, c.category_mask, c.original_cents, c.remaining_cents, c.expires_at,
                    c.created_at, CAST(-SUM(e.amount_cents) AS BIGINT),
                    (SELECT last.kind FROM credit_events last WHERE last.credit_id = c.id
                     ORDER BY last.id DESC LIMIT 1) = 'adjust',
                    CAST(MAX(e.id) AS BIGINT)
             FROM credit_events e JOIN credits c ON c.id = e.credit_id
             WHERE e.order_id = $1 AND e.kind = 'spend' GROUP BY c.id ORDER BY c.id"
        ),
        &[&order_id],
        |row| {
            let credit = credit_from_row(row)?;
            let emptied_by_operator = row.get::<Option<bool>>(8)?.unwrap_or(false);
            let revoked = CreditStatus::of(&credit, emptied_by_operator, now) == CreditStatus::Revoked;
            Ok((
                CreditShare {
                    credit,
                    cents: row.get(7)?,
                    revoked,
                },
                row.get(9)?,
            ))
        },
    )?;
    shares.sort_by_key(|(share, drawn)| {
        (
            !matches!(share.credit.kind, CreditKind::GiftCard),
            std::cmp::Reverse(*drawn),
        )
    });
    Ok(shares.into_iter().map(|(share, _)| share).collect())
}

/// [`Store::preview_order`] inside its snapshot.
fn preview_in(
    connection: &mut dyn Connection,
    user: UserId,
    product_id: i64,
    promotion: &Promotion,
    categories: &Categories,
    now: OffsetDateTime,
) -> Result<OrderPlan, CheckoutError> {
    let product = load_product(connection, product_id)?;
    let credits = select_credits(connection, user)?;
    let promotion = match promotion {
        Promotion::None => PreviewedPromotion::default(),
        Promotion::SavedDiscount(id) => PreviewedPromotion::saved(usable_saved_discount(
            select_discount(connection, user, *id)?,
            &product,
            categories,
            now,
        )?),
        Promotion::Code(code) => PreviewedPromotion::code(
            check_redeemable(connection, user, code, now)?,
            &product,
            categories,
        )?,
    };
    let card = select_default_card(connection, user)?;
    let plan = preview_plan(
        product,
        credits,
        promotion,
        categories,
        now,
        |credit: CreditId| {
            connection.query_opt(
                sql!("SELECT description FROM credits WHERE id = $1"),
                &[&credit.0],
                |row| row.get(0),
            )
        },
        card,
    )?;
    Ok(plan)
}

fn credit_movement_from_row(row: &Row<'_>) -> Result<CreditMovement, StoreError> {
    Ok(CreditMovement {
        credit: CreditId(row.get(0)?),
        kind: credit_kind(row.text(1)?, row.get(2)?)?,
        description: row.get(3)?,
        amount: Money::from_cents(row.get(4)?),
    })
}

pub(crate) fn order_with_key(
    tx: &mut dyn Connection,
    user: UserId,
    key: &str,
) -> Result<Option<KeyedOrder>, StoreError> {
    tx.query_opt(
        sql!("SELECT id, product_id, request FROM orders WHERE user_id = $1 AND idempotency_key = $2"),
        &[&user.0, &key],
        |row| {
            Ok(KeyedOrder {
                id: row.get(0)?,
                product_id: row.get(1)?,
                request: row.get(2)?,
            })
        },
    )
}

/// Resolves the order's promotion inside the transaction. A typed credit or gift
/// card code is redeemed into the account here, so the allocation that follows can
/// spend it.
fn apply_promotion(
    tx: &mut dyn Connection,
    user: UserId,
    product: &Product,
    promotion: &Promotion,
    categories: &Categories,
    now: OffsetDateTime,
) -> Result<AppliedPromotion, CheckoutError> {
    match promotion {
        Promotion::None => Ok(AppliedPromotion::default()),
        Promotion::SavedDiscount(id) => Ok(AppliedPromotion::saved(usable_saved_discount(
            select_discount(tx, user, *id)?,
            product,
            categories,
            now,
        )?)),
        Promotion::Code(code) => {
            let (record, redeemed) = redeem_in(tx, user, code, now)?;
            AppliedPromotion::redeemed(record, redeemed, product, categories)
        }
    }
}

/// What an order is for: its product's title, or for a gift card bought in the
/// store (no product), "$25.00 gift card".
fn order_title(product_title: Option<String>, price_cents: i64) -> String {
    product_title.unwrap_or_else(|| format!("{} gift card", Money::from_cents(price_cents)))
}

fn receipt_from_row(row: &Row<'_>) -> Result<Receipt, StoreError> {
    Ok(Receipt {
        id: row.get(0)?,
        product_id: row.get(1)?,
        product_title: order_title(row.get(2)?, row.get(4)?),
        product_format: row
            .get::<Option<String>>(3)?
            .unwrap_or_else(|| GIFT_CARD_FORMAT.to_owned()),
        price: Money::from_cents(row.get(4)?),
        discount: Money::from_cents(row.get(5)?),
        promotional_credit: Money::from_cents(row.get(6)?),
        gift_card: Money::from_cents(row.get(7)?),
        card: Money::from_cents(row.get(8)?),
        card_label: row.get(9)?,
        promotion: row.get(10)?,
        placed_at: row.instant(11)?,
        refunded_at: row.optional_instant(12)?,
        code_note: row.get(13)?,
        refunded: Money::from_cents(row.get(14)?),
        withheld: Money::ZERO,
        drawn: Vec::new(),
        refunded_to: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use time::Duration;

    use super::*;
    use crate::domain::AdjustmentReason;
    use crate::domain::{CardSummary, CreditKind, CreditSource, DisplayName, Email, PromoCode};
    use crate::store::credits::NewCredit;
    use crate::store::location::DatabaseLocation;
    use crate::store::testing::{TestStore, each_engine, tester};

    /// The demo catalog, account and codes, seeded at `now`.
    fn seed(store: &Store, now: OffsetDateTime) {
        assert!(store.seed_demo_if_empty("hash", now).unwrap());
    }

    fn new_shopper(store: &Store, email: &str, now: OffsetDateTime) -> UserId {
        store
            .create_user(
                &Email::parse(email).unwrap(),
                &DisplayName::parse("Ann").unwrap(),
                "hash",
                now - Duration::days(30),
            )
            .unwrap()
    }

    fn demo_user(store: &Store) -> UserId {
        store
            .user_id_by_email(&Email::parse("demo@example.com").unwrap())
            .unwrap()
            .unwrap()
    }

    fn product_titled(store: &Store, title: &str) -> Product {
        store
            .products_in(None)
            .unwrap()
            .into_iter()
            .find(|product| product.title == title)
            .unwrap()
    }

    fn credit_for(
        store: &Store,
        categories: &str,
        cents: i64,
        expires_at: Option<OffsetDateTime>,
    ) -> NewCredit {
        NewCredit {
            kind: CreditKind::Promotional(store.categories().parse_list(categories).unwrap()),
            source: CreditSource::Grant,
            description: format!("{categories} credit"),
            amount: Money::from_cents(cents),
            expires_at,
            code_redemption_id: None,
        }
    }

    fn reason(text: &str) -> AdjustmentReason {
        AdjustmentReason::parse(text).unwrap()
    }

    /// All that is left of an order, for a reason.
    fn whole() -> RefundRequest {
        RefundRequest::whole(reason("customer asked"))
    }

    fn balance_of(store: &Store, user: UserId, slug: &str, now: OffsetDateTime) -> Money {
        let category = store.categories().by_slug(slug).unwrap().id();
        store.balances_for(user, now).unwrap().of_category(category)
    }

    #[test]
    fn twenty_parallel_orders_never_spend_more_than_the_credit_there_is() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let ann = new_shopper(&store, "ann@example.com", now);
            store
                .grant_credit(
                    &tester(),
                    ann,
                    &credit_for(&store, "music,kindle", 1000, None),
                    &crate::domain::AdjustmentReason::parse("test").unwrap(),
                    now - Duration::days(1),
                )
                .unwrap();
            let book = product_titled(&store, "Quiet Arithmetic");
            assert_eq!(book.price, Money::from_cents(299));
            let start = Arc::new(Barrier::new(20));

            let outcomes: Vec<Result<Placed, CheckoutError>> = (0..20)
                .map(|i| {
                    let (store, start) = (store.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        store.place_order(ann, book.id, &Promotion::None, &format!("order-{i:02}"), now)
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|thread| thread.join().unwrap())
                .collect();

            let placed = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
            let refused = outcomes
                .iter()
                .filter(|outcome| matches!(outcome, Err(CheckoutError::NoPaymentMethod(_))))
                .count();
            assert_eq!(
                (placed, refused),
                (3, 17),
                "three $2.99 books fit in $10.00: {outcomes:?}"
            );
            assert_eq!(balance_of(&store, ann, "kindle", now), Money::from_cents(103));
            assert_eq!(
                store.orders_of(ann).unwrap().len(),
                3,
                "refusals leave no order behind"
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn the_same_idempotency_key_five_times_in_parallel_makes_one_order() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let demo = demo_user(&store);
            let book = product_titled(&store, "The Cartographer's Daughter");
            let kindle_before = balance_of(&store, demo, "kindle", now);
            let orders_before = store.orders_of(demo).unwrap().len();
            let start = Arc::new(Barrier::new(5));

            let placed: Vec<Placed> = (0..5)
                .map(|_| {
                    let (store, start) = (store.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        store.place_order(demo, book.id, &Promotion::None, "one-submit-key", now)
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|thread| thread.join().unwrap().unwrap())
                .collect();

            assert!(
                placed.iter().all(|p| p.order_id == placed[0].order_id),
                "{placed:?}"
            );
            assert_eq!(placed.iter().filter(|p| p.created).count(), 1, "{placed:?}");
            assert_eq!(store.orders_of(demo).unwrap().len(), orders_before + 1);
            assert_eq!(
                balance_of(&store, demo, "kindle", now),
                kindle_before - book.price.min(kindle_before),
                "paid once"
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    /// Another server, its own connection to the database.
    enum OtherServer {
        Sqlite(rusqlite::Connection),
        Postgres(::postgres::Client),
    }

    impl OtherServer {
        fn open(location: &DatabaseLocation) -> OtherServer {
            match location {
                DatabaseLocation::File(path) => {
                    OtherServer::Sqlite(rusqlite::Connection::open(path).unwrap())
                }
                DatabaseLocation::Postgres(url) => OtherServer::Postgres(
                    ::postgres::Client::connect(url.expose(), ::postgres::NoTls).unwrap(),
                ),
            }
        }

        /// Runs `sql` (one statement), and the first column of its first row.
        fn value(&mut self, sql: &str) -> Option<i64> {
            match self {
                OtherServer::Sqlite(connection) => {
                    let mut statement = connection.prepare(sql).unwrap();
                    let mut rows = statement.query([]).unwrap();
                    rows.next().unwrap().map(|row| row.get(0).unwrap())
                }
                OtherServer::Postgres(client) => {
                    client.query(sql, &[]).unwrap().first().map(|row| row.get(0))
                }
            }
        }
    }

    /// The order of a form submitted twice at once is placed by another server
    /// between this checkout's read of the key (free) and its insert (waiting on
    /// the other's row): this checkout answers with that order. On PostgreSQL its
    /// insert met the other's committed key as a unique violation, which was not
    /// retried (an error page) unless the read had gone through the key's own
    /// index, as the planner decides.
    #[test]
    fn an_order_placed_with_the_same_key_while_this_one_is_placed_is_its_answer() {
        for test in each_engine() {
            let store = &test.store;
            let now = OffsetDateTime::now_utc();
            seed(store, now);
            let demo = demo_user(store);
            let book = product_titled(store, "The Cartographer's Daughter");
            let orders_before = store.orders_of(demo).unwrap().len();
            let mut other = OtherServer::open(&test.location);
            other.value(match test.location {
                DatabaseLocation::File(_) => "BEGIN IMMEDIATE",
                DatabaseLocation::Postgres(_) => "BEGIN",
            });
            let theirs = other
                .value(&format!(
                    "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, card_cents, card_label,
                                         placed_at, request)
                     VALUES ({}, {}, 'same-form-key', {}, {}, 'Visa ending in 4242', {}, '{}')
                     RETURNING id",
                    demo.0,
                    book.id,
                    book.price.cents(),
                    book.price.cents(),
                    unix(now),
                    Promotion::None.request(book.id),
                ))
                .unwrap();

            let checkout = {
                let store = store.clone();
                std::thread::spawn(move || {
                    store.place_order(demo, book.id, &Promotion::None, "same-form-key", now)
                })
            };
            match &test.location {
                // SQLite's one writer: this checkout waits to begin.
                DatabaseLocation::File(_) => std::thread::sleep(std::time::Duration::from_millis(300)),
                // This checkout has read the key as free and waits on the other's
                // row to insert its own.
                DatabaseLocation::Postgres(url) => {
                    let mut watcher = ::postgres::Client::connect(url.expose(), ::postgres::NoTls).unwrap();
                    let waiting = (0..200).any(|_| {
                        std::thread::sleep(std::time::Duration::from_millis(25));
                        let row = watcher
                            .query_one(
                                "SELECT count(*) FROM pg_stat_activity
                                 WHERE datname = current_database() AND wait_event_type = 'Lock'
                                   AND query LIKE 'INSERT INTO orders%'",
                                &[],
                            )
                            .unwrap();
                        row.get::<_, i64>(0) == 1
                    });
                    assert!(waiting, "the checkout never waited on the other order's key");
                }
            }
            other.value("COMMIT");

            let placed = checkout
                .join()
                .unwrap()
                .expect("the other order, not a database error");
            assert_eq!(
                placed,
                Placed {
                    order_id: theirs,
                    created: false
                }
            );
            assert_eq!(store.orders_of(demo).unwrap().len(), orders_before + 1);
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_key_that_placed_an_order_is_refused_for_another_and_orders_nothing() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let demo = demo_user(&store);
            let book = product_titled(&store, "Quiet Arithmetic");
            let album = product_titled(&store, "Salt & Static");
            let first = store
                .place_order(demo, book.id, &Promotion::None, "a-key", now)
                .unwrap();

            let again = store
                .place_order(demo, book.id, &Promotion::None, "a-key", now)
                .unwrap();
            let other = store.place_order(demo, album.id, &Promotion::None, "a-key", now);

            assert_eq!(
                again,
                Placed {
                    order_id: first.order_id,
                    created: false
                }
            );
            assert!(
                matches!(other, Err(CheckoutError::KeyUsedForAnotherOrder)),
                "{other:?}"
            );
            assert_eq!(
                store.orders_of(demo).unwrap().len(),
                2,
                "the past order and this one"
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_refused_order_leaves_its_typed_code_unredeemed() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let ann = new_shopper(&store, "ann@example.com", now);
            let software = product_titled(&store, "SafeKeep Backup");
            let code = PromoCode::parse("MUSIC-KINDLE-10").unwrap();

            let outcome =
                store.place_order(ann, software.id, &Promotion::Code(code.clone()), "with-code", now);

            assert!(
                matches!(outcome, Err(CheckoutError::NoPaymentMethod(amount)) if amount == software.price),
                "{outcome:?}"
            );
            assert_eq!(store.code_named(&code).unwrap().unwrap().redemptions, 0);
            assert!(store.credits_of(ann).unwrap().is_empty());
            assert!(store.orders_of(ann).unwrap().is_empty());
        }
    }

    #[test]
    fn the_preview_draws_what_placing_the_order_then_draws() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let demo = demo_user(&store);
            let book = product_titled(&store, "Quiet Arithmetic");
            let gift = Promotion::Code(PromoCode::parse("GIFT-20").unwrap());

            let plan = store.preview_order(demo, book.id, &gift, now).unwrap();
            let placed = store.place_order(demo, book.id, &gift, "previewed", now).unwrap();
            let receipt = store.receipt(demo, placed.order_id).unwrap().unwrap();

            assert_eq!(plan.allocation.promotional_credit, receipt.promotional_credit);
            assert_eq!(plan.allocation.gift_card, receipt.gift_card);
            assert_eq!(plan.allocation.card, receipt.card);
            assert_eq!(plan.drawn, receipt.drawn);
            assert!(!plan.drawn.is_empty());
            assert_eq!((plan.promotion, receipt.promotion), (None, None));
            let (will, was) = (plan.code_note.unwrap(), receipt.code_note.unwrap());
            assert!(will.contains("will be added to your account"), "{will}");
            assert!(was.contains("was added to your account"), "{was}");
            assert_eq!(
                store
                    .receipt(new_shopper(&store, "bo@example.com", now), placed.order_id)
                    .unwrap(),
                None
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn refunding_an_order_returns_its_credit_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let demo = demo_user(&store);
            let music_before = balance_of(&store, demo, "music", now);
            let past = store.orders_of(demo).unwrap()[0].id;

            let refunded = store.refund_order(&tester(), past, &whole(), now).unwrap();

            assert_eq!(refunded.credit_returned, Money::from_cents(99));
            assert!(refunded.new_credits.is_empty());
            assert_eq!(refunded.card_refunded, Money::ZERO);
            assert_eq!(
                balance_of(&store, demo, "music", now),
                music_before + Money::from_cents(99)
            );
            assert!(
                matches!(store.refund_order(&tester(), past, &whole(), now), Err(RefundError::AlreadyRefunded(id)) if id == past)
            );
            assert!(matches!(
                store.refund_order(&tester(), 999_999, &whole(), now),
                Err(RefundError::NotFound(999_999))
            ));
            let receipt = store.receipt(demo, past).unwrap().unwrap();
            assert!(receipt.refunded_at.is_some());
            assert!(
                matches!(&receipt.refunded_to[..], [RefundedTo::Credit { amount, .. }] if *amount == Money::from_cents(99)),
                "{:?}",
                receipt.refunded_to
            );
            let details = store.order_details(past).unwrap().unwrap();
            assert_eq!(details.user, demo);
            assert_eq!(details.draws.len(), 1);
            assert_eq!(details.returned, details.draws);
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_gift_cards_share_comes_back_as_a_new_gift_card_once_it_has_expired() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let ann = new_shopper(&store, "ann@example.com", now);
            let gift_card = NewCredit {
                kind: CreditKind::GiftCard,
                source: CreditSource::Grant,
                description: "Gift card".into(),
                amount: Money::from_cents(5000),
                expires_at: Some(now - Duration::days(1)),
                code_redemption_id: None,
            };
            store
                .grant_credit(
                    &tester(),
                    ann,
                    &gift_card,
                    &crate::domain::AdjustmentReason::parse("test").unwrap(),
                    now - Duration::days(9),
                )
                .unwrap();
            let product = store.products_in(None).unwrap()[0].clone();
            let placed = store
                .place_order(
                    ann,
                    product.id,
                    &Promotion::None,
                    "gift-card-order-01",
                    now - Duration::days(3),
                )
                .unwrap();

            let refunded = store
                .refund_order(&tester(), placed.order_id, &whole(), now)
                .unwrap();

            assert_eq!(refunded.credit_returned, Money::ZERO);
            assert_eq!(refunded.new_credits.len(), 1);
            let new = &refunded.new_credits[0];
            assert_eq!((new.kind, new.amount), (CreditKind::GiftCard, product.price));
            assert_eq!(new.expires_at, Some(LastDay::days_after(now, 30).ends_at()));
            assert_eq!(new.why, NewCreditWhy::Expired);
            assert_eq!(store.balances_for(ann, now).unwrap().gift_cards(), product.price);
            let details = store.order_details(placed.order_id).unwrap().unwrap();
            assert_eq!(details.new_credits.len(), 1);
            assert_eq!(details.new_credits[0].credit, new.id);
            let receipt = store.receipt(ann, placed.order_id).unwrap().unwrap();
            assert!(
                matches!(&receipt.refunded_to[..], [RefundedTo::NewCredit { amount, .. }] if *amount == product.price),
                "{:?}",
                receipt.refunded_to
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_refund_after_the_credit_was_raised_again_returns_what_fits_and_a_new_credit_for_the_rest() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let ann = new_shopper(&store, "ann@example.com", now);
            let credit = store
                .grant_credit(
                    &tester(),
                    ann,
                    &credit_for(&store, "software", 400, None),
                    &crate::domain::AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            let card = CardSummary {
                brand: "Visa".into(),
                last4: "4242".into(),
            };
            store.set_default_card(ann, &card, now).unwrap();
            let software = product_titled(&store, "SafeKeep Backup");
            let order = store
                .place_order(ann, software.id, &Promotion::None, "software", now)
                .unwrap()
                .order_id;
            // Support puts back $3.00 of the $4.00 the order took.
            let reason = crate::domain::AdjustmentReason::parse("goodwill").unwrap();
            store
                .adjust_credit(
                    &tester(),
                    credit,
                    crate::domain::Adjustment::parse("3").unwrap(),
                    &reason,
                    now,
                )
                .unwrap();

            let refunded = store.refund_order(&tester(), order, &whole(), now).unwrap();

            assert_eq!(
                refunded.credit_returned,
                Money::from_cents(100),
                "{}",
                store.engine_name()
            );
            assert_eq!(refunded.new_credits.len(), 1);
            let new = &refunded.new_credits[0];
            assert_eq!(new.amount, Money::from_cents(300));
            assert_eq!(new.why, NewCreditWhy::NoRoom);
            assert_eq!(
                new.kind,
                CreditKind::Promotional(store.categories().parse_list("software").unwrap())
            );
            assert_eq!(refunded.card_refunded, software.price - Money::from_cents(400));
            let software_balance = balance_of(&store, ann, "software", now);
            assert_eq!(
                software_balance,
                Money::from_cents(400 + 300),
                "the credit full again, and the rest beside it"
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_refund_returns_nothing_onto_a_credit_revoked_since() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let ann = new_shopper(&store, "ann@example.com", now);
            let credit = store
                .grant_credit(
                    &tester(),
                    ann,
                    &credit_for(&store, "kindle", 1000, None),
                    &crate::domain::AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            let book = product_titled(&store, "Quiet Arithmetic");
            let order = store
                .place_order(ann, book.id, &Promotion::None, "book", now)
                .unwrap()
                .order_id;
            let reason = crate::domain::AdjustmentReason::parse("fraud").unwrap();
            store.revoke_credit(&tester(), credit, &reason, now).unwrap();

            let refunded = store.refund_order(&tester(), order, &whole(), now).unwrap();

            assert_eq!(refunded.credit_returned, Money::ZERO, "{}", store.engine_name());
            assert!(refunded.new_credits.is_empty());
            assert_eq!(
                refunded.withheld,
                [WithheldShare {
                    credit,
                    kind: CreditKind::Promotional(store.categories().parse_list("kindle").unwrap()),
                    amount: book.price
                }]
            );
            assert_eq!(
                balance_of(&store, ann, "kindle", now),
                Money::ZERO,
                "still revoked"
            );
            let account = store.account_credits(ann).unwrap();
            let revoked = account.iter().find(|c| c.credit.id == credit).unwrap();
            assert_eq!(revoked.status(now), CreditStatus::Revoked);
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    fn visa() -> CardSummary {
        CardSummary {
            brand: "Visa".into(),
            last4: "4242".into(),
        }
    }

    fn cents(amount: i64) -> Money {
        Money::from_cents(amount)
    }

    fn part(amount: i64) -> RefundRequest {
        RefundRequest::part(cents(amount), reason("customer asked"))
    }

    fn remaining(store: &Store, user: UserId, credit: CreditId) -> Money {
        store
            .credits_of(user)
            .unwrap()
            .into_iter()
            .find(|c| c.id == credit)
            .unwrap()
            .remaining
    }

    fn returned(credit: CreditId, amount: i64) -> ReturnedShare {
        ReturnedShare {
            credit,
            amount: cents(amount),
        }
    }

    #[test]
    fn partial_refunds_go_back_card_first_then_gift_cards_then_promotional_credit_drawn_last_first() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let ann = new_shopper(&store, "ann@example.com", now);
            let grant = |credit: NewCredit| {
                store
                    .grant_credit(&tester(), ann, &credit, &reason("test"), now - Duration::days(1))
                    .unwrap()
            };
            // Drawn in this order: the soonest-expiring credit, the one that never
            // expires, the gift card, then the card.
            let soon = grant(credit_for(&store, "music", 200, Some(now + Duration::days(10))));
            let never = grant(credit_for(&store, "music", 200, None));
            let gift_card = grant(NewCredit {
                kind: CreditKind::GiftCard,
                ..credit_for(&store, "music", 200, None)
            });
            store.set_default_card(ann, &visa(), now).unwrap();
            let album = product_titled(&store, "Salt & Static");
            assert_eq!(album.price, cents(899));
            let order = store
                .place_order(ann, album.id, &Promotion::None, "album", now)
                .unwrap()
                .order_id;

            let first = store.refund_order(&tester(), order, &part(300), now).unwrap();
            let second = store.refund_order(&tester(), order, &part(300), now).unwrap();
            let too_much = store.refund_order(&tester(), order, &part(500), now);
            let rest = store.refund_order(&tester(), order, &whole(), now).unwrap();

            assert_eq!(
                (first.card_refunded, &first.returned_to[..]),
                (cents(299), &[returned(gift_card, 1)][..]),
                "{}",
                store.engine_name()
            );
            assert_eq!((first.amount, first.left), (cents(300), cents(599)));
            assert_eq!(first.card_label.as_deref(), Some("Visa ending in 4242"));
            assert_eq!(second.card_refunded, Money::ZERO);
            assert_eq!(
                second.returned_to,
                [returned(gift_card, 199), returned(never, 101)]
            );
            assert!(
                matches!(too_much, Err(RefundError::MoreThanLeft { order: o, asked, left })
                    if o == order && asked == cents(500) && left == cents(299)),
                "{too_much:?}"
            );
            assert_eq!(rest.amount, cents(299));
            assert_eq!(rest.returned_to, [returned(never, 99), returned(soon, 200)]);
            assert!(rest.fully_refunded());
            for credit in [soon, never, gift_card] {
                assert_eq!(remaining(&store, ann, credit), cents(200));
            }
            let details = store.order_details(order).unwrap().unwrap();
            assert!(details.receipt.refunded_at.is_some());
            assert_eq!(details.receipt.refunded, cents(899));
            let listed: Vec<(Money, Money, &str, &str)> = details
                .refunds
                .iter()
                .map(|refund| {
                    (
                        refund.amount,
                        refund.card,
                        refund.reason.as_str(),
                        refund.actor.as_str(),
                    )
                })
                .collect();
            let who = tester().to_string();
            assert_eq!(
                listed,
                [
                    (cents(300), cents(299), "customer asked", who.as_str()),
                    (cents(300), Money::ZERO, "customer asked", who.as_str()),
                    (cents(299), Money::ZERO, "customer asked", who.as_str()),
                ]
            );
            assert!(matches!(
                store.refund_order(&tester(), order, &part(1), now),
                Err(RefundError::AlreadyRefunded(id)) if id == order
            ));
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_partial_refund_leaves_the_order_open_and_its_receipt_says_how_much() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let ann = new_shopper(&store, "ann@example.com", now);
            store.set_default_card(ann, &visa(), now).unwrap();
            let album = product_titled(&store, "Salt & Static");
            let order = store
                .place_order(ann, album.id, &Promotion::None, "album", now)
                .unwrap()
                .order_id;

            let zero = store.refund_order(&tester(), order, &part(0), now);
            store.refund_order(&tester(), order, &part(100), now).unwrap();

            assert!(matches!(zero, Err(RefundError::Zero)), "{zero:?}");
            let receipt = store.receipt(ann, order).unwrap().unwrap();
            assert_eq!(receipt.refunded_at, None);
            assert!(receipt.partly_refunded());
            assert_eq!(receipt.refunded, cents(100));
            assert_eq!(
                receipt.refunded_to,
                [RefundedTo::Card {
                    label: "Visa ending in 4242".into(),
                    amount: cents(100)
                }]
            );
            let listed = store.list_orders(Some(ann)).unwrap();
            assert_eq!((listed[0].refunded_at, listed[0].refunded), (None, cents(100)));
            let filter = crate::store::audit::AuditFilter {
                action: Some(AuditAction::OrderRefund.as_str().to_owned()),
                ..Default::default()
            };
            let audit = store.audit_page(&filter, None, 10).unwrap().entries;
            assert_eq!(audit.len(), 1, "the refused zero left no entry");
            let entry = &audit[0];
            assert_eq!(entry.actor, tester().to_string());
            assert_eq!(entry.subject, format!("order:{order}"));
            assert_eq!(entry.reason.as_deref(), Some("customer asked"));
            let after = entry.after.as_deref().unwrap();
            assert!(
                after.contains("$1.00 of $8.99 refunded") && after.contains("$1.00 to the card"),
                "{after}"
            );
        }
    }

    /// An album order paid $5.00 from a credit revoked since and $3.99 by card (or,
    /// without a card, a $2.99 book paid from the credit alone).
    fn order_from_a_revoked_credit(
        store: &Store,
        email: &str,
        card: bool,
        now: OffsetDateTime,
    ) -> (UserId, CreditId, i64) {
        let ann = new_shopper(store, email, now);
        let credit = store
            .grant_credit(
                &tester(),
                ann,
                &credit_for(store, "music,kindle", 500, None),
                &reason("test"),
                now,
            )
            .unwrap();
        let title = if card {
            store.set_default_card(ann, &visa(), now).unwrap();
            "Salt & Static"
        } else {
            "Quiet Arithmetic"
        };
        let product = product_titled(store, title);
        let order = store
            .place_order(ann, product.id, &Promotion::None, "order", now)
            .unwrap()
            .order_id;
        if card {
            // The order emptied the credit: support raised it since, so there is
            // something to revoke.
            store
                .adjust_credit(
                    &tester(),
                    credit,
                    crate::domain::Adjustment::parse("1").unwrap(),
                    &reason("goodwill"),
                    now,
                )
                .unwrap();
        }
        store
            .revoke_credit(&tester(), credit, &reason("fraud"), now)
            .unwrap();
        (ann, credit, order)
    }

    fn is_revoked(store: &Store, user: UserId, credit: CreditId, now: OffsetDateTime) -> bool {
        let account = store.account_credits(user).unwrap();
        account
            .iter()
            .find(|c| c.credit.id == credit)
            .unwrap()
            .status(now)
            == CreditStatus::Revoked
    }

    #[test]
    fn a_revoked_credits_share_is_withheld_unless_the_manager_sends_it_to_a_new_credit_or_the_card() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let music = CreditKind::Promotional(store.categories().parse_list("music,kindle").unwrap());
            let (ann, withheld_credit, withheld_order) =
                order_from_a_revoked_credit(&store, "ann@example.com", true, now);
            let (bo, new_credit_credit, new_credit_order) =
                order_from_a_revoked_credit(&store, "bo@example.com", true, now);
            let (cy, card_credit, card_order) =
                order_from_a_revoked_credit(&store, "cy@example.com", true, now);
            let (di, _, no_card_order) = order_from_a_revoked_credit(&store, "di@example.com", false, now);

            let withheld = store
                .refund_order(&tester(), withheld_order, &whole(), now)
                .unwrap();
            let to_new_credit = store
                .refund_order(
                    &tester(),
                    new_credit_order,
                    &whole().revoked_share_to(RevokedShareTo::NewCredit),
                    now,
                )
                .unwrap();
            let to_card = store
                .refund_order(
                    &tester(),
                    card_order,
                    &whole().revoked_share_to(RevokedShareTo::Card),
                    now,
                )
                .unwrap();
            let no_card = store.refund_order(
                &tester(),
                no_card_order,
                &whole().revoked_share_to(RevokedShareTo::Card),
                now,
            );

            assert_eq!(
                withheld.withheld,
                [WithheldShare {
                    credit: withheld_credit,
                    kind: music,
                    amount: cents(500)
                }],
                "{}",
                store.engine_name()
            );
            assert_eq!(
                (withheld.card_refunded, withheld.credit_returned),
                (cents(399), Money::ZERO)
            );
            assert!(withheld.new_credits.is_empty() && withheld.fully_refunded());
            assert_eq!(
                store.receipt(ann, withheld_order).unwrap().unwrap().withheld,
                cents(500)
            );
            assert_eq!(
                store.order_details(withheld_order).unwrap().unwrap().refunds[0].withheld,
                cents(500)
            );

            assert!(to_new_credit.withheld.is_empty());
            assert_eq!(to_new_credit.new_credits.len(), 1);
            let new = &to_new_credit.new_credits[0];
            assert_eq!(
                (new.kind, new.amount, new.why),
                (music, cents(500), NewCreditWhy::Revoked)
            );
            assert_eq!(
                new.expires_at,
                Some(LastDay::days_after(now, REFUND_CREDIT_DAYS).ends_at())
            );
            assert_eq!(balance_of(&store, bo, "music", now), cents(500));

            assert!(to_card.withheld.is_empty() && to_card.new_credits.is_empty());
            assert_eq!(to_card.card_refunded, cents(899));
            assert_eq!(balance_of(&store, cy, "music", now), Money::ZERO);

            assert!(
                matches!(no_card, Err(RefundError::NoCardToRefund(id)) if id == no_card_order),
                "{no_card:?}"
            );
            assert_eq!(
                store.receipt(di, no_card_order).unwrap().unwrap().refunded,
                Money::ZERO,
                "nothing changed"
            );

            for (user, credit) in [(ann, withheld_credit), (bo, new_credit_credit), (cy, card_credit)] {
                assert!(
                    is_revoked(&store, user, credit, now),
                    "a refund never revives a revoked credit"
                );
            }
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_partial_refund_after_the_credit_was_raised_again_never_fails_on_its_bounds() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let ann = new_shopper(&store, "ann@example.com", now);
            let credit = store
                .grant_credit(
                    &tester(),
                    ann,
                    &credit_for(&store, "software", 400, None),
                    &reason("test"),
                    now,
                )
                .unwrap();
            store.set_default_card(ann, &visa(), now).unwrap();
            let software = product_titled(&store, "SafeKeep Backup");
            let order = store
                .place_order(ann, software.id, &Promotion::None, "software", now)
                .unwrap()
                .order_id;
            let card_part = (software.price - cents(400)).cents();
            // Support puts the whole $4.00 back: the credit is full again.
            store
                .adjust_credit(
                    &tester(),
                    credit,
                    crate::domain::Adjustment::parse("4").unwrap(),
                    &reason("goodwill"),
                    now,
                )
                .unwrap();

            let into_credit = store
                .refund_order(&tester(), order, &part(card_part + 150), now)
                .unwrap();
            let rest = store.refund_order(&tester(), order, &whole(), now).unwrap();

            assert_eq!(
                into_credit.card_refunded,
                cents(card_part),
                "{}",
                store.engine_name()
            );
            assert!(into_credit.returned_to.is_empty());
            let new: Vec<(Money, NewCreditWhy)> = into_credit
                .new_credits
                .iter()
                .chain(&rest.new_credits)
                .map(|c| (c.amount, c.why))
                .collect();
            assert_eq!(
                new,
                [
                    (cents(150), NewCreditWhy::NoRoom),
                    (cents(250), NewCreditWhy::NoRoom)
                ]
            );
            assert_eq!(remaining(&store, ann, credit), cents(400));
            assert_eq!(balance_of(&store, ann, "software", now), cents(800));
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn the_one_time_discount_comes_back_only_with_the_refund_in_full() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let demo = demo_user(&store);
            let discount = store.discounts_of(demo).unwrap()[0].id;
            let album = product_titled(&store, "Salt & Static");
            let with_discount = Promotion::SavedDiscount(discount);
            let order = store
                .place_order(demo, album.id, &with_discount, "first-use", now)
                .unwrap()
                .order_id;

            let partial = store.refund_order(&tester(), order, &part(100), now).unwrap();
            let meanwhile = store.place_order(demo, album.id, &with_discount, "second-use", now);
            let in_full = store.refund_order(&tester(), order, &whole(), now).unwrap();
            let again = store.place_order(demo, album.id, &with_discount, "third-use", now);

            assert_eq!(partial.discount_restored, None, "{}", store.engine_name());
            assert!(
                matches!(meanwhile, Err(CheckoutError::DiscountUnavailable)),
                "{meanwhile:?}"
            );
            assert_eq!(
                in_full.discount_restored.as_deref(),
                Some("20% off one Digital Music purchase")
            );
            assert!(again.unwrap().created);
        }
    }

    /// `threads` refunds of `each` cents of one $8.99 card order at once.
    fn refunds_at_once(
        store: &Store,
        threads: usize,
        each: i64,
    ) -> (Vec<Result<Refunded, RefundError>>, OrderDetails) {
        let now = OffsetDateTime::now_utc();
        let ann = new_shopper(store, &format!("racer{threads}@example.com"), now);
        store.set_default_card(ann, &visa(), now).unwrap();
        let album = product_titled(store, "Salt & Static");
        let order = store
            .place_order(ann, album.id, &Promotion::None, "on-card", now)
            .unwrap()
            .order_id;
        let start = Arc::new(Barrier::new(threads));
        let outcomes = (0..threads)
            .map(|_| {
                let (store, start) = (store.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    store.refund_order(&tester(), order, &part(each), now)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect();
        (outcomes, store.order_details(order).unwrap().unwrap())
    }

    #[test]
    fn two_and_ten_partial_refunds_of_one_order_at_once_never_exceed_what_was_paid() {
        for TestStore { store, .. } in each_engine() {
            seed(&store, OffsetDateTime::now_utc());
            for (threads, each, expected) in [(2, 500, 1), (10, 100, 8)] {
                let (outcomes, details) = refunds_at_once(&store, threads, each);

                let refunded = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
                let refused = outcomes
                    .iter()
                    .filter(|outcome| matches!(outcome, Err(RefundError::MoreThanLeft { .. })))
                    .count();
                assert_eq!(
                    (refunded, refused),
                    (expected, threads - expected),
                    "{}: {outcomes:?}",
                    store.engine_name()
                );
                let total: Money = details.refunds.iter().map(|refund| refund.amount).sum();
                assert_eq!(total, cents(each * expected as i64));
                assert_eq!(details.receipt.refunded, total);
                assert_eq!(
                    details.card_refund,
                    Some((total, "Visa ending in 4242".to_owned()))
                );
            }
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn refunds_of_one_order_at_once_refund_it_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let ann = new_shopper(&store, "ann@example.com", now);
            let card = CardSummary {
                brand: "Visa".into(),
                last4: "4242".into(),
            };
            store.set_default_card(ann, &card, now).unwrap();
            let album = product_titled(&store, "Salt & Static");
            let order = store
                .place_order(ann, album.id, &Promotion::None, "on-card", now)
                .unwrap()
                .order_id;
            let start = Arc::new(Barrier::new(6));

            let outcomes: Vec<Result<Refunded, RefundError>> = (0..6)
                .map(|_| {
                    let (store, start) = (store.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        store.refund_order(&tester(), order, &whole(), now)
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|thread| thread.join().unwrap())
                .collect();

            let refunded = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
            let already = outcomes
                .iter()
                .filter(|outcome| matches!(outcome, Err(RefundError::AlreadyRefunded(id)) if *id == order))
                .count();
            assert_eq!(
                (refunded, already),
                (1, 5),
                "{}: {outcomes:?}",
                store.engine_name()
            );
            let details = store.order_details(order).unwrap().unwrap();
            assert_eq!(
                details.card_refund,
                Some((album.price, "Visa ending in 4242".to_owned()))
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_refund_gives_back_the_card_part_and_the_one_time_discount() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let demo = demo_user(&store);
            let discount = store.discounts_of(demo).unwrap()[0].id;
            let album = product_titled(&store, "Salt & Static");
            let with_discount = Promotion::SavedDiscount(discount);
            let ann = new_shopper(&store, "ann@example.com", now);
            let card = CardSummary {
                brand: "Visa".into(),
                last4: "4242".into(),
            };
            store.set_default_card(ann, &card, now).unwrap();
            let on_card = store
                .place_order(ann, album.id, &Promotion::None, "on-card", now)
                .unwrap();
            let placed = store
                .place_order(demo, album.id, &with_discount, "first-use", now)
                .unwrap();
            let second = store.place_order(demo, album.id, &with_discount, "second-use", now);
            assert!(
                matches!(second, Err(CheckoutError::DiscountUnavailable)),
                "{second:?}"
            );

            let card_refund = store
                .refund_order(&tester(), on_card.order_id, &whole(), now)
                .unwrap();
            let discount_refund = store
                .refund_order(&tester(), placed.order_id, &whole(), now)
                .unwrap();

            assert_eq!(card_refund.card_refunded, album.price);
            assert_eq!(card_refund.card_label.as_deref(), Some("Visa ending in 4242"));
            let details = store.order_details(on_card.order_id).unwrap().unwrap();
            assert_eq!(
                details.card_refund,
                Some((album.price, "Visa ending in 4242".to_owned()))
            );
            assert_eq!(
                discount_refund.discount_restored.as_deref(),
                Some("20% off one Digital Music purchase")
            );
            let again = store
                .place_order(demo, album.id, &with_discount, "third-use", now)
                .unwrap();
            assert!(again.created);
            let listed = store.list_orders(None).unwrap();
            assert_eq!(listed.len(), 4, "the demo's past order and three more");
            assert_eq!(
                listed.iter().filter(|order| order.refunded_at.is_some()).count(),
                2
            );
            assert_eq!(store.list_orders(Some(ann)).unwrap().len(), 1);
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn orders_come_newest_first_a_page_at_a_time() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let demo = demo_user(&store);
            let book = product_titled(&store, "Quiet Arithmetic");
            let placed: Vec<i64> = (0..2)
                .map(|i| {
                    store
                        .place_order(demo, book.id, &Promotion::None, &format!("page-{i}"), now)
                        .unwrap()
                        .order_id
                })
                .collect();

            let first = store.orders_page(demo, None, 2).unwrap();
            let second = store.orders_page(demo, first.older, 2).unwrap();

            let ids: Vec<i64> = first.entries.iter().map(|order| order.id).collect();
            assert_eq!(ids, [placed[1], placed[0]]);
            assert_eq!(first.older, Some(placed[0]));
            assert_eq!(second.entries.len(), 1, "the demo's past order");
            assert_eq!(second.older, None);
            assert_eq!(store.orders_of(demo).unwrap().len(), 3);
        }
    }

    #[test]
    fn the_staff_list_of_orders_filters_by_day_and_customer_and_pages_newest_first() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let demo = demo_user(&store);
            let ann = new_shopper(&store, "ann@example.com", now);
            let card = CardSummary {
                brand: "Visa".into(),
                last4: "4242".into(),
            };
            store.set_default_card(ann, &card, now).unwrap();
            let album = product_titled(&store, "Salt & Static");
            let day = |n: i64| now + time::Duration::days(n);
            let order = |user, n: i64, key: &str| {
                store
                    .place_order(user, album.id, &Promotion::None, key, day(n))
                    .unwrap()
                    .order_id
            };
            let ann_10 = order(ann, 10, "ann-10");
            let ann_11 = order(ann, 11, "ann-11");
            let demo_11 = order(demo, 11, "demo-11");
            let ann_12 = order(ann, 12, "ann-12");
            let ids = |page: &Page<OrderSummary>| page.entries.iter().map(|o| o.id).collect::<Vec<_>>();
            let start_of = |n: i64| day(n).replace_time(time::Time::MIDNIGHT);

            let on_day_11 = OrderFilter {
                since: Some(start_of(11)),
                until: Some(start_of(12)),
                customer: None,
            };
            let found = store.orders_list_page(&on_day_11, None, 20).unwrap();
            assert_eq!(ids(&found), [demo_11, ann_11], "{}", store.engine_name());

            let anns = OrderFilter {
                customer: Some(" ANN@ex ".into()),
                ..OrderFilter::default()
            };
            let first = store.orders_list_page(&anns, None, 2).unwrap();
            assert_eq!(ids(&first), [ann_12, ann_11]);
            assert_eq!(first.entries[0].user, ann);
            assert_eq!(first.entries[0].email, "ann@example.com");
            let second = store.orders_list_page(&anns, first.older, 2).unwrap();
            assert_eq!(ids(&second), [ann_10]);
            assert_eq!(second.older, None);

            let everyone = store.orders_list_page(&OrderFilter::default(), None, 20).unwrap();
            assert_eq!(everyone.entries.len(), 5, "the demo's past order and four more");
        }
    }
}
