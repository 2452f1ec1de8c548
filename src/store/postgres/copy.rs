//! `storecredit copy --to`, the PostgreSQL half: a whole store written into an
//! empty database in one transaction, each table through one binary `COPY`.

use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};

use super::{PostgresStore, StoreError};
use crate::store::copy::{Column, CopyError, Holds, RowSink, Table, Value};

/// How long the copy waits for a table another connection holds (a server
/// started on the target too early) before giving up, instead of hanging.
const LOCK_WAIT: &str = "30s";

/// The rows the schema starts with (`migrations/postgres/0001_schema.sql`): a
/// database holding only these is empty, and the copy replaces them.
const SEEDED_CATEGORIES: &str = "(1, 'music', 'Digital Music', 1), (2, 'kindle', 'Kindle', 2), \
     (3, 'video', 'Instant Video', 3), (4, 'software', 'Software', 4)";

impl PostgresStore {
    /// Runs `work` in one transaction holding every table of the store for
    /// itself (others may read, not write): committed when it returns `Ok`,
    /// rolled back, leaving the database as it was, otherwise.
    pub(crate) fn copy_into<T>(
        &self,
        work: impl FnOnce(&mut CopyTarget<'_>) -> Result<T, CopyError>,
    ) -> Result<T, CopyError> {
        let mut connection = self.pool.get()?;
        let mut tx = connection.client.transaction()?;
        tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'"))?;
        let tables: Vec<&str> = crate::store::copy::TABLES
            .iter()
            .map(|table| table.name)
            .collect();
        tx.batch_execute(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", tables.join(", ")))?;
        let mask_set_aside = set_aside_the_mask_trigger(&mut tx)?;
        let mut target = CopyTarget { tx };
        let answer = work(&mut target)?;
        let mut tx = target.tx;
        if mask_set_aside {
            tx.batch_execute(&format!(
                "ALTER TABLE credit_categories ENABLE TRIGGER {MASK_TRIGGER}"
            ))?;
            check_the_masks(&mut tx)?;
        }
        tx.commit()?;
        Ok(answer)
    }
}

/// The trigger that sets a credit's `category_mask` from each of its
/// `credit_categories` rows as it arrives: one UPDATE per row, most of a large
/// copy's time, for masks the copy writes as they are anyway.
const MASK_TRIGGER: &str = "credit_categories_fill_the_mask";

/// Turns [`MASK_TRIGGER`] off for this transaction when this role may (it owns
/// the table, as it does when the copy created the schema); `false` when it may
/// not, and the trigger stays on: the copy is then slower, and as sound.
fn set_aside_the_mask_trigger(tx: &mut Transaction<'_>) -> Result<bool, StoreError> {
    let mut attempt = tx.transaction()?;
    match attempt.batch_execute(&format!(
        "ALTER TABLE credit_categories DISABLE TRIGGER {MASK_TRIGGER}"
    )) {
        Ok(()) => {
            attempt.commit()?;
            Ok(true)
        }
        Err(error) if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
            attempt.rollback()?;
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}

/// With [`MASK_TRIGGER`] off, what it would have checked: each credit's
/// `category_mask` is the bits of its categories.
fn check_the_masks(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    let wrong: Option<i64> = tx
        .query_opt(
            "SELECT c.id FROM credits c
             WHERE c.category_mask <> (
                 SELECT COALESCE(bit_or(1::BIGINT << (k.category_id::INT - 1)), 0)
                 FROM credit_categories k WHERE k.credit_id = c.id)
             ORDER BY c.id LIMIT 1",
            &[],
        )?
        .map(|row| row.get(0));
    match wrong {
        Some(credit) => Err(StoreError::Corrupt(format!(
            "credit {credit}'s category_mask does not match its credit_categories"
        ))),
        None => Ok(()),
    }
}

/// The target of a copy, inside its transaction.
pub(crate) struct CopyTarget<'a> {
    tx: Transaction<'a>,
}

impl CopyTarget<'_> {
    /// The tables holding rows other than those the schema starts with.
    pub(crate) fn tables_with_rows(&mut self, tables: &[Table]) -> Result<Vec<&'static str>, StoreError> {
        let mut occupied = Vec::new();
        for table in tables {
            let query = if table.name == "categories" {
                format!(
                    "SELECT EXISTS (SELECT 1 FROM categories \
                     WHERE (id, slug, label, position) NOT IN ({SEEDED_CATEGORIES}))"
                )
            } else if table.name == "audit_chain" {
                "SELECT EXISTS (SELECT 1 FROM audit_chain WHERE last_id <> 0)".to_owned()
            } else {
                format!("SELECT EXISTS (SELECT 1 FROM {})", table.name)
            };
            let has_rows: bool = self.tx.query_one(&query, &[])?.get(0);
            if has_rows {
                occupied.push(table.name);
            }
        }
        Ok(occupied)
    }

