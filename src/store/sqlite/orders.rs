//! Orders: previewing and placing them (credit first, then the card), receipts,
//! history and refunds.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use super::catalog::{Product, select_product};
use super::credits::{credit_from_row, credit_kind, insert_credit_for_order, select_credits};
use super::discounts::{select_discount, use_discount};
use super::{Page, SqliteStore, StoreError, instant, page_limit, unix};
use crate::domain::{
    Allocation, CardSummary, Categories, CodeRefusal, Credit, CreditId, CreditKind, LastDay, Money,
    PromoCode, UserId,
};
use crate::store::codes::{RedeemError, check_redeemable, redeem_in};
use crate::store::payment::select_default_card;
use crate::store::shared::orders::{
    AppliedPromotion, KeyedOrder, PreviewedPromotion, file_ledger_event, order_terms, preview_plan,
    refund_credit_description, replacement_credit, restored_discount, usable_saved_discount,
};
use crate::store::sql::SqliteConnection;

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

impl From<rusqlite::Error> for CheckoutError {
    fn from(error: rusqlite::Error) -> Self {
        CheckoutError::Store(error.into())
    }
}

/// A placed order as its receipt shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub id: i64,
    pub product_id: i64,
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
    pub refunded_at: Option<OffsetDateTime>,
    /// Each credit the order drew on (filled in for a single receipt only).
    pub drawn: Vec<DrawnCredit>,
    /// Where a refunded order's money went (filled in for a single receipt only).
    pub refunded_to: Vec<RefundedTo>,
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

/// Where a refunded order's money went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunded {
    /// Returned to the credits the order spent, which are still valid.
    pub credit_returned: Money,
    /// The shares of credits that have expired since, granted again as new credits.
    pub new_credits: Vec<RefundCredit>,
    pub card_refunded: Money,
    /// The card refunded, when there was a card part.
    pub card_label: Option<String>,
    /// The one-time discount the order used (its description), usable again
    /// (`None` too when it has expired since).
    pub discount_restored: Option<String>,
}

