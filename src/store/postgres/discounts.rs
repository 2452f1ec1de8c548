//! Saved discounts: a share off one future purchase, never shown as a balance.

use postgres::{GenericClient, Row, Transaction};
use time::OffsetDateTime;

use super::categories::insert_category_refs;
use super::{PostgresStore, StoreError, instant, unix};
use crate::domain::{CategorySet, DiscountTerms, DiscountValue, UserId};
use crate::store::discounts::SavedDiscount;
use crate::store::shared::codes::discount_value;

/// A discount's columns, its categories folded into one value (see
/// `CategorySet::from_bits`).
const DISCOUNT_COLUMNS: &str = "id, description, percent_off, amount_off_cents, \
     (SELECT COALESCE(bit_or(1::BIGINT << (k.category_id::INT - 1)), 0) FROM discount_categories k \
      WHERE k.discount_id = discounts.id), \
     used_by_order_id, expires_at, created_at";

fn discount_from_row(row: &Row) -> Result<SavedDiscount, StoreError> {
    let percent = row
        .get::<_, Option<i64>>(2)
        .map(|percent| {
            u8::try_from(percent).map_err(|_| StoreError::Corrupt(format!("a discount of {percent} %")))
        })
        .transpose()?;
    let value = discount_value(percent, row.get(3))
        .ok_or_else(|| StoreError::Corrupt("a discount without a value".to_owned()))?;
    Ok(SavedDiscount {
        id: row.get(0),
        description: row.get(1),
        terms: DiscountTerms {
            value,
            categories: CategorySet::from_bits(row.get(4)),
        },
        used_by_order: row.get(5),
        expires_at: row.get::<_, Option<i64>>(6).map(instant).transpose()?,
        created_at: instant(row.get(7))?,
    })
}

pub(crate) fn insert_discount(
    tx: &mut Transaction<'_>,
    user: UserId,
    description: &str,
    terms: DiscountTerms,
    code_redemption_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    let (percent, amount) = match terms.value {
        DiscountValue::Percent(percent) => (Some(i64::from(percent)), None),
        DiscountValue::AmountOff(amount) => (None, Some(amount.cents())),
    };
    let id: i64 = tx
        .query_one(
            "INSERT INTO discounts (user_id, description, percent_off, amount_off_cents,
                                    code_redemption_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &user.0,
                &description,
                &percent,
                &amount,
                &code_redemption_id,
                &unix(now),
            ],
        )?
        .get(0);
    insert_category_refs(
        tx,
        "INSERT INTO discount_categories (discount_id, category_id) VALUES ($1, $2)",
        id,
        terms.categories,
    )?;
    Ok(id)
}

/// One of `user`'s discounts, whatever its state.
pub(crate) fn select_discount(
    client: &mut impl GenericClient,
    user: UserId,
    id: i64,
) -> Result<Option<SavedDiscount>, StoreError> {
    client
        .query_opt(
            &format!("SELECT {DISCOUNT_COLUMNS} FROM discounts WHERE id = $1 AND user_id = $2"),
            &[&id, &user.0],
        )?
        .as_ref()
        .map(discount_from_row)
        .transpose()
}

/// Marks a discount used by an order; `false` if it was already used.
pub(crate) fn use_discount(tx: &mut Transaction<'_>, id: i64, order_id: i64) -> Result<bool, StoreError> {
    Ok(tx.execute(
        "UPDATE discounts SET used_by_order_id = $2 WHERE id = $1 AND used_by_order_id IS NULL",
        &[&id, &order_id],
    )? == 1)
}

impl PostgresStore {
    /// Every discount of an account, unused first, newest first.
    pub fn discounts_of(&self, user: UserId) -> Result<Vec<SavedDiscount>, StoreError> {
        self.read(|client| {
            client
                .query(
                    &format!(
                        "SELECT {DISCOUNT_COLUMNS} FROM discounts WHERE user_id = $1
                         ORDER BY used_by_order_id IS NOT NULL, created_at DESC, id DESC"
                    ),
                    &[&user.0],
                )?
                .iter()
                .map(discount_from_row)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Money;
    use crate::domain::category::set;
    use crate::store::postgres::credits::tests::{account, order_row, test_store};

    #[test]
    fn a_discount_is_used_by_one_order_only_and_then_listed_after_the_unused() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let user = account(&store, "shopper@example.com");
        let other = account(&store, "other@example.com");
        let terms = DiscountTerms {
            value: DiscountValue::AmountOff(Money::from_cents(300)),
            categories: set("music,software"),
        };
        let (first, second) = store
            .write(|tx| {
                let first = insert_discount(tx, user, "first", terms, None, now)?;
                let second = insert_discount(tx, user, "second", terms, None, now)?;
                Ok((first, second))
            })
            .unwrap();

        let uses = store
            .write(|tx| {
                let order = order_row(tx, user, 500, "k")?;
                Ok([use_discount(tx, second, order)?, use_discount(tx, second, order)?])
            })
            .unwrap();

        assert_eq!(uses, [true, false]);
        let listed = store.discounts_of(user).unwrap();
        assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), [first, second]);
        assert_eq!(listed[0].terms, terms);
        assert!(listed[0].is_usable(now));
        assert!(!listed[1].is_usable(now));
        let theirs = store
            .read(|client| select_discount(client, other, first))
            .unwrap();
        assert_eq!(theirs, None);
        let mine = store.read(|client| select_discount(client, user, first)).unwrap();
        assert_eq!(mine.map(|d| d.description), Some("first".to_owned()));
    }
}
