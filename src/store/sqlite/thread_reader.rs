//! A worker thread's own read-only connection, and the read snapshot that the
//! reads it makes within a millisecond share.
//!
//! Beginning and ending a read transaction is most of what a small read costs:
//! SQLite takes and releases its WAL read lock on the shared-memory file, two
//! `fcntl` calls under a mutex the workers share, and sets up and tears down the
//! pager's state. Under load a worker answers a request every few tens of
//! microseconds, so it keeps its read transaction open for a millisecond and the
//! requests of that millisecond read from it. Reads stay as fresh as a shopper can
//! tell:
//!
//! - a commit by this process (through any [`Store`](super::Store) open on the file)
//!   ends every snapshot taken before it: a read that starts after a write has
//!   returned sees it, so a redeemed code, a sign-in or a purchase shows on the very
//!   next page;
//! - a commit by another process (an operator command, a second server) shows in
//!   every read that starts a millisecond or more after it;
//! - a snapshot nobody uses is ended a millisecond after it began, so an idle
//!   worker never holds up SQLite's checkpoints.
//!
//! Outside an actix event loop (a plain thread, a unit test) nothing would end an
//! idle snapshot, so each read there has its own transaction, as before.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::{StoreError, configure};

/// How long one read snapshot may serve reads after it began: at 25,000 pop-ups a
/// second on two workers, a dozen reads share each.
pub const READ_SNAPSHOT_WINDOW: Duration = Duration::from_millis(1);

/// Write transactions this process has ended on one database file, through any
/// [`Store`](super::Store) open on it: a snapshot taken before the latest one is
/// not used again. Stores on the same file share one count (tests open a second
/// store beside the server's, as an operator would).
#[derive(Clone)]
pub(crate) struct WriteCount(Arc<AtomicU64>);

impl WriteCount {
    /// The count for the database file at `path` (which exists).
    pub(crate) fn for_database(path: &Path) -> WriteCount {
        static BY_FILE: LazyLock<Mutex<HashMap<PathBuf, WriteCount>>> = LazyLock::new(Default::default);
        let file = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut by_file = BY_FILE.lock().unwrap_or_else(PoisonError::into_inner);
        by_file
            .entry(file)
            .or_insert_with(|| WriteCount(Arc::new(AtomicU64::new(0))))
            .clone()
    }

