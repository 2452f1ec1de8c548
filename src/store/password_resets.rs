//! "Forgot your password?": one-time reset tokens, stored as hashes.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::audit::{self, AuditAction, Change};
use super::sql::{Connection, sql, unix};
use super::users::{PasswordChange, replace_password};
use super::{Store, StoreError, outbox};
use crate::domain::{Actor, Email, UserId};
use crate::mail::messages;

/// How long a reset link works.
pub const RESET_LINK_LIFETIME: Duration = Duration::minutes(30);

/// A new token: 32 random letters and digits (about 190 bits).
pub(super) fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// What is stored for a token: its SHA-256, so a copy of the database cannot be
/// used to reset anyone's password. A token is 190 random bits, so no salt or
/// slow hash is needed.
pub(super) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Queues the message carrying a reset link to `user`.
fn queue_reset_mail(
    connection: &mut dyn Connection,
    user: UserId,
    token: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let recipient = outbox::recipient_in(connection, user)?;
    let link = format!("{}/password/reset/{token}", outbox::site_origin_in(connection)?);
    let mail = messages::password_reset(&recipient, &link, RESET_LINK_LIFETIME.whole_minutes())?;
    outbox::enqueue(connection, &mail, now)?;
    Ok(())
}

fn record_reset_link(
    connection: &mut dyn Connection,
    actor: &Actor,
    user: UserId,
    what: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    audit::record(
        connection,
        actor,
        &Change::new(AuditAction::ResetLink, format!("customer:{}", user.0))
            .customer(user)
            .after(format!(
                "{what} valid {} minutes",
                RESET_LINK_LIFETIME.whole_minutes()
            )),
        now,
    )?;
    Ok(())
}

fn insert_reset(
    connection: &mut dyn Connection,
    user: UserId,
    token: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    connection.execute(
        sql!(
            "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)"
        ),
        &[
            &token_hash(token),
            &user.0,
            &unix(now),
            &unix(now + RESET_LINK_LIFETIME),
        ],
    )?;
    Ok(())
}

impl Store {
    /// Makes a new reset token for `user`, valid for [`RESET_LINK_LIFETIME`]: 32
    /// random letters and digits (about 190 bits), of which only the hash is kept.
    pub fn create_password_reset(&self, user: UserId, now: OffsetDateTime) -> Result<String, StoreError> {
        let token = new_token();
        self.write(|connection| insert_reset(connection, user, &token, now))?;
        Ok(token)
    }

    /// Mails a reset link to the account with `email`, if there is one: the
    /// token and its message are written in one transaction, and the outbox
    /// sends it. Whether an account was found.
    pub fn mail_password_reset(&self, email: &Email, now: OffsetDateTime) -> Result<bool, StoreError> {
        let token = new_token();
        self.write(|connection| {
            let Some(user) = connection.query_opt(
                sql!("SELECT id FROM users WHERE email = $1"),
                &[&email.as_str()],
                |row| Ok(UserId(row.get(0)?)),
            )?
            else {
                return Ok(false);
            };
            insert_reset(connection, user, &token, now)?;
            queue_reset_mail(connection, user, &token, now)?;
            Ok(true)
        })
    }

    /// [`Store::create_password_reset`] for an operator handing the link to the
    /// shopper, with its audit entry.
    pub fn issue_reset_link(
        &self,
        actor: &Actor,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let token = new_token();
        self.write(|connection| {
            insert_reset(connection, user, &token, now)?;
            record_reset_link(connection, actor, user, "a reset link", now)
        })?;
        Ok(token)
    }

    /// A reset link staff send to the shopper's own address (never shown to
    /// them: whoever could read it could take the account over), with its audit
    /// entry, in one transaction.
    pub fn mail_reset_link(
        &self,
        actor: &Actor,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let token = new_token();
        self.write(|connection| {
            insert_reset(connection, user, &token, now)?;
            queue_reset_mail(connection, user, &token, now)?;
            record_reset_link(
                connection,
                actor,
                user,
                "a reset link mailed to the customer",
                now,
            )
        })
    }

