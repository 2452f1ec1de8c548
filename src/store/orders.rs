//! Orders: previewing and placing them (credit first, then the card), receipts,
//! history and refunds.

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::catalog::{Product, select_product};
use super::codes::{RedeemError, check_redeemable, redeem_in};
use super::credits::{credit_from_row, credit_kind, insert_credit_for_order, select_credits, spend_credit};
use super::discounts::{select_discount, use_discount};
use super::payment::select_default_card;
use super::sql::{Connection, Row, page_limit, sql, unix};
use super::{Page, Store, StoreError, StoreFailure};
use crate::domain::{
    Actor, Allocation, CardSummary, Categories, CodeRefusal, Credit, CreditId, CreditKind, CreditStatus,
    LastDay, Money, PromoCode, UserId,
};
use crate::store::rules::orders::{
    AppliedPromotion, KeyedOrder, PreviewedPromotion, file_ledger_event, order_terms, overflow_credit,
    preview_plan, refund_credit_description, replacement_credit, restored_discount, usable_saved_discount,
};

/// A receipt's columns, for a `WHERE` to follow.
macro_rules! receipt_query {
    () => {
        "SELECT o.id, o.product_id, p.title, p.format, o.price_cents, o.discount_cents,
                o.promotional_credit_cents, o.gift_card_cents, o.card_cents, o.card_label, o.promotion,
                o.placed_at, o.refunded_at, o.code_note
         FROM orders o JOIN products p ON p.id = o.product_id"
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
    /// The shares granted again as new credits (their credit has expired since,
    /// or has no room left for them).
    pub new_credits: Vec<RefundCredit>,
    /// The shares of credits an operator has revoked since: not returned (a
    /// revoked credit stays revoked).
    pub withheld: Vec<WithheldShare>,
    pub card_refunded: Money,
    /// The card refunded, when there was a card part.
    pub card_label: Option<String>,
    /// The one-time discount the order used (its description), usable again
    /// (`None` too when it has expired since).
    pub discount_restored: Option<String>,
}

/// A share of an order a refund did not return, and the revoked credit it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithheldShare {
    pub credit: CreditId,
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

impl StoreFailure for RefundError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            RefundError::Store(error) => Some(error),
            _ => None,
        }
    }
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
    pub refunded_at: Option<OffsetDateTime>,
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
                o.promotional_credit_cents, o.gift_card_cents, o.card_cents, o.refunded_at
         FROM orders o JOIN users u ON u.id = o.user_id JOIN products p ON p.id = o.product_id"
    };
}

