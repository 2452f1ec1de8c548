//! The rules the use cases apply between their reads and their writes, with no
//! SQL: how a code's grant is kept in columns and what redeeming it gives, what an
//! order costs and draws, what a refund returns, and the demo data.

pub(crate) mod codes;
pub(crate) mod demo;
pub(crate) mod orders;
