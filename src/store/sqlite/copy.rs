//! `storecredit copy --to`, the SQLite half: every table's rows read from one
//! read snapshot of the database file.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{SqliteStore, StoreError, configure};
use crate::store::copy::{RowSink, RowSource, Table, Value};

/// One moment of the database, held open (a read transaction on a connection of
/// its own) until dropped: a server writing meanwhile neither waits for it nor
/// shows in it.
pub(crate) struct CopySnapshot {
    connection: Connection,
}

impl SqliteStore {
    /// Starts reading the database as it is now, for a copy.
    pub(crate) fn copy_snapshot(&self) -> Result<CopySnapshot, StoreError> {
        let mut connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&mut connection)?;
        // A deferred transaction takes its snapshot at its first read: read now.
        connection.execute_batch("BEGIN")?;
        connection.query_row("SELECT count(*) FROM sqlite_schema", [], |row| {
            row.get::<_, i64>(0)
        })?;
        Ok(CopySnapshot { connection })
    }
}

impl RowSource for CopySnapshot {
    fn count(&self, table: &Table) -> Result<u64, StoreError> {
        let count: i64 =
            self.connection
                .query_row(&format!("SELECT count(*) FROM {}", table.name), [], |row| {
                    row.get(0)
                })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn each_row(&self, table: &Table, sink: &mut RowSink<'_>) -> Result<(), StoreError> {
        let columns: Vec<&str> = table.columns.iter().map(|column| column.name).collect();
        // A table is scanned in the order of its key (the rowid, or the primary
        // key of a WITHOUT ROWID table) without being asked to sort.
        let mut statement =
            self.connection
                .prepare(&format!("SELECT {} FROM {}", columns.join(", "), table.name))?;
        let mut rows = statement.query([])?;
        let mut values = Vec::with_capacity(columns.len());
        let mut number = 0u64;
        while let Some(row) = rows.next()? {
            values.clear();
            number += 1;
            for (index, column) in columns.iter().enumerate() {
                values.push(match row.get_ref(index)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(integer) => Value::Integer(integer),
                    // PostgreSQL's text cannot hold a NUL: say which row, rather
                    // than let the target refuse the whole copy without a name.
                    ValueRef::Text(text) if text.contains(&0) => {
                        return Err(unreadable(
                            table,
                            column,
                            &format!("a NUL character in row {number}, which PostgreSQL cannot store"),
                        ));
                    }
                    ValueRef::Text(text) => Value::Text(
                        String::from_utf8(text.to_vec())
                            .map_err(|_| unreadable(table, column, "text that is not UTF-8"))?,
                    ),
                    ValueRef::Blob(blob) => Value::Blob(blob.to_vec()),
                    ValueRef::Real(_) => return Err(unreadable(table, column, "a real number")),
                });
            }
            sink(&values)?;
        }
        Ok(())
    }
}

fn unreadable(table: &Table, column: &str, what: &str) -> StoreError {
    StoreError::Corrupt(format!("{}.{column} holds {what}", table.name))
}

impl Drop for CopySnapshot {
    fn drop(&mut self) {
        // Closing the connection would end the transaction too; this says so.
        let _ = self.connection.execute_batch("ROLLBACK");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rusqlite::Connection;

    use super::super::testing::temporary_store;
    use crate::store::StoreError;
    use crate::store::copy::{Holds, RowSource, TABLES};

    /// Each table's columns and their declared types, as the migrations left them.
    fn schema(connection: &Connection) -> BTreeMap<String, Vec<(String, String)>> {
        let mut tables = BTreeMap::new();
        let mut names = connection
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .unwrap();
        let names: Vec<String> = names
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for name in names {
            let mut columns = connection
                .prepare(&format!(
                    "SELECT name, type FROM pragma_table_info('{name}') ORDER BY cid"
                ))
                .unwrap();
            let columns = columns
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            tables.insert(name, columns);
        }
        tables
    }

    #[test]
    fn the_copy_knows_every_table_and_column_of_the_sqlite_schema() {
        let (store, _folder) = temporary_store();
        let connection = Connection::open(&store.path).unwrap();
        let declared: BTreeMap<String, Vec<(String, String)>> = TABLES
            .iter()
            .map(|table| {
                let columns = table
                    .columns
                    .iter()
                    .map(|column| {
                        let declared_type = match column.holds {
                            Holds::Integer | Holds::Flag => "INTEGER",
                            Holds::Text => "TEXT",
                            Holds::Bytes => "BLOB",
                        };
                        (column.name.to_owned(), declared_type.to_owned())
                    })
                    .collect();
                (table.name.to_owned(), columns)
            })
            .collect();
        assert_eq!(declared, schema(&connection));
    }

    #[test]
    fn the_tables_come_after_the_tables_they_refer_to() {
        let (store, _folder) = temporary_store();
        let connection = Connection::open(&store.path).unwrap();
        for (position, table) in TABLES.iter().enumerate() {
            let mut referred = connection
                .prepare(&format!(
                    "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('{}')",
                    table.name
                ))
                .unwrap();
            let referred: Vec<String> = referred
                .query_map([], |row| row.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for name in referred {
                let before = TABLES[..position].iter().any(|earlier| earlier.name == name);
                assert!(before, "{} refers to {name}, which comes later", table.name);
            }
        }
    }

    #[test]
    fn a_nul_in_a_text_is_refused_naming_its_table_column_and_row() {
        let (store, _folder) = temporary_store();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO throttle_counters (subject, attempts, window_ends)
                     VALUES ('account:a@example.com', 1, 0), ('account:x' || char(0) || '@example.com', 1, 0)",
                    [],
                )?;
                Ok(())
            })
            .unwrap();
        let snapshot = store.copy_snapshot().unwrap();
        let table = TABLES
            .iter()
            .find(|table| table.name == "throttle_counters")
            .unwrap();
        let mut copied = 0;
        let outcome = snapshot.each_row(table, &mut |_| {
            copied += 1;
            Ok(())
        });
        let Err(StoreError::Corrupt(message)) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(message.contains("throttle_counters.subject"), "{message}");
        assert!(message.contains("NUL character in row 2"), "{message}");
        assert_eq!(copied, 1);
    }
}
