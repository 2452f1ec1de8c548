//! Secrets the server makes for itself on first start and keeps across restarts.

use rand::RngCore;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, StoreError};

const COOKIE_KEY: &str = "session_cookie_key";

impl SqliteStore {
    /// The 64-byte key that signs and encrypts session cookies: made once, so a
    /// restart does not sign everybody out.
    pub fn session_cookie_key(&self) -> Result<Vec<u8>, StoreError> {
        self.write(|tx| {
            let existing: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT value FROM server_secrets WHERE name = ?1",
                    [COOKIE_KEY],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(key) = existing.filter(|key| key.len() == 64) {
                return Ok(key);
            }
            let mut key = vec![0u8; 64];
            rand::rng().fill_bytes(&mut key);
            tx.execute(
                "INSERT OR REPLACE INTO server_secrets (name, value) VALUES (?1, ?2)",
                params![COOKIE_KEY, key],
            )?;
            Ok(key)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::sqlite::testing::temporary_store;

    #[test]
    fn the_cookie_key_is_made_once_and_kept() {
        let (store, _folder) = temporary_store();
        let first = store.session_cookie_key().unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(store.session_cookie_key().unwrap(), first);
    }
}
