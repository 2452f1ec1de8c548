//! Credits and their ledger: the pop-up's balances, grants, adjustments.

#![allow(unused_imports, unused_variables)] // TODO(postgres): remove with the stubs

use std::path::Path;
use time::OffsetDateTime;

use super::{Page, PostgresStore, StoreError, StoreFailure};
use crate::domain::*;
use crate::store::catalog::*;
use crate::store::categories::*;
use crate::store::codes::*;
use crate::store::credits::*;
use crate::store::discounts::*;
use crate::store::orders::*;
use crate::store::sessions::*;
use crate::store::throttle::*;
use crate::store::users::*;

impl From<postgres::Error> for AdjustError {
    fn from(error: postgres::Error) -> Self {
        AdjustError::Store(error.into())
    }
}

impl StoreFailure for AdjustError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            AdjustError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl PostgresStore {
    pub fn balances_for(&self, user: UserId, now: OffsetDateTime) -> Result<Balances, StoreError> {
        todo!("postgres: balances_for")
    }

    pub fn credits_of(&self, user: UserId) -> Result<Vec<Credit>, StoreError> {
        todo!("postgres: credits_of")
    }

    pub fn credit_activity(&self, user: UserId) -> Result<Vec<CreditActivity>, StoreError> {
        todo!("postgres: credit_activity")
    }

    pub fn credit_activity_page(
        &self,
        user: UserId,
        before: Option<i64>,
        size: usize,
        events: usize,
    ) -> Result<Page<CreditActivity>, StoreError> {
        todo!("postgres: credit_activity_page")
    }

    pub fn grant_credit(
        &self,
        user: UserId,
        credit: &NewCredit,
        now: OffsetDateTime,
    ) -> Result<CreditId, StoreError> {
        todo!("postgres: grant_credit")
    }

    pub fn verify_ledger(&self) -> Result<Vec<LedgerMismatch>, StoreError> {
        todo!("postgres: verify_ledger")
    }

    pub fn account_credits(&self, user: UserId) -> Result<Vec<AccountCredit>, StoreError> {
        todo!("postgres: account_credits")
    }

    pub fn adjust_credit(
        &self,
        credit: CreditId,
        adjustment: Adjustment,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<Adjusted, AdjustError> {
        todo!("postgres: adjust_credit")
    }

    pub fn revoke_credit(
        &self,
        credit: CreditId,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<Adjusted, AdjustError> {
        todo!("postgres: revoke_credit")
    }
}
