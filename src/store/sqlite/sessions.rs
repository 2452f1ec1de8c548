//! Server-side sessions in SQLite: one row per session, holding the session
//! layer's state as text the store never reads, with the account it signs in and
//! its expiries in columns of their own.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::session_cache::SessionRow;
use super::{SqliteStore, StoreError, unix};
use crate::domain::UserId;
use crate::store::sessions::{LoadedSession, SessionLifetime, SignedInAs};

impl SqliteStore {
    /// The state of a live session; `None` when the key is unknown, idle too long
    /// or past its absolute lifetime. From this process's copy when it has one,
    /// else a primary-key read on this thread's own connection.
    pub fn load_session(
        &self,
        key: &str,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<Option<LoadedSession>, StoreError> {
        let row = match self.sessions.get(key) {
            Some(row) => row,
            None => {
                let epoch = self.sessions.epoch();
                let Some(row) = self.read_session_row(key)? else {
                    return Ok(None);
                };
                self.sessions.keep_unless_changed(key, row.clone(), epoch);
                row
            }
        };
        let now_s = unix(now);
        if !is_alive(&row, lifetime, now_s) {
            return Ok(None);
        }
        Ok(Some(LoadedSession {
            state: row.state,
            refresh_due: lifetime.refresh_due(row.expires_at, now_s),
        }))
    }

    fn read_session_row(&self, key: &str) -> Result<Option<SessionRow>, StoreError> {
        self.read_here(|connection| {
            Ok(connection
                .prepare_cached("SELECT state, user_id, created_at, expires_at FROM sessions WHERE key = ?1")?
                .query_row([key], |row| {
                    Ok(SessionRow {
                        state: Arc::from(row.get_ref(0)?.as_str()?),
                        user_id: row.get(1)?,
                        created_at: row.get(2)?,
                        expires_at: row.get(3)?,
                    })
                })
                .optional()?)
        })
    }

    /// Pushes a session's idle expiry forward (when [`LoadedSession::refresh_due`]);
    /// `false` when the row has gone meanwhile, so the session has ended.
    /// Not fsynced: losing one to a power cut only ends a session a minute early,
    /// and the request waiting on it should not wait for the disk.
    pub fn refresh_session(
        &self,
        key: &str,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.write_unsynced(|tx| {
            Ok(tx
                .prepare_cached("UPDATE sessions SET expires_at = ?2 WHERE key = ?1 AND expires_at > ?3")?
                .execute(params![key, unix(now + lifetime.idle), unix(now)])?
                == 1)
        })
    }

    /// Stores a new session. A signed-in one is stored only while its account's
    /// credentials are still the version its password was checked against, in the
    /// same transaction: a sign-in that was in flight when the password changed
    /// (which ended every session) creates nothing. `false` when nothing was stored.
    pub fn insert_session(
        &self,
        key: &str,
        state: &str,
        owner: Option<SignedInAs>,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "INSERT INTO sessions (key, user_id, state, created_at, expires_at)
                     SELECT ?1, ?2, ?3, ?4, ?5
                     WHERE ?2 IS NULL
                        OR EXISTS (SELECT 1 FROM users WHERE id = ?2 AND credentials_version = ?6)",
                )?
                .execute(params![
                    key,
                    owner.map(|owner| owner.user.0),
                    state,
                    unix(now),
                    unix(now + lifetime.idle),
                    owner.map(|owner| owner.credentials_version)
                ])?
                == 1)
        })
    }

    /// Replaces a live session's state; `false` when the session no longer exists.
    pub fn update_session(
        &self,
        key: &str,
        state: &str,
        user_id: Option<UserId>,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let updated = tx
                .prepare_cached(
                    "UPDATE sessions SET state = ?2, user_id = ?3, expires_at = ?4
                     WHERE key = ?1 AND expires_at > ?5",
                )?
                .execute(params![
                    key,
                    state,
                    user_id.map(|id| id.0),
                    unix(now + lifetime.idle),
                    unix(now)
                ])?;
            Ok(updated == 1)
        })
    }

    pub fn delete_session(&self, key: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM sessions WHERE key = ?1")?
                .execute([key])?;
            Ok(())
        })
    }

    /// Removes sessions that can no longer be used; returns how many.
    pub fn purge_expired_sessions(
        &self,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1 OR created_at <= ?2")?
                .execute(params![unix(now), unix(now - lifetime.absolute)])?)
        })
    }
}

