//! Throttle counters: attempts per subject within a window, for every throttled
//! action (sign-ins, current passwords, codes, registrations).

use rusqlite::{OptionalExtension, params};
use time::{Duration, OffsetDateTime};

use super::{SqliteStore, StoreError, unix};

/// How many attempts a subject may make within `window`; past that it waits until
/// the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    pub max_attempts: i64,
    pub window: Duration,
}

/// What is counted: an opaque key such as `account:ann@example.com`. The auth layer
/// names subjects; the store only counts them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject(pub String);

impl SqliteStore {
    /// Counts one attempt against every subject under its rule, in one transaction,
    /// before the attempt's work starts: a burst sent at once is counted like the
    /// same attempts one by one. When any subject has used up its attempts, nothing
    /// is counted and the answer is how long until the last of them may try again.
    pub fn reserve_attempt(
        &self,
        counters: &[(Subject, ThrottleRule)],
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, StoreError> {
        let now_s = unix(now);
        self.write(|tx| {
            let mut wait: Option<i64> = None;
            for (subject, rule) in counters {
                let row: Option<(i64, i64)> = tx
                    .prepare_cached("SELECT attempts, window_ends FROM throttle_counters WHERE subject = ?1")?
                    .query_row([&subject.0], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                if let Some((attempts, window_ends)) = row
                    && window_ends > now_s
                    && attempts >= rule.max_attempts
                {
                    wait = Some(wait.map_or(window_ends, |w| w.max(window_ends)));
                }
            }
            if let Some(until) = wait {
                return Ok(Some(Duration::seconds(until - now_s)));
            }
            for (subject, rule) in counters {
                // A window that has run out starts over at this attempt.
                tx.prepare_cached(
                    "INSERT INTO throttle_counters (subject, attempts, window_ends) VALUES (?1, 1, ?2)
                     ON CONFLICT (subject) DO UPDATE SET
                         attempts = CASE WHEN window_ends <= ?3 THEN 1 ELSE attempts + 1 END,
                         window_ends = CASE WHEN window_ends <= ?3 THEN ?2 ELSE window_ends END",
                )?
                .execute(params![subject.0, now_s + rule.window.whole_seconds(), now_s])?;
            }
            Ok(None)
        })
    }

    /// After an attempt succeeded: `cleared` subjects start from nothing (an account
    /// that signed in), `refunded` ones get this attempt back (the address it came
    /// from), so only failures add up.
    pub fn settle_successful_attempt(
        &self,
        cleared: &[Subject],
        refunded: &[Subject],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            for subject in cleared {
                tx.prepare_cached("DELETE FROM throttle_counters WHERE subject = ?1")?
                    .execute([&subject.0])?;
            }
            for subject in refunded {
                tx.prepare_cached(
                    "UPDATE throttle_counters SET attempts = attempts - 1
                     WHERE subject = ?1 AND attempts > 0 AND window_ends > ?2",
                )?
                .execute(params![subject.0, unix(now)])?;
            }
            Ok(())
        })
    }

