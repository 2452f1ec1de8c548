//! Throttle counters: attempts per subject in a window.

#![allow(unused_imports, unused_variables)] // TODO(postgres): remove with the stubs

use std::path::Path;
use time::{Duration, OffsetDateTime};

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
    pub fn reserve_attempt(
        &self,
        counters: &[(Subject, ThrottleRule)],
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, StoreError> {
        todo!("postgres: reserve_attempt")
    }

    pub fn settle_successful_attempt(
        &self,
        cleared: &[Subject],
        refunded: &[Subject],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        todo!("postgres: settle_successful_attempt")
    }

    pub fn attempts_counted(
        &self,
        subject: &Subject,
        now: OffsetDateTime,
    ) -> Result<Option<(i64, OffsetDateTime)>, StoreError> {
        todo!("postgres: attempts_counted")
    }

    pub fn clear_attempts(
        &self,
        subject: &Subject,
        now: OffsetDateTime,
    ) -> Result<Option<(i64, OffsetDateTime)>, StoreError> {
        todo!("postgres: clear_attempts")
    }

    pub fn purge_throttle_counters(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        todo!("postgres: purge_throttle_counters")
    }
}
