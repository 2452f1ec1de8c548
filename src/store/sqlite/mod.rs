//! The SQLite engine: its connections (a pool of readers, each thread's own reader,
//! the one write path), its migrations, its copies of the sessions and the
//! categories, and its bodies of the few use cases that differ per engine (the
//! throttle's counting, loading a session, backup, `copy`'s reading side).
//!
//! Every write runs as ONE `BEGIN IMMEDIATE`
//! transaction through [`write_path`], which also does the engine's bookkeeping, so
//! a use case that moves money is all-or-nothing and no use case can leave a cache
//! or a read snapshot behind the database.

pub mod copy;
mod session_cache;
pub mod sessions;
mod thread_reader;
pub mod throttle;
mod write_path;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rand::distr::{Alphanumeric, SampleString};
use rusqlite::{Connection, OpenFlags, Transaction};
use rusqlite_migration::{M, Migrations};
use time::OffsetDateTime;

pub(crate) use super::{ConnectionStats, StoreError};
use crate::domain::Categories;
use crate::store::sql::SqliteConnection;
use session_cache::SessionCache;
use thread_reader::{READ_SNAPSHOT_WINDOW, ThreadReaders, WriteCount};
use write_path::{Durability, WritePath};

/// How long a connection waits for a lock held by another process (an operator
/// command running beside the server) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many sessions this process keeps a copy of: a few MiB at most.
const SESSIONS_CACHED: usize = 20_000;

/// How many migrations there are: the schema version of an up-to-date database
/// (rusqlite_migration keeps it in `PRAGMA user_version`).
const MIGRATIONS: usize = 20;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../../migrations/sqlite/0001_initial.sql")),
        M::up(include_str!(
            "../../../migrations/sqlite/0002_signin_throttle.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/0003_covering_balances_index.sql"
        )),
        M::up(include_str!("../../../migrations/sqlite/0004_order_request.sql")),
        M::up(include_str!(
            "../../../migrations/sqlite/0005_throttle_counters.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/0006_password_resets.sql"
        )),
        M::up(include_str!("../../../migrations/sqlite/0007_code_active.sql")),
        M::up(include_str!(
            "../../../migrations/sqlite/0008_order_code_note.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/0009_credentials_version.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/0010_newest_first_indexes.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/0011_categories_as_data.sql"
        ))
        .foreign_key_check(),
        M::up(include_str!("../../../migrations/sqlite/0012_audit_trail.sql")),
        M::up(include_str!("../../../migrations/sqlite/0013_staff.sql")),
        M::up(include_str!(
            "../../../migrations/sqlite/0014_partial_refunds.sql"
        ))
        .foreign_key_check(),
        M::up(include_str!("../../../migrations/sqlite/0015_approvals.sql")),
        M::up(include_str!("../../../migrations/sqlite/0016_report_indexes.sql")),
        M::up(include_str!(
            "../../../migrations/sqlite/0017_catalog_visibility.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/0018_code_redemption_indexes.sql"
        )),
        M::up(include_str!("../../../migrations/sqlite/0019_mail.sql")),
        M::up(include_str!(
            "../../../migrations/sqlite/0020_gift_cards_and_library.sql"
        ))
        .foreign_key_check(),
    ])
}

/// Settings every connection gets. `synchronous=FULL`: a committed purchase survives
/// a power cut, which matters more here than the last bit of write speed.
fn configure(connection: &mut Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // mmap: reads copy pages straight from the OS page cache instead of a read()
    // call per page (it only ever maps; writes still go through the WAL).
    connection.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;
         PRAGMA mmap_size = 268435456;",
    )?;
    // Every statement of the store's SQL layer stays prepared.
    connection.set_prepared_statement_cache_capacity(256);
    // PostgreSQL's name for byte order, so that one statement sorts alike on both
    // engines (SQLite's own BINARY is the same order).
    connection.create_collation("C", |a: &str, b: &str| a.as_bytes().cmp(b.as_bytes()))?;
    Ok(())
}

