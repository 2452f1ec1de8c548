//! The catalog: products by category, and the operator's way to add one.

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::sql::{Connection, Row, sql};
use super::{Store, StoreError};
use crate::domain::{Actor, Category, CategoryId, Money};

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

/// `SELECT` a product with its category, from `products p JOIN categories k`,
/// then the rest of the statement.
macro_rules! select_products {
    ($($rest:tt)*) => {
        concat!(
            "SELECT p.id, k.id, k.slug, k.label, k.position, \
             p.format, p.title, p.creator, p.description, p.price_cents, p.featured \
             FROM products p JOIN categories k ON k.id = p.category_id ",
            $($rest)*
        )
    };
}

/// Products are listed by department, then by title in code-point order
/// (PostgreSQL's "C" collation, whatever the database's locale; SQLite's
/// connections have one of that name), then in the order they were added.
macro_rules! product_order {
    () => {
        r#" ORDER BY k.position, p.title COLLATE "C", p.id"#
    };
}

fn product_from_row(row: &Row<'_>) -> Result<Product, StoreError> {
    let category = CategoryId::new(row.get(1)?)
        .ok_or_else(|| StoreError::Corrupt("a product's category id out of range".to_owned()))?;
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

/// One product, with its category.
pub(crate) fn select_product(
    connection: &mut dyn Connection,
    id: i64,
) -> Result<Option<Product>, StoreError> {
    connection.query_opt(
        sql!(select_products!("WHERE p.id = $1")),
        &[&id],
        product_from_row,
    )
}

impl Store {
    /// The products on the home page.
    pub fn featured_products(&self) -> Result<Vec<Product>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(select_products!("WHERE p.featured", product_order!())),
                &[],
                product_from_row,
            )
        })
    }

    /// Every product, or those of one category, by title.
    pub fn products_in(&self, category: Option<CategoryId>) -> Result<Vec<Product>, StoreError> {
        let category = category.map(CategoryId::get);
        self.read(|connection| {
            connection.query(
                sql!(select_products!(
                    "WHERE CAST($1 AS BIGINT) IS NULL OR p.category_id = $1",
                    product_order!()
                )),
                &[&category],
                product_from_row,
            )
        })
    }

    pub fn product(&self, id: i64) -> Result<Option<Product>, StoreError> {
        self.read(|connection| select_product(connection, id))
    }

    /// Adds a product to the catalog and gives it back as stored.
    pub fn add_product(
        &self,
        actor: &Actor,
        new: &NewProduct,
        now: OffsetDateTime,
    ) -> Result<Product, StoreError> {
        self.write(|connection| {
            let id: i64 = connection.query_value(
                sql!(
                    "INSERT INTO products (category_id, format, title, creator, description, price_cents, featured)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
                ),
                &[
                    &new.category.get(),
                    &new.format,
                    &new.title,
                    &new.creator,
                    &new.description,
                    &new.price.cents(),
                    &new.featured,
                ],
            )?;
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::ProductAdd, format!("product:{id}"))
                    .after(format!("{} at {}", new.title, new.price)),
                now,
            )?;
            select_product(connection, id)?.ok_or_else(|| StoreError::Corrupt(format!("product {id} vanished")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestStore, each_engine, tester};

    fn new_product(store: &Store, slug: &str, title: &str, featured: bool) -> NewProduct {
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
        for TestStore { store, .. } in each_engine() {
            let new = new_product(&store, "software", "Tidy Desk", true);

            let added = store
                .add_product(&tester(), &new, time::OffsetDateTime::now_utc())
                .unwrap();

            assert_eq!(
                store.product(added.id).unwrap(),
                Some(added.clone()),
                "{}",
                store.engine_name()
            );
            assert_eq!(added.category.slug(), "software");
            assert_eq!(
                (added.title.as_str(), added.price, added.featured),
                ("Tidy Desk", Money::from_cents(499), true)
            );
            assert_eq!(store.product(added.id + 1).unwrap(), None);
        }
    }

    #[test]
    fn products_are_listed_by_category_then_title() {
        for TestStore { store, .. } in each_engine() {
            for (slug, title) in [
                ("video", "Zebra Crossing"),
                ("music", "Night Bus"),
                ("video", "Apple Orchard"),
                ("music", "Autumn"),
            ] {
                store
                    .add_product(
                        &tester(),
                        &new_product(&store, slug, title, false),
                        time::OffsetDateTime::now_utc(),
                    )
                    .unwrap();
            }

            let music = store.categories().by_slug("music").unwrap().id();
            assert_eq!(
                titles(&store.products_in(None).unwrap()),
                ["Autumn", "Night Bus", "Apple Orchard", "Zebra Crossing"],
                "{}",
                store.engine_name()
            );
            assert_eq!(
                titles(&store.products_in(Some(music)).unwrap()),
                ["Autumn", "Night Bus"]
            );
        }
    }

    #[test]
    fn titles_sort_by_code_point_then_by_age() {
        for TestStore { store, .. } in each_engine() {
            for title in ["apple", "Banana", "Éclair", "Apple", "Banana"] {
                store
                    .add_product(
                        &tester(),
                        &new_product(&store, "kindle", title, false),
                        time::OffsetDateTime::now_utc(),
                    )
                    .unwrap();
            }

            let listed = store.products_in(None).unwrap();
            assert_eq!(
                titles(&listed),
                ["Apple", "Banana", "Banana", "apple", "Éclair"],
                "{}",
                store.engine_name()
            );
            assert!(listed[1].id < listed[2].id, "the older first");
        }
    }

    #[test]
    fn featured_products_are_only_the_featured_ones() {
        for TestStore { store, .. } in each_engine() {
            store
                .add_product(
                    &tester(),
                    &new_product(&store, "kindle", "Shown", true),
                    time::OffsetDateTime::now_utc(),
                )
                .unwrap();
            store
                .add_product(
                    &tester(),
                    &new_product(&store, "kindle", "Hidden", false),
                    time::OffsetDateTime::now_utc(),
                )
                .unwrap();
            store
                .add_product(
                    &tester(),
                    &new_product(&store, "music", "Also Shown", true),
                    time::OffsetDateTime::now_utc(),
                )
                .unwrap();

            assert_eq!(
                titles(&store.featured_products().unwrap()),
                ["Also Shown", "Shown"],
                "{}",
                store.engine_name()
            );
        }
    }
}
