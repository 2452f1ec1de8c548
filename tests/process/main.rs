//! The real server binary as an operator runs it, on the embedded SQLite file;
//! `process_postgres` runs the same tests on PostgreSQL.

#[path = "../support/mod.rs"]
mod support;

/// The engine this binary runs the suite on.
const ENGINE: support::Engine = support::Engine::Sqlite;

mod server;

mod many_servers;

mod mail;
