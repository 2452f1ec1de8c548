//! Secrets the server makes for itself on first start and keeps across restarts.

use rand::RngCore;

use super::{PostgresStore, StoreError};

const COOKIE_KEY: &str = "session_cookie_key";

impl PostgresStore {
    /// The 64-byte key that signs and encrypts session cookies: made once, so a
    /// restart does not sign everybody out. Servers starting together agree on
    /// one key: the transaction of each that did not make it is retried, and
    /// then reads it.
    pub fn session_cookie_key(&self) -> Result<Vec<u8>, StoreError> {
        self.write(|tx| {
            let existing: Option<Vec<u8>> = tx
                .query_opt("SELECT value FROM server_secrets WHERE name = $1", &[&COOKIE_KEY])?
                .map(|row| row.get(0));
            if let Some(key) = existing.filter(|key| key.len() == 64) {
                return Ok(key);
            }
            let mut key = vec![0u8; 64];
            rand::rng().fill_bytes(&mut key);
            tx.execute(
                "INSERT INTO server_secrets (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                &[&COOKIE_KEY, &key],
            )?;
            Ok(key)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::postgres::credits::tests::test_store;

    #[test]
    fn the_cookie_key_is_made_once_and_kept() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let first = store.session_cookie_key().unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(store.session_cookie_key().unwrap(), first);
    }

    #[test]
    fn servers_starting_together_agree_on_one_cookie_key() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let starting: Vec<_> = (0..6)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || store.session_cookie_key().unwrap())
            })
            .collect();
        let keys: Vec<Vec<u8>> = starting.into_iter().map(|s| s.join().unwrap()).collect();
        assert!(keys.iter().all(|key| *key == keys[0]));
        assert_eq!(store.session_cookie_key().unwrap(), keys[0]);
    }
}
