//! Password hashing with argon2id on a few dedicated threads.
//!
//! Each argon2 run takes ~19 MiB and a core for tens of milliseconds. Running them
//! on the general blocking pool lets every one of its (many) threads keep a 19 MiB
//! heap arena afterwards, so memory grew with the pool, not with the work. Here
//! exactly one thread per CPU hashes: at most that many hashes are in flight, their
//! memory is reused, a sign-in storm queues instead of exhausting memory, and the
//! rest of the site keeps its cores' share.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::oneshot;

use crate::domain::{NewPassword, WeakPassword};
use crate::error::AppError;

/// Hashing jobs allowed to wait; past that, sign-ins are answered "busy" at once
/// rather than after a minute in a queue.
const QUEUE_LIMIT: usize = 512;

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on the hashing threads.
#[derive(Clone)]
pub struct Passwords {
    jobs: SyncSender<Job>,
    /// Verified against when the e-mail is unknown, so that answer takes as long
    /// as a wrong password does.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub fn new() -> Result<Passwords, argon2::password_hash::Error> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (jobs, queue) = sync_channel::<Job>(QUEUE_LIMIT);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || run_jobs(&queue))
                .expect("a hashing thread starts");
        }
        Ok(Passwords {
            jobs,
            dummy_hash: hash_now("not the password of any account")?.into(),
        })
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let (answer, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(AppError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "the hashing threads have stopped"
                )));
            }
        }
        result
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("a hashing job was dropped")))
    }

    /// Judges a new password (length, then the strength estimator) on the hashing
    /// threads: the estimator takes milliseconds to tens of milliseconds, which must
    /// not hold an async worker, and the bounded queue limits how many wait.
    pub async fn check_new(
        &self,
        password: String,
        context: Vec<String>,
    ) -> Result<Result<NewPassword, WeakPassword>, AppError> {
        self.run(move || {
            let context: Vec<&str> = context.iter().map(String::as_str).collect();
            NewPassword::parse(&password, &context)
        })
        .await
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || hash_now(&password))
            .await?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown account)
    /// it does the same work against a dummy hash and answers `false`.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self.run(move || verify_now(&password, &hash)).await?;
        Ok(known && matches)
    }
}

fn run_jobs(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // every sender is gone: the server is shutting down
        }
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

    #[actix_web::test]
    async fn the_hashing_threads_hash_and_verify() {
        let passwords = Passwords::new().unwrap();
        let hash = passwords.hash("velvet harbor lantern".into()).await.unwrap();
        assert!(
            passwords
                .verify("velvet harbor lantern".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!passwords.verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!passwords.verify("anything".into(), None).await.unwrap());
    }
}
