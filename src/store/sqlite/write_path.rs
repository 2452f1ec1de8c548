//! The SQLite engine's one write path: the writer connection, and the bookkeeping
//! every write transaction is followed by, whatever it wrote.
//!
//! The writer connection is reachable only through [`WritePath::transaction`], and
//! the bookkeeping is keyed off what the transaction did rather than what its caller
//! says it did, so a new use case cannot skip it:
//!
//! - the write count moves on, which ends every read snapshot this process took
//!   before the write (see `thread_reader`);
//! - every `sessions` row the transaction inserted, changed or deleted, by whatever
//!   statement (a sign-out, a password change's `DELETE … WHERE user_id`, the purge,
//!   a cascade), is forgotten from this process's copy of the sessions (see
//!   `session_cache`);
//! - a transaction that changed the `categories` table reads it again before it
//!   commits (so a failed read writes nothing), and this process's copy is
//!   replaced after the commit.
//!
//! Temporary triggers on the writer connection report each change as it is made.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use super::configure;
use super::session_cache::SessionCache;
use super::thread_reader::WriteCount;
use crate::domain::Categories;
use crate::store::StoreError;
use crate::store::categories::load_categories;
use crate::store::sql::SqliteConnection;

/// Whether a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// `synchronous=FULL`: a committed purchase survives a power cut.
    Synced,
    /// `synchronous=NORMAL`: the commit reaches the WAL but is not fsynced, so a
    /// power cut may lose it (never corrupt anything). Only for bookkeeping that is
    /// fine to lose, such as pushing a session's idle expiry forward.
    Unsynced,
}

/// The single writer connection and what must follow each of its transactions.
#[derive(Clone)]
pub(crate) struct WritePath {
    /// Private to this module: no write reaches the database another way.
    writer: Pool<SqliteConnectionManager>,
    writes: WriteCount,
    sessions: Arc<SessionCache>,
    categories: Arc<RwLock<Arc<Categories>>>,
    /// What the transaction in progress has changed, as its triggers report it;
    /// emptied after each transaction while the writer is still held.
    touched: Arc<Mutex<Touched>>,
}

/// What a transaction changed that this process keeps a copy of.
#[derive(Default)]
struct Touched {
    sessions: Vec<Box<str>>,
    categories: bool,
}

/// The SQL functions the triggers call; registered on the writer connection only.
const SESSION_TOUCHED: &str = "storecredit_session_touched";
const CATEGORIES_TOUCHED: &str = "storecredit_categories_touched";

/// Temporary (this connection's own) triggers naming every session key a statement
/// touches (`OLD.key` and `NEW.key` both, should a key ever change), and noting
/// any change to the categories.
const TRIGGERS: &str = "
    CREATE TEMP TRIGGER session_inserted AFTER INSERT ON sessions
    BEGIN SELECT storecredit_session_touched(NEW.key); END;
    CREATE TEMP TRIGGER session_updated AFTER UPDATE ON sessions
    BEGIN
        SELECT storecredit_session_touched(OLD.key);
        SELECT storecredit_session_touched(NEW.key) WHERE NEW.key IS NOT OLD.key;
    END;
    CREATE TEMP TRIGGER session_deleted AFTER DELETE ON sessions
    BEGIN SELECT storecredit_session_touched(OLD.key); END;
    CREATE TEMP TRIGGER category_inserted AFTER INSERT ON categories
    BEGIN SELECT storecredit_categories_touched(); END;
    CREATE TEMP TRIGGER category_updated AFTER UPDATE ON categories
    BEGIN SELECT storecredit_categories_touched(); END;
    CREATE TEMP TRIGGER category_deleted AFTER DELETE ON categories
    BEGIN SELECT storecredit_categories_touched(); END;";

