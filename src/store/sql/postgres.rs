//! The layer's connection on PostgreSQL: each statement prepared once per
//! connection (parsed and planned once, then only bound and run), on a client
//! or inside a transaction.

use std::collections::HashMap;

use postgres::{GenericClient, Statement};

use super::{Connection, Param, Row, Sql};
use crate::store::StoreError;

/// The statements prepared on one connection, by their text.
pub(crate) type Prepared = HashMap<&'static str, Statement>;

/// A PostgreSQL client or transaction, with its connection's prepared statements.
pub(crate) struct PostgresConnection<'a, C: GenericClient> {
    client: &'a mut C,
    /// `None`: each statement is prepared anew (a connection outside the pool).
    prepared: Option<&'a mut Prepared>,
}

impl<'a, C: GenericClient> PostgresConnection<'a, C> {
    pub(crate) fn new(client: &'a mut C, prepared: &'a mut Prepared) -> PostgresConnection<'a, C> {
        PostgresConnection {
            client,
            prepared: Some(prepared),
        }
    }

    /// A client that keeps no prepared statements (such as a transaction
    /// started by engine code outside the layer).
    pub(crate) fn unprepared(client: &'a mut C) -> PostgresConnection<'a, C> {
        PostgresConnection {
            client,
            prepared: None,
        }
    }

    fn statement(&mut self, sql: &Sql) -> Result<Statement, StoreError> {
        let text = sql.postgres();
        let Some(prepared) = self.prepared.as_deref_mut() else {
            return Ok(self.client.prepare(text)?);
        };
        if let Some(statement) = prepared.get(text) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(text)?;
        prepared.insert(text, statement.clone());
        Ok(statement)
    }
}

/// The parameters as the client takes them: a few, so a small copy.
fn postgres_params<'p>(params: &'p [&'p dyn Param]) -> Vec<&'p (dyn postgres::types::ToSql + Sync)> {
    params.iter().map(|param| param.as_postgres()).collect()
}

impl<C: GenericClient> Connection for PostgresConnection<'_, C> {
    fn execute(&mut self, sql: &Sql, params: &[&dyn Param]) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        Ok(self.client.execute(&statement, &postgres_params(params))?)
    }

    fn for_each_row(
        &mut self,
        sql: &Sql,
        params: &[&dyn Param],
        each: &mut dyn FnMut(&Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let statement = self.statement(sql)?;
        for row in self.client.query(&statement, &postgres_params(params))? {
            each(&Row::Postgres(&row))?;
        }
        Ok(())
    }

    #[cfg(test)]
    fn prepare(&mut self, sql: &Sql) -> Result<(), StoreError> {
        self.statement(sql)?;
        Ok(())
    }
}
