//! The departments: the `categories` table, read when the store opens, and the
//! operator's way to add one.

use std::sync::Arc;

use rusqlite::{Connection, ErrorCode, Transaction, params};

use super::{SqliteStore, StoreError};
use crate::domain::{
    Categories, Category, CategoryId, CategoryLabel, CategorySet, CategorySlug, MAX_CATEGORIES,
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

impl From<rusqlite::Error> for CategoryRefusal {
    fn from(error: rusqlite::Error) -> Self {
        CategoryRefusal::Store(error.into())
    }
}

impl SqliteStore {
    /// Every category, in display order, as this store read them (at open, and
    /// after each write through it that changed them, such as
    /// [`SqliteStore::add_category`]).
    pub fn categories(&self) -> Arc<Categories> {
        Arc::clone(
            &self
                .categories
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Reads the table again and keeps it as this store's copy when it differs
    /// (another process, an operator's `category add`, may have changed it).
    pub fn reread_categories(&self) -> Result<bool, StoreError> {
        let read = self.read(load_categories)?;
        let mut copy = self
            .categories
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = **copy != read;
        if changed {
            *copy = Arc::new(read);
        }
        Ok(changed)
    }

    /// Adds a category after the others.
    pub fn add_category(
        &self,
        slug: &CategorySlug,
        label: &CategoryLabel,
    ) -> Result<Category, CategoryRefusal> {
        self.transaction(|tx| {
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM categories WHERE slug = ?1)",
                [slug.as_str()],
                |row| row.get(0),
            )?;
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
            let (id, position): (i64, i64) = tx.query_row(
                "SELECT COALESCE(MAX(id), 0) + 1, COALESCE(MAX(position), 0) + 1 FROM categories",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let id = CategoryId::new(id).ok_or(CategoryRefusal::Full)?;
            tx.execute(
                "INSERT INTO categories (id, slug, label, position) VALUES (?1, ?2, ?3, ?4)",
                params![id.get(), slug.as_str(), label.as_str(), position],
            )
            .map_err(|error| match error.sqlite_error_code() {
                Some(ErrorCode::ConstraintViolation) => CategoryRefusal::SlugTaken(slug.as_str().to_owned()),
                _ => error.into(),
            })?;
            Ok(Category::new(
                id,
                slug.as_str().to_owned(),
                label.as_str().to_owned(),
                position,
            ))
        })
    }
}

/// Inserts one row per category of `set` with `insert` (`INSERT INTO
/// x_categories (x_id, category_id) VALUES (?1, ?2)`) for the row `owner`.
pub(crate) fn insert_category_refs(
    tx: &Transaction,
    insert: &str,
    owner: i64,
    set: CategorySet,
) -> Result<(), StoreError> {
    let mut statement = tx.prepare_cached(insert)?;
    for category in set.ids() {
        statement.execute(params![owner, category.get()])?;
    }
    Ok(())
}

/// Reads the whole `categories` table.
pub(crate) fn load_categories(connection: &Connection) -> Result<Categories, StoreError> {
    let mut statement = connection.prepare_cached("SELECT id, slug, label, position FROM categories")?;
    let categories = statement
        .query_map([], |row| {
            let id: i64 = row.get(0)?;
            let id = CategoryId::new(id).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Integer,
                    "category id".into(),
                )
            })?;
            Ok(Category::new(id, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Categories::new(categories))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::testing::temporary_store;

    #[test]
    fn a_new_store_has_the_four_seeded_categories_in_order() {
        let (store, _folder) = temporary_store();
        let slugs: Vec<String> = store.categories().iter().map(|c| c.slug().to_owned()).collect();
        assert_eq!(slugs, ["music", "kindle", "video", "software"]);
        assert_eq!(*store.categories(), crate::domain::category::seeded());
    }

    #[test]
    fn an_added_category_comes_last_and_a_taken_slug_or_label_is_refused() {
        let (store, _folder) = temporary_store();
        let slug = CategorySlug::parse("audiobooks").unwrap();
        let label = CategoryLabel::parse("Audiobooks").unwrap();
        let added = store.add_category(&slug, &label).unwrap();
        assert_eq!(added.id().get(), 5);
        assert_eq!(store.categories().iter().last(), Some(&added));
        assert!(matches!(
            store.add_category(&slug, &label),
            Err(CategoryRefusal::SlugTaken(_))
        ));
        let podcasts = CategorySlug::parse("podcasts").unwrap();
        for same in ["AUDIOBOOKS", "digital music"] {
            let refused = store.add_category(&podcasts, &CategoryLabel::parse(same).unwrap());
            assert!(matches!(refused, Err(CategoryRefusal::LabelTaken(..))), "{same}");
        }
        assert_eq!(store.categories().len(), 5);
    }

    /// The copy is the write path's to keep, like the sessions': any write that
    /// changes the table replaces it, one that is rolled back leaves it alone.
    #[test]
    fn any_write_that_changes_the_categories_renews_this_stores_copy() {
        let (store, _folder) = temporary_store();
        let insert = "INSERT INTO categories (id, slug, label, position) VALUES (5, 'games', 'Games', 5)";
        let refused: Result<(), StoreError> = store.write(|tx| {
            tx.execute(insert, [])?;
            Err(StoreError::Corrupt("stop here".into()))
        });
        assert!(refused.is_err());
        assert_eq!(store.categories().len(), 4);

        store.write(|tx| Ok(tx.execute(insert, [])?)).unwrap();
        assert!(store.categories().by_slug("games").is_some());
        store
            .write(|tx| Ok(tx.execute("UPDATE categories SET label = 'Play' WHERE slug = 'games'", [])?))
            .unwrap();
        assert_eq!(store.categories().by_slug("games").unwrap().label(), "Play");
    }

    #[test]
    fn a_category_another_process_adds_shows_when_the_table_is_read_again() {
        let (server, folder) = temporary_store();
        let operator = SqliteStore::open(&folder.path().join("test.db")).unwrap();
        let slug = CategorySlug::parse("audiobooks").unwrap();
        operator
            .add_category(&slug, &CategoryLabel::parse("Audiobooks").unwrap())
            .unwrap();
        assert!(server.categories().by_slug("audiobooks").is_none());
        assert!(server.reread_categories().unwrap());
        assert!(server.categories().by_slug("audiobooks").is_some());
        assert!(!server.reread_categories().unwrap(), "nothing changed since");
    }

    #[test]
    fn categories_added_at_once_each_get_their_own_place_and_a_slug_is_taken_once() {
        let (store, _folder) = temporary_store();
        let added: Vec<Result<Category, CategoryRefusal>> = std::thread::scope(|scope| {
            let adds: Vec<_> = (0..8)
                .map(|n| format!("department-{n}"))
                .chain((0..4).map(|_| "same".to_owned()))
                .enumerate()
                .map(|(n, slug)| {
                    let store = &store;
                    scope.spawn(move || {
                        let label = CategoryLabel::parse(&format!("Department {n}")).unwrap();
                        store.add_category(&CategorySlug::parse(&slug).unwrap(), &label)
                    })
                })
                .collect();
            adds.into_iter().map(|add| add.join().unwrap()).collect()
        });
        let (taken, refused): (Vec<_>, Vec<_>) = added.into_iter().partition(Result::is_ok);
        assert_eq!(taken.len(), 9, "eight departments and one \"same\"");
        assert!(
            refused
                .iter()
                .all(|r| matches!(r, Err(CategoryRefusal::SlugTaken(_))))
        );
        let categories = store.categories();
        assert_eq!(categories.len(), 13);
        let mut ids: Vec<i64> = categories.iter().map(|c| c.id().get()).collect();
        ids.dedup();
        assert_eq!(ids, (1..=13).collect::<Vec<_>>(), "in display order, none twice");
    }

    #[test]
    fn a_store_holds_at_most_sixty_four_categories() {
        let (store, _folder) = temporary_store();
        let numbered = |n| {
            (
                CategorySlug::parse(&format!("department-{n}")).unwrap(),
                CategoryLabel::parse(&format!("Department {n}")).unwrap(),
            )
        };
        for n in 5..=MAX_CATEGORIES {
            let (slug, label) = numbered(n);
            store.add_category(&slug, &label).unwrap();
        }
        let (one_more, label) = numbered(MAX_CATEGORIES + 1);
        assert!(matches!(
            store.add_category(&one_more, &label),
            Err(CategoryRefusal::Full)
        ));
        assert_eq!(store.categories().len(), 64);
    }

    #[test]
    fn a_store_from_before_categories_were_data_migrates_with_nothing_lost() {
        use crate::domain::category::set;
        use crate::domain::{CodeGrant, CreditKind, Money, PromoCode, UserId};

        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("old.db");
        let mut old = Connection::open(&path).unwrap();
        old.pragma_update(None, "foreign_keys", "ON").unwrap();
        super::super::migrations().to_version(&mut old, 10).unwrap();
        // Category sets as the four-bit masks of before: music 1, kindle 2,
        // video 4, software 8.
        old.execute_batch(
            "INSERT INTO users (id, email, name, password_hash, created_at)
                 VALUES (1, 'ann@example.com', 'Ann', 'x', 0);
             INSERT INTO products (id, category, format, title, creator, description, price_cents)
                 VALUES (1, 'music', 'Track', 'Song', 'Band', 'd', 100),
                        (2, 'video', 'Film', 'Film', 'Studio', 'd', 900);
             INSERT INTO codes (id, code, kind, description, amount_cents, percent_off, categories, created_at)
                 VALUES (1, 'MUSIC-KINDLE', 'credit', 'm+k', 1000, NULL, 3, 0),
                        (2, 'GIFT', 'gift_card', 'gift', 500, NULL, 15, 0),
                        (3, 'VIDEO-SOFT-OFF', 'discount', 'off', NULL, 20, 12, 0);
             INSERT INTO orders (id, user_id, product_id, idempotency_key, price_cents,
                                 promotional_credit_cents, placed_at)
                 VALUES (1, 1, 1, 'k', 100, 100, 0);
             INSERT INTO credits (id, user_id, kind, categories, source, description,
                                  original_cents, remaining_cents, created_at)
                 VALUES (1, 1, 'promotional', 3, 'grant', 'm+k', 1000, 900, 0),
                        (2, 1, 'promotional', 12, 'grant', 'v+s', 300, 300, 0),
                        (3, 1, 'gift_card', 15, 'grant', 'gift', 2500, 2500, 0);
             INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, created_at)
                 VALUES (1, 'grant', 1000, NULL, 0), (1, 'spend', -100, 1, 0),
                        (2, 'grant', 300, NULL, 0), (3, 'grant', 2500, NULL, 0);
             INSERT INTO discounts (id, user_id, description, percent_off, categories, created_at)
                 VALUES (1, 1, '20% off video', 20, 4, 0);",
        )
        .unwrap();
        drop(old);

        let store = SqliteStore::open(&path).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let shown: Vec<String> = store
            .balances_for(UserId(1), now)
            .unwrap()
            .lines()
            .iter()
            .map(|line| format!("{} {}", line.hook, line.amount))
            .collect();
        assert_eq!(
            shown,
            [
                "music $9.00",
                "kindle $9.00",
                "video $3.00",
                "gift-card $25.00",
                "software $3.00"
            ]
        );
        assert!(store.verify_ledger().unwrap().is_empty());
        let code = |name| {
            crate::store::Store::sqlite(store.clone())
                .code_named(&PromoCode::parse(name).unwrap())
                .unwrap()
                .unwrap()
                .grant
        };
        assert!(
            matches!(code("MUSIC-KINDLE"), CodeGrant::Credit { categories, .. } if categories == set("music,kindle"))
        );
        assert!(matches!(code("GIFT"), CodeGrant::GiftCard { amount } if amount == Money::from_cents(500)));
        assert!(
            matches!(code("VIDEO-SOFT-OFF"), CodeGrant::Discount(terms) if terms.categories == set("video,software"))
        );
        let discounts = store.discounts_of(UserId(1)).unwrap();
        assert_eq!(discounts[0].terms.categories, set("video"));
        let credits = store.credits_of(UserId(1)).unwrap();
        assert!(credits.iter().any(|c| c.kind == CreditKind::GiftCard));
        let video = store.categories().by_slug("video").unwrap().id();
        let films: Vec<i64> = store
            .products_in(Some(video))
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(films, [2]);
        assert_eq!(
            store.receipt(UserId(1), 1).unwrap().unwrap().price,
            Money::from_cents(100)
        );
    }
}
