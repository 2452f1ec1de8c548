//! Registration by confirmation link (SPEC §9): a registration waits, as a
//! one-time token of which only the hash is kept, until the owner of the
//! address follows the link mailed to it; a known address is told it already
//! has an account instead.

use time::{Duration, OffsetDateTime};

use super::password_resets::{new_token, token_hash};
use super::sql::{Connection, sql, unix};
use super::users::{CreateUserError, insert_user};
use super::{Store, StoreError, outbox};
use crate::domain::{DisplayName, Email, LocalPath, UserId};
use crate::mail::messages::{self, Recipient};

/// How long a confirmation link works.
pub const CONFIRMATION_LINK_LIFETIME: Duration = Duration::hours(24);

/// Which message a registration queued (never shown to the one who typed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationMail {
    /// A new address: a confirmation link.
    ConfirmationLink,
    /// The address has an account: "you already have an account".
    AlreadyRegistered,
}

/// A registration waiting for its link, as the confirmation page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRegistration {
    pub email: String,
    /// The hash of the password typed at registration: the confirmation asks
    /// for it again, so a link from a registration someone else made for this
    /// address cannot make the account with their password.
    pub password_hash: String,
}

/// What following a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The account was made: sign it in and go on to `return_to`.
    Created {
        user: UserId,
        email: Email,
        name: String,
        return_to: LocalPath,
    },
    /// The address got an account meanwhile (an earlier link, an operator): the
    /// link is spent and nothing else changed.
    AddressTaken,
    /// The link is unknown, used or expired: nothing changed.
    Unusable,
}

