//! A thread's own read-only connection, and the read snapshot that the reads it
//! makes within a millisecond share.
//!
//! Beginning and ending a read transaction is most of what a small read costs:
//! SQLite takes and releases its WAL read lock on the shared-memory file, two
//! `fcntl` calls under a mutex the threads share, and sets up and tears down the
//! pager's state. A busy worker answers many requests a millisecond, so it keeps
//! its read transaction open for a millisecond and the requests of that
//! millisecond read from it. Reads stay as fresh as a shopper can tell:
//!
//! - a commit by this process (through any [`SqliteStore`](super::SqliteStore) open
//!   on the file) ends every snapshot taken before it: a read that starts after a
//!   write has returned sees it, so a redeemed code, a sign-in or a purchase shows on
//!   the very next page;
//! - a commit by another process (an operator command, a second server) shows in
//!   every read that starts a millisecond or more after it;
//! - a snapshot nobody uses is ended about a millisecond after it began, so an idle
//!   thread never holds up SQLite's checkpoints.
//!
//! It behaves the same on every thread: each store has a closer thread, started at
//! its first snapshot, that ends the snapshots left idle. A thread's connection sits
//! behind a mutex that only its own reads and the closer take, and the closer never
//! waits for it, so a read finds it free.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError, TryLockError, Weak};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::configure;
use crate::store::StoreError;

/// How long one read snapshot may serve reads after it began.
pub(crate) const READ_SNAPSHOT_WINDOW: Duration = Duration::from_millis(1);

/// Write transactions this process has ended on one database file, through any
/// [`SqliteStore`](super::SqliteStore) open on it: a snapshot taken before the
/// latest one is not used again. Stores on the same file share one count (tests
/// open a second store beside the server's, as an operator would).
#[derive(Clone)]
pub(crate) struct WriteCount(Arc<AtomicU64>);

impl WriteCount {
    /// The count for the database file at `path` (which exists).
    pub(crate) fn for_database(path: &Path) -> WriteCount {
        static BY_FILE: LazyLock<Mutex<HashMap<PathBuf, WriteCount>>> = LazyLock::new(Default::default);
        let file = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        lock(&BY_FILE)
            .entry(file)
            .or_insert_with(|| WriteCount(Arc::new(AtomicU64::new(0))))
            .clone()
    }