/// A credit a refund granted in place of one that had expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundCredit {
    pub id: CreditId,
    pub kind: CreditKind,
    pub amount: Money,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("there is no order {0}")]
    NotFound(i64),
    #[error("order {0} has already been refunded")]
    AlreadyRefunded(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for RefundError {
    fn from(error: rusqlite::Error) -> Self {
        RefundError::Store(error.into())
    }
}

fn load_product(connection: &Connection, product_id: i64) -> Result<Product, CheckoutError> {
    select_product(connection, product_id)?.ok_or(CheckoutError::UnknownProduct)
}

impl SqliteStore {
    /// The exact breakdown placing this order would produce now, changing nothing
    /// (a typed code is checked, not redeemed).
    pub fn preview_order(
        &self,
        user: UserId,
        product_id: i64,
        promotion: &Promotion,
        now: OffsetDateTime,
    ) -> Result<OrderPlan, CheckoutError> {
        let categories = self.categories();
        let connection = self.readers.get().map_err(StoreError::from)?;
        let product = load_product(&connection, product_id)?;
        let credits = select_credits(&connection, user)?;
        let promotion = match promotion {
            Promotion::None => PreviewedPromotion::default(),
            Promotion::SavedDiscount(id) => PreviewedPromotion::saved(usable_saved_discount(
                select_discount(&connection, user, *id)?,
                &product,
                &categories,
                now,
            )?),
            Promotion::Code(code) => PreviewedPromotion::code(
                check_redeemable(&mut SqliteConnection::new(&connection), user, code, now)?,
                &product,
                &categories,
            )?,
        };
        let card = select_default_card(&mut SqliteConnection::new(&connection), user)?;
        let mut description = connection.prepare_cached("SELECT description FROM credits WHERE id = ?1")?;
        let plan = preview_plan(
            product,
            credits,
            promotion,
            &categories,
            now,
            |credit| Ok(description.query_row([credit.0], |row| row.get(0)).optional()?),
            card,
        )?;
        Ok(plan)
    }

    /// Places an order in ONE transaction, in the order of SPEC §2: the promotion,
    /// promotional credit, gift-card credit, then the default card. Any refusal
    /// (a bad code, no card for a remainder) rolls everything back, so the code is
    /// not consumed. The same idempotency key twice gives the first order back if
    /// it asks for the same order, and is refused if it asks for anything else.
    pub fn place_order(
        &self,
        user: UserId,
        product_id: i64,
        promotion: &Promotion,
        idempotency_key: &str,
        now: OffsetDateTime,
    ) -> Result<Placed, CheckoutError> {
        let request = promotion.request(product_id);
        let categories = self.categories();
        self.transaction(|tx| {
            if let Some(earlier) = order_with_key(tx, user, idempotency_key)? {
                if !earlier.asked_for(product_id, &request) {
                    return Err(CheckoutError::KeyUsedForAnotherOrder);
                }
                return Ok(Placed {
                    order_id: earlier.id,
                    created: false,
                });
            }
            let product = load_product(tx, product_id)?;
            let applied = apply_promotion(tx, user, &product, promotion, &categories, now)?;
            let credits = select_credits(tx, user)?;
            let terms = order_terms(&product, &applied, &credits, &categories, now, || {
                select_default_card(&mut SqliteConnection::new(tx), user)
            })?;
            let allocation = &terms.allocation;

            tx.prepare_cached(
                "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, discount_cents,
                                     promotional_credit_cents, gift_card_cents, card_cents, card_label,
                                     promotion, placed_at, request, code_note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                user.0,
                product.id,
                idempotency_key,
                allocation.price.cents(),
                allocation.discount.cents(),
                allocation.promotional_credit.cents(),
                allocation.gift_card.cents(),
                allocation.card.cents(),
                terms.card_label,
                terms.promotion,
                unix(now),
                request,
                terms.code_note,
            ])?;
            let order_id = tx.last_insert_rowid();
            for draw in &allocation.draws {
                super::credits::spend_credit(tx, draw.credit, draw.amount, order_id, now)?;
            }
            if let Some(discount_id) = applied.discount_id
                && !use_discount(tx, discount_id, order_id)?
            {
                return Err(CheckoutError::DiscountUnavailable);
            }
            Ok(Placed {
                order_id,
                created: true,
            })
        })
    }

    /// One of `user`'s orders; `None` for an unknown id or someone else's order.
    pub fn receipt(&self, user: UserId, order_id: i64) -> Result<Option<Receipt>, StoreError> {
        self.read(|connection| {
            let Some(mut receipt) = connection
                .prepare_cached(&format!("{RECEIPT_QUERY} WHERE o.id = ?1 AND o.user_id = ?2"))?
                .query_row(params![order_id, user.0], receipt_from_row)
                .optional()?
            else {
                return Ok(None);
            };
            let mut events = connection.prepare_cached(
                "SELECT e.kind, c.kind, c.description, c.expires_at, abs(e.amount_cents)
                 FROM credit_events e JOIN credits c ON c.id = e.credit_id
                 WHERE e.order_id = ?1 ORDER BY e.id",
            )?;
            let rows = events.query_map([order_id], |row| {
                let expires_at = row.get::<_, Option<i64>>(3)?.map(instant).transpose()?;
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)? == "gift_card",
                    row.get::<_, String>(2)?,
                    expires_at.map(LastDay::of),
                    Money::from_cents(row.get(4)?),
                ))
            })?;
            for row in rows {
                let (event, gift_card, description, last_day, amount) = row?;
                file_ledger_event(&mut receipt, &event, gift_card, description, last_day, amount);
            }
            let card_refund: Option<(String, i64)> = connection
                .prepare_cached("SELECT card_label, amount_cents FROM card_refunds WHERE order_id = ?1")?
                .query_row([order_id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            if let Some((label, cents)) = card_refund {
                receipt.refunded_to.push(RefundedTo::Card {
                    label,
                    amount: Money::from_cents(cents),
                });
            }
            Ok(Some(receipt))
        })
    }

    /// An account's orders, newest first.
    pub fn orders_of(&self, user: UserId) -> Result<Vec<Receipt>, StoreError> {
        Ok(self.orders_page(user, None, usize::MAX)?.entries)
    }

    /// Up to `size` of an account's orders, newest first, older than the order
    /// `before` (from the newest without it): one index range read, so a page costs
    /// the same whatever the history's length.
    pub fn orders_page(
        &self,
        user: UserId,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<Receipt>, StoreError> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "{RECEIPT_QUERY} WHERE o.user_id = ?1 AND o.id < ?2 ORDER BY o.id DESC LIMIT ?3"
            ))?;
            let rows = statement
                .query_map(
                    params![user.0, before.unwrap_or(i64::MAX), page_limit(size)],
                    receipt_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::of(rows, size, |order| order.id))
        })
    }

    /// Refunds an order (operator command), in one transaction. Each share paid by
    /// a credit that is still valid goes back to it (a `refund` ledger event); a
    /// share of a credit that has expired since comes back as a new credit of the
    /// same kind and categories, valid for [`REFUND_CREDIT_DAYS`] days (a gift card's
    /// share as a new gift card), so the shopper can spend it. The card part is
    /// recorded as a card refund, and the order's one-time discount is usable again.
    pub fn refund_order(&self, order_id: i64, now: OffsetDateTime) -> Result<Refunded, RefundError> {
        self.transaction(|tx| {
            let order: Option<(i64, Option<i64>, i64, Option<String>)> = tx
                .query_row(
                    "SELECT user_id, refunded_at, card_cents, card_label FROM orders WHERE id = ?1",
                    [order_id],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .optional()?;
            let (user, refunded_at, card_cents, card_label) = order.ok_or(RefundError::NotFound(order_id))?;
            let user = UserId(user);
            if refunded_at.is_some() {
                return Err(RefundError::AlreadyRefunded(order_id));
            }
            let spends: Vec<(Credit, i64)> = tx
                .prepare_cached(
    "SELECT c.id, c.kind, c.category_mask, c.original_cents, c.remaining_cents, c.expires_at,
                            c.created_at, -sum(e.amount_cents)
                     FROM credit_events e JOIN credits c ON c.id = e.credit_id
                     WHERE e.order_id = ?1 AND e.kind = 'spend' GROUP BY c.id ORDER BY c.id",
)?
                .query_map([order_id], |row| Ok((credit_from_row(row)?, row.get(7)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut credit_returned = 0;
            let mut new_credits = Vec::new();
            for (credit, cents) in spends {
                if let Some(replacement) = replacement_credit(&credit, cents, order_id, now) {
                    let id = insert_credit_for_order(tx, user, &replacement.credit, Some(order_id), now)?;
                    new_credits.push(replacement.granted(id));
                    continue;
                }
                tx.prepare_cached("UPDATE credits SET remaining_cents = remaining_cents + ?2 WHERE id = ?1")?
                    .execute(params![credit.id.0, cents])?;
                tx.prepare_cached(
                    "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, note, created_at)
                     VALUES (?1, 'refund', ?2, ?3, 'Order refunded', ?4)",
                )?
                .execute(params![credit.id.0, cents, order_id, unix(now)])?;
                credit_returned += cents;
            }
            if card_cents > 0 {
                tx.execute(
                    "INSERT INTO card_refunds (order_id, amount_cents, card_label, refunded_at) VALUES (?1, ?2, ?3, ?4)",
                    params![order_id, card_cents, card_label.clone().unwrap_or_default(), unix(now)],
                )?;
            }
            let released: Option<(String, Option<i64>)> = tx
                .query_row(
                    "UPDATE discounts SET used_by_order_id = NULL WHERE used_by_order_id = ?1
                     RETURNING description, expires_at",
                    [order_id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let discount_restored = restored_discount(released, now);
            tx.execute("UPDATE orders SET refunded_at = ?2 WHERE id = ?1", params![order_id, unix(now)])?;
            Ok(Refunded {
                credit_returned: Money::from_cents(credit_returned),
                new_credits,
                card_refunded: Money::from_cents(card_cents),
                card_label: card_label.filter(|_| card_cents > 0),
                discount_restored,
            })
        })
    }
}

/// An order as an operator lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub id: i64,
    pub placed_at: OffsetDateTime,
    pub email: String,
    pub product_title: String,
    pub price: Money,
    pub discount: Money,
    pub promotional_credit: Money,
    pub gift_card: Money,
    pub card: Money,
    pub refunded_at: Option<OffsetDateTime>,
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
    /// After a refund: the card part, as recorded.
    pub card_refund: Option<(Money, String)>,
}

/// An amount moved to or from one credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditMovement {
    pub credit: CreditId,
    pub kind: CreditKind,
    pub description: String,
    pub amount: Money,
}

impl SqliteStore {
    /// Orders newest first: every account's, or one account's.
    pub fn list_orders(&self, user: Option<UserId>) -> Result<Vec<OrderSummary>, StoreError> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT o.id, o.placed_at, u.email, p.title, o.price_cents, o.discount_cents,
                        o.promotional_credit_cents, o.gift_card_cents, o.card_cents, o.refunded_at
                 FROM orders o JOIN users u ON u.id = o.user_id JOIN products p ON p.id = o.product_id
                 WHERE ?1 IS NULL OR o.user_id = ?1
                 ORDER BY o.placed_at DESC, o.id DESC",
            )?;
            let orders = statement
                .query_map([user.map(|user| user.0)], |row| {
                    Ok(OrderSummary {
                        id: row.get(0)?,
                        placed_at: instant(row.get(1)?)?,
                        email: row.get(2)?,
                        product_title: row.get(3)?,
                        price: Money::from_cents(row.get(4)?),
                        discount: Money::from_cents(row.get(5)?),
                        promotional_credit: Money::from_cents(row.get(6)?),
                        gift_card: Money::from_cents(row.get(7)?),
                        card: Money::from_cents(row.get(8)?),
                        refunded_at: row.get::<_, Option<i64>>(9)?.map(instant).transpose()?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(orders)
        })
    }

    /// One order with its credits and refund, whoever's it is; `None` for an
    /// unknown id. Read in one snapshot, so the parts agree.
    pub fn order_details(&self, order_id: i64) -> Result<Option<OrderDetails>, StoreError> {
        self.read(|connection| {
            let tx = connection.unchecked_transaction()?;
            let Some(receipt) = tx
                .prepare_cached(&format!("{RECEIPT_QUERY} WHERE o.id = ?1"))?
                .query_row([order_id], receipt_from_row)
                .optional()?
            else {
                return Ok(None);
            };
            let (user, email): (i64, String) = tx.query_row(
                "SELECT u.id, u.email FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = ?1",
                [order_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let movements = |kind: &str| -> Result<Vec<CreditMovement>, StoreError> {
                let mut statement = tx.prepare_cached(
                    "SELECT c.id, c.kind, c.category_mask, c.description, abs(sum(e.amount_cents))
                     FROM credit_events e JOIN credits c ON c.id = e.credit_id
                     WHERE e.order_id = ?1 AND e.kind = ?2 GROUP BY c.id ORDER BY c.id",
                )?;
                Ok(statement
                    .query_map(params![order_id, kind], credit_movement_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            };
            let (draws, returned) = (movements("spend")?, movements("refund")?);
            // `refund_order` names the new credits it grants after their order.
            let new_credits = tx
                .prepare_cached(
                    "SELECT c.id, c.kind, c.category_mask, c.description, c.original_cents FROM credits c
                     WHERE c.user_id = ?1 AND c.source = 'refund' AND c.description = ?2 ORDER BY c.id",
                )?
                .query_map(
                    params![user, refund_credit_description(order_id)],
                    credit_movement_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let card_refund = tx
                .prepare_cached("SELECT amount_cents, card_label FROM card_refunds WHERE order_id = ?1")?
                .query_row([order_id], |row| {
                    Ok((Money::from_cents(row.get(0)?), row.get(1)?))
                })
                .optional()?;
            Ok(Some(OrderDetails {
                receipt,
                user: UserId(user),
                email,
                draws,
                returned,
                new_credits,
                card_refund,
            }))
        })
    }
}

fn credit_movement_from_row(row: &Row) -> rusqlite::Result<CreditMovement> {
    Ok(CreditMovement {
        credit: CreditId(row.get(0)?),
        kind: credit_kind(row.get_ref(1)?.as_str()?, row.get(2)?, 2)?,
        description: row.get(3)?,
        amount: Money::from_cents(row.get(4)?),
    })
}

fn order_with_key(tx: &Transaction, user: UserId, key: &str) -> Result<Option<KeyedOrder>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT id, product_id, request FROM orders WHERE user_id = ?1 AND idempotency_key = ?2",
        )?
        .query_row(params![user.0, key], |row| {
            Ok(KeyedOrder {
                id: row.get(0)?,
                product_id: row.get(1)?,
                request: row.get(2)?,
            })
        })
        .optional()?)
}

/// Resolves the order's promotion inside the transaction. A typed credit or gift
/// card code is redeemed into the account here, so the allocation that follows can
/// spend it.
fn apply_promotion(
    tx: &Transaction,
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
            let (record, redeemed) = redeem_in(&mut SqliteConnection::new(tx), user, code, now)?;
            AppliedPromotion::redeemed(record, redeemed, product, categories)
        }
    }
}

const RECEIPT_QUERY: &str = "SELECT o.id, o.product_id, p.title, p.format, o.price_cents, o.discount_cents,
        o.promotional_credit_cents, o.gift_card_cents, o.card_cents, o.card_label, o.promotion,
        o.placed_at, o.refunded_at, o.code_note
    FROM orders o JOIN products p ON p.id = o.product_id";

fn receipt_from_row(row: &Row) -> rusqlite::Result<Receipt> {
    Ok(Receipt {
        id: row.get(0)?,
        product_id: row.get(1)?,
        product_title: row.get(2)?,
        product_format: row.get(3)?,
        price: Money::from_cents(row.get(4)?),
        discount: Money::from_cents(row.get(5)?),
        promotional_credit: Money::from_cents(row.get(6)?),
        gift_card: Money::from_cents(row.get(7)?),
        card: Money::from_cents(row.get(8)?),
        card_label: row.get(9)?,
        promotion: row.get(10)?,
        placed_at: instant(row.get(11)?)?,
        refunded_at: row.get::<_, Option<i64>>(12)?.map(instant).transpose()?,
        code_note: row.get(13)?,
        drawn: Vec::new(),
        refunded_to: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CreditSource;
    use crate::store::credits::NewCredit;
    use crate::store::sqlite::testing::temporary_store;
    use time::Duration;

    #[test]
    fn a_gift_cards_share_comes_back_as_a_new_gift_card_once_it_has_expired() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        store.seed_demo_if_empty("hash", now).unwrap();
        let ann = crate::store::sqlite::testing::new_account(&store, "ann@example.com", "hash", now);
        let gift_card = NewCredit {
            kind: CreditKind::GiftCard,
            source: CreditSource::Grant,
            description: "Gift card".into(),
            amount: Money::from_cents(5000),
            expires_at: Some(now - Duration::days(1)),
            code_redemption_id: None,
        };
        store
            .grant_credit(ann, &gift_card, now - Duration::days(9))
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

        let refunded = store.refund_order(placed.order_id, now).unwrap();

        assert_eq!(refunded.credit_returned, Money::ZERO);
        assert_eq!(refunded.new_credits.len(), 1);
        let new = &refunded.new_credits[0];
        assert_eq!((new.kind, new.amount), (CreditKind::GiftCard, product.price));
        assert_eq!(new.expires_at, LastDay::days_after(now, 30).ends_at());
        assert_eq!(store.balances_for(ann, now).unwrap().gift_cards(), product.price);
        assert!(store.verify_ledger().unwrap().is_empty());
    }
}
