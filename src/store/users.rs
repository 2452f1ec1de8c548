//! Accounts: creating them, finding them to sign in, changing their passwords,
//! and listing them for an operator.

use time::OffsetDateTime;

use super::sql::{Connection, Row, page_limit, sql, unix};
use super::{Page, Store, StoreError, StoreFailure, outbox};
use crate::domain::{DisplayName, Email, UserId};
use crate::mail::messages;

/// What signing in needs to know about an account.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub user_id: UserId,
    pub name: String,
    pub password_hash: String,
    /// Which password this is (it counts changes): a session is created only for
    /// the version that was checked.
    pub credentials_version: i64,
}

/// What checking a signed-in account's password needs.
#[derive(Debug, Clone)]
pub struct AccountLogin {
    pub email: String,
    pub password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("an account with that e-mail address already exists")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for CreateUserError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CreateUserError::Store(error) => Some(error),
            CreateUserError::EmailTaken => None,
        }
    }
}

/// An account as an operator lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub created_at: OffsetDateTime,
    /// "Visa ending in 4242", when the account has a default card.
    pub default_card: Option<String>,
    pub credits: i64,
    pub orders: i64,
}

/// The columns [`account_summary_from_row`] reads, for every account (a
/// `WHERE` or `ORDER BY` may follow).
macro_rules! account_summary_query {
    () => {
        "SELECT u.id, u.email, u.name, u.created_at,
            (SELECT p.brand || ' ending in ' || p.last4 FROM payment_methods p
             WHERE p.user_id = u.id AND p.is_default),
            (SELECT count(*) FROM credits c WHERE c.user_id = u.id),
            (SELECT count(*) FROM orders o WHERE o.user_id = u.id)
         FROM users u"
    };
}

fn account_summary_from_row(row: &Row<'_>) -> Result<AccountSummary, StoreError> {
    Ok(AccountSummary {
        id: UserId(row.get(0)?),
        email: row.get(1)?,
        name: row.get(2)?,
        created_at: row.instant(3)?,
        default_card: row.get(4)?,
        credits: row.get(5)?,
        orders: row.get(6)?,
    })
}

/// Inserts an account inside a caller's transaction (also used by the demo seed).
/// A taken e-mail is [`CreateUserError::EmailTaken`], not an engine error, and
/// leaves the transaction usable: the caller decides what follows.
pub(crate) fn insert_user(
    connection: &mut dyn Connection,
    email: &Email,
    name: &DisplayName,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<UserId, CreateUserError> {
    let inserted = connection.query_opt(
        sql!(
            "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO NOTHING
             RETURNING id"
        ),
        &[&email.as_str(), &name.as_str(), &password_hash, &unix(now)],
        |row| row.get(0),
    )?;
    match inserted {
        Some(id) => Ok(UserId(id)),
        None => Err(CreateUserError::EmailTaken),
    }
}

/// Sets a new password hash inside a caller's transaction and ends every session
/// of the account, and any reset link still out: whoever knew the old password,
/// or held a link, is locked out. Returns the new credentials version. (On
/// SQLite the write path drops the ended sessions from its in-process copy as
/// the rows go.)
/// How a password came to be replaced, as the message about it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// By its owner, on the account page, with the old password.
    OnTheAccountPage,
    /// With a reset link mailed to the account.
    WithAResetLink,
}

/// Replaces `user`'s password, ends every session and reset link of theirs,
/// and tells them by mail, in the caller's transaction; the new credentials
/// version.
pub(crate) fn replace_password(
    connection: &mut dyn Connection,
    user: UserId,
    password_hash: &str,
    how: PasswordChange,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    let version = connection.query_value(
        sql!(
            "UPDATE users SET password_hash = $2, credentials_version = credentials_version + 1
             WHERE id = $1 RETURNING credentials_version"
        ),
        &[&user.0, &password_hash],
    )?;
    connection.execute(sql!("DELETE FROM sessions WHERE user_id = $1"), &[&user.0])?;
    connection.execute(
        sql!("DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL"),
        &[&user.0],
    )?;
    let (recipient, origin) = (
        outbox::recipient_in(connection, user)?,
        outbox::site_origin_in(connection)?,
    );
    let how = match how {
        PasswordChange::OnTheAccountPage => "from your account page",
        PasswordChange::WithAResetLink => "with a link mailed to this address",
    };
    outbox::enqueue(
        connection,
        &messages::password_changed(&recipient, &origin, how, now)?,
        now,
    )?;
    Ok(version)
}