    /// Called by the write path after every write transaction ends, committed or
    /// not, before its caller can answer anyone.
    pub(crate) fn note_write_ended(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    fn now(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// One store's per-thread connections, and the closer that ends their idle
/// snapshots. Dropping it (with the store's last handle) closes them all.
pub(crate) struct ThreadReaders {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    window: Duration,
    writes: WriteCount,
    /// Every thread's slot, for the closer to look over.
    slots: Mutex<Vec<Arc<Slot>>>,
    closer: Mutex<Closer>,
    /// Wakes the closer when a snapshot begins while it waits for one, or when the
    /// store is gone.
    wake: Condvar,
}

/// What the closer thread is doing.
#[derive(Default)]
struct Closer {
    started: bool,
    /// Could not be started: every read ends its own snapshot.
    unavailable: bool,
    /// Waiting for a snapshot to begin.
    idle: bool,
    /// A snapshot has begun since the closer last looked.
    armed: bool,
    /// The store is gone.
    stopping: bool,
}

/// One thread's connection to one store's database: `None` until its first read,
/// and again after an error left it unusable.
struct Slot(Mutex<Option<Reader>>);

struct Reader {
    connection: Connection,
    snapshot: Option<Snapshot>,
}

/// An open read transaction.
struct Snapshot {
    began: Instant,
    /// The store's [`WriteCount`] read before it began.
    writes_before: u64,
}

impl Snapshot {
    /// Whether a read that found the write count at `writes_now` may use it: no
    /// write of this process has ended since it began, and it has not had its time.
    fn is_usable(&self, writes_now: u64, window: Duration, now: Instant) -> bool {
        self.writes_before == writes_now && now.duration_since(self.began) < window
    }
}

thread_local! {
    /// This thread's slot for each store it has read from.
    static SLOTS: RefCell<Vec<(Weak<Shared>, Arc<Slot>)>> = const { RefCell::new(Vec::new()) };
}

impl ThreadReaders {
    /// Connections to the database at `path` whose reads share a snapshot for
    /// `window` ([`READ_SNAPSHOT_WINDOW`] but in tests).
    pub(crate) fn new(path: &Path, writes: WriteCount, window: Duration) -> ThreadReaders {
        ThreadReaders {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                window,
                writes,
                slots: Mutex::default(),
                closer: Mutex::default(),
                wake: Condvar::new(),
            }),
        }
    }

    /// Runs `work` on this thread's read-only connection, inside a read snapshot
    /// no older than the window that has seen every write this process has
    /// finished. Waits on no lock (the closer never holds this thread's
    /// connection for longer than ending a snapshot takes).
    ///
    /// `work` must not call back into this store's reads on the same thread (that
    /// panics: the thread's slots are borrowed).
    pub(crate) fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            let index = self.slot_in(&mut slots);
            let mut reader = lock(&slots[index].1.0);
            self.read_on(&mut reader, work)
        })
    }

    /// Where this thread's slot for this store is in `slots`, made on its first
    /// read here.
    fn slot_in(&self, slots: &mut Vec<(Weak<Shared>, Arc<Slot>)>) -> usize {
        let this_store = Arc::as_ptr(&self.shared);
        if let Some(index) = slots.iter().position(|(store, _)| store.as_ptr() == this_store) {
            return index;
        }
        // Each Weak keeps its store's address from being reused, so comparing
        // addresses is sound; those of stores that are gone can go now.
        slots.retain(|(store, _)| store.strong_count() > 0);
        let slot = Arc::new(Slot(Mutex::new(None)));
        lock(&self.shared.slots).push(slot.clone());
        slots.push((Arc::downgrade(&self.shared), slot));
        slots.len() - 1
    }

    fn read_on<T>(
        &self,
        reader: &mut Option<Reader>,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let shared = &self.shared;
        let current = match reader {
            Some(current) => current,
            None => reader.insert(Reader::open(&shared.path)?),
        };
        // Read before the snapshot begins: a write that ended before this load is
        // in the snapshot; one that ends after it moves the count on.
        let writes_before = shared.writes.now();
        if let Some(snapshot) = &current.snapshot
            && !snapshot.is_usable(writes_before, shared.window, Instant::now())
            && let Err(error) = current.end_snapshot()
        {
            // A connection stuck in a transaction would fail every later read.
            *reader = None;
            return Err(error);
        }
        let begins = current.snapshot.is_none();
        if begins {
            current.begin_snapshot(writes_before)?;
        }
        let outcome = work(&current.connection);
        let keep = outcome.is_ok() && (!begins || self.arm_closer());
        if !keep && current.end_snapshot().is_err() {
            *reader = None;
        }
        outcome
    }

    /// Tells the closer that a snapshot has begun, starting it the first time;
    /// `false` when there is no closer to end it.
    fn arm_closer(&self) -> bool {
        let mut closer = lock(&self.shared.closer);
        if closer.unavailable {
            return false;
        }
        if !closer.started {
            closer.started = true;
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("read-snapshots".to_owned())
                .spawn(move || close_idle_snapshots(&shared));
            if let Err(error) = spawned {
                tracing::warn!(
                    ?error,
                    "no thread to end idle read snapshots: each read has its own"
                );
                closer.unavailable = true;
                return false;
            }
        }
        if !closer.armed {
            closer.armed = true;
            if closer.idle {
                self.shared.wake.notify_one();
            }
        }
        true
    }
}

impl Drop for ThreadReaders {
    /// The store's last handle is gone, so no read is in progress: every thread's
    /// connection is closed now, and the closer stops.
    fn drop(&mut self) {
        for slot in lock(&self.shared.slots).drain(..) {
            if let Some(mut reader) = lock(&slot.0).take() {
                let _ = reader.end_snapshot();
            }
        }
        lock(&self.shared.closer).stopping = true;
        self.shared.wake.notify_one();
    }
}

