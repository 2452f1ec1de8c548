//! This process's copy of the sessions it has seen, so that a signed-in request
//! usually learns who is asking without a database read.
//!
//! The database stays the truth; the copy is exact for this process:
//! - every session write in [`Store`](super::Store) forgets the entry after it
//!   commits, before its response can be sent;
//! - a read that missed does not keep what it read if any session write happened
//!   meanwhile (the epoch check), so a row read just before a sign-out cannot be
//!   put back after it.
//!
//! No other process writes sessions (no operator command touches them). Should one
//! ever, this process notices within a minute: an entry is used only until the
//! session's idle expiry is due to move forward, which goes to the database.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use super::sessions::SessionState;

/// What a session row holds, as cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRow {
    /// Parsed once, when read or written.
    pub state: Arc<SessionState>,
    pub user_id: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
}

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

    /// Keeps a session just created: no earlier read can have seen its key.
    pub fn keep_new(&self, key: &str, row: SessionRow) {
        self.lock().entries.put(key.into(), row);
    }

    /// After a session row changed or went: the next use reads the database.
    pub fn forget(&self, key: &str) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.entries.pop(key);
    }

    /// After every session of an account ended (a password change).
    pub fn forget_user(&self, user_id: i64) {
        let mut inner = self.lock();
        inner.epoch += 1;
        forget_matching(&mut inner.entries, |row| row.user_id == Some(user_id));
    }

    /// Drops entries for which `dead` holds (after the periodic purge of the rows).
    pub fn forget_where(&self, dead: impl Fn(&SessionRow) -> bool) {
        let mut inner = self.lock();
        inner.epoch += 1;
        forget_matching(&mut inner.entries, dead);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

/// Drops every entry for which `matches` holds.
fn forget_matching(entries: &mut LruCache<Box<str>, SessionRow>, matches: impl Fn(&SessionRow) -> bool) {
    let gone: Vec<Box<str>> = entries
        .iter()
        .filter(|(_, row)| matches(row))
        .map(|(key, _)| key.clone())
        .collect();
    for key in gone {
        entries.pop(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user_id: i64) -> SessionRow {
        SessionRow {
            state: Arc::default(),
            user_id: Some(user_id),
            created_at: 0,
            expires_at: 100,
        }
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = SessionCache::new(10);
        let before_read = cache.epoch();
        // …the row is read from the database, then the session ends elsewhere…
        cache.forget("k");
        cache.keep_unless_changed("k", row(1), before_read);
        assert_eq!(cache.get("k"), None);

        let fresh = cache.epoch();
        cache.keep_unless_changed("k", row(1), fresh);
        assert_eq!(cache.get("k"), Some(row(1)));
    }

    #[test]
    fn forgetting_an_account_forgets_all_its_sessions_only() {
        let cache = SessionCache::new(10);
        cache.keep_new("a", row(1));
        cache.keep_new("b", row(1));
        cache.keep_new("c", row(2));
        cache.forget_user(1);
        assert_eq!((cache.get("a"), cache.get("b")), (None, None));
        assert_eq!(cache.get("c"), Some(row(2)));
    }

    #[test]
    fn the_session_used_least_recently_makes_room() {
        let cache = SessionCache::new(2);
        cache.keep_new("a", row(1));
        cache.keep_new("b", row(2));
        assert!(cache.get("a").is_some(), "a is used again");
        cache.keep_new("c", row(3));
        assert_eq!(cache.get("b"), None);
        assert_eq!((cache.get("a"), cache.get("c")), (Some(row(1)), Some(row(3))));
    }

    #[test]
    fn the_copy_never_grows_past_its_capacity() {
        let cache = SessionCache::new(3);
        for n in 0..10 {
            cache.keep_new(&format!("k{n}"), row(n));
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get("k9"), Some(row(9)), "the newest is kept");
    }
}
