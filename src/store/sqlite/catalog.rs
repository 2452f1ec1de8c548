//! The product catalog.

use rusqlite::{Connection, OptionalExtension, Row};

use super::{SqliteStore, StoreError};
use crate::domain::{Category, CategoryId, Money};

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

/// A product with its category, from `products p JOIN categories k`.
const PRODUCT_COLUMNS: &str = "p.id, k.id, k.slug, k.label, k.position, \
     p.format, p.title, p.creator, p.description, p.price_cents, p.featured";

fn product_from_row(row: &Row) -> rusqlite::Result<Product> {
    let category = CategoryId::new(row.get(1)?).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Integer, "category id".into())
    })?;
    Ok(Product {
        id: row.get(0)?,
        category: Category::new(category, row.get(2)?, row.get(3)?, row.get(4)?),
        format: row.get(5)?,
        title: row.get(6)?,
        creator: row.get(7)?,
        description: row.get(8)?,
        price: Money::from_cents(row.get(9)?),
        featured: row.get(10)?,
    })
}

impl SqliteStore {
    pub fn featured_products(&self) -> Result<Vec<Product>, StoreError> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {PRODUCT_COLUMNS} FROM products p JOIN categories k ON k.id = p.category_id
                 WHERE p.featured = 1 ORDER BY k.position, p.title"
            ))?;
            Ok(statement
                .query_map([], product_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Products of one category, or of every category, by title.
    pub fn products_in(&self, category: Option<CategoryId>) -> Result<Vec<Product>, StoreError> {
        self.read(|connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {PRODUCT_COLUMNS} FROM products p JOIN categories k ON k.id = p.category_id
                 WHERE ?1 IS NULL OR p.category_id = ?1 ORDER BY k.position, p.title"
            ))?;
            Ok(statement
                .query_map([category.map(CategoryId::get)], product_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn product(&self, id: i64) -> Result<Option<Product>, StoreError> {
        self.read(|connection| select_product(connection, id))
    }

    /// Adds a product to the catalog and gives it back as stored.
    pub fn add_product(&self, new: &NewProduct) -> Result<Product, StoreError> {
        self.write(|tx| {
            let id: i64 = tx.query_row(
                "INSERT INTO products (category_id, format, title, creator, description, price_cents, featured)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                rusqlite::params![
                    new.category.get(),
                    new.format,
                    new.title,
                    new.creator,
                    new.description,
                    new.price.cents(),
                    new.featured
                ],
                |row| row.get(0),
            )?;
            select_product(tx, id)?.ok_or_else(|| StoreError::Corrupt(format!("product {id} vanished")))
        })
    }
}

/// A product to add: the operator's `product add`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub category: CategoryId,
    pub format: String,
    pub title: String,
    pub creator: String,
    pub description: String,
    pub price: Money,
    pub featured: bool,
}

pub(crate) fn select_product(connection: &Connection, id: i64) -> Result<Option<Product>, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p JOIN categories k ON k.id = p.category_id WHERE p.id = ?1"
    ))?;
    Ok(statement.query_row([id], product_from_row).optional()?)
}
