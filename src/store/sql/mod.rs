//! The store's own small SQL layer, on which each use case is written once for
//! both engines: statements written with `$N` parameters ([`sql!`]), parameters
//! and columns both drivers take ([`Param`], [`Column`]), and a [`Connection`]
//! with a SQLite and a PostgreSQL implementation.
//!
//! A statement is PostgreSQL's spelling; SQLite's is made from it at compile time
//! by writing each `$N` as `?N`. Both engines then bind parameter N to the Nth
//! value given, wherever it appears (SQLite would number `$N` by first
//! appearance, so `SET a = $2 WHERE k = $1` would bind swapped: `?N` it numbers
//! as written). Integers are `i64` (every integer column is BIGINT on
//! PostgreSQL), instants are seconds since the epoch ([`unix`], [`instant`]).

mod postgres;
mod sqlite;

use time::OffsetDateTime;

pub(crate) use self::postgres::{PostgresConnection, Prepared};
pub(crate) use self::sqlite::SqliteConnection;
use super::StoreError;

/// One SQL statement: its text for PostgreSQL (`$N` parameters) and for SQLite
/// (`?N`). Made by [`sql!`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sql {
    postgres: &'static str,
    sqlite: &'static str,
}

impl Sql {
    #[doc(hidden)]
    pub(crate) const fn new(postgres: &'static str, sqlite: &'static str) -> Sql {
        Sql { postgres, sqlite }
    }

    pub(crate) fn postgres(&self) -> &'static str {
        self.postgres
    }

    pub(crate) fn sqlite(&self) -> &'static str {
        self.sqlite
    }
}

/// A statement written once, with `$1`, `$2`… parameters, as a `&'static Sql`.
/// The text must be a constant (`concat!` of literals works); a `?` outside a
/// quoted string, or parameters that skip a number, fail the build.
///
/// Where the engines truly need different words (PostgreSQL's `FOR UPDATE SKIP
/// LOCKED`, which SQLite's one writer does not need), `sql!(postgres: "…",
/// sqlite: "…")` gives each its own text, both with `$N` parameters.
macro_rules! sql {
    (postgres: $postgres:expr, sqlite: $sqlite:expr $(,)?) => {{
        const POSTGRES: &str = $postgres;
        const SQLITE_TEXT: &str = $sqlite;
        const SQLITE_BYTES: [u8; SQLITE_TEXT.len()] = $crate::store::sql::sqlite_spelling(SQLITE_TEXT);
        const STATEMENT: $crate::store::sql::Sql = $crate::store::sql::Sql::new(POSTGRES, {
            match ::core::str::from_utf8(&SQLITE_BYTES) {
                Ok(text) => text,
                Err(_) => panic!("a statement is not UTF-8"),
            }
        });
        #[cfg(test)]
        #[::linkme::distributed_slice($crate::store::sql::STATEMENTS)]
        #[linkme(crate = ::linkme)]
        static REGISTERED: &$crate::store::sql::Sql = &STATEMENT;
        &STATEMENT
    }};
    ($text:expr $(,)?) => {{
        const POSTGRES: &str = $text;
        const SQLITE_BYTES: [u8; POSTGRES.len()] = $crate::store::sql::sqlite_spelling(POSTGRES);
        const STATEMENT: $crate::store::sql::Sql = $crate::store::sql::Sql::new(POSTGRES, {
            match ::core::str::from_utf8(&SQLITE_BYTES) {
                Ok(text) => text,
                Err(_) => panic!("a statement is not UTF-8"),
            }
        });
        #[cfg(test)]
        #[::linkme::distributed_slice($crate::store::sql::STATEMENTS)]
        #[linkme(crate = ::linkme)]
        static REGISTERED: &$crate::store::sql::Sql = &STATEMENT;
        &STATEMENT
    }};
}
pub(crate) use sql;

