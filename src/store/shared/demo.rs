//! The demo use cases' rules, shared by both engines.
