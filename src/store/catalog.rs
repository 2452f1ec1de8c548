//! The catalog: products by category as shoppers see them, and staff's ways to
//! add a product, rename it, change its price, hide and show it.

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::sql::{Connection, Row, page_limit, sql};
use super::{Page, Store, StoreError, StoreFailure};
use crate::domain::{Actor, Category, CategoryId, Money, ProductText};

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
    /// Hidden by staff (its own flag; its category may be hidden too).
    pub hidden: bool,
}

impl Product {
    /// Listed, shown and sold: neither it nor its category is hidden. Past
    /// orders and receipts show it either way.
    pub fn on_sale(&self) -> bool {
        !self.hidden && !self.category.is_hidden()
    }
}

/// A product and the file it delivers (relative to the media folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFile {
    pub product: Product,
    pub media_file: String,
}

/// Why a product cannot be changed; nothing was.
#[derive(Debug, thiserror::Error)]
pub enum ProductRefusal {
    #[error("there is no product {0}")]
    Unknown(i64),
    #[error("a price must be more than $0.00")]
    FreeOfCharge,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for ProductRefusal {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            ProductRefusal::Store(error) => Some(error),
            _ => None,
        }
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

/// The columns [`product_from_row`] reads, from `products p JOIN categories k`.
macro_rules! product_columns {
    () => {
        "SELECT p.id, k.id, k.slug, k.label, k.position, \
         p.format, p.title, p.creator, p.description, p.price_cents, p.featured, \
         k.hidden, p.hidden"
    };
}

/// `SELECT` a product with its category, from `products p JOIN categories k`,
/// then the rest of the statement.
macro_rules! select_products {
    ($($rest:tt)*) => {
        concat!(
            product_columns!(),
            " FROM products p JOIN categories k ON k.id = p.category_id ",
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
        category: Category::new(category, row.get(2)?, row.get(3)?, row.get(4)?).hidden_if(row.get(11)?),
        format: row.get(5)?,
        title: row.get(6)?,
        creator: row.get(7)?,
        description: row.get(8)?,
        price: Money::from_cents(row.get(9)?),
        featured: row.get(10)?,
        hidden: row.get(12)?,
    })
}

/// The product `id` as the transaction sees it.
fn product_in(connection: &mut dyn Connection, id: i64) -> Result<Product, ProductRefusal> {
    select_product(connection, id)?.ok_or(ProductRefusal::Unknown(id))
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
    /// The products on the home page (those on sale).
    pub fn featured_products(&self) -> Result<Vec<Product>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(select_products!(
                    "WHERE p.featured AND NOT p.hidden AND NOT k.hidden",
                    product_order!()
                )),
                &[],
                product_from_row,
            )
        })
    }

    /// Every product on sale, or those of one category, by title: what
    /// shoppers see listed.
    pub fn products_in(&self, category: Option<CategoryId>) -> Result<Vec<Product>, StoreError> {
        let category = category.map(CategoryId::get);
        self.read(|connection| {
            connection.query(
                sql!(select_products!(
                    "WHERE (CAST($1 AS BIGINT) IS NULL OR p.category_id = $1)
                       AND NOT p.hidden AND NOT k.hidden",
                    product_order!()
                )),
                &[&category],
                product_from_row,
            )
        })
    }

    /// One product, on sale or not (see [`Product::on_sale`]).
    pub fn product(&self, id: i64) -> Result<Option<Product>, StoreError> {
        self.read(|connection| select_product(connection, id))
    }

    /// Staff's list: every product (hidden ones too), or those of one
    /// category, newest first, `size` a page before the product `before`.
    pub fn products_page(
        &self,
        category: Option<CategoryId>,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<Product>, StoreError> {
        let category = category.map(CategoryId::get);
        let rows = self.read(|connection| {
            connection.query(
                sql!(select_products!(
                    "WHERE (CAST($1 AS BIGINT) IS NULL OR p.category_id = $1) AND p.id < $2
                     ORDER BY p.id DESC LIMIT $3"
                )),
                &[&category, &before.unwrap_or(i64::MAX), &page_limit(size)],
                product_from_row,
            )
        })?;
        Ok(Page::of(rows, size, |product| product.id))
    }

    /// Gives product `id` another title; what it was.
    pub fn rename_product(
        &self,
        actor: &Actor,
        id: i64,
        title: &ProductText,
        now: OffsetDateTime,
    ) -> Result<Product, ProductRefusal> {
        self.write(|connection| {
            let product = product_in(connection, id)?;
            connection.execute(
                sql!("UPDATE products SET title = $2 WHERE id = $1"),
                &[&id, &title.as_str()],
            )?;
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::ProductRename, format!("product:{id}"))
                    .before(product.title.as_str())
                    .after(title.as_str()),
                now,
            )?;
            Ok(product)
        })
    }

    /// Gives product `id` another price (more than $0.00) for orders from now
    /// on; past orders keep what they paid. What it was.
    pub fn set_product_price(
        &self,
        actor: &Actor,
        id: i64,
        price: Money,
        now: OffsetDateTime,
    ) -> Result<Product, ProductRefusal> {
        if price.cents() <= 0 {
            return Err(ProductRefusal::FreeOfCharge);
        }
        self.write(|connection| {
            let product = product_in(connection, id)?;
            connection.execute(
                sql!("UPDATE products SET price_cents = $2 WHERE id = $1"),
                &[&id, &price.cents()],
            )?;
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::ProductPrice, format!("product:{id}"))
                    .before(product.price.to_string())
                    .after(price.to_string()),
                now,
            )?;
            Ok(product)
        })
    }

    /// The file product `id` delivers, relative to the media folder; `None` when
    /// it has none (or there is no such product).
    pub fn product_media_file(&self, id: i64) -> Result<Option<String>, StoreError> {
        self.read(|connection| {
            Ok(connection
                .query_opt(
                    sql!("SELECT media_file FROM products WHERE id = $1"),
                    &[&id],
                    |row| row.get::<Option<String>>(0),
                )?
                .flatten())
        })
    }

    /// The products whose file is one of the demo's (named `demo/…`), by
    /// number: the files a server writes at start when they are missing.
    pub fn demo_product_files(&self) -> Result<Vec<ProductFile>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(concat!(
                    product_columns!(),
                    ", p.media_file FROM products p JOIN categories k ON k.id = p.category_id
                     WHERE substr(p.media_file, 1, 5) = 'demo/' ORDER BY p.id"
                )),
                &[],
                |row| {
                    Ok(ProductFile {
                        product: product_from_row(row)?,
                        media_file: row.get(13)?,
                    })
                },
            )
        })
    }

    /// Names the file product `id` delivers (`name` is relative to the media
    /// folder, where the caller has put it), with an audit entry.
    pub fn set_product_media_file(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, ProductRefusal> {
        self.write(|connection| {
            product_in(connection, id)?;
            let before: Option<String> =
                connection.query_value(sql!("SELECT media_file FROM products WHERE id = $1"), &[&id])?;
            connection.execute(
                sql!("UPDATE products SET media_file = $2 WHERE id = $1"),
                &[&id, &name],
            )?;
            let mut change =
                Change::new(AuditAction::ProductFile, format!("product:{id}")).after(name.to_owned());
            if let Some(before) = &before {
                change = change.before(before.clone());
            }
            audit::record(connection, actor, &change, now)?;
            Ok(before)
        })
    }

    /// Hides product `id` from shoppers (not listed, its page a 404, not for
    /// sale), or shows it again; `false` when it was so already (nothing
    /// changed, nothing recorded).
    pub fn set_product_hidden(
        &self,
        actor: &Actor,
        id: i64,
        hidden: bool,
        now: OffsetDateTime,
    ) -> Result<bool, ProductRefusal> {
        self.write(|connection| {
            let product = product_in(connection, id)?;
            if product.hidden == hidden {
                return Ok(false);
            }
            connection.execute(
                sql!("UPDATE products SET hidden = $2 WHERE id = $1"),
                &[&id, &hidden],
            )?;
            let (action, before, after) = match hidden {
                true => (AuditAction::ProductHide, "shown", "hidden"),
                false => (AuditAction::ProductShow, "hidden", "shown"),
            };
            audit::record(
                connection,
                actor,
                &Change::new(action, format!("product:{id}"))
                    .before(before)
                    .after(after),
                now,
            )?;
            Ok(true)
        })
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

    #[test]
    fn a_hidden_product_or_category_is_not_listed_but_still_found_by_number() {
        for TestStore { store, .. } in each_engine() {
            let now = time::OffsetDateTime::now_utc();
            let kept = store
                .add_product(&tester(), &new_product(&store, "kindle", "Kept", true), now)
                .unwrap();
            let gone = store
                .add_product(&tester(), &new_product(&store, "kindle", "Gone", true), now)
                .unwrap();
            let other = store
                .add_product(&tester(), &new_product(&store, "music", "Elsewhere", true), now)
                .unwrap();
            assert!(store.set_product_hidden(&tester(), gone.id, true, now).unwrap());
            assert!(!store.set_product_hidden(&tester(), gone.id, true, now).unwrap());
            assert_eq!(titles(&store.products_in(None).unwrap()), ["Elsewhere", "Kept"]);
            assert_eq!(titles(&store.featured_products().unwrap()), ["Elsewhere", "Kept"]);
            let found = store.product(gone.id).unwrap().unwrap();
            assert!(found.hidden && !found.on_sale(), "{}", store.engine_name());

            let music = store.categories().by_slug("music").unwrap().id();
            store.set_category_hidden(&tester(), music, true, now).unwrap();
            assert_eq!(titles(&store.products_in(None).unwrap()), ["Kept"]);
            assert!(!store.product(other.id).unwrap().unwrap().on_sale());
            assert!(store.product(kept.id).unwrap().unwrap().on_sale());
            // Staff still see everything.
            let page = store.products_page(None, None, 20).unwrap();
            assert_eq!(titles(&page.entries), ["Elsewhere", "Gone", "Kept"]);
        }
    }

    #[test]
    fn a_rename_and_a_price_change_are_kept_and_audited_with_before_and_after() {
        for TestStore { store, .. } in each_engine() {
            let now = time::OffsetDateTime::now_utc();
            let added = store
                .add_product(&tester(), &new_product(&store, "kindle", "Old", false), now)
                .unwrap();
            let before = store
                .rename_product(&tester(), added.id, &ProductText::parse("New").unwrap(), now)
                .unwrap();
            assert_eq!(before.title, "Old");
            store
                .set_product_price(&tester(), added.id, Money::from_cents(1250), now)
                .unwrap();
            assert!(matches!(
                store.set_product_price(&tester(), added.id, Money::ZERO, now),
                Err(ProductRefusal::FreeOfCharge)
            ));
            assert!(matches!(
                store.set_product_price(&tester(), added.id + 99, Money::from_cents(1), now),
                Err(ProductRefusal::Unknown(_))
            ));
            let product = store.product(added.id).unwrap().unwrap();
            assert_eq!(
                (product.title.as_str(), product.price),
                ("New", Money::from_cents(1250))
            );
            let trail = store.audit_page(&Default::default(), None, 2).unwrap().entries;
            assert_eq!(trail[0].action, "product.price", "{}", store.engine_name());
            assert_eq!(
                (trail[0].before.as_deref(), trail[0].after.as_deref()),
                (Some("$4.99"), Some("$12.50"))
            );
            assert_eq!(trail[1].action, "product.rename");
            assert_eq!(trail[1].after.as_deref(), Some("New"));
        }
    }

    #[test]
    fn staff_page_through_every_product_newest_first() {
        for TestStore { store, .. } in each_engine() {
            let now = time::OffsetDateTime::now_utc();
            for n in 0..5 {
                store
                    .add_product(
                        &tester(),
                        &new_product(&store, "video", &format!("T{n}"), false),
                        now,
                    )
                    .unwrap();
            }
            let video = store.categories().by_slug("video").unwrap().id();
            let first = store.products_page(Some(video), None, 3).unwrap();
            assert_eq!(titles(&first.entries), ["T4", "T3", "T2"]);
            let second = store.products_page(Some(video), first.older, 3).unwrap();
            assert_eq!(titles(&second.entries), ["T1", "T0"]);
            assert_eq!(second.older, None);
        }
    }
}
