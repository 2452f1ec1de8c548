//! The store's errors: what a use case may fail with besides its own refusals.

use ::postgres::error::SqlState;

use super::postgres;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", postgres::with_causes(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("no database connection came free in time")]
    PoolWait,
    #[error("cannot reach the database: {0}")]
    Unreachable(String),
    #[error("the database URL cannot be read: {0}")]
    BadUrl(String),
    #[error(
        "{0} holds no store: start the server on it once (storecredit serve --database URL), or copy a store \
         into it (storecredit --database FILE copy --to URL)"
    )]
    NoStore(String),
    #[error(
        "a store on PostgreSQL is backed up with PostgreSQL's own tool: \
         pg_dump --format=custom --file=storecredit.dump \"URL\" (restore with pg_restore --dbname=\"URL\" storecredit.dump)"
    )]
    BackupWithPgDump,
    #[error("no database connection available")]
    Pool(#[from] r2d2::Error),
    #[error("could not migrate the database")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("could not create the database folder {path}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("there is no database at {0} (nothing was created); check --database")]
    Missing(String),
    #[error(
        "the database is from an earlier release (schema {found}; this release needs {latest}) and was left \
         as it is: stop the server running on it, take a backup (storecredit backup FILE), then start this \
         release's server on it, which upgrades it; an upgrade cannot be undone"
    )]
    Outdated { found: usize, latest: usize },
    #[error(
        "the database is from a later release (schema {found}; this release knows up to {latest}): use that release"
    )]
    TooNew { found: usize, latest: usize },
    #[error("a message could not be written: {0}")]
    MailTemplate(String),
    #[error("the database holds a value this version cannot read: {0}")]
    Corrupt(String),
    #[error("{0} already exists; choose a new file for the backup")]
    BackupExists(String),
    #[error("the backup failed its integrity check: {0}")]
    BackupDamaged(String),
    /// A row this transaction read as missing was written meanwhile by one that
    /// committed: PostgreSQL's transactions are run again on it, like a
    /// serialization failure.
    #[error("{0} was written by another transaction meanwhile")]
    WrittenMeanwhile(&'static str),
    #[error("could not write the backup {path}")]
    BackupFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// The database could not be reached or gave no connection in time (a server
    /// restarting, a network gone, every connection busy): worth trying again in a
    /// few seconds, unlike a refusal or a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Pool(_) | StoreError::PoolWait | StoreError::Unreachable(_) => true,
            StoreError::Postgres(error) => postgres::is_connection_failure(error),
            StoreError::Sqlite(error) => matches!(
                error.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }
}

/// A use case's error that may hold a database error: the transaction looks
/// inside to tell a retry PostgreSQL asks for from a refusal.
pub(crate) trait StoreFailure {
    fn store_error(&self) -> Option<&StoreError>;
}

impl StoreFailure for StoreError {
    fn store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

impl StoreError {
    /// A unique key refused the row, on either engine.
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(error, _)) => matches!(
                error.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            StoreError::Postgres(error) => error.code() == Some(&SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }

    /// A serialization failure or deadlock (or a row written meanwhile): the
    /// transaction may succeed if run again.
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            StoreError::Postgres(error) => matches!(
                error.code(),
                Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
            ),
            StoreError::WrittenMeanwhile(_) => true,
            _ => false,
        }
    }
}
