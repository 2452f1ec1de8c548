//! actix-session's storage backend on the store's sessions. actix-session's state
//! (names to JSON-encoded values) is kept in the store as one JSON object, text the
//! store never reads; it is parsed here, once per change.

use std::cell::Cell;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use lru::LruCache;
use rand::distr::{Alphanumeric, SampleString};

use crate::clock::Clock;
use crate::domain::UserId;
use crate::store::sessions::{SessionLifetime, SignedInAs};
use crate::store::{Store, StoreError};

/// A session's state as actix-session keeps it: names to JSON-encoded values.
type SessionState = HashMap<String, String>;

/// The session state key holding the signed-in account's id.
pub const USER_ID_KEY: &str = "uid";

/// The session state key holding the version of the account's credentials the
/// sign-in checked (see `Store::insert_session`).
pub const CREDENTIALS_VERSION_KEY: &str = "cv";

/// How many parsed states this process keeps: as many as the store keeps sessions.
const STATES_PARSED: usize = 20_000;

tokio::task_local! {
    /// Set while a request is handled when its session could not be read or
    /// written because the database was away, for
    /// [`noting_unreachable_sessions`] outside the session layer.
    static SESSIONS_UNREACHABLE: Cell<bool>;
}

/// Notes, for this request, a session error that says the database is away.
fn note_if_unreachable(error: &anyhow::Error) {
    let away = error.chain().any(|cause| {
        cause
            .downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_unavailable)
    });
    if away {
        let _ = SESSIONS_UNREACHABLE.try_with(|flag| flag.set(true));
    }
}

/// Runs `handling` (a request's way through the session layer) and says whether
/// its session could not be read or written because the database was away.
pub async fn noting_unreachable_sessions<F: Future>(handling: F) -> (F::Output, bool) {
    SESSIONS_UNREACHABLE
        .scope(Cell::new(false), async move {
            let outcome = handling.await;
            (outcome, SESSIONS_UNREACHABLE.with(Cell::get))
        })
        .await
}

/// Sessions live server-side so that signing out (or a password change) really ends
/// them: a copied cookie whose row is gone opens nothing.
#[derive(Clone)]
pub struct ServerSessions {
    store: Store,
    lifetime: SessionLifetime,
    clock: Clock,
    parsed: Arc<ParsedStates>,
}

impl ServerSessions {
    pub fn new(store: Store, lifetime: SessionLifetime, clock: Clock) -> ServerSessions {
        ServerSessions {
            store,
            lifetime,
            clock,
            parsed: Arc::new(ParsedStates::new(STATES_PARSED)),
        }
    }
}

/// The states this process has parsed, by session key, each with the text it was
/// parsed from: a request whose session's text is unchanged (as it is while the
/// store answers from its in-process copy) clones the parsed map instead of
/// parsing the text again. An entry is used only for the very text it came from,
/// so it can never be stale.
struct ParsedStates(Mutex<LruCache<Box<str>, Parsed>>);

/// A state, and the text it was parsed from.
struct Parsed {
    text: Arc<str>,
    state: Arc<SessionState>,
}

impl ParsedStates {
    fn new(capacity: usize) -> ParsedStates {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        ParsedStates(Mutex::new(LruCache::new(capacity)))
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<Box<str>, Parsed>> {
        // No critical section below can leave the map half changed.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Session `key`'s state stored as `text`.
    fn parse(&self, key: &str, text: &Arc<str>) -> Result<Arc<SessionState>, serde_json::Error> {
        {
            let mut parsed = self.lock();
            if let Some(seen) = parsed.get(key)
                && (Arc::ptr_eq(&seen.text, text) || *seen.text == **text)
            {
                return Ok(seen.state.clone());
            }
        }
        let state = Arc::new(serde_json::from_str::<SessionState>(text)?);
        self.remember(key, text.clone(), state.clone());
        Ok(state)
    }

    /// Keeps a state just written as `text`, so its next load need not parse it.
    fn remember(&self, key: &str, text: Arc<str>, state: Arc<SessionState>) {
        self.lock().put(key.into(), Parsed { text, state });
    }

    fn forget(&self, key: &str) {
        self.lock().pop(key);
    }
}

/// 32 alphanumeric characters: about 190 bits, far beyond guessing (OWASP asks
/// for 64). Not longer: every request decodes and decrypts the key from its cookie,
/// work that grows with its length.
fn new_session_key() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), SESSION_KEY_CHARACTERS)
}

