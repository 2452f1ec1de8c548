//! What the store keeps of a session: the session layer's state as text it
//! never reads, the account it signs in, and its expiries; one row per session.
//!
//! Written once but for two engine differences:
//! - loading: SQLite keeps an in-process copy of the sessions this process has
//!   seen (its write path forgets a session whenever any statement changes its
//!   row), so a load usually reads no row; PostgreSQL keeps none, as many servers
//!   may share the database and a session ended on one must be ended on all at
//!   the next request, so every load reads the row;
//! - pushing an idle expiry forward: SQLite commits it without waiting for the
//!   disk (losing one to a power cut only ends a session a minute early).

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::sql::{Connection, SqliteConnection, sql, unix};
use super::{Engine, Store, StoreError};
use crate::domain::UserId;

/// How long sessions live: `idle` without a request, `absolute` from sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetime {
    pub idle: Duration,
    pub absolute: Duration,
}

impl SessionLifetime {
    /// Whether a request at `now` should push forward an idle expiry of
    /// `expires_at` (both in seconds since the epoch): once it has run down by
    /// a minute, or by a quarter of the idle time when that is shorter, so a
    /// shopper who keeps reading pages costs one write a minute at most, and a
    /// short idle time is still renewed well before it runs out.
    pub(crate) fn refresh_due(&self, expires_at: i64, now: i64) -> bool {
        let every = Duration::minutes(1).min(self.idle / 4).whole_seconds().max(1);
        now + self.idle.whole_seconds() - expires_at >= every
    }
}

/// Who a new session signs in: the account, and the version of its credentials
/// the password was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedInAs {
    pub user: UserId,
    pub credentials_version: i64,
}

/// A live session as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSession {
    /// The state as the session layer stored it (shared with the engine's
    /// in-process copy, when it keeps one).
    pub state: Arc<str>,
    /// The idle expiry was last pushed forward over a minute ago.
    pub refresh_due: bool,
}

/// What a session row holds, as read (and as SQLite's in-process copy keeps it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRow {
    /// The state as the session layer wrote it; the store never looks inside.
    pub state: Arc<str>,
    pub user_id: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
}

impl SessionRow {
    /// The session as loaded at `now`; `None` when it has been idle too long or
    /// is past its absolute lifetime.
    pub(crate) fn loaded(self, lifetime: SessionLifetime, now: OffsetDateTime) -> Option<LoadedSession> {
        let now = unix(now);
        let alive = self.expires_at > now && self.created_at + lifetime.absolute.whole_seconds() > now;
        alive.then(|| LoadedSession {
            refresh_due: lifetime.refresh_due(self.expires_at, now),
            state: self.state,
        })
    }
}

/// A session's row, by its key (one primary-key read).
pub(crate) fn read_session_row(
    connection: &mut dyn Connection,
    key: &str,
) -> Result<Option<SessionRow>, StoreError> {
    connection.query_opt(
        sql!("SELECT state, user_id, created_at, expires_at FROM sessions WHERE key = $1"),
        &[&key],
        |row| {
            Ok(SessionRow {
                state: Arc::from(row.text(0)?),
                user_id: row.get(1)?,
                created_at: row.get(2)?,
                expires_at: row.get(3)?,
            })
        },
    )
}

/// Pushes a live session's idle expiry forward; whether it was still there.
fn push_idle_expiry(
    connection: &mut dyn Connection,
    key: &str,
    lifetime: SessionLifetime,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let changed = connection.execute(
        sql!("UPDATE sessions SET expires_at = $2 WHERE key = $1 AND expires_at > $3"),
        &[&key, &unix(now + lifetime.idle), &unix(now)],
    )?;
    Ok(changed == 1)
}

