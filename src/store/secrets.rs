//! Secrets the server makes for itself on first start and keeps across restarts.

use rand::RngCore;

use super::sql::sql;
use super::{Store, StoreError};

const COOKIE_KEY: &str = "session_cookie_key";

/// How long the cookie key is, in bytes.
const COOKIE_KEY_LEN: usize = 64;

impl Store {
    /// The 64-byte key that signs and encrypts session cookies: made once, so a
    /// restart does not sign everybody out. A stored key of another length is
    /// replaced. Servers starting together agree on one key: each offers its
    /// own, only the first is kept, and every one reads back the key kept (on
    /// PostgreSQL the transaction of one that lost the race is run again and
    /// then finds the key).
    pub fn session_cookie_key(&self) -> Result<Vec<u8>, StoreError> {
        self.write(|connection| {
            let existing: Option<Vec<u8>> = connection.query_opt(
                sql!("SELECT value FROM server_secrets WHERE name = $1"),
                &[&COOKIE_KEY],
                |row| row.get(0),
            )?;
            if let Some(key) = existing.filter(|key| key.len() == COOKIE_KEY_LEN) {
                return Ok(key);
            }
            let mut key = vec![0u8; COOKIE_KEY_LEN];
            rand::rng().fill_bytes(&mut key);
            connection.execute(
                sql!(
                    "INSERT INTO server_secrets (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value
                     WHERE length(server_secrets.value) <> 64"
                ),
                &[&COOKIE_KEY, &key],
            )?;
            connection.query_value(
                sql!("SELECT value FROM server_secrets WHERE name = $1"),
                &[&COOKIE_KEY],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestStore, each_engine};

    #[test]
    fn the_cookie_key_is_made_once_and_kept() {
        for TestStore { store, .. } in each_engine() {
            let first = store.session_cookie_key().unwrap();
            assert_eq!(first.len(), 64);
            assert_eq!(
                store.session_cookie_key().unwrap(),
                first,
                "{}",
                store.engine_name()
            );
        }
    }

    #[test]
    fn a_cookie_key_of_the_wrong_length_is_replaced() {
        for TestStore { store, .. } in each_engine() {
            store
                .write(|connection| {
                    connection.execute(
                        sql!("INSERT INTO server_secrets (name, value) VALUES ($1, $2)"),
                        &[&COOKIE_KEY, &vec![7u8; 16]],
                    )
                })
                .unwrap();
            let key = store.session_cookie_key().unwrap();
            assert_eq!(key.len(), 64, "{}", store.engine_name());
            assert_eq!(store.session_cookie_key().unwrap(), key);
        }
    }

    #[test]
    fn servers_starting_together_agree_on_one_cookie_key() {
        for TestStore { store, .. } in each_engine() {
            let starting: Vec<_> = (0..6)
                .map(|_| {
                    let store = store.clone();
                    std::thread::spawn(move || store.session_cookie_key().unwrap())
                })
                .collect();
            let keys: Vec<Vec<u8>> = starting.into_iter().map(|s| s.join().unwrap()).collect();
            assert!(keys.iter().all(|key| *key == keys[0]), "{}", store.engine_name());
            assert_eq!(store.session_cookie_key().unwrap(), keys[0]);
        }
    }
}
