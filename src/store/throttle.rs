//! The sign-in throttle: failed attempts per account and per client address.

use rusqlite::{OptionalExtension, params};
use time::{Duration, OffsetDateTime};

use super::{Store, StoreError, unix};

/// How many failures a subject may have within `window` before it is blocked
/// until the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    pub max_failures: i64,
    pub window: Duration,
}

/// Who is failing: the account (by the e-mail typed, existing or not, so the
/// throttle reveals nothing) or the client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Account(String),
    Address(String),
}

impl Subject {
    fn key(&self) -> String {
        match self {
            Subject::Account(email) => format!("account:{email}"),
            Subject::Address(address) => format!("address:{address}"),
        }
    }
}

impl Store {
    /// How long until the first of `subjects` that is blocked may try again.
    pub fn signin_blocked_for(
        &self,
        subjects: &[Subject],
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, StoreError> {
        self.read(|connection| {
            let mut statement =
                connection.prepare_cached("SELECT blocked_until FROM signin_failures WHERE subject = ?1")?;
            let mut longest: Option<i64> = None;
            for subject in subjects {
                let blocked_until: Option<Option<i64>> = statement
                    .query_row([subject.key()], |row| row.get(0))
                    .optional()?;
                if let Some(until) = blocked_until.flatten().filter(|until| *until > unix(now)) {
                    longest = Some(longest.map_or(until, |l| l.max(until)));
                }
            }
            Ok(longest.map(|until| Duration::seconds(until - unix(now))))
        })
    }

    /// Counts a failed sign-in against each subject under its rule.
    pub fn record_signin_failure(
        &self,
        subjects: &[(Subject, ThrottleRule)],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            for (subject, rule) in subjects {
                let window_start = unix(now - rule.window);
                // A window that has run out starts over at this failure.
                tx.prepare_cached(
                    "INSERT INTO signin_failures (subject, failures, window_started) VALUES (?1, 1, ?2)
                     ON CONFLICT (subject) DO UPDATE SET
                         failures = CASE WHEN window_started <= ?3 THEN 1 ELSE failures + 1 END,
                         blocked_until = CASE WHEN window_started <= ?3 THEN NULL ELSE blocked_until END,
                         window_started = CASE WHEN window_started <= ?3 THEN ?2 ELSE window_started END",
                )?
                .execute(params![subject.key(), unix(now), window_start])?;
                tx.prepare_cached(
                    "UPDATE signin_failures SET blocked_until = window_started + ?3
                     WHERE subject = ?1 AND failures >= ?2",
                )?
                .execute(params![
                    subject.key(),
                    rule.max_failures,
                    rule.window.whole_seconds()
                ])?;
            }
            Ok(())
        })
    }

    /// Forgets an account's failures after it signs in.
    pub fn clear_signin_failures(&self, subject: &Subject) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM signin_failures WHERE subject = ?1")?
                .execute([subject.key()])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temporary_store;

    const RULE: ThrottleRule = ThrottleRule {
        max_failures: 3,
        window: Duration::minutes(15),
    };

    #[test]
    fn a_subject_is_blocked_after_too_many_failures_until_the_window_ends() {
        let (store, _folder) = temporary_store();
        let start = OffsetDateTime::now_utc();
        let who = Subject::Account("ann@example.com".into());
        for i in 0..3 {
            assert_eq!(
                store
                    .signin_blocked_for(std::slice::from_ref(&who), start)
                    .unwrap(),
                None,
                "{i}"
            );
            store
                .record_signin_failure(&[(who.clone(), RULE)], start + Duration::minutes(i))
                .unwrap();
        }
        let blocked = store
            .signin_blocked_for(std::slice::from_ref(&who), start + Duration::minutes(3))
            .unwrap();
        assert_eq!(blocked, Some(Duration::minutes(12)));
        let later = start + Duration::minutes(15);
        assert_eq!(
            store
                .signin_blocked_for(std::slice::from_ref(&who), later)
                .unwrap(),
            None
        );
        // A new window starts counting from one again.
        store
            .record_signin_failure(&[(who.clone(), RULE)], later)
            .unwrap();
        assert_eq!(
            store
                .signin_blocked_for(std::slice::from_ref(&who), later)
                .unwrap(),
            None
        );
    }

    #[test]
    fn clearing_forgets_the_failures() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        let who = Subject::Address("192.0.2.1".into());
        for _ in 0..3 {
            store.record_signin_failure(&[(who.clone(), RULE)], now).unwrap();
        }
        assert!(
            store
                .signin_blocked_for(std::slice::from_ref(&who), now)
                .unwrap()
                .is_some()
        );
        store.clear_signin_failures(&who).unwrap();
        assert_eq!(
            store.signin_blocked_for(std::slice::from_ref(&who), now).unwrap(),
            None
        );
    }
}
