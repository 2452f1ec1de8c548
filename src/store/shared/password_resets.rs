//! The reset links' rules, shared by both engines: what a token is, and what is
//! kept of it (so a store copied from one engine to the other keeps its links).

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

/// A new token: 32 random letters and digits (about 190 bits).
pub(crate) fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// What is stored for a token: its SHA-256, so a copy of the database cannot be
/// used to reset anyone's password. A token is 190 random bits, so no salt or
/// slow hash is needed.
pub(crate) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
