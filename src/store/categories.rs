//! The departments: the `categories` table, read when the store opens, and
//! staff's ways to add one, rename it, move it up or down, hide and show it.
//!
//! Each engine keeps this process's copy of the table ([`Store::categories`]),
//! and keeps it its own way: SQLite's write path reads the table again after any
//! transaction that changed it (its triggers say so), PostgreSQL's copy is
//! read again after each change made here and at each
//! [`Store::reread_categories`] (see `Store::after_categories_changed`).

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::sql::{Connection, Sql, sql};
use super::{Engine, Store, StoreError, StoreFailure};
use crate::domain::{
    Actor, Categories, Category, CategoryId, CategoryLabel, CategorySet, CategorySlug, MAX_CATEGORIES,
};

/// A label no other category has (whatever the case): two departments a shopper
/// cannot tell apart would be one too many.
fn refuse_a_taken_label(
    connection: &mut dyn Connection,
    label: &CategoryLabel,
    except: Option<CategoryId>,
) -> Result<(), CategoryRefusal> {
    let wanted = label.as_str().to_lowercase();
    if let Some(same) = load_categories(connection)?
        .iter()
        .find(|category| Some(category.id()) != except && category.label().to_lowercase() == wanted)
    {
        return Err(CategoryRefusal::LabelTaken(
            same.label().to_owned(),
            same.slug().to_owned(),
        ));
    }
    Ok(())
}

/// Why a category cannot be added or changed; nothing was.
#[derive(Debug, thiserror::Error)]
pub enum CategoryRefusal {
    #[error("there is already a category {0:?}")]
    SlugTaken(String),
    #[error("the category {1:?} is labelled {0:?} already; choose a label shoppers can tell apart")]
    LabelTaken(String, String),
    #[error("the store has its {MAX_CATEGORIES} categories already")]
    Full,
    #[error("there is no category {0}")]
    Unknown(String),
    #[error("{0} is first already")]
    AlreadyFirst(String),
    #[error("{0} is last already")]
    AlreadyLast(String),
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
        sql!("SELECT id, slug, label, position, hidden FROM categories"),
        &[],
        |row| {
            let id = CategoryId::new(row.get(0)?)
                .ok_or_else(|| StoreError::Corrupt("a category id out of range".to_owned()))?;
            Ok(Category::new(id, row.get(1)?, row.get(2)?, row.get(3)?).hidden_if(row.get(4)?))
        },
    )?;
    Ok(Categories::new(categories))
}

/// The labels of the hidden categories of `set`, read in the caller's
/// transaction: what a new code may not name.
pub(crate) fn hidden_of(
    connection: &mut dyn Connection,
    set: CategorySet,
) -> Result<Vec<String>, StoreError> {
    Ok(load_categories(connection)?
        .of(set)
        .filter(|category| category.is_hidden())
        .map(|category| category.label().to_owned())
        .collect())
}

/// Which way a category moves in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Towards the first place.
    Up,
    Down,
}

