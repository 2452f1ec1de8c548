//! storecredit: a store whose shoppers check and spend store credit.
//!
//! A request travels route → domain → store → template: `routes` parses input into
//! `domain` types, `store` runs the SQL, askama renders `templates/`.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod listing;
pub mod mail;
pub mod media;
pub mod reports;
pub mod routes;
pub mod startup;
pub mod store;
pub mod telemetry;
