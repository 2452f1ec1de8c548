//! Accounts: creating them and finding them to sign in.

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::{SqliteStore, StoreError, instant, unix};
use crate::domain::{DisplayName, Email, UserId};

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

impl From<rusqlite::Error> for CreateUserError {
    fn from(error: rusqlite::Error) -> Self {
        CreateUserError::Store(error.into())
    }
}

impl SqliteStore {
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
        self.read(|connection| {
            Ok(connection
                .prepare_cached(
                    "SELECT id, name, password_hash, credentials_version FROM users WHERE email = ?1",
                )?
                .query_row([email.as_str()], |row| {
                    Ok(LoginRecord {
                        user_id: UserId(row.get(0)?),
                        name: row.get(1)?,
                        password_hash: row.get(2)?,
                        credentials_version: row.get(3)?,
                    })
                })
                .optional()?)
        })
    }

    /// The e-mail and password hash of a signed-in account, to check its password.
    pub fn login_of(&self, user: UserId) -> Result<Option<AccountLogin>, StoreError> {
        self.read(|connection| {
            Ok(connection
                .prepare_cached("SELECT email, password_hash FROM users WHERE id = ?1")?
                .query_row([user.0], |row| {
                    Ok(AccountLogin {
                        email: row.get(0)?,
                        password_hash: row.get(1)?,
                    })
                })
                .optional()?)
        })
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

const ACCOUNT_SUMMARY_QUERY: &str = "SELECT u.id, u.email, u.name, u.created_at,
        (SELECT p.brand || ' ending in ' || p.last4 FROM payment_methods p
         WHERE p.user_id = u.id AND p.is_default = 1),
        (SELECT count(*) FROM credits c WHERE c.user_id = u.id),
        (SELECT count(*) FROM orders o WHERE o.user_id = u.id)
    FROM users u";

fn account_summary_from_row(row: &rusqlite::Row) -> rusqlite::Result<AccountSummary> {
    Ok(AccountSummary {
        id: UserId(row.get(0)?),
        email: row.get(1)?,
        name: row.get(2)?,
        created_at: instant(row.get(3)?)?,
        default_card: row.get(4)?,
        credits: row.get(5)?,
        orders: row.get(6)?,
    })
}

impl SqliteStore {
    /// Every account whose e-mail or name contains `search` (any case; every
    /// account without one), by e-mail.
    pub fn list_accounts(&self, search: Option<&str>) -> Result<Vec<AccountSummary>, StoreError> {
        let accounts = self.read(|connection| {
            let mut statement =
                connection.prepare_cached(&format!("{ACCOUNT_SUMMARY_QUERY} ORDER BY u.email"))?;
            Ok(statement
                .query_map([], account_summary_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        Ok(crate::store::shared::accounts::matching(accounts, search))
    }

    /// One account's summary, by its e-mail.
    pub fn account_summary(&self, email: &Email) -> Result<Option<AccountSummary>, StoreError> {
        self.read(|connection| {
            Ok(connection
                .prepare_cached(&format!("{ACCOUNT_SUMMARY_QUERY} WHERE u.email = ?1"))?
                .query_row([email.as_str()], account_summary_from_row)
                .optional()?)
        })
    }
}

/// Sets a new password hash inside a caller's transaction and ends every session
/// of the account, and any reset link still out: whoever knew the old password,
/// or held a link, is locked out.
pub(crate) fn replace_password(
    tx: &rusqlite::Transaction,
    user: UserId,
    password_hash: &str,
) -> Result<i64, StoreError> {
    let version: i64 = tx
        .prepare_cached(
            "UPDATE users SET password_hash = ?2, credentials_version = credentials_version + 1
             WHERE id = ?1 RETURNING credentials_version",
        )?
        .query_row(params![user.0, password_hash], |row| row.get(0))?;
    tx.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([user.0])?;
    tx.prepare_cached("DELETE FROM password_resets WHERE user_id = ?1 AND used_at IS NULL")?
        .execute([user.0])?;
    Ok(version)
}

/// Inserts an account inside a caller's transaction (also used by the demo seed).
pub(crate) fn insert_user(
    tx: &rusqlite::Transaction,
    email: &Email,
    name: &DisplayName,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<UserId, CreateUserError> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO users (email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (email) DO NOTHING",
        )?
        .execute(params![email.as_str(), name.as_str(), password_hash, unix(now)])?;
    if inserted == 0 {
        return Err(CreateUserError::EmailTaken);
    }
    Ok(UserId(tx.last_insert_rowid()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::testing::temporary_store;

    #[test]
    fn an_email_belongs_to_one_account_whatever_its_case() {
        let (store, _folder) = temporary_store();
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
    }
}
