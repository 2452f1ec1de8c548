//! Counting throttled attempts on PostgreSQL (the rest of the throttle is written
//! once in `store::throttle`).
//!
//! A counter is one hot row: a burst of guesses at one account all land on it at
//! once. Counting and settling are functions in the database
//! (`storecredit_reserve_attempt`, `storecredit_settle_attempt`, in the schema),
//! each one statement: it takes the rows' locks in the subjects' byte order (so
//! calls naming the same subjects cannot deadlock) and holds them only while it
//! runs, never across a round trip, so a burst queues on the lock briefly, each
//! attempt sees the count the one before it left, and none fails for having run
//! beside another.

use time::{Duration, OffsetDateTime};

use super::{PostgresStore, StoreError, unix};
use crate::store::throttle::{Subject, ThrottleRule};

impl PostgresStore {
    /// Counts one attempt against every subject under its rule, in one transaction,
    /// before the attempt's work starts: a burst sent at once is counted like the
    /// same attempts one by one. When any subject has used up its attempts, nothing
    /// is counted and the answer is how long until the last of them may try again.
    pub fn reserve_attempt(
        &self,
        counters: &[(Subject, ThrottleRule)],
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, StoreError> {
        // One rule per subject (the first named), in the subjects' byte order.
        let mut ordered: Vec<&(Subject, ThrottleRule)> = counters.iter().collect();
        ordered.sort_by(|(a, _), (b, _)| a.0.cmp(&b.0));
        ordered.dedup_by(|(a, _), (b, _)| a == b);
        let subjects: Vec<&str> = ordered.iter().map(|(subject, _)| subject.0.as_str()).collect();
        let limits: Vec<i64> = ordered.iter().map(|(_, rule)| rule.max_attempts).collect();
        let windows: Vec<i64> = ordered
            .iter()
            .map(|(_, rule)| rule.window.whole_seconds())
            .collect();
        let wait: Option<i64> = self.one_statement(|client| {
            Ok(client
                .query_one(
                    "SELECT storecredit_reserve_attempt($1, $2, $3, $4)",
                    &[&subjects, &limits, &windows, &unix(now)],
                )?
                .get(0))
        })?;
        Ok(wait.map(Duration::seconds))
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
        let cleared: Vec<&str> = cleared.iter().map(|subject| subject.0.as_str()).collect();
        let refunded: Vec<&str> = refunded.iter().map(|subject| subject.0.as_str()).collect();
        self.one_statement(|client| {
            client.execute(
                "SELECT storecredit_settle_attempt($1, $2, $3)",
                &[&cleared, &refunded, &unix(now)],
            )?;
            Ok(())
        })
    }
}
