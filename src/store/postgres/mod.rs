//! The PostgreSQL engine: its pool of connections and their TLS, its migrations,
//! its copy of the categories, and its bodies of the few use cases that differ
//! per engine (the throttle's counting, `copy`'s writing side).
//!
//! Every write runs as ONE `SERIALIZABLE` transaction through
//! [`PostgresStore::layer_transaction`], which retries it whole when
//! PostgreSQL reports a serialization failure or a deadlock (SQLSTATE 40001,
//! 40P01): the use cases read and then write exactly as they do on SQLite's single
//! writer, and SERIALIZABLE makes every interleaving of many writers on many
//! servers behave as if they ran one at a time. PostgreSQL-compatible distributed
//! engines that always run SERIALIZABLE behave the same.

pub mod copy;
pub mod throttle;
mod tls;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use postgres::{Client, IsolationLevel, Transaction};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use time::OffsetDateTime;
use tokio_postgres_rustls::MakeRustlsConnect;

pub(crate) use super::{ConnectionStats, StoreError, StoreFailure};
use crate::domain::Categories;
use crate::store::location::PostgresUrl;
use crate::store::sql::{self, PostgresConnection, Prepared};

/// How long a request waits, in turn, for a pooled connection before it gives up
/// with an error instead of hanging.
const POOL_WAIT: Duration = Duration::from_secs(5);

/// A pooled connection handed out again within this long is used without a
/// check; one idle for longer is checked first (one round trip), so connections a
/// database restart ended are not handed to requests after it is back.
const TRUSTED_WHILE_BUSY: Duration = Duration::from_secs(1);

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long data sent to the database may go unacknowledged before the connection
/// is given up (TCP_USER_TIMEOUT; the URL's `tcp_user_timeout` wins).
const SILENT_SERVER: Duration = Duration::from_secs(10);

/// How many times a transaction is tried when PostgreSQL asks for a retry
/// (serialization failure, deadlock) before the error is passed on: many
/// requests at once on one row (a shopper's credits, a capped code) each lose
/// to one winner per round.
const ATTEMPTS: u32 = 60;

/// The migrations, in order; the version of a database is how many have run.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_schema",
        include_str!("../../../migrations/postgres/0001_schema.sql"),
    ),
    (
        "0002_audit_trail",
        include_str!("../../../migrations/postgres/0002_audit_trail.sql"),
    ),
    (
        "0003_staff",
        include_str!("../../../migrations/postgres/0003_staff.sql"),
    ),
    (
        "0004_partial_refunds",
        include_str!("../../../migrations/postgres/0004_partial_refunds.sql"),
    ),
    (
        "0005_approvals",
        include_str!("../../../migrations/postgres/0005_approvals.sql"),
    ),
    (
        "0006_report_indexes",
        include_str!("../../../migrations/postgres/0006_report_indexes.sql"),
    ),
    (
        "0007_catalog_visibility",
        include_str!("../../../migrations/postgres/0007_catalog_visibility.sql"),
    ),
    (
        "0008_code_redemption_indexes",
        include_str!("../../../migrations/postgres/0008_code_redemption_indexes.sql"),
    ),
    (
        "0009_mail",
        include_str!("../../../migrations/postgres/0009_mail.sql"),
    ),
    (
        "0010_gift_cards_and_library",
        include_str!("../../../migrations/postgres/0010_gift_cards_and_library.sql"),
    ),
];

/// Held while migrating, so servers starting together on an empty database
/// migrate it once: the others wait, then find nothing to do.
const MIGRATION_LOCK: i64 = 0x5354_4f52_4543_5244; // "STORECRD"

/// Connections as the pool makes them: the client, and the statements prepared on
/// it, by their text (see `sql::PostgresConnection`).
struct Manager(PostgresConnectionManager<MakeRustlsConnect>);

pub(crate) struct Connection {
    client: Client,
    prepared: Prepared,
    /// When it was last handed out: one idle for longer is checked first.
    handed_out: std::time::Instant,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.0.connect()?,
            prepared: HashMap::new(),
            handed_out: std::time::Instant::now(),
        })
    }

    fn is_valid(&self, connection: &mut Connection) -> Result<(), postgres::Error> {
        self.0.is_valid(&mut connection.client)
    }

    fn has_broken(&self, connection: &mut Connection) -> bool {
        self.0.has_broken(&mut connection.client)
    }
}

