//! The demo catalog, account and codes, seeded into an empty store.

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
    pub fn seed_demo_if_empty(&self, password_hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        todo!("postgres: seed_demo_if_empty")
    }
}
