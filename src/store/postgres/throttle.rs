//! Throttle counters: attempts per subject within a window, for every throttled
//! action (sign-ins, current passwords, codes, registrations).
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

use super::{PostgresStore, StoreError, instant, unix};
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

    /// A subject's attempts in its current window, and when that window ends;
    /// `None` when nothing is counted against it now.
    pub fn attempts_counted(
        &self,
        subject: &Subject,
        now: OffsetDateTime,
    ) -> Result<Option<(i64, OffsetDateTime)>, StoreError> {
        let row = self.read(|client| {
            Ok(client.query_opt(
                "SELECT attempts, window_ends FROM throttle_counters
                 WHERE subject = $1 AND window_ends > $2",
                &[&subject.0, &unix(now)],
            )?)
        })?;
        row.map(|row| Ok((row.get(0), instant(row.get(1))?))).transpose()
    }

    /// Forgets a subject's count (an operator lifting a pause); returns the
    /// attempts and window end it had, when it had a live one.
    pub fn clear_attempts(
        &self,
        subject: &Subject,
        now: OffsetDateTime,
    ) -> Result<Option<(i64, OffsetDateTime)>, StoreError> {
        let row = self.locking_transaction(|tx| {
            Ok(tx.query_opt(
                "DELETE FROM throttle_counters WHERE subject = $1 RETURNING attempts, window_ends",
                &[&subject.0],
            )?)
        })?;
        let row = row.map(|row| (row.get::<_, i64>(0), row.get::<_, i64>(1)));
        row.filter(|&(_, ends)| ends > unix(now))
            .map(|(attempts, ends)| Ok((attempts, instant(ends)?)))
            .transpose()
    }

    /// Removes counters whose window has ended (they no longer limit anyone);
    /// returns how many. One statement: a counter that an attempt restarts
    /// meanwhile is checked again as restarted, and kept.
    pub fn purge_throttle_counters(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let now_s = unix(now);
        let purged = self.locking_transaction(|tx| {
            Ok(tx.execute("DELETE FROM throttle_counters WHERE window_ends <= $1", &[&now_s])?)
        })?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::store::test_postgres::test_database;

    const RULE: ThrottleRule = ThrottleRule {
        max_attempts: 3,
        window: Duration::minutes(15),
    };

    fn subject(name: &str) -> Subject {
        Subject(name.to_owned())
    }

    /// `attempts` calls of `reserve_attempt` at once, each on its own thread, each
    /// with the counters `counters_of(i)` names; their answers, in order.
    fn burst(
        store: &PostgresStore,
        attempts: usize,
        counters_of: impl Fn(usize) -> Vec<(Subject, ThrottleRule)> + Sync,
        now: OffsetDateTime,
    ) -> Vec<Option<Duration>> {
        let start = Barrier::new(attempts);
        std::thread::scope(|scope| {
            let runs: Vec<_> = (0..attempts)
                .map(|i| {
                    let (start, counters_of) = (&start, &counters_of);
                    scope.spawn(move || {
                        let counters = counters_of(i);
                        start.wait();
                        store.reserve_attempt(&counters, now).unwrap()
                    })
                })
                .collect();
            runs.into_iter().map(|run| run.join().unwrap()).collect()
        })
    }

    #[test]
    fn a_subject_waits_after_its_attempts_until_the_window_ends() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
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
    fn a_thousand_guesses_at_once_let_through_only_the_rules_attempts() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let account = subject("account:ann@example.com");
        let rule = ThrottleRule {
            max_attempts: 5,
            window: Duration::minutes(15),
        };
        let answers = burst(&store, 1000, |_| vec![(account.clone(), rule)], now);
        let let_through = answers.iter().filter(|answer| answer.is_none()).count();
        assert_eq!(let_through, 5);
        assert!(
            answers
                .iter()
                .flatten()
                .all(|&wait| wait == Duration::minutes(15))
        );
        let counted = store.attempts_counted(&account, now).unwrap();
        assert_eq!(
            counted,
            Some((5, now.replace_nanosecond(0).unwrap() + Duration::minutes(15)))
        );
    }

    /// Attempts naming the same subjects in either order, at once: no deadlock
    /// fails one, and neither subject counts past its rule.
    #[test]
    fn a_burst_on_two_subjects_in_either_order_counts_each_within_its_rule() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let (account, address) = (subject("account:ann@example.com"), subject("address:192.0.2.1"));
        let wide = ThrottleRule {
            max_attempts: 20,
            window: Duration::minutes(15),
        };
        let answers = burst(
            &store,
            200,
            |i| {
                if i % 2 == 0 {
                    vec![(account.clone(), wide), (address.clone(), wide)]
                } else {
                    vec![(address.clone(), wide), (account.clone(), wide)]
                }
            },
            now,
        );
        assert_eq!(answers.iter().filter(|answer| answer.is_none()).count(), 20);
        for who in [&account, &address] {
            assert_eq!(
                store.attempts_counted(who, now).unwrap().map(|(n, _)| n),
                Some(20)
            );
        }
    }

    #[test]
    fn a_paused_account_stays_paused_under_a_burst() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let start = OffsetDateTime::now_utc();
        let (account, address) = (subject("account:ann@example.com"), subject("address:192.0.2.1"));
        for _ in 0..3 {
            assert_eq!(
                store.reserve_attempt(&[(account.clone(), RULE)], start).unwrap(),
                None
            );
        }
        let paused = store.attempts_counted(&account, start).unwrap();
        let later = start + Duration::minutes(5);
        let answers = burst(
            &store,
            200,
            |_| vec![(address.clone(), RULE), (account.clone(), RULE)],
            later,
        );
        assert!(
            answers
                .iter()
                .all(|&answer| answer == Some(Duration::minutes(10)))
        );
        assert_eq!(store.attempts_counted(&account, later).unwrap(), paused);
        assert_eq!(store.attempts_counted(&address, later).unwrap(), None);
    }

    #[test]
    fn a_refused_attempt_counts_against_no_subject() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let (busy, other) = (subject("address:192.0.2.1"), subject("account:bo@example.com"));
        for _ in 0..3 {
            store.reserve_attempt(&[(busy.clone(), RULE)], now).unwrap();
        }
        let both = [(other.clone(), RULE), (busy, RULE)];
        assert!(store.reserve_attempt(&both, now).unwrap().is_some());
        assert_eq!(store.attempts_counted(&other, now).unwrap(), None);
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
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
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
    fn an_operator_clears_a_pause() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let who = [(subject("account:ann@example.com"), RULE)];
        for _ in 0..3 {
            store.reserve_attempt(&who, now).unwrap();
        }
        let cleared = store.clear_attempts(&who[0].0, now).unwrap();
        assert_eq!(cleared.map(|(attempts, _)| attempts), Some(3));
        assert_eq!(store.reserve_attempt(&who, now).unwrap(), None);
        assert_eq!(store.clear_attempts(&subject("nobody"), now).unwrap(), None);
    }

    #[test]
    fn purging_removes_only_counters_whose_window_ended() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
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