/// A PostgreSQL database: cheap to clone, shared by every thread.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Arc<ConnectionPool>,
    /// The `categories` table as this process last read it: at open, after
    /// `Store::add_category`, and at each `Store::reread_categories` (see
    /// `store::categories`).
    categories: Arc<RwLock<Arc<Categories>>>,
    /// Held while the table is read again and kept, so that of two refreshes
    /// (two adds at once, an add and the periodic reread) the later read is the
    /// one kept.
    refreshing: Arc<Mutex<()>>,
}

/// The pool of connections, handed out first come, first served. r2d2 wakes any
/// one of its waiters when a connection comes back, so under a burst a request
/// could wait past its limit while later ones are served; here requests queue
/// on a fair lock (parking_lot hands it to the longest waiter) and only the head
/// of the queue waits on the pool.
///
/// Each connection of the synchronous client runs its own small async runtime,
/// which cannot be shut down on a thread that drives another (the server's): the
/// last clone of a store may well be dropped there, so the pool is closed on a
/// thread of its own.
struct ConnectionPool {
    pool: Option<Pool<Manager>>,
    queue: parking_lot::Mutex<()>,
    /// Requests waiting for a connection now.
    waiting: AtomicU64,
    /// Transactions run again since the pool opened (serialization failures,
    /// deadlocks).
    retries: AtomicU64,
}

impl ConnectionPool {
    fn new(pool: Pool<Manager>) -> ConnectionPool {
        ConnectionPool {
            pool: Some(pool),
            queue: parking_lot::Mutex::new(()),
            waiting: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    /// A connection, waiting at most [`POOL_WAIT`] in all, in turn.
    fn get(&self) -> Result<PooledConnection<Manager>, StoreError> {
        let started = std::time::Instant::now();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let connection = self.queue.try_lock_for(POOL_WAIT).map(|turn| {
            let connection = loop {
                let left = POOL_WAIT
                    .saturating_sub(started.elapsed())
                    .max(Duration::from_millis(1));
                match self.pool().get_timeout(left) {
                    Ok(mut connection) => {
                        // A connection idle for a while may have been ended by the
                        // server (a restart): checked with an empty query, and a
                        // dead one is dropped (the pool discards it) for the next.
                        let idle = connection.handed_out.elapsed() > TRUSTED_WHILE_BUSY;
                        connection.handed_out = std::time::Instant::now();
                        if idle && connection.client.simple_query("").is_err() {
                            continue;
                        }
                        break Ok(connection);
                    }
                    Err(error) => break Err(error),
                }
            };
            parking_lot::MutexGuard::unlock_fair(turn);
            connection
        });
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        Ok(connection.ok_or(StoreError::PoolWait)??)
    }

    fn pool(&self) -> &Pool<Manager> {
        self.pool.as_ref().expect("the pool is there until dropped")
    }
}

impl Drop for ConnectionPool {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let closing = std::thread::Builder::new()
                .name("postgres-close".to_owned())
                .spawn(move || drop(pool));
            if let Ok(closing) = closing {
                let _ = closing.join();
            }
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn open(url: &PostgresUrl) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(url, true)
    }

    /// Connects to a database whose schema must be there and up to date: an
    /// operator command never creates or upgrades one.
    pub fn open_existing(url: &PostgresUrl) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(url, false)
    }

    fn connect(url: &PostgresUrl, upgrade: bool) -> Result<PostgresStore, StoreError> {
        let (config, tls) = connection_config(url)?;
        tracing::debug!(mode = ?tls.mode, verification = ?tls.verification, "connecting to PostgreSQL");
        let tls = tls.connector;
        // One connection first, for a clear reason when the database cannot be
        // reached (the pool would retry until its wait is over, then say only
        // that it waited).
        config
            .connect(tls.clone())
            .map_err(|error| StoreError::Unreachable(with_causes(&error)))?;
        let manager = Manager(PostgresConnectionManager::new(config, tls));
        let size = std::thread::available_parallelism().map_or(8, |n| n.get() * 4);
        let pool = Pool::builder()
            .max_size(u32::try_from(size).unwrap_or(16))
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            .test_on_check_out(false)
            .build(manager)
            .map_err(|error| StoreError::Unreachable(error.to_string()))?;
        let pool = Arc::new(ConnectionPool::new(pool));
        let mut connection = pool.get()?;
        migrate(&mut connection.client, url, upgrade)?;
        let categories = crate::store::categories::load_categories(&mut PostgresConnection::unprepared(
            &mut connection.client,
        ))?;
        drop(connection);
        Ok(PostgresStore {
            pool,
            categories: Arc::new(RwLock::new(Arc::new(categories))),
            refreshing: Arc::default(),
        })
    }