/// The closer thread: waits for a snapshot to begin, then ends each one once it
/// has had its time, until none is open; stops when the store is gone.
fn close_idle_snapshots(shared: &Shared) {
    loop {
        {
            let mut closer = lock(&shared.closer);
            closer.idle = true;
            while !closer.armed && !closer.stopping {
                closer = shared.wake.wait(closer).unwrap_or_else(PoisonError::into_inner);
            }
            closer.idle = false;
            if closer.stopping {
                return;
            }
            closer.armed = false;
        }
        while let Some(next) = shared.end_idle_snapshots(Instant::now()) {
            let closer = lock(&shared.closer);
            let wait = next.saturating_duration_since(Instant::now());
            let (closer, _) = shared
                .wake
                .wait_timeout_while(closer, wait, |closer| !closer.stopping)
                .unwrap_or_else(PoisonError::into_inner);
            if closer.stopping {
                return;
            }
        }
    }
}

impl Shared {
    /// Ends every snapshot that has had its time by `now`; returns when the next
    /// one still open will have had it, `None` when none is open.
    fn end_idle_snapshots(&self, now: Instant) -> Option<Instant> {
        let mut slots = lock(&self.slots);
        // A slot nobody else holds belonged to a thread that has ended: closing its
        // connection ends its snapshot.
        slots.retain(|slot| Arc::strong_count(slot) > 1);
        let mut next: Option<Instant> = None;
        for slot in slots.iter() {
            let due = match slot.0.try_lock() {
                Ok(mut reader) => end_if_due(&mut reader, self.window, now),
                Err(TryLockError::Poisoned(poisoned)) => {
                    end_if_due(&mut poisoned.into_inner(), self.window, now)
                }
                // A read is in progress; it may leave its snapshot open.
                Err(TryLockError::WouldBlock) => Some(now + self.window / 4),
            };
            if let Some(due) = due {
                next = Some(next.map_or(due, |next| next.min(due)));
            }
        }
        next
    }
}

/// Ends the snapshot open on `reader` if it has had its time; otherwise, when it
/// will have.
fn end_if_due(reader: &mut Option<Reader>, window: Duration, now: Instant) -> Option<Instant> {
    let current = reader.as_mut()?;
    let due = current.snapshot.as_ref()?.began + window;
    if due > now {
        return Some(due);
    }
    if let Err(error) = current.end_snapshot() {
        tracing::warn!(?error, "could not end a read snapshot; the connection is closed");
        *reader = None;
    }
    None
}

