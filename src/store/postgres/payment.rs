//! The default payment method.

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
    pub fn default_card(&self, user: UserId) -> Result<Option<CardSummary>, StoreError> {
        todo!("postgres: default_card")
    }

    pub fn set_default_card(
        &self,
        user: UserId,
        card: &CardSummary,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        todo!("postgres: set_default_card")
    }
}