/// The accounts whose e-mail or name contains `search`, in any case (Unicode's,
/// not only ASCII's, so "élodie" finds "Élodie"); every account without one.
/// Decided here rather than in SQL, so that both engines fold case alike.
fn matching(accounts: Vec<AccountSummary>, search: Option<&str>) -> Vec<AccountSummary> {
    let Some(search) = search.map(str::trim).filter(|text| !text.is_empty()) else {
        return accounts;
    };
    let wanted = search.to_lowercase();
    accounts
        .into_iter()
        .filter(|account| matches(&wanted, &account.email, &account.name))
        .collect()
}

/// `wanted` (already lower-cased) is part of the e-mail or the name, in any case.
fn matches(wanted: &str, email: &str, name: &str) -> bool {
    email.to_lowercase().contains(wanted) || name.to_lowercase().contains(wanted)
}

/// How many accounts a search reads at a time while it gathers a page of matches.
const SEARCH_CHUNK: usize = 500;

impl Store {
    /// Two registrations of one e-mail at once make one account: the other is
    /// [`CreateUserError::EmailTaken`].
    pub fn create_user(
        &self,
        email: &Email,
        name: &DisplayName,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<UserId, CreateUserError> {
        self.write(|connection| insert_user(connection, email, name, password_hash, now))
    }

    /// What signing in with `email` checks.
    pub fn find_login(&self, email: &Email) -> Result<Option<LoginRecord>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!("SELECT id, name, password_hash, credentials_version FROM users WHERE email = $1"),
                &[&email.as_str()],
                |row| {
                    Ok(LoginRecord {
                        user_id: UserId(row.get(0)?),
                        name: row.get(1)?,
                        password_hash: row.get(2)?,
                        credentials_version: row.get(3)?,
                    })
                },
            )
        })
    }

    /// The e-mail and password hash of a signed-in account, to check its password.
    pub fn login_of(&self, user: UserId) -> Result<Option<AccountLogin>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!("SELECT email, password_hash FROM users WHERE id = $1"),
                &[&user.0],
                |row| {
                    Ok(AccountLogin {
                        email: row.get(0)?,
                        password_hash: row.get(1)?,
                    })
                },
            )
        })
    }

    /// Sets a new password hash and ends every session of the account, in one
    /// transaction: whoever knew the old password is signed out everywhere.
    /// Returns the new credentials version, for the session that continues.
    /// The owner's own change of password (they typed the old one), in one
    /// transaction with its message.
    pub fn change_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        self.write(|connection| {
            replace_password(
                connection,
                user,
                password_hash,
                PasswordChange::OnTheAccountPage,
                now,
            )
        })
    }

    pub fn user_id_by_email(&self, email: &Email) -> Result<Option<UserId>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!("SELECT id FROM users WHERE email = $1"),
                &[&email.as_str()],
                |row| Ok(UserId(row.get(0)?)),
            )
        })
    }

    /// Every account whose e-mail or name contains `search` (any case; every
    /// account without one), by e-mail in byte order.
    pub fn list_accounts(&self, search: Option<&str>) -> Result<Vec<AccountSummary>, StoreError> {
        let accounts = self.read(|connection| {
            connection.query(
                sql!(concat!(
                    account_summary_query!(),
                    " ORDER BY u.email COLLATE \"C\""
                )),
                &[],
                account_summary_from_row,
            )
        })?;
        Ok(matching(accounts, search))
    }

    /// One account's summary, by its e-mail.
    pub fn account_summary(&self, email: &Email) -> Result<Option<AccountSummary>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(concat!(account_summary_query!(), " WHERE u.email = $1")),
                &[&email.as_str()],
                account_summary_from_row,
            )
        })
    }

    /// One account's summary, by its id.
    pub fn account_by_id(&self, user: UserId) -> Result<Option<AccountSummary>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(concat!(account_summary_query!(), " WHERE u.id = $1")),
                &[&user.0],
                account_summary_from_row,
            )
        })
    }

    /// A page of the accounts whose e-mail or name contains `search` (any case,
    /// as [`Store::list_accounts`] folds it; every account without one), newest
    /// first: up to `size` accounts older than the account `before`. The
    /// accounts are read newest first a chunk at a time, only as far as the page
    /// needs, and summed up only once they match.
    pub fn accounts_page(
        &self,
        search: Option<&str>,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<AccountSummary>, StoreError> {
        let wanted = search
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_lowercase);
        self.read_consistent(|connection| {
            let mut found: Vec<i64> = Vec::new();
            let mut cursor = before.unwrap_or(i64::MAX);
            while found.len() <= size {
                let chunk: Vec<(i64, String, String)> = connection.query(
                    sql!("SELECT id, email, name FROM users WHERE id < $1 ORDER BY id DESC LIMIT $2"),
                    &[&cursor, &page_limit(SEARCH_CHUNK - 1)],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )?;
                let exhausted = chunk.len() < SEARCH_CHUNK;
                for (id, email, name) in chunk {
                    cursor = id;
                    if wanted
                        .as_deref()
                        .is_none_or(|wanted| matches(wanted, &email, &name))
                    {
                        found.push(id);
                        if found.len() > size {
                            break;
                        }
                    }
                }
                if exhausted {
                    break;
                }
            }
            let mut accounts = Vec::with_capacity(found.len());
            for id in found {
                accounts.extend(connection.query_opt(
                    sql!(concat!(account_summary_query!(), " WHERE u.id = $1")),
                    &[&id],
                    account_summary_from_row,
                )?);
            }
            Ok(Page::of(accounts, size, |account| account.id.0))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::store::testing::{TestStore, each_engine};

    fn summary(id: i64, email: &str, name: &str) -> AccountSummary {
        AccountSummary {
            id: UserId(id),
            email: email.to_owned(),
            name: name.to_owned(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            default_card: None,
            credits: 0,
            orders: 0,
        }
    }

    #[test]
    fn a_search_matches_names_and_emails_in_any_case_beyond_ascii() {
        let accounts = || {
            vec![
                summary(1, "elodie@example.com", "Élodie Ünïcode"),
                summary(2, "ann@example.com", "Ann"),
            ]
        };
        let found = |search| -> Vec<i64> { matching(accounts(), search).iter().map(|a| a.id.0).collect() };
        assert_eq!(found(Some("élodie")), [1]);
        assert_eq!(found(Some("ÜNÏ")), [1]);
        assert_eq!(found(Some(" ANN@")), [2]);
        assert_eq!(found(Some("  ")), [1, 2]);
        assert_eq!(found(None), [1, 2]);
        assert!(found(Some("zed")).is_empty());
    }

    #[test]
    fn a_search_pages_its_matches_newest_first_reading_past_accounts_that_do_not_match() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let create = |email: &str, name: &str| {
                store
                    .create_user(
                        &Email::parse(email).unwrap(),
                        &DisplayName::parse(name).unwrap(),
                        "h",
                        now,
                    )
                    .unwrap()
                    .0
            };
            // More accounts that do not match than a chunk holds, between matches.
            let mut matching = vec![create("elodie.1@example.com", "Élodie Un")];
            for n in 0..SEARCH_CHUNK + 3 {
                create(&format!("other{n}@example.com"), "Bo");
            }
            matching.push(create("two@example.com", "ÉLODIE Deux"));
            matching.push(create("elodie.3@example.com", "Élodie Trois"));
            matching.reverse();
            let ids = |page: &Page<AccountSummary>| page.entries.iter().map(|a| a.id.0).collect::<Vec<_>>();

            let first = store.accounts_page(Some(" élodie "), None, 2).unwrap();
            assert_eq!(ids(&first), matching[..2], "{}", store.engine_name());
            assert_eq!(first.older, Some(matching[1]));
            let second = store.accounts_page(Some("élodie"), first.older, 2).unwrap();
            assert_eq!(ids(&second), matching[2..], "{}", store.engine_name());
            assert_eq!(second.older, None);

            let everyone = store.accounts_page(None, None, 20).unwrap();
            assert_eq!(everyone.entries.len(), 20);
            assert_eq!(everyone.entries[0].id.0, matching[0]);
            assert!(everyone.older.is_some());
            assert!(
                store
                    .accounts_page(Some("nobody"), None, 20)
                    .unwrap()
                    .entries
                    .is_empty()
            );

            let one = store.account_by_id(UserId(matching[0])).unwrap().unwrap();
            assert_eq!(one.email, "elodie.3@example.com");
            assert_eq!(store.account_by_id(UserId(-1)).unwrap(), None);
        }
    }

    #[test]
    fn an_email_belongs_to_one_account_whatever_its_case() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let name = DisplayName::parse("Ann").unwrap();
            let first = store
                .create_user(&Email::parse("ann@example.com").unwrap(), &name, "h", now)
                .unwrap();
            let again = store.create_user(&Email::parse("ANN@example.com").unwrap(), &name, "h", now);
            assert!(
                matches!(again, Err(CreateUserError::EmailTaken)),
                "{}: {again:?}",
                store.engine_name()
            );
            let found = store
                .find_login(&Email::parse("Ann@Example.com").unwrap())
                .unwrap()
                .unwrap();
            assert_eq!(found.user_id, first);
            assert_eq!(found.credentials_version, 0);
            assert_eq!(
                store
                    .user_id_by_email(&Email::parse("ann@example.com").unwrap())
                    .unwrap(),
                Some(first)
            );
            assert_eq!(
                store
                    .user_id_by_email(&Email::parse("bo@example.com").unwrap())
                    .unwrap(),
                None
            );
        }
    }

    #[test]
    fn registrations_of_one_email_at_once_make_one_account() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let (email, name) = (
                Email::parse("ann@example.com").unwrap(),
                DisplayName::parse("Ann").unwrap(),
            );
            const REGISTRATIONS: usize = 16;
            let start = Barrier::new(REGISTRATIONS);
            let outcomes: Vec<_> = std::thread::scope(|scope| {
                let runs: Vec<_> = (0..REGISTRATIONS)
                    .map(|_| {
                        let (store, start, email, name) = (&store, &start, &email, &name);
                        scope.spawn(move || {
                            start.wait();
                            store.create_user(email, name, "h", now)
                        })
                    })
                    .collect();
                runs.into_iter().map(|run| run.join().unwrap()).collect()
            });
            let created = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
            let taken = outcomes
                .iter()
                .filter(|outcome| matches!(outcome, Err(CreateUserError::EmailTaken)))
                .count();
            assert_eq!(
                (created, taken),
                (1, REGISTRATIONS - 1),
                "{}: {outcomes:?}",
                store.engine_name()
            );
            let accounts: i64 = store
                .read(|connection| {
                    connection.query_value(
                        sql!("SELECT count(*) FROM users WHERE email = $1"),
                        &[&email.as_str()],
                    )
                })
                .unwrap();
            assert_eq!(accounts, 1);
        }
    }

    #[test]
    fn a_password_change_counts_its_version_and_keeps_the_new_hash() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let email = Email::parse("ann@example.com").unwrap();
            let user = store
                .create_user(&email, &DisplayName::parse("Ann").unwrap(), "old", now)
                .unwrap();
            assert_eq!(
                store
                    .change_password(user, "new", OffsetDateTime::now_utc())
                    .unwrap(),
                1
            );
            assert_eq!(
                store
                    .change_password(user, "newer", OffsetDateTime::now_utc())
                    .unwrap(),
                2
            );
            let login = store.login_of(user).unwrap().unwrap();
            assert_eq!(
                (login.email.as_str(), login.password_hash.as_str()),
                ("ann@example.com", "newer")
            );
            assert_eq!(store.find_login(&email).unwrap().unwrap().credentials_version, 2);
            assert!(store.login_of(UserId(user.0 + 1000)).unwrap().is_none());
        }
    }

    #[test]
    fn accounts_are_listed_by_email_and_found_in_any_case() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            for (email, name) in [
                ("bo@example.com", "Bo Ärling"),
                ("ann@example.com", "Ann"),
                ("elodie@example.com", "Élodie"),
                ("a-z@example.com", "Zed"),
                ("ab@example.com", "Abe"),
            ] {
                store
                    .create_user(
                        &Email::parse(email).unwrap(),
                        &DisplayName::parse(name).unwrap(),
                        "h",
                        now,
                    )
                    .unwrap();
            }
            let all: Vec<_> = store
                .list_accounts(None)
                .unwrap()
                .into_iter()
                .map(|account| account.email)
                .collect();
            // Byte order, whatever the database's collation: "-" before letters.
            assert_eq!(
                all,
                [
                    "a-z@example.com",
                    "ab@example.com",
                    "ann@example.com",
                    "bo@example.com",
                    "elodie@example.com"
                ],
                "{}",
                store.engine_name()
            );
            let found = store.list_accounts(Some(" BO ")).unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].name, "Bo Ärling");
            assert_eq!(
                (found[0].credits, found[0].orders, found[0].default_card.clone()),
                (0, 0, None)
            );
            assert_eq!(found[0].created_at.unix_timestamp(), now.unix_timestamp());
            let folded: Vec<_> = store
                .list_accounts(Some("ÉLODIE"))
                .unwrap()
                .into_iter()
                .map(|account| account.name)
                .collect();
            assert_eq!(folded, ["Élodie"], "{}", store.engine_name());
            let summary = store
                .account_summary(&Email::parse("ann@example.com").unwrap())
                .unwrap()
                .unwrap();
            assert_eq!(summary.name, "Ann");
            assert!(
                store
                    .account_summary(&Email::parse("cy@example.com").unwrap())
                    .unwrap()
                    .is_none()
            );
        }
    }

    #[test]
    fn an_accounts_summary_names_its_default_card() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let email = Email::parse("ann@example.com").unwrap();
            let user = store
                .create_user(&email, &DisplayName::parse("Ann").unwrap(), "h", now)
                .unwrap();
            let card = crate::domain::CardSummary {
                brand: "Visa".into(),
                last4: "4242".into(),
            };
            store.set_default_card(user, &card, now).unwrap();
            let summary = store.account_summary(&email).unwrap().unwrap();
            assert_eq!(
                summary.default_card.as_deref(),
                Some("Visa ending in 4242"),
                "{}",
                store.engine_name()
            );
            assert_eq!(summary.id, user);
        }
    }
}
