//! The black-box tests over HTTP (`tests/api/`), each on a fresh PostgreSQL
//! database of its own on the server `STORECREDIT_TEST_POSTGRES` names; without
//! one they skip, saying so once.

#[path = "../support/mod.rs"]
mod support;

/// The engine this binary runs the suite on.
const ENGINE: support::Engine = support::Engine::Postgres;

#[path = "../api/accounts.rs"]
mod accounts;
#[path = "../api/attacks.rs"]
mod attacks;
#[path = "../api/balance_flow.rs"]
mod balance_flow;
#[path = "../api/catalog.rs"]
mod catalog;
#[path = "../api/checkout.rs"]
mod checkout;
#[path = "../api/codes.rs"]
mod codes;
#[path = "../api/concurrency.rs"]
mod concurrency;
#[path = "../api/console.rs"]
mod console;
#[path = "../api/console_audit.rs"]
mod console_audit;
#[path = "../api/console_auth.rs"]
mod console_auth;
#[path = "../api/console_catalog.rs"]
mod console_catalog;
#[path = "../api/console_codes.rs"]
mod console_codes;
#[path = "../api/console_errors.rs"]
mod console_errors;
#[path = "../api/console_money.rs"]
mod console_money;
#[path = "../api/console_pages.rs"]
mod console_pages;
#[path = "../api/console_reports.rs"]
mod console_reports;
#[path = "../api/console_roles.rs"]
mod console_roles;
#[path = "../api/console_settings.rs"]
mod console_settings;
#[path = "../api/console_staff.rs"]
mod console_staff;
#[path = "../api/device_cookies.rs"]
mod device_cookies;
#[path = "../api/gift_cards.rs"]
mod gift_cards;
#[path = "../api/hardening.rs"]
mod hardening;
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/history.rs"]
mod history;
#[path = "../api/library.rs"]
mod library;
#[path = "../api/mail.rs"]
mod mail;
#[path = "../api/media.rs"]
mod media;
#[path = "../api/metrics.rs"]
mod metrics;
#[path = "../api/outage.rs"]
mod outage;
#[path = "../api/pages.rs"]
mod pages;
#[path = "../api/password_reset.rs"]
mod password_reset;
#[path = "../api/registration.rs"]
mod registration;
#[path = "../api/reminders.rs"]
mod reminders;
#[path = "../api/sessions.rs"]
mod sessions;
