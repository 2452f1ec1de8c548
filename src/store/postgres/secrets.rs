//! Secrets the server makes for itself on first start and keeps across restarts.

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
    pub fn session_cookie_key(&self) -> Result<Vec<u8>, StoreError> {
        todo!("postgres: session_cookie_key")
    }
}
