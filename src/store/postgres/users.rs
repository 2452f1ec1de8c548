//! Accounts: creating them and finding them to sign in.

use postgres::{Row, Transaction};
use time::OffsetDateTime;

use super::{PostgresStore, StoreError, StoreFailure, instant, unix};
use crate::domain::{DisplayName, Email, UserId};
use crate::store::users::{AccountLogin, AccountSummary, CreateUserError, LoginRecord};

impl From<postgres::Error> for CreateUserError {
    fn from(error: postgres::Error) -> Self {
        CreateUserError::Store(error.into())
    }
}

impl StoreFailure for CreateUserError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CreateUserError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl PostgresStore {
    /// Two registrations of one e-mail at once make one account: the other is
    /// [`CreateUserError::EmailTaken`].
    pub fn create_user(
        &self,
        email: &Email,
        name: &DisplayName,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<UserId, CreateUserError> {
        self.transaction(|tx| insert_user(tx, email, name, password_hash, now))
    }

    pub fn find_login(&self, email: &Email) -> Result<Option<LoginRecord>, StoreError> {
        let row = self.read(|client| {
            Ok(client.query_opt(
                "SELECT id, name, password_hash, credentials_version FROM users WHERE email = $1",
                &[&email.as_str()],
            )?)
        })?;
        Ok(row.map(|row| LoginRecord {
            user_id: UserId(row.get(0)),
            name: row.get(1),
            password_hash: row.get(2),
            credentials_version: row.get(3),
        }))
    }

    /// The e-mail and password hash of a signed-in account, to check its password.
    pub fn login_of(&self, user: UserId) -> Result<Option<AccountLogin>, StoreError> {
        let row = self.read(|client| {
            Ok(client.query_opt("SELECT email, password_hash FROM users WHERE id = $1", &[&user.0])?)
        })?;
        Ok(row.map(|row| AccountLogin {
            email: row.get(0),
            password_hash: row.get(1),
        }))
    }

    /// Sets a new password hash and ends every session of the account, in one
    /// transaction: whoever knew the old password is signed out everywhere.
    /// Returns the new credentials version, for the session that continues.
    pub fn change_password(&self, user: UserId, password_hash: &str) -> Result<i64, StoreError> {
        self.write(|tx| replace_password(tx, user, password_hash))
    }

    pub fn user_id_by_email(&self, email: &Email) -> Result<Option<UserId>, StoreError> {
        Ok(self.find_login(email)?.map(|login| login.user_id))
    }
}

const ACCOUNT_SUMMARY_QUERY: &str = "SELECT u.id, u.email, u.name, u.created_at,
        (SELECT p.brand || ' ending in ' || p.last4 FROM payment_methods p
         WHERE p.user_id = u.id AND p.is_default),
        (SELECT count(*) FROM credits c WHERE c.user_id = u.id),
        (SELECT count(*) FROM orders o WHERE o.user_id = u.id)
    FROM users u";

fn account_summary_from_row(row: &Row) -> Result<AccountSummary, StoreError> {
    Ok(AccountSummary {
        id: UserId(row.get(0)),
        email: row.get(1),
        name: row.get(2),
        created_at: instant(row.get(3))?,
        default_card: row.get(4),
        credits: row.get(5),
        orders: row.get(6),
    })
}

impl PostgresStore {
    /// Every account whose e-mail or name contains `search` (any case; every
    /// account without one), by e-mail.
    pub fn list_accounts(&self, search: Option<&str>) -> Result<Vec<AccountSummary>, StoreError> {
        // Byte order, as SQLite sorts, whatever the database's collation.
        let rows = self.read(|client| {
            Ok(client.query(
                &format!("{ACCOUNT_SUMMARY_QUERY} ORDER BY u.email COLLATE \"C\""),
                &[],
            )?)
        })?;
        let accounts = rows
            .iter()
            .map(account_summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::store::shared::accounts::matching(accounts, search))
    }

