//! The real-browser scenarios (`tests/browser/`), each on a fresh PostgreSQL
//! database of its own on the server `STORECREDIT_TEST_POSTGRES` names; without
//! one (or without a browser) they skip, saying so once.

#[path = "../browser/harness.rs"]
mod harness;
#[path = "../support/mod.rs"]
mod support;

/// The engine this binary runs the suite on.
const ENGINE: support::Engine = support::Engine::Postgres;

#[path = "../browser/console_pages.rs"]
mod console_pages;
#[path = "../browser/console_walk.rs"]
mod console_walk;
#[path = "../browser/gift_cards.rs"]
mod gift_cards;
#[path = "../browser/library.rs"]
mod library;
#[path = "../browser/scenarios.rs"]
mod scenarios;
