//! How a use case reaches the data: the access modes of the store's SQL layer,
//! each mapped onto what the engine holding the data does for it.
//!
//! | mode | SQLite | PostgreSQL |
//! |---|---|---|
//! | [`Store::read`] | a pooled reader, each statement on its own | a pooled connection, each statement on its own |
//! | [`Store::read_consistent`] | a pooled reader in one read transaction | a read-only REPEATABLE READ transaction |
//! | [`Store::read_hot`] | this thread's own reader (never waits) | a pooled connection |
//! | [`Store::write`] | `BEGIN IMMEDIATE` on the one writer | SERIALIZABLE, run again whole on 40001/40P01 |
//! | [`Store::write_hot`] | `BEGIN IMMEDIATE` on the one writer | READ COMMITTED, run again whole on a deadlock |
//!
//! A write's body may run more than once on PostgreSQL, so it must do nothing
//! outside the transaction.

use super::sql::{Connection, SqliteConnection};
use super::{Engine, Store, StoreError, StoreFailure};

impl Store {
    /// Reads that need not agree with each other (or one statement).
    pub(crate) fn read<T>(
        &self,
        work: impl FnOnce(&mut dyn Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.engine {
            Engine::Sqlite(sqlite) => sqlite.read(|connection| work(&mut SqliteConnection::new(connection))),
            Engine::Postgres(postgres) => postgres.layer_read(work),
        }
    }

    /// Reads that must see one moment of the database (a page and its entries'
    /// ledgers, a receipt and its lines).
    pub(crate) fn read_consistent<T>(
        &self,
        work: impl FnOnce(&mut dyn Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.engine {
            Engine::Sqlite(sqlite) => {
                sqlite.read_consistent(|connection| work(&mut SqliteConnection::new(connection)))
            }
            Engine::Postgres(postgres) => postgres.layer_read_consistent(work),
        }
    }

    /// The tiny indexed reads made on nearly every request: on SQLite on this
    /// thread's own connection, in the snapshot its reads of the last
    /// millisecond share, without a hop to another thread.
    pub(crate) fn read_hot<T>(
        &self,
        work: impl FnOnce(&mut dyn Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.engine {
            Engine::Sqlite(sqlite) => {
                sqlite.read_here(|connection| work(&mut SqliteConnection::new(connection)))
            }
            Engine::Postgres(postgres) => postgres.layer_read(work),
        }
    }

    /// One transaction: committed when `work` returns `Ok`, nothing written when
    /// it returns `Err` (a use case's own refusal in `E`).
    pub(crate) fn write<T, E>(
        &self,
        mut work: impl FnMut(&mut dyn Connection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError> + StoreFailure,
    {
        match &self.engine {
            Engine::Sqlite(sqlite) => {
                sqlite.transaction(|connection| work(&mut SqliteConnection::new(connection)))
            }
            Engine::Postgres(postgres) => postgres.layer_transaction(work),
        }
    }

    /// A transaction on hot single rows a burst hits at once: on PostgreSQL each
    /// statement waits on the rows' locks rather than failing, so `work` changes
    /// a row with one atomic statement or locks it first (`SELECT … FOR UPDATE`),
    /// several rows in one fixed order.
    pub(crate) fn write_hot<T>(
        &self,
        mut work: impl FnMut(&mut dyn Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.engine {
            Engine::Sqlite(sqlite) => {
                sqlite.transaction(|connection| work(&mut SqliteConnection::new(connection)))
            }
            Engine::Postgres(postgres) => postgres.layer_locking_transaction(work),
        }
    }
}
