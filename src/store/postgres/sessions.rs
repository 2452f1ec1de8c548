//! Sessions: the session layer's state, the account it signs in, its expiries.

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
    pub fn load_session(
        &self,
        key: &str,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<Option<LoadedSession>, StoreError> {
        todo!("postgres: load_session")
    }

    pub fn refresh_session(
        &self,
        key: &str,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        todo!("postgres: refresh_session")
    }

    pub fn insert_session(
        &self,
        key: &str,
        state: &str,
        owner: Option<SignedInAs>,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        todo!("postgres: insert_session")
    }

    pub fn update_session(
        &self,
        key: &str,
        state: &str,
        user_id: Option<UserId>,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        todo!("postgres: update_session")
    }

    pub fn delete_session(&self, key: &str) -> Result<(), StoreError> {
        todo!("postgres: delete_session")
    }

    pub fn purge_expired_sessions(
        &self,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        todo!("postgres: purge_expired_sessions")
    }
}