    /// A subject's attempts in its current window, and when that window ends;
    /// `None` when nothing is counted against it now.
    pub fn attempts_counted(
        &self,
        subject: &Subject,
        now: OffsetDateTime,
    ) -> Result<Option<(i64, OffsetDateTime)>, StoreError> {
        self.read(|connection| {
            let row: Option<(i64, i64)> = connection
                .prepare_cached(
                    "SELECT attempts, window_ends FROM throttle_counters
                     WHERE subject = ?1 AND window_ends > ?2",
                )?
                .query_row(params![subject.0, unix(now)], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()?;
            Ok(row
                .map(|(attempts, ends)| Ok::<_, rusqlite::Error>((attempts, super::instant(ends)?)))
                .transpose()?)
        })
    }

    /// Forgets a subject's count (an operator lifting a pause); returns the
    /// attempts and window end it had, when it had a live one.
    pub fn clear_attempts(
        &self,
        subject: &Subject,
        now: OffsetDateTime,
    ) -> Result<Option<(i64, OffsetDateTime)>, StoreError> {
        self.write(|tx| {
            let row: Option<(i64, i64)> = tx
                .prepare_cached(
                    "DELETE FROM throttle_counters WHERE subject = ?1 RETURNING attempts, window_ends",
                )?
                .query_row([&subject.0], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            Ok(row
                .filter(|(_, ends)| *ends > unix(now))
                .map(|(attempts, ends)| Ok::<_, rusqlite::Error>((attempts, super::instant(ends)?)))
                .transpose()?)
        })
    }

    /// Removes counters whose window has ended (they no longer limit anyone);
    /// returns how many.
    pub fn purge_throttle_counters(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM throttle_counters WHERE window_ends <= ?1")?
                .execute([unix(now)])?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::testing::temporary_store;

    const RULE: ThrottleRule = ThrottleRule {
        max_attempts: 3,
        window: Duration::minutes(15),
    };

    fn subject(name: &str) -> Subject {
        Subject(name.to_owned())
    }

    #[test]
    fn a_subject_waits_after_its_attempts_until_the_window_ends() {
        let (store, _folder) = temporary_store();
        let start = OffsetDateTime::now_utc();
        let who = [(subject("account:ann@example.com"), RULE)];
        for i in 0..3 {
            assert_eq!(
                store.reserve_attempt(&who, start + Duration::minutes(i)).unwrap(),
                None,
                "{i}"
            );
        }
        let refused = store.reserve_attempt(&who, start + Duration::minutes(3)).unwrap();
        assert_eq!(refused, Some(Duration::minutes(12)));
        // A new window starts counting from one again.
        let later = start + Duration::minutes(15);
        for i in 0..3 {
            assert_eq!(store.reserve_attempt(&who, later).unwrap(), None, "{i}");
        }
        assert!(store.reserve_attempt(&who, later).unwrap().is_some());
    }

    #[test]
    fn a_refused_attempt_counts_against_no_subject() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        let (busy, other) = (subject("address:192.0.2.1"), subject("account:bo@example.com"));
        for _ in 0..3 {
            store.reserve_attempt(&[(busy.clone(), RULE)], now).unwrap();
        }
        let both = [(other.clone(), RULE), (busy, RULE)];
        assert!(store.reserve_attempt(&both, now).unwrap().is_some());
        // `other` was not counted by the refused attempt: three attempts remain.
        for i in 0..3 {
            assert_eq!(
                store.reserve_attempt(&[(other.clone(), RULE)], now).unwrap(),
                None,
                "{i}"
            );
        }
    }

    #[test]
    fn a_success_clears_or_refunds_its_attempt() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        let (account, address) = (subject("account:ann@example.com"), subject("address:192.0.2.1"));
        let both = [(account.clone(), RULE), (address.clone(), RULE)];
        for _ in 0..3 {
            store.reserve_attempt(&both, now).unwrap();
        }
        store
            .settle_successful_attempt(
                std::slice::from_ref(&account),
                std::slice::from_ref(&address),
                now,
            )
            .unwrap();
        // The account starts over; the address has one attempt back.
        assert_eq!(store.reserve_attempt(&both, now).unwrap(), None);
        assert!(store.reserve_attempt(&both, now).unwrap().is_some());
    }

    #[test]
    fn purging_removes_only_counters_whose_window_ended() {
        let (store, _folder) = temporary_store();
        let start = OffsetDateTime::now_utc();
        store.reserve_attempt(&[(subject("old"), RULE)], start).unwrap();
        let later = start + Duration::minutes(10);
        store.reserve_attempt(&[(subject("new"), RULE)], later).unwrap();
        assert_eq!(
            store
                .purge_throttle_counters(later + Duration::minutes(6))
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .purge_throttle_counters(later + Duration::minutes(15))
                .unwrap(),
            1
        );
    }
}