/// Every statement made by [`sql!`] in the crate, for the test that prepares
/// each one on both engines.
#[cfg(test)]
#[linkme::distributed_slice]
pub(crate) static STATEMENTS: [&'static Sql];

/// SQLite's spelling of a statement: each `$N` outside a quoted string or
/// identifier becomes `?N`, the same length. Panics (at compile time, in
/// [`sql!`]) on a `?` parameter or parameters that skip a number.
#[doc(hidden)]
pub(crate) const fn sqlite_spelling<const N: usize>(postgres: &str) -> [u8; N] {
    let text = postgres.as_bytes();
    assert!(text.len() == N);
    let mut spelled = [0u8; N];
    // Bit n set: `$n+1` appears.
    let mut used: u64 = 0;
    let mut quote: u8 = 0;
    let mut i = 0;
    while i < N {
        let byte = text[i];
        spelled[i] = byte;
        if quote != 0 {
            if byte == quote {
                quote = 0;
            }
        } else if byte == b'\'' || byte == b'"' {
            quote = byte;
        } else if byte == b'?' {
            panic!("write parameters as $N, not ?");
        } else if byte == b'$' && i + 1 < N && text[i + 1].is_ascii_digit() {
            spelled[i] = b'?';
            let mut number: u32 = 0;
            let mut j = i + 1;
            while j < N && text[j].is_ascii_digit() {
                number = number * 10 + (text[j] - b'0') as u32;
                j += 1;
            }
            assert!(number >= 1 && number <= 64, "parameters are $1 to $64");
            used |= 1 << (number - 1);
        }
        i += 1;
    }
    assert!(quote == 0, "a quote is not closed");
    // The numbers used are 1 to the highest, none skipped (PostgreSQL could not
    // tell a skipped one's type).
    assert!(used & (used.wrapping_add(1)) == 0, "parameters skip a number");
    spelled
}

/// A value bound to a parameter: what both drivers can bind (`i64`, `&str`,
/// `String`, `bool`, `Vec<u8>`/`&[u8]`, and `Option`s of them).
pub(crate) trait Param: rusqlite::ToSql + ::postgres::types::ToSql + Sync {
    fn as_sqlite(&self) -> &dyn rusqlite::ToSql;
    fn as_postgres(&self) -> &(dyn ::postgres::types::ToSql + Sync);
}

impl<T: rusqlite::ToSql + ::postgres::types::ToSql + Sync> Param for T {
    fn as_sqlite(&self) -> &dyn rusqlite::ToSql {
        self
    }

    fn as_postgres(&self) -> &(dyn ::postgres::types::ToSql + Sync) {
        self
    }
}

/// A value read from a column: what both drivers can read (as [`Param`]).
pub(crate) trait Column: rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a> {}

impl<T: rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a>> Column for T {}

/// One row of an answer, from either engine.
pub(crate) enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a ::postgres::Row),
}

impl Row<'_> {
    /// Column `index` (from 0).
    pub(crate) fn get<T: Column>(&self, index: usize) -> Result<T, StoreError> {
        match self {
            Row::Sqlite(row) => Ok(row.get(index)?),
            Row::Postgres(row) => Ok(row.try_get(index)?),
        }
    }

    /// Column `index` as text, borrowed from the row (no copy).
    pub(crate) fn text(&self, index: usize) -> Result<&str, StoreError> {
        match self {
            Row::Sqlite(row) => Ok(row.get_ref(index)?.as_str().map_err(|error| {
                rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, error.into())
            })?),
            Row::Postgres(row) => Ok(row.try_get(index)?),
        }
    }

    /// Column `index` as an instant (seconds since the epoch).
    pub(crate) fn instant(&self, index: usize) -> Result<OffsetDateTime, StoreError> {
        instant(self.get(index)?)
    }

    /// Column `index` as an instant, or `None` for NULL.
    pub(crate) fn optional_instant(&self, index: usize) -> Result<Option<OffsetDateTime>, StoreError> {
        self.get::<Option<i64>>(index)?.map(instant).transpose()
    }
}

/// A connection of either engine, in whatever access mode the use case was
/// given (see `Store::read`, `Store::write`…). Statements are prepared once per
/// connection and kept.
pub(crate) trait Connection {
    /// Runs a statement that returns no rows; how many rows it changed.
    fn execute(&mut self, sql: &Sql, params: &[&dyn Param]) -> Result<u64, StoreError>;

