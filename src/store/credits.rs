//! Credits and their ledger: granting, spending, balances and the ledger check.
//!
//! Written once for both engines on the store's SQL layer. The pop-up's
//! balances ([`balances`]) are the hot read: [`Store::balances_for`] runs them
//! through [`Store::read_hot`], and [`OnWorker::balances_for`] runs the same
//! body on the SQLite worker thread's own reader.
//!
//! [`OnWorker::balances_for`]: super::OnWorker::balances_for

use std::sync::Arc;

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::categories::insert_category_refs;
use super::sql::{Connection, Row, Sql, page_limit, sql, unix};
use super::{Page, Store, StoreError, StoreFailure, outbox};
use crate::domain::{
    Actor, Adjustment, AdjustmentReason, Balances, Categories, CategorySet, Credit, CreditId, CreditKind,
    CreditSource, CreditStatus, LastDay, Money, Soon, UserId,
};
use crate::mail::messages::{self, GrantFacts};

/// A credit about to be granted.
#[derive(Debug, Clone)]
pub struct NewCredit {
    pub kind: CreditKind,
    pub source: CreditSource,
    pub description: String,
    pub amount: Money,
    pub expires_at: Option<OffsetDateTime>,
    pub code_redemption_id: Option<i64>,
}

/// One change in a credit's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEvent {
    pub kind: LedgerEventKind,
    /// The signed change to the credit's remaining amount, in cents.
    pub change_cents: i64,
    pub order_id: Option<i64>,
    pub at: OffsetDateTime,
    /// Who made it, when staff or an operator command did (`staff:<email>`,
    /// `cli:<user>`); `None` for a shopper's own spending and older events.
    pub actor: Option<String>,
    /// The reason an operator gave for it.
    pub note: Option<String>,
}

/// What a ledger event was (the `credit_events.kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerEventKind {
    Grant,
    Spend,
    Refund,
    Adjust,
}

impl LedgerEventKind {
    /// A ledger event's kind from the `credit_events.kind` column.
    fn parse(column: &str) -> Result<LedgerEventKind, StoreError> {
        Ok(match column {
            "grant" => LedgerEventKind::Grant,
            "spend" => LedgerEventKind::Spend,
            "refund" => LedgerEventKind::Refund,
            "adjust" => LedgerEventKind::Adjust,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "an unknown ledger event kind {column:?}"
                )));
            }
        })
    }
}

/// A credit with where it came from and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditActivity {
    pub credit: Credit,
    pub source: CreditSource,
    pub description: String,
    /// Newest first.
    pub events: Vec<LedgerEvent>,
    /// The ledger has older entries than `events` holds.
    pub earlier_events: bool,
}

/// A credit whose ledger does not add up (what `storecredit ledger verify` reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerMismatch {
    pub credit_id: CreditId,
    pub user_id: UserId,
    pub original: i64,
    pub granted: i64,
    pub remaining: i64,
    pub ledger_sum: i64,
}

/// A credit as an operator lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCredit {
    pub credit: Credit,
    pub source: CreditSource,
    pub description: String,
    /// The last change to it was an operator's adjustment.
    pub last_changed_by_operator: bool,
}

impl AccountCredit {
    pub fn status(&self, now: OffsetDateTime) -> CreditStatus {
        CreditStatus::of(&self.credit, self.last_changed_by_operator, now)
    }
}

/// A credit before and after an operator's adjustment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjusted {
    pub credit: CreditId,
    pub user: UserId,
    pub original: Money,
    pub before: Money,
    pub after: Money,
}

