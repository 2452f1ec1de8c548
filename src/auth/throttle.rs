//! The throttles as the forms use them: what each attempt is counted against, and
//! what a success gives back (SPEC §6).
//!
//! Every attempt is counted before its work starts (`reserve`), so a burst sent at
//! once is limited exactly like the same attempts sent one by one; a success then
//! takes its count back, so in the end only failures add up.

use actix_web::web;
use time::OffsetDateTime;

use crate::auth::client_address::ClientAddress;
use crate::auth::device::Device;
use crate::clock::Clock;
use crate::config::ThrottleRules;
use crate::domain::UserId;
use crate::error::{AppError, Limited};
use crate::store::Store;
use crate::store::throttle::{Subject, ThrottleRule};
use crate::telemetry::Metrics;

#[derive(Clone)]
pub struct Throttle {
    store: Store,
    rules: ThrottleRules,
    clock: Clock,
    /// Counts each attempt answered 429.
    metrics: Metrics,
}

/// An attempt that was counted and may go ahead; tell [`Throttle::succeeded`] if
/// it succeeds.
#[must_use = "a counted attempt is settled with `Throttle::succeeded` when it succeeds"]
pub struct Attempt {
    /// Start over after a success (the account that proved its password).
    cleared: Vec<Subject>,
    /// Get this attempt back after a success.
    refunded: Vec<Subject>,
}

/// The account a sign-in or current-password attempt is counted against: keyed by
/// the e-mail as typed (trimmed, lower-cased), so an unknown e-mail is throttled
/// exactly like a known one and the answer reveals nothing. (`storecredit user
/// unlock` clears this count.)
pub fn account(email: &str) -> Subject {
    Subject(format!("account:{}", typed_key(email)))
}

