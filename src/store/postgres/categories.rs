//! The departments: the `categories` table, read when the store opens, and the
//! operator's way to add one.

use std::sync::Arc;

use postgres::{GenericClient, Transaction};

use super::{PostgresStore, StoreError, StoreFailure};
use crate::domain::{Categories, Category, CategoryId, CategoryLabel, CategorySet, CategorySlug};
use crate::store::categories::CategoryRefusal;

impl From<postgres::Error> for CategoryRefusal {
    fn from(error: postgres::Error) -> Self {
        CategoryRefusal::Store(error.into())
    }
}

impl StoreFailure for CategoryRefusal {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CategoryRefusal::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl PostgresStore {
    /// Every category, in display order, as this store read them (at open, after
    /// [`PostgresStore::add_category`], at each [`PostgresStore::reread_categories`]).
    pub fn categories(&self) -> Arc<Categories> {
        Arc::clone(
            &self
                .categories
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Reads the table again and keeps it as this store's copy when it differs
    /// (another process, a server or an operator's `category add`, may have changed it).
    pub fn reread_categories(&self) -> Result<bool, StoreError> {
        let read = self.read(load_categories)?;
        Ok(self.keep_categories(read))
    }

    fn keep_categories(&self, read: Categories) -> bool {
        let mut copy = self
            .categories
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = **copy != read;
        if changed {
            *copy = Arc::new(read);
        }
        changed
    }

    /// Adds a category after the others.
    pub fn add_category(
        &self,
        slug: &CategorySlug,
        label: &CategoryLabel,
    ) -> Result<Category, CategoryRefusal> {
        let (added, categories) = self.transaction(|tx| {
            let taken: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM categories WHERE slug = $1)",
                    &[&slug.as_str()],
                )?
                .get(0);
            if taken {
                return Err(CategoryRefusal::SlugTaken(slug.as_str().to_owned()));
            }
            // Two departments a shopper cannot tell apart would be one too many.
            let wanted = label.as_str().to_lowercase();
            if let Some(same) = load_categories(tx)?
                .iter()
                .find(|category| category.label().to_lowercase() == wanted)
            {
                return Err(CategoryRefusal::LabelTaken(
                    same.label().to_owned(),
                    same.slug().to_owned(),
                ));
            }
            let row = tx.query_one(
                "SELECT COALESCE(MAX(id), 0) + 1, COALESCE(MAX(position), 0) + 1 FROM categories",
                &[],
            )?;
            let (id, position): (i64, i64) = (row.get(0), row.get(1));
            let id = CategoryId::new(id).ok_or(CategoryRefusal::Full)?;
            tx.execute(
                "INSERT INTO categories (id, slug, label, position) VALUES ($1, $2, $3, $4)",
                &[&id.get(), &slug.as_str(), &label.as_str(), &position],
            )?;
            let added = Category::new(id, slug.as_str().to_owned(), label.as_str().to_owned(), position);
            Ok((added, load_categories(tx)?))
        })?;
        self.keep_categories(categories);
        Ok(added)
    }
}

/// Inserts one row per category of `set` with `insert` (`INSERT INTO
/// x_categories (x_id, category_id) VALUES ($1, $2)`) for the row `owner`.
pub(crate) fn insert_category_refs(
    tx: &mut Transaction,
    insert: &str,
    owner: i64,
    set: CategorySet,
) -> Result<(), StoreError> {
    let statement = tx.prepare(insert)?;
    for category in set.ids() {
        tx.execute(&statement, &[&owner, &category.get()])?;
    }
    Ok(())
}

/// Reads the whole `categories` table.
pub(crate) fn load_categories(client: &mut impl GenericClient) -> Result<Categories, StoreError> {
    let rows = client.query("SELECT id, slug, label, position FROM categories", &[])?;
    let categories = rows
        .iter()
        .map(|row| {
            let id = CategoryId::new(row.get(0))
                .ok_or_else(|| StoreError::Corrupt("a category id out of range".to_owned()))?;
            Ok(Category::new(id, row.get(1), row.get(2), row.get(3)))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Categories::new(categories))
}