impl Direction {
    /// `up` or `down`, as forms and commands say it.
    pub fn parse(typed: &str) -> Option<Direction> {
        match typed.trim() {
            "up" => Some(Direction::Up),
            "down" => Some(Direction::Down),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// The category `id` as the transaction sees it.
fn category_in(connection: &mut dyn Connection, id: CategoryId) -> Result<Category, CategoryRefusal> {
    load_categories(connection)?
        .get(id)
        .cloned()
        .ok_or_else(|| CategoryRefusal::Unknown(id.get().to_string()))
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
            refuse_a_taken_label(connection, label, None)?;
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
        self.after_categories_changed();
        Ok(added)
    }

    /// Gives category `id` another label (its slug, and so its address, stays).
    pub fn rename_category(
        &self,
        actor: &Actor,
        id: CategoryId,
        label: &CategoryLabel,
        now: OffsetDateTime,
    ) -> Result<Category, CategoryRefusal> {
        let renamed = self.write(|connection| {
            let category = category_in(connection, id)?;
            refuse_a_taken_label(connection, label, Some(id))?;
            connection.execute(
                sql!("UPDATE categories SET label = $2 WHERE id = $1"),
                &[&id.get(), &label.as_str()],
            )?;
            audit::record(
                connection,
                actor,
                &Change::new(
                    AuditAction::CategoryRename,
                    format!("category:{}", category.slug()),
                )
                .before(category.label())
                .after(label.as_str()),
                now,
            )?;
            category_in(connection, id)
        })?;
        self.after_categories_changed();
        Ok(renamed)
    }

    /// Swaps category `id` with its neighbour `direction` in display order
    /// (hidden ones count: the order is the console's as much as the shop's).
    /// Positions stay unique, however many moves are made at once: each runs
    /// in one transaction that reads the order it changes.
    pub fn move_category(
        &self,
        actor: &Actor,
        id: CategoryId,
        direction: Direction,
        now: OffsetDateTime,
    ) -> Result<Category, CategoryRefusal> {
        let moved = self.write(|connection| {
            let categories = load_categories(connection)?;
            let slot = categories
                .slot_of(id)
                .ok_or_else(|| CategoryRefusal::Unknown(id.get().to_string()))?;
            let ordered: Vec<&Category> = categories.iter().collect();
            let category = ordered[slot];
            let neighbour = match direction {
                Direction::Up => slot.checked_sub(1),
                Direction::Down => Some(slot + 1).filter(|next| *next < ordered.len()),
            }
            .map(|slot| ordered[slot])
            .ok_or_else(|| match direction {
                Direction::Up => CategoryRefusal::AlreadyFirst(category.label().to_owned()),
                Direction::Down => CategoryRefusal::AlreadyLast(category.label().to_owned()),
            })?;
            // `position` is UNIQUE, checked row by row: the swap goes through a
            // place only this category ever takes (minus its id), so moves made
            // at once meet on rows they both change (one waits, then is run
            // again on PostgreSQL), never on a place.
            let free = -id.get();
            for (who, to) in [
                (category.id(), free),
                (neighbour.id(), category.position()),
                (category.id(), neighbour.position()),
            ] {
                connection.execute(
                    sql!("UPDATE categories SET position = $2 WHERE id = $1"),
                    &[&who.get(), &to],
                )?;
            }
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::CategoryMove, format!("category:{}", category.slug()))
                    .before(format!("place {}", slot + 1))
                    .after(match direction {
                        Direction::Up => format!("place {slot}, above {}", neighbour.label()),
                        Direction::Down => format!("place {}, below {}", slot + 2, neighbour.label()),
                    }),
                now,
            )?;
            category_in(connection, id)
        })?;
        self.after_categories_changed();
        Ok(moved)
    }

    /// Hides category `id` from shoppers, or shows it again; `false` when it
    /// was so already (nothing changed, nothing recorded).
    pub fn set_category_hidden(
        &self,
        actor: &Actor,
        id: CategoryId,
        hidden: bool,
        now: OffsetDateTime,
    ) -> Result<bool, CategoryRefusal> {
        let changed = self.write(|connection| {
            let category = category_in(connection, id)?;
            if category.is_hidden() == hidden {
                return Ok::<_, CategoryRefusal>(false);
            }
            connection.execute(
                sql!("UPDATE categories SET hidden = $2 WHERE id = $1"),
                &[&id.get(), &hidden],
            )?;
            let (action, before, after) = match hidden {
                true => (AuditAction::CategoryHide, "shown", "hidden"),
                false => (AuditAction::CategoryShow, "hidden", "shown"),
            };
            audit::record(
                connection,
                actor,
                &Change::new(action, format!("category:{}", category.slug()))
                    .before(before)
                    .after(after),
                now,
            )?;
            Ok(true)
        })?;
        self.after_categories_changed();
        Ok(changed)
    }

