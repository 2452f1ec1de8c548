//! Credits are written once for both engines in `crate::store::credits`. What
//! stays here is for the PostgreSQL engine's own tests of the families not yet
//! written once (codes, demo, discounts, orders, secrets): the credits' use
//! cases they call on a [`PostgresStore`], passed through the store's door, and
//! the helpers they share. Remove it with the last of those tests.

use time::OffsetDateTime;

use super::PostgresStore;
use crate::domain::{Balances, Credit, CreditId, UserId};
use crate::store::credits::{LedgerMismatch, NewCredit};
use crate::store::{Store, StoreError};

impl PostgresStore {
    fn door(&self) -> Store {
        Store::postgres(self.clone())
    }

    pub(crate) fn balances_for(&self, user: UserId, now: OffsetDateTime) -> Result<Balances, StoreError> {
        self.door().balances_for(user, now)
    }

    pub(crate) fn credits_of(&self, user: UserId) -> Result<Vec<Credit>, StoreError> {
        self.door().credits_of(user)
    }

    pub(crate) fn grant_credit(
        &self,
        user: UserId,
        credit: &NewCredit,
        now: OffsetDateTime,
    ) -> Result<CreditId, StoreError> {
        self.door().grant_credit(user, credit, now)
    }

    pub(crate) fn verify_ledger(&self) -> Result<Vec<LedgerMismatch>, StoreError> {
        self.door().verify_ledger()
    }
}

pub(crate) mod tests {
    //! Helpers the engine's other tests share.

    use postgres::Transaction;

    use super::*;
    use crate::store::postgres::testing::{TestDatabase, test_database};

    /// A store on a fresh database (dropped with the [`TestDatabase`]), or
    /// `None` when no PostgreSQL server is configured.
    pub(crate) fn test_store() -> Option<(TestDatabase, PostgresStore)> {
        let database = test_database()?;
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        Some((database, store))
    }

    /// A new account, written directly (the accounts' use cases are not under test).
    pub(crate) fn account(store: &PostgresStore, email: &str) -> UserId {
        store
            .write(|tx| {
                Ok(UserId(
                    tx.query_one(
                        "INSERT INTO users (email, name, password_hash, created_at)
                         VALUES ($1, 'Shopper', 'hash', 0) RETURNING id",
                        &[&email],
                    )?
                    .get(0),
                ))
            })
            .unwrap()
    }

    /// A product and an order of it by `user` for `cents`, paid by promotional
    /// credit, written directly: the order a spend names.
    pub(crate) fn order_row(
        tx: &mut Transaction<'_>,
        user: UserId,
        cents: i64,
        key: &str,
    ) -> Result<i64, StoreError> {
        let product: i64 = tx
            .query_one(
                "INSERT INTO products (category_id, format, title, creator, description, price_cents)
                 VALUES (1, 'Track', 't', 'c', 'd', $1) RETURNING id",
                &[&cents],
            )?
            .get(0);
        Ok(tx
            .query_one(
                "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents,
                                     promotional_credit_cents, placed_at)
                 VALUES ($1, $2, $3, $4, $4, 0) RETURNING id",
                &[&user.0, &product, &key, &cents],
            )?
            .get(0))
    }
}
