//! Saved discounts: a share off one future purchase, never shown as a balance.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use super::categories::insert_category_refs;
use super::{SqliteStore, StoreError, instant, unix};
use crate::domain::{CategorySet, DiscountTerms, DiscountValue, UserId};
use crate::store::shared::codes::discount_value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDiscount {
    pub id: i64,
    pub description: String,
    pub terms: DiscountTerms,
    pub used_by_order: Option<i64>,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl SavedDiscount {
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.used_by_order.is_none() && self.expires_at.is_none_or(|expiry| expiry > now)
    }
}

/// A discount's columns, its categories folded into one value (see
/// `CategorySet::from_bits`).
const DISCOUNT_COLUMNS: &str = "id, description, percent_off, amount_off_cents, \
     (SELECT COALESCE(SUM(1 << (k.category_id - 1)), 0) FROM discount_categories k \
      WHERE k.discount_id = discounts.id), \
     used_by_order_id, expires_at, created_at";

fn discount_from_row(row: &Row) -> rusqlite::Result<SavedDiscount> {
    let value = discount_value(row.get(2)?, row.get(3)?).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Null,
            "discount without a value".into(),
        )
    })?;
    Ok(SavedDiscount {
        id: row.get(0)?,
        description: row.get(1)?,
        terms: DiscountTerms {
            value,
            categories: CategorySet::from_bits(row.get(4)?),
        },
        used_by_order: row.get(5)?,
        expires_at: row.get::<_, Option<i64>>(6)?.map(instant).transpose()?,
        created_at: instant(row.get(7)?)?,
    })
}

pub(crate) fn insert_discount(
    tx: &Transaction,
    user: UserId,
    description: &str,
    terms: DiscountTerms,
    code_redemption_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    let (percent, amount) = match terms.value {
        DiscountValue::Percent(percent) => (Some(percent), None),
        DiscountValue::AmountOff(amount) => (None, Some(amount.cents())),
    };
    tx.prepare_cached(
        "INSERT INTO discounts (user_id, description, percent_off, amount_off_cents,
                                code_redemption_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        user.0,
        description,
        percent,
        amount,
        code_redemption_id,
        unix(now)
    ])?;
    let id = tx.last_insert_rowid();
    insert_category_refs(
        tx,
        "INSERT INTO discount_categories (discount_id, category_id) VALUES (?1, ?2)",
        id,
        terms.categories,
    )?;
    Ok(id)
}

/// One of `user`'s discounts, whatever its state.
pub(crate) fn select_discount(
    connection: &Connection,
    user: UserId,
    id: i64,
) -> Result<Option<SavedDiscount>, StoreError> {
    Ok(connection
        .prepare_cached(&format!(
            "SELECT {DISCOUNT_COLUMNS} FROM discounts WHERE id = ?1 AND user_id = ?2"
        ))?
        .query_row(params![id, user.0], discount_from_row)
        .optional()?)
}

/// Marks a discount used by an order; `false` if it was already used.
pub(crate) fn use_discount(tx: &Transaction, id: i64, order_id: i64) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached(
            "UPDATE discounts SET used_by_order_id = ?2 WHERE id = ?1 AND used_by_order_id IS NULL",
        )?
        .execute(params![id, order_id])?
        == 1)
}

impl SqliteStore {
    /// Every discount of an account, unused first, newest first.
    pub fn discounts_of(&self, user: UserId) -> Result<Vec<SavedDiscount>, StoreError> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {DISCOUNT_COLUMNS} FROM discounts WHERE user_id = ?1
                 ORDER BY used_by_order_id IS NOT NULL, created_at DESC, id DESC"
            ))?;
            Ok(statement
                .query_map([user.0], discount_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