    /// Called after every write transaction ends, committed or not, before its
    /// caller can answer anyone.
    pub(crate) fn note_write_ended(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    fn now(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

thread_local! {
    static READERS: RefCell<Vec<ThreadReader>> = const { RefCell::new(Vec::new()) };
}

/// This thread's connection to one store's database.
struct ThreadReader {
    /// Which store (tests run many in one process).
    store_id: u64,
    connection: Connection,
    snapshot: Option<Snapshot>,
}

/// An open read transaction.
struct Snapshot {
    began: Instant,
    /// The store's [`WriteCount`] read before it began.
    writes_before: u64,
    /// Tells the idle closer whether the snapshot it was set for is still the open one.
    number: u64,
    /// Whether an event loop will end it when idle; if not, the read that began it does.
    shared: bool,
}

/// Runs `work` on this thread's read-only connection to the database at `path`,
/// inside a read snapshot no older than `window` ([`READ_SNAPSHOT_WINDOW`] but
/// in tests) that has seen every write this process has finished.
///
/// `work` must not call back into this function (the thread's readers are borrowed).
pub(crate) fn read_here<T>(
    store_id: u64,
    path: &Path,
    writes: &WriteCount,
    window: Duration,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    READERS.with(|readers| {
        let mut readers = readers.borrow_mut();
        let index = match readers.iter().position(|reader| reader.store_id == store_id) {
            Some(index) => index,
            None => {
                let mut connection = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&mut connection)?;
                readers.push(ThreadReader {
                    store_id,
                    connection,
                    snapshot: None,
                });
                readers.len() - 1
            }
        };
        let reader = &mut readers[index];
        // Read before the snapshot begins: a write that ended before this load is
        // in the snapshot; one that ends after it moves the count on.
        let writes_before = writes.now();
        if let Some(snapshot) = &reader.snapshot
            && (snapshot.writes_before != writes_before || snapshot.began.elapsed() >= window)
            && let Err(error) = reader.end_snapshot()
        {
            readers.swap_remove(index);
            return Err(error);
        }
        if reader.snapshot.is_none() {
            reader.begin_snapshot(writes_before, window)?;
        }
        let outcome = work(&reader.connection);
        let keep = outcome.is_ok() && reader.snapshot.as_ref().is_some_and(|snapshot| snapshot.shared);
        if !keep && reader.end_snapshot().is_err() {
            // A connection stuck in a transaction would fail every later read.
            readers.swap_remove(index);
        }
        outcome
    })
}

impl ThreadReader {
    fn begin_snapshot(&mut self, writes_before: u64, window: Duration) -> Result<(), StoreError> {
        static NEXT_NUMBER: AtomicU64 = AtomicU64::new(0);
        self.connection.prepare_cached("BEGIN")?.execute([])?;
        let number = NEXT_NUMBER.fetch_add(1, Ordering::Relaxed);
        let shared = end_when_idle(self.store_id, number, window);
        self.snapshot = Some(Snapshot {
            began: Instant::now(),
            writes_before,
            number,
            shared,
        });
        Ok(())
    }

    fn end_snapshot(&mut self) -> Result<(), StoreError> {
        if self.snapshot.take().is_some() {
            self.connection.prepare_cached("COMMIT")?.execute([])?;
        }
        Ok(())
    }
}

/// Asks this thread's event loop to end snapshot `number` once it has had its
/// time; `false` when the thread has no event loop.
fn end_when_idle(store_id: u64, number: u64, window: Duration) -> bool {
    if actix_rt::Arbiter::try_current().is_none() {
        return false;
    }
    actix_rt::spawn(async move {
        actix_rt::time::sleep(window).await;
        READERS.with(|readers| {
            // A read in progress holds the borrow; it ends or renews the snapshot itself.
            let Ok(mut readers) = readers.try_borrow_mut() else {
                return;
            };
            let Some(index) = readers.iter().position(|reader| {
                reader.store_id == store_id
                    && reader
                        .snapshot
                        .as_ref()
                        .is_some_and(|snapshot| snapshot.number == number)
            }) else {
                return;
            };
            if let Err(error) = readers[index].end_snapshot() {
                tracing::warn!(?error, "could not end a read snapshot; the connection is closed");
                readers.swap_remove(index);
            }
        });
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::testing::temporary_store;

    /// Longer than any test takes: what a test sees is then down to the rules.
    const LONGER_THAN_ANY_TEST: Duration = Duration::from_secs(600);

    fn secrets(store: &Store) -> i64 {
        store
            .read_here(|c| Ok(c.query_row("SELECT count(*) FROM server_secrets", [], |r| r.get(0))?))
            .unwrap()
    }

    /// A fresh store whose reads share a snapshot for `window`, after one read (so
    /// a snapshot is open on this thread when it can be), with its file's path.
    fn store_after_a_read(window: Duration) -> (Store, PathBuf, tempfile::TempDir) {
        let (store, folder) = temporary_store();
        let store = store.with_read_snapshot_window(window);
        assert_eq!(secrets(&store), 0);
        (store, folder.path().join("test.db"), folder)
    }

    /// A secret written through `store`, as the server's own writes are.
    fn write_through(store: &Store, name: &str) {
        store
            .write(|tx| {
                Ok(tx.execute(
                    "INSERT INTO server_secrets (name, value) VALUES (?1, x'01')",
                    [name],
                )?)
            })
            .unwrap();
    }

    /// A commit as another process makes it: on its own connection, unseen by
    /// this process's count of writes.
    fn commit_from_another_process(database: &Path, name: &str) -> Connection {
        let connection = Connection::open(database).unwrap();
        // Asked to checkpoint, answer "busy" at once rather than wait for readers.
        connection.busy_timeout(Duration::ZERO).unwrap();
        connection
            .execute(
                "INSERT INTO server_secrets (name, value) VALUES (?1, x'00')",
                [name],
            )
            .unwrap();
        connection
    }

    #[actix_rt::test]
    async fn reads_on_an_event_loop_share_a_snapshot_until_this_process_writes() {
        let (store, database, _folder) = store_after_a_read(LONGER_THAN_ANY_TEST);
        commit_from_another_process(&database, "outside");
        assert_eq!(secrets(&store), 0, "the open snapshot is shared");

        write_through(&store, "ours");
        assert_eq!(
            secrets(&store),
            2,
            "a write of this process ends the old snapshot at once"
        );
    }

    #[actix_rt::test]
    async fn an_unsynced_write_of_this_process_ends_the_snapshot_too() {
        let (store, database, _folder) = store_after_a_read(LONGER_THAN_ANY_TEST);
        commit_from_another_process(&database, "outside");
        store
            .write_unsynced(|tx| {
                Ok(tx.execute(
                    "INSERT INTO server_secrets (name, value) VALUES ('ours', x'01')",
                    [],
                )?)
            })
            .unwrap();
        assert_eq!(secrets(&store), 2);
    }

    #[actix_rt::test]
    async fn a_write_through_another_store_on_the_file_ends_the_snapshot() {
        let (store, database, _folder) = store_after_a_read(LONGER_THAN_ANY_TEST);
        write_through(&Store::open(&database).unwrap(), "operator");
        assert_eq!(secrets(&store), 1);
    }

    #[actix_rt::test]
    async fn a_snapshot_past_its_time_is_not_used() {
        let (store, database, _folder) = store_after_a_read(Duration::from_millis(30));
        commit_from_another_process(&database, "outside");
        // Blocks the event loop, so the idle closer cannot be what ends it.
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(secrets(&store), 1);
    }

    #[actix_rt::test]
    async fn an_idle_snapshot_is_ended_so_checkpoints_go_through() {
        let (store, database, _folder) = store_after_a_read(Duration::from_millis(20));
        let outside = commit_from_another_process(&database, "outside");
        let truncate = || -> i64 {
            outside
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
                .unwrap()
        };
        assert_eq!(truncate(), 1, "busy: the open snapshot holds the log");

        actix_rt::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(truncate(), 0, "the idle worker let go of its snapshot");
        assert_eq!(secrets(&store), 1);
    }

    #[actix_rt::test]
    async fn a_failed_read_ends_its_snapshot() {
        let (store, database, _folder) = store_after_a_read(LONGER_THAN_ANY_TEST);
        let failed = store.read_here(|c| Ok(c.execute_batch("SELECT * FROM no_such_table")?));
        assert!(failed.is_err());
        commit_from_another_process(&database, "outside");
        assert_eq!(secrets(&store), 1);
    }

    #[test]
    fn without_an_event_loop_each_read_has_its_own_snapshot() {
        let (store, database, _folder) = store_after_a_read(LONGER_THAN_ANY_TEST);
        commit_from_another_process(&database, "outside");
        assert_eq!(secrets(&store), 1);
    }
}
