//! What both engines' use cases decide the same way, with no SQL: the rules a
//! use case applies between its reads and its writes.

pub(crate) mod codes;
pub(crate) mod demo;
pub(crate) mod orders;
