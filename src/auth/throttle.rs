//! The sign-in throttle as the sign-in form uses it: who is failing, and the
//! rules and clock that decide when they must wait.

use actix_web::web;

use crate::auth::client_address::ClientAddress;
use crate::clock::Clock;
use crate::config::SigninThrottle;
use crate::error::AppError;
use crate::store::Store;
use crate::store::throttle::Subject;

#[derive(Clone)]
pub struct SigninThrottler {
    store: Store,
    rules: SigninThrottle,
    clock: Clock,
}

/// The two subjects one sign-in attempt is counted against.
pub struct Attempt {
    account: Subject,
    address: Subject,
}

impl Attempt {
    /// Keyed by what was typed, so an unknown e-mail is throttled exactly like a
    /// known one and the answer reveals nothing.
    pub fn new(typed_email: &str, client: ClientAddress) -> Attempt {
        Attempt {
            account: Subject::Account(typed_email.trim().to_lowercase().chars().take(254).collect()),
            address: Subject::Address(client.0.to_string()),
        }
    }
}

impl SigninThrottler {
    pub fn new(store: Store, rules: SigninThrottle, clock: Clock) -> SigninThrottler {
        SigninThrottler { store, rules, clock }
    }

    /// Refuses with a 429 while either subject is blocked.
    pub async fn check(&self, attempt: &Attempt) -> Result<(), AppError> {
        let (store, now) = (self.store.clone(), self.clock.now());
        let subjects = [attempt.account.clone(), attempt.address.clone()];
        match web::block(move || store.signin_blocked_for(&subjects, now)).await?? {
            Some(wait) => Err(AppError::TooManyAttempts {
                retry_after_seconds: wait.whole_seconds(),
            }),
            None => Ok(()),
        }
    }

    pub async fn failed(&self, attempt: Attempt) -> Result<(), AppError> {
        let (store, now) = (self.store.clone(), self.clock.now());
        let rules = [
            (attempt.account, self.rules.per_account),
            (attempt.address, self.rules.per_address),
        ];
        Ok(web::block(move || store.record_signin_failure(&rules, now)).await??)
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), AppError> {
        let store = self.store.clone();
        Ok(web::block(move || store.clear_signin_failures(&attempt.account)).await??)
    }
}