impl WritePath {
    /// The write path to the (migrated) database at `path`.
    pub(super) fn open(
        path: &Path,
        writes: WriteCount,
        sessions: Arc<SessionCache>,
        categories: Arc<RwLock<Arc<Categories>>>,
    ) -> Result<WritePath, StoreError> {
        let touched: Arc<Mutex<Touched>> = Arc::default();
        let reported = touched.clone();
        let init = move |connection: &mut Connection| -> rusqlite::Result<()> {
            configure(connection)?;
            let sessions = reported.clone();
            connection.create_scalar_function(
                SESSION_TOUCHED,
                1,
                FunctionFlags::SQLITE_UTF8,
                move |context| {
                    let key: String = context.get(0)?;
                    lock(&sessions).sessions.push(key.into_boxed_str());
                    Ok(rusqlite::types::Null)
                },
            )?;
            let categories = reported.clone();
            connection.create_scalar_function(
                CATEGORIES_TOUCHED,
                0,
                FunctionFlags::SQLITE_UTF8,
                move |_| {
                    lock(&categories).categories = true;
                    Ok(rusqlite::types::Null)
                },
            )?;
            connection.execute_batch(TRIGGERS)
        };
        let writer = Pool::builder()
            .max_size(1)
            .connection_timeout(Duration::from_secs(30))
            .build(
                SqliteConnectionManager::file(path)
                    .with_flags(
                        OpenFlags::SQLITE_OPEN_READ_WRITE
                            | OpenFlags::SQLITE_OPEN_CREATE
                            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .with_init(init),
            )?;
        Ok(WritePath {
            writer,
            writes,
            sessions,
            categories,
            touched,
        })
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the writer connection:
    /// committed when it returns `Ok`, rolled back (nothing written) when it returns
    /// `Err` or panics. Writers queue for the one connection in order instead of
    /// spinning on SQLite's busy handler. `E` lets a use case refuse with its own
    /// reason (an exhausted code, no card).
    ///
    /// Before it returns, and so before anyone can hear of the write, this
    /// process's reads stop using snapshots older than it, its copy of every
    /// session the transaction touched is forgotten, and its copy of the categories
    /// is replaced if the transaction changed them.
    pub(crate) fn transaction<T, E>(
        &self,
        durability: Durability,
        work: impl FnOnce(&Transaction) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut connection = self.writer.get().map_err(StoreError::from)?;
        let outcome = (|| -> Result<_, E> {
            // Set for each transaction, so an unsynced one never leaves the
            // connection unsynced for the next.
            let synchronous = match durability {
                Durability::Synced => "PRAGMA synchronous = FULL",
                Durability::Unsynced => "PRAGMA synchronous = NORMAL",
            };
            connection
                .prepare_cached(synchronous)
                .and_then(|mut statement| statement.execute([]))
                .map_err(StoreError::from)?;
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let value = work(&transaction)?;
            let categories = match lock(&self.touched).categories {
                true => Some(load_categories(&mut SqliteConnection::new(&transaction))?),
                false => None,
            };
            transaction.commit().map_err(StoreError::from)?;
            Ok((value, categories))
        })();
        // Committed or not (forgetting too much is harmless), while the writer is
        // still ours, so the next transaction's changes are not mixed in. In this
        // order: a read that finds a session missing from the copy after the
        // forget must not be served from a snapshot taken before the write.
        self.writes.note_write_ended();
        let touched = std::mem::take(&mut *lock(&self.touched));
        self.sessions.forget(touched.sessions);
        let (value, categories) = outcome?;
        if let Some(categories) = categories {
            *self.categories.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(categories);
        }
        Ok(value)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing below can leave the list half changed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::testing::temporary_store;

    fn synchronous(tx: &Transaction) -> Result<i64, StoreError> {
        Ok(tx.query_row("PRAGMA synchronous", [], |row| row.get(0))?)
    }

    #[test]
    fn an_unsynced_write_never_leaves_the_next_one_unsynced() {
        let (store, _folder) = temporary_store();
        assert_eq!(store.write_unsynced(synchronous).unwrap(), 1, "NORMAL");
        assert_eq!(store.write(synchronous).unwrap(), 2, "FULL");
    }

    #[test]
    fn other_connections_write_sessions_as_plain_sql() {
        let (store, folder) = temporary_store();
        // Another connection (an operator's, the migrations') has no such trigger
        // or function: its session writes work as plain SQL.
        let other = Connection::open(folder.path().join("test.db")).unwrap();
        other
            .execute(
                "INSERT INTO sessions (key, user_id, state, created_at, expires_at)
                 VALUES ('k', NULL, '{}', 0, 1)",
                [],
            )
            .unwrap();
        assert_eq!(
            store
                .write(|tx| Ok(tx.execute("DELETE FROM sessions WHERE key = 'k'", [])?))
                .unwrap(),
            1
        );
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
}
