//! `storecredit copy --to postgres://…`: moving a store from its SQLite file onto
//! PostgreSQL, with progress on standard error and the result on standard output.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use super::open_existing;
use crate::config::DatabaseLocation;
use crate::store::copy::{CopyError, CopyProgress};

pub(super) fn copy(database: &DatabaseLocation, to: &Path) -> anyhow::Result<ExitCode> {
    let target = match DatabaseLocation::parse(to)? {
        DatabaseLocation::Postgres(url) => url,
        DatabaseLocation::File(_) => bail!(
            "--to takes a PostgreSQL database as a postgres:// URL; to copy the store to a file, use \
             storecredit backup FILE"
        ),
    };
    if matches!(database, DatabaseLocation::Postgres(_)) {
        return Err(CopyError::SourceOnPostgres.into());
    }
    let store = open_existing(database)?;
    eprintln!("copying {database} into {target}, in one transaction");
    let copied = store
        .copy_to(&target, &mut show_progress)
        .map_err(|error| match error {
            CopyError::Store(_) => anyhow::Error::new(error).context(format!(
                "nothing was copied into {target} (the copy is one transaction)"
            )),
            refused => refused.into(),
        })?;
    println!(
        "copied {} rows in {} tables into {target} in {:.1} s; each table holds as many rows as the store",
        copied.rows(),
        copied.tables.len(),
        copied.took.as_secs_f64()
    );
    if !copied.ledger.is_empty() {
        for m in &copied.ledger {
            eprintln!(
                "credit {} (account {}): original {} but grants {}; remaining {} but ledger sums to {}",
                m.credit_id.0, m.user_id, m.original, m.granted, m.remaining, m.ledger_sum
            );
        }
        eprintln!(
            "ledger broken on {target}: {} credit(s) do not add up (run ledger verify on {database} too: \
             the copy holds what the store held)",
            copied.ledger.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    println!("ledger ok: every credit adds up");
    println!(
        "next: start the server with --database {target} (the URL with its password) instead of {database}, \
         and back the database up with pg_dump"
    );
    Ok(ExitCode::SUCCESS)
}

fn show_progress(progress: CopyProgress<'_>) {
    match progress {
        CopyProgress::Started => eprintln!("the target is empty; copying table by table"),
        CopyProgress::Rows { table, copied, of } => eprintln!("  {table}: {copied} of {of} rows"),
        CopyProgress::Table { table, rows, took } => {
            eprintln!("  {table:<20} {rows:>10} rows  {:>6.1} s", took.as_secs_f64());
        }
        CopyProgress::Comparing => eprintln!("comparing each table's rows with the store's"),
        CopyProgress::CheckingLedger => eprintln!("committed; checking the ledger on PostgreSQL"),
    }
}
