//! The real server binary as an operator runs it (`tests/process/`), each test on
//! a fresh PostgreSQL database of its own on the server `STORECREDIT_TEST_POSTGRES`
//! names; without one they skip, saying so once.

#[path = "../support/mod.rs"]
mod support;

/// The engine this binary runs the suite on.
const ENGINE: support::Engine = support::Engine::Postgres;

#[path = "../process/server.rs"]
mod server;

#[path = "../process/many_servers.rs"]
mod many_servers;

#[path = "../process/mail.rs"]
mod mail;