/// A SQLite database: cheap to clone, shared by every thread.
#[derive(Clone)]
pub struct SqliteStore {
    path: PathBuf,
    /// Read-only connections for reads on the blocking pool.
    readers: Pool<SqliteConnectionManager>,
    /// Each thread's own read-only connection, for the reads made on the worker.
    thread_readers: Arc<ThreadReaders>,
    write_path: WritePath,
    /// This process's copy of the sessions it has seen (see `session_cache`).
    sessions: Arc<SessionCache>,
    writes: WriteCount,
    /// The `categories` table as this process last read it: at open, by the
    /// write path after any transaction that changed it, and at each
    /// `Store::reread_categories`.
    categories: Arc<RwLock<Arc<Categories>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, switches it to WAL and applies
    /// any pending migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
                path: folder.display().to_string(),
                source,
            })?;
        }
        SqliteStore::open_file(path, OpenFlags::SQLITE_OPEN_CREATE)
    }

    /// Opens a database file that must exist already and whose schema is up to
    /// date (see [`Store::open_existing`](crate::store::Store::open_existing)).
    pub fn open_existing(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_file(path, OpenFlags::empty())
    }

    fn open_file(path: &Path, create: OpenFlags) -> Result<SqliteStore, StoreError> {
        let upgrade = !create.is_empty();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | create;
        let mut connection = Connection::open_with_flags(path, flags).map_err(|error| {
            if create.is_empty() && !path.exists() {
                StoreError::Missing(path.display().to_string())
            } else {
                StoreError::from(error)
            }
        })?;
        configure(&mut connection)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        let found: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let latest = MIGRATIONS;
        if found > latest {
            return Err(StoreError::TooNew { found, latest });
        }
        if found < latest {
            if !upgrade {
                return Err(StoreError::Outdated { found, latest });
            }
            // A migration that rebuilds a table runs with foreign keys off, as
            // SQLite asks, and checks them all before it commits.
            connection.pragma_update(None, "foreign_keys", "OFF")?;
            migrations().to_latest(&mut connection)?;
            connection.pragma_update(None, "foreign_keys", "ON")?;
        }
        let categories = crate::store::categories::load_categories(&mut SqliteConnection::new(&connection))?;
        let categories = Arc::new(RwLock::new(Arc::new(categories)));
        drop(connection);

        let readers_wanted = std::thread::available_parallelism().map_or(4, |n| n.get() * 2);
        let readers = Pool::builder()
            .max_size(u32::try_from(readers_wanted).unwrap_or(8))
            .min_idle(Some(1))
            .build(
                SqliteConnectionManager::file(path)
                    .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                    .with_init(configure),
            )?;
        let writes = WriteCount::for_database(path);
        let sessions = Arc::new(SessionCache::new(SESSIONS_CACHED));
        Ok(SqliteStore {
            path: path.to_path_buf(),
            readers,
            thread_readers: Arc::new(ThreadReaders::new(path, writes.clone(), READ_SNAPSHOT_WINDOW)),
            write_path: WritePath::open(path, writes.clone(), sessions.clone(), categories.clone())?,
            sessions,
            writes,
            categories,
        })
    }

    /// The same store with its threads' reads sharing a snapshot for `window`
    /// instead of a millisecond: tests stretch it to see what is shared and what
    /// is not. Call it before any read.
    pub fn with_read_snapshot_window(mut self, window: Duration) -> SqliteStore {
        self.thread_readers = Arc::new(ThreadReaders::new(&self.path, self.writes.clone(), window));
        self
    }

    /// Every category, in display order, as this store read them (at open, and
    /// after each write through it that changed them).
    pub fn categories(&self) -> Arc<Categories> {
        Arc::clone(
            &self
                .categories
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Keeps `read` (the table read again) as this store's copy when it differs
    /// (another process, an operator's `category add`, may have changed it);
    /// `true` when it did.
    pub(crate) fn keep_categories(&self, read: Categories) -> bool {
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

    /// Runs read-only queries on a pooled connection.
    pub(crate) fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let connection: PooledConnection<_> = self.readers.get()?;
        work(&connection)
    }

    /// Runs reads that must see one moment of the database on a pooled
    /// connection, in one read transaction.
    pub(crate) fn read_consistent<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let connection: PooledConnection<_> = self.readers.get()?;
        let tx = connection.unchecked_transaction()?;
        let answer = work(&tx)?;
        tx.commit()?;
        Ok(answer)
    }

    /// Runs a short read on this thread's own read-only connection, opened on first
    /// use and kept for the thread's life, in a read snapshot the thread's reads of
    /// the last millisecond share (see [`thread_reader`]). It never waits on a pool
    /// or a lock, so it may run on a worker thread, between requests.
    ///
    /// For the hot, tiny, indexed reads (a session, the five balances) made on
    /// nearly every request: they take microseconds, while handing them to the
    /// blocking pool and back costs two thread wake-ups, more than the read.
    /// Anything that may wait on a lock, or scans, belongs in [`SqliteStore::read`] or
    /// [`SqliteStore::write`] on the blocking pool.
    pub(crate) fn read_here<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.thread_readers.read(work)
    }

    /// A write whose only failures are database errors: see [`SqliteStore::transaction`].
    pub(crate) fn write<T>(
        &self,
        work: impl FnOnce(&Transaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_path.transaction(Durability::Synced, work)
    }

    /// [`SqliteStore::write`] without waiting for the disk ([`Durability::Unsynced`]):
    /// only for bookkeeping that is fine to lose; money and security state always
    /// use [`SqliteStore::write`].
    pub(crate) fn write_unsynced<T>(
        &self,
        work: impl FnOnce(&Transaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_path.transaction(Durability::Unsynced, work)
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction through the write path:
    /// committed when it returns `Ok`, rolled back (nothing written) when it returns
    /// `Err` or panics. `E` lets a use case refuse with its own reason (an
    /// exhausted code, no card).
    pub(crate) fn transaction<T, E>(&self, work: impl FnOnce(&Transaction) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.write_path.transaction(Durability::Synced, work)
    }

    #[cfg(test)]
    fn thread_readers(&self) -> &ThreadReaders {
        &self.thread_readers
    }

    /// Copies the whole database to a new file while the server keeps serving.
    ///
    /// `VACUUM INTO` copies one read snapshot in one pass, so writes by the server
    /// meanwhile never restart it (SQLite's online backup API starts over after
    /// every write by another connection: under steady load it never finished).
    /// The copy is made under a temporary name beside the target, checked, synced,
    /// then linked to the target's name, which fails rather than replace a file
    /// that exists; the temporary file is removed whatever happens, so a failed
    /// backup leaves nothing behind.
    pub fn backup_to(&self, target: &Path) -> Result<(), StoreError> {
        if target.exists() {
            return Err(StoreError::BackupExists(target.display().to_string()));
        }
        let partial = PartialBackup::beside(target)?;
        let source = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        source.busy_timeout(BUSY_TIMEOUT)?;
        source.execute("VACUUM INTO ?1", [partial.name()?])?;
        drop(source);

        let copy = Connection::open_with_flags(partial.path(), OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let verdict: String = copy.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        drop(copy);
        if verdict != "ok" {
            return Err(StoreError::BackupDamaged(verdict));
        }
        let file_error = |source| StoreError::BackupFile {
            path: target.display().to_string(),
            source,
        };
        std::fs::File::open(partial.path())
            .and_then(|file| file.sync_all())
            .map_err(file_error)?;
        std::fs::hard_link(partial.path(), target).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                StoreError::BackupExists(target.display().to_string())
            } else {
                file_error(error)
            }
        })?;
        // The new name must survive a power cut too (best effort where folders
        // cannot be opened).
        if let Ok(folder) = std::fs::File::open(partial.folder()) {
            let _ = folder.sync_all();
        }
        Ok(())
    }

    /// The read pool's connections now (the writer is one connection, and SQLite
    /// never asks for a retry).
    pub fn connection_stats(&self) -> ConnectionStats {
        let state = self.readers.state();
        ConnectionStats {
            in_use: state.connections - state.idle_connections,
            idle: state.idle_connections,
            waiting: 0,
            retries: 0,
        }
    }

    /// Whether the database answers a trivial query (for `/healthz`).
    pub fn is_healthy(&self) -> bool {
        self.read(|connection| {
            connection
                .query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
                .map_err(StoreError::from)
        })
        .is_ok()
    }
}

