//! The store's door: the one interface through which routes, the session layer and
//! the CLI reach the data, whichever engine holds it, and the use cases
//! themselves, one module per table family (`codes`, `credits`, `orders`…), each
//! written once on the store's own SQL layer (`sql`), in the access modes of
//! `access`, and run by either engine.
//!
//! Two kinds of call, told apart where they are made:
//! - every [`Store`] use case may wait (for the writer, a pooled connection, the
//!   disk): call it on the blocking pool (`routes::blocking`) or on a thread of
//!   the caller's own, as the CLI does, never on the event loop;
//! - the few reads made on nearly every request are also offered by
//!   [`Store::on_worker`], when the engine answers them without waiting on a lock
//!   or the network: those are safe on the event loop.
//!
//! [`Store::categories`] is neither: every engine keeps the categories in memory,
//! so it answers at once anywhere.
//!
//! Where the engines truly differ, and only there, each keeps a body of its own
//! (in `sqlite/` and `postgres/`; the use cases among them are passed through by
//! `use_cases!` below):
//! - connections, transactions and their retries: the access modes' mapping;
//! - migrations, and opening or creating a store;
//! - the throttle's counting ([`Store::reserve_attempt`],
//!   [`Store::settle_successful_attempt`]): PostgreSQL calls functions of its
//!   schema that lock the counters in the subjects' byte order, SQLite counts on
//!   its one writer;
//! - loading a session ([`Store::load_session`], and [`OnWorker::load_session`]):
//!   SQLite answers from an in-process copy of the sessions, on the worker
//!   thread; PostgreSQL, shared by many servers, reads the row every time; and
//!   pushing a session's idle expiry forward ([`Store::refresh_session`]), which
//!   SQLite commits without waiting for the disk;
//! - the in-process copy of the categories: SQLite's write path renews it after
//!   any write that touched the table, PostgreSQL rereads it after an add and
//!   every 30 seconds;
//! - the whole database: [`Store::backup_to`] (SQLite's `VACUUM INTO`; `pg_dump`
//!   for PostgreSQL), [`Store::is_healthy`], and `copy` (a SQLite file read
//!   whole, written into PostgreSQL).

mod access;
pub mod approvals;
pub mod audit;
pub mod catalog;
pub mod categories;
pub mod codes;
pub mod copy;
pub mod credits;
pub mod demo;
mod devices;
pub mod discounts;
mod error;
pub mod gift_cards;
pub mod library;
pub mod location;
pub mod orders;
pub mod outbox;
pub mod password_resets;
mod payment;
mod postgres;
pub mod registrations;
pub mod reminders;
pub mod reports;
mod rules;
mod secrets;
pub mod sessions;
pub mod settings;
pub(crate) mod sql;
mod sqlite;
pub mod staff;
#[doc(hidden)]
pub mod test_postgres;
#[cfg(test)]
pub(crate) mod testing;
pub mod throttle;
pub mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::{Balances, Categories, UserId};
pub use error::StoreError;
pub(crate) use error::StoreFailure;
use location::DatabaseLocation;
use postgres::PostgresStore;
use sessions::{LoadedSession, SessionLifetime};
use sql::SqliteConnection;
use sqlite::SqliteStore;
use throttle::{Subject, ThrottleRule};

/// The database, whichever engine holds it: cheap to clone, shared by every
/// worker and thread.
#[derive(Clone)]
pub struct Store {
    engine: Engine,
}

/// The engines a store may be kept in.
#[derive(Clone)]
enum Engine {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Store {
    /// Opens (creating if needed) the SQLite database file at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store::sqlite(SqliteStore::open(path)?))
    }