impl Store {
    /// The state of a live session; `None` when the key is unknown, idle too long
    /// or past its absolute lifetime (see [`super::OnWorker::load_session`] for
    /// the same read on the worker). On SQLite from this process's copy when it
    /// has one; else one primary-key read.
    pub fn load_session(
        &self,
        key: &str,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<Option<LoadedSession>, StoreError> {
        match &self.engine {
            Engine::Sqlite(sqlite) => sqlite.load_session(key, lifetime, now),
            Engine::Postgres(_) => {
                let row = self.read_hot(|connection| read_session_row(connection, key))?;
                Ok(row.and_then(|row| row.loaded(lifetime, now)))
            }
        }
    }

    /// Pushes a session's idle expiry forward (when [`LoadedSession::refresh_due`]);
    /// `false` when the row has gone meanwhile, so the session has ended. One
    /// statement on the hot row: on PostgreSQL a shopper's requests in several
    /// tabs queue on its lock instead of failing each other.
    pub fn refresh_session(
        &self,
        key: &str,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            // Not fsynced: losing one to a power cut only ends a session a minute
            // early, and the request waiting on it should not wait for the disk.
            Engine::Sqlite(sqlite) => sqlite
                .write_unsynced(|tx| push_idle_expiry(&mut SqliteConnection::new(tx), key, lifetime, now)),
            Engine::Postgres(_) => {
                self.write_hot(|connection| push_idle_expiry(connection, key, lifetime, now))
            }
        }
    }

