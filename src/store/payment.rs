//! Payment methods: the default card an order's remainder is charged to.

use time::OffsetDateTime;

use super::sql::{Connection, sql, unix};
use super::{Store, StoreError};
use crate::domain::{CardSummary, UserId};

/// The account's default card, if it has one.
pub(crate) fn select_default_card(
    connection: &mut dyn Connection,
    user: UserId,
) -> Result<Option<CardSummary>, StoreError> {
    connection.query_opt(
        sql!("SELECT brand, last4 FROM payment_methods WHERE user_id = $1 AND is_default"),
        &[&user.0],
        |row| {
            Ok(CardSummary {
                brand: row.get(0)?,
                last4: row.get(1)?,
            })
        },
    )
}

impl Store {
    pub fn default_card(&self, user: UserId) -> Result<Option<CardSummary>, StoreError> {
        self.read(|connection| select_default_card(connection, user))
    }

    /// Makes `card` the account's default payment method (only its brand and last
    /// four digits are stored). Of two cards set at the same moment the account
    /// keeps one default: on SQLite the writer takes them in turn; on PostgreSQL
    /// one commits and the other runs again, seeing it (its UPDATE read the
    /// account's default, so the second default is a serialization failure, not
    /// a unique violation).
    pub fn set_default_card(
        &self,
        user: UserId,
        card: &CardSummary,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|connection| {
            connection.execute(
                sql!("UPDATE payment_methods SET is_default = FALSE WHERE user_id = $1 AND is_default"),
                &[&user.0],
            )?;
            connection.execute(
                sql!(
                    "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at)
                     VALUES ($1, $2, $3, TRUE, $4)"
                ),
                &[&user.0, &card.brand, &card.last4, &unix(now)],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestStore, each_engine, new_account};

    fn card(last4: &str) -> CardSummary {
        CardSummary {
            brand: "Visa".into(),
            last4: last4.into(),
        }
    }

    #[test]
    fn the_card_set_last_is_the_one_default() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = new_account(&store, "shopper@example.com", "hash", now);
            assert_eq!(store.default_card(user).unwrap(), None);

            store.set_default_card(user, &card("4242"), now).unwrap();
            store.set_default_card(user, &card("1881"), now).unwrap();

            assert_eq!(
                store.default_card(user).unwrap(),
                Some(card("1881")),
                "{}",
                store.engine_name()
            );
        }
    }

    #[test]
    fn cards_set_at_once_leave_one_default_and_no_error() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = new_account(&store, "shopper@example.com", "hash", now);

            let setters: Vec<_> = (0..6)
                .map(|i| {
                    let store = store.clone();
                    std::thread::spawn(move || store.set_default_card(user, &card(&format!("000{i}")), now))
                })
                .collect();
            for setter in setters {
                setter.join().unwrap().unwrap();
            }

            let defaults: i64 = store
                .read(|connection| {
                    connection.query_value(
                        sql!("SELECT count(*) FROM payment_methods WHERE user_id = $1 AND is_default"),
                        &[&user.0],
                    )
                })
                .unwrap();
            assert_eq!(defaults, 1, "{}", store.engine_name());
            assert!(store.default_card(user).unwrap().is_some());
        }
    }
}
