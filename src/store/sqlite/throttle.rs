//! Counting throttled attempts on SQLite (the rest of the throttle is written once
//! in `store::throttle`): the one writer runs each count or settlement whole, so a
//! burst sent at once is counted one attempt after another.

use rusqlite::{OptionalExtension, params};
use time::{Duration, OffsetDateTime};

use super::{SqliteStore, StoreError, unix};
use crate::store::throttle::{Subject, ThrottleRule};

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
        // One rule per subject, the first named, as on PostgreSQL: a subject named
        // twice is still one attempt.
        let mut named: Vec<&(Subject, ThrottleRule)> = Vec::with_capacity(counters.len());
        for counter in counters {
            if !named.iter().any(|(subject, _)| *subject == counter.0) {
                named.push(counter);
            }
        }
        self.write(|tx| {
            let mut wait: Option<i64> = None;
            for (subject, rule) in &named {
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
            for (subject, rule) in &named {
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
    /// from), so only failures add up. A subject in both is cleared.
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
            for (i, subject) in refunded.iter().enumerate() {
                // Named twice, refunded once (as on PostgreSQL).
                if refunded[..i].contains(subject) {
                    continue;
                }
                tx.prepare_cached(
                    "UPDATE throttle_counters SET attempts = attempts - 1
                     WHERE subject = ?1 AND attempts > 0 AND window_ends > ?2",
                )?
                .execute(params![subject.0, unix(now)])?;
            }
            Ok(())
        })
    }
}
