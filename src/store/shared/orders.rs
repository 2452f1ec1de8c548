//! The orders use cases' rules, shared by both engines.