fn insert_pending(
    connection: &mut dyn Connection,
    token: &str,
    email: &Email,
    name: &DisplayName,
    password_hash: &str,
    return_to: &LocalPath,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    connection.execute(
        sql!(
            "INSERT INTO pending_registrations
                 (token_hash, email, name, password_hash, return_to, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ),
        &[
            &token_hash(token),
            &email.as_str(),
            &name.as_str(),
            &password_hash,
            &return_to.as_str(),
            &unix(now),
            &unix(now + CONFIRMATION_LINK_LIFETIME),
        ],
    )?;
    Ok(())
}

impl Store {
    /// The work a registration form starts, in one transaction, whichever the
    /// address: when it has an account, "you already have an account" is queued
    /// to it and nothing else changes; otherwise a pending registration is kept
    /// (`password_hash` already made, so both cases cost the same) and a
    /// confirmation link valid [`CONFIRMATION_LINK_LIFETIME`] is queued to it.
    pub fn register_or_remind(
        &self,
        email: &Email,
        name: &DisplayName,
        password_hash: &str,
        return_to: &LocalPath,
        now: OffsetDateTime,
    ) -> Result<RegistrationMail, StoreError> {
        let token = new_token();
        self.write(|connection| {
            let origin = outbox::site_origin_in(connection)?;
            let account = connection.query_opt(
                sql!("SELECT id FROM users WHERE email = $1"),
                &[&email.as_str()],
                |row| Ok(UserId(row.get(0)?)),
            )?;
            if let Some(user) = account {
                let recipient = outbox::recipient_in(connection, user)?;
                outbox::enqueue(
                    connection,
                    &messages::already_registered(&recipient, &origin)?,
                    now,
                )?;
                return Ok(RegistrationMail::AlreadyRegistered);
            }
            insert_pending(connection, &token, email, name, password_hash, return_to, now)?;
            // The name typed is not repeated to an address whose owner has not
            // confirmed anything yet.
            let recipient = Recipient {
                user: None,
                email: email.as_str().to_owned(),
                name: String::new(),
            };
            let link = format!("{origin}/register/confirm/{token}");
            let mail =
                messages::confirm_address(&recipient, &link, CONFIRMATION_LINK_LIFETIME.whole_hours())?;
            outbox::enqueue(connection, &mail, now)?;
            Ok(RegistrationMail::ConfirmationLink)
        })
    }

    /// The registration a token would confirm, while it is unused and unexpired.
    pub fn pending_registration(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<PendingRegistration>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(
                    "SELECT email, password_hash FROM pending_registrations
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
                ),
                &[&token_hash(token), &unix(now)],
                |row| {
                    Ok(PendingRegistration {
                        email: row.get(0)?,
                        password_hash: row.get(1)?,
                    })
                },
            )
        })
    }

    /// Follows a confirmation link, in one transaction: the token is spent and
    /// the account made from what was typed. Of several uses of one token at
    /// once, one makes the account and the others find it [`Confirmation::Unusable`].
    pub fn confirm_registration(&self, token: &str, now: OffsetDateTime) -> Result<Confirmation, StoreError> {
        let hash = token_hash(token);
        self.write(|connection| {
            let spent = connection.query_opt(
                sql!(
                    "UPDATE pending_registrations SET used_at = $2
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                     RETURNING email, name, password_hash, return_to"
                ),
                &[&hash, &unix(now)],
                |row| {
                    Ok((
                        row.get::<String>(0)?,
                        row.get::<String>(1)?,
                        row.get::<String>(2)?,
                        row.get::<String>(3)?,
                    ))
                },
            )?;
            let Some((email, name, password_hash, return_to)) = spent else {
                return Ok(Confirmation::Unusable);
            };
            let email = Email::parse(&email)
                .map_err(|e| StoreError::Corrupt(format!("a pending registration's e-mail: {e}")))?;
            let name = DisplayName::parse(&name)
                .map_err(|e| StoreError::Corrupt(format!("a pending registration's name: {e}")))?;
            match insert_user(connection, &email, &name, &password_hash, now) {
                Ok(user) => Ok(Confirmation::Created {
                    user,
                    email,
                    name: name.as_str().to_owned(),
                    return_to: LocalPath::or_home(Some(&return_to)),
                }),
                Err(CreateUserError::EmailTaken) => Ok(Confirmation::AddressTaken),
                Err(CreateUserError::Store(e)) => Err(e),
            }
        })
    }

    /// Removes registrations whose link can no longer be used; returns how many.
    pub fn purge_pending_registrations(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let purged = self.write(|connection| {
            connection.execute(
                sql!("DELETE FROM pending_registrations WHERE expires_at <= $1"),
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
    use crate::store::testing::{TestStore, each_engine, new_account};

    fn email(address: &str) -> Email {
        Email::parse(address).unwrap()
    }

    fn register(store: &Store, address: &str, now: OffsetDateTime) -> RegistrationMail {
        store
            .register_or_remind(
                &email(address),
                &DisplayName::parse("Bea").unwrap(),
                "bea's hash",
                &LocalPath::or_home(Some("/balance")),
                now,
            )
            .unwrap()
    }

    fn count(store: &Store, statement: &super::super::sql::Sql) -> i64 {
        store
            .read(|connection| connection.query_value(statement, &[]))
            .unwrap()
    }

    /// The token in the newest outbox message's text (before it is sent).
    fn mailed_token(store: &Store) -> String {
        let text: String = store
            .read(|connection| {
                connection.query_value(sql!("SELECT text_body FROM outbox ORDER BY id DESC LIMIT 1"), &[])
            })
            .unwrap();
        let start = text.find("/register/confirm/").expect("a link") + "/register/confirm/".len();
        text[start..start + 32].to_owned()
    }

    #[test]
    fn a_new_address_gets_a_link_that_makes_the_account_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            assert_eq!(
                register(&store, "bea@example.com", now),
                RegistrationMail::ConfirmationLink
            );
            assert_eq!(store.user_id_by_email(&email("bea@example.com")).unwrap(), None);
            let token = mailed_token(&store);
            let pending = store.pending_registration(&token, now).unwrap().unwrap();
            assert_eq!(pending.email, "bea@example.com");
            let Confirmation::Created {
                user,
                name,
                return_to,
                ..
            } = store.confirm_registration(&token, now).unwrap()
            else {
                panic!("{}: no account made", store.engine_name());
            };
            assert_eq!(name, "Bea");
            assert_eq!(return_to.as_str(), "/balance");
            let login = store.find_login(&email("bea@example.com")).unwrap().unwrap();
            assert_eq!(
                (login.user_id, login.password_hash.as_str()),
                (user, "bea's hash")
            );
            assert_eq!(
                store.confirm_registration(&token, now).unwrap(),
                Confirmation::Unusable
            );
            assert_eq!(store.pending_registration(&token, now).unwrap(), None);
        }
    }

    #[test]
    fn a_known_address_gets_a_reminder_and_nothing_else_changes() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "ann's hash", now);
            assert_eq!(
                register(&store, "ann@example.com", now),
                RegistrationMail::AlreadyRegistered
            );
            assert_eq!(
                count(&store, sql!("SELECT COUNT(*) FROM pending_registrations")),
                0
            );
            let (kind, user): (String, Option<i64>) = store
                .read(|connection| {
                    connection.query_one(sql!("SELECT kind, user_id FROM outbox"), &[], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                })
                .unwrap();
            assert_eq!((kind.as_str(), user), ("already-registered", Some(ann.0)));
            let login = store.find_login(&email("ann@example.com")).unwrap().unwrap();
            assert_eq!(login.password_hash, "ann's hash");
        }
    }

    #[test]
    fn a_link_to_an_address_that_got_an_account_meanwhile_is_spent_and_makes_none() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            register(&store, "bea@example.com", now);
            let token = mailed_token(&store);
            new_account(&store, "bea@example.com", "other hash", now);
            assert_eq!(
                store.confirm_registration(&token, now).unwrap(),
                Confirmation::AddressTaken
            );
            assert_eq!(
                store.confirm_registration(&token, now).unwrap(),
                Confirmation::Unusable
            );
            let login = store.find_login(&email("bea@example.com")).unwrap().unwrap();
            assert_eq!(login.password_hash, "other hash");
        }
    }

    #[test]
    fn a_link_expires_after_a_day_and_is_purged() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            register(&store, "bea@example.com", now);
            let token = mailed_token(&store);
            let late = now + CONFIRMATION_LINK_LIFETIME;
            assert_eq!(store.pending_registration(&token, late).unwrap(), None);
            assert_eq!(
                store.confirm_registration(&token, late).unwrap(),
                Confirmation::Unusable
            );
            assert_eq!(store.user_id_by_email(&email("bea@example.com")).unwrap(), None);
            assert_eq!(store.purge_pending_registrations(now).unwrap(), 0);
            assert_eq!(store.purge_pending_registrations(late).unwrap(), 1);
        }
    }

    #[test]
    fn only_the_tokens_hash_is_stored() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            register(&store, "bea@example.com", now);
            let token = mailed_token(&store);
            let stored: String = store
                .read(|connection| {
                    connection.query_value(sql!("SELECT token_hash FROM pending_registrations"), &[])
                })
                .unwrap();
            assert_eq!(stored, token_hash(&token));
        }
    }

    #[test]
    fn a_link_followed_many_times_at_once_makes_one_account() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            register(&store, "bea@example.com", now);
            let token = mailed_token(&store);
            const USES: usize = 12;
            let start = Barrier::new(USES);
            let outcomes: Vec<Confirmation> = std::thread::scope(|scope| {
                let uses: Vec<_> = (0..USES)
                    .map(|_| {
                        let (store, start, token) = (&store, &start, &token);
                        scope.spawn(move || {
                            start.wait();
                            store.confirm_registration(token, now).unwrap()
                        })
                    })
                    .collect();
                uses.into_iter().map(|run| run.join().unwrap()).collect()
            });
            let made = outcomes
                .iter()
                .filter(|outcome| matches!(outcome, Confirmation::Created { .. }))
                .count();
            assert_eq!(made, 1, "{}: {outcomes:?}", store.engine_name());
            let refused = outcomes
                .iter()
                .filter(|outcome| **outcome == Confirmation::Unusable)
                .count();
            assert_eq!(refused, USES - 1, "{outcomes:?}");
            assert_eq!(
                count(
                    &store,
                    sql!("SELECT COUNT(*) FROM users WHERE email = 'bea@example.com'")
                ),
                1
            );
        }
    }
}
