//! Throttle counters: attempts per subject within a window, for every throttled
//! action (sign-ins, current passwords, codes, registrations).
//!
//! Counting an attempt ([`Store::reserve_attempt`]) and settling a successful one
//! ([`Store::settle_successful_attempt`]) are each engine's own: a counter is one
//! hot row that a burst of guesses hits at once, and PostgreSQL counts in
//! functions of the schema that lock the counters in the subjects' byte order,
//! while SQLite has its one writer. What is written here once reads, forgets or
//! purges counters, one statement each.

use time::{Duration, OffsetDateTime};

use super::audit::{self, AuditAction, Change};
use super::sql::{sql, unix};
use super::{Store, StoreError};
use crate::domain::{Actor, UserId};

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

impl Store {
    /// A subject's attempts in its current window, and when that window ends;
    /// `None` when nothing is counted against it now.
    pub fn attempts_counted(
        &self,
        subject: &Subject,
        now: OffsetDateTime,
    ) -> Result<Option<(i64, OffsetDateTime)>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(
                    "SELECT attempts, window_ends FROM throttle_counters
                     WHERE subject = $1 AND window_ends > $2"
                ),
                &[&subject.0, &unix(now)],
                |row| Ok((row.get(0)?, row.instant(1)?)),
            )
        })
    }

    /// Forgets a subject's count (staff or an operator lifting a pause on
    /// `customer`'s sign-in), with its audit entry; returns the attempts and window
    /// end it had, when it had a live one.
    pub fn clear_attempts(
        &self,
        actor: &Actor,
        customer: UserId,
        subject: &Subject,
        now: OffsetDateTime,
    ) -> Result<Option<(i64, OffsetDateTime)>, StoreError> {
        let removed = self.write(|connection| {
            let removed = connection.query_opt(
                sql!("DELETE FROM throttle_counters WHERE subject = $1 RETURNING attempts, window_ends"),
                &[&subject.0],
                |row| Ok((row.get::<i64>(0)?, row.get::<i64>(1)?)),
            )?;
            let live = removed.filter(|&(_, ends)| ends > unix(now));
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::AccountUnlock, format!("customer:{}", customer.0))
                    .customer(customer)
                    .before(match live {
                        Some((attempts, _)) => format!("{attempts} failed sign-in attempts counted"),
                        None => "not paused".to_owned(),
                    })
                    .after("open"),
                now,
            )?;
            Ok::<_, StoreError>(live)
        })?;
        removed
            .map(|(attempts, ends)| Ok((attempts, super::sql::instant(ends)?)))
            .transpose()
    }

    /// Removes counters whose window has ended (they no longer limit anyone);
    /// returns how many. One statement: on PostgreSQL a counter that an attempt
    /// restarts meanwhile is checked again as restarted, and kept.
    pub fn purge_throttle_counters(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let purged = self.write_hot(|connection| {
            connection.execute(
                sql!("DELETE FROM throttle_counters WHERE window_ends <= $1"),
                &[&unix(now)],
            )
        })?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::store::testing::{TestStore, each_engine, tester};

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
        store: &Store,
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
        for TestStore { store, .. } in each_engine() {
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
            assert_eq!(refused, Some(Duration::minutes(12)), "{}", store.engine_name());
            // A new window starts counting from one again.
            let later = start + Duration::minutes(15);
            for i in 0..3 {
                assert_eq!(store.reserve_attempt(&who, later).unwrap(), None, "{i}");
            }
            assert!(store.reserve_attempt(&who, later).unwrap().is_some());
        }
    }

    #[test]
    fn a_subject_named_twice_is_counted_once_under_the_first_rule() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = subject("account:ann@example.com");
            let strict = ThrottleRule {
                max_attempts: 1,
                ..RULE
            };
            let twice = [(ann.clone(), RULE), (ann.clone(), strict)];
            assert_eq!(store.reserve_attempt(&twice, now).unwrap(), None);
            let counted = store.attempts_counted(&ann, now).unwrap();
            assert_eq!(counted.map(|(n, _)| n), Some(1), "{}", store.engine_name());
            // Under the first rule named, three attempts: two remain.
            assert_eq!(store.reserve_attempt(&twice, now).unwrap(), None);
            assert_eq!(store.reserve_attempt(&twice, now).unwrap(), None);
            assert!(store.reserve_attempt(&twice, now).unwrap().is_some());
        }
    }

    #[test]
    fn a_thousand_guesses_at_once_let_through_only_the_rules_attempts() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let account = subject("account:ann@example.com");
            let rule = ThrottleRule {
                max_attempts: 5,
                window: Duration::minutes(15),
            };
            let answers = burst(&store, 1000, |_| vec![(account.clone(), rule)], now);
            let let_through = answers.iter().filter(|answer| answer.is_none()).count();
            assert_eq!(let_through, 5, "{}", store.engine_name());
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
    }

    /// Attempts naming the same subjects in either order, at once: no deadlock
    /// fails one, and neither subject counts past its rule.
    #[test]
    fn a_burst_on_two_subjects_in_either_order_counts_each_within_its_rule() {
        for TestStore { store, .. } in each_engine() {
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
            assert_eq!(
                answers.iter().filter(|answer| answer.is_none()).count(),
                20,
                "{}",
                store.engine_name()
            );
            for who in [&account, &address] {
                assert_eq!(
                    store.attempts_counted(who, now).unwrap().map(|(n, _)| n),
                    Some(20)
                );
            }
        }
    }

    #[test]
    fn a_paused_account_stays_paused_under_a_burst() {
        for TestStore { store, .. } in each_engine() {
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
                    .all(|&answer| answer == Some(Duration::minutes(10))),
                "{}",
                store.engine_name()
            );
            assert_eq!(store.attempts_counted(&account, later).unwrap(), paused);
            assert_eq!(store.attempts_counted(&address, later).unwrap(), None);
        }
    }

    #[test]
    fn a_refused_attempt_counts_against_no_subject() {
        for TestStore { store, .. } in each_engine() {
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
                    "{}: {i}",
                    store.engine_name()
                );
            }
        }
    }

    #[test]
    fn a_success_clears_or_refunds_its_attempt() {
        for TestStore { store, .. } in each_engine() {
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
            assert_eq!(store.attempts_counted(&account, now).unwrap(), None);
            assert_eq!(
                store.attempts_counted(&address, now).unwrap().map(|(n, _)| n),
                Some(2),
                "{}",
                store.engine_name()
            );
            assert_eq!(store.reserve_attempt(&both, now).unwrap(), None);
            assert!(store.reserve_attempt(&both, now).unwrap().is_some());
            // A subject both cleared and refunded is cleared.
            store
                .settle_successful_attempt(
                    std::slice::from_ref(&address),
                    std::slice::from_ref(&address),
                    now,
                )
                .unwrap();
            assert_eq!(store.attempts_counted(&address, now).unwrap(), None);
        }
    }

    #[test]
    fn an_operator_clears_a_pause() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let who = [(subject("account:ann@example.com"), RULE)];
            for _ in 0..3 {
                store.reserve_attempt(&who, now).unwrap();
            }
            let cleared = store
                .clear_attempts(&tester(), UserId(1), &who[0].0, now)
                .unwrap();
            assert_eq!(
                cleared,
                Some((3, now.replace_nanosecond(0).unwrap() + RULE.window)),
                "{}",
                store.engine_name()
            );
            assert_eq!(store.reserve_attempt(&who, now).unwrap(), None);
            assert_eq!(
                store
                    .clear_attempts(&tester(), UserId(1), &subject("nobody"), now)
                    .unwrap(),
                None
            );
            // A window that has ended is forgotten, and reported as nothing.
            let later = now + RULE.window;
            assert_eq!(
                store
                    .clear_attempts(&tester(), UserId(1), &who[0].0, later)
                    .unwrap(),
                None
            );
            assert_eq!(store.attempts_counted(&who[0].0, now).unwrap(), None);
        }
    }

    #[test]
    fn purging_removes_only_counters_whose_window_ended() {
        for TestStore { store, .. } in each_engine() {
            let start = OffsetDateTime::now_utc();
            store.reserve_attempt(&[(subject("old"), RULE)], start).unwrap();
            let later = start + Duration::minutes(10);
            store.reserve_attempt(&[(subject("new"), RULE)], later).unwrap();
            assert_eq!(
                store
                    .purge_throttle_counters(later + Duration::minutes(6))
                    .unwrap(),
                1,
                "{}",
                store.engine_name()
            );
            assert_eq!(
                store
                    .purge_throttle_counters(later + Duration::minutes(15))
                    .unwrap(),
                1
            );
        }
    }
}