/// Why an adjustment was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum AdjustError {
    #[error("there is no credit {0}")]
    NotFound(i64),
    #[error("credit {credit} has only {remaining} left: taking {taken} would leave less than $0.00")]
    BelowZero {
        credit: i64,
        remaining: Money,
        taken: Money,
    },
    #[error(
        "credit {credit} was {original} and has {remaining} left: adding {added} would leave more \
         than it was worth (grant a new credit instead)"
    )]
    AboveOriginal {
        credit: i64,
        original: Money,
        remaining: Money,
        added: Money,
    },
    #[error("credit {0} has nothing left to revoke")]
    NothingLeft(i64),
    #[error("credit {0} was revoked, and a revoked credit stays revoked (grant a new credit instead)")]
    Revoked(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for AdjustError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            AdjustError::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// What the balances need of account $1's credits that are live at unix time $2:
/// the index `credits_by_user_covering` answers it alone on both engines (see
/// the plan tests). A credit's categories come from `category_mask`, which the
/// database keeps equal to its rows in `credit_categories`.
const LIVE_CREDITS: &Sql = sql!(
    "SELECT kind, category_mask, remaining_cents, expires_at FROM credits \
     WHERE user_id = $1 AND remaining_cents > 0 AND (expires_at IS NULL OR expires_at > $2)"
);

/// A credit's columns, in the order [`credit_from_row`] reads them.
macro_rules! credit_columns {
    () => {
        "c.id, c.kind, c.category_mask, c.original_cents, c.remaining_cents, c.expires_at, c.created_at"
    };
}

/// The popup's balances from one query over the account's live credits
/// (SPEC §2), counted by the domain's rule as the rows come: the kind is read
/// borrowed from the row, nothing is collected.
///
/// Summed in Rust rather than with a `SUM(…) FILTER` aggregate per line in SQL,
/// which would evaluate every filter, string compares included, for every row.
pub(crate) fn balances(
    connection: &mut dyn Connection,
    categories: Arc<Categories>,
    user: UserId,
    now: OffsetDateTime,
) -> Result<Balances, StoreError> {
    let mut balances = Balances::none(categories);
    let soon = Soon::from(now);
    connection.for_each_row(LIVE_CREDITS, &[&user.0, &unix(now)], &mut |row| {
        let kind = credit_kind(row.text(0)?, row.get(1)?)?;
        let expires_at = row.optional_instant(3)?;
        balances.count(kind, Money::from_cents(row.get(2)?), expires_at, &soon);
        Ok(())
    })?;
    Ok(balances)
}

/// Every credit of an account, newest first, on the caller's connection.
pub(crate) fn select_credits(
    connection: &mut dyn Connection,
    user: UserId,
) -> Result<Vec<Credit>, StoreError> {
    connection.query(
        sql!(concat!(
            "SELECT ",
            credit_columns!(),
            " FROM credits c WHERE c.user_id = $1 ORDER BY c.created_at DESC, c.id DESC"
        )),
        &[&user.0],
        credit_from_row,
    )
}

/// A credit's kind from its `kind` column and its categories folded into bits:
/// a promotional credit has at least one.
pub(crate) fn credit_kind(kind: &str, categories: i64) -> Result<CreditKind, StoreError> {
    if kind == "gift_card" {
        return Ok(CreditKind::GiftCard);
    }
    let categories = CategorySet::from_bits(categories);
    if categories.is_empty() {
        return Err(StoreError::Corrupt(
            "a promotional credit valid for no category".to_owned(),
        ));
    }
    Ok(CreditKind::Promotional(categories))
}

/// A credit from the columns `id, kind, category_mask, original_cents,
/// remaining_cents, expires_at, created_at`, in that order from the row's start.
pub(crate) fn credit_from_row(row: &Row) -> Result<Credit, StoreError> {
    Ok(Credit {
        id: CreditId(row.get(0)?),
        kind: credit_kind(row.text(1)?, row.get(2)?)?,
        original: Money::from_cents(row.get(3)?),
        remaining: Money::from_cents(row.get(4)?),
        expires_at: row.optional_instant(5)?,
        created_at: row.instant(6)?,
    })
}

/// Inserts a credit and its `grant` event inside the caller's transaction.
pub(crate) fn insert_credit(
    connection: &mut dyn Connection,
    user: UserId,
    credit: &NewCredit,
    now: OffsetDateTime,
) -> Result<CreditId, StoreError> {
    insert_credit_for_order(connection, user, credit, None, None, now)
}

/// [`insert_credit`], with its grant event naming the order it comes from (a
/// refund's new credit), so the order's receipt can say where its money went,
/// and who made it (staff or a command), when someone did.
/// A promotional credit with no category is refused before anything is written.
pub(crate) fn insert_credit_for_order(
    connection: &mut dyn Connection,
    user: UserId,
    credit: &NewCredit,
    order_id: Option<i64>,
    actor: Option<&Actor>,
    now: OffsetDateTime,
) -> Result<CreditId, StoreError> {
    if matches!(credit.kind, CreditKind::Promotional(categories) if categories.is_empty()) {
        return Err(StoreError::Corrupt(
            "a promotional credit needs a category".into(),
        ));
    }
    let id = CreditId(connection.query_value(
        sql!(
            "INSERT INTO credits (user_id, kind, source, description, code_redemption_id,
                                  original_cents, remaining_cents, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id"
        ),
        &[
            &user.0,
            &credit.kind.as_str(),
            &credit.source.as_str(),
            &credit.description,
            &credit.code_redemption_id,
            &credit.amount.cents(),
            &credit.expires_at.map(unix),
            &unix(now),
        ],
    )?);
    if let CreditKind::Promotional(categories) = credit.kind {
        insert_category_refs(
            connection,
            sql!("INSERT INTO credit_categories (credit_id, category_id) VALUES ($1, $2)"),
            id.0,
            categories,
        )?;
    }
    connection.execute(
        sql!(
            "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, created_at, actor)
             VALUES ($1, 'grant', $2, $3, $4, $5)"
        ),
        &[
            &id.0,
            &credit.amount.cents(),
            &order_id,
            &unix(now),
            &actor.map(Actor::to_string),
        ],
    )?;
    Ok(id)
}

/// Takes `amount` from a credit for an order, with its `spend` event. Refuses (with
/// nothing written) rather than let the credit go below zero.
pub(crate) fn spend_credit(
    connection: &mut dyn Connection,
    credit: CreditId,
    amount: Money,
    order_id: i64,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let changed = connection.execute(
        sql!(
            "UPDATE credits SET remaining_cents = remaining_cents - $2
             WHERE id = $1 AND remaining_cents >= $2"
        ),
        &[&credit.0, &amount.cents()],
    )?;
    if changed != 1 {
        return Err(StoreError::Corrupt(format!(
            "credit {} cannot pay {amount}",
            credit.0
        )));
    }
    connection.execute(
        sql!(
            "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, created_at)
             VALUES ($1, 'spend', $2, $3, $4)"
        ),
        &[&credit.0, &-amount.cents(), &order_id, &unix(now)],
    )?;
    Ok(())
}

/// A ledger event from the columns `kind, amount_cents, order_id, created_at,
/// actor, note`.
fn ledger_event_from_row(row: &Row) -> Result<LedgerEvent, StoreError> {
    Ok(LedgerEvent {
        kind: LedgerEventKind::parse(row.text(0)?)?,
        change_cents: row.get(1)?,
        order_id: row.get(2)?,
        at: row.instant(3)?,
        actor: row.get(4)?,
        note: row.get(5)?,
    })
}

/// A credit's amounts as they stand inside the caller's transaction.
fn credit_amounts(connection: &mut dyn Connection, credit: CreditId) -> Result<Adjusted, AdjustError> {
    connection
        .query_opt(
            sql!("SELECT user_id, original_cents, remaining_cents FROM credits WHERE id = $1"),
            &[&credit.0],
            |row| {
                let remaining = Money::from_cents(row.get(2)?);
                Ok(Adjusted {
                    credit,
                    user: UserId(row.get(0)?),
                    original: Money::from_cents(row.get(1)?),
                    before: remaining,
                    after: remaining,
                })
            },
        )?
        .ok_or(AdjustError::NotFound(credit.0))
}

/// The change, in cents, that `adjustment` makes to a credit standing at
/// `current`: refused when it would leave less than zero or more than the
/// credit was worth.
fn adjustment_change(current: &Adjusted, adjustment: Adjustment) -> Result<i64, AdjustError> {
    let after = current.before.cents() + adjustment.change_cents();
    match adjustment {
        Adjustment::Take(taken) if after < 0 => Err(AdjustError::BelowZero {
            credit: current.credit.0,
            remaining: current.before,
            taken,
        }),
        Adjustment::Add(added) if after > current.original.cents() => Err(AdjustError::AboveOriginal {
            credit: current.credit.0,
            original: current.original,
            remaining: current.before,
            added,
        }),
        _ => Ok(adjustment.change_cents()),
    }
}

/// A raise is never put onto a revoked credit (emptied by an operator's last
/// adjustment): that would undo the revocation.
pub(crate) fn refuse_raising_a_revoked_credit(
    connection: &mut dyn Connection,
    credit: CreditId,
) -> Result<(), AdjustError> {
    let revoked: Option<bool> = connection.query_opt(
        sql!(
            "SELECT c.remaining_cents = 0
                    AND COALESCE((SELECT e.kind FROM credit_events e WHERE e.credit_id = c.id
                                  ORDER BY e.id DESC LIMIT 1) = 'adjust', FALSE)
             FROM credits c WHERE c.id = $1"
        ),
        &[&credit.0],
        |row| row.get(0),
    )?;
    match revoked {
        Some(true) => Err(AdjustError::Revoked(credit.0)),
        _ => Ok(()),
    }
}

/// The change, in cents, that revoking a credit standing at `current` makes:
/// all that remains, refused when nothing does.
fn revocation_change(current: &Adjusted) -> Result<i64, AdjustError> {
    if current.before.is_zero() {
        return Err(AdjustError::NothingLeft(current.credit.0));
    }
    Ok(-current.before.cents())
}

/// Applies a checked, non-zero change and its `adjust` event.
fn record_adjustment(
    connection: &mut dyn Connection,
    actor: &Actor,
    action: AuditAction,
    current: Adjusted,
    change_cents: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Adjusted, AdjustError> {
    connection.execute(
        sql!("UPDATE credits SET remaining_cents = remaining_cents + $2 WHERE id = $1"),
        &[&current.credit.0, &change_cents],
    )?;
    connection.execute(
        sql!(
            "INSERT INTO credit_events (credit_id, kind, amount_cents, note, created_at, actor)
             VALUES ($1, 'adjust', $2, $3, $4, $5)"
        ),
        &[
            &current.credit.0,
            &change_cents,
            &reason,
            &unix(now),
            &actor.to_string(),
        ],
    )?;
    let adjusted = Adjusted {
        after: Money::from_cents(current.before.cents() + change_cents),
        ..current
    };
    audit::record(
        connection,
        actor,
        &Change::new(action, format!("credit:{}", adjusted.credit.0))
            .customer(adjusted.user)
            .before(format!("{} remaining", adjusted.before))
            .after(format!("{} remaining", adjusted.after))
            .reason(reason),
        now,
    )?;
    Ok(adjusted)
}

/// Grants a credit inside the caller's transaction: the credit, its `grant`
/// ledger event naming `actor`, and its audit entry with `reason`.
pub(crate) fn grant_in(
    connection: &mut dyn Connection,
    categories: &Categories,
    actor: &Actor,
    user: UserId,
    credit: &NewCredit,
    reason: &str,
    now: OffsetDateTime,
) -> Result<CreditId, StoreError> {
    let id = insert_credit_for_order(connection, user, credit, None, Some(actor), now)?;
    audit::record(
        connection,
        actor,
        &Change::new(AuditAction::CreditGrant, format!("credit:{}", id.0))
            .customer(user)
            .after(describe_new_credit(categories, credit))
            .reason(reason),
        now,
    )?;
    let grant = GrantFacts {
        amount: credit.amount,
        valid_for: match credit.kind {
            CreditKind::GiftCard => "anything in the store (a gift card balance)".to_owned(),
            CreditKind::Promotional(valid) => categories.describe(valid),
        },
        last_day: credit.expires_at.map(|ends| LastDay::of(ends).to_string()),
        description: credit.description.clone(),
    };
    let (recipient, origin) = (
        outbox::recipient_in(connection, user)?,
        outbox::site_origin_in(connection)?,
    );
    outbox::enqueue(
        connection,
        &messages::credit_granted(&recipient, &origin, &grant)?,
        now,
    )?;
    Ok(id)
}

/// Adjusts a credit inside the caller's transaction, as
/// [`Store::adjust_credit`] does: what remains is read here, so the adjustment
/// is checked against the credit as it stands in this transaction.
pub(crate) fn adjust_in(
    connection: &mut dyn Connection,
    actor: &Actor,
    credit: CreditId,
    adjustment: Adjustment,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Adjusted, AdjustError> {
    if let Adjustment::Add(_) = adjustment {
        refuse_raising_a_revoked_credit(connection, credit)?;
    }
    let current = credit_amounts(connection, credit)?;
    let change = adjustment_change(&current, adjustment)?;
    record_adjustment(
        connection,
        actor,
        AuditAction::CreditAdjust,
        current,
        change,
        reason,
        now,
    )
}

/// A new credit as the audit trail writes it: "$10.00 promotional (music,
/// kindle), last day 2027-01-31".
pub(crate) fn describe_new_credit(categories: &Categories, credit: &NewCredit) -> String {
    let kind = match credit.kind {
        CreditKind::GiftCard => "gift card".to_owned(),
        CreditKind::Promotional(set) => format!("promotional ({})", categories.slugs(set)),
    };
    match credit.expires_at {
        Some(expires) => format!(
            "{} {kind}, last day {}",
            credit.amount,
            crate::domain::format_last_day(expires)
        ),
        None => format!("{} {kind}, no expiry", credit.amount),
    }
}

impl Store {
    /// The five pop-up balances (see [`OnWorker::balances_for`] for the same read
    /// on the worker): an indexed read of a handful of rows, on SQLite on the
    /// calling thread's own reader.
    ///
    /// [`OnWorker::balances_for`]: super::OnWorker::balances_for
    pub fn balances_for(&self, user: UserId, now: OffsetDateTime) -> Result<Balances, StoreError> {
        let categories = self.categories();
        self.read_hot(|connection| balances(connection, categories, user, now))
    }

    /// The account a credit belongs to; `None` for an unknown credit.
    pub fn credit_owner(&self, credit: CreditId) -> Result<Option<UserId>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!("SELECT user_id FROM credits WHERE id = $1"),
                &[&credit.0],
                |row| Ok(UserId(row.get(0)?)),
            )
        })
    }

    /// Every credit of an account, newest first, expired ones included.
    pub fn credits_of(&self, user: UserId) -> Result<Vec<Credit>, StoreError> {
        self.read(|connection| select_credits(connection, user))
    }

    /// Every credit of an account (newest first) with its whole ledger (newest
    /// first), expired and used-up ones included.
    pub fn credit_activity(&self, user: UserId) -> Result<Vec<CreditActivity>, StoreError> {
        Ok(self
            .credit_activity_page(user, None, usize::MAX, usize::MAX)?
            .entries)
    }

    /// A page of an account's credits, newest first, each with its latest ledger
    /// entries: up to `size` credits older than the credit `before`, each with
    /// its latest `events` ledger entries. Index range reads only, all from one
    /// snapshot, so a page costs the same however long the account's history is
    /// and its ledgers agree with its credits.
    pub fn credit_activity_page(
        &self,
        user: UserId,
        before: Option<i64>,
        size: usize,
        events: usize,
    ) -> Result<Page<CreditActivity>, StoreError> {
        self.read_consistent(|connection| {
            let rows = connection.query(
                sql!(concat!(
                    "SELECT ",
                    credit_columns!(),
                    ", c.source, c.description
                     FROM credits c WHERE c.user_id = $1 AND c.id < $2 ORDER BY c.id DESC LIMIT $3"
                )),
                &[&user.0, &before.unwrap_or(i64::MAX), &page_limit(size)],
                |row| {
                    Ok(CreditActivity {
                        credit: credit_from_row(row)?,
                        source: CreditSource::parse(row.text(7)?).unwrap_or(CreditSource::Grant),
                        description: row.get(8)?,
                        events: Vec::new(),
                        earlier_events: false,
                    })
                },
            )?;
            let mut page = Page::of(rows, size, |entry| entry.credit.id.0);
            for entry in &mut page.entries {
                let mut latest = connection.query(
                    sql!(
                        "SELECT kind, amount_cents, order_id, created_at, actor, note FROM credit_events
                         WHERE credit_id = $1 ORDER BY id DESC LIMIT $2"
                    ),
                    &[&entry.credit.id.0, &page_limit(events)],
                    ledger_event_from_row,
                )?;
                entry.earlier_events = latest.len() > events;
                latest.truncate(events);
                entry.events = latest;
            }
            Ok(page)
        })
    }

    /// Grants a credit (staff or an operator command) with its `grant` ledger
    /// event naming `actor`, and its audit entry with the reason, in one
    /// transaction.
    pub fn grant_credit(
        &self,
        actor: &Actor,
        user: UserId,
        credit: &NewCredit,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<CreditId, StoreError> {
        let categories = self.categories();
        self.write(|connection| grant_in(connection, &categories, actor, user, credit, reason.as_str(), now))
    }

    /// The credits whose ledger does not add up: every credit whose remaining
    /// amount differs from the sum of its ledger events, or whose grants differ
    /// from its original amount.
    pub fn verify_ledger(&self) -> Result<Vec<LedgerMismatch>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(
                    "SELECT c.id, c.user_id, c.original_cents, c.remaining_cents,
                            CAST(COALESCE(SUM(e.amount_cents) FILTER (WHERE e.kind = 'grant'), 0) AS BIGINT),
                            CAST(COALESCE(SUM(e.amount_cents), 0) AS BIGINT)
                     FROM credits c LEFT JOIN credit_events e ON e.credit_id = c.id
                     GROUP BY c.id
                     HAVING c.remaining_cents <> COALESCE(SUM(e.amount_cents), 0)
                         OR c.original_cents <> COALESCE(SUM(e.amount_cents) FILTER (WHERE e.kind = 'grant'), 0)
                     ORDER BY c.id"
                ),
                &[],
                |row| {
                    Ok(LedgerMismatch {
                        credit_id: CreditId(row.get(0)?),
                        user_id: UserId(row.get(1)?),
                        original: row.get(2)?,
                        remaining: row.get(3)?,
                        granted: row.get(4)?,
                        ledger_sum: row.get(5)?,
                    })
                },
            )
        })
    }

    /// Every credit of an account, newest first, with where it came from and
    /// whether an operator made the last change to it.
    pub fn account_credits(&self, user: UserId) -> Result<Vec<AccountCredit>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(concat!(
                    "SELECT ",
                    credit_columns!(),
                    ", c.source, c.description,
                            (SELECT e.kind FROM credit_events e WHERE e.credit_id = c.id
                             ORDER BY e.id DESC LIMIT 1) = 'adjust'
                     FROM credits c WHERE c.user_id = $1 ORDER BY c.created_at DESC, c.id DESC"
                )),
                &[&user.0],
                |row| {
                    Ok(AccountCredit {
                        credit: credit_from_row(row)?,
                        source: CreditSource::parse(row.text(7)?).unwrap_or(CreditSource::Grant),
                        description: row.get(8)?,
                        last_changed_by_operator: row.get::<Option<bool>>(9)?.unwrap_or(false),
                    })
                },
            )
        })
    }

    /// Changes what remains of a credit by an operator's adjustment, with an
    /// `adjust` ledger event carrying the reason, in one transaction. The amount
    /// remaining is read inside it, so an order spending the credit at the same
    /// moment is counted either wholly before or wholly after: the credit never
    /// goes below zero nor above what it was worth.
    pub fn adjust_credit(
        &self,
        actor: &Actor,
        credit: CreditId,
        adjustment: Adjustment,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<Adjusted, AdjustError> {
        self.write(|connection| adjust_in(connection, actor, credit, adjustment, reason.as_str(), now))
    }

    /// Takes everything that remains of a credit (an operator's `adjust` event of
    /// minus the remaining amount, with the reason), in one transaction.
    pub fn revoke_credit(
        &self,
        actor: &Actor,
        credit: CreditId,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<Adjusted, AdjustError> {
        self.write(|connection| {
            let current = credit_amounts(connection, credit)?;
            let change = revocation_change(&current)?;
            record_adjustment(
                connection,
                actor,
                AuditAction::CreditRevoke,
                current,
                change,
                reason.as_str(),
                now,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::Duration;

    use super::*;
    use crate::domain::category::{seeded, set};
    use crate::store::Engine;
    use crate::store::testing::{TestStore, each_engine, new_account, tester};

    fn account(store: &Store, email: &str) -> UserId {
        new_account(store, email, "hash", OffsetDateTime::now_utc())
    }

    /// A product and an order of it by `user` for `cents`, paid by promotional
    /// credit, written directly: the order a spend names.
    fn order_row(
        connection: &mut dyn Connection,
        user: UserId,
        cents: i64,
        key: &str,
    ) -> Result<i64, StoreError> {
        let product: i64 = connection.query_value(
            sql!(
                "INSERT INTO products (category_id, format, title, creator, description, price_cents)
                 VALUES (1, 'Track', 't', 'c', 'd', $1) RETURNING id"
            ),
            &[&cents],
        )?;
        connection.query_value(
            sql!(
                "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents,
                                     promotional_credit_cents, placed_at)
                 VALUES ($1, $2, $3, $4, $4, 0) RETURNING id"
            ),
            &[&user.0, &product, &key, &cents],
        )
    }

    fn music() -> crate::domain::CategoryId {
        seeded().by_slug("music").unwrap().id()
    }

    fn promo(categories: &str, cents: i64, expires_at: Option<OffsetDateTime>) -> NewCredit {
        NewCredit {
            kind: CreditKind::Promotional(set(categories)),
            source: CreditSource::Grant,
            description: "test credit".into(),
            amount: Money::from_cents(cents),
            expires_at,
            code_redemption_id: None,
        }
    }

    fn reason(text: &str) -> AdjustmentReason {
        AdjustmentReason::parse(text).unwrap()
    }

    #[test]
    fn the_balances_are_read_from_the_covering_index_alone() {
        for TestStore { store, .. } in each_engine() {
            let plan: Vec<String> = match &store.engine {
                Engine::Sqlite(sqlite) => sqlite
                    .read(|connection| {
                        let mut explain =
                            connection.prepare(&format!("EXPLAIN QUERY PLAN {}", LIVE_CREDITS.sqlite()))?;
                        let details = explain
                            .query_map(rusqlite::params![1, 0], |row| row.get::<_, String>(3))?
                            .collect::<Result<_, _>>()?;
                        Ok(details)
                    })
                    .unwrap(),
                Engine::Postgres(postgres) => postgres
                    .write(|tx| {
                        // The planner prefers a scan of a table this small; what
                        // matters is that the index can answer alone when the
                        // table is large.
                        tx.batch_execute(
                            "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off",
                        )?;
                        Ok(tx
                            .query(&format!("EXPLAIN {}", LIVE_CREDITS.postgres()), &[&1i64, &0i64])?
                            .iter()
                            .map(|row| row.get(0))
                            .collect())
                    })
                    .unwrap(),
            };
            match &store.engine {
                Engine::Sqlite(_) => assert_eq!(
                    plan,
                    ["SEARCH credits USING COVERING INDEX credits_by_user_covering (user_id=?)"]
                ),
                Engine::Postgres(_) => assert!(
                    plan[0].starts_with("Index Only Scan using credits_by_user_covering on credits"),
                    "{plan:?}"
                ),
            }
        }
    }

    #[test]
    fn the_worker_reads_the_same_balances_as_the_store() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music", 1000, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            let balances = store.balances_for(user, now).unwrap();
            assert_eq!(balances.of_category(music()), Money::from_cents(1000));
            if let Some(here) = store.on_worker() {
                assert_eq!(here.balances_for(user, now).unwrap(), balances);
            }
        }
    }

    #[test]
    fn a_shared_credit_shows_in_each_of_its_balances() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music,kindle", 1000, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            let balances = store.balances_for(user, now).unwrap();
            let id = |slug| seeded().by_slug(slug).unwrap().id();
            assert_eq!(balances.of_category(id("music")), Money::from_cents(1000));
            assert_eq!(balances.of_category(id("kindle")), Money::from_cents(1000));
            assert_eq!(balances.of_category(id("video")), Money::ZERO);
        }
    }

    #[test]
    fn a_promotional_credit_for_no_category_is_refused_and_writes_nothing() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let nowhere = NewCredit {
                kind: CreditKind::Promotional(CategorySet::EMPTY),
                ..promo("music", 1000, None)
            };
            let outcome = store.grant_credit(
                &tester(),
                user,
                &nowhere,
                &AdjustmentReason::parse("test").unwrap(),
                now,
            );
            assert!(matches!(outcome, Err(StoreError::Corrupt(_))), "{outcome:?}");
            assert!(store.credits_of(user).unwrap().is_empty());
        }
    }

    #[test]
    fn the_database_keeps_a_credits_mask_equal_to_its_categories_and_its_ledger_append_only() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music,video", 1000, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            let mask: i64 = store
                .read(|c| {
                    c.query_value(
                        sql!("SELECT category_mask FROM credits WHERE id = $1"),
                        &[&credit.0],
                    )
                })
                .unwrap();
            assert_eq!(CategorySet::from_bits(mask), set("music,video"));
            for tampering in [
                sql!("UPDATE credits SET category_mask = 1"),
                sql!("DELETE FROM credit_categories"),
                sql!("UPDATE credit_categories SET category_id = 4"),
                sql!("UPDATE credit_events SET amount_cents = 1"),
                sql!("DELETE FROM credit_events"),
            ] {
                let outcome: Result<u64, StoreError> = store.write(|c| c.execute(tampering, &[]));
                assert!(
                    outcome.is_err(),
                    "{}: {}",
                    store.engine_name(),
                    tampering.postgres()
                );
            }
            assert_eq!(
                store.credits_of(user).unwrap()[0].kind,
                CreditKind::Promotional(set("music,video"))
            );
        }
    }

    #[test]
    fn another_accounts_credit_is_not_counted() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let other = account(&store, "other@example.com");
            let now = OffsetDateTime::now_utc();
            store
                .grant_credit(
                    &tester(),
                    other,
                    &promo("music", 700, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            assert_eq!(
                store.balances_for(user, now).unwrap(),
                Balances::none(store.categories())
            );
        }
    }

    fn arbitrary_credit() -> impl Strategy<Value = (bool, i64, i64, Option<i64>)> {
        // (gift card?, category bits, cents, expiry offset in hours from now)
        (
            any::<bool>(),
            1i64..=15,
            1i64..=50_000,
            proptest::option::of(-48i64..48),
        )
    }

    #[test]
    fn the_balance_query_agrees_with_the_domain_rule() {
        for TestStore { store, .. } in each_engine() {
            let case = std::cell::Cell::new(0);
            // One database for every case (making one costs more than the
            // case), a new account for each.
            proptest!(ProptestConfig::with_cases(16), |(
                credits in proptest::collection::vec(arbitrary_credit(), 0..12),
                spent_percent in 0i64..=100,
            )| {
                case.set(case.get() + 1);
                let user = account(&store, &format!("shopper{}@example.com", case.get()));
                let now = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
                for (i, (gift, bits, cents, expiry)) in credits.iter().enumerate() {
                    let kind = if *gift {
                        CreditKind::GiftCard
                    } else {
                        CreditKind::Promotional(CategorySet::from_bits(*bits))
                    };
                    let credit = NewCredit {
                        kind,
                        source: CreditSource::Grant,
                        description: format!("credit {i}"),
                        amount: Money::from_cents(*cents),
                        expires_at: expiry.map(|h| now + Duration::hours(h)),
                        code_redemption_id: None,
                    };
                    store.grant_credit(&tester(), user, &credit, &AdjustmentReason::parse("test").unwrap(), now - Duration::days(1)).unwrap();
                }
                // Spend part of every credit so the rule sees remaining, not original.
                store.write(|c| {
                    let order = order_row(c, user, 1, "k")?;
                    for credit in select_credits(c, user)? {
                        let spend = credit.original.cents() * spent_percent / 100;
                        if spend > 0 {
                            spend_credit(c, credit.id, Money::from_cents(spend), order, now)?;
                        }
                    }
                    Ok::<_, StoreError>(())
                }).unwrap();
                let from_sql = store.balances_for(user, now).unwrap();
                let from_rule = Balances::tally(store.categories(), &store.credits_of(user).unwrap(), now);
                prop_assert_eq!(from_sql, from_rule);
                prop_assert!(store.verify_ledger().unwrap().is_empty());
            });
        }
    }

    #[test]
    fn an_adjustment_changes_the_credit_and_its_ledger_together() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music", 1000, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();

            let taken = Adjustment::parse("-2.50").unwrap();
            let adjusted = store
                .adjust_credit(&tester(), credit, taken, &reason("double grant"), now)
                .unwrap();

            assert_eq!(
                (adjusted.before, adjusted.after),
                (Money::from_cents(1000), Money::from_cents(750))
            );
            assert_eq!(
                store.balances_for(user, now).unwrap().of_category(music()),
                Money::from_cents(750)
            );
            assert!(store.verify_ledger().unwrap().is_empty());
            let note: String = store
                .read(|c| {
                    c.query_value(
                        sql!("SELECT note FROM credit_events WHERE kind = 'adjust' AND amount_cents = -250"),
                        &[],
                    )
                })
                .unwrap();
            assert_eq!(note, "double grant");
        }
    }

    #[test]
    fn the_ledger_names_who_made_each_event_and_why() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music", 1000, None),
                    &reason("goodwill"),
                    now,
                )
                .unwrap();
            store
                .adjust_credit(
                    &tester(),
                    credit,
                    Adjustment::parse("-1").unwrap(),
                    &reason("double grant"),
                    now,
                )
                .unwrap();

            let activity = store.credit_activity(user).unwrap();
            let events: Vec<_> = activity[0]
                .events
                .iter()
                .map(|event| (event.kind, event.actor.as_deref(), event.note.as_deref()))
                .collect();
            assert_eq!(
                events,
                [
                    (LedgerEventKind::Adjust, Some("cli:tester"), Some("double grant")),
                    (LedgerEventKind::Grant, Some("cli:tester"), None),
                ],
                "{}",
                store.engine_name()
            );
            assert_eq!(store.credit_owner(credit).unwrap(), Some(user));
            assert_eq!(store.credit_owner(CreditId(credit.0 + 1)).unwrap(), None);
        }
    }

    #[test]
    fn an_adjustment_past_zero_or_the_original_changes_nothing() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music", 1000, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            store
                .adjust_credit(
                    &tester(),
                    credit,
                    Adjustment::parse("-3").unwrap(),
                    &reason("r"),
                    now,
                )
                .unwrap();

            let below = store.adjust_credit(
                &tester(),
                credit,
                Adjustment::parse("-7.01").unwrap(),
                &reason("r"),
                now,
            );
            let above = store.adjust_credit(
                &tester(),
                credit,
                Adjustment::parse("3.01").unwrap(),
                &reason("r"),
                now,
            );
            let unknown = store.adjust_credit(
                &tester(),
                CreditId(99),
                Adjustment::parse("1").unwrap(),
                &reason("r"),
                now,
            );

            assert!(matches!(below, Err(AdjustError::BelowZero { .. })), "{below:?}");
            assert!(
                matches!(above, Err(AdjustError::AboveOriginal { .. })),
                "{above:?}"
            );
            assert!(matches!(unknown, Err(AdjustError::NotFound(99))), "{unknown:?}");
            assert_eq!(
                store.balances_for(user, now).unwrap().of_category(music()),
                Money::from_cents(700)
            );
            let back_to_full = store.adjust_credit(
                &tester(),
                credit,
                Adjustment::parse("3").unwrap(),
                &reason("r"),
                now,
            );
            assert_eq!(back_to_full.unwrap().after, Money::from_cents(1000));
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_revoked_credit_cannot_be_raised_back_to_life() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("video", 350, None),
                    &reason("goodwill"),
                    now,
                )
                .unwrap();
            store
                .revoke_credit(&tester(), credit, &reason("fraud"), now)
                .unwrap();

            let raised = store.adjust_credit(
                &tester(),
                credit,
                Adjustment::Add(Money::from_cents(50)),
                &reason("readd"),
                now,
            );

            assert!(matches!(raised, Err(AdjustError::Revoked(_))), "{raised:?}");
            let listed = store.account_credits(user).unwrap();
            assert_eq!(listed[0].status(now), CreditStatus::Revoked);
            assert_eq!(listed[0].credit.remaining, Money::ZERO);
        }
    }

    #[test]
    fn a_revoked_credit_is_empty_revoked_and_cannot_be_revoked_twice() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("video", 350, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();

            let revoked = store
                .revoke_credit(&tester(), credit, &reason("fraud"), now)
                .unwrap();

            assert_eq!(revoked.after, Money::ZERO);
            let listed = store.account_credits(user).unwrap();
            assert_eq!(listed[0].status(now), CreditStatus::Revoked);
            assert!(listed[0].last_changed_by_operator);
            assert!(matches!(
                store.revoke_credit(&tester(), credit, &reason("again"), now),
                Err(AdjustError::NothingLeft(_))
            ));
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_revoke_racing_orders_never_overdraws_the_credit() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music", 1000, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            let product: i64 = store
                .write(|c| {
                    c.query_value(
                        sql!(
                            "INSERT INTO products (category_id, format, title, creator, description, price_cents)
                             VALUES (1, 'Track', 't', 'c', 'd', 100) RETURNING id"
                        ),
                        &[],
                    )
                })
                .unwrap();
            let shopper = std::thread::spawn({
                let store = store.clone();
                move || {
                    (0..10)
                        .filter(|i| {
                            store
                                .place_order(
                                    user,
                                    product,
                                    &crate::store::orders::Promotion::None,
                                    &format!("order-{i}"),
                                    now,
                                )
                                .is_ok()
                        })
                        .count()
                }
            });
            std::thread::sleep(std::time::Duration::from_millis(2));
            let revoked = store.revoke_credit(&tester(), credit, &reason("closing the account"), now);
            let placed = shopper.join().unwrap();

            assert_spends_and_revoke_took_the_whole_credit(&store, user, placed, revoked, now);
        }
    }

    /// After $1.00 spends raced a revoke of a $10.00 music credit: the spends and
    /// what the revoke took add up to the credit, nothing is left, the ledger adds up.
    fn assert_spends_and_revoke_took_the_whole_credit(
        store: &Store,
        user: UserId,
        placed: usize,
        revoked: Result<Adjusted, AdjustError>,
        now: OffsetDateTime,
    ) {
        let spent = 100 * i64::try_from(placed).unwrap();
        let taken = revoked.map_or(0, |r| r.before.cents());
        assert_eq!(
            spent + taken,
            1000,
            "{}: placed {placed}, revoke took {taken}",
            store.engine_name()
        );
        assert_eq!(
            store.balances_for(user, now).unwrap().of_category(music()),
            Money::ZERO
        );
        assert!(store.verify_ledger().unwrap().is_empty());
    }

    #[test]
    fn a_revoke_racing_spends_never_overdraws_the_credit() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music", 1000, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            // Each spender reads what remains, then pays $1.00 from it, as checkout does.
            let spenders: Vec<_> = (0..4)
                .map(|spender| {
                    let store = store.clone();
                    std::thread::spawn(move || {
                        (0..5)
                            .filter(|i| {
                                store
                                    .write(|c| {
                                        let remaining = select_credits(c, user)?[0].remaining;
                                        if remaining < Money::from_cents(100) {
                                            return Ok::<_, StoreError>(false);
                                        }
                                        let order = order_row(c, user, 100, &format!("order-{spender}-{i}"))?;
                                        spend_credit(c, credit, Money::from_cents(100), order, now)?;
                                        Ok(true)
                                    })
                                    .unwrap()
                            })
                            .count()
                    })
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(5));
            let revoked = store.revoke_credit(&tester(), credit, &reason("closing the account"), now);
            let placed: usize = spenders.into_iter().map(|s| s.join().unwrap()).sum();

            assert_spends_and_revoke_took_the_whole_credit(&store, user, placed, revoked, now);
        }
    }

    #[test]
    fn adjustments_racing_each_other_never_leave_the_credits_bounds() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music", 500, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            // Eight operators each take $1.00 at once: five may, three must be refused.
            let operators: Vec<_> = (0..8)
                .map(|_| {
                    let store = store.clone();
                    std::thread::spawn(move || {
                        store.adjust_credit(
                            &tester(),
                            credit,
                            Adjustment::parse("-1").unwrap(),
                            &reason("r"),
                            now,
                        )
                    })
                })
                .collect();
            let outcomes: Vec<_> = operators.into_iter().map(|o| o.join().unwrap()).collect();

            let taken = outcomes.iter().filter(|o| o.is_ok()).count();
            let refused = outcomes
                .iter()
                .filter(|o| matches!(o, Err(AdjustError::BelowZero { .. })))
                .count();
            assert_eq!((taken, refused), (5, 3), "{}: {outcomes:?}", store.engine_name());
            assert_eq!(store.credits_of(user).unwrap()[0].remaining, Money::ZERO);
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn spending_more_than_remains_is_refused_and_writes_nothing() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music", 500, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            let outcome = store.write(|c| {
                let order = order_row(c, user, 600, "k")?;
                spend_credit(c, credit, Money::from_cents(600), order, now)
            });
            assert!(matches!(outcome, Err(StoreError::Corrupt(_))), "{outcome:?}");
            assert_eq!(
                store.balances_for(user, now).unwrap().of_category(music()),
                Money::from_cents(500)
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_ledger_that_does_not_add_up_is_reported() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credit = store
                .grant_credit(
                    &tester(),
                    user,
                    &promo("music", 500, None),
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
            store
                .write(|c| {
                    c.execute(
                        sql!("UPDATE credits SET remaining_cents = 400 WHERE id = $1"),
                        &[&credit.0],
                    )
                })
                .unwrap();

            assert_eq!(
                store.verify_ledger().unwrap(),
                [LedgerMismatch {
                    credit_id: credit,
                    user_id: user,
                    original: 500,
                    granted: 500,
                    remaining: 400,
                    ledger_sum: 500,
                }],
                "{}",
                store.engine_name()
            );
        }
    }

    #[test]
    fn the_activity_pages_go_back_through_credits_and_their_latest_events() {
        for TestStore { store, .. } in each_engine() {
            let user = account(&store, "shopper@example.com");
            let now = OffsetDateTime::now_utc();
            let credits: Vec<CreditId> = (1..=3)
                .map(|i| {
                    store
                        .grant_credit(
                            &tester(),
                            user,
                            &promo("music", 100 * i, None),
                            &AdjustmentReason::parse("test").unwrap(),
                            now,
                        )
                        .unwrap()
                })
                .collect();
            store
                .adjust_credit(
                    &tester(),
                    credits[2],
                    Adjustment::parse("-0.50").unwrap(),
                    &reason("r"),
                    now,
                )
                .unwrap();

            let first = store.credit_activity_page(user, None, 2, 1).unwrap();
            let second = store.credit_activity_page(user, first.older, 2, 1).unwrap();

            let ids =
                |page: &Page<CreditActivity>| page.entries.iter().map(|e| e.credit.id).collect::<Vec<_>>();
            assert_eq!(ids(&first), [credits[2], credits[1]]);
            assert_eq!(first.older, Some(credits[1].0));
            assert_eq!(ids(&second), [credits[0]]);
            assert_eq!(second.older, None);
            let newest = &first.entries[0];
            assert_eq!(newest.events.len(), 1);
            assert_eq!(
                (newest.events[0].kind, newest.events[0].change_cents),
                (LedgerEventKind::Adjust, -50)
            );
            assert!(newest.earlier_events);
            assert!(!first.entries[1].earlier_events);
            let whole = store.credit_activity(user).unwrap();
            assert_eq!(whole[0].events.len(), 2);
            assert_eq!(whole[0].description, "test credit");
        }
    }
}
