//! Sessions in PostgreSQL: one row per session, holding the session layer's state
//! as text the store never reads, with the account it signs in and its expiries
//! in columns of their own. No copy is kept in the process: many servers may share
//! the database, and a session ended on one must be ended on all at the next
//! request, so every load reads the row.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{PostgresStore, StoreError, unix};
use crate::domain::UserId;
use crate::store::sessions::{LoadedSession, SessionLifetime, SignedInAs};

impl PostgresStore {
    /// The state of a live session; `None` when the key is unknown, idle too long
    /// or past its absolute lifetime. One primary-key read.
    pub fn load_session(
        &self,
        key: &str,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<Option<LoadedSession>, StoreError> {
        let row = self.read_prepared(
            "SELECT state, created_at, expires_at FROM sessions WHERE key = $1",
            |client, statement| Ok(client.query_opt(statement, &[&key])?),
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (state, created_at, expires_at): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
        let now_s = unix(now);
        let alive = expires_at > now_s && created_at + lifetime.absolute.whole_seconds() > now_s;
        if !alive {
            return Ok(None);
        }
        Ok(Some(LoadedSession {
            state: Arc::from(state),
            refresh_due: lifetime.refresh_due(expires_at, now_s),
        }))
    }

    /// Pushes a session's idle expiry forward (when [`LoadedSession::refresh_due`]);
    /// `false` when the row has gone meanwhile, so the session has ended. One
    /// statement under the row's lock: a shopper's requests in several tabs queue
    /// on it instead of failing each other.
    pub fn refresh_session(
        &self,
        key: &str,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (expires_at, now_s) = (unix(now + lifetime.idle), unix(now));
        self.locking_transaction(|tx| {
            Ok(tx.execute(
                "UPDATE sessions SET expires_at = $2 WHERE key = $1 AND expires_at > $3",
                &[&key, &expires_at, &now_s],
            )? == 1)
        })
    }

    /// Stores a new session. A signed-in one is stored only while its account's
    /// credentials are still the version its password was checked against, in the
    /// same (serializable) transaction: a sign-in that was in flight when the
    /// password changed (which ended every session) creates nothing. `false` when
    /// nothing was stored.
    pub fn insert_session(
        &self,
        key: &str,
        state: &str,
        owner: Option<SignedInAs>,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let user_id = owner.map(|owner| owner.user.0);
        let credentials_version = owner.map(|owner| owner.credentials_version);
        let (created_at, expires_at) = (unix(now), unix(now + lifetime.idle));
        self.write(|tx| {
            Ok(tx.execute(
                "INSERT INTO sessions (key, user_id, state, created_at, expires_at)
                 SELECT $1, $2, $3, $4, $5
                 WHERE $2::BIGINT IS NULL
                    OR EXISTS (SELECT 1 FROM users WHERE id = $2 AND credentials_version = $6)",
                &[
                    &key,
                    &user_id,
                    &state,
                    &created_at,
                    &expires_at,
                    &credentials_version,
                ],
            )? == 1)
        })
    }

    /// Replaces a live session's state; `false` when the session no longer exists.
    /// One statement under the row's lock, as [`PostgresStore::refresh_session`].
    pub fn update_session(
        &self,
        key: &str,
        state: &str,
        user_id: Option<UserId>,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let user_id = user_id.map(|id| id.0);
        let (expires_at, now_s) = (unix(now + lifetime.idle), unix(now));
        self.locking_transaction(|tx| {
            Ok(tx.execute(
                "UPDATE sessions SET state = $2, user_id = $3, expires_at = $4
                 WHERE key = $1 AND expires_at > $5",
                &[&key, &state, &user_id, &expires_at, &now_s],
            )? == 1)
        })
    }

    pub fn delete_session(&self, key: &str) -> Result<(), StoreError> {
        self.locking_transaction(|tx| {
            tx.execute("DELETE FROM sessions WHERE key = $1", &[&key])?;
            Ok(())
        })
    }

    /// Removes sessions that can no longer be used; returns how many.
    pub fn purge_expired_sessions(
        &self,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let (now_s, born_before) = (unix(now), unix(now - lifetime.absolute));
        // One statement: a session refreshed meanwhile is checked again as refreshed.
        let purged = self.locking_transaction(|tx| {
            Ok(tx.execute(
                "DELETE FROM sessions WHERE expires_at <= $1 OR created_at <= $2",
                &[&now_s, &born_before],
            )?)
        })?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::domain::{DisplayName, Email};
    use crate::store::test_postgres::test_database;
    use time::Duration;

    const LIFETIME: SessionLifetime = SessionLifetime {
        idle: Duration::minutes(30),
        absolute: Duration::hours(12),
    };

    fn new_account(store: &PostgresStore, email: &str, now: OffsetDateTime) -> UserId {
        crate::store::Store::postgres(store.clone())
            .create_user(
                &Email::parse(email).unwrap(),
                &DisplayName::parse("Ann").unwrap(),
                "hash",
                now,
            )
            .unwrap()
    }

    /// Session "k": no state yet, nobody signed in.
    fn start_session(store: &PostgresStore, now: OffsetDateTime) {
        assert!(store.insert_session("k", "{}", None, LIFETIME, now).unwrap());
    }

    /// Loads as the session store does: refreshing the idle expiry when due.
    fn use_session(store: &PostgresStore, key: &str, now: OffsetDateTime) -> bool {
        match store.load_session(key, LIFETIME, now).unwrap() {
            Some(loaded) => !loaded.refresh_due || store.refresh_session(key, LIFETIME, now).unwrap(),
            None => false,
        }
    }

    #[test]
    fn a_session_lives_while_used_and_dies_when_idle() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let start = OffsetDateTime::now_utc();
        start_session(&store, start);
        let later = start + Duration::minutes(25);
        assert!(use_session(&store, "k", later));
        // 25 + 25 minutes: alive, because the load at 25 minutes pushed expiry on.
        let much_later = later + Duration::minutes(25);
        assert!(use_session(&store, "k", much_later));
        let idle_too_long = much_later + Duration::minutes(31);
        assert!(
            store
                .load_session("k", LIFETIME, idle_too_long)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_session_dies_at_its_absolute_lifetime_however_busy() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let start = OffsetDateTime::now_utc();
        start_session(&store, start);
        let mut now = start;
        while now < start + Duration::hours(12) - Duration::minutes(20) {
            now += Duration::minutes(20);
            assert!(use_session(&store, "k", now));
        }
        now = start + Duration::hours(12);
        assert!(!use_session(&store, "k", now));
    }

    #[test]
    fn a_refresh_is_due_a_minute_after_the_last_one() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let start = OffsetDateTime::now_utc();
        start_session(&store, start);
        let soon = store
            .load_session("k", LIFETIME, start + Duration::seconds(59))
            .unwrap()
            .unwrap();
        assert!(!soon.refresh_due);
        let later = store
            .load_session("k", LIFETIME, start + Duration::minutes(1))
            .unwrap()
            .unwrap();
        assert!(later.refresh_due);
    }

    #[test]
    fn a_signed_out_session_ends_at_once() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        start_session(&store, now);
        assert!(use_session(&store, "k", now));
        store.delete_session("k").unwrap();
        assert!(!use_session(&store, "k", now));
        assert!(
            !store.update_session("k", "{}", None, LIFETIME, now).unwrap(),
            "an update cannot bring it back"
        );
    }

    /// Two servers on one database: a sign-out on one holds on the other at its
    /// very next request, not after a refresh interval.
    #[test]
    fn a_session_ended_by_another_server_ends_here_at_the_next_request() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let elsewhere = PostgresStore::open(&database.postgres_url()).unwrap();
        let start = OffsetDateTime::now_utc();
        start_session(&store, start);
        assert!(use_session(&store, "k", start));
        elsewhere.delete_session("k").unwrap();
        assert!(!use_session(&store, "k", start + Duration::seconds(1)));
    }

