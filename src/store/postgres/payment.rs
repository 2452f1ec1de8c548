//! Payment methods: the default card an order's remainder is charged to.

use postgres::GenericClient;
use time::OffsetDateTime;

use super::{PostgresStore, StoreError, unix};
use crate::domain::{CardSummary, UserId};

pub(crate) fn select_default_card(
    client: &mut impl GenericClient,
    user: UserId,
) -> Result<Option<CardSummary>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT brand, last4 FROM payment_methods WHERE user_id = $1 AND is_default",
            &[&user.0],
        )?
        .map(|row| CardSummary {
            brand: row.get(0),
            last4: row.get(1),
        }))
}

impl PostgresStore {
    pub fn default_card(&self, user: UserId) -> Result<Option<CardSummary>, StoreError> {
        self.read(|client| select_default_card(client, user))
    }

    /// Makes `card` the account's default payment method (only its brand and last
    /// four digits are stored). Of two cards set at the same moment, one commits
    /// and the other runs again, seeing it: the account keeps one default (its
    /// UPDATE read the account's default, so PostgreSQL reports the second default
    /// as a serialization failure, not a unique violation).
    pub fn set_default_card(
        &self,
        user: UserId,
        card: &CardSummary,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE payment_methods SET is_default = FALSE WHERE user_id = $1 AND is_default",
                &[&user.0],
            )?;
            tx.execute(
                "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at)
                 VALUES ($1, $2, $3, TRUE, $4)",
                &[&user.0, &card.brand, &card.last4, &unix(now)],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::credits::tests::{account, test_store};

    fn card(last4: &str) -> CardSummary {
        CardSummary {
            brand: "Visa".into(),
            last4: last4.into(),
        }
    }

    #[test]
    fn the_card_set_last_is_the_one_default() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let user = account(&store, "shopper@example.com");
        assert_eq!(store.default_card(user).unwrap(), None);

        store.set_default_card(user, &card("4242"), now).unwrap();
        store.set_default_card(user, &card("1881"), now).unwrap();

        assert_eq!(store.default_card(user).unwrap(), Some(card("1881")));
    }

    #[test]
    fn cards_set_at_once_leave_one_default_and_no_error() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let user = account(&store, "shopper@example.com");

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
            .read(|client| {
                Ok(client
                    .query_one(
                        "SELECT count(*) FROM payment_methods WHERE user_id = $1 AND is_default",
                        &[&user.0],
                    )?
                    .get(0))
            })
            .unwrap();
        assert_eq!(defaults, 1);
        assert!(store.default_card(user).unwrap().is_some());
    }
}
