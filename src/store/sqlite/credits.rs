//! Credits are written once for both engines in `crate::store::credits`. What
//! stays here is for the SQLite engine's own tests of the families not yet
//! written once (categories, demo, orders, copy): the credits' use cases they
//! call on a [`SqliteStore`], passed through the store's door. Remove it with
//! the last of those tests.

use time::OffsetDateTime;

use super::SqliteStore;
use crate::domain::{Balances, Credit, CreditId, UserId};
use crate::store::credits::{LedgerMismatch, NewCredit};
use crate::store::{Store, StoreError};

impl SqliteStore {
    fn door(&self) -> Store {
        Store::sqlite(self.clone())
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
