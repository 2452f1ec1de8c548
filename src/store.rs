//! The store: every query the application makes. The SQLite engine lives in
//! `sqlite/`.

mod sqlite;

#[cfg(test)]
pub(crate) use sqlite::testing;
pub use sqlite::{
    Page, READ_SNAPSHOT_WINDOW, Store, StoreError, catalog, categories, codes, credits, demo, discounts,
    orders, password_resets, payment, secrets, sessions, throttle, users,
};
