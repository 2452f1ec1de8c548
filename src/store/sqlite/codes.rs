//! Codes: creating them, checking them and redeeming them into credit or discounts.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use super::categories::insert_category_refs;
use super::discounts::insert_discount;
use super::{SqliteStore, StoreError, instant, unix};
use crate::domain::{CategorySet, CodeGrant, CodeRefusal, CreditId, DiscountTerms, Money, PromoCode, UserId};
use crate::store::credits::insert_credit;
use crate::store::shared::codes::{GrantColumns, Reward, grant_from_columns};
use crate::store::sql::SqliteConnection;

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

impl From<rusqlite::Error> for RedeemError {
    fn from(error: rusqlite::Error) -> Self {
        RedeemError::Store(error.into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateCodeError {
    #[error("a code {0} already exists")]
    Taken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A code's columns, its categories folded into one value (see
/// `CategorySet::from_bits`).
const CODE_COLUMNS: &str = "id, code, description, kind, amount_cents, percent_off, \
     (SELECT COALESCE(SUM(1 << (k.category_id - 1)), 0) FROM code_categories k WHERE k.code_id = codes.id), \
     valid_days, redeem_by, max_redemptions, redemptions, active";

fn code_from_row(row: &Row) -> rusqlite::Result<CodeRecord> {
    let kind: String = row.get(3)?;
    let grant = grant_from_columns(
        &kind,
        row.get(4)?,
        row.get(5)?,
        CategorySet::from_bits(row.get(6)?),
        row.get(7)?,
    )
    .ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("code kind {kind:?} without its value").into(),
        )
    })?;
    Ok(CodeRecord {
        id: row.get(0)?,
        code: row.get(1)?,
        description: row.get(2)?,
        grant,
        redeem_by: row.get::<_, Option<i64>>(8)?.map(instant).transpose()?,
        max_redemptions: row.get(9)?,
        redemptions: row.get(10)?,
        active: row.get(11)?,
    })
}

/// Whether `user` may redeem `code` at `now`; the code's terms when so.
pub(crate) fn check_redeemable(
    connection: &Connection,
    user: UserId,
    code: &PromoCode,
    now: OffsetDateTime,
) -> Result<CodeRecord, RedeemError> {
    let found = connection
        .prepare_cached(&format!("SELECT {CODE_COLUMNS} FROM codes WHERE code = ?1"))?
        .query_row([code.as_str()], code_from_row)
        .optional()?;
    crate::store::shared::codes::check_redeemable(found, now, |record| {
        Ok(connection
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM code_redemptions WHERE code_id = ?1 AND user_id = ?2)",
            )?
            .query_row(params![record.id, user.0], |row| row.get(0))?)
    })
}

/// Redeems inside the caller's transaction (checkout redeems a typed code this way,
/// so that a refused order un-redeems it by rolling back).
pub(crate) fn redeem_in(
    tx: &Transaction,
    user: UserId,
    code: &PromoCode,
    now: OffsetDateTime,
) -> Result<(CodeRecord, Redeemed), RedeemError> {
    let record = check_redeemable(tx, user, code, now)?;
    // The cap is enforced by the UPDATE itself, so it holds whatever the checks saw.
    let counted = tx
        .prepare_cached(
            "UPDATE codes SET redemptions = redemptions + 1
             WHERE id = ?1 AND (max_redemptions IS NULL OR redemptions < max_redemptions)",
        )?
        .execute([record.id])?;
    if counted != 1 {
        return Err(CodeRefusal::Exhausted.into());
    }
    let inserted = tx
        .prepare_cached(
            "INSERT INTO code_redemptions (code_id, user_id, redeemed_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (code_id, user_id) DO NOTHING",
        )?
        .execute(params![record.id, user.0, unix(now)])?;
    if inserted != 1 {
        return Err(CodeRefusal::AlreadyRedeemed.into());
    }
    let redemption = tx.last_insert_rowid();
    let reward = Reward::of(&record, redemption, now);
    let id = match &reward {
        Reward::Credit(credit) => insert_credit(&mut SqliteConnection::new(tx), user, credit, now)?.0,
        Reward::Discount { terms, description } => {
            insert_discount(tx, user, description, *terms, Some(redemption), now)?
        }
    };
    Ok((record, reward.redeemed(id)))
}