    /// Reads the categories again, for those another process has added since;
    /// `true` when they changed.
    pub fn reread_categories(&self) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Sqlite(sqlite) => Ok(sqlite.keep_categories(self.read(load_categories)?)),
            Engine::Postgres(postgres) => postgres.refresh_categories(|| self.read(load_categories)),
        }
    }

    /// After a change to the categories committed, this process's copy shows
    /// it: the one per-engine step of those use cases. SQLite's write path has
    /// replaced its copy already, before the write returned (its triggers saw
    /// the change); the PostgreSQL engine reads the table again now. Should
    /// that read fail, the change is made all the same, and the copy shows it
    /// from the next [`Store::reread_categories`] (other servers on the same
    /// database show it from theirs).
    fn after_categories_changed(&self) {
        match &self.engine {
            Engine::Sqlite(_) => {}
            Engine::Postgres(_) => {
                if let Err(error) = self.reread_categories() {
                    tracing::warn!(%error, "the categories changed, but could not be read again");
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

    fn slugs_in_order(store: &Store) -> Vec<String> {
        store.categories().iter().map(|c| c.slug().to_owned()).collect()
    }

    fn id_of(store: &Store, slug: &str) -> CategoryId {
        store.categories().by_slug(slug).unwrap().id()
    }

    #[test]
    fn a_category_is_renamed_moved_hidden_and_shown_and_each_change_is_audited() {
        for TestStore { store, .. } in each_engine() {
            let now = time::OffsetDateTime::now_utc();
            let kindle = id_of(&store, "kindle");
            let renamed = store
                .rename_category(&tester(), kindle, &CategoryLabel::parse("Books").unwrap(), now)
                .unwrap();
            assert_eq!(renamed.label(), "Books");
            assert_eq!(
                store.categories().get(kindle).unwrap().label(),
                "Books",
                "{}",
                store.engine_name()
            );
            assert!(matches!(
                store.rename_category(&tester(), kindle, &CategoryLabel::parse("software").unwrap(), now),
                Err(CategoryRefusal::LabelTaken(..))
            ));
            // Its own label in another case is no clash.
            store
                .rename_category(&tester(), kindle, &CategoryLabel::parse("BOOKS").unwrap(), now)
                .unwrap();

            store
                .move_category(&tester(), kindle, Direction::Up, now)
                .unwrap();
            assert_eq!(slugs_in_order(&store), ["kindle", "music", "video", "software"]);
            assert!(matches!(
                store.move_category(&tester(), kindle, Direction::Up, now),
                Err(CategoryRefusal::AlreadyFirst(_))
            ));
            let software = id_of(&store, "software");
            assert!(matches!(
                store.move_category(&tester(), software, Direction::Down, now),
                Err(CategoryRefusal::AlreadyLast(_))
            ));
            store
                .move_category(&tester(), software, Direction::Up, now)
                .unwrap();
            assert_eq!(slugs_in_order(&store), ["kindle", "music", "software", "video"]);

            assert!(store.set_category_hidden(&tester(), software, true, now).unwrap());
            assert!(!store.set_category_hidden(&tester(), software, true, now).unwrap());
            let categories = store.categories();
            assert!(
                categories.get(software).unwrap().is_hidden(),
                "{}",
                store.engine_name()
            );
            assert_eq!(
                categories.shown().map(|c| c.slug()).collect::<Vec<_>>(),
                ["kindle", "music", "video"]
            );
            assert!(
                store
                    .set_category_hidden(&tester(), software, false, now)
                    .unwrap()
            );
            assert!(!store.categories().get(software).unwrap().is_hidden());

            let trail: Vec<String> = store
                .audit_page(&Default::default(), None, 20)
                .unwrap()
                .entries
                .into_iter()
                .map(|entry| format!("{} {}", entry.action, entry.subject))
                .collect();
            assert_eq!(
                trail,
                [
                    "category.show category:software",
                    "category.hide category:software",
                    "category.move category:software",
                    "category.move category:kindle",
                    "category.rename category:kindle",
                    "category.rename category:kindle",
                ]
            );
        }
    }

    #[test]
    fn a_change_made_by_another_process_shows_when_the_table_is_read_again() {
        for test in each_engine() {
            let server = &test.store;
            let operator = test.another_process();
            let now = time::OffsetDateTime::now_utc();
            operator
                .set_category_hidden(&tester(), id_of(server, "video"), true, now)
                .unwrap();
            assert!(!server.categories().by_slug("video").unwrap().is_hidden());
            assert!(server.reread_categories().unwrap(), "{}", server.engine_name());
            assert!(server.categories().by_slug("video").unwrap().is_hidden());
        }
    }

    #[test]
    fn moves_made_at_once_keep_every_position_unique() {
        for TestStore { store, .. } in each_engine() {
            let now = time::OffsetDateTime::now_utc();
            for n in 0..4 {
                store
                    .add_category(
                        &tester(),
                        &CategorySlug::parse(&format!("extra-{n}")).unwrap(),
                        &CategoryLabel::parse(&format!("Extra {n}")).unwrap(),
                        now,
                    )
                    .unwrap();
            }
            let ids: Vec<CategoryId> = store.categories().iter().map(Category::id).collect();
            let start = std::sync::Barrier::new(ids.len() * 2);
            std::thread::scope(|scope| {
                for id in &ids {
                    for direction in [Direction::Up, Direction::Down] {
                        let (store, start, id) = (&store, &start, *id);
                        scope.spawn(move || {
                            start.wait();
                            match store.move_category(&tester(), id, direction, now) {
                                Ok(_)
                                | Err(CategoryRefusal::AlreadyFirst(_))
                                | Err(CategoryRefusal::AlreadyLast(_)) => {}
                                Err(other) => panic!("a move failed: {other}"),
                            }
                        });
                    }
                }
            });
            let positions: Vec<i64> = store
                .read(|c| {
                    c.query(
                        sql!("SELECT position FROM categories ORDER BY position"),
                        &[],
                        |row| row.get(0),
                    )
                })
                .unwrap();
            assert_eq!(positions.len(), ids.len());
            assert_eq!(
                positions,
                (1..=ids.len() as i64).collect::<Vec<_>>(),
                "the same places, each once ({})",
                store.engine_name()
            );
            assert!(
                !store.reread_categories().unwrap(),
                "this process's copy is the table"
            );
        }
    }
}