/// A backup being written under a temporary name beside its target
/// (`copy.db.partial-3kV9…`): removed, with any journal SQLite left beside it,
/// when dropped. After a successful backup the target is a second name for the
/// same file, which stays.
struct PartialBackup {
    folder: PathBuf,
    path: PathBuf,
}

impl PartialBackup {
    fn beside(target: &Path) -> Result<PartialBackup, StoreError> {
        let file_name = target
            .file_name()
            .ok_or_else(|| StoreError::BackupFile {
                path: target.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            })?
            .to_string_lossy();
        let parent = target.parent().filter(|folder| !folder.as_os_str().is_empty());
        // An absolute folder: a name starting with `file:` is never read as a URI.
        let folder = std::fs::canonicalize(parent.unwrap_or(Path::new("."))).map_err(|source| {
            StoreError::BackupFile {
                path: target.display().to_string(),
                source,
            }
        })?;
        let suffix = Alphanumeric.sample_string(&mut rand::rng(), 12);
        let path = folder.join(format!("{file_name}.partial-{suffix}"));
        Ok(PartialBackup { folder, path })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn folder(&self) -> &Path {
        &self.folder
    }

    /// The name as SQL takes it.
    fn name(&self) -> Result<&str, StoreError> {
        self.path.to_str().ok_or_else(|| StoreError::BackupFile {
            path: self.path.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not UTF-8"),
        })
    }
}

impl Drop for PartialBackup {
    fn drop(&mut self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

/// Seconds since the Unix epoch: how instants are stored.
pub(crate) fn unix(instant: OffsetDateTime) -> i64 {
    instant.unix_timestamp()
}

#[cfg(test)]
pub(crate) mod testing {
    use super::SqliteStore;

    /// A store on a fresh file in a temporary folder that lives as long as the guard.
    pub fn temporary_store() -> (SqliteStore, tempfile::TempDir) {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let store = SqliteStore::open(&folder.path().join("test.db")).expect("a fresh database");
        (store, folder)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations()
            .validate()
            .expect("migrations apply to an empty database");
        let mut connection = Connection::open_in_memory().unwrap();
        migrations().to_latest(&mut connection).unwrap();
        let version: usize = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS, "MIGRATIONS counts every migration");
    }

    #[test]
    fn a_paused_account_stays_paused_across_the_throttle_migration() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("old.db");
        let mut old = Connection::open(&path).unwrap();
        // The schema as the first edition left it: sign-in failures only.
        migrations().to_version(&mut old, 3).unwrap();
        let now = OffsetDateTime::now_utc();
        old.execute(
            "INSERT INTO signin_failures (subject, failures, window_started, blocked_until)
             VALUES ('account:demo@example.com', 5, ?1, ?2)",
            [unix(now), unix(now) + 900],
        )
        .unwrap();
        drop(old);
        let store = SqliteStore::open(&path).unwrap();
        let rule = crate::store::throttle::ThrottleRule {
            max_attempts: 5,
            window: time::Duration::minutes(15),
        };
        let account = crate::store::throttle::Subject("account:demo@example.com".to_owned());
        let wait = store.reserve_attempt(&[(account, rule)], now).unwrap();
        assert_eq!(wait, Some(time::Duration::minutes(15)));
    }

