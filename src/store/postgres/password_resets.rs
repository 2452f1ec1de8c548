//! Single-use password reset links.

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

impl PostgresStore {
    pub fn create_password_reset(&self, user: UserId, now: OffsetDateTime) -> Result<String, StoreError> {
        todo!("postgres: create_password_reset")
    }

    pub fn password_reset_account(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        todo!("postgres: password_reset_account")
    }

    pub fn reset_password(
        &self,
        token: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        todo!("postgres: reset_password")
    }

    pub fn purge_password_resets(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        todo!("postgres: purge_password_resets")
    }
}
