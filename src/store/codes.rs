//! Codes: creating them, checking them, redeeming them into credit or discounts,
//! and switching them off and on.

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::categories::{hidden_of, insert_category_refs};
use super::credits::insert_credit;
use super::discounts::insert_discount;
use super::sql::{Connection, Row, sql, unix};
use super::{Store, StoreError, StoreFailure};
use crate::domain::{
    Actor, CategorySet, CodeGrant, CodeRefusal, CreditId, DiscountTerms, Money, PromoCode, UserId,
};
use crate::store::rules::codes::{GrantColumns, Reward, grant_from_columns};

/// A code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub id: i64,
    pub code: String,
    pub description: String,
    pub grant: CodeGrant,
    pub redeem_by: Option<OffsetDateTime>,
    pub max_redemptions: Option<i64>,
    pub redemptions: i64,
    /// `false` once an operator has deactivated it: then it is refused like an
    /// unknown code.
    pub active: bool,
}

/// A code about to be created by an operator.
#[derive(Debug, Clone)]
pub struct NewCode {
    pub code: PromoCode,
    pub description: String,
    pub grant: CodeGrant,
    pub redeem_by: Option<OffsetDateTime>,
    pub max_redemptions: Option<u32>,
}

/// An account that redeemed a code, and when (for staff tracing a leaked code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub user: UserId,
    pub email: String,
    pub name: String,
    pub redeemed_at: OffsetDateTime,
}

/// What a redemption put into the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    Credit {
        credit: CreditId,
        amount: Money,
        categories: CategorySet,
        expires_at: Option<OffsetDateTime>,
    },
    GiftCard {
        credit: CreditId,
        amount: Money,
    },
    Discount {
        discount_id: i64,
        terms: DiscountTerms,
        description: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error(transparent)]
    Refused(#[from] CodeRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for RedeemError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            RedeemError::Store(error) => Some(error),
            RedeemError::Refused(_) => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateCodeError {
    #[error("a code {0} already exists")]
    Taken(String),
    /// The categories named that staff have hidden from shoppers.
    #[error("{}", hidden_categories(.0))]
    HiddenCategory(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hidden_categories(labels: &[String]) -> String {
    match labels {
        [one] => format!("{one} is hidden from shoppers: show it again first, or choose another category"),
        many => format!(
            "{} are hidden from shoppers: show them again first, or choose other categories",
            many.join(" and ")
        ),
    }
}

impl StoreFailure for CreateCodeError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CreateCodeError::Store(error) => Some(error),
            CreateCodeError::Taken(_) | CreateCodeError::HiddenCategory(_) => None,
        }
    }
}

/// A code's columns, its categories folded into one value (see
/// `CategorySet::from_bits`; a code's category ids are distinct, so their sum is
/// their union).
macro_rules! code_columns {
    () => {
        "id, code, description, kind, amount_cents, percent_off, \
         (SELECT CAST(COALESCE(SUM(CAST(1 AS BIGINT) << CAST(k.category_id - 1 AS INTEGER)), 0) AS BIGINT) \
          FROM code_categories k WHERE k.code_id = codes.id), \
         valid_days, redeem_by, max_redemptions, redemptions, active"
    };
}

fn code_from_row(row: &Row<'_>) -> Result<CodeRecord, StoreError> {
    let kind = row.text(3)?;
    let percent = row
        .get::<Option<i64>>(5)?
        .map(|percent| {
            u8::try_from(percent).map_err(|_| StoreError::Corrupt(format!("a code of {percent} % off")))
        })
        .transpose()?;
    let grant = grant_from_columns(
        kind,
        row.get(4)?,
        percent,
        CategorySet::from_bits(row.get(6)?),
        row.get(7)?,
    )
    .ok_or_else(|| StoreError::Corrupt(format!("code kind {kind:?} without its value")))?;
    Ok(CodeRecord {
        id: row.get(0)?,
        code: row.get(1)?,
        description: row.get(2)?,
        grant,
        redeem_by: row.optional_instant(8)?,
        max_redemptions: row.get(9)?,
        redemptions: row.get(10)?,
        active: row.get(11)?,
    })
}