    /// Stores a new session. A signed-in one is stored only while its account's
    /// credentials are still the version its password was checked against, in the
    /// same (on PostgreSQL serializable) transaction: a sign-in that was in flight
    /// when the password changed (which ended every session) creates nothing.
    /// `false` when nothing was stored.
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
        self.write(|connection| {
            let stored = connection.execute(
                sql!(
                    "INSERT INTO sessions (key, user_id, state, created_at, expires_at)
                     SELECT $1, $2, $3, $4, $5
                     WHERE CAST($2 AS BIGINT) IS NULL
                        OR EXISTS (SELECT 1 FROM users WHERE id = $2 AND credentials_version = $6)"
                ),
                &[
                    &key,
                    &user_id,
                    &state,
                    &created_at,
                    &expires_at,
                    &credentials_version,
                ],
            )?;
            Ok(stored == 1)
        })
    }

    /// Replaces a live session's state; `false` when the session no longer exists.
    /// One statement on the hot row, as [`Store::refresh_session`].
    pub fn update_session(
        &self,
        key: &str,
        state: &str,
        user_id: Option<UserId>,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let user_id = user_id.map(|id| id.0);
        let (expires_at, now) = (unix(now + lifetime.idle), unix(now));
        self.write_hot(|connection| {
            let updated = connection.execute(
                sql!(
                    "UPDATE sessions SET state = $2, user_id = $3, expires_at = $4
                     WHERE key = $1 AND expires_at > $5"
                ),
                &[&key, &state, &user_id, &expires_at, &now],
            )?;
            Ok(updated == 1)
        })
    }

    /// Ends a session (a sign-out). SQLite's copy forgets it with the row.
    pub fn delete_session(&self, key: &str) -> Result<(), StoreError> {
        self.write_hot(|connection| {
            connection.execute(sql!("DELETE FROM sessions WHERE key = $1"), &[&key])?;
            Ok(())
        })
    }

    /// Removes sessions that can no longer be used; returns how many. One
    /// statement: on PostgreSQL a session refreshed meanwhile is checked again as
    /// refreshed.
    pub fn purge_expired_sessions(
        &self,
        lifetime: SessionLifetime,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let (now, born_before) = (unix(now), unix(now - lifetime.absolute));
        let purged = self.write_hot(|connection| {
            connection.execute(
                sql!("DELETE FROM sessions WHERE expires_at <= $1 OR created_at <= $2"),
                &[&now, &born_before],
            )
        })?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::store::testing::{TestStore, each_engine, new_account};

    const LIFETIME: SessionLifetime = SessionLifetime {
        idle: Duration::minutes(30),
        absolute: Duration::hours(12),
    };

    #[test]
    fn an_idle_expiry_is_renewed_once_a_minute_or_sooner_when_idle_time_is_short() {
        let lifetime = |minutes| SessionLifetime {
            idle: Duration::minutes(minutes),
            absolute: Duration::hours(12),
        };
        // Thirty minutes idle: renewed after a minute, not before.
        let expires_at = 1_800;
        assert!(!lifetime(30).refresh_due(expires_at, 59));
        assert!(lifetime(30).refresh_due(expires_at, 60));
        // One minute idle: renewed after fifteen seconds, so a request every
        // fifteen seconds keeps the shopper signed in.
        assert!(!lifetime(1).refresh_due(60, 14));
        assert!(lifetime(1).refresh_due(60, 15));
    }

    /// Session "k": no state yet, nobody signed in.
    fn start_session(store: &Store, now: OffsetDateTime) {
        assert!(store.insert_session("k", "{}", None, LIFETIME, now).unwrap());
    }

    /// Loads as the session store does (on the worker when the engine offers it),
    /// refreshing the idle expiry when due.
    fn use_session(store: &Store, key: &str, now: OffsetDateTime) -> bool {
        let loaded = match store.on_worker() {
            Some(worker) => worker.load_session(key, LIFETIME, now),
            None => store.load_session(key, LIFETIME, now),
        };
        match loaded.unwrap() {
            Some(loaded) => !loaded.refresh_due || store.refresh_session(key, LIFETIME, now).unwrap(),
            None => false,
        }
    }

    #[test]
    fn a_session_lives_while_used_and_dies_when_idle() {
        for TestStore { store, .. } in each_engine() {
            let start = OffsetDateTime::now_utc();
            start_session(&store, start);
            let later = start + Duration::minutes(25);
            assert!(use_session(&store, "k", later), "{}", store.engine_name());
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
    }

    #[test]
    fn a_session_dies_at_its_absolute_lifetime_however_busy() {
        for TestStore { store, .. } in each_engine() {
            let start = OffsetDateTime::now_utc();
            start_session(&store, start);
            let mut now = start;
            while now < start + Duration::hours(12) - Duration::minutes(20) {
                now += Duration::minutes(20);
                assert!(use_session(&store, "k", now), "{}", store.engine_name());
            }
            now = start + Duration::hours(12);
            assert!(!use_session(&store, "k", now));
        }
    }

    #[test]
    fn a_refresh_is_due_a_minute_after_the_last_one() {
        for TestStore { store, .. } in each_engine() {
            let start = OffsetDateTime::now_utc();
            start_session(&store, start);
            let soon = store
                .load_session("k", LIFETIME, start + Duration::seconds(59))
                .unwrap()
                .unwrap();
            assert!(!soon.refresh_due, "{}", store.engine_name());
            let later = store
                .load_session("k", LIFETIME, start + Duration::minutes(1))
                .unwrap()
                .unwrap();
            assert!(later.refresh_due);
            assert!(
                store
                    .refresh_session("k", LIFETIME, start + Duration::minutes(1))
                    .unwrap()
            );
            let refreshed = store
                .load_session("k", LIFETIME, start + Duration::minutes(1))
                .unwrap()
                .unwrap();
            assert!(!refreshed.refresh_due);
        }
    }

    #[test]
    fn a_signed_out_session_ends_at_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            start_session(&store, now);
            assert!(use_session(&store, "k", now), "loaded, and so cached on SQLite");
            store.delete_session("k").unwrap();
            assert!(!use_session(&store, "k", now), "{}", store.engine_name());
            assert!(
                !store.update_session("k", "{}", None, LIFETIME, now).unwrap(),
                "an update cannot bring it back"
            );
            assert!(!store.refresh_session("k", LIFETIME, now).unwrap());
        }
    }

    /// Two servers on one database: a sign-out on one holds on the other by its
    /// next refresh at the latest, and at its very next request when the engine
    /// keeps no copy of the sessions in the process (PostgreSQL).
    #[test]
    fn a_session_ended_by_another_server_ends_here_by_the_next_refresh() {
        for test in each_engine() {
            let store = &test.store;
            let elsewhere = test.another_process();
            let start = OffsetDateTime::now_utc();
            start_session(store, start);
            assert!(use_session(store, "k", start));
            elsewhere.delete_session("k").unwrap();
            let soon = use_session(store, "k", start + Duration::seconds(30));
            if store.on_worker().is_none() {
                assert!(!soon, "{}", store.engine_name());
            }
            // Once the idle expiry is due to move, the database tells the truth.
            assert!(!use_session(store, "k", start + Duration::minutes(1)));
            assert!(!use_session(store, "k", start + Duration::minutes(1)));
        }
    }

    #[test]
    fn a_password_change_ends_the_accounts_sessions() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = new_account(&store, "ann@example.com", "hash", now);
            let owner = SignedInAs {
                user,
                credentials_version: 0,
            };
            assert!(
                store
                    .insert_session("k", "{}", Some(owner), LIFETIME, now)
                    .unwrap()
            );
            assert!(use_session(&store, "k", now), "loaded, and so cached on SQLite");
            assert_eq!(
                store
                    .change_password(user, "new hash", time::OffsetDateTime::now_utc())
                    .unwrap(),
                1
            );
            assert!(!use_session(&store, "k", now), "{}", store.engine_name());
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
    }

    /// Sign-ins that checked the old password race a password change: whichever
    /// order they land in, none of their sessions outlives the change.
    #[test]
    fn no_sign_in_racing_a_password_change_outlives_it() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = new_account(&store, "ann@example.com", "hash", now);
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
                store
                    .change_password(user, "new hash", time::OffsetDateTime::now_utc())
                    .unwrap();
            });
            for i in 0..SIGN_INS {
                assert!(
                    !use_session(&store, &format!("k{i}"), now),
                    "{}: k{i}",
                    store.engine_name()
                );
            }
        }
    }

    #[test]
    fn a_changed_state_is_read_back() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            start_session(&store, now);
            assert!(use_session(&store, "k", now), "loaded, and so cached on SQLite");
            let changed = r#"{"csrf":"\"t\""}"#;
            assert!(store.update_session("k", changed, None, LIFETIME, now).unwrap());
            let loaded = store.load_session("k", LIFETIME, now).unwrap().unwrap();
            assert_eq!(&*loaded.state, changed, "{}", store.engine_name());
        }
    }

    #[test]
    fn a_state_is_kept_as_the_session_layer_wrote_it() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let state = "not JSON, and the store does not mind: ünïcødé";
            assert!(store.insert_session("k", state, None, LIFETIME, now).unwrap());
            let loaded = store.load_session("k", LIFETIME, now).unwrap().unwrap();
            assert_eq!(&*loaded.state, state, "{}", store.engine_name());
        }
    }

    #[test]
    fn purging_removes_only_dead_sessions() {
        for TestStore { store, .. } in each_engine() {
            let start = OffsetDateTime::now_utc();
            store.insert_session("old", "{}", None, LIFETIME, start).unwrap();
            let later = start + Duration::minutes(40);
            store.insert_session("new", "{}", None, LIFETIME, later).unwrap();
            // Signed in over twelve hours before `later`, its idle expiry still ahead.
            let born = later - LIFETIME.absolute - Duration::minutes(1);
            let long_idle = SessionLifetime {
                idle: Duration::hours(13),
                ..LIFETIME
            };
            store.insert_session("aged", "{}", None, long_idle, born).unwrap();
            // "old" idled out, "aged" is past its absolute lifetime however fresh.
            assert_eq!(
                store.purge_expired_sessions(LIFETIME, later).unwrap(),
                2,
                "{}",
                store.engine_name()
            );
            assert!(use_session(&store, "new", later));
            assert_eq!(store.purge_expired_sessions(LIFETIME, later).unwrap(), 0);
        }
    }
}
