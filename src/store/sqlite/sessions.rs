//! Sessions on SQLite: loading through this process's copy of the sessions it has
//! seen (the rest of the sessions is written once in `store::sessions`). The copy
//! is kept right by the write path, which forgets every session any statement
//! changed (see `write_path` and `session_cache`).

use time::OffsetDateTime;

use super::{SqliteStore, StoreError};
use crate::store::sessions::{LoadedSession, SessionLifetime, read_session_row};
use crate::store::sql::SqliteConnection;

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
                let read = self
                    .read_here(|connection| read_session_row(&mut SqliteConnection::new(connection), key))?;
                let Some(row) = read else {
                    return Ok(None);
                };
                self.sessions.keep_unless_changed(key, row.clone(), epoch);
                row
            }
        };
        Ok(row.loaded(lifetime, now))
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::store::Store;
    use crate::store::sessions::SignedInAs;
    use crate::store::testing::{new_account, sqlite_store};

    const LIFETIME: SessionLifetime = SessionLifetime {
        idle: Duration::minutes(30),
        absolute: Duration::hours(12),
    };

    /// Session "k": no state yet, nobody signed in.
    fn start_session(store: &Store, now: OffsetDateTime) {
        assert!(store.insert_session("k", "{}", None, LIFETIME, now).unwrap());
    }

    /// Loads on the worker, through the copy, as the session store does:
    /// refreshing the idle expiry when due.
    fn use_session(store: &Store, key: &str, now: OffsetDateTime) -> bool {
        let worker = store.on_worker().expect("SQLite loads on the worker");
        match worker.load_session(key, LIFETIME, now).unwrap() {
            Some(loaded) => !loaded.refresh_due || store.refresh_session(key, LIFETIME, now).unwrap(),
            None => false,
        }
    }

    #[test]
    fn a_refresh_leaves_the_writer_fully_synchronous() {
        // Kept whole: its folder lives as long as it does.
        let test = sqlite_store();
        let store = &test.store;
        let now = OffsetDateTime::now_utc();
        start_session(store, now);
        assert!(
            store
                .refresh_session("k", LIFETIME, now + Duration::minutes(5))
                .unwrap()
        );
        let synchronous: i64 = store
            .sqlite_engine()
            .write(|tx| Ok(tx.query_row("PRAGMA synchronous", [], |row| row.get(0))?))
            .unwrap();
        assert_eq!(synchronous, 2, "FULL");
    }

    /// The cache's bookkeeping is the write path's, keyed off the rows a
    /// transaction touched: a write that never mentions the cache, as a new use
    /// case might, still cannot leave a stale copy behind.
    #[test]
    fn a_session_any_write_changes_is_never_served_from_the_copy() {
        // Kept whole: its folder lives as long as it does.
        let test = sqlite_store();
        let store = &test.store;
        let now = OffsetDateTime::now_utc();
        let user = new_account(store, "ann@example.com", "hash", now);
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
            assert!(use_session(store, key, now), "loaded, and so cached");
        }

        let engine = store.sqlite_engine();
        engine
            .write(|tx| Ok(tx.execute("UPDATE sessions SET state = 'changed' WHERE key = 'k'", [])?))
            .unwrap();
        let loaded = engine.load_session("k", LIFETIME, now).unwrap().unwrap();
        assert_eq!(&*loaded.state, "changed");

        engine
            .write(|tx| Ok(tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.0])?))
            .unwrap();
        assert!(!use_session(store, "k", now));
        assert!(!use_session(store, "other", now));
    }

    #[test]
    fn a_session_write_that_is_rolled_back_leaves_the_copy_right() {
        // Kept whole: its folder lives as long as it does.
        let test = sqlite_store();
        let store = &test.store;
        let now = OffsetDateTime::now_utc();
        start_session(store, now);
        assert!(use_session(store, "k", now));
        let refused: Result<(), StoreError> = store.sqlite_engine().write(|tx| {
            tx.execute("DELETE FROM sessions WHERE key = 'k'", [])?;
            Err(StoreError::Corrupt("stop here".into()))
        });
        assert!(refused.is_err());
        assert!(use_session(store, "k", now));
        store.delete_session("k").unwrap();
        assert!(!use_session(store, "k", now));
    }

    /// No other process writes sessions today; should one, this process's copy
    /// may serve the session until its idle expiry is due to move (a minute at
    /// most), when the database is asked and tells the truth.
    #[test]
    fn a_session_ended_by_another_process_ends_here_by_the_next_refresh() {
        let test = sqlite_store();
        let (store, elsewhere) = (&test.store, test.another_process());
        let start = OffsetDateTime::now_utc();
        start_session(store, start);
        assert!(use_session(store, "k", start));
        elsewhere.delete_session("k").unwrap();
        assert!(use_session(store, "k", start + Duration::seconds(30)));
        assert!(!use_session(store, "k", start + Duration::minutes(1)));
        assert!(!use_session(store, "k", start + Duration::minutes(1)));
    }
}