/// An e-mail as typed, as a counter's key: trimmed, lower-cased, at most 254
/// characters, each control character (a NUL, which no database text may hold)
/// replaced by U+FFFD so that it still counts apart from the address without it.
fn typed_key(email: &str) -> String {
    email
        .trim()
        .to_lowercase()
        .chars()
        .take(254)
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

fn address(action: &str, client: ClientAddress) -> Subject {
    Subject(format!("{action}:{}", client.network()))
}

impl Throttle {
    pub fn new(store: Store, rules: ThrottleRules, clock: Clock, metrics: Metrics) -> Throttle {
        Throttle {
            store,
            rules,
            clock,
            metrics,
        }
    }

    /// Counts a sign-in. From a browser with a valid device cookie for the typed
    /// e-mail, against that device alone; from any other browser, against the
    /// typed e-mail and the client's address (SPEC §9: failures from elsewhere,
    /// even from the same address behind one NAT, never pause a browser the
    /// owner signed in with; a device cookie is only had by signing in, and its
    /// own count limits its guesses). A success clears the counter it was
    /// counted against, never the account's from a device: that would hand a
    /// guesser elsewhere a fresh allowance.
    pub async fn sign_in(
        &self,
        typed_email: &str,
        client: ClientAddress,
        device: Option<&Device>,
    ) -> Result<Attempt, AppError> {
        if let Some(device) = device {
            let counted = device.sign_in_subject();
            self.reserve(
                vec![(counted.clone(), self.rules.signin_per_account)],
                Limited::SignIn,
            )
            .await?;
            return Ok(Attempt {
                cleared: vec![counted],
                refunded: Vec::new(),
            });
        }
        let (counted, address) = (account(typed_email), address("address", client));
        self.reserve(
            vec![
                (counted.clone(), self.rules.signin_per_account),
                (address.clone(), self.rules.signin_per_address),
            ],
            Limited::SignIn,
        )
        .await?;
        Ok(Attempt {
            cleared: vec![counted],
            refunded: vec![address],
        })
    }

    /// Counts a console sign-in against the typed e-mail and the client's address,
    /// with the shoppers' limits but counts of its own (a staff e-mail may also be
    /// a shopper's).
    pub async fn console_sign_in(
        &self,
        typed_email: &str,
        client: ClientAddress,
    ) -> Result<Attempt, AppError> {
        let account = Subject(format!("console-account:{}", typed_key(typed_email)));
        let address = address("console-address", client);
        self.reserve(
            vec![
                (account.clone(), self.rules.signin_per_account),
                (address.clone(), self.rules.signin_per_address),
            ],
            Limited::SignIn,
        )
        .await?;
        Ok(Attempt {
            cleared: vec![account],
            refunded: vec![address],
        })
    }

    /// Counts a check of the current password (before a change) as a sign-in to
    /// that account from the client's address: they share the sign-in counts, so a
    /// stolen session guesses no faster than a sign-in form, and the browser's
    /// device cookie counts as it does there.
    pub async fn current_password(
        &self,
        email: &str,
        client: ClientAddress,
        device: Option<&Device>,
    ) -> Result<Attempt, AppError> {
        self.sign_in(email, client, device).await
    }

    /// Counts a code typed at `/redeem` or at checkout against the account and the
    /// client's address.
    pub async fn code(&self, user: UserId, client: ClientAddress) -> Result<Attempt, AppError> {
        let account = Subject(format!("code-account:{}", user.0));
        let address = address("code-address", client);
        self.reserve(
            vec![
                (account.clone(), self.rules.codes_per_account),
                (address.clone(), self.rules.codes_per_address),
            ],
            Limited::Codes,
        )
        .await?;
        Ok(Attempt {
            cleared: Vec::new(),
            refunded: vec![account, address],
        })
    }

    /// Counts a registration against the e-mail typed and the client's address;
    /// every one counts, since each sends a message to that address.
    pub async fn registration(&self, typed_email: &str, client: ClientAddress) -> Result<(), AppError> {
        self.reserve(
            vec![
                (
                    Subject(format!("register-email:{}", typed_key(typed_email))),
                    self.rules.registrations_per_email,
                ),
                (
                    address("register-address", client),
                    self.rules.registrations_per_address,
                ),
            ],
            Limited::Registrations,
        )
        .await
    }

    /// Counts a "Forgot your password?" request against the client's address and,
    /// from a browser with a valid device cookie for the typed e-mail, against that
    /// device, else against the e-mail typed: requests others make for an account
    /// do not stop its owner asking from a browser it signed in with. Every one
    /// counts, since each may send a mail.
    pub async fn password_reset(
        &self,
        typed_email: &str,
        client: ClientAddress,
        device: Option<&Device>,
    ) -> Result<(), AppError> {
        // From the owner's own browser, against that browser alone: resets
        // others ask for, from anywhere (the same address included), never stop
        // it asking.
        let counters = match device {
            Some(device) => vec![(device.reset_subject(), self.rules.password_resets_per_account)],
            None => vec![
                (
                    Subject(format!("reset-account:{}", typed_key(typed_email))),
                    self.rules.password_resets_per_account,
                ),
                (
                    address("reset-address", client),
                    self.rules.password_resets_per_address,
                ),
            ],
        };
        self.reserve(counters, Limited::PasswordResets).await
    }

    /// After a password was reset by e-mail: the account's sign-in count starts
    /// over, since its owner just proved who they are.
    pub async fn account_recovered(&self, email: &str) -> Result<(), AppError> {
        let (store, now, cleared) = (self.store.clone(), self.clock.now(), [account(email)]);
        web::block(move || store.settle_successful_attempt(&cleared, &[], now)).await??;
        Ok(())
    }

    async fn reserve(&self, counters: Vec<(Subject, ThrottleRule)>, what: Limited) -> Result<(), AppError> {
        let (store, now) = (self.store.clone(), self.clock.now());
        match web::block(move || store.reserve_attempt(&counters, now)).await?? {
            None => Ok(()),
            Some(wait) => {
                tracing::warn!(?what, "attempt throttled");
                self.metrics.throttled(what);
                Err(AppError::TooManyAttempts {
                    retry_after_seconds: wait.whole_seconds(),
                    what,
                })
            }
        }
    }

    /// Whether sign-in to the account with `email` is paused now, by this
    /// server's own rule.
    pub async fn sign_in_state(&self, email: &str) -> Result<SignInState, AppError> {
        let (store, now, subject) = (self.store.clone(), self.clock.now(), account(email));
        let count = web::block(move || store.attempts_counted(&subject, now)).await??;
        Ok(self.sign_in_state_from(count))
    }

    /// What an account's failed sign-in count (attempts, window end) means by
    /// this server's rule.
    pub fn sign_in_state_from(&self, count: Option<(i64, OffsetDateTime)>) -> SignInState {
        SignInState::from_count(count, self.rules.signin_per_account.max_attempts)
    }

    /// The attempt succeeded: its count is taken back.
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), AppError> {
        let (store, now) = (self.store.clone(), self.clock.now());
        web::block(move || store.settle_successful_attempt(&attempt.cleared, &attempt.refunded, now))
            .await??;
        Ok(())
    }
}

/// Whether an account's sign-in is paused by the throttle (SPEC §4), as staff
/// and operators see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInState {
    /// Open, with this many failed attempts in the current window.
    Open { failed: i64 },
    /// Paused after this many failed attempts, until then.
    Paused { attempts: i64, until: OffsetDateTime },
}

impl SignInState {
    /// A count that has reached `limit` within its window pauses the account.
    pub fn from_count(count: Option<(i64, OffsetDateTime)>, limit: i64) -> SignInState {
        match count {
            Some((attempts, until)) if attempts >= limit => SignInState::Paused { attempts, until },
            Some((failed, _)) => SignInState::Open { failed },
            None => SignInState::Open { failed: 0 },
        }
    }
}
