//! For tests only: a fresh PostgreSQL database per test on the server that
//! `STORECREDIT_TEST_POSTGRES` names (a URL whose role may create databases),
//! dropped when the test ends. Without the variable a test on PostgreSQL skips,
//! saying so once, unless `STORECREDIT_POSTGRES_TESTS=required` (as CI sets it),
//! where a missing server fails the test.

use std::sync::Once;

use rand::distr::{Alphanumeric, SampleString};

use crate::store::location::{DatabaseLocation, PostgresUrl};

/// The variable naming the server tests may create databases on.
pub const SERVER_VARIABLE: &str = "STORECREDIT_TEST_POSTGRES";

/// A database made for one test; dropped (with any connection still open to it)
/// when this is dropped.
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// The new database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the new database is, as `--database` takes it.
    pub fn location(&self) -> DatabaseLocation {
        match DatabaseLocation::parse(std::path::Path::new(&self.url)) {
            Ok(location) => location,
            Err(error) => panic!("{SERVER_VARIABLE} is not a postgres:// URL: {error}"),
        }
    }

    /// The new database's URL, as the engine takes it.
    pub fn postgres_url(&self) -> PostgresUrl {
        match self.location() {
            DatabaseLocation::Postgres(url) => url,
            DatabaseLocation::File(_) => panic!("{SERVER_VARIABLE} is not a postgres:// URL"),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A new, empty database for one test, or `None` (after a notice) when no server
/// is configured and PostgreSQL tests are not required.
pub fn test_database() -> Option<TestDatabase> {
    let Some(server) = std::env::var(SERVER_VARIABLE).ok().filter(|url| !url.is_empty()) else {
        let required = std::env::var("STORECREDIT_POSTGRES_TESTS").is_ok_and(|value| value == "required");
        assert!(
            !required,
            "STORECREDIT_POSTGRES_TESTS=required but {SERVER_VARIABLE} names no PostgreSQL server"
        );
        static NOTICE: Once = Once::new();
        NOTICE.call_once(|| {
            eprintln!(
                "note: tests on PostgreSQL skipped; set {SERVER_VARIABLE}=postgres://user:password@localhost/postgres to run them"
            );
        });
        return None;
    };
    let name = format!(
        "storecredit_test_{}",
        Alphanumeric
            .sample_string(&mut rand::rng(), 12)
            .to_ascii_lowercase()
    );
    let mut client = postgres::Client::connect(&server, postgres::NoTls).unwrap_or_else(|error| {
        panic!("cannot reach the PostgreSQL server {SERVER_VARIABLE} names: {error}")
    });
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|error| panic!("cannot create a test database: {error}"));
    let url = with_database_name(&server, &name);
    Some(TestDatabase { server, name, url })
}

/// `server` (a URL) with its database name replaced by `name`.
fn with_database_name(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest.split_once('/').map_or(rest, |(authority, _)| authority);
    format!("{scheme}://{authority}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn a_test_database_url_keeps_the_server_and_its_parameters() {
        assert_eq!(
            with_database_name("postgres://u:p@localhost:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@localhost:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database_name("postgres://u@db", "t2"), "postgres://u@db/t2");
    }
}
