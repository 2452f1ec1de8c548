//! For the store's own tests: a fresh store on each engine, so that one test
//! proves one behaviour on both. SQLite always; PostgreSQL on the server
//! `STORECREDIT_TEST_POSTGRES` names (skipped, saying so, without one).

use time::OffsetDateTime;

use super::Store;
use super::location::DatabaseLocation;
use super::test_postgres::{TestDatabase, test_database};
use crate::domain::{Actor, DisplayName, Email, UserId};

/// A store made for one test, and what keeps its database alive.
pub(crate) struct TestStore {
    pub store: Store,
    /// Where it is, for tests that open it again (as another server would).
    pub location: DatabaseLocation,
    _database: TestDatabaseGuard,
}

enum TestDatabaseGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] TestDatabase),
}

/// A fresh SQLite store, and a fresh PostgreSQL one when a server is configured.
pub(crate) fn each_engine() -> Vec<TestStore> {
    let mut stores = vec![sqlite_store()];
    if let Some(database) = test_database() {
        let location = database.location();
        let store = Store::open_location(&location).expect("a fresh PostgreSQL store");
        stores.push(TestStore {
            store,
            location,
            _database: TestDatabaseGuard::Postgres(database),
        });
    }
    stores
}

impl TestStore {
    /// Another store on the same database, as another process would open it.
    pub fn another_process(&self) -> Store {
        match &self._database {
            TestDatabaseGuard::Sqlite(folder) => Store::open(&folder.path().join("test.db")),
            TestDatabaseGuard::Postgres(database) => Store::open_location(&database.location()),
        }
        .expect("the same store again")
    }
}

/// A fresh SQLite store on a file in a temporary folder.
pub(crate) fn sqlite_store() -> TestStore {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let path = folder.path().join("test.db");
    let store = Store::open(&path).expect("a fresh database");
    TestStore {
        store,
        location: DatabaseLocation::File(path),
        _database: TestDatabaseGuard::Sqlite(folder),
    }
}

/// A new account for `email`, named "Ann", with `password_hash` as its hash.
pub(crate) fn new_account(store: &Store, email: &str, password_hash: &str, now: OffsetDateTime) -> UserId {
    store
        .create_user(
            &Email::parse(email).expect("a valid e-mail"),
            &DisplayName::parse("Ann").expect("a valid name"),
            password_hash,
            now,
        )
        .expect("a new account")
}

/// The operator the store's own tests act as.
pub(crate) fn tester() -> Actor {
    Actor::Command {
        user: "tester".to_owned(),
    }
}