    /// Every category, in display order, as this store read them (at open, after
    /// `Store::add_category`, at each `Store::reread_categories`).
    pub fn categories(&self) -> Arc<Categories> {
        Arc::clone(
            &self
                .categories
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Reads the table again with `read` and keeps it as this store's copy
    /// when it differs (this process or another, a server or an operator's
    /// `category add`, may have changed it); `true` when it did. One refresh at
    /// a time: each reads after the one before has, so the copy never goes back
    /// to an older table.
    pub(crate) fn refresh_categories(
        &self,
        read: impl FnOnce() -> Result<Categories, StoreError>,
    ) -> Result<bool, StoreError> {
        let _turn = self.refreshing.lock().unwrap_or_else(PoisonError::into_inner);
        let read = read()?;
        let mut copy = self.categories.write().unwrap_or_else(PoisonError::into_inner);
        let changed = **copy != read;
        if changed {
            *copy = Arc::new(read);
        }
        Ok(changed)
    }

    /// Runs reads on a pooled connection, each statement on its own (for a single
    /// query, or reads that need not agree with each other).
    pub(crate) fn read<T>(
        &self,
        work: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.pool.get()?;
        work(&mut connection.client)
    }

    /// A SERIALIZABLE transaction on the driver itself (retried as
    /// [`PostgresStore::layer_transaction`] is), for tests that look at the engine
    /// directly (a query plan).
    #[cfg(test)]
    pub(crate) fn write<T>(
        &self,
        mut work: impl FnMut(&mut Transaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.retried(IsolationLevel::Serializable, |tx, _| work(tx))
    }

    /// One statement run on its own (its own transaction, committed as it ends):
    /// the row locks it takes are released as soon as it has run, without waiting
    /// for another round trip. Run again on a deadlock or serialization failure.
    pub(crate) fn one_statement<T>(
        &self,
        mut work: impl FnMut(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.pool.get()?;
        let mut attempt = 1;
        loop {
            match work(&mut connection.client) {
                Err(error) if attempt < ATTEMPTS && error.is_retryable() => {
                    self.pool.retries.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    fn retried<T, E>(
        &self,
        isolation: IsolationLevel,
        mut work: impl FnMut(&mut Transaction, &mut Prepared) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError> + StoreFailure,
    {
        let mut connection = self.pool.get()?;
        let Connection { client, prepared, .. } = &mut *connection;
        let mut attempt = 1;
        loop {
            let outcome = run_once(client, prepared, isolation, &mut work);
            match outcome {
                Err(error)
                    if attempt < ATTEMPTS && error.store_error().is_some_and(StoreError::is_retryable) =>
                {
                    tracing::debug!(attempt, "transaction retried after a serialization failure");
                    self.pool.retries.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    // A short pause, growing to at most 40 ms and different for each
                    // loser, lets the transaction that won finish without the
                    // losers meeting again in step.
                    let longest = 2 * u64::from(attempt.min(20));
                    std::thread::sleep(Duration::from_millis(rand::random_range(1..=longest)));
                }
                outcome => return outcome,
            }
        }
    }

    /// Runs `work` on a pooled connection through the store's SQL layer, each
    /// statement on its own (see [`PostgresStore::read`]).
    pub(crate) fn layer_read<T>(
        &self,
        work: impl FnOnce(&mut dyn sql::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.pool.get()?;
        let Connection { client, prepared, .. } = &mut *connection;
        work(&mut PostgresConnection::new(client, prepared))
    }

    /// Runs reads that must see one moment of the database in one read-only
    /// REPEATABLE READ transaction, through the store's SQL layer.
    pub(crate) fn layer_read_consistent<T>(
        &self,
        work: impl FnOnce(&mut dyn sql::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.pool.get()?;
        let Connection { client, prepared, .. } = &mut *connection;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let answer = work(&mut PostgresConnection::new(&mut tx, prepared))?;
        tx.commit()?;
        Ok(answer)
    }

    /// Runs `work` in one SERIALIZABLE transaction through the store's SQL layer:
    /// committed when it returns `Ok`, rolled back (nothing written) when it
    /// returns `Err` or panics. When PostgreSQL refuses it (or its commit) as a
    /// serialization failure or a deadlock, it is run again from the start, up to
    /// [`ATTEMPTS`] times, so `work` must do nothing outside the transaction. `E`
    /// lets a use case refuse with its own reason (an exhausted code, no card).
    pub(crate) fn layer_transaction<T, E>(
        &self,
        mut work: impl FnMut(&mut dyn sql::Connection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError> + StoreFailure,
    {
        self.retried(IsolationLevel::Serializable, |tx, prepared| {
            work(&mut PostgresConnection::new(tx, prepared))
        })
    }

    /// Runs `work` in one READ COMMITTED transaction through the store's SQL
    /// layer, for hot single rows that a burst hits at once (a throttle counter, a
    /// session's expiry): each statement waits on the rows' locks and sees them as
    /// the last commit left them, so the burst queues instead of failing. `work`
    /// changes a row with one atomic statement, or locks it first
    /// (`SELECT … FOR UPDATE`), taking several rows' locks in one fixed order. Run
    /// again on a deadlock, as [`PostgresStore::layer_transaction`] is.
    pub(crate) fn layer_locking_transaction<T>(
        &self,
        mut work: impl FnMut(&mut dyn sql::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.retried(IsolationLevel::ReadCommitted, |tx, prepared| {
            work(&mut PostgresConnection::new(tx, prepared))
        })
    }

    /// The pool's connections now, and the retries so far.
    pub fn connection_stats(&self) -> ConnectionStats {
        let state = self.pool.pool().state();
        ConnectionStats {
            in_use: state.connections - state.idle_connections,
            idle: state.idle_connections,
            waiting: self.pool.waiting.load(Ordering::Relaxed),
            retries: self.pool.retries.load(Ordering::Relaxed),
        }
    }

    /// Whether the database answers a trivial query (for `/healthz`).
    pub fn is_healthy(&self) -> bool {
        self.read(|client| Ok(client.simple_query("SELECT 1")?)).is_ok()
    }

    /// A backup of a PostgreSQL store is PostgreSQL's own tool's job.
    pub fn backup_to(&self, _target: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::BackupWithPgDump)
    }
}

fn run_once<T, E>(
    client: &mut Client,
    prepared: &mut Prepared,
    isolation: IsolationLevel,
    work: &mut impl FnMut(&mut Transaction, &mut Prepared) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let mut tx = client
        .build_transaction()
        .isolation_level(isolation)
        .start()
        .map_err(StoreError::from)?;
    let answer = work(&mut tx, prepared)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(answer)
}

/// The connection settings and TLS a URL asks for. `sslmode` and `sslrootcert`
/// are libpq's, read here and taken out of the URL (the client's parser knows
/// neither `verify-ca`, `verify-full` nor `sslrootcert`); see [`tls`] for what each
/// mode does. In short: `disable`, `allow` or no `sslmode` connect without TLS
/// (TLS is not tried opportunistically); `prefer` uses TLS when the server offers
/// it; `require` insists on TLS but verifies the certificate only when
/// `sslrootcert` names a PEM file of roots; `verify-ca` verifies the chain
/// against those roots (or the Mozilla ones) and `verify-full` the host name too.
fn connection_config(url: &PostgresUrl) -> Result<(postgres::Config, tls::Tls), StoreError> {
    let (url_without_tls, mode, root_cert) = tls_parameters(url.expose())?;
    let mut config: postgres::Config = url_without_tls.parse().map_err(|error: postgres::Error| {
        // The parser's message names the part it could not read, never the value.
        StoreError::BadUrl(error.to_string())
    })?;
    // The URL's own connect_timeout and application_name win.
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("storecredit");
    }
    // A connection whose server has gone silent (a network lost, a host gone) is
    // given up on after this long without an acknowledgement, so the request
    // waiting on it answers 503 instead of waiting for the system's TCP timeout.
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(SILENT_SERVER);
    }
    let tls = tls::tls(mode, root_cert.as_deref())?;
    config.ssl_mode(tls.mode);
    Ok((config, tls))
}

/// The URL without its `sslmode` and `sslrootcert` (the scheme in lower case, as
/// the client's parser wants it), the mode, and the root file (percent-decoded).
/// The last of a repeated parameter wins.
fn tls_parameters(url: &str) -> Result<(String, Option<tls::SslMode>, Option<String>), StoreError> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut mode = None;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.into_iter().flat_map(|query| query.split('&')) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => match tls::SslMode::parse(value) {
                Some(parsed) => mode = Some(parsed),
                None => return Err(StoreError::BadUrl(format!("sslmode={value} is not a TLS mode"))),
            },
            Some(("sslrootcert", value)) => {
                let file = percent_encoding::percent_decode_str(value)
                    .decode_utf8()
                    .map_err(|_| StoreError::BadUrl("sslrootcert is not a UTF-8 file name".to_owned()))?;
                if file.is_empty() {
                    return Err(StoreError::BadUrl("sslrootcert names no file".to_owned()));
                }
                root_cert = Some(file.into_owned());
            }
            _ => kept.push(pair),
        }
    }
    // The client's parser knows the scheme in lower case only.
    let base = match base.split_once("://") {
        Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        None => base.to_owned(),
    };
    let url_without_tls = if kept.is_empty() {
        base
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url_without_tls, mode, root_cert))
}

/// The connection failed rather than the statement: it was closed (the server
/// restarted or the network went), the server is shutting down or starting
/// (SQLSTATE 57P01-57P03), or a connection exception (class 08).
pub(crate) fn is_connection_failure(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(code) => {
            let code = code.code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
        // No SQLSTATE: the socket itself failed.
        None => std::error::Error::source(error).is_some_and(|cause| cause.is::<std::io::Error>()),
    }
}

/// An error and its causes, on one line: the client's own message is only
/// "db error" or "error connecting to server".
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Brings the schema up to date (when `upgrade`), or checks that it is.
fn migrate(client: &mut Client, url: &PostgresUrl, upgrade: bool) -> Result<(), StoreError> {
    let latest = MIGRATIONS.len();
    let mut tx = client.transaction()?;
    if upgrade {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        if schema_version(&mut tx)?.is_none() {
            tx.batch_execute(
                "CREATE TABLE storecredit_migrations (
                     version     BIGINT PRIMARY KEY,
                     name        TEXT   NOT NULL,
                     applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
                 )",
            )?;
        }
    }
    let found = schema_version(&mut tx)?;
    let Some(found) = found else {
        return Err(StoreError::NoStore(url.to_string()));
    };
    if found > latest {
        return Err(StoreError::TooNew { found, latest });
    }
    if found < latest {
        if !upgrade {
            return Err(StoreError::Outdated { found, latest });
        }
        for (version, (name, sql)) in MIGRATIONS.iter().enumerate().skip(found) {
            tx.batch_execute(sql)?;
            let version = i64::try_from(version + 1).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO storecredit_migrations (version, name) VALUES ($1, $2)",
                &[&version, name],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// How many migrations the database has had; `None` when it has never been
/// a store (no migrations table).
fn schema_version(tx: &mut Transaction) -> Result<Option<usize>, StoreError> {
    let exists: bool = tx
        .query_one("SELECT to_regclass('storecredit_migrations') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let version: i64 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM storecredit_migrations",
            &[],
        )?
        .get(0);
    Ok(Some(usize::try_from(version).unwrap_or(0)))
}

/// Seconds since the Unix epoch: how instants are stored.
pub(crate) fn unix(instant: OffsetDateTime) -> i64 {
    instant.unix_timestamp()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::tls::{SslMode, Verification};
    use super::{connection_config, tls_parameters, with_causes};
    use crate::store::StoreError;
    use crate::store::location::{DatabaseLocation, PostgresUrl};
    use crate::store::test_postgres::test_database;

    /// Debian's self-signed certificate, which its PostgreSQL serves with `ssl=on`.
    const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

    /// A public root (ISRG Root X2) that signed no local server's certificate.
    const UNRELATED_ROOT: &str = "-----BEGIN CERTIFICATE-----
MIICGzCCAaGgAwIBAgIQQdKd0XLq7qeAwSxs6S+HUjAKBggqhkjOPQQDAzBPMQsw
CQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJuZXQgU2VjdXJpdHkgUmVzZWFyY2gg
R3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBYMjAeFw0yMDA5MDQwMDAwMDBaFw00
MDA5MTcxNjAwMDBaME8xCzAJBgNVBAYTAlVTMSkwJwYDVQQKEyBJbnRlcm5ldCBT
ZWN1cml0eSBSZXNlYXJjaCBHcm91cDEVMBMGA1UEAxMMSVNSRyBSb290IFgyMHYw
EAYHKoZIzj0CAQYFK4EEACIDYgAEzZvVn4CDCuwJSvMWSj5cz3es3mcFDR0HttwW
+1qLFNvicWDEukWVEYmO6gbf9yoWHKS5xcUy4APgHoIYOIvXRdgKam7mAHf7AlF9
ItgKbppbd9/w+kHsOdx1ymgHDB/qo0IwQDAOBgNVHQ8BAf8EBAMCAQYwDwYDVR0T
AQH/BAUwAwEB/zAdBgNVHQ4EFgQUfEKWrt5LSDv6kviejM9ti6lyN5UwCgYIKoZI
zj0EAwMDaAAwZQIwe3lORlCEwkSHRhtFcP9Ymd70/aTSVaYgLXTWNLxBo1BfASdW
tL4ndQavEi51mI38AjEAi/V3bNTIZargCyzuFJ0nN6T5U6VR5CmD1/iQMVtCnwr1
/q4AaOeMSQ+2b1tbFfLn
-----END CERTIFICATE-----
";

    fn url(text: &str) -> PostgresUrl {
        match DatabaseLocation::parse(Path::new(text)) {
            Ok(DatabaseLocation::Postgres(url)) => url,
            _ => panic!("not a postgres:// URL: {text}"),
        }
    }

    /// `base` with `parameters` added to its query.
    fn with_parameters(base: &str, parameters: &str) -> String {
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}{parameters}")
    }

    /// The snakeoil certificate's path, or `None` (saying so) when it is absent.
    fn snakeoil(test: &str) -> Option<&'static str> {
        if Path::new(SNAKEOIL).is_file() {
            Some(SNAKEOIL)
        } else {
            eprintln!("note: {test} skipped: no {SNAKEOIL} (Debian's self-signed certificate)");
            None
        }
    }

    /// Connects with the engine's settings for `text`; whether the session is
    /// encrypted, or why it could not connect.
    fn encrypted(text: &str) -> Result<bool, String> {
        let (config, tls) = connection_config(&url(text)).map_err(|error| error.to_string())?;
        let mut client = config
            .connect(tls.connector)
            .map_err(|error| with_causes(&error))?;
        let row = client
            .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
            .map_err(|error| with_causes(&error))?;
        Ok(row.get(0))
    }

    #[test]
    fn every_sslmode_is_read_as_libpq_describes_it() {
        use postgres::config::SslMode as Client;
        let cases = [
            ("", Client::Disable),
            ("?sslmode=disable", Client::Disable),
            ("?sslmode=allow", Client::Disable),
            ("?sslmode=prefer", Client::Prefer),
            ("?sslmode=require", Client::Require),
            ("?sslmode=verify-ca", Client::Require),
            ("?sslmode=verify-full", Client::Require),
            ("?sslrootcert=system", Client::Require),
            ("?sslmode=verify-full&sslrootcert=system", Client::Require),
        ];
        for (query, expected) in cases {
            let (config, tls) =
                connection_config(&url(&format!("postgres://u:secret@db.example/shop{query}")))
                    .unwrap_or_else(|error| panic!("{query}: {error}"));
            assert_eq!(config.get_ssl_mode(), expected, "{query}");
            assert_eq!(tls.mode, expected, "{query}");
        }
        let verification = |query: &str| {
            connection_config(&url(&format!("postgres://u:secret@db.example/shop?{query}")))
                .map(|(_, tls)| tls.verification)
                .unwrap_or_else(|error| panic!("{query}: {error}"))
        };
        assert_eq!(verification("sslmode=prefer"), Verification::Nothing);
        assert_eq!(verification("sslmode=require"), Verification::Nothing);
        assert_eq!(verification("sslmode=verify-ca"), Verification::Chain);
        assert_eq!(verification("sslmode=verify-full"), Verification::ChainAndName);
        assert_eq!(verification("sslrootcert=system"), Verification::ChainAndName);
        if let Some(root) = snakeoil("every_sslmode_is_read_as_libpq_describes_it (sslrootcert)") {
            // With a root file, require verifies as verify-ca does.
            assert_eq!(
                verification(&format!("sslmode=require&sslrootcert={root}")),
                Verification::Chain
            );
            assert_eq!(
                verification(&format!("sslmode=prefer&sslrootcert={root}")),
                Verification::Chain
            );
            assert_eq!(
                verification(&format!("sslmode=verify-ca&sslrootcert={root}")),
                Verification::Chain
            );
            assert_eq!(
                verification(&format!("sslmode=verify-full&sslrootcert={root}")),
                Verification::ChainAndName
            );
        }
    }

    #[test]
    fn unknown_or_weak_modes_are_refused() {
        for query in [
            "sslmode=verify_full",
            "sslmode=REQUIRE",
            "sslmode=require&sslrootcert=system",
        ] {
            let refused = connection_config(&url(&format!("postgres://u:secret@db.example/shop?{query}")));
            let Err(StoreError::BadUrl(reason)) = refused else {
                panic!("{query} was not refused as a bad URL");
            };
            assert!(reason.contains("sslmode="), "{query}: {reason}");
            assert!(!reason.contains("secret"), "{query}: {reason}");
        }
    }

    #[test]
    fn a_silent_server_is_given_up_on_after_ten_seconds_unless_the_url_says_otherwise() {
        let (config, _) = connection_config(&url("postgres://u:p@db.example/shop")).unwrap();
        assert_eq!(
            config.get_tcp_user_timeout(),
            Some(&std::time::Duration::from_secs(10))
        );
        assert_eq!(
            config.get_connect_timeout(),
            Some(&std::time::Duration::from_secs(5))
        );
        let (config, _) = connection_config(&url(
            "postgres://u:p@db.example/shop?tcp_user_timeout=3&connect_timeout=2",
        ))
        .unwrap();
        assert_eq!(
            config.get_tcp_user_timeout(),
            Some(&std::time::Duration::from_secs(3))
        );
        assert_eq!(
            config.get_connect_timeout(),
            Some(&std::time::Duration::from_secs(2))
        );
    }

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_the_url() {
        let (rest, mode, root) = tls_parameters(
            "PostgreSQL://u:secret@db.example:5433/shop?sslmode=verify-ca&application_name=x&sslrootcert=%2Fsome%20dir%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgresql://u:secret@db.example:5433/shop?application_name=x&connect_timeout=3"
        );
        assert_eq!(mode, Some(SslMode::VerifyCa));
        assert_eq!(root.as_deref(), Some("/some dir/ca.pem"));

        let (rest, mode, root) =
            tls_parameters("postgres://u@db/shop?sslrootcert=a.pem&sslmode=require").unwrap();
        assert_eq!(rest, "postgres://u@db/shop");
        assert_eq!(mode, Some(SslMode::Require));
        assert_eq!(root.as_deref(), Some("a.pem"));

        assert_eq!(
            tls_parameters("postgres://u@db/shop").unwrap(),
            ("postgres://u@db/shop".to_owned(), None, None)
        );
        assert!(matches!(
            tls_parameters("postgres://u@db/shop?sslrootcert="),
            Err(StoreError::BadUrl(_))
        ));

        // The client's parser, which knows no sslrootcert, takes what is left.
        if let Some(root) = snakeoil("sslmode_and_sslrootcert_are_taken_out_of_the_url (parsing)") {
            let (config, _) = connection_config(&url(&format!(
                "postgres://u:secret@db.example/shop?sslmode=verify-ca&sslrootcert={root}&application_name=x"
            )))
            .unwrap();
            assert_eq!(config.get_dbname(), Some("shop"));
            assert_eq!(config.get_application_name(), Some("x"));
        }
    }

    #[test]
    fn a_missing_or_useless_root_file_is_named_without_the_password() {
        let folder = tempfile::tempdir().unwrap();
        let missing = folder.path().join("no-such-ca.pem");
        let empty = folder.path().join("empty.pem");
        std::fs::write(&empty, "no certificate in here\n").unwrap();
        for (file, expected) in [(&missing, "cannot be read"), (&empty, "holds no PEM certificate")] {
            let file = file.to_str().unwrap();
            for mode in ["require", "verify-ca", "verify-full"] {
                let refused = connection_config(&url(&format!(
                    "postgres://shop:hunter2@db.example/shop?sslmode={mode}&sslrootcert={file}"
                )));
                let Err(error @ StoreError::BadUrl(_)) = refused else {
                    panic!("{mode} with {file} was not refused as a bad URL");
                };
                let message = error.to_string();
                assert!(message.contains(file), "{message}");
                assert!(message.contains(expected), "{message}");
                assert!(!message.contains("hunter2"), "{message}");
            }
        }
        // Without TLS the file is not read, as with libpq.
        assert!(
            connection_config(&url(&format!(
                "postgres://shop:hunter2@db.example/shop?sslmode=disable&sslrootcert={}",
                missing.display()
            )))
            .is_ok()
        );
    }

    #[test]
    fn require_and_prefer_encrypt_without_verifying() {
        let Some(database) = test_database() else { return };
        let base = database.url();
        let mut plain = postgres::Client::connect(base, postgres::NoTls).unwrap();
        let ssl: String = plain.query_one("SHOW ssl", &[]).unwrap().get(0);
        if ssl != "on" {
            eprintln!("note: require_and_prefer_encrypt_without_verifying skipped: the server offers no TLS");
            return;
        }
        assert_eq!(encrypted(&with_parameters(base, "sslmode=require")), Ok(true));
        assert_eq!(encrypted(&with_parameters(base, "sslmode=prefer")), Ok(true));
        assert_eq!(encrypted(&with_parameters(base, "sslmode=disable")), Ok(false));
        // The pool, the migrations and a read, all over TLS.
        let store = super::PostgresStore::open(&url(&with_parameters(base, "sslmode=require"))).unwrap();
        let ssl: bool = store
            .read(|client| {
                Ok(client
                    .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])?
                    .get(0))
            })
            .unwrap();
        assert!(ssl);
    }

    #[test]
    fn a_private_root_is_trusted_when_named() {
        let Some(database) = test_database() else { return };
        let Some(root) = snakeoil("a_private_root_is_trusted_when_named") else {
            return;
        };
        let base = database.url();
        for mode in ["verify-ca", "require", "verify-full"] {
            assert_eq!(
                encrypted(&with_parameters(
                    base,
                    &format!("sslmode={mode}&sslrootcert={root}")
                )),
                Ok(true),
                "{mode}"
            );
        }
        // The snakeoil certificate names localhost only: by address, verify-ca
        // still connects, verify-full does not.
        if base.contains("@localhost/") || base.contains("@localhost:") {
            let by_address = base.replacen("@localhost", "@127.0.0.1", 1);
            assert_eq!(
                encrypted(&with_parameters(
                    &by_address,
                    &format!("sslmode=verify-ca&sslrootcert={root}")
                )),
                Ok(true)
            );
            let refused = encrypted(&with_parameters(
                &by_address,
                &format!("sslmode=verify-full&sslrootcert={root}"),
            ))
            .unwrap_err();
            assert!(refused.contains("not valid for name"), "{refused}");
        } else {
            eprintln!(
                "note: the host-name half of a_private_root_is_trusted_when_named skipped: the server is not @localhost"
            );
        }
    }

    #[test]
    fn an_untrusted_certificate_is_refused() {
        let Some(database) = test_database() else { return };
        if snakeoil("an_untrusted_certificate_is_refused").is_none() {
            return;
        }
        let base = database.url();
        for mode in ["verify-full", "verify-ca"] {
            let refused = encrypted(&with_parameters(base, &format!("sslmode={mode}"))).unwrap_err();
            assert!(refused.contains("UnknownIssuer"), "{mode}: {refused}");
        }
        // A root file makes require verify: one that did not sign the server's
        // certificate is refused.
        let folder = tempfile::tempdir().unwrap();
        let unrelated = folder.path().join("unrelated.pem");
        std::fs::write(&unrelated, UNRELATED_ROOT).unwrap();
        let refused = encrypted(&with_parameters(
            base,
            &format!("sslmode=require&sslrootcert={}", unrelated.display()),
        ))
        .unwrap_err();
        assert!(refused.contains("UnknownIssuer"), "{refused}");
    }
}
