//! The operator command line, run as a real process, on the embedded SQLite
//! file; `cli_postgres` runs the same tests on PostgreSQL.

#[path = "../support/mod.rs"]
mod support;

/// The engine this binary runs the suite on.
const ENGINE: support::Engine = support::Engine::Sqlite;

mod approvals;
mod audit;
mod catalog;
mod commands;
mod gift_cards;
mod mail;
mod product_file;
mod reminders;
mod reports;
mod staff;
