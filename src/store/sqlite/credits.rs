//! Credits and their ledger: granting, spending, balances and the ledger check.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use super::categories::insert_category_refs;
use super::{Page, SqliteStore, StoreError, instant, page_limit, unix};
use crate::domain::{
    Adjustment, AdjustmentReason, Balances, Credit, CreditId, CreditKind, CreditSource, CreditStatus, Money,
    Soon, UserId,
};
use crate::store::shared::credits::{adjustment_change, after_change, ledger_event_kind, revocation_change};

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
    fn parse(column: &str) -> rusqlite::Result<LedgerEventKind> {
        ledger_event_kind(column).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("an unknown ledger event kind {column:?}").into(),
            )
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

/// What the balances need of account ?1's credits that are live at unix time ?2:
/// the index `credits_by_user_covering` answers it alone (see the plan test). A
/// credit's categories come from `category_mask`, which the database keeps equal
/// to its rows in `credit_categories` (migration 0011).
const LIVE_CREDITS_QUERY: &str = "SELECT kind, category_mask, remaining_cents, expires_at FROM credits \
     WHERE user_id = ?1 AND remaining_cents > 0 AND (expires_at IS NULL OR expires_at > ?2)";

impl SqliteStore {
    /// The popup's balances from one query over the account's live credits
    /// (SPEC §2), counted by the domain's rule as the rows come.
    ///
    /// Summed in Rust rather than with a `SUM(…) FILTER` aggregate per line in SQL, which
    /// would evaluate every filter, string compares included, for every row.
    /// An indexed read of a handful of rows: runs on the calling thread.
    pub fn balances_for(&self, user: UserId, now: OffsetDateTime) -> Result<Balances, StoreError> {
        self.read_here(|connection| {
            let mut statement = connection.prepare_cached(LIVE_CREDITS_QUERY)?;
            let mut rows = statement.query(params![user.0, unix(now)])?;
            let mut balances = Balances::none(self.categories());
            let soon = Soon::from(now);
            while let Some(row) = rows.next()? {
                let (kind, remaining, expires_at) = live_credit(row)?;
                balances.count(kind, remaining, expires_at, &soon);
            }
            Ok(balances)
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

    /// Up to `size` of an account's credits, newest first, older than the credit
    /// `before`, each with its latest `events` ledger entries: index range reads
    /// only, so a page costs the same however long the account's history is.
    pub fn credit_activity_page(
        &self,
        user: UserId,
        before: Option<i64>,
        size: usize,
        events: usize,
    ) -> Result<Page<CreditActivity>, StoreError> {
        self.read(|connection| {
            let mut credits = connection.prepare_cached(
                "SELECT c.id, c.kind, c.category_mask, c.original_cents, c.remaining_cents, c.expires_at,
                        c.created_at, c.source, c.description
                 FROM credits c WHERE c.user_id = ?1 AND c.id < ?2 ORDER BY c.id DESC LIMIT ?3",
            )?;
            let rows = credits
                .query_map(
                    params![user.0, before.unwrap_or(i64::MAX), page_limit(size)],
                    |row| {
                        let source: String = row.get(7)?;
                        Ok(CreditActivity {
                            credit: credit_from_row(row)?,
                            source: CreditSource::parse(&source).unwrap_or(CreditSource::Grant),
                            description: row.get(8)?,
                            events: Vec::new(),
                            earlier_events: false,
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut page = Page::of(rows, size, |entry| entry.credit.id.0);
            let mut ledger = connection.prepare_cached(
                "SELECT kind, amount_cents, order_id, created_at FROM credit_events
                 WHERE credit_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            for entry in &mut page.entries {
                let mut latest = ledger
                    .query_map(params![entry.credit.id.0, page_limit(events)], |row| {
                        Ok(LedgerEvent {
                            kind: LedgerEventKind::parse(row.get_ref(0)?.as_str()?)?,
                            change_cents: row.get(1)?,
                            order_id: row.get(2)?,
                            at: instant(row.get(3)?)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                entry.earlier_events = latest.len() > events;
                latest.truncate(events);
                entry.events = latest;
            }
            Ok(page)
        })
    }

    /// Grants a credit (operator grant, demo seed) with its `grant` ledger event.
    pub fn grant_credit(
        &self,
        user: UserId,
        credit: &NewCredit,
        now: OffsetDateTime,
    ) -> Result<CreditId, StoreError> {
        self.write(|tx| insert_credit(tx, user, credit, now))
    }

    /// Every credit whose remaining amount differs from the sum of its ledger events,
    /// or whose grants differ from its original amount.
    pub fn verify_ledger(&self) -> Result<Vec<LedgerMismatch>, StoreError> {
        self.read(|connection| {
            let mut statement = connection.prepare(
                "SELECT c.id, c.user_id, c.original_cents, c.remaining_cents,
                        coalesce(sum(e.amount_cents) FILTER (WHERE e.kind = 'grant'), 0),
                        coalesce(sum(e.amount_cents), 0)
                 FROM credits c LEFT JOIN credit_events e ON e.credit_id = c.id
                 GROUP BY c.id
                 HAVING c.remaining_cents <> coalesce(sum(e.amount_cents), 0)
                     OR c.original_cents <> coalesce(sum(e.amount_cents) FILTER (WHERE e.kind = 'grant'), 0)
                 ORDER BY c.id",
            )?;
            let mismatches = statement
                .query_map([], |row| {
                    Ok(LedgerMismatch {
                        credit_id: CreditId(row.get(0)?),
                        user_id: UserId(row.get(1)?),
                        original: row.get(2)?,
                        remaining: row.get(3)?,
                        granted: row.get(4)?,
                        ledger_sum: row.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(mismatches)
        })
    }
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
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for AdjustError {
    fn from(error: rusqlite::Error) -> Self {
        AdjustError::Store(error.into())
    }
}

impl SqliteStore {
    /// Every credit of an account, newest first, with where it came from and
    /// whether an operator made the last change to it.
    pub fn account_credits(&self, user: UserId) -> Result<Vec<AccountCredit>, StoreError> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT c.id, c.kind, c.category_mask, c.original_cents, c.remaining_cents, c.expires_at,
                        c.created_at, c.source, c.description,
                        (SELECT e.kind FROM credit_events e WHERE e.credit_id = c.id
                         ORDER BY e.id DESC LIMIT 1) = 'adjust'
                 FROM credits c WHERE c.user_id = ?1 ORDER BY c.created_at DESC, c.id DESC",
            )?;
            let credits = statement
                .query_map([user.0], |row| {
                    let source: String = row.get(7)?;
                    Ok(AccountCredit {
                        credit: credit_from_row(row)?,
                        source: CreditSource::parse(&source).unwrap_or(CreditSource::Grant),
                        description: row.get(8)?,
                        last_changed_by_operator: row.get::<_, Option<bool>>(9)?.unwrap_or(false),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(credits)
        })
    }

    /// Changes what remains of a credit by an operator's adjustment, with an
    /// `adjust` ledger event carrying the reason, in one transaction. The amount
    /// remaining is read inside it, so an order spending the credit at the same
    /// moment is counted either wholly before or wholly after: the credit never
    /// goes below zero nor above what it was worth.
    pub fn adjust_credit(
        &self,
        credit: CreditId,
        adjustment: Adjustment,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<Adjusted, AdjustError> {
        self.transaction(|tx| {
            let current = credit_amounts(tx, credit)?;
            let change = adjustment_change(&current, adjustment)?;
            record_adjustment(tx, current, change, reason, now)
        })
    }

    /// Takes everything that remains of a credit (an operator's `adjust` event of
    /// minus the remaining amount, with the reason), in one transaction.
    pub fn revoke_credit(
        &self,
        credit: CreditId,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<Adjusted, AdjustError> {
        self.transaction(|tx| {
            let current = credit_amounts(tx, credit)?;
            let change = revocation_change(&current)?;
            record_adjustment(tx, current, change, reason, now)
        })
    }
}

/// A credit's amounts as they stand inside the caller's transaction.
fn credit_amounts(tx: &Transaction, credit: CreditId) -> Result<Adjusted, AdjustError> {
    tx.prepare_cached("SELECT user_id, original_cents, remaining_cents FROM credits WHERE id = ?1")?
        .query_row([credit.0], |row| {
            let remaining = Money::from_cents(row.get(2)?);
            Ok(Adjusted {
                credit,
                user: UserId(row.get(0)?),
                original: Money::from_cents(row.get(1)?),
                before: remaining,
                after: remaining,
            })
        })
        .optional()?
        .ok_or(AdjustError::NotFound(credit.0))
}

/// Applies a checked, non-zero change and its `adjust` event.
fn record_adjustment(
    tx: &Transaction,
    current: Adjusted,
    change_cents: i64,
    reason: &AdjustmentReason,
    now: OffsetDateTime,
) -> Result<Adjusted, AdjustError> {
    tx.prepare_cached("UPDATE credits SET remaining_cents = remaining_cents + ?2 WHERE id = ?1")?
        .execute(params![current.credit.0, change_cents])?;
    tx.prepare_cached(
        "INSERT INTO credit_events (credit_id, kind, amount_cents, note, created_at)
         VALUES (?1, 'adjust', ?2, ?3, ?4)",
    )?
    .execute(params![
        current.credit.0,
        change_cents,
        reason.as_str(),
        unix(now)
    ])?;
    Ok(after_change(current, change_cents))
}

/// Every credit of an account, newest first, on the caller's connection.
pub(crate) fn select_credits(connection: &Connection, user: UserId) -> Result<Vec<Credit>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT c.id, c.kind, c.category_mask, c.original_cents, c.remaining_cents, c.expires_at,
                c.created_at
         FROM credits c WHERE c.user_id = ?1 ORDER BY c.created_at DESC, c.id DESC",
    )?;
    let credits = statement
        .query_map([user.0], credit_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(credits)
}

/// A row of [`LIVE_CREDITS_QUERY`].
fn live_credit(row: &Row) -> rusqlite::Result<(CreditKind, Money, Option<OffsetDateTime>)> {
    let kind = credit_kind(row.get_ref(0)?.as_str()?, row.get(1)?, 1)?;
    let expires_at = row.get::<_, Option<i64>>(3)?.map(instant).transpose()?;
    Ok((kind, Money::from_cents(row.get(2)?), expires_at))
}

/// A credit's kind from its `kind` column and its categories folded into bits
/// (at `categories_column`, named in the error): a promotional credit has at
/// least one.
pub(crate) fn credit_kind(
    kind: &str,
    categories: i64,
    categories_column: usize,
) -> rusqlite::Result<CreditKind> {
    crate::store::shared::credits::credit_kind(kind, categories).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            categories_column,
            rusqlite::types::Type::Integer,
            "a promotional credit valid for no category".into(),
        )
    })
}

pub(crate) fn credit_from_row(row: &Row) -> rusqlite::Result<Credit> {
    Ok(Credit {
        id: CreditId(row.get(0)?),
        kind: credit_kind(row.get_ref(1)?.as_str()?, row.get(2)?, 2)?,
        original: Money::from_cents(row.get(3)?),
        remaining: Money::from_cents(row.get(4)?),
        expires_at: row.get::<_, Option<i64>>(5)?.map(instant).transpose()?,
        created_at: instant(row.get(6)?)?,
    })
}

/// Inserts a credit and its `grant` event inside the caller's transaction.
pub(crate) fn insert_credit(
    tx: &Transaction,
    user: UserId,
    credit: &NewCredit,
    now: OffsetDateTime,
) -> Result<CreditId, StoreError> {
    insert_credit_for_order(tx, user, credit, None, now)
}

/// [`insert_credit`], with its grant event naming the order it comes from (a
/// refund's new credit), so the order's receipt can say where its money went.
pub(crate) fn insert_credit_for_order(
    tx: &Transaction,
    user: UserId,
    credit: &NewCredit,
    order_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<CreditId, StoreError> {
    tx.prepare_cached(
        "INSERT INTO credits (user_id, kind, source, description, code_redemption_id,
                              original_cents, remaining_cents, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
    )?
    .execute(params![
        user.0,
        credit.kind.as_str(),
        credit.source.as_str(),
        credit.description,
        credit.code_redemption_id,
        credit.amount.cents(),
        credit.expires_at.map(unix),
        unix(now),
    ])?;
    let id = CreditId(tx.last_insert_rowid());
    if let CreditKind::Promotional(categories) = credit.kind {
        if categories.is_empty() {
            return Err(StoreError::Corrupt(
                "a promotional credit needs a category".into(),
            ));
        }
        insert_category_refs(
            tx,
            "INSERT INTO credit_categories (credit_id, category_id) VALUES (?1, ?2)",
            id.0,
            categories,
        )?;
    }
    tx.prepare_cached(
        "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, created_at)
         VALUES (?1, 'grant', ?2, ?3, ?4)",
    )?
    .execute(params![id.0, credit.amount.cents(), order_id, unix(now)])?;
    Ok(id)
}

/// Takes `amount` from a credit for an order, with its `spend` event. Refuses (with
/// nothing written) rather than let the credit go below zero.
pub(crate) fn spend_credit(
    tx: &Transaction,
    credit: CreditId,
    amount: Money,
    order_id: i64,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE credits SET remaining_cents = remaining_cents - ?2
             WHERE id = ?1 AND remaining_cents >= ?2",
        )?
        .execute(params![credit.0, amount.cents()])?;
    if changed != 1 {
        return Err(StoreError::Corrupt(format!(
            "credit {} cannot pay {amount}",
            credit.0
        )));
    }
    tx.prepare_cached(
        "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, created_at)
         VALUES (?1, 'spend', ?2, ?3, ?4)",
    )?
    .execute(params![credit.0, -amount.cents(), order_id, unix(now)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::category::{seeded, set};
    use crate::domain::{CategorySet, DisplayName, Email};
    use crate::store::sqlite::testing::temporary_store;
    use proptest::prelude::*;
    use time::Duration;

    #[test]
    fn the_balances_are_read_from_indexes_alone() {
        let (store, _folder) = temporary_store();
        let plan: Vec<String> = store
            .read(|connection| {
                let mut explain = connection.prepare(&format!("EXPLAIN QUERY PLAN {LIVE_CREDITS_QUERY}"))?;
                let details = explain
                    .query_map(params![1, 0], |row| row.get::<_, String>(3))?
                    .collect::<Result<_, _>>()?;
                Ok(details)
            })
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH credits USING COVERING INDEX credits_by_user_covering (user_id=?)"]
        );
    }

    fn account(store: &SqliteStore) -> UserId {
        crate::store::Store::sqlite(store.clone())
            .create_user(
                &Email::parse("shopper@example.com").unwrap(),
                &DisplayName::parse("Shopper").unwrap(),
                "hash",
                OffsetDateTime::now_utc(),
            )
            .unwrap()
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

    #[test]
    fn a_shared_credit_shows_in_each_of_its_balances() {
        let (store, _folder) = temporary_store();
        let user = account(&store);
        let now = OffsetDateTime::now_utc();
        store
            .grant_credit(user, &promo("music,kindle", 1000, None), now)
            .unwrap();
        let balances = store.balances_for(user, now).unwrap();
        let id = |slug| seeded().by_slug(slug).unwrap().id();
        assert_eq!(balances.of_category(id("music")), Money::from_cents(1000));
        assert_eq!(balances.of_category(id("kindle")), Money::from_cents(1000));
        assert_eq!(balances.of_category(id("video")), Money::ZERO);
    }

    #[test]
    fn the_database_keeps_a_credits_mask_equal_to_its_categories() {
        let (store, _folder) = temporary_store();
        let user = account(&store);
        let now = OffsetDateTime::now_utc();
        let credit = store
            .grant_credit(user, &promo("music,video", 1000, None), now)
            .unwrap();
        let mask: i64 = store
            .read(|connection| {
                Ok(connection.query_row(
                    "SELECT category_mask FROM credits WHERE id = ?1",
                    [credit.0],
                    |row| row.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(CategorySet::from_bits(mask), set("music,video"));
        for tampering in [
            "UPDATE credits SET category_mask = 1",
            "DELETE FROM credit_categories",
            "UPDATE credit_categories SET category_id = 4",
        ] {
            let outcome: Result<usize, StoreError> = store.write(|tx| Ok(tx.execute(tampering, [])?));
            assert!(outcome.is_err(), "{tampering}");
        }
        assert_eq!(
            store.credits_of(user).unwrap()[0].kind,
            CreditKind::Promotional(set("music,video"))
        );
    }

    #[test]
    fn another_accounts_credit_is_not_counted() {
        let (store, _folder) = temporary_store();
        let user = account(&store);
        let other = crate::store::Store::sqlite(store.clone())
            .create_user(
                &Email::parse("other@example.com").unwrap(),
                &DisplayName::parse("Other").unwrap(),
                "hash",
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        let now = OffsetDateTime::now_utc();
        store
            .grant_credit(other, &promo("music", 700, None), now)
            .unwrap();
        assert_eq!(
            store.balances_for(user, now).unwrap(),
            Balances::none(store.categories())
        );
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn the_balance_query_agrees_with_the_domain_rule(
            credits in proptest::collection::vec(arbitrary_credit(), 0..12),
            spent_percent in 0i64..=100,
        ) {
            let (store, _folder) = temporary_store();
            let user = account(&store);
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
                store.grant_credit(user, &credit, now - Duration::days(1)).unwrap();
            }
            // Spend part of every credit so the rule sees remaining, not original.
            store.write(|tx| {
                tx.execute("INSERT INTO products (id, category_id, format, title, creator, description, price_cents)
                            VALUES (1, 1, 'Track', 't', 'c', 'd', 1)", [])?;
                tx.execute("INSERT INTO orders (id, user_id, product_id, idempotency_key, price_cents,
                            gift_card_cents, placed_at) VALUES (1, ?1, 1, 'k', 1, 1, 0)", [user.0])?;
                for credit in store.credits_of(user)? {
                    let spend = credit.original.cents() * spent_percent / 100;
                    if spend > 0 {
                        spend_credit(tx, credit.id, Money::from_cents(spend), 1, now)?;
                    }
                }
                Ok::<_, StoreError>(())
            }).unwrap();
            let from_sql = store.balances_for(user, now).unwrap();
            let from_rule = Balances::tally(store.categories(), &store.credits_of(user).unwrap(), now);
            prop_assert_eq!(from_sql, from_rule);
            prop_assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    fn reason(text: &str) -> AdjustmentReason {
        AdjustmentReason::parse(text).unwrap()
    }

    #[test]
    fn an_adjustment_changes_the_credit_and_its_ledger_together() {
        let (store, _folder) = temporary_store();
        let user = account(&store);
        let now = OffsetDateTime::now_utc();
        let credit = store
            .grant_credit(user, &promo("music", 1000, None), now)
            .unwrap();

        let taken = Adjustment::parse("-2.50").unwrap();
        let adjusted = store
            .adjust_credit(credit, taken, &reason("double grant"), now)
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
                Ok(c.query_row(
                    "SELECT note FROM credit_events WHERE kind = 'adjust' AND amount_cents = -250",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(note, "double grant");
    }

    #[test]
    fn an_adjustment_past_zero_or_the_original_changes_nothing() {
        let (store, _folder) = temporary_store();
        let user = account(&store);
        let now = OffsetDateTime::now_utc();
        let credit = store
            .grant_credit(user, &promo("music", 1000, None), now)
            .unwrap();
        store
            .adjust_credit(credit, Adjustment::parse("-3").unwrap(), &reason("r"), now)
            .unwrap();

        let below = store.adjust_credit(credit, Adjustment::parse("-7.01").unwrap(), &reason("r"), now);
        let above = store.adjust_credit(credit, Adjustment::parse("3.01").unwrap(), &reason("r"), now);
        let unknown = store.adjust_credit(CreditId(99), Adjustment::parse("1").unwrap(), &reason("r"), now);

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
        let back_to_full = store.adjust_credit(credit, Adjustment::parse("3").unwrap(), &reason("r"), now);
        assert_eq!(back_to_full.unwrap().after, Money::from_cents(1000));
        assert!(store.verify_ledger().unwrap().is_empty());
    }

    #[test]
    fn a_revoked_credit_is_empty_revoked_and_cannot_be_revoked_twice() {
        let (store, _folder) = temporary_store();
        let user = account(&store);
        let now = OffsetDateTime::now_utc();
        let credit = store.grant_credit(user, &promo("video", 350, None), now).unwrap();

        let revoked = store.revoke_credit(credit, &reason("fraud"), now).unwrap();

        assert_eq!(revoked.after, Money::ZERO);
        let listed = store.account_credits(user).unwrap();
        assert_eq!(listed[0].status(now), CreditStatus::Revoked);
        assert!(matches!(
            store.revoke_credit(credit, &reason("again"), now),
            Err(AdjustError::NothingLeft(_))
        ));
        assert!(store.verify_ledger().unwrap().is_empty());
    }

    #[test]
    fn a_revoke_racing_orders_never_overdraws_the_credit() {
        let (store, _folder) = temporary_store();
        let user = account(&store);
        let now = OffsetDateTime::now_utc();
        let credit = store
            .grant_credit(user, &promo("music", 1000, None), now)
            .unwrap();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO products (id, category_id, format, title, creator, description, price_cents)
                     VALUES (1, 1, 'Track', 't', 'c', 'd', 100)",
                    [],
                )?;
                Ok(())
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
                                1,
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
        let revoked = store.revoke_credit(credit, &reason("closing the account"), now);
        let placed = shopper.join().unwrap();

        let spent = 100 * i64::try_from(placed).unwrap();
        let taken = revoked.map_or(0, |r| r.before.cents());
        assert_eq!(spent + taken, 1000, "placed {placed}, revoke took {taken}");
        assert_eq!(
            store.balances_for(user, now).unwrap().of_category(music()),
            Money::ZERO
        );
        assert!(store.verify_ledger().unwrap().is_empty());
    }

    #[test]
    fn spending_more_than_remains_is_refused_and_writes_nothing() {
        let (store, _folder) = temporary_store();
        let user = account(&store);
        let now = OffsetDateTime::now_utc();
        let credit = store.grant_credit(user, &promo("music", 500, None), now).unwrap();
        let outcome = store.write(|tx| {
            tx.execute(
                "INSERT INTO products (id, category_id, format, title, creator, description, price_cents)
                        VALUES (1, 1, 'Track', 't', 'c', 'd', 600)",
                [],
            )?;
            tx.execute(
                "INSERT INTO orders (id, user_id, product_id, idempotency_key, price_cents,
                        promotional_credit_cents, placed_at) VALUES (1, ?1, 1, 'k', 600, 600, 0)",
                [user.0],
            )?;
            spend_credit(tx, credit, Money::from_cents(600), 1, now)
        });
        assert!(outcome.is_err());
        assert_eq!(
            store.balances_for(user, now).unwrap().of_category(music()),
            Money::from_cents(500)
        );
        assert!(store.verify_ledger().unwrap().is_empty());
    }
}
