//! A fresh database for each test on the engine its suite runs on, and the few
//! looks behind the store's back a test needs (a row no use case shows, a pot
//! tampered with), written once for both engines.
//!
//! Each suite is built twice: its own binary runs on the embedded SQLite file, its
//! `_postgres` twin runs the same test files on PostgreSQL, on the server that
//! `STORECREDIT_TEST_POSTGRES` names (see `storecredit::store::test_postgres`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

use storecredit::config::DatabaseLocation;
use storecredit::store::Store;
use storecredit::store::test_postgres::{self, TestDatabase};

/// The engine a test binary runs its suite on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A new, empty database for one test, and a folder of the test's own (for the
/// SQLite file, mail, backups). Dropped with the test: the folder is removed, a
/// PostgreSQL database dropped.
pub struct FreshDatabase {
    location: DatabaseLocation,
    folder: tempfile::TempDir,
    postgres: Option<TestDatabase>,
}

impl FreshDatabase {
    /// A database on `engine`; `None` (after a one-line notice) when that is
    /// PostgreSQL and no server is configured, so the test skips.
    pub fn new(engine: Engine) -> Option<FreshDatabase> {
        let folder = tempfile::tempdir().expect("a temporary folder");
        match engine {
            Engine::Sqlite => Some(FreshDatabase {
                location: DatabaseLocation::File(folder.path().join("storecredit.db")),
                folder,
                postgres: None,
            }),
            Engine::Postgres => {
                let Some(database) = off_the_runtime(test_postgres::test_database) else {
                    skipped_notice();
                    return None;
                };
                Some(FreshDatabase {
                    location: database.location(),
                    folder,
                    postgres: Some(database),
                })
            }
        }
    }

    pub fn location(&self) -> &DatabaseLocation {
        &self.location
    }

    /// The database as `--database` and `STORECREDIT_DATABASE` take it: the file's
    /// path or the URL.
    pub fn arg(&self) -> String {
        argument(&self.location)
    }

    /// A folder of the test's own, removed after it.
    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    /// The store on this database, created and migrated as a server start would.
    /// Not on an async test's thread: see [`off_the_runtime`].
    pub fn open(&self) -> Store {
        Store::open_location(&self.location).expect("the database opens")
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Some(database) = self.postgres.take() {
            off_the_runtime(move || drop(database));
        }
    }
}

/// The test harness's notice, past libtest's output capture, once per binary.
fn skipped_notice() {
    static NOTICE: Once = Once::new();
    NOTICE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "skipping the tests on PostgreSQL: set {}=postgres://user:password@localhost/postgres \
             (a role that may create databases) to run them",
            test_postgres::SERVER_VARIABLE
        );
    });
}

/// `location` as `--database` takes it.
pub fn argument(location: &DatabaseLocation) -> String {
    match location {
        DatabaseLocation::File(path) => path.to_str().expect("a UTF-8 temporary path").to_owned(),
        DatabaseLocation::Postgres(url) => url.expose().to_owned(),
    }
}

/// Runs `work` on a thread of its own and waits for it. The PostgreSQL client
/// (the store's and these helpers') blocks on a runtime of its own, which it
/// cannot do on a thread already driving one: an async test makes its store
/// calls through here.
pub fn off_the_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(work)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Runs `sql` (the same text on both engines) behind the store's back, as
/// someone with the database's password could.
pub fn execute_sql(location: &DatabaseLocation, sql: &str) {
    off_the_runtime(|| match location {
        DatabaseLocation::File(path) => {
            rusqlite::Connection::open(path)
                .and_then(|connection| connection.execute_batch(sql))
                .unwrap_or_else(|error| panic!("{sql}: {error}"));
        }
        DatabaseLocation::Postgres(url) => {
            postgres_client(url.expose())
                .batch_execute(sql)
                .unwrap_or_else(|error| panic!("{sql}: {error}"));
        }
    })
}

