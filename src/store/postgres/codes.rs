//! Promotional, gift-card and discount codes: creating, finding and redeeming them.

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

impl From<postgres::Error> for RedeemError {
    fn from(error: postgres::Error) -> Self {
        RedeemError::Store(error.into())
    }
}

impl StoreFailure for RedeemError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            RedeemError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl From<postgres::Error> for CreateCodeError {
    fn from(error: postgres::Error) -> Self {
        CreateCodeError::Store(error.into())
    }
}

impl StoreFailure for CreateCodeError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CreateCodeError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl PostgresStore {
    pub fn redeem_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<Redeemed, RedeemError> {
        todo!("postgres: redeem_code")
    }

    pub fn redeemable_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<CodeRecord, RedeemError> {
        todo!("postgres: redeemable_code")
    }

    pub fn create_code(&self, new: &NewCode, now: OffsetDateTime) -> Result<i64, CreateCodeError> {
        todo!("postgres: create_code")
    }

    pub fn code_named(&self, code: &PromoCode) -> Result<Option<CodeRecord>, StoreError> {
        todo!("postgres: code_named")
    }

    pub fn deactivate_code(&self, code: &PromoCode) -> Result<Option<bool>, StoreError> {
        todo!("postgres: deactivate_code")
    }

    pub fn list_codes(&self) -> Result<Vec<CodeRecord>, StoreError> {
        todo!("postgres: list_codes")
    }
}