impl Reader {
    fn open(path: &Path) -> Result<Reader, StoreError> {
        let mut connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&mut connection)?;
        Ok(Reader {
            connection,
            snapshot: None,
        })
    }

    fn begin_snapshot(&mut self, writes_before: u64) -> Result<(), StoreError> {
        self.connection.prepare_cached("BEGIN")?.execute([])?;
        self.snapshot = Some(Snapshot {
            began: Instant::now(),
            writes_before,
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No critical section here can leave its data half changed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::sqlite::testing::temporary_store;

    /// Longer than any test takes: what a test sees is then down to the rules.
    const LONGER_THAN_ANY_TEST: Duration = Duration::from_secs(600);

    fn secrets(store: &SqliteStore) -> i64 {
        store
            .read_here(|c| Ok(c.query_row("SELECT count(*) FROM server_secrets", [], |r| r.get(0))?))
            .unwrap()
    }

    /// A fresh store whose reads share a snapshot for `window`, after one read (so
    /// a snapshot is open on this thread), with its file's path.
    fn store_after_a_read(window: Duration) -> (SqliteStore, PathBuf, tempfile::TempDir) {
        let (store, folder) = temporary_store();
        let store = store.with_read_snapshot_window(window);
        assert_eq!(secrets(&store), 0);
        (store, folder.path().join("test.db"), folder)
    }

    /// A secret written through `store`, as the server's own writes are.
    fn write_through(store: &SqliteStore, name: &str) {
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

    /// `PRAGMA wal_checkpoint(TRUNCATE)` on `connection`: 1 when a reader's open
    /// snapshot holds the log ("busy"), 0 when it went through.
    fn truncate_the_log(connection: &Connection) -> i64 {
        connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn reads_share_a_snapshot_until_this_process_writes() {
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

    #[test]
    fn reads_on_any_thread_share_their_own_snapshot() {
        let (store, database, _folder) = store_after_a_read(LONGER_THAN_ANY_TEST);
        let elsewhere = std::thread::spawn({
            let store = store.clone();
            move || {
                let before = secrets(&store);
                std::thread::park();
                (before, secrets(&store))
            }
        });
        // Let the other thread take its snapshot before the commit.
        while !has_open_snapshots(&store, 2) {
            std::thread::yield_now();
        }
        commit_from_another_process(&database, "outside");
        elsewhere.thread().unpark();
        assert_eq!(elsewhere.join().unwrap(), (0, 0));
        assert_eq!(secrets(&store), 0);
    }

    #[test]
    fn an_unsynced_write_of_this_process_ends_the_snapshot_too() {
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

    #[test]
    fn a_write_through_another_store_on_the_file_ends_the_snapshot() {
        let (store, database, _folder) = store_after_a_read(LONGER_THAN_ANY_TEST);
        write_through(&SqliteStore::open(&database).unwrap(), "operator");
        assert_eq!(secrets(&store), 1);
    }

    #[test]
    fn a_snapshot_is_used_only_until_a_write_or_its_time() {
        let began = Instant::now();
        let snapshot = Snapshot {
            began,
            writes_before: 7,
        };
        let window = Duration::from_millis(1);
        assert!(snapshot.is_usable(7, window, began + Duration::from_micros(999)));
        assert!(
            !snapshot.is_usable(8, window, began),
            "a write of this process ended"
        );
        assert!(
            !snapshot.is_usable(7, window, began + window),
            "it has had its time"
        );
    }

    #[test]
    fn a_snapshot_past_its_time_is_not_used() {
        let (store, database, _folder) = store_after_a_read(Duration::from_millis(30));
        commit_from_another_process(&database, "outside");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(secrets(&store), 1);
    }

    #[test]
    fn an_idle_snapshot_is_ended_so_checkpoints_go_through() {
        // Long enough that the first checkpoint comes well within it however busy
        // the machine, short enough to wait for.
        let (store, database, _folder) = store_after_a_read(Duration::from_millis(300));
        let outside = commit_from_another_process(&database, "outside");
        assert_eq!(
            truncate_the_log(&outside),
            1,
            "busy: the open snapshot holds the log"
        );

        let deadline = Instant::now() + Duration::from_secs(10);
        while truncate_the_log(&outside) != 0 {
            assert!(Instant::now() < deadline, "the idle snapshot was never ended");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(secrets(&store), 1);
    }

    #[test]
    fn a_failed_read_ends_its_snapshot() {
        let (store, database, _folder) = store_after_a_read(LONGER_THAN_ANY_TEST);
        let failed = store.read_here(|c| Ok(c.execute_batch("SELECT * FROM no_such_table")?));
        assert!(failed.is_err());
        commit_from_another_process(&database, "outside");
        assert_eq!(secrets(&store), 1);
    }

    #[test]
    fn dropping_the_store_closes_every_threads_connection() {
        let (store, database, _folder) = store_after_a_read(LONGER_THAN_ANY_TEST);
        let outside = commit_from_another_process(&database, "outside");
        assert_eq!(truncate_the_log(&outside), 1);
        drop(store);
        assert_eq!(truncate_the_log(&outside), 0);
    }

    /// Whether `count` threads have a snapshot open on `store`.
    fn has_open_snapshots(store: &SqliteStore, count: usize) -> bool {
        let slots = lock(&store.thread_readers().shared.slots);
        let open = slots
            .iter()
            .filter(|slot| {
                lock(&slot.0)
                    .as_ref()
                    .is_some_and(|reader| reader.snapshot.is_some())
            })
            .count();
        open == count
    }
}
