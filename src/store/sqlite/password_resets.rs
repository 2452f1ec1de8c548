//! "Forgot your password?": one-time reset tokens, stored as hashes.

use rusqlite::{OptionalExtension, params};
use time::{Duration, OffsetDateTime};

use super::{SqliteStore, StoreError, unix};
use crate::domain::UserId;
use crate::store::shared::password_resets::{new_token, token_hash};

/// How long a reset link works.
pub const RESET_LINK_LIFETIME: Duration = Duration::minutes(30);

impl SqliteStore {
    /// Makes a new reset token for `user`, valid for [`RESET_LINK_LIFETIME`]: 32
    /// random letters and digits (about 190 bits), of which only the hash is kept.
    pub fn create_password_reset(&self, user: UserId, now: OffsetDateTime) -> Result<String, StoreError> {
        let token = new_token();
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                token_hash(&token),
                user.0,
                unix(now),
                unix(now + RESET_LINK_LIFETIME)
            ])?;
            Ok(())
        })?;
        Ok(token)
    }

    /// The account a token would reset, while it is unused and unexpired.
    pub fn password_reset_account(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        self.read(|connection| {
            Ok(connection
                .prepare_cached(
                    "SELECT user_id FROM password_resets
                     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                )?
                .query_row(params![token_hash(token), unix(now)], |row| {
                    Ok(UserId(row.get(0)?))
                })
                .optional()?)
        })
    }

    /// Sets a new password with a token, in one transaction: the token is spent,
    /// the account's other tokens dropped, the hash replaced, every session ended.
    /// `None` when the token is unknown, used or expired: nothing changed.
    pub fn reset_password(
        &self,
        token: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        self.write(|tx| {
            let user: Option<i64> = tx
                .prepare_cached(
                    "UPDATE password_resets SET used_at = ?2
                     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                     RETURNING user_id",
                )?
                .query_row(params![token_hash(token), unix(now)], |row| row.get(0))
                .optional()?;
            let Some(user) = user else {
                return Ok(None);
            };
            super::users::replace_password(tx, UserId(user), password_hash)?;
            Ok(Some(UserId(user)))
        })
    }

    /// Removes tokens that can no longer be used; returns how many.
    pub fn purge_password_resets(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM password_resets WHERE expires_at <= ?1")?
                .execute([unix(now)])?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::testing::temporary_store;

    fn ann(store: &SqliteStore, now: OffsetDateTime) -> UserId {
        crate::store::sqlite::testing::new_account(store, "ann@example.com", "old hash", now)
    }

    #[test]
    fn a_token_works_once_and_spends_the_accounts_other_tokens() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        let user = ann(&store, now);
        let first = store.create_password_reset(user, now).unwrap();
        let second = store.create_password_reset(user, now).unwrap();
        assert_eq!(store.password_reset_account(&first, now).unwrap(), Some(user));
        assert_eq!(store.reset_password(&first, "new hash", now).unwrap(), Some(user));
        assert_eq!(store.reset_password(&first, "newer hash", now).unwrap(), None);
        assert_eq!(store.reset_password(&second, "newer hash", now).unwrap(), None);
        let hash = store.login_of(user).unwrap().unwrap().password_hash;
        assert_eq!(hash, "new hash");
    }

    #[test]
    fn a_token_expires_after_thirty_minutes_and_is_purged() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        let user = ann(&store, now);
        let token = store.create_password_reset(user, now).unwrap();
        let late = now + RESET_LINK_LIFETIME;
        assert_eq!(store.password_reset_account(&token, late).unwrap(), None);
        assert_eq!(store.reset_password(&token, "new hash", late).unwrap(), None);
        assert_eq!(store.purge_password_resets(late).unwrap(), 1);
    }

    #[test]
    fn only_the_tokens_hash_is_stored() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        let user = ann(&store, now);
        let token = store.create_password_reset(user, now).unwrap();
        let stored: String = store
            .read(|c| Ok(c.query_row("SELECT token_hash FROM password_resets", [], |row| row.get(0))?))
            .unwrap();
        assert_ne!(stored, token);
        assert_eq!(stored.len(), 64);
    }
}