fn order_summary_from_row(row: &Row<'_>) -> Result<OrderSummary, StoreError> {
    Ok(OrderSummary {
        id: row.get(0)?,
        placed_at: row.instant(1)?,
        user: UserId(row.get(2)?),
        email: row.get(3)?,
        name: row.get(4)?,
        product_title: row.get(5)?,
        price: Money::from_cents(row.get(6)?),
        discount: Money::from_cents(row.get(7)?),
        promotional_credit: Money::from_cents(row.get(8)?),
        gift_card: Money::from_cents(row.get(9)?),
        card: Money::from_cents(row.get(10)?),
        refunded_at: row.optional_instant(11)?,
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

fn load_product(connection: &mut dyn Connection, product_id: i64) -> Result<Product, CheckoutError> {
    select_product(connection, product_id)?.ok_or(CheckoutError::UnknownProduct)
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
        let request = promotion.request(product_id);
        let categories = self.categories();
        self.write(|tx| {
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
                select_default_card(tx, user)
            })?;
            let allocation = &terms.allocation;
            let order_id: i64 = tx.query_value(
                sql!(
                    "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, discount_cents,
                                         promotional_credit_cents, gift_card_cents, card_cents, card_label,
                                         promotion, placed_at, request, code_note)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
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
            )?;
            for draw in &allocation.draws {
                spend_credit(tx, draw.credit, draw.amount, order_id, now)?;
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
            let card_refund = connection.query_opt(
                sql!("SELECT card_label, amount_cents FROM card_refunds WHERE order_id = $1"),
                &[&order_id],
                |row| {
                    Ok(RefundedTo::Card {
                        label: row.get(0)?,
                        amount: Money::from_cents(row.get(1)?),
                    })
                },
            )?;
            receipt.refunded_to.extend(card_refund);
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

    /// Refunds an order (operator command), in one transaction. Each share paid by
    /// a credit that is still valid goes back to it (a `refund` ledger event); a
    /// share of a credit that has expired since comes back as a new credit of the
    /// same kind and categories, valid for [`REFUND_CREDIT_DAYS`] days. The card
    /// part is recorded as a card refund, and the order's one-time discount is
    /// usable again.
    pub fn refund_order(
        &self,
        actor: &Actor,
        order_id: i64,
        now: OffsetDateTime,
    ) -> Result<Refunded, RefundError> {
        self.write(|tx| {
            let (user, refunded_at, card_cents, card_label) = tx
                .query_opt(
                    sql!("SELECT user_id, refunded_at, card_cents, card_label FROM orders WHERE id = $1"),
                    &[&order_id],
                    |row| {
                        Ok((
                            UserId(row.get(0)?),
                            row.get::<Option<i64>>(1)?,
                            row.get::<i64>(2)?,
                            row.get::<Option<String>>(3)?,
                        ))
                    },
                )?
                .ok_or(RefundError::NotFound(order_id))?;
            if refunded_at.is_some() {
                return Err(RefundError::AlreadyRefunded(order_id));
            }
            // The order's own row is written first: of two refunds at once, the
            // second then conflicts on it (PostgreSQL runs it again, and it finds the
            // order refunded) before either inserts the order's card refund, whose
            // key the second would otherwise meet as a bare unique violation.
            tx.execute(
                sql!("UPDATE orders SET refunded_at = $2 WHERE id = $1"),
                &[&order_id, &unix(now)],
            )?;
            let spends: Vec<(Credit, i64, bool)> = tx.query(
                sql!(
                    "SELECT c.id, c.kind, c.category_mask, c.original_cents, c.remaining_cents, c.expires_at,
                            c.created_at, CAST(-SUM(e.amount_cents) AS BIGINT),
                            (SELECT last.kind FROM credit_events last WHERE last.credit_id = c.id
                             ORDER BY last.id DESC LIMIT 1) = 'adjust'
                     FROM credit_events e JOIN credits c ON c.id = e.credit_id
                     WHERE e.order_id = $1 AND e.kind = 'spend' GROUP BY c.id ORDER BY c.id"
                ),
                &[&order_id],
                |row| {
                    let credit = credit_from_row(row)?;
                    let emptied_by_operator = row.get::<Option<bool>>(8)?.unwrap_or(false);
                    let revoked =
                        CreditStatus::of(&credit, emptied_by_operator, now) == CreditStatus::Revoked;
                    Ok((credit, row.get(7)?, revoked))
                },
            )?;
            let mut credit_returned = 0;
            let mut new_credits = Vec::new();
            let mut withheld = Vec::new();
            for (credit, cents, revoked) in spends {
                if revoked {
                    withheld.push(WithheldShare {
                        credit: credit.id,
                        amount: Money::from_cents(cents),
                    });
                    continue;
                }
                if let Some(replacement) = replacement_credit(&credit, cents, order_id, now) {
                    let id = insert_credit_for_order(
                        tx,
                        user,
                        &replacement.credit,
                        Some(order_id),
                        Some(actor),
                        now,
                    )?;
                    new_credits.push(replacement.granted(id));
                    continue;
                }
                // An operator may have raised the credit since: what no longer fits
                // in what it was worth comes back as a new credit beside it.
                let room = credit.original.cents() - credit.remaining.cents();
                let back = cents.min(room).max(0);
                if back > 0 {
                    tx.execute(
                        sql!("UPDATE credits SET remaining_cents = remaining_cents + $2 WHERE id = $1"),
                        &[&credit.id.0, &back],
                    )?;
                    tx.execute(
                        sql!(
                            "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, note, created_at, actor)
                             VALUES ($1, 'refund', $2, $3, 'Order refunded', $4, $5)"
                        ),
                        &[&credit.id.0, &back, &order_id, &unix(now), &actor.to_string()],
                    )?;
                    credit_returned += back;
                }
                if cents > back {
                    let overflow = overflow_credit(&credit, cents - back, order_id);
                    let id = insert_credit_for_order(
                        tx,
                        user,
                        &overflow.credit,
                        Some(order_id),
                        Some(actor),
                        now,
                    )?;
                    new_credits.push(overflow.granted(id));
                }
            }
            if card_cents > 0 {
                tx.execute(
                    sql!(
                        "INSERT INTO card_refunds (order_id, amount_cents, card_label, refunded_at)
                         VALUES ($1, $2, $3, $4)"
                    ),
                    &[
                        &order_id,
                        &card_cents,
                        &card_label.clone().unwrap_or_default(),
                        &unix(now),
                    ],
                )?;
            }
            let released = tx.query_opt(
                sql!(
                    "UPDATE discounts SET used_by_order_id = NULL WHERE used_by_order_id = $1
                     RETURNING description, expires_at"
                ),
                &[&order_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let discount_restored = restored_discount(released, now);
            let back_to_credits: i64 = credit_returned
                + new_credits.iter().map(|new| new.amount.cents()).sum::<i64>();
            audit::record(
                tx,
                actor,
                &Change::new(AuditAction::OrderRefund, format!("order:{order_id}"))
                    .customer(user)
                    .before("not refunded")
                    .after(format!(
                        "refunded: {} to credit, {} to the card, {} withheld",
                        Money::from_cents(back_to_credits),
                        Money::from_cents(card_cents),
                        Money::from_cents(withheld.iter().map(|share| share.amount.cents()).sum()),
                    )),
                now,
            )?;
            Ok(Refunded {
                credit_returned: Money::from_cents(credit_returned),
                new_credits,
                withheld,
                card_refunded: Money::from_cents(card_cents),
                card_label: card_label.filter(|_| card_cents > 0),
                discount_restored,
            })
        })
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
            let card_refund = connection.query_opt(
                sql!("SELECT amount_cents, card_label FROM card_refunds WHERE order_id = $1"),
                &[&order_id],
                |row| Ok((Money::from_cents(row.get(0)?), row.get(1)?)),
            )?;
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

fn order_with_key(
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

fn receipt_from_row(row: &Row<'_>) -> Result<Receipt, StoreError> {
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
        placed_at: row.instant(11)?,
        refunded_at: row.optional_instant(12)?,
        code_note: row.get(13)?,
        drawn: Vec::new(),
        refunded_to: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use time::Duration;

    use super::*;
    use crate::domain::{CardSummary, CreditKind, CreditSource, DisplayName, Email, PromoCode};
    use crate::store::credits::NewCredit;
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

            let refunded = store.refund_order(&tester(), past, now).unwrap();

            assert_eq!(refunded.credit_returned, Money::from_cents(99));
            assert!(refunded.new_credits.is_empty());
            assert_eq!(refunded.card_refunded, Money::ZERO);
            assert_eq!(
                balance_of(&store, demo, "music", now),
                music_before + Money::from_cents(99)
            );
            assert!(
                matches!(store.refund_order(&tester(), past, now), Err(RefundError::AlreadyRefunded(id)) if id == past)
            );
            assert!(matches!(
                store.refund_order(&tester(), 999_999, now),
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

            let refunded = store.refund_order(&tester(), placed.order_id, now).unwrap();

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

            let refunded = store.refund_order(&tester(), order, now).unwrap();

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

            let refunded = store.refund_order(&tester(), order, now).unwrap();

            assert_eq!(refunded.credit_returned, Money::ZERO, "{}", store.engine_name());
            assert!(refunded.new_credits.is_empty());
            assert_eq!(
                refunded.withheld,
                [WithheldShare {
                    credit,
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
                        store.refund_order(&tester(), order, now)
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

            let card_refund = store.refund_order(&tester(), on_card.order_id, now).unwrap();
            let discount_refund = store.refund_order(&tester(), placed.order_id, now).unwrap();

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