    #[test]
    fn opening_a_missing_database_as_existing_creates_nothing() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("typo").join("storecredit.db");
        let outcome = SqliteStore::open_existing(&path);
        assert!(
            matches!(outcome, Err(StoreError::Missing(_))),
            "{:?}",
            outcome.err()
        );
        assert!(files_in(folder.path()).is_empty());
        let flat = folder.path().join("typo.db");
        assert!(matches!(
            SqliteStore::open_existing(&flat),
            Err(StoreError::Missing(_))
        ));
        assert!(files_in(folder.path()).is_empty());
        drop(SqliteStore::open(&flat).unwrap());
        assert!(SqliteStore::open_existing(&flat).is_ok());
    }

    #[test]
    fn opening_twice_keeps_the_data_and_reapplies_nothing() {
        let (store, folder) = testing::temporary_store();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO server_secrets (name, value) VALUES ('probe', x'00')",
                    [],
                )
                .map_err(StoreError::from)
            })
            .unwrap();
        drop(store);
        let reopened = SqliteStore::open(&folder.path().join("test.db")).unwrap();
        let count: i64 = reopened
            .read(|c| {
                c.query_row("SELECT count(*) FROM server_secrets", [], |r| r.get(0))
                    .map_err(StoreError::from)
            })
            .unwrap();
        assert_eq!(count, 1);
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let (store, _folder) = testing::temporary_store();
        let outcome: Result<(), StoreError> = store.write(|tx| {
            tx.execute("INSERT INTO server_secrets (name, value) VALUES ('a', x'01')", [])?;
            Err(StoreError::Corrupt("stop here".into()))
        });
        assert!(outcome.is_err());
        let count: i64 = store
            .read(|c| {
                c.query_row("SELECT count(*) FROM server_secrets", [], |r| r.get(0))
                    .map_err(StoreError::from)
            })
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn a_backup_is_a_complete_copy_and_never_overwrites() {
        let (store, folder) = testing::temporary_store();
        crate::store::Store::sqlite(store.clone())
            .seed_demo_if_empty("hash", OffsetDateTime::now_utc())
            .unwrap();
        let target = folder.path().join("copy.db");
        store.backup_to(&target).unwrap();
        let copy = SqliteStore::open(&target).unwrap();
        assert_eq!(
            crate::store::Store::sqlite(copy.clone())
                .products_in(None)
                .unwrap(),
            crate::store::Store::sqlite(store.clone())
                .products_in(None)
                .unwrap()
        );
        assert!(
            crate::store::Store::sqlite(copy.clone())
                .verify_ledger()
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            store.backup_to(&target),
            Err(StoreError::BackupExists(_))
        ));
    }

    /// The names in a folder, sorted.
    fn files_in(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn count_rows(store: &SqliteStore, prefix: &str) -> i64 {
        store
            .read(|c| {
                c.query_row(
                    "SELECT count(*) FROM server_secrets WHERE name LIKE ?1 || '%'",
                    [prefix],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)
            })
            .unwrap()
    }

    #[test]
    fn a_backup_finishes_while_another_connection_keeps_writing() {
        let (store, folder) = testing::temporary_store();
        crate::store::Store::sqlite(store.clone())
            .seed_demo_if_empty("hash", OffsetDateTime::now_utc())
            .unwrap();
        // About 8 MB: far more than one step of SQLite's online backup API, which
        // started over after every write below and so never finished.
        store
            .write(|tx| {
                for i in 0..2000 {
                    tx.execute(
                        "INSERT INTO server_secrets (name, value) VALUES (?1, randomblob(4000))",
                        [format!("filler-{i:05}")],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = std::thread::spawn({
            let (store, stop) = (store.clone(), stop.clone());
            move || {
                let mut written = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    store
                        .write(|tx| {
                            tx.execute(
                                "INSERT INTO server_secrets (name, value) VALUES (?1, x'00')",
                                [format!("during-{written:08}")],
                            )?;
                            Ok(())
                        })
                        .unwrap();
                    written += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                written
            }
        });
        let target = folder.path().join("copy.db");
        let (sender, finished) = std::sync::mpsc::channel();
        std::thread::spawn({
            let (store, target) = (store.clone(), target.clone());
            move || sender.send(store.backup_to(&target))
        });

        let outcome = finished
            .recv_timeout(Duration::from_secs(120))
            .expect("the backup finishes while the writes go on");
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        outcome.unwrap();

        let copy = SqliteStore::open(&target).unwrap();
        assert_eq!(count_rows(&copy, "filler-"), 2000);
        assert!(
            crate::store::Store::sqlite(copy.clone())
                .verify_ledger()
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            crate::store::Store::sqlite(copy.clone())
                .products_in(None)
                .unwrap(),
            crate::store::Store::sqlite(store.clone())
                .products_in(None)
                .unwrap()
        );
        drop(copy);
        assert!(
            !files_in(folder.path())
                .iter()
                .any(|name| name.contains(".partial-")),
            "{:?}",
            files_in(folder.path())
        );
    }

    #[test]
    fn a_backup_into_a_missing_folder_fails_and_creates_nothing() {
        let (store, folder) = testing::temporary_store();
        let before = files_in(folder.path());
        let outcome = store.backup_to(&folder.path().join("no-such-folder").join("copy.db"));
        assert!(
            matches!(outcome, Err(StoreError::BackupFile { .. })),
            "{outcome:?}"
        );
        assert_eq!(files_in(folder.path()), before);
    }

    #[test]
    fn a_backup_onto_an_existing_file_fails_and_leaves_it_alone() {
        let (store, folder) = testing::temporary_store();
        let target = folder.path().join("copy.db");
        std::fs::write(&target, b"an earlier backup").unwrap();
        let before = files_in(folder.path());
        assert!(matches!(
            store.backup_to(&target),
            Err(StoreError::BackupExists(_))
        ));
        assert_eq!(files_in(folder.path()), before);
        assert_eq!(std::fs::read(&target).unwrap(), b"an earlier backup");
    }

    #[test]
    fn the_ledger_refuses_to_be_rewritten() {
        let (store, _folder) = testing::temporary_store();
        let outcome: Result<(), StoreError> = store.write(|tx| {
            tx.execute_batch(
                "INSERT INTO users (id, email, name, password_hash, created_at)
                     VALUES (1, 'a@example.com', 'A', 'x', 0);
                 INSERT INTO credits (id, user_id, kind, source, description,
                                      original_cents, remaining_cents, created_at)
                     VALUES (1, 1, 'gift_card', 'grant', 'test', 100, 100, 0);
                 INSERT INTO credit_events (credit_id, kind, amount_cents, created_at)
                     VALUES (1, 'grant', 100, 0);",
            )?;
            Ok(())
        });
        outcome.unwrap();
        let rewrite: Result<usize, StoreError> =
            store.write(|tx| Ok(tx.execute("UPDATE credit_events SET amount_cents = 1000", [])?));
        assert!(rewrite.is_err());
        let overdraw: Result<usize, StoreError> =
            store.write(|tx| Ok(tx.execute("UPDATE credits SET remaining_cents = -1", [])?));
        assert!(overdraw.is_err());
    }

    /// An engine's own machinery: SQLite's migration 11 turned the category
    /// bit masks into rows.
    #[test]
    fn a_store_from_before_categories_were_data_migrates_with_nothing_lost() {
        use crate::domain::category::set;
        use crate::domain::{CodeGrant, CreditKind, Money, PromoCode, UserId};

        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("old.db");
        let mut old = Connection::open(&path).unwrap();
        old.pragma_update(None, "foreign_keys", "ON").unwrap();
        migrations().to_version(&mut old, 10).unwrap();
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

        let store = crate::store::Store::sqlite(SqliteStore::open(&path).unwrap());
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
            store
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
