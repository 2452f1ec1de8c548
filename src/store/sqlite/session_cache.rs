//! This process's copy of the sessions it has seen, so that a signed-in request
//! usually learns who is asking without a database read.
//!
//! The database stays the truth; the copy is exact for this process:
//! - the write path forgets every session a transaction touched, after it commits
//!   and before its caller can answer anyone (see `write_path`);
//! - a read that missed does not keep what it read if any session was forgotten
//!   meanwhile (the epoch check), so a row read just before a sign-out cannot be
//!   put back after it.
//!
//! No other process writes sessions (no operator command touches them). Should one
//! ever, this process notices within a minute: an entry is used only until the
//! session's idle expiry is due to move forward, which goes to the database.

use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use crate::store::sessions::SessionRow;

pub(crate) struct SessionCache {
    inner: Mutex<Inner>,
}

struct Inner {
    /// Moves on every forget, so a read that began before it can tell.
    epoch: u64,
    /// When full, the session used least recently makes room.
    entries: LruCache<Box<str>, SessionRow>,
}

impl SessionCache {
    /// A copy of at most `capacity` sessions (a few hundred bytes each).
    pub fn new(capacity: usize) -> SessionCache {
        SessionCache {
            inner: Mutex::new(Inner {
                epoch: 0,
                entries: LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No critical section below can leave the map half changed.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, key: &str) -> Option<SessionRow> {
        self.lock().entries.get(key).cloned()
    }

    /// Taken before reading a row from the database, for [`Self::keep_unless_changed`].
    pub fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Keeps a row read from the database, unless a session write happened since
    /// `epoch` was taken: then the row may already be out of date.
    pub fn keep_unless_changed(&self, key: &str, row: SessionRow, epoch: u64) {
        let mut inner = self.lock();
        if inner.epoch == epoch {
            inner.entries.put(key.into(), row);
        }
    }

    /// Forgets the sessions named (the write path's, after a transaction touched
    /// them): their next use reads the database.
    pub fn forget(&self, keys: Vec<Box<str>>) {
        if keys.is_empty() {
            return;
        }
        let mut inner = self.lock();
        inner.epoch += 1;
        for key in keys {
            inner.entries.pop(&key);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user_id: i64) -> SessionRow {
        SessionRow {
            state: std::sync::Arc::default(),
            user_id: Some(user_id),
            created_at: 0,
            expires_at: 100,
        }
    }

    /// Keeps a row as a read that raced nothing does.
    fn keep(cache: &SessionCache, key: &str, row: SessionRow) {
        cache.keep_unless_changed(key, row, cache.epoch());
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = SessionCache::new(10);
        let before_read = cache.epoch();
        // …the row is read from the database, then the session ends elsewhere…
        cache.forget(vec!["k".into()]);
        cache.keep_unless_changed("k", row(1), before_read);
        assert_eq!(cache.get("k"), None);

        let fresh = cache.epoch();
        cache.keep_unless_changed("k", row(1), fresh);
        assert_eq!(cache.get("k"), Some(row(1)));
    }

    #[test]
    fn forgetting_sessions_forgets_those_named_only() {
        let cache = SessionCache::new(10);
        keep(&cache, "a", row(1));
        keep(&cache, "b", row(1));
        keep(&cache, "c", row(2));
        cache.forget(vec!["a".into(), "b".into()]);
        assert_eq!((cache.get("a"), cache.get("b")), (None, None));
        assert_eq!(cache.get("c"), Some(row(2)));
    }

    #[test]
    fn forgetting_nothing_leaves_a_read_in_flight_free_to_keep_its_row() {
        let cache = SessionCache::new(10);
        let before_read = cache.epoch();
        cache.forget(Vec::new());
        cache.keep_unless_changed("k", row(1), before_read);
        assert_eq!(cache.get("k"), Some(row(1)));
    }

    #[test]
    fn the_session_used_least_recently_makes_room() {
        let cache = SessionCache::new(2);
        keep(&cache, "a", row(1));
        keep(&cache, "b", row(2));
        assert!(cache.get("a").is_some(), "a is used again");
        keep(&cache, "c", row(3));
        assert_eq!(cache.get("b"), None);
        assert_eq!((cache.get("a"), cache.get("c")), (Some(row(1)), Some(row(3))));
    }

    #[test]
    fn the_copy_never_grows_past_its_capacity() {
        let cache = SessionCache::new(3);
        for n in 0..10 {
            keep(&cache, &format!("k{n}"), row(n));
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get("k9"), Some(row(9)), "the newest is kept");
    }
}
