//! The layer's connection on SQLite: statements prepared through the
//! connection's own cache, in SQLite's spelling.

use super::{Connection, Param, Row, Sql};
use crate::store::StoreError;

/// A SQLite connection (a reader, a thread's reader, or the writer inside its
/// transaction) as the layer uses it.
pub(crate) struct SqliteConnection<'a>(&'a rusqlite::Connection);

impl<'a> SqliteConnection<'a> {
    pub(crate) fn new(connection: &'a rusqlite::Connection) -> SqliteConnection<'a> {
        SqliteConnection(connection)
    }
}

fn sqlite_params<'p>(params: &'p [&'p dyn Param]) -> impl Iterator<Item = &'p dyn rusqlite::ToSql> {
    params.iter().map(|param| param.as_sqlite())
}

impl Connection for SqliteConnection<'_> {
    fn execute(&mut self, sql: &Sql, params: &[&dyn Param]) -> Result<u64, StoreError> {
        let changed = self
            .0
            .prepare_cached(sql.sqlite())?
            .execute(rusqlite::params_from_iter(sqlite_params(params)))?;
        Ok(changed as u64)
    }

    fn for_each_row(
        &mut self,
        sql: &Sql,
        params: &[&dyn Param],
        each: &mut dyn FnMut(&Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut statement = self.0.prepare_cached(sql.sqlite())?;
        let mut rows = statement.query(rusqlite::params_from_iter(sqlite_params(params)))?;
        while let Some(row) = rows.next()? {
            each(&Row::Sqlite(row))?;
        }
        Ok(())
    }

    #[cfg(test)]
    fn prepare(&mut self, sql: &Sql) -> Result<(), StoreError> {
        self.0.prepare_cached(sql.sqlite())?;
        Ok(())
    }
}