/// The code named `code`, active or not.
fn select_code(connection: &mut dyn Connection, code: &PromoCode) -> Result<Option<CodeRecord>, StoreError> {
    connection.query_opt(
        sql!(concat!("SELECT ", code_columns!(), " FROM codes WHERE code = $1")),
        &[&code.as_str()],
        code_from_row,
    )
}

/// Whether `user` may redeem `code` at `now`; the code's terms when so.
pub(crate) fn check_redeemable(
    connection: &mut dyn Connection,
    user: UserId,
    code: &PromoCode,
    now: OffsetDateTime,
) -> Result<CodeRecord, RedeemError> {
    let found = select_code(connection, code)?;
    crate::store::rules::codes::check_redeemable(found, now, |record| {
        Ok(connection.query_value::<bool>(
            sql!("SELECT EXISTS (SELECT 1 FROM code_redemptions WHERE code_id = $1 AND user_id = $2)"),
            &[&record.id, &user.0],
        )?)
    })
}

/// Redeems inside the caller's transaction (checkout redeems a typed code this way,
/// so that a refused order un-redeems it by rolling back).
pub(crate) fn redeem_in(
    tx: &mut dyn Connection,
    user: UserId,
    code: &PromoCode,
    now: OffsetDateTime,
) -> Result<(CodeRecord, Redeemed), RedeemError> {
    let record = check_redeemable(tx, user, code, now)?;
    // The cap is enforced by the UPDATE itself, so it holds whatever the checks saw.
    let counted = tx.execute(
        sql!(
            "UPDATE codes SET redemptions = redemptions + 1
             WHERE id = $1 AND (max_redemptions IS NULL OR redemptions < max_redemptions)"
        ),
        &[&record.id],
    )?;
    if counted != 1 {
        return Err(CodeRefusal::Exhausted.into());
    }
    let redemption: i64 = tx
        .query_opt(
            sql!(
                "INSERT INTO code_redemptions (code_id, user_id, redeemed_at) VALUES ($1, $2, $3)
                 ON CONFLICT (code_id, user_id) DO NOTHING RETURNING id"
            ),
            &[&record.id, &user.0, &unix(now)],
            |row| row.get(0),
        )?
        .ok_or(CodeRefusal::AlreadyRedeemed)?;
    let reward = Reward::of(&record, redemption, now);
    let id = match &reward {
        Reward::Credit(credit) => insert_credit(tx, user, credit, now)?.0,
        Reward::Discount { terms, description } => {
            insert_discount(tx, user, description, *terms, Some(redemption), now)?
        }
    };
    Ok((record, reward.redeemed(id)))
}

/// Inserts a code in the caller's transaction; `None` when the code exists already.
pub(crate) fn insert_code(
    tx: &mut dyn Connection,
    new: &NewCode,
    now: OffsetDateTime,
) -> Result<Option<i64>, StoreError> {
    let columns = GrantColumns::of(new.grant);
    let inserted: Option<i64> = tx.query_opt(
        sql!(
            "INSERT INTO codes (code, kind, description, amount_cents, percent_off,
                                valid_days, redeem_by, max_redemptions, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (code) DO NOTHING RETURNING id"
        ),
        &[
            &new.code.as_str(),
            &columns.kind,
            &new.description,
            &columns.amount_cents,
            &columns.percent_off.map(i64::from),
            &columns.valid_days,
            &new.redeem_by.map(unix),
            &new.max_redemptions.map(i64::from),
            &unix(now),
        ],
        |row| row.get(0),
    )?;
    let Some(id) = inserted else {
        return Ok(None);
    };
    insert_category_refs(
        tx,
        sql!("INSERT INTO code_categories (code_id, category_id) VALUES ($1, $2)"),
        id,
        columns.categories,
    )?;
    Ok(Some(id))
}

