//! Checkout and orders: previews, placing, receipts, refunds.

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

impl From<postgres::Error> for CheckoutError {
    fn from(error: postgres::Error) -> Self {
        CheckoutError::Store(error.into())
    }
}

impl StoreFailure for CheckoutError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CheckoutError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl From<postgres::Error> for RefundError {
    fn from(error: postgres::Error) -> Self {
        RefundError::Store(error.into())
    }
}

impl StoreFailure for RefundError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            RefundError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl PostgresStore {
    pub fn preview_order(
        &self,
        user: UserId,
        product_id: i64,
        promotion: &Promotion,
        now: OffsetDateTime,
    ) -> Result<OrderPlan, CheckoutError> {
        todo!("postgres: preview_order")
    }

    pub fn place_order(
        &self,
        user: UserId,
        product_id: i64,
        promotion: &Promotion,
        idempotency_key: &str,
        now: OffsetDateTime,
    ) -> Result<Placed, CheckoutError> {
        todo!("postgres: place_order")
    }

    pub fn receipt(&self, user: UserId, order_id: i64) -> Result<Option<Receipt>, StoreError> {
        todo!("postgres: receipt")
    }

    pub fn orders_of(&self, user: UserId) -> Result<Vec<Receipt>, StoreError> {
        todo!("postgres: orders_of")
    }

    pub fn orders_page(
        &self,
        user: UserId,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<Receipt>, StoreError> {
        todo!("postgres: orders_page")
    }

    pub fn refund_order(&self, order_id: i64, now: OffsetDateTime) -> Result<Refunded, RefundError> {
        todo!("postgres: refund_order")
    }

    pub fn list_orders(&self, user: Option<UserId>) -> Result<Vec<OrderSummary>, StoreError> {
        todo!("postgres: list_orders")
    }

    pub fn order_details(&self, order_id: i64) -> Result<Option<OrderDetails>, StoreError> {
        todo!("postgres: order_details")
    }
}