/// Inserts a code in the caller's transaction; `None` when the code exists already.
pub(crate) fn insert_code(
    tx: &Transaction,
    new: &NewCode,
    now: OffsetDateTime,
) -> Result<Option<i64>, StoreError> {
    let columns = GrantColumns::of(new.grant);
    let inserted = tx
        .prepare_cached(
            "INSERT INTO codes (code, kind, description, amount_cents, percent_off,
                                valid_days, redeem_by, max_redemptions, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (code) DO NOTHING",
        )?
        .execute(params![
            new.code.as_str(),
            columns.kind,
            new.description,
            columns.amount_cents,
            columns.percent_off,
            columns.valid_days,
            new.redeem_by.map(unix),
            new.max_redemptions,
            unix(now)
        ])?;
    if inserted != 1 {
        return Ok(None);
    }
    let id = tx.last_insert_rowid();
    insert_category_refs(
        tx,
        "INSERT INTO code_categories (code_id, category_id) VALUES (?1, ?2)",
        id,
        columns.categories,
    )?;
    Ok(Some(id))
}

impl SqliteStore {
    /// Claims a code for an account: once per account, never past its deadline or
    /// its cap, even when many shoppers redeem at the same instant.
    pub fn redeem_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<Redeemed, RedeemError> {
        self.transaction(|tx| redeem_in(tx, user, code, now).map(|(_, redeemed)| redeemed))
    }

    /// The code's terms if `user` could redeem it now, without redeeming it.
    pub fn redeemable_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<CodeRecord, RedeemError> {
        let connection = self.readers.get().map_err(StoreError::from)?;
        check_redeemable(&connection, user, code, now)
    }

    pub fn create_code(&self, new: &NewCode, now: OffsetDateTime) -> Result<i64, CreateCodeError> {
        self.transaction(|tx| {
            insert_code(tx, new, now)?.ok_or_else(|| CreateCodeError::Taken(new.code.as_str().to_owned()))
        })
    }

    /// A code and its terms, active or not (for operators).
    pub fn code_named(&self, code: &PromoCode) -> Result<Option<CodeRecord>, StoreError> {
        self.read(|connection| {
            Ok(connection
                .prepare_cached(&format!("SELECT {CODE_COLUMNS} FROM codes WHERE code = ?1"))?
                .query_row([code.as_str()], code_from_row)
                .optional()?)
        })
    }

    /// Stops a code from being redeemed, from the next attempt on (a checkout
    /// redeeming it meanwhile finishes first: both run as one writer transaction).
    /// What it granted already stays. `None` for an unknown code, otherwise whether
    /// it was active until now.
    pub fn deactivate_code(&self, code: &PromoCode) -> Result<Option<bool>, StoreError> {
        self.write(|tx| {
            let was_active: Option<bool> = tx
                .prepare_cached("SELECT active FROM codes WHERE code = ?1")?
                .query_row([code.as_str()], |row| row.get(0))
                .optional()?;
            if was_active == Some(true) {
                tx.prepare_cached("UPDATE codes SET active = 0 WHERE code = ?1")?
                    .execute([code.as_str()])?;
            }
            Ok(was_active)
        })
    }

    pub fn list_codes(&self) -> Result<Vec<CodeRecord>, StoreError> {
        self.read(|connection| {
            let mut statement =
                connection.prepare(&format!("SELECT {CODE_COLUMNS} FROM codes ORDER BY code"))?;
            Ok(statement
                .query_map([], code_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::orders::{CheckoutError, Promotion};
    use crate::store::sqlite::testing::temporary_store;

    #[test]
    fn a_deactivated_code_is_refused_like_an_unknown_one_everywhere() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        store.seed_demo_if_empty("hash", now).unwrap();
        let ann = crate::store::sqlite::testing::new_account(&store, "ann@example.com", "hash", now);
        let code = PromoCode::parse("gift-20").unwrap();

        assert_eq!(store.deactivate_code(&code).unwrap(), Some(true));
        assert_eq!(store.deactivate_code(&code).unwrap(), Some(false));

        let redeemed = store.redeem_code(ann, &code, now);
        assert!(
            matches!(redeemed, Err(RedeemError::Refused(CodeRefusal::Unknown))),
            "{redeemed:?}"
        );
        let previewed = store.redeemable_code(ann, &code, now);
        assert!(matches!(
            previewed,
            Err(RedeemError::Refused(CodeRefusal::Unknown))
        ));
        let product = store.products_in(None).unwrap()[0].id;
        let ordered = store.place_order(ann, product, &Promotion::Code(code.clone()), "with-code", now);
        assert!(
            matches!(ordered, Err(CheckoutError::Refused(CodeRefusal::Unknown))),
            "{ordered:?}"
        );
        let record = store.code_named(&code).unwrap().unwrap();
        assert_eq!((record.active, record.redemptions), (false, 0));
        let unknown = PromoCode::parse("NO-SUCH-CODE").unwrap();
        assert_eq!(store.deactivate_code(&unknown).unwrap(), None);
    }
}
