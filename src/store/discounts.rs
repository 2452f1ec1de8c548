//! Saved discounts: a share off one future purchase, never shown as a balance.

use time::OffsetDateTime;

use super::categories::insert_category_refs;
use super::rules::codes::discount_value;
use super::sql::{Connection, Row, sql, unix};
use super::{Store, StoreError};
use crate::domain::{CategorySet, DiscountTerms, DiscountValue, UserId};

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

/// `SELECT` a discount's columns, its categories folded into one value (see
/// `CategorySet::from_bits`), `FROM discounts`, then the rest of the statement.
macro_rules! select_discounts {
    ($($rest:tt)*) => {
        concat!(
            "SELECT id, description, percent_off, amount_off_cents, \
             (SELECT CAST(COALESCE(SUM(CAST(1 AS BIGINT) << CAST(k.category_id - 1 AS INTEGER)), 0) AS BIGINT) \
              FROM discount_categories k WHERE k.discount_id = discounts.id), \
             used_by_order_id, expires_at, created_at FROM discounts ",
            $($rest)*
        )
    };
}

fn discount_from_row(row: &Row<'_>) -> Result<SavedDiscount, StoreError> {
    let percent = row
        .get::<Option<i64>>(2)?
        .map(|percent| {
            u8::try_from(percent).map_err(|_| StoreError::Corrupt(format!("a discount of {percent} %")))
        })
        .transpose()?;
    let value = discount_value(percent, row.get(3)?)
        .ok_or_else(|| StoreError::Corrupt("a discount without a value".to_owned()))?;
    Ok(SavedDiscount {
        id: row.get(0)?,
        description: row.get(1)?,
        terms: DiscountTerms {
            value,
            categories: CategorySet::from_bits(row.get(4)?),
        },
        used_by_order: row.get(5)?,
        expires_at: row.optional_instant(6)?,
        created_at: row.instant(7)?,
    })
}

/// Saves a discount for `user`, with its categories; its id.
pub(crate) fn insert_discount(
    connection: &mut dyn Connection,
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
    let id: i64 = connection.query_value(
        sql!(
            "INSERT INTO discounts (user_id, description, percent_off, amount_off_cents,
                                    code_redemption_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        ),
        &[
            &user.0,
            &description,
            &percent,
            &amount,
            &code_redemption_id,
            &unix(now),
        ],
    )?;
    insert_category_refs(
        connection,
        sql!("INSERT INTO discount_categories (discount_id, category_id) VALUES ($1, $2)"),
        id,
        terms.categories,
    )?;
    Ok(id)
}

/// One of `user`'s discounts, whatever its state.
pub(crate) fn select_discount(
    connection: &mut dyn Connection,
    user: UserId,
    id: i64,
) -> Result<Option<SavedDiscount>, StoreError> {
    connection.query_opt(
        sql!(select_discounts!("WHERE id = $1 AND user_id = $2")),
        &[&id, &user.0],
        discount_from_row,
    )
}

/// Marks a discount used by an order; `false` if it was already used.
pub(crate) fn use_discount(
    connection: &mut dyn Connection,
    id: i64,
    order_id: i64,
) -> Result<bool, StoreError> {
    let changed = connection.execute(
        sql!("UPDATE discounts SET used_by_order_id = $2 WHERE id = $1 AND used_by_order_id IS NULL"),
        &[&id, &order_id],
    )?;
    Ok(changed == 1)
}

impl Store {
    /// Every discount of an account, unused first, newest first.
    pub fn discounts_of(&self, user: UserId) -> Result<Vec<SavedDiscount>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(select_discounts!(
                    "WHERE user_id = $1 ORDER BY used_by_order_id IS NOT NULL, created_at DESC, id DESC"
                )),
                &[&user.0],
                discount_from_row,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Money;
    use crate::domain::category::set;
    use crate::store::testing::{TestStore, each_engine, new_account};

    /// A product and an order of it by `user`, written directly: the order a
    /// discount is used by.
    fn order_row(connection: &mut dyn Connection, user: UserId, key: &str) -> Result<i64, StoreError> {
        let product: i64 = connection.query_value(
            sql!(
                "INSERT INTO products (category_id, format, title, creator, description, price_cents)
                 VALUES (1, 'Track', 't', 'c', 'd', 500) RETURNING id"
            ),
            &[],
        )?;
        connection.query_value(
            sql!(
                "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents,
                                     promotional_credit_cents, placed_at)
                 VALUES ($1, $2, $3, 500, 500, 0) RETURNING id"
            ),
            &[&user.0, &product, &key],
        )
    }

    #[test]
    fn a_discount_is_used_by_one_order_only_and_then_listed_after_the_unused() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = new_account(&store, "shopper@example.com", "hash", now);
            let other = new_account(&store, "other@example.com", "hash", now);
            let terms = DiscountTerms {
                value: DiscountValue::AmountOff(Money::from_cents(300)),
                categories: set("music,software"),
            };
            let (first, second) = store
                .write(|connection| {
                    let first = insert_discount(connection, user, "first", terms, None, now)?;
                    let second = insert_discount(connection, user, "second", terms, None, now)?;
                    Ok::<_, StoreError>((first, second))
                })
                .unwrap();

            let uses = store
                .write(|connection| {
                    let order = order_row(connection, user, "k")?;
                    Ok::<_, StoreError>([
                        use_discount(connection, second, order)?,
                        use_discount(connection, second, order)?,
                    ])
                })
                .unwrap();

            assert_eq!(uses, [true, false], "{}", store.engine_name());
            let listed = store.discounts_of(user).unwrap();
            assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), [first, second]);
            assert_eq!(listed[0].terms, terms);
            assert!(listed[0].is_usable(now));
            assert!(!listed[1].is_usable(now));
            let theirs = store
                .read(|connection| select_discount(connection, other, first))
                .unwrap();
            assert_eq!(theirs, None);
            let mine = store
                .read(|connection| select_discount(connection, user, first))
                .unwrap();
            assert_eq!(mine.map(|d| d.description), Some("first".to_owned()));
        }
    }

    #[test]
    fn a_percentage_off_every_category_reads_back_as_saved() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = new_account(&store, "shopper@example.com", "hash", now);
            let every: CategorySet = store.categories().iter().map(|category| category.id()).collect();
            let terms = DiscountTerms {
                value: DiscountValue::Percent(20),
                categories: every,
            };
            store
                .write(|connection| insert_discount(connection, user, "20% off", terms, None, now))
                .unwrap();

            let listed = store.discounts_of(user).unwrap();
            assert_eq!(listed.len(), 1, "{}", store.engine_name());
            assert_eq!(listed[0].terms, terms);
            assert_eq!(listed[0].created_at.unix_timestamp(), now.unix_timestamp());
            assert_eq!(listed[0].expires_at, None);
        }
    }
}
