//! The credits use cases' rules, shared by both engines.
