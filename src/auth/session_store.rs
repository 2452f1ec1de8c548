//! actix-session's storage backend on our SQLite `sessions` table.

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use rand::distr::{Alphanumeric, SampleString};

use crate::clock::Clock;
use crate::domain::UserId;
use crate::store::sessions::{SessionLifetime, SessionState};
use crate::store::{Store, StoreError};

/// The session state key holding the signed-in account's id.
pub const USER_ID_KEY: &str = "uid";

/// Sessions live server-side so that signing out (or a password change) really ends
/// them: a copied cookie whose row is gone opens nothing.
#[derive(Clone)]
pub struct SqliteSessionStore {
    store: Store,
    lifetime: SessionLifetime,
    clock: Clock,
}

impl SqliteSessionStore {
    pub fn new(store: Store, lifetime: SessionLifetime, clock: Clock) -> SqliteSessionStore {
        SqliteSessionStore {
            store,
            lifetime,
            clock,
        }
    }
}

/// 32 alphanumeric characters: about 190 bits, far beyond guessing (OWASP asks
/// for 64). Not longer: every request decodes and decrypts the key from its cookie,
/// work that grows with its length (BENCHMARKS.md).
fn new_session_key() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), SESSION_KEY_CHARACTERS)
}

const SESSION_KEY_CHARACTERS: usize = 32;

/// actix-session keeps each value JSON-encoded; the account id is a bare number.
fn user_of(state: &SessionState) -> Option<UserId> {
    state
        .get(USER_ID_KEY)
        .and_then(|value| serde_json::from_str::<i64>(value).ok())
        .map(UserId)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    actix_web::web::block(work).await?
}

impl SessionStore for SqliteSessionStore {
    /// Every request with a cookie comes here: usually answered from the store's
    /// in-process copy, else a primary-key lookup on this thread (see
    /// `Store::load_session`); only the once-a-minute idle refresh, a write, goes to
    /// the blocking pool.
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let (lifetime, now) = (self.lifetime, self.clock.now());
        let loaded = self
            .store
            .load_session(session_key.as_ref(), lifetime, now)
            .map_err(|e| match e {
                StoreError::Corrupt(_) => LoadError::Deserialization(e.into()),
                other => LoadError::Other(other.into()),
            })?;
        let Some(loaded) = loaded else {
            return Ok(None);
        };
        if loaded.refresh_due {
            let (store, key) = (self.store.clone(), session_key.as_ref().to_owned());
            let still_there = blocking(move || Ok(store.refresh_session(&key, lifetime, now)?))
                .await
                .map_err(LoadError::Other)?;
            if !still_there {
                return Ok(None);
            }
        }
        // actix-session takes the state by value: a copy of the parsed one.
        Ok(Some(SessionState::clone(&loaded.state)))
    }

    async fn save(&self, session_state: SessionState, _ttl: &Duration) -> Result<SessionKey, SaveError> {
        let user = user_of(&session_state);
        let (store, lifetime, now) = (self.store.clone(), self.lifetime, self.clock.now());
        let key = new_session_key();
        let stored_key = key.clone();
        blocking(move || Ok(store.insert_session(&stored_key, session_state, user, lifetime, now)?))
            .await
            .map_err(SaveError::Other)?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let user = user_of(&session_state);
        let (store, lifetime, now) = (self.store.clone(), self.lifetime, self.clock.now());
        let key = session_key.as_ref().to_owned();
        let (still_there, session_state) = blocking(move || {
            let updated = store.update_session(&key, &session_state, user, lifetime, now)?;
            Ok((updated, session_state))
        })
        .await
        .map_err(UpdateError::Other)?;
        if still_there {
            Ok(session_key)
        } else {
            // The session ended meanwhile (expired, signed out elsewhere): start a
            // new one under a fresh key rather than resurrect the old key.
            self.save(session_state, ttl).await.map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
        }
    }

    /// Idle expiry slides forward in `load`, at most once a minute, so there is
    /// nothing to do per request here.
    async fn update_ttl(&self, _session_key: &SessionKey, _ttl: &Duration) -> Result<(), anyhow::Error> {
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let store = self.store.clone();
        let key = session_key.as_ref().to_owned();
        blocking(move || Ok(store.delete_session(&key)?)).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::store::testing::temporary_store;

    const LIFETIME: SessionLifetime = SessionLifetime {
        idle: time::Duration::minutes(30),
        absolute: time::Duration::hours(12),
    };

    #[actix_web::test]
    async fn a_saved_state_loads_back_in_another_process() {
        let (store, folder) = temporary_store();
        let here = SqliteSessionStore::new(store, LIFETIME, Clock::system());
        let state = SessionState::from([("csrf".to_owned(), r#""token""#.to_owned())]);
        let key = here.save(state.clone(), &Duration::minutes(30)).await.unwrap();
        // A second store on the file has no in-process copy: this reads the row.
        let elsewhere = Store::open(&folder.path().join("test.db")).unwrap();
        let there = SqliteSessionStore::new(elsewhere, LIFETIME, Clock::system());
        assert_eq!(there.load(&key).await.unwrap(), Some(state));
    }

    #[actix_web::test]
    async fn a_stored_state_that_cannot_be_read_is_a_deserialization_error() {
        // actix-session answers that with a fresh, empty session rather than a 500.
        let (store, folder) = temporary_store();
        let here = SqliteSessionStore::new(store.clone(), LIFETIME, Clock::system());
        let key = here
            .save(SessionState::new(), &Duration::minutes(30))
            .await
            .unwrap();
        store
            .write(|tx| Ok(tx.execute("UPDATE sessions SET state = 'not json'", [])?))
            .unwrap();
        let elsewhere = Store::open(&folder.path().join("test.db")).unwrap();
        let there = SqliteSessionStore::new(elsewhere, LIFETIME, Clock::system());
        let loaded = there.load(&key).await;
        assert!(matches!(loaded, Err(LoadError::Deserialization(_))), "{loaded:?}");
    }

    #[test]
    fn session_keys_are_32_random_alphanumeric_characters() {
        let keys: HashSet<String> = (0..1000).map(|_| new_session_key()).collect();
        assert_eq!(keys.len(), 1000, "keys repeat");
        for key in &keys {
            assert_eq!(key.len(), 32, "{key}");
            assert!(key.chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
        }
    }
}