    /// Removes the rows the schema starts with, which the copy replaces with the
    /// store's own.
    pub(crate) fn remove_schema_seeds(&mut self) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM categories", &[])?;
        self.tx.execute("DELETE FROM audit_chain", &[])?;
        Ok(())
    }

    /// Writes the rows `feed` hands to its sink into `table`, converting each
    /// value to its column's type; how many were written.
    pub(crate) fn write_table(
        &mut self,
        table: &Table,
        feed: &mut dyn FnMut(&mut RowSink<'_>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let names: Vec<&str> = table.columns.iter().map(|column| column.name).collect();
        let types: Vec<Type> = table
            .columns
            .iter()
            .map(|column| sql_type(column.holds))
            .collect();
        let sink = self.tx.copy_in(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            table.name,
            names.join(", ")
        ))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        feed(&mut |row| {
            let fields = table
                .columns
                .iter()
                .zip(row)
                .map(|(column, value)| Field::of(table, column, value))
                .collect::<Result<Vec<_>, _>>()?;
            let values: Vec<&(dyn ToSql + Sync)> = fields.iter().map(Field::as_sql).collect();
            writer.write(&values)?;
            Ok(())
        })?;
        // Dropped unfinished (a failed feed), the writer aborts the COPY.
        Ok(writer.finish()?)
    }

    /// Sets the next id `table` hands out to one past the largest copied.
    pub(crate) fn move_ids_past_copied(&mut self, table: &Table) -> Result<(), StoreError> {
        self.tx.query_one(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, 'id'), max(id)) FROM {}",
                table.name
            ),
            &[&table.name],
        )?;
        Ok(())
    }

    /// How many rows `table` holds now.
    pub(crate) fn count(&mut self, table: &Table) -> Result<u64, StoreError> {
        let count: i64 = self
            .tx
            .query_one(&format!("SELECT count(*) FROM {}", table.name), &[])?
            .get(0);
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

/// The column type that holds what `holds` says.
fn sql_type(holds: Holds) -> Type {
    match holds {
        Holds::Integer => Type::INT8,
        Holds::Text => Type::TEXT,
        Holds::Flag => Type::BOOL,
        Holds::Bytes => Type::BYTEA,
    }
}

/// A value as its column on PostgreSQL takes it.
#[derive(Debug)]
enum Field<'a> {
    Integer(Option<i64>),
    Flag(Option<bool>),
    Text(Option<&'a str>),
    Bytes(Option<&'a [u8]>),
}

impl<'a> Field<'a> {
    /// `value` for `column`: 0 and 1 become false and true in a flag; anything
    /// else a column cannot hold is refused, naming where it was.
    fn of(table: &Table, column: &Column, value: &'a Value) -> Result<Field<'a>, StoreError> {
        let field = match (column.holds, value) {
            (Holds::Integer, Value::Null) => Field::Integer(None),
            (Holds::Integer, Value::Integer(integer)) => Field::Integer(Some(*integer)),
            (Holds::Flag, Value::Null) => Field::Flag(None),
            (Holds::Flag, Value::Integer(0)) => Field::Flag(Some(false)),
            (Holds::Flag, Value::Integer(1)) => Field::Flag(Some(true)),
            (Holds::Text, Value::Null) => Field::Text(None),
            (Holds::Text, Value::Text(text)) => Field::Text(Some(text)),
            (Holds::Bytes, Value::Null) => Field::Bytes(None),
            (Holds::Bytes, Value::Blob(bytes)) => Field::Bytes(Some(bytes)),
            (Holds::Bytes, Value::Text(text)) => Field::Bytes(Some(text.as_bytes())),
            (holds, value) => {
                return Err(StoreError::Corrupt(format!(
                    "{}.{} should hold {} but holds {}",
                    table.name,
                    column.name,
                    match holds {
                        Holds::Integer => "an integer",
                        Holds::Text => "text",
                        Holds::Flag => "0 or 1",
                        Holds::Bytes => "bytes",
                    },
                    match value {
                        Value::Null => "nothing".to_owned(),
                        Value::Integer(integer) => format!("the integer {integer}"),
                        Value::Text(_) => "text".to_owned(),
                        Value::Blob(_) => "bytes".to_owned(),
                    }
                )));
            }
        };
        Ok(field)
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Field::Integer(integer) => integer,
            Field::Flag(flag) => flag,
            Field::Text(text) => text,
            Field::Bytes(bytes) => bytes,
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use postgres::Client;

    use crate::store::copy::{Holds, Table, Value};

    /// Every row of `table`, each value as a copy hands it over (a flag as 0 or
    /// 1), sorted.
    pub fn rows_of(client: &mut Client, table: &Table) -> Vec<Vec<Value>> {
        let names: Vec<&str> = table.columns.iter().map(|column| column.name).collect();
        let mut rows: Vec<Vec<Value>> = client
            .query(&format!("SELECT {} FROM {}", names.join(", "), table.name), &[])
            .unwrap()
            .iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(index, column)| {
                        let value = match column.holds {
                            Holds::Integer => row.get::<_, Option<i64>>(index).map(Value::Integer),
                            Holds::Flag => row
                                .get::<_, Option<bool>>(index)
                                .map(|flag| Value::Integer(i64::from(flag))),
                            Holds::Text => row.get::<_, Option<String>>(index).map(Value::Text),
                            Holds::Bytes => row.get::<_, Option<Vec<u8>>>(index).map(Value::Blob),
                        };
                        value.unwrap_or(Value::Null)
                    })
                    .collect()
            })
            .collect();
        rows.sort();
        rows
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use postgres::{Client, NoTls};

    use super::Field;
    use crate::store::copy::{Holds, TABLES, Value};
    use crate::store::postgres::PostgresStore;
    use crate::store::test_postgres::test_database;

    #[test]
    fn the_copy_knows_every_table_and_column_of_the_postgres_schema() {
        let Some(database) = test_database() else { return };
        drop(PostgresStore::open(&database.postgres_url()).unwrap());
        let mut client = Client::connect(database.url(), NoTls).unwrap();
        let mut schema: BTreeMap<String, Vec<(String, String, bool)>> = BTreeMap::new();
        for row in client
            .query(
                "SELECT table_name::text, column_name::text, data_type::text, is_identity = 'YES'
                 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name <> 'storecredit_migrations'
                 ORDER BY table_name, ordinal_position",
                &[],
            )
            .unwrap()
        {
            schema
                .entry(row.get(0))
                .or_default()
                .push((row.get(1), row.get(2), row.get(3)));
        }
        let declared: BTreeMap<String, Vec<(String, String, bool)>> = TABLES
            .iter()
            .map(|table| {
                let columns = table
                    .columns
                    .iter()
                    .map(|column| {
                        let data_type = match column.holds {
                            Holds::Integer => "bigint",
                            Holds::Text => "text",
                            Holds::Flag => "boolean",
                            Holds::Bytes => "bytea",
                        };
                        let identity = table.generated_id && column.name == "id";
                        (column.name.to_owned(), data_type.to_owned(), identity)
                    })
                    .collect();
                (table.name.to_owned(), columns)
            })
            .collect();
        assert_eq!(declared, schema);
    }

    #[test]
    fn a_flag_copies_from_0_or_1_and_nothing_else() {
        let codes = TABLES.iter().find(|table| table.name == "codes").unwrap();
        let active = codes
            .columns
            .iter()
            .find(|column| column.name == "active")
            .unwrap();
        let field = |value: Value| Field::of(codes, active, &value).map(|field| format!("{field:?}"));
        assert_eq!(field(Value::Integer(0)).unwrap(), "Flag(Some(false))");
        assert_eq!(field(Value::Integer(1)).unwrap(), "Flag(Some(true))");
        let refused = field(Value::Integer(2)).unwrap_err().to_string();
        assert!(
            refused.contains("codes.active should hold 0 or 1 but holds the integer 2"),
            "{refused}"
        );
    }

    #[test]
    fn a_value_its_column_cannot_hold_is_refused_naming_where_it_is() {
        let orders = TABLES.iter().find(|table| table.name == "orders").unwrap();
        let placed_at = orders
            .columns
            .iter()
            .find(|column| column.name == "placed_at")
            .unwrap();
        let refused = Field::of(orders, placed_at, &Value::Text("yesterday".into()))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("orders.placed_at should hold an integer but holds text"),
            "{refused}"
        );
    }
}
