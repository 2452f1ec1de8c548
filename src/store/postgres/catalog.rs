//! The catalog: products by category, and the operator's way to add one.

use postgres::{GenericClient, Row};

use super::{PostgresStore, StoreError};
use crate::domain::{Category, CategoryId, Money};
use crate::store::catalog::{NewProduct, Product};

/// A product with its category, from `products p JOIN categories k`.
const PRODUCT_COLUMNS: &str = "p.id, k.id, k.slug, k.label, k.position, \
     p.format, p.title, p.creator, p.description, p.price_cents, p.featured";

/// Products are listed by department, then by title in code-point order (as
/// SQLite's binary collation sorts them, whatever the database's locale), then
/// in the order they were added.
const PRODUCT_ORDER: &str = r#"k.position, p.title COLLATE "C", p.id"#;

fn product_from_row(row: &Row) -> Result<Product, StoreError> {
    let category = CategoryId::new(row.try_get(1)?)
        .ok_or_else(|| StoreError::Corrupt("a product's category id out of range".to_owned()))?;
    Ok(Product {
        id: row.try_get(0)?,
        category: Category::new(category, row.try_get(2)?, row.try_get(3)?, row.try_get(4)?),
        format: row.try_get(5)?,
        title: row.try_get(6)?,
        creator: row.try_get(7)?,
        description: row.try_get(8)?,
        price: Money::from_cents(row.try_get(9)?),
        featured: row.try_get(10)?,
    })
}

impl PostgresStore {
    pub fn featured_products(&self) -> Result<Vec<Product>, StoreError> {
        self.read(|client| {
            client
                .query(
                    &format!(
                        "SELECT {PRODUCT_COLUMNS} FROM products p JOIN categories k ON k.id = p.category_id
                         WHERE p.featured ORDER BY {PRODUCT_ORDER}"
                    ),
                    &[],
                )?
                .iter()
                .map(product_from_row)
                .collect()
        })
    }

    /// Products of one category, or of every category, by title.
    pub fn products_in(&self, category: Option<CategoryId>) -> Result<Vec<Product>, StoreError> {
        let category = category.map(CategoryId::get);
        self.read(|client| {
            client
                .query(
                    &format!(
                        "SELECT {PRODUCT_COLUMNS} FROM products p JOIN categories k ON k.id = p.category_id
                         WHERE $1::BIGINT IS NULL OR p.category_id = $1 ORDER BY {PRODUCT_ORDER}"
                    ),
                    &[&category],
                )?
                .iter()
                .map(product_from_row)
                .collect()
        })
    }

    pub fn product(&self, id: i64) -> Result<Option<Product>, StoreError> {
        self.read(|client| select_product(client, id))
    }

    /// Adds a product to the catalog and gives it back as stored.
    pub fn add_product(&self, new: &NewProduct) -> Result<Product, StoreError> {
        self.write(|tx| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO products (category_id, format, title, creator, description, price_cents, featured)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        &new.category.get(),
                        &new.format,
                        &new.title,
                        &new.creator,
                        &new.description,
                        &new.price.cents(),
                        &new.featured,
                    ],
                )?
                .try_get(0)?;
            select_product(tx, id)?.ok_or_else(|| StoreError::Corrupt(format!("product {id} vanished")))
        })
    }
}

pub(crate) fn select_product(
    client: &mut impl GenericClient,
    id: i64,
) -> Result<Option<Product>, StoreError> {
    client
        .query_opt(
            &format!(
                "SELECT {PRODUCT_COLUMNS} FROM products p JOIN categories k ON k.id = p.category_id WHERE p.id = $1"
            ),
            &[&id],
        )?
        .as_ref()
        .map(product_from_row)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_postgres::test_database;

    fn new_product(store: &PostgresStore, slug: &str, title: &str, featured: bool) -> NewProduct {
        NewProduct {
            category: store.categories().by_slug(slug).unwrap().id(),
            format: "Download".to_owned(),
            title: title.to_owned(),
            creator: "Someone".to_owned(),
            description: "Something.".to_owned(),
            price: Money::from_cents(499),
            featured,
        }
    }

    fn titles(products: &[Product]) -> Vec<&str> {
        products.iter().map(|product| product.title.as_str()).collect()
    }

    #[test]
    fn an_added_product_is_given_back_as_stored() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let new = new_product(&store, "software", "Tidy Desk", true);

        let added = store.add_product(&new).unwrap();

        assert_eq!(store.product(added.id).unwrap(), Some(added.clone()));
        assert_eq!(added.category.slug(), "software");
        assert_eq!(
            (added.title.as_str(), added.price, added.featured),
            ("Tidy Desk", Money::from_cents(499), true)
        );
        assert_eq!(store.product(added.id + 1).unwrap(), None);
    }

    #[test]
    fn products_are_listed_by_category_then_title() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        for (slug, title) in [
            ("video", "Zebra Crossing"),
            ("music", "Night Bus"),
            ("video", "Apple Orchard"),
            ("music", "Autumn"),
        ] {
            store
                .add_product(&new_product(&store, slug, title, false))
                .unwrap();
        }

        let music = store.categories().by_slug("music").unwrap().id();
        assert_eq!(
            titles(&store.products_in(None).unwrap()),
            ["Autumn", "Night Bus", "Apple Orchard", "Zebra Crossing"]
        );
        assert_eq!(
            titles(&store.products_in(Some(music)).unwrap()),
            ["Autumn", "Night Bus"]
        );
    }

    #[test]
    fn titles_sort_by_code_point_as_on_sqlite() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        for title in ["apple", "Banana", "Éclair", "Apple"] {
            store
                .add_product(&new_product(&store, "kindle", title, false))
                .unwrap();
        }

        assert_eq!(
            titles(&store.products_in(None).unwrap()),
            ["Apple", "Banana", "apple", "Éclair"]
        );
    }

    #[test]
    fn featured_products_are_only_the_featured_ones() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        store
            .add_product(&new_product(&store, "kindle", "Shown", true))
            .unwrap();
        store
            .add_product(&new_product(&store, "kindle", "Hidden", false))
            .unwrap();
        store
            .add_product(&new_product(&store, "music", "Also Shown", true))
            .unwrap();

        assert_eq!(
            titles(&store.featured_products().unwrap()),
            ["Also Shown", "Shown"]
        );
    }
}
