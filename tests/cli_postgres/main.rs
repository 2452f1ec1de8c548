//! The operator command line (`tests/cli/`), each test on a fresh PostgreSQL
//! database of its own on the server `STORECREDIT_TEST_POSTGRES` names; without
//! one they skip, saying so once.

#[path = "../support/mod.rs"]
mod support;

/// The engine this binary runs the suite on.
const ENGINE: support::Engine = support::Engine::Postgres;

#[path = "../cli/approvals.rs"]
mod approvals;
#[path = "../cli/audit.rs"]
mod audit;
#[path = "../cli/catalog.rs"]
mod catalog;
#[path = "../cli/commands.rs"]
mod commands;
#[path = "../cli/gift_cards.rs"]
mod gift_cards;
#[path = "../cli/mail.rs"]
mod mail;
#[path = "../cli/product_file.rs"]
mod product_file;
#[path = "../cli/reminders.rs"]
mod reminders;
#[path = "../cli/reports.rs"]
mod reports;
#[path = "../cli/staff.rs"]
mod staff;
