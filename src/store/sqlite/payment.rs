//! Payment methods: the default card an order's remainder is charged to.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{Store, StoreError, unix};
use crate::domain::{CardSummary, UserId};

pub(crate) fn select_default_card(
    connection: &Connection,
    user: UserId,
) -> Result<Option<CardSummary>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT brand, last4 FROM payment_methods WHERE user_id = ?1 AND is_default = 1")?
        .query_row([user.0], |row| {
            Ok(CardSummary {
                brand: row.get(0)?,
                last4: row.get(1)?,
            })
        })
        .optional()?)
}

impl Store {
    pub fn default_card(&self, user: UserId) -> Result<Option<CardSummary>, StoreError> {
        self.read(|connection| select_default_card(connection, user))
    }

    /// Makes `card` the account's default payment method (only its brand and last
    /// four digits are stored).
    pub fn set_default_card(
        &self,
        user: UserId,
        card: &CardSummary,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE payment_methods SET is_default = 0 WHERE user_id = ?1 AND is_default = 1",
            )?
            .execute([user.0])?;
            tx.prepare_cached(
                "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at)
                 VALUES (?1, ?2, ?3, 1, ?4)",
            )?
            .execute(params![user.0, card.brand, card.last4, unix(now)])?;
            Ok(())
        })
    }
}