    /// Opens a SQLite database file that must exist already and be up to date:
    /// never creates a file or a folder, so a mistyped path is an error instead of
    /// a new, empty store, and never upgrades the schema, which only a server
    /// start does (an operator command must not change the format under a server
    /// of the previous release).
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        Ok(Store::sqlite(SqliteStore::open_existing(path)?))
    }

    /// Opens the store at `location`, creating and migrating it as needed: a file
    /// as [`Store::open`] does, a PostgreSQL database by connecting and bringing
    /// its schema up to date.
    pub fn open_location(location: &DatabaseLocation) -> Result<Store, StoreError> {
        match location {
            DatabaseLocation::File(path) => Store::open(path),
            DatabaseLocation::Postgres(url) => Ok(Store::postgres(PostgresStore::open(url)?)),
        }
    }

    /// Opens the store at `location`, which must exist and be up to date (see
    /// [`Store::open_existing`]); a PostgreSQL database that holds no store is
    /// [`StoreError::NoStore`].
    pub fn open_existing_location(location: &DatabaseLocation) -> Result<Store, StoreError> {
        match location {
            DatabaseLocation::File(path) => Store::open_existing(path),
            DatabaseLocation::Postgres(url) => Ok(Store::postgres(PostgresStore::open_existing(url)?)),
        }
    }

    fn postgres(engine: PostgresStore) -> Store {
        Store {
            engine: Engine::Postgres(engine),
        }
    }

    /// The engine's connections now, and its retries so far (for `/metrics`).
    pub fn connection_stats(&self) -> ConnectionStats {
        match &self.engine {
            Engine::Sqlite(sqlite) => sqlite.connection_stats(),
            Engine::Postgres(postgres) => postgres.connection_stats(),
        }
    }

    /// Which engine holds the data, for messages: `"SQLite"` or `"PostgreSQL"`.
    pub fn engine_name(&self) -> &'static str {
        match &self.engine {
            Engine::Sqlite(_) => "SQLite",
            Engine::Postgres(_) => "PostgreSQL",
        }
    }

    fn sqlite(engine: SqliteStore) -> Store {
        Store {
            engine: Engine::Sqlite(engine),
        }
    }

    /// A test knob, never a setting: the SQLite engine's threads share each read
    /// snapshot for `window` instead of a millisecond, so that what sharing must
    /// never hide (a shopper's own last write) would show if it did. Call it on a
    /// store just opened.
    #[doc(hidden)]
    pub fn with_read_snapshot_window(self, window: Duration) -> Store {
        match self.engine {
            Engine::Sqlite(sqlite) => Store::sqlite(sqlite.with_read_snapshot_window(window)),
            engine @ Engine::Postgres(_) => Store { engine },
        }
    }

    /// The reads a request handler may make right here on its worker thread, when
    /// this engine answers them without waiting on a lock or the network (SQLite
    /// does: a thread's own connection, an in-process copy of the sessions). `None`
    /// when it cannot promise that, as an engine across a network could not: then
    /// make the same reads through [`Store`] on the blocking pool.
    pub fn on_worker(&self) -> Option<OnWorker<'_>> {
        match &self.engine {
            Engine::Sqlite(sqlite) => Some(OnWorker { sqlite }),
            Engine::Postgres(_) => None,
        }
    }

    /// Every category, in display order: this process's copy, read at open and
    /// again after any write through this store that changed them. Never waits.
    pub fn categories(&self) -> Arc<Categories> {
        match &self.engine {
            Engine::Sqlite(sqlite) => sqlite.categories(),
            Engine::Postgres(postgres) => postgres.categories(),
        }
    }

    /// The SQLite engine behind the door, for tests that look at rows directly.
    #[cfg(test)]
    pub(crate) fn sqlite_engine(&self) -> &SqliteStore {
        match &self.engine {
            Engine::Sqlite(sqlite) => sqlite,
            Engine::Postgres(_) => panic!("a SQLite store was expected"),
        }
    }
}

/// The reads that answer without waiting on a lock (of the database, the disk or
/// the network): safe on the event loop. Handed out by [`Store::on_worker`].
#[derive(Clone, Copy)]
pub struct OnWorker<'a> {
    sqlite: &'a SqliteStore,
}

impl OnWorker<'_> {
    /// As [`Store::load_session`].
    pub fn load_session(
        &self,
        key: &str,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<Option<LoadedSession>, StoreError> {
        self.sqlite.load_session(key, lifetime, now)
    }

    /// As [`Store::balances_for`]: the same body, on this thread's own reader.
    pub fn balances_for(&self, user: UserId, now: OffsetDateTime) -> Result<Balances, StoreError> {
        self.sqlite.read_here(|connection| {
            credits::balances(
                &mut SqliteConnection::new(connection),
                self.sqlite.categories(),
                user,
                now,
            )
        })
    }
}

/// Declares each use case on [`Store`], passed through to the engine holding the
/// data, which answers it whole (a write in one transaction).
macro_rules! use_cases {
    ($(
        $(#[$attribute:meta])*
        fn $name:ident(&self $(, $argument:ident: $type:ty)* $(,)?) -> $answer:ty;
    )*) => {
        impl Store {
            $(
                $(#[$attribute])*
                pub fn $name(&self $(, $argument: $type)*) -> $answer {
                    match &self.engine {
                        Engine::Sqlite(sqlite) => sqlite.$name($($argument),*),
                        Engine::Postgres(postgres) => postgres.$name($($argument),*),
                    }
                }
            )*
        }
    };
}

use_cases! {
    // The database as a whole.

    /// Copies the whole database to a new file, checked, while the server keeps
    /// serving; never overwrites a file, and leaves nothing behind when it fails.
    fn backup_to(&self, target: &Path) -> Result<(), StoreError>;
    /// Whether the database answers a trivial query (for `/healthz`).
    fn is_healthy(&self) -> bool;

    // The throttle's counting: PostgreSQL counts in functions of its schema that
    // lock the counters in the subjects' byte order; SQLite has its one writer.

    /// Counts an attempt against each counter; the wait when one is exhausted.
    fn reserve_attempt(
        &self,
        counters: &[(Subject, ThrottleRule)],
        now: OffsetDateTime,
    ) -> Result<Option<time::Duration>, StoreError>;
    /// After a success: clears some counters and takes the attempt back from others.
    fn settle_successful_attempt(
        &self,
        cleared: &[Subject],
        refunded: &[Subject],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// The engine's connections at one moment, and the transactions it has had to run
/// again, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionStats {
    pub in_use: u32,
    pub idle: u32,
    /// Requests waiting for a connection (not counted by the SQLite engine).
    pub waiting: u64,
    /// Transactions run again after a serialization failure or deadlock, since
    /// the store was opened.
    pub retries: u64,
}

/// One page of a history, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub entries: Vec<T>,
    /// The cursor of the next (older) page: the id of this page's oldest entry.
    pub older: Option<i64>,
}

impl<T> Page<T> {
    /// A page from up to `size + 1` rows, newest first: the row past `size` says
    /// that an older page exists.
    pub(crate) fn of(mut rows: Vec<T>, size: usize, id: impl Fn(&T) -> i64) -> Page<T> {
        let more = rows.len() > size;
        rows.truncate(size);
        Page {
            older: rows.last().filter(|_| more).map(id),
            entries: rows,
        }
    }
}
