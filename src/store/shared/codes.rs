//! The codes use cases' rules, shared by both engines.
