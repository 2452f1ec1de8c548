//! Accounts: creating them and finding them to sign in.

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

impl From<postgres::Error> for CreateUserError {
    fn from(error: postgres::Error) -> Self {
        CreateUserError::Store(error.into())
    }
}

impl StoreFailure for CreateUserError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CreateUserError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl PostgresStore {
    pub fn create_user(
        &self,
        email: &Email,
        name: &DisplayName,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<UserId, CreateUserError> {
        todo!("postgres: create_user")
    }

    pub fn find_login(&self, email: &Email) -> Result<Option<LoginRecord>, StoreError> {
        todo!("postgres: find_login")
    }

    pub fn login_of(&self, user: UserId) -> Result<Option<AccountLogin>, StoreError> {
        todo!("postgres: login_of")
    }

    pub fn change_password(&self, user: UserId, password_hash: &str) -> Result<i64, StoreError> {
        todo!("postgres: change_password")
    }

    pub fn user_id_by_email(&self, email: &Email) -> Result<Option<UserId>, StoreError> {
        todo!("postgres: user_id_by_email")
    }

    pub fn list_accounts(&self, search: Option<&str>) -> Result<Vec<AccountSummary>, StoreError> {
        todo!("postgres: list_accounts")
    }

    pub fn account_summary(&self, email: &Email) -> Result<Option<AccountSummary>, StoreError> {
        todo!("postgres: account_summary")
    }
}
