//! "Forgot your password?": one-time reset tokens, stored as hashes.

use time::OffsetDateTime;

use super::{PostgresStore, StoreError, unix};
use crate::domain::UserId;
use crate::store::password_resets::RESET_LINK_LIFETIME;
use crate::store::shared::password_resets::{new_token, token_hash};

impl PostgresStore {
    /// Makes a new reset token for `user`, valid for [`RESET_LINK_LIFETIME`], of
    /// which only the hash is kept.
    pub fn create_password_reset(&self, user: UserId, now: OffsetDateTime) -> Result<String, StoreError> {
        let token = new_token();
        let hash = token_hash(&token);
        let (created_at, expires_at) = (unix(now), unix(now + RESET_LINK_LIFETIME));
        self.write(|tx| {
            tx.execute(
                "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[&hash, &user.0, &created_at, &expires_at],
            )?;
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
        let row = self.read(|client| {
            Ok(client.query_opt(
                "SELECT user_id FROM password_resets
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                &[&token_hash(token), &unix(now)],
            )?)
        })?;
        Ok(row.map(|row| UserId(row.get(0))))
    }

    /// Sets a new password with a token, in one (serializable) transaction: the
    /// token is spent, the account's other tokens dropped, the hash replaced, every
    /// session ended. `None` when the token is unknown, used or expired: nothing
    /// changed. Of several uses of one token at once, one wins.
    pub fn reset_password(
        &self,
        token: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        let (hash, now_s) = (token_hash(token), unix(now));
        self.write(|tx| {
            let spent = tx.query_opt(
                "UPDATE password_resets SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING user_id",
                &[&hash, &now_s],
            )?;
            let Some(spent) = spent else {
                return Ok(None);
            };
            let user = UserId(spent.get(0));
            super::users::replace_password(tx, user, password_hash)?;
            Ok(Some(user))
        })
    }

    /// Removes tokens that can no longer be used; returns how many.
    pub fn purge_password_resets(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let purged = self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM password_resets WHERE expires_at <= $1",
                &[&unix(now)],
            )?)
        })?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::domain::{DisplayName, Email};
    use crate::store::sessions::{SessionLifetime, SignedInAs};
    use crate::store::test_postgres::test_database;

    fn ann(store: &PostgresStore, now: OffsetDateTime) -> UserId {
        store
            .create_user(
                &Email::parse("ann@example.com").unwrap(),
                &DisplayName::parse("Ann").unwrap(),
                "old hash",
                now,
            )
            .unwrap()
    }

    #[test]
    fn a_token_works_once_and_spends_the_accounts_other_tokens() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
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
    fn a_token_used_many_times_at_once_works_once() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
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
        assert_eq!(winners.len(), 1, "{outcomes:?}");
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

    #[test]
    fn a_reset_ends_every_session_of_the_account() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
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
        let token = store.create_password_reset(user, now).unwrap();
        assert_eq!(store.reset_password(&token, "new hash", now).unwrap(), Some(user));
        assert!(store.load_session("k", lifetime, now).unwrap().is_none());
    }

    #[test]
    fn a_token_expires_after_thirty_minutes_and_is_purged() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
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
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        let user = ann(&store, now);
        let token = store.create_password_reset(user, now).unwrap();
        let stored: String = store
            .read(|client| {
                Ok(client
                    .query_one("SELECT token_hash FROM password_resets", &[])?
                    .get(0))
            })
            .unwrap();
        assert_ne!(stored, token);
        assert_eq!(stored, token_hash(&token));
        assert_eq!(stored.len(), 64);
    }
}