const SESSION_KEY_CHARACTERS: usize = 32;

/// actix-session keeps each value JSON-encoded; the account id is a bare number.
fn user_of(state: &SessionState) -> Option<UserId> {
    number(state, USER_ID_KEY).map(UserId)
}

fn number(state: &SessionState, key: &str) -> Option<i64> {
    state
        .get(key)
        .and_then(|value| serde_json::from_str::<i64>(value).ok())
}

/// Who a signed-in state belongs to, with the credentials version it was checked
/// against; a state without one cannot start a session.
fn owner_of(state: &SessionState) -> Option<SignedInAs> {
    Some(SignedInAs {
        user: user_of(state)?,
        credentials_version: number(state, CREDENTIALS_VERSION_KEY)?,
    })
}

/// A failed session read, noted for a 503 when the database was away.
fn unreachable_or_other(error: anyhow::Error) -> LoadError {
    note_if_unreachable(&error);
    LoadError::Other(error)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    actix_web::web::block(work).await?
}

impl SessionStore for ServerSessions {
    /// Every request with a cookie comes here: read on this worker when the store
    /// can answer without waiting (usually from its in-process copy), else on the
    /// blocking pool; only the once-a-minute idle refresh, a write, always goes to
    /// the blocking pool.
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let (lifetime, now) = (self.lifetime, self.clock.now());
        let loaded = match self.store.on_worker() {
            Some(here) => here
                .load_session(session_key.as_ref(), lifetime, now)
                .map_err(|e| unreachable_or_other(e.into()))?,
            None => {
                let (store, key) = (self.store.clone(), session_key.as_ref().to_owned());
                blocking(move || Ok(store.load_session(&key, lifetime, now)?))
                    .await
                    .map_err(unreachable_or_other)?
            }
        };
        let Some(loaded) = loaded else {
            return Ok(None);
        };
        // Not a JSON object of strings: actix-session starts an empty session instead.
        let state = self
            .parsed
            .parse(session_key.as_ref(), &loaded.state)
            .map_err(|e| LoadError::Deserialization(e.into()))?;
        if loaded.refresh_due {
            let (store, key) = (self.store.clone(), session_key.as_ref().to_owned());
            let still_there = blocking(move || Ok(store.refresh_session(&key, lifetime, now)?))
                .await
                .map_err(unreachable_or_other)?;
            if !still_there {
                return Ok(None);
            }
        }
        // actix-session takes the state by value: a copy of the parsed one.
        Ok(Some(SessionState::clone(&state)))
    }

    /// Stores a new session: only a signed-in one (SPEC §6: a visitor stores
    /// nothing). actix-session saves a renewed session here, which only sign-in,
    /// registration and a password change do, each after proving the password.
    async fn save(&self, session_state: SessionState, _ttl: &Duration) -> Result<SessionKey, SaveError> {
        let key = new_session_key();
        let Some(owner) = owner_of(&session_state) else {
            // Nothing to keep for a visitor: the cookie names a session that does not
            // exist, which reads as signed out.
            tracing::debug!("a visitor's session state was not stored");
            return SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()));
        };
        // Checked once, as the row is written; every request would copy it after.
        let mut session_state = session_state;
        session_state.remove(CREDENTIALS_VERSION_KEY);
        let text: Arc<str> = serde_json::to_string(&session_state)
            .map_err(|e| SaveError::Serialization(e.into()))?
            .into();
        let (store, lifetime, now) = (self.store.clone(), self.lifetime, self.clock.now());
        let (stored_key, stored_text) = (key.clone(), text.clone());
        let stored = blocking(move || {
            Ok(store.insert_session(&stored_key, &stored_text, Some(owner), lifetime, now)?)
        })
        .await
        .map_err(|error| {
            note_if_unreachable(&error);
            SaveError::Other(error)
        })?;
        if stored {
            self.parsed.remember(&key, text, Arc::new(session_state));
        } else {
            // The password changed while this sign-in was checking the old one.
            tracing::info!(user_id = %owner.user, "a sign-in with a password changed meanwhile made no session");
        }
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    /// Writes a changed state to a live session. A session that ended while this
    /// request was in flight (signed out, password changed, timed out) stays ended:
    /// nothing is written, and the cookie keeps naming the dead session.
    async fn update(
        &self,
        session_key: SessionKey,
        session_state: SessionState,
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let user = user_of(&session_state);
        let text: Arc<str> = serde_json::to_string(&session_state)
            .map_err(|e| UpdateError::Serialization(e.into()))?
            .into();
        let (store, lifetime, now) = (self.store.clone(), self.lifetime, self.clock.now());
        let (key, stored_text) = (session_key.as_ref().to_owned(), text.clone());
        let still_there =
            blocking(move || Ok(store.update_session(&key, &stored_text, user, lifetime, now)?))
                .await
                .map_err(|error| {
                    note_if_unreachable(&error);
                    UpdateError::Other(error)
                })?;
        if still_there {
            self.parsed
                .remember(session_key.as_ref(), text, Arc::new(session_state));
        } else {
            tracing::debug!("a change to a session that has ended was dropped");
        }
        Ok(session_key)
    }

    /// Idle expiry slides forward in `load`, at most once a minute, so there is
    /// nothing to do per request here.
    async fn update_ttl(&self, _session_key: &SessionKey, _ttl: &Duration) -> Result<(), anyhow::Error> {
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let store = self.store.clone();
        let key = session_key.as_ref().to_owned();
        blocking(move || Ok(store.delete_session(&key)?))
            .await
            .inspect_err(note_if_unreachable)?;
        self.parsed.forget(session_key.as_ref());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::domain::{DisplayName, Email};

    /// A store on a fresh file in a temporary folder that lives as long as the guard.
    fn temporary_store() -> (Store, tempfile::TempDir) {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let store = Store::open(&folder.path().join("test.db")).expect("a fresh database");
        (store, folder)
    }

    const LIFETIME: SessionLifetime = SessionLifetime {
        idle: time::Duration::minutes(30),
        absolute: time::Duration::hours(12),
    };

    /// A state as sign-in leaves it, for a new account in `store`.
    fn signed_in_state(store: &Store) -> SessionState {
        let now = time::OffsetDateTime::now_utc();
        let user = store
            .create_user(
                &Email::parse("ann@example.com").unwrap(),
                &DisplayName::parse("Ann").unwrap(),
                "hash",
                now,
            )
            .unwrap();
        SessionState::from([
            (USER_ID_KEY.to_owned(), user.0.to_string()),
            (CREDENTIALS_VERSION_KEY.to_owned(), "0".to_owned()),
            ("csrf".to_owned(), r#""token""#.to_owned()),
        ])
    }

    fn session_rows(store: &Store) -> i64 {
        store
            .sqlite_engine()
            .read(|c| Ok(c.query_row("SELECT count(*) FROM sessions", [], |row| row.get(0))?))
            .unwrap()
    }

    #[actix_web::test]
    async fn a_saved_state_loads_back_in_another_process() {
        let (store, folder) = temporary_store();
        let here = ServerSessions::new(store.clone(), LIFETIME, Clock::system());
        let mut state = signed_in_state(&store);
        let key = here.save(state.clone(), &Duration::minutes(30)).await.unwrap();
        // A second store on the file has no in-process copy: this reads the row,
        // which keeps all but the credentials version (checked as it was written).
        let elsewhere = Store::open(&folder.path().join("test.db")).unwrap();
        let there = ServerSessions::new(elsewhere, LIFETIME, Clock::system());
        state.remove(CREDENTIALS_VERSION_KEY);
        assert_eq!(there.load(&key).await.unwrap(), Some(state));
    }

    #[actix_web::test]
    async fn a_visitors_state_is_never_stored() {
        let (store, _folder) = temporary_store();
        let sessions = ServerSessions::new(store.clone(), LIFETIME, Clock::system());
        let state = SessionState::from([("flash".to_owned(), r#""hello""#.to_owned())]);
        let key = sessions.save(state, &Duration::minutes(30)).await.unwrap();
        assert_eq!(session_rows(&store), 0);
        assert_eq!(sessions.load(&key).await.unwrap(), None);
    }

    #[actix_web::test]
    async fn a_change_to_an_ended_session_does_not_bring_it_back() {
        let (store, _folder) = temporary_store();
        let sessions = ServerSessions::new(store.clone(), LIFETIME, Clock::system());
        let state = signed_in_state(&store);
        let key = sessions
            .save(state.clone(), &Duration::minutes(30))
            .await
            .unwrap();
        // A request loaded the session, then a sign-out ended it…
        let loaded = sessions.load(&key).await.unwrap().unwrap();
        sessions.delete(&key).await.unwrap();
        // …and the request, done, writes the state it changed.
        let mut changed = loaded;
        changed.insert("flash".to_owned(), r#""done""#.to_owned());
        let same_key = SessionKey::try_from(key.as_ref().to_owned()).unwrap();
        let answered = sessions
            .update(same_key, changed, &Duration::minutes(30))
            .await
            .unwrap();
        assert_eq!(session_rows(&store), 0);
        assert_eq!(sessions.load(&answered).await.unwrap(), None);
        assert_eq!(sessions.load(&key).await.unwrap(), None);
    }

    #[actix_web::test]
    async fn a_stored_state_that_cannot_be_read_is_a_deserialization_error() {
        // actix-session answers that with a fresh, empty session rather than a 500.
        let (store, _folder) = temporary_store();
        let sessions = ServerSessions::new(store.clone(), LIFETIME, Clock::system());
        let key = sessions
            .save(signed_in_state(&store), &Duration::minutes(30))
            .await
            .unwrap();
        assert!(
            sessions.load(&key).await.unwrap().is_some(),
            "parsed, and so kept"
        );
        for unreadable in ["not json", r#"{"uid": 7}"#] {
            store
                .sqlite_engine()
                .write(|tx| Ok(tx.execute("UPDATE sessions SET state = ?1", [unreadable])?))
                .unwrap();
            let loaded = sessions.load(&key).await;
            assert!(matches!(loaded, Err(LoadError::Deserialization(_))), "{loaded:?}");
        }
    }

    #[test]
    fn a_state_is_parsed_again_only_when_its_text_changes() {
        let parsed = ParsedStates::new(10);
        let text: Arc<str> = Arc::from(r#"{"uid":"7"}"#);
        let first = parsed.parse("k", &text).unwrap();
        let same_text_read_again: Arc<str> = Arc::from(&*text);
        assert!(Arc::ptr_eq(
            &first,
            &parsed.parse("k", &same_text_read_again).unwrap()
        ));

        let changed: Arc<str> = Arc::from(r#"{"uid":"8"}"#);
        let second = parsed.parse("k", &changed).unwrap();
        assert_eq!(second.get("uid").map(String::as_str), Some(r#"8"#));
        assert!(parsed.parse("k", &Arc::from("not json")).is_err());
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