/// The rows `sql` (the same text on both engines) selects, each value as text
/// (`NULL` for a null). Integers and text only: cast anything else in the query.
pub fn sql_rows(location: &DatabaseLocation, sql: &str) -> Vec<Vec<String>> {
    off_the_runtime(|| match location {
        DatabaseLocation::File(path) => sqlite_rows(path, sql),
        DatabaseLocation::Postgres(url) => postgres_rows(url.expose(), sql),
    })
}

fn sqlite_rows(path: &Path, sql: &str) -> Vec<Vec<String>> {
    use rusqlite::types::ValueRef;

    let connection = rusqlite::Connection::open(path).expect("the SQLite file opens");
    let mut statement = connection
        .prepare(sql)
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|column| {
                    Ok(match row.get_ref(column)? {
                        ValueRef::Null => "NULL".to_owned(),
                        ValueRef::Integer(value) => value.to_string(),
                        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                        other => panic!("{sql}: cast column {column} ({other:?}) to text or an integer"),
                    })
                })
                .collect()
        })
        .and_then(|rows| rows.collect())
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

fn postgres_rows(url: &str, sql: &str) -> Vec<Vec<String>> {
    use postgres::types::Type;

    let rows = postgres_client(url)
        .query(sql, &[])
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|column| {
                    let shown = match row.columns()[column].type_() {
                        &Type::INT8 => row.get::<_, Option<i64>>(column).map(|value| value.to_string()),
                        &Type::INT4 => row.get::<_, Option<i32>>(column).map(|value| value.to_string()),
                        &Type::INT2 => row.get::<_, Option<i16>>(column).map(|value| value.to_string()),
                        &Type::TEXT | &Type::VARCHAR | &Type::NAME => row.get::<_, Option<String>>(column),
                        other => panic!("{sql}: cast column {column} ({other}) to text or an integer"),
                    };
                    shown.unwrap_or_else(|| "NULL".to_owned())
                })
                .collect()
        })
        .collect()
}

/// Everything the database holds, as bytes to search for what must never be
/// stored: the SQLite file with its write-ahead log; on PostgreSQL, every row of
/// every table as text.
pub fn everything_stored(location: &DatabaseLocation) -> Vec<u8> {
    off_the_runtime(|| match location {
        DatabaseLocation::File(path) => {
            let mut bytes = std::fs::read(path).expect("the SQLite file");
            let mut log = path.as_os_str().to_owned();
            log.push("-wal");
            bytes.extend(std::fs::read(PathBuf::from(log)).unwrap_or_default());
            bytes
        }
        DatabaseLocation::Postgres(url) => {
            let mut client = postgres_client(url.expose());
            let tables = client
                .query(
                    "SELECT quote_ident(table_name) FROM information_schema.tables
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                    &[],
                )
                .expect("the tables");
            let mut bytes = Vec::new();
            for table in tables {
                let table: String = table.get(0);
                for row in client
                    .query(&format!("SELECT t::text FROM {table} t"), &[])
                    .expect("a table's rows")
                {
                    bytes.extend(row.get::<_, String>(0).into_bytes());
                    bytes.push(b'\n');
                }
            }
            bytes
        }
    })
}

/// The schema version the store's migrations have brought the database to.
pub fn schema_version(location: &DatabaseLocation) -> i64 {
    let query = match location {
        DatabaseLocation::File(_) => "PRAGMA user_version",
        DatabaseLocation::Postgres(_) => "SELECT COALESCE(max(version), 0) FROM storecredit_migrations",
    };
    sql_rows(location, query)[0][0].parse().expect("a version number")
}

/// Takes the database back to schema `version`, as an earlier release left it
/// (only its record of the migrations: the tables stay as they are).
pub fn set_schema_version(location: &DatabaseLocation, version: i64) {
    match location {
        DatabaseLocation::File(_) => execute_sql(location, &format!("PRAGMA user_version = {version}")),
        DatabaseLocation::Postgres(_) => execute_sql(
            location,
            &format!("DELETE FROM storecredit_migrations WHERE version > {version}"),
        ),
    }
    assert_eq!(
        schema_version(location),
        version,
        "only back to an earlier version"
    );
}

fn postgres_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|error| panic!("cannot connect to the test database: {error}"))
}
