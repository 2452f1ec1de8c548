//! The product catalog.

use rusqlite::{Connection, OptionalExtension, Row};

use super::{SqliteStore, StoreError};
use crate::domain::{Category, Money};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: i64,
    pub category: Category,
    pub format: String,
    pub title: String,
    pub creator: String,
    pub description: String,
    pub price: Money,
    pub featured: bool,
}

const PRODUCT_COLUMNS: &str = "id, category, format, title, creator, description, price_cents, featured";

fn product_from_row(row: &Row) -> rusqlite::Result<Product> {
    let category: String = row.get(1)?;
    Ok(Product {
        id: row.get(0)?,
        category: category.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
        })?,
        format: row.get(2)?,
        title: row.get(3)?,
        creator: row.get(4)?,
        description: row.get(5)?,
        price: Money::from_cents(row.get(6)?),
        featured: row.get(7)?,
    })
}

impl SqliteStore {
    pub fn featured_products(&self) -> Result<Vec<Product>, StoreError> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {PRODUCT_COLUMNS} FROM products WHERE featured = 1 ORDER BY category, title"
            ))?;
            Ok(statement
                .query_map([], product_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Products of one category, or of every category, by title.
    pub fn products_in(&self, category: Option<Category>) -> Result<Vec<Product>, StoreError> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {PRODUCT_COLUMNS} FROM products
                 WHERE ?1 IS NULL OR category = ?1 ORDER BY category, title"
            ))?;
            Ok(statement
                .query_map([category.map(Category::slug)], product_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn product(&self, id: i64) -> Result<Option<Product>, StoreError> {
        self.read(|connection| select_product(connection, id))
    }
}

pub(crate) fn select_product(connection: &Connection, id: i64) -> Result<Option<Product>, StoreError> {
    let mut statement =
        connection.prepare_cached(&format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1"))?;
    Ok(statement.query_row([id], product_from_row).optional()?)
}
