//! The departments: the `categories` table, read when the store opens, and the
//! operator's way to add one.
//!
//! Each engine keeps this process's copy of the table ([`Store::categories`]),
//! and keeps it its own way: SQLite's write path reads the table again after any
//! transaction that changed it (its triggers say so), PostgreSQL's copy is
//! read again after [`Store::add_category`] and at each
//! [`Store::reread_categories`] (see `Store::after_category_added`).

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::sql::{Connection, Sql, sql};
use super::{Engine, Store, StoreError, StoreFailure};
use crate::domain::{
    Actor, Categories, Category, CategoryId, CategoryLabel, CategorySet, CategorySlug, MAX_CATEGORIES,
};

/// Why a category cannot be added.
#[derive(Debug, thiserror::Error)]
pub enum CategoryRefusal {
    #[error("there is already a category {0:?}")]
    SlugTaken(String),
    #[error("the category {1:?} is labelled {0:?} already; choose a label shoppers can tell apart")]
    LabelTaken(String, String),
    #[error("the store has its {MAX_CATEGORIES} categories already")]
    Full,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for CategoryRefusal {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CategoryRefusal::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// Inserts one row per category of `set` with `insert` (`INSERT INTO
/// x_categories (x_id, category_id) VALUES ($1, $2)`) for the row `owner`.
pub(crate) fn insert_category_refs(
    connection: &mut dyn Connection,
    insert: &Sql,
    owner: i64,
    set: CategorySet,
) -> Result<(), StoreError> {
    for category in set.ids() {
        connection.execute(insert, &[&owner, &category.get()])?;
    }
    Ok(())
}

/// Reads the whole `categories` table.
pub(crate) fn load_categories(connection: &mut dyn Connection) -> Result<Categories, StoreError> {
    let categories = connection.query(
        sql!("SELECT id, slug, label, position FROM categories"),
        &[],
        |row| {
            let id = CategoryId::new(row.get(0)?)
                .ok_or_else(|| StoreError::Corrupt("a category id out of range".to_owned()))?;
            Ok(Category::new(id, row.get(1)?, row.get(2)?, row.get(3)?))
        },
    )?;
    Ok(Categories::new(categories))
}

impl Store {
    /// Adds a category after the others. A server on the same database shows it
    /// from its next [`Store::reread_categories`].
    pub fn add_category(
        &self,
        actor: &Actor,
        slug: &CategorySlug,
        label: &CategoryLabel,
        now: OffsetDateTime,
    ) -> Result<Category, CategoryRefusal> {
        let added = self.write(|connection| {
            let taken: bool = connection.query_value(
                sql!("SELECT EXISTS (SELECT 1 FROM categories WHERE slug = $1)"),
                &[&slug.as_str()],
            )?;
            if taken {
                return Err(CategoryRefusal::SlugTaken(slug.as_str().to_owned()));
            }
            // Two departments a shopper cannot tell apart would be one too many.
            let wanted = label.as_str().to_lowercase();
            if let Some(same) = load_categories(connection)?
                .iter()
                .find(|category| category.label().to_lowercase() == wanted)
            {
                return Err(CategoryRefusal::LabelTaken(
                    same.label().to_owned(),
                    same.slug().to_owned(),
                ));
            }
            let (id, position): (i64, i64) = connection.query_one(
                sql!("SELECT COALESCE(MAX(id), 0) + 1, COALESCE(MAX(position), 0) + 1 FROM categories"),
                &[],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let id = CategoryId::new(id).ok_or(CategoryRefusal::Full)?;
            connection
                .execute(
                    sql!("INSERT INTO categories (id, slug, label, position) VALUES ($1, $2, $3, $4)"),
                    &[&id.get(), &slug.as_str(), &label.as_str(), &position],
                )
                .map_err(|error| match error.is_unique_violation() {
                    true => CategoryRefusal::SlugTaken(slug.as_str().to_owned()),
                    false => error.into(),
                })?;
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::CategoryAdd, format!("category:{}", slug.as_str()))
                    .after(label.as_str()),
                now,
            )?;
            Ok(Category::new(
                id,
                slug.as_str().to_owned(),
                label.as_str().to_owned(),
                position,
            ))
        })?;
        self.after_category_added();
        Ok(added)
    }

    /// Reads the categories again, for those another process has added since;
    /// `true` when they changed.
    pub fn reread_categories(&self) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Sqlite(sqlite) => Ok(sqlite.keep_categories(self.read(load_categories)?)),
            Engine::Postgres(postgres) => postgres.refresh_categories(|| self.read(load_categories)),
        }
    }

    /// After [`Store::add_category`] committed, this process's copy shows the
    /// new category: the one per-engine step of the use case. SQLite's write
    /// path has replaced its copy already, before the write returned (its
    /// triggers saw the insert); the PostgreSQL engine reads the table again
    /// now. Should that read fail, the category is added all the same, and the
    /// copy shows it from the next [`Store::reread_categories`].
    fn after_category_added(&self) {
        match &self.engine {
            Engine::Sqlite(_) => {}
            Engine::Postgres(_) => {
                if let Err(error) = self.reread_categories() {
                    tracing::warn!(%error, "a category was added, but the categories could not be read again");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestStore, each_engine, tester};

    #[test]
    fn a_new_store_has_the_four_seeded_categories_in_order() {
        for TestStore { store, .. } in each_engine() {
            let slugs: Vec<String> = store.categories().iter().map(|c| c.slug().to_owned()).collect();
            assert_eq!(
                slugs,
                ["music", "kindle", "video", "software"],
                "{}",
                store.engine_name()
            );
            assert_eq!(*store.categories(), crate::domain::category::seeded());
        }
    }

    #[test]
    fn an_added_category_comes_last_and_a_taken_slug_or_label_is_refused() {
        for TestStore { store, .. } in each_engine() {
            let slug = CategorySlug::parse("audiobooks").unwrap();
            let label = CategoryLabel::parse("Audiobooks").unwrap();
            let added = store
                .add_category(&tester(), &slug, &label, time::OffsetDateTime::now_utc())
                .unwrap();
            assert_eq!(added.id().get(), 5);
            assert_eq!(
                store.categories().iter().last(),
                Some(&added),
                "{}",
                store.engine_name()
            );
            assert!(matches!(
                store.add_category(&tester(), &slug, &label, time::OffsetDateTime::now_utc()),
                Err(CategoryRefusal::SlugTaken(_))
            ));
            let podcasts = CategorySlug::parse("podcasts").unwrap();
            for same in ["AUDIOBOOKS", "digital music"] {
                let refused = store.add_category(
                    &tester(),
                    &podcasts,
                    &CategoryLabel::parse(same).unwrap(),
                    time::OffsetDateTime::now_utc(),
                );
                assert!(matches!(refused, Err(CategoryRefusal::LabelTaken(..))), "{same}");
            }
            assert_eq!(store.categories().len(), 5);
        }
    }

    #[test]
    fn a_category_another_process_adds_shows_when_the_table_is_read_again() {
        for test in each_engine() {
            let server = &test.store;
            let operator = test.another_process();
            let slug = CategorySlug::parse("audiobooks").unwrap();
            operator
                .add_category(
                    &tester(),
                    &slug,
                    &CategoryLabel::parse("Audiobooks").unwrap(),
                    time::OffsetDateTime::now_utc(),
                )
                .unwrap();
            assert!(
                server.categories().by_slug("audiobooks").is_none(),
                "{}",
                server.engine_name()
            );
            assert!(server.reread_categories().unwrap());
            assert!(server.categories().by_slug("audiobooks").is_some());
            assert!(!server.reread_categories().unwrap(), "nothing changed since");
        }
    }

    #[test]
    fn categories_added_at_once_each_get_their_own_place_and_a_slug_is_taken_once() {
        for TestStore { store, .. } in each_engine() {
            let added: Vec<Result<Category, CategoryRefusal>> = std::thread::scope(|scope| {
                let adds: Vec<_> = (0..8)
                    .map(|n| format!("department-{n}"))
                    .chain((0..4).map(|_| "same".to_owned()))
                    .enumerate()
                    .map(|(n, slug)| {
                        let store = &store;
                        scope.spawn(move || {
                            let label = CategoryLabel::parse(&format!("Department {n}")).unwrap();
                            store.add_category(
                                &tester(),
                                &CategorySlug::parse(&slug).unwrap(),
                                &label,
                                time::OffsetDateTime::now_utc(),
                            )
                        })
                    })
                    .collect();
                adds.into_iter().map(|add| add.join().unwrap()).collect()
            });
            let (taken, refused): (Vec<_>, Vec<_>) = added.into_iter().partition(Result::is_ok);
            assert_eq!(
                taken.len(),
                9,
                "eight departments and one \"same\" ({})",
                store.engine_name()
            );
            assert!(
                refused
                    .iter()
                    .all(|r| matches!(r, Err(CategoryRefusal::SlugTaken(_)))),
                "{refused:?}"
            );
            // This process's copy is the table, whichever add finished last.
            assert!(!store.reread_categories().unwrap(), "{}", store.engine_name());
            let categories = store.categories();
            assert_eq!(categories.len(), 13);
            let mut ids: Vec<i64> = categories.iter().map(|c| c.id().get()).collect();
            ids.dedup();
            assert_eq!(ids, (1..=13).collect::<Vec<_>>(), "in display order, none twice");
        }
    }

    #[test]
    fn a_store_holds_at_most_sixty_four_categories() {
        for TestStore { store, .. } in each_engine() {
            let numbered = |n| {
                (
                    CategorySlug::parse(&format!("department-{n}")).unwrap(),
                    CategoryLabel::parse(&format!("Department {n}")).unwrap(),
                )
            };
            for n in 5..=MAX_CATEGORIES {
                let (slug, label) = numbered(n);
                store
                    .add_category(&tester(), &slug, &label, time::OffsetDateTime::now_utc())
                    .unwrap();
            }
            let (one_more, label) = numbered(MAX_CATEGORIES + 1);
            assert!(matches!(
                store.add_category(&tester(), &one_more, &label, time::OffsetDateTime::now_utc()),
                Err(CategoryRefusal::Full)
            ));
            assert_eq!(store.categories().len(), 64, "{}", store.engine_name());
        }
    }
}