/// Switches a code off or on; `None` for an unknown code, otherwise whether it
/// was in the other state until now (so that the change was made).
fn set_code_active(
    tx: &mut dyn Connection,
    actor: &Actor,
    code: &PromoCode,
    active: bool,
    now: OffsetDateTime,
) -> Result<Option<bool>, StoreError> {
    let was: Option<bool> = tx.query_opt(
        sql!("SELECT active FROM codes WHERE code = $1"),
        &[&code.as_str()],
        |row| row.get(0),
    )?;
    let changed = was.map(|was| was != active);
    if changed == Some(true) {
        tx.execute(
            sql!("UPDATE codes SET active = $2 WHERE code = $1"),
            &[&code.as_str(), &active],
        )?;
        let (action, before, after) = if active {
            (AuditAction::CodeReactivate, "inactive", "active")
        } else {
            (AuditAction::CodeDeactivate, "active", "inactive")
        };
        audit::record(
            tx,
            actor,
            &Change::new(action, format!("code:{}", code.as_str()))
                .before(before)
                .after(after),
            now,
        )?;
    }
    Ok(changed)
}

impl Store {
    /// Claims a code for an account: once per account, never past its deadline or
    /// its cap, even when many shoppers redeem at the same instant (SQLite's one
    /// writer takes them in turn; on PostgreSQL, of redemptions that overlap, one
    /// commits and the others run again, seeing it).
    pub fn redeem_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<Redeemed, RedeemError> {
        self.write(|tx| redeem_in(tx, user, code, now).map(|(_, redeemed)| redeemed))
    }

    /// The code's terms if `user` could redeem it now, without redeeming it.
    pub fn redeemable_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<CodeRecord, RedeemError> {
        self.read_consistent(|connection| Ok(check_redeemable(connection, user, code, now)))?
    }

    /// Creates a code (staff or an operator command), with its audit entry, in
    /// one transaction.
    pub fn create_code(
        &self,
        actor: &Actor,
        new: &NewCode,
        now: OffsetDateTime,
    ) -> Result<i64, CreateCodeError> {
        let named = match &new.grant {
            CodeGrant::Credit { categories, .. } => *categories,
            CodeGrant::Discount(terms) => terms.categories,
            CodeGrant::GiftCard { .. } => CategorySet::EMPTY,
        };
        self.write(|tx| {
            let hidden = hidden_of(tx, named)?;
            if !hidden.is_empty() {
                return Err(CreateCodeError::HiddenCategory(hidden));
            }
            let id = insert_code(tx, new, now)?
                .ok_or_else(|| CreateCodeError::Taken(new.code.as_str().to_owned()))?;
            audit::record(
                tx,
                actor,
                &Change::new(AuditAction::CodeCreate, format!("code:{}", new.code.as_str()))
                    .after(new.grant.describe(&self.categories())),
                now,
            )?;
            Ok(id)
        })
    }

    /// A code and its terms, active or not (for operators).
    pub fn code_named(&self, code: &PromoCode) -> Result<Option<CodeRecord>, StoreError> {
        self.read(|connection| select_code(connection, code))
    }

