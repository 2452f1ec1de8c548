//! Black-box tests over HTTP: each starts the real app on a free port with its own
//! fresh SQLite file and talks to it like a browser.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod attacks;
mod balance_flow;
mod catalog;
mod checkout;
mod codes;
mod concurrency;
mod hardening;
mod helpers;
mod history;
mod pages;
mod password_reset;
mod sessions;
