//! Real-browser tests on the embedded SQLite file; `browser_postgres` runs the
//! same scenarios on PostgreSQL.

mod harness;
#[path = "../support/mod.rs"]
mod support;

/// The engine this binary runs the suite on.
const ENGINE: support::Engine = support::Engine::Sqlite;

mod console_pages;
mod console_walk;
mod gift_cards;
mod library;
mod scenarios;