    /// The accounts that redeemed a code, newest first: at most `limit`.
    pub fn code_redemptions(&self, code: &PromoCode, limit: usize) -> Result<Vec<Redemption>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(
                    "SELECT u.id, u.email, u.name, r.redeemed_at
                     FROM code_redemptions r
                     JOIN codes c ON c.id = r.code_id
                     JOIN users u ON u.id = r.user_id
                     WHERE c.code = $1
                     ORDER BY r.redeemed_at DESC, r.id DESC LIMIT $2"
                ),
                &[&code.as_str(), &i64::try_from(limit).unwrap_or(i64::MAX)],
                |row| {
                    Ok(Redemption {
                        user: UserId(row.get(0)?),
                        email: row.get(1)?,
                        name: row.get(2)?,
                        redeemed_at: row.instant(3)?,
                    })
                },
            )
        })
    }

    /// Stops a code from being redeemed, from the next attempt on (a checkout
    /// redeeming it meanwhile is counted wholly before: the two transactions
    /// serialize). What it granted already stays. `None` for an unknown code,
    /// otherwise whether it was active until now.
    pub fn deactivate_code(
        &self,
        actor: &Actor,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<Option<bool>, StoreError> {
        self.write(|tx| set_code_active(tx, actor, code, false, now))
    }

    /// Lets a deactivated code be redeemed again, within its deadline and cap as
    /// before. `None` for an unknown code, otherwise whether it was deactivated
    /// until now.
    pub fn reactivate_code(
        &self,
        actor: &Actor,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<Option<bool>, StoreError> {
        self.write(|tx| set_code_active(tx, actor, code, true, now))
    }

    /// Every code, by name in byte order.
    pub fn list_codes(&self) -> Result<Vec<CodeRecord>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(concat!(
                    "SELECT ",
                    code_columns!(),
                    " FROM codes ORDER BY code COLLATE \"C\""
                )),
                &[],
                code_from_row,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::domain::category::set;
    use crate::domain::{CreditKind, DiscountValue};
    use crate::store::orders::{CheckoutError, Promotion};
    use crate::store::testing::{TestStore, each_engine, new_account, tester};

    fn code(name: &str) -> PromoCode {
        PromoCode::parse(name).unwrap()
    }

    fn new_code(name: &str, grant: CodeGrant, max_redemptions: Option<u32>) -> NewCode {
        NewCode {
            code: code(name),
            description: format!("{name} for tests"),
            grant,
            redeem_by: None,
            max_redemptions,
        }
    }

    fn music_credit(cents: i64) -> CodeGrant {
        CodeGrant::Credit {
            amount: Money::from_cents(cents),
            categories: set("music"),
            valid_for: None,
        }
    }

    #[test]
    fn twenty_redeemers_at_once_of_a_code_capped_at_five_make_five_credits() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store
                .create_code(&tester(), &new_code("RUSH-5", music_credit(500), Some(5)), now)
                .unwrap();
            let shoppers: Vec<UserId> = (0..20)
                .map(|i| new_account(&store, &format!("rush{i}@example.com"), "hash", now))
                .collect();

            let redeemers: Vec<_> = shoppers
                .iter()
                .map(|&user| {
                    let store = store.clone();
                    std::thread::spawn(move || store.redeem_code(user, &code("RUSH-5"), now))
                })
                .collect();
            let outcomes: Vec<_> = redeemers.into_iter().map(|r| r.join().unwrap()).collect();

            let redeemed = outcomes.iter().filter(|o| o.is_ok()).count();
            let exhausted = outcomes
                .iter()
                .filter(|o| matches!(o, Err(RedeemError::Refused(CodeRefusal::Exhausted))))
                .count();
            assert_eq!(
                (redeemed, exhausted),
                (5, 15),
                "{}: {outcomes:?}",
                store.engine_name()
            );
            assert_eq!(store.code_named(&code("RUSH-5")).unwrap().unwrap().redemptions, 5);
            let with_credit = shoppers
                .iter()
                .filter(|&&user| !store.credits_of(user).unwrap().is_empty())
                .count();
            assert_eq!(with_credit, 5);
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn one_account_redeeming_a_code_at_once_from_many_places_redeems_it_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store
                .create_code(&tester(), &new_code("ONCE", music_credit(300), None), now)
                .unwrap();
            let user = new_account(&store, "shopper@example.com", "hash", now);

            let redeemers: Vec<_> = (0..8)
                .map(|_| {
                    let store = store.clone();
                    std::thread::spawn(move || store.redeem_code(user, &code("ONCE"), now))
                })
                .collect();
            let outcomes: Vec<_> = redeemers.into_iter().map(|r| r.join().unwrap()).collect();

            let already = outcomes
                .iter()
                .filter(|o| matches!(o, Err(RedeemError::Refused(CodeRefusal::AlreadyRedeemed))))
                .count();
            assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
            assert_eq!(already, 7, "{}: {outcomes:?}", store.engine_name());
            assert_eq!(store.credits_of(user).unwrap().len(), 1);
            assert_eq!(store.code_named(&code("ONCE")).unwrap().unwrap().redemptions, 1);
        }
    }

    #[test]
    fn each_kind_of_code_puts_its_reward_into_the_account() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(); // 2026-01-01 00:00 UTC
            let user = new_account(&store, "shopper@example.com", "hash", now);
            let week = CodeGrant::Credit {
                amount: Money::from_cents(500),
                categories: set("music,video"),
                valid_for: Some(Duration::days(7)),
            };
            let gift = CodeGrant::GiftCard {
                amount: Money::from_cents(2000),
            };
            let discount = CodeGrant::Discount(DiscountTerms {
                value: DiscountValue::Percent(15),
                categories: set("kindle"),
            });
            for (name, grant) in [("WEEK", week), ("GIFT", gift), ("TAKE-15", discount)] {
                store
                    .create_code(&tester(), &new_code(name, grant, None), now)
                    .unwrap();
                assert_eq!(store.code_named(&code(name)).unwrap().unwrap().grant, grant);
            }

            let credit = store.redeem_code(user, &code("WEEK"), now).unwrap();
            let gift_card = store.redeem_code(user, &code("GIFT"), now).unwrap();
            let saved = store.redeem_code(user, &code("TAKE-15"), now).unwrap();

            let Redeemed::Credit {
                credit, expires_at, ..
            } = credit
            else {
                panic!("{credit:?}")
            };
            assert_eq!(expires_at, week.credit_expiry(now));
            assert!(
                matches!(gift_card, Redeemed::GiftCard { amount, .. } if amount == Money::from_cents(2000))
            );
            let Redeemed::Discount { discount_id, .. } = saved else {
                panic!("{saved:?}")
            };
            let credits = store.credits_of(user).unwrap();
            assert_eq!(credits.len(), 2, "{}", store.engine_name());
            let promotional = credits.iter().find(|c| c.id == credit).unwrap();
            assert_eq!(promotional.kind, CreditKind::Promotional(set("music,video")));
            assert_eq!(promotional.expires_at, expires_at);
            let discounts = store.discounts_of(user).unwrap();
            assert_eq!(discounts.len(), 1);
            assert_eq!(discounts[0].id, discount_id);
            assert_eq!(
                discounts[0].terms,
                DiscountTerms {
                    value: DiscountValue::Percent(15),
                    categories: set("kindle"),
                }
            );
            assert!(discounts[0].is_usable(now));
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn a_code_past_its_deadline_or_redeemed_already_is_refused_and_a_preview_redeems_nothing() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = new_account(&store, "shopper@example.com", "hash", now);
            store
                .create_code(
                    &tester(),
                    &NewCode {
                        redeem_by: Some(now - Duration::hours(1)),
                        ..new_code("LATE", music_credit(100), None)
                    },
                    now,
                )
                .unwrap();
            store
                .create_code(&tester(), &new_code("FINE", music_credit(100), None), now)
                .unwrap();

            let late = store.redeem_code(user, &code("LATE"), now);
            assert!(
                matches!(late, Err(RedeemError::Refused(CodeRefusal::PastDeadline(_)))),
                "{late:?}"
            );
            let previewed = store.redeemable_code(user, &code("FINE"), now).unwrap();
            assert_eq!(previewed.redemptions, 0);
            assert!(store.credits_of(user).unwrap().is_empty());
            store.redeem_code(user, &code("FINE"), now).unwrap();
            let again = store.redeemable_code(user, &code("FINE"), now);
            assert!(
                matches!(again, Err(RedeemError::Refused(CodeRefusal::AlreadyRedeemed))),
                "{again:?}"
            );
            let unknown = store.redeem_code(user, &code("NO-SUCH-CODE"), now);
            assert!(matches!(unknown, Err(RedeemError::Refused(CodeRefusal::Unknown))));
        }
    }

    #[test]
    fn a_deactivated_code_is_refused_like_an_unknown_one_everywhere() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store.seed_demo_if_empty("hash", now).unwrap();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let gift = code("gift-20");

            assert_eq!(
                store
                    .deactivate_code(&tester(), &gift, time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(true)
            );
            assert_eq!(
                store
                    .deactivate_code(&tester(), &gift, time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(false)
            );

            let redeemed = store.redeem_code(ann, &gift, now);
            assert!(
                matches!(redeemed, Err(RedeemError::Refused(CodeRefusal::Unknown))),
                "{redeemed:?}"
            );
            let previewed = store.redeemable_code(ann, &gift, now);
            assert!(matches!(
                previewed,
                Err(RedeemError::Refused(CodeRefusal::Unknown))
            ));
            let product = store.products_in(None).unwrap()[0].id;
            let ordered = store.place_order(ann, product, &Promotion::Code(gift.clone()), "with-code", now);
            assert!(
                matches!(ordered, Err(CheckoutError::Refused(CodeRefusal::Unknown))),
                "{}: {ordered:?}",
                store.engine_name()
            );
            let record = store.code_named(&gift).unwrap().unwrap();
            assert_eq!((record.active, record.redemptions), (false, 0));
            assert_eq!(
                store
                    .deactivate_code(&tester(), &code("NO-SUCH-CODE"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                None
            );
        }
    }

    #[test]
    fn a_reactivated_code_is_redeemed_again_within_its_cap() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let (ann, bob) = (
                new_account(&store, "ann@example.com", "hash", now),
                new_account(&store, "bob@example.com", "hash", now),
            );
            store
                .create_code(&tester(), &new_code("BACK-1", music_credit(100), Some(1)), now)
                .unwrap();
            assert_eq!(
                store
                    .deactivate_code(&tester(), &code("BACK-1"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(true)
            );
            assert!(store.redeem_code(ann, &code("BACK-1"), now).is_err());

            assert_eq!(
                store
                    .reactivate_code(&tester(), &code("BACK-1"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(true)
            );
            assert_eq!(
                store
                    .reactivate_code(&tester(), &code("BACK-1"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(false)
            );

            store.redeem_code(ann, &code("BACK-1"), now).unwrap();
            let second = store.redeem_code(bob, &code("BACK-1"), now);
            assert!(
                matches!(second, Err(RedeemError::Refused(CodeRefusal::Exhausted))),
                "{}: {second:?}",
                store.engine_name()
            );
            let record = store.code_named(&code("BACK-1")).unwrap().unwrap();
            assert_eq!((record.active, record.redemptions), (true, 1));
            assert_eq!(
                store
                    .reactivate_code(&tester(), &code("NO-SUCH-CODE"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                None
            );
        }
    }

    #[test]
    fn operators_switching_a_code_at_once_switch_it_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store
                .create_code(&tester(), &new_code("FLIP", music_credit(100), None), now)
                .unwrap();
            let switch_all = |active: bool| -> Vec<Option<bool>> {
                let switches: Vec<_> = (0..8)
                    .map(|_| {
                        let store = store.clone();
                        std::thread::spawn(move || {
                            if active {
                                store
                                    .reactivate_code(
                                        &tester(),
                                        &code("FLIP"),
                                        time::OffsetDateTime::now_utc(),
                                    )
                                    .unwrap()
                            } else {
                                store
                                    .deactivate_code(
                                        &tester(),
                                        &code("FLIP"),
                                        time::OffsetDateTime::now_utc(),
                                    )
                                    .unwrap()
                            }
                        })
                    })
                    .collect();
                switches.into_iter().map(|s| s.join().unwrap()).collect()
            };

            for active in [false, true] {
                let outcomes = switch_all(active);
                let changed = outcomes.iter().filter(|o| **o == Some(true)).count();
                let already = outcomes.iter().filter(|o| **o == Some(false)).count();
                assert_eq!(
                    (changed, already),
                    (1, 7),
                    "{}: {outcomes:?}",
                    store.engine_name()
                );
                assert_eq!(store.code_named(&code("FLIP")).unwrap().unwrap().active, active);
            }
        }
    }

    #[test]
    fn a_code_is_created_once_and_codes_are_listed_in_byte_order() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            for name in ["SAVE10", "SAVE-5", "ABC1", "abc2"] {
                store
                    .create_code(&tester(), &new_code(name, music_credit(100), Some(3)), now)
                    .unwrap();
            }

            let again = store.create_code(&tester(), &new_code("SAVE10", music_credit(900), None), now);

            assert!(
                matches!(again, Err(CreateCodeError::Taken(ref taken)) if taken == "SAVE10"),
                "{again:?}"
            );
            let listed: Vec<String> = store.list_codes().unwrap().into_iter().map(|c| c.code).collect();
            assert_eq!(
                listed,
                ["ABC1", "ABC2", "SAVE-5", "SAVE10"],
                "{}",
                store.engine_name()
            );
            let kept = store.code_named(&code("SAVE10")).unwrap().unwrap();
            assert_eq!((kept.grant, kept.max_redemptions), (music_credit(100), Some(3)));
        }
    }
}