    /// Runs a query, handing each row to `each` as it comes.
    fn for_each_row(
        &mut self,
        sql: &Sql,
        params: &[&dyn Param],
        each: &mut dyn FnMut(&Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Prepares a statement (and keeps it), running nothing.
    #[cfg(test)]
    fn prepare(&mut self, sql: &Sql) -> Result<(), StoreError>;
}

impl dyn Connection + '_ {
    /// Every row, each made into a `T` by `map`.
    pub(crate) fn query<T>(
        &mut self,
        sql: &Sql,
        params: &[&dyn Param],
        mut map: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut rows = Vec::new();
        self.for_each_row(sql, params, &mut |row| {
            rows.push(map(row)?);
            Ok(())
        })?;
        Ok(rows)
    }

    /// The first row, if any, made into a `T` by `map`.
    pub(crate) fn query_opt<T>(
        &mut self,
        sql: &Sql,
        params: &[&dyn Param],
        map: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut map = Some(map);
        let mut first = None;
        self.for_each_row(sql, params, &mut |row| {
            if let Some(map) = map.take() {
                first = Some(map(row)?);
            }
            Ok(())
        })?;
        Ok(first)
    }

    /// The first row, which must be there (an aggregate, an `EXISTS`, a
    /// `RETURNING` that always returns).
    pub(crate) fn query_one<T>(
        &mut self,
        sql: &Sql,
        params: &[&dyn Param],
        map: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.query_opt(sql, params, map)?
            .ok_or_else(|| StoreError::Corrupt(format!("no row from {}", sql.postgres())))
    }

    /// The first column of the one row a query must return.
    pub(crate) fn query_value<T: Column>(
        &mut self,
        sql: &Sql,
        params: &[&dyn Param],
    ) -> Result<T, StoreError> {
        self.query_one(sql, params, |row| row.get(0))
    }
}

/// The LIMIT that reads a page of `size` and tells whether there is another.
pub(crate) fn page_limit(size: usize) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX - 1).saturating_add(1)
}

/// Seconds since the Unix epoch: how instants are stored.
pub(crate) fn unix(instant: OffsetDateTime) -> i64 {
    instant.unix_timestamp()
}

/// The inverse of [`unix`]; a value outside time's range means a corrupt row.
pub(crate) fn instant(seconds: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| StoreError::Corrupt(format!("an instant out of range: {seconds}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestStore, each_engine};

    #[test]
    fn dollar_parameters_are_written_as_numbered_question_marks_for_sqlite() {
        const TEXT: &str = "UPDATE t SET a = $2, b = '$1', c = \"$3x\" WHERE k = $1 AND $10 IS NULL \
             OR $3 = $4 OR $5 = $6 OR $7 = $8 OR $9 = 1";
        let spelled = sqlite_spelling::<{ TEXT.len() }>(TEXT);
        assert_eq!(
            std::str::from_utf8(&spelled).unwrap(),
            "UPDATE t SET a = ?2, b = '$1', c = \"$3x\" WHERE k = ?1 AND ?10 IS NULL \
             OR ?3 = ?4 OR ?5 = ?6 OR ?7 = ?8 OR ?9 = 1"
        );
    }

    #[test]
    fn parameters_bind_by_their_number_on_both_engines() {
        for TestStore { store, .. } in each_engine() {
            let joined: String = store
                .read(|c| c.query_value(sql!("SELECT CAST($2 AS TEXT) || CAST($1 AS TEXT)"), &[&"a", &"b"]))
                .unwrap();
            assert_eq!(joined, "ba", "{}", store.engine_name());
            // The parameter named second in the text is bound first.
            store
                .write(|c| {
                    c.execute(
                        sql!("INSERT INTO server_secrets (name, value) VALUES ($1, $2)"),
                        &[&"order-test", &vec![1u8]],
                    )
                })
                .unwrap();
            let changed = store
                .write(|c| {
                    c.execute(
                        sql!("UPDATE server_secrets SET value = $2 WHERE name = $1"),
                        &[&"order-test", &vec![2u8]],
                    )
                })
                .unwrap();
            assert_eq!(changed, 1, "{}", store.engine_name());
            let value: Vec<u8> = store
                .read(|c| {
                    c.query_value(
                        sql!("SELECT value FROM server_secrets WHERE name = $1"),
                        &[&"order-test"],
                    )
                })
                .unwrap();
            assert_eq!(value, vec![2u8], "{}", store.engine_name());
        }
    }

    #[test]
    fn every_statement_of_the_store_prepares_on_both_engines() {
        assert!(STATEMENTS.len() > 5, "the registry holds the statements");
        for TestStore { store, .. } in each_engine() {
            store
                .write(|c| {
                    for statement in STATEMENTS {
                        c.prepare(statement).unwrap_or_else(|error| {
                            panic!(
                                "{} cannot prepare {}: {error:?}",
                                store.engine_name(),
                                statement.postgres()
                            )
                        });
                    }
                    Ok::<_, StoreError>(())
                })
                .unwrap();
        }
    }

    #[test]
    #[should_panic(expected = "parameters skip a number")]
    fn parameters_that_skip_a_number_are_refused() {
        let _ = sqlite_spelling::<14>("SELECT $1, $3 ");
    }

    #[test]
    #[should_panic(expected = "not ?")]
    fn question_mark_parameters_are_refused() {
        let _ = sqlite_spelling::<8>("SELECT ?");
    }
}
