//! The catalog: products by category, and the operator's way to add one.

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
    pub fn featured_products(&self) -> Result<Vec<Product>, StoreError> {
        todo!("postgres: featured_products")
    }

    pub fn products_in(&self, category: Option<CategoryId>) -> Result<Vec<Product>, StoreError> {
        todo!("postgres: products_in")
    }

    pub fn product(&self, id: i64) -> Result<Option<Product>, StoreError> {
        todo!("postgres: product")
    }

    pub fn add_product(&self, new: &NewProduct) -> Result<Product, StoreError> {
        todo!("postgres: add_product")
    }
}