/// Neither idle too long nor past its absolute lifetime.
fn is_alive(row: &SessionRow, lifetime: SessionLifetime, now: i64) -> bool {
    row.expires_at > now && row.created_at + lifetime.absolute.whole_seconds() > now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::testing::temporary_store;
    use time::Duration;

    const LIFETIME: SessionLifetime = SessionLifetime {
        idle: Duration::minutes(30),
        absolute: Duration::hours(12),
    };

    /// Session "k": no state yet, nobody signed in.
    fn start_session(store: &SqliteStore, now: OffsetDateTime) {
        store.insert_session("k", "{}", None, LIFETIME, now).unwrap();
    }

    /// Loads as the session store does: refreshing the idle expiry when due.
    fn use_session(store: &SqliteStore, key: &str, now: OffsetDateTime) -> bool {
        match store.load_session(key, LIFETIME, now).unwrap() {
            Some(loaded) => !loaded.refresh_due || store.refresh_session(key, LIFETIME, now).unwrap(),
            None => false,
        }
    }

    #[test]
    fn a_session_lives_while_used_and_dies_when_idle() {
        let (store, _folder) = temporary_store();
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
        let (store, _folder) = temporary_store();
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
    fn a_refresh_leaves_the_writer_fully_synchronous() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        start_session(&store, now);
        store
            .refresh_session("k", LIFETIME, now + Duration::minutes(5))
            .unwrap();
        let synchronous: i64 = store
            .write(|tx| Ok(tx.query_row("PRAGMA synchronous", [], |row| row.get(0))?))
            .unwrap();
        assert_eq!(synchronous, 2, "FULL");
    }

    #[test]
    fn a_cached_session_ends_with_its_row() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        start_session(&store, now);
        assert!(use_session(&store, "k", now), "loaded, and so cached");
        store.delete_session("k").unwrap();
        assert!(!use_session(&store, "k", now));
    }

    #[test]
    fn a_password_change_ends_the_accounts_cached_sessions() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        let user = crate::store::sqlite::testing::new_account(&store, "ann@example.com", "hash", now);
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
            crate::store::Store::sqlite(store.clone())
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
    }

    #[test]
    fn a_changed_state_is_read_back_not_served_from_the_copy() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        start_session(&store, now);
        assert!(use_session(&store, "k", now));
        let changed = r#"{"csrf":"\"t\""}"#;
        store.update_session("k", changed, None, LIFETIME, now).unwrap();
        let loaded = store.load_session("k", LIFETIME, now).unwrap().unwrap();
        assert_eq!(&*loaded.state, changed);
    }

    /// The cache's bookkeeping is the write path's, keyed off the rows a
    /// transaction touched: a write that never mentions the cache, as a new use
    /// case might, still cannot leave a stale copy behind.
    #[test]
    fn a_session_any_write_changes_is_never_served_from_the_copy() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        let user = crate::store::sqlite::testing::new_account(&store, "ann@example.com", "hash", now);
        for key in ["k", "other"] {
            let owner = SignedInAs {
                user,
                credentials_version: 0,
            };
            assert!(
                store
                    .insert_session(key, "{}", Some(owner), LIFETIME, now)
                    .unwrap()
            );
            assert!(use_session(&store, key, now), "loaded, and so cached");
        }

        store
            .write(|tx| Ok(tx.execute("UPDATE sessions SET state = 'changed' WHERE key = 'k'", [])?))
            .unwrap();
        let loaded = store.load_session("k", LIFETIME, now).unwrap().unwrap();
        assert_eq!(&*loaded.state, "changed");

        store
            .write(|tx| Ok(tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.0])?))
            .unwrap();
        assert!(!use_session(&store, "k", now));
        assert!(!use_session(&store, "other", now));
    }

    #[test]
    fn a_session_write_that_is_rolled_back_leaves_the_copy_right() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        start_session(&store, now);
        assert!(use_session(&store, "k", now));
        let refused: Result<(), StoreError> = store.write(|tx| {
            tx.execute("DELETE FROM sessions WHERE key = 'k'", [])?;
            Err(StoreError::Corrupt("stop here".into()))
        });
        assert!(refused.is_err());
        assert!(use_session(&store, "k", now));
        store.delete_session("k").unwrap();
        assert!(!use_session(&store, "k", now));
    }

    #[test]
    fn a_state_is_kept_as_the_session_layer_wrote_it() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        let state = "not JSON, and the store does not mind";
        store.insert_session("k", state, None, LIFETIME, now).unwrap();
        let loaded = store.load_session("k", LIFETIME, now).unwrap().unwrap();
        assert_eq!(&*loaded.state, state);
    }

    #[test]
    fn a_session_ended_by_another_process_ends_here_by_the_next_refresh() {
        let (store, folder) = temporary_store();
        let elsewhere = SqliteStore::open(&folder.path().join("test.db")).unwrap();
        let start = OffsetDateTime::now_utc();
        start_session(&store, start);
        assert!(use_session(&store, "k", start));
        elsewhere.delete_session("k").unwrap();
        // Within the minute this process may still use its copy; once the idle
        // expiry is due to move, it asks the database and learns the truth.
        assert!(use_session(&store, "k", start + Duration::seconds(30)));
        assert!(!use_session(&store, "k", start + Duration::minutes(1)));
        assert!(!use_session(&store, "k", start + Duration::minutes(1)));
    }

    #[test]
    fn purging_removes_only_dead_sessions() {
        let (store, _folder) = temporary_store();
        let start = OffsetDateTime::now_utc();
        store.insert_session("old", "{}", None, LIFETIME, start).unwrap();
        let later = start + Duration::minutes(40);
        store.insert_session("new", "{}", None, LIFETIME, later).unwrap();
        assert_eq!(store.purge_expired_sessions(LIFETIME, later).unwrap(), 1);
        assert!(use_session(&store, "new", later));
    }
}