    /// One account's summary, by its e-mail.
    pub fn account_summary(&self, email: &Email) -> Result<Option<AccountSummary>, StoreError> {
        let row = self.read(|client| {
            Ok(client.query_opt(
                &format!("{ACCOUNT_SUMMARY_QUERY} WHERE u.email = $1"),
                &[&email.as_str()],
            )?)
        })?;
        row.as_ref().map(account_summary_from_row).transpose()
    }
}

/// Sets a new password hash inside a caller's transaction and ends every session
/// of the account, and any reset link still out: whoever knew the old password,
/// or held a link, is locked out.
pub(crate) fn replace_password(
    tx: &mut Transaction<'_>,
    user: UserId,
    password_hash: &str,
) -> Result<i64, StoreError> {
    let version: i64 = tx
        .query_one(
            "UPDATE users SET password_hash = $2, credentials_version = credentials_version + 1
             WHERE id = $1 RETURNING credentials_version",
            &[&user.0, &password_hash],
        )?
        .get(0);
    tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user.0])?;
    tx.execute(
        "DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL",
        &[&user.0],
    )?;
    Ok(version)
}

/// Inserts an account inside a caller's transaction (also used by the demo seed).
/// A taken e-mail leaves the transaction usable: the caller decides what follows.
pub(crate) fn insert_user(
    tx: &mut Transaction<'_>,
    email: &Email,
    name: &DisplayName,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<UserId, CreateUserError> {
    let inserted = tx.query_opt(
        "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (email) DO NOTHING
         RETURNING id",
        &[&email.as_str(), &name.as_str(), &password_hash, &unix(now)],
    )?;
    match inserted {
        Some(row) => Ok(UserId(row.get(0))),
        None => Err(CreateUserError::EmailTaken),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::store::test_postgres::test_database;

    #[test]
    fn an_email_belongs_to_one_account_whatever_its_case() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let name = DisplayName::parse("Ann").unwrap();
        let first = store
            .create_user(&Email::parse("ann@example.com").unwrap(), &name, "h", now)
            .unwrap();
        let again = store.create_user(&Email::parse("ANN@example.com").unwrap(), &name, "h", now);
        assert!(matches!(again, Err(CreateUserError::EmailTaken)));
        let found = store
            .find_login(&Email::parse("Ann@Example.com").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(found.user_id, first);
        assert_eq!(found.credentials_version, 0);
    }

    #[test]
    fn registrations_of_one_email_at_once_make_one_account() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
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
        assert_eq!((created, taken), (1, REGISTRATIONS - 1), "{outcomes:?}");
        let accounts: i64 = store
            .read(|client| {
                Ok(client
                    .query_one("SELECT count(*) FROM users WHERE email = $1", &[&email.as_str()])?
                    .get(0))
            })
            .unwrap();
        assert_eq!(accounts, 1);
    }

    #[test]
    fn a_password_change_counts_its_version_and_keeps_the_new_hash() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let email = Email::parse("ann@example.com").unwrap();
        let user = store
            .create_user(&email, &DisplayName::parse("Ann").unwrap(), "old", now)
            .unwrap();
        assert_eq!(store.change_password(user, "new").unwrap(), 1);
        assert_eq!(store.change_password(user, "newer").unwrap(), 2);
        let login = store.login_of(user).unwrap().unwrap();
        assert_eq!(
            (login.email.as_str(), login.password_hash.as_str()),
            ("ann@example.com", "newer")
        );
        assert_eq!(store.find_login(&email).unwrap().unwrap().credentials_version, 2);
    }

    #[test]
    fn accounts_are_listed_by_email_and_found_in_any_case() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        for (email, name) in [("bo@example.com", "Bo Ärling"), ("ann@example.com", "Ann")] {
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
        assert_eq!(all, ["ann@example.com", "bo@example.com"]);
        let found = store.list_accounts(Some(" BO ")).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "Bo Ärling");
        assert_eq!(
            (found[0].credits, found[0].orders, found[0].default_card.clone()),
            (0, 0, None)
        );
        assert_eq!(found[0].created_at.unix_timestamp(), now.unix_timestamp());
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