    #[test]
    fn a_password_change_ends_the_accounts_sessions() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let user = new_account(&store, "ann@example.com", now);
        let owner = SignedInAs {
            user,
            credentials_version: 0,
        };
        assert!(
            store
                .insert_session("k", "{}", Some(owner), LIFETIME, now)
                .unwrap()
        );
        assert!(use_session(&store, "k", now));
        assert_eq!(
            crate::store::Store::postgres(store.clone())
                .change_password(user, "new hash")
                .unwrap(),
            1
        );
        assert!(!use_session(&store, "k", now));
        // A sign-in that checked the old password, stored after the change: nothing.
        assert!(
            !store
                .insert_session("late", "{}", Some(owner), LIFETIME, now)
                .unwrap()
        );
        assert!(!use_session(&store, "late", now));
        let current = SignedInAs {
            credentials_version: 1,
            ..owner
        };
        assert!(
            store
                .insert_session("new", "{}", Some(current), LIFETIME, now)
                .unwrap()
        );
        assert!(use_session(&store, "new", now));
    }

    /// Sign-ins that checked the old password race a password change: whichever
    /// order they land in, none of their sessions outlives the change.
    #[test]
    fn no_sign_in_racing_a_password_change_outlives_it() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let user = new_account(&store, "ann@example.com", now);
        let owner = SignedInAs {
            user,
            credentials_version: 0,
        };
        const SIGN_INS: usize = 16;
        let start = Barrier::new(SIGN_INS + 1);
        std::thread::scope(|scope| {
            for i in 0..SIGN_INS {
                let (store, start) = (&store, &start);
                scope.spawn(move || {
                    start.wait();
                    store
                        .insert_session(&format!("k{i}"), "{}", Some(owner), LIFETIME, now)
                        .unwrap();
                });
            }
            start.wait();
            crate::store::Store::postgres(store.clone())
                .change_password(user, "new hash")
                .unwrap();
        });
        for i in 0..SIGN_INS {
            assert!(!use_session(&store, &format!("k{i}"), now), "k{i}");
        }
    }

    #[test]
    fn a_changed_state_is_read_back() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        start_session(&store, now);
        assert!(use_session(&store, "k", now));
        let changed = r#"{"csrf":"\"t\""}"#;
        assert!(store.update_session("k", changed, None, LIFETIME, now).unwrap());
        let loaded = store.load_session("k", LIFETIME, now).unwrap().unwrap();
        assert_eq!(&*loaded.state, changed);
    }

    #[test]
    fn a_state_is_kept_as_the_session_layer_wrote_it() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let state = "not JSON, and the store does not mind: ünïcødé";
        assert!(store.insert_session("k", state, None, LIFETIME, now).unwrap());
        let loaded = store.load_session("k", LIFETIME, now).unwrap().unwrap();
        assert_eq!(&*loaded.state, state);
    }

    #[test]
    fn purging_removes_only_dead_sessions() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let start = OffsetDateTime::now_utc();
        store.insert_session("old", "{}", None, LIFETIME, start).unwrap();
        let later = start + Duration::minutes(40);
        store.insert_session("new", "{}", None, LIFETIME, later).unwrap();
        assert_eq!(store.purge_expired_sessions(LIFETIME, later).unwrap(), 1);
        assert!(use_session(&store, "new", later));
    }
}
