//! Password hashing with argon2id, kept off the async executor and bounded.

use std::sync::Arc;

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// Hashes and verifies passwords. Each argon2 run takes ~19 MiB and a core for tens
/// of milliseconds, so at most one runs per CPU at a time: a sign-in storm queues
/// instead of exhausting memory, and the rest of the site keeps answering.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when the e-mail is unknown, so that answer takes as long
    /// as a wrong password does.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub fn new() -> Result<Passwords, argon2::password_hash::Error> {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Passwords {
            permits: Arc::new(Semaphore::new(cpus)),
            dummy_hash: hash_now("not the password of any account")?.into(),
        })
    }

    /// Hashes a new password on the blocking pool.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(anyhow::Error::from)?;
        actix_web::web::block(move || hash_now(&password))
            .await
            .map_err(anyhow::Error::from)?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown account)
    /// it does the same work against a dummy hash and answers `false`.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let _permit = self.permits.acquire().await.map_err(anyhow::Error::from)?;
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = actix_web::web::block(move || verify_now(&password, &hash))
            .await
            .map_err(anyhow::Error::from)?;
        Ok(known && matches)
    }
}

/// Hashes synchronously, for operator commands and the demo seed. argon2id with the
/// crate's defaults, which are OWASP's (m = 19 MiB, t = 2, p = 1).
pub fn hash_now(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A malformed stored hash never matches.
pub fn verify_now(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_now("check-my-balance").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_now("check-my-balance", &hash));
        assert!(!verify_now("check-my-balance ", &hash));
        assert!(!verify_now("check-my-balance", "not a hash"));
    }
}
