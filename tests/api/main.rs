//! Black-box tests over HTTP: each starts the real app on a free port with its own
//! fresh database and talks to it like a browser. This binary runs them on the
//! embedded SQLite file; `api_postgres` runs the same files on PostgreSQL.

#[path = "../support/mod.rs"]
mod support;

/// The engine this binary runs the suite on.
const ENGINE: support::Engine = support::Engine::Sqlite;

mod accounts;
mod attacks;
mod balance_flow;
mod catalog;
mod checkout;
mod codes;
mod concurrency;
mod console;
mod console_audit;
mod console_auth;
mod console_catalog;
mod console_codes;
mod console_errors;
mod console_money;
mod console_pages;
mod console_reports;
mod console_roles;
mod console_settings;
mod console_staff;
mod device_cookies;
mod gift_cards;
mod hardening;
mod helpers;
mod history;
mod library;
mod mail;
mod media;
mod metrics;
mod outage;
mod pages;
mod password_reset;
mod registration;
mod reminders;
mod sessions;