    /// The account a token would reset, while it is unused and unexpired.
    pub fn password_reset_account(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(
                    "SELECT user_id FROM password_resets
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
                ),
                &[&token_hash(token), &unix(now)],
                |row| Ok(UserId(row.get(0)?)),
            )
        })
    }

    /// Sets a new password with a token, in one transaction: the token is spent,
    /// the account's other tokens dropped, the hash replaced, every session ended.
    /// `None` when the token is unknown, used or expired: nothing changed. Of
    /// several uses of one token at once, one wins.
    pub fn reset_password(
        &self,
        token: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        let (hash, now_at, now) = (token_hash(token), now, unix(now));
        self.write(|connection| {
            let spent = connection.query_opt(
                sql!(
                    "UPDATE password_resets SET used_at = $2
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                     RETURNING user_id"
                ),
                &[&hash, &now],
                |row| Ok(UserId(row.get(0)?)),
            )?;
            let Some(user) = spent else {
                return Ok(None);
            };
            replace_password(
                connection,
                user,
                password_hash,
                PasswordChange::WithAResetLink,
                now_at,
            )?;
            Ok(Some(user))
        })
    }

    /// Removes tokens that can no longer be used; returns how many.
    pub fn purge_password_resets(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let purged = self.write(|connection| {
            connection.execute(
                sql!("DELETE FROM password_resets WHERE expires_at <= $1"),
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
    use crate::domain::Email;
    use crate::store::sessions::{SessionLifetime, SignedInAs};
    use crate::store::testing::{TestStore, each_engine, new_account};

    fn ann(store: &Store, now: OffsetDateTime) -> UserId {
        new_account(store, "ann@example.com", "old hash", now)
    }

    #[test]
    fn a_token_works_once_and_spends_the_accounts_other_tokens() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = ann(&store, now);
            let first = store.create_password_reset(user, now).unwrap();
            let second = store.create_password_reset(user, now).unwrap();
            assert_eq!(store.password_reset_account(&first, now).unwrap(), Some(user));
            assert_eq!(store.password_reset_account(&second, now).unwrap(), Some(user));
            assert_eq!(store.reset_password(&first, "new hash", now).unwrap(), Some(user));
            assert_eq!(store.reset_password(&first, "newer hash", now).unwrap(), None);
            assert_eq!(store.reset_password(&second, "newer hash", now).unwrap(), None);
            assert_eq!(store.password_reset_account(&second, now).unwrap(), None);
            let hash = store.login_of(user).unwrap().unwrap().password_hash;
            assert_eq!(hash, "new hash", "{}", store.engine_name());
        }
    }

    #[test]
    fn a_password_change_spends_the_accounts_tokens() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = ann(&store, now);
            let token = store.create_password_reset(user, now).unwrap();
            store
                .change_password(user, "new hash", time::OffsetDateTime::now_utc())
                .unwrap();
            assert_eq!(store.password_reset_account(&token, now).unwrap(), None);
            assert_eq!(store.reset_password(&token, "newer hash", now).unwrap(), None);
        }
    }

    #[test]
    fn a_token_used_many_times_at_once_works_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = ann(&store, now);
            let token = store.create_password_reset(user, now).unwrap();
            const USES: usize = 16;
            let start = Barrier::new(USES);
            let outcomes: Vec<_> = std::thread::scope(|scope| {
                let uses: Vec<_> = (0..USES)
                    .map(|i| {
                        let (store, start, token) = (&store, &start, &token);
                        scope.spawn(move || {
                            start.wait();
                            store.reset_password(token, &format!("hash {i}"), now).unwrap()
                        })
                    })
                    .collect();
                uses.into_iter().map(|run| run.join().unwrap()).collect()
            });
            let winners: Vec<_> = (0..USES).filter(|&i| outcomes[i] == Some(user)).collect();
            assert_eq!(winners.len(), 1, "{}: {outcomes:?}", store.engine_name());
            assert_eq!(
                outcomes.iter().filter(|outcome| outcome.is_none()).count(),
                USES - 1
            );
            let hash = store.login_of(user).unwrap().unwrap().password_hash;
            assert_eq!(hash, format!("hash {}", winners[0]));
            assert_eq!(
                store
                    .find_login(&Email::parse("ann@example.com").unwrap())
                    .unwrap()
                    .unwrap()
                    .credentials_version,
                1
            );
        }
    }

    #[test]
    fn a_reset_ends_every_session_of_the_account() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = ann(&store, now);
            let lifetime = SessionLifetime {
                idle: time::Duration::minutes(30),
                absolute: time::Duration::hours(12),
            };
            let owner = SignedInAs {
                user,
                credentials_version: 0,
            };
            assert!(
                store
                    .insert_session("k", "{}", Some(owner), lifetime, now)
                    .unwrap()
            );
            assert!(store.load_session("k", lifetime, now).unwrap().is_some());
            if let Some(worker) = store.on_worker() {
                assert!(worker.load_session("k", lifetime, now).unwrap().is_some());
            }
            let token = store.create_password_reset(user, now).unwrap();
            assert_eq!(store.reset_password(&token, "new hash", now).unwrap(), Some(user));
            assert!(
                store.load_session("k", lifetime, now).unwrap().is_none(),
                "{}",
                store.engine_name()
            );
            // SQLite's in-process copy of the sessions forgot it too.
            if let Some(worker) = store.on_worker() {
                assert!(worker.load_session("k", lifetime, now).unwrap().is_none());
            }
        }
    }

    #[test]
    fn a_token_expires_after_thirty_minutes_and_is_purged() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = ann(&store, now);
            let token = store.create_password_reset(user, now).unwrap();
            let late = now + RESET_LINK_LIFETIME;
            assert_eq!(store.password_reset_account(&token, late).unwrap(), None);
            assert_eq!(store.reset_password(&token, "new hash", late).unwrap(), None);
            assert_eq!(store.purge_password_resets(late).unwrap(), 1);
            assert_eq!(store.purge_password_resets(late).unwrap(), 0);
        }
    }

    #[test]
    fn only_the_tokens_hash_is_stored() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = ann(&store, now);
            let token = store.create_password_reset(user, now).unwrap();
            let stored: String = store
                .read(|connection| {
                    connection.query_value(sql!("SELECT token_hash FROM password_resets"), &[])
                })
                .unwrap();
            assert_ne!(stored, token);
            assert_eq!(stored, token_hash(&token));
            assert_eq!(stored.len(), 64);
        }
    }
}
