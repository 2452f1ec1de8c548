//! The sender: claims due messages from the outbox, delivers them and marks
//! each sent, or failed to be tried again later. Every server runs one
//! ([`spawn`]); `storecredit mail send` runs one round ([`send_due`]). Beside
//! it every server sweeps for credit due a reminder ([`spawn_reminder_sweep`]).

use std::time::Duration as StdDuration;

use time::Duration;

use super::Mailer;
use crate::clock::Clock;
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;

/// How long a claimed message is held by its sender before another may take it:
/// well past the SMTP timeout, so only a sender that died loses its claim.
pub const CLAIM: Duration = Duration::minutes(2);

/// How many messages one claim takes.
const BATCH: usize = 10;

/// How often a server looks for due messages.
pub const LOOK_EVERY: StdDuration = StdDuration::from_secs(1);

/// How often a server sweeps for credit due a reminder (SPEC §9: when it
/// starts, then every hour).
pub const SWEEP_REMINDERS_EVERY: StdDuration = StdDuration::from_secs(3600);

/// What one round of sending did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    pub sent: usize,
    /// Tries that failed (to be tried again, or given up).
    pub failed: usize,
}

/// Sends every message due now, batch by batch, until none is left (or
/// `at_most` were tried). Blocks: run it off the async workers.
pub fn send_due(
    store: &Store,
    mailer: &Mailer,
    clock: &Clock,
    metrics: &Metrics,
    at_most: usize,
) -> Result<Sent, StoreError> {
    let mut done = Sent::default();
    while done.sent + done.failed < at_most {
        let claimed = store.claim_mail(clock.now(), CLAIM, BATCH)?;
        if claimed.is_empty() {
            break;
        }
        for mail in &claimed {
            match mailer.deliver(mail) {
                Ok(()) => {
                    store.mark_mail_sent(mail.id, clock.now())?;
                    metrics.mail_sent();
                    tracing::info!(mail_id = mail.id, kind = %mail.kind, "mail sent");
                    done.sent += 1;
                }
                Err(refused) => {
                    let again =
                        store.mark_mail_failed(mail, &refused.reason, refused.permanent, clock.now())?;
                    metrics.mail_failed(again);
                    tracing::warn!(mail_id = mail.id, kind = %mail.kind, error = %refused.reason,
                        permanent = refused.permanent, attempts = mail.attempts, "mail not sent");
                    done.failed += 1;
                }
            }
        }
    }
    Ok(done)
}

/// Runs a sender on this server: every [`LOOK_EVERY`] it sends what is due.
pub fn spawn(store: Store, mailer: Mailer, clock: Clock, metrics: Metrics) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(LOOK_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let (store, mailer, clock, metrics) =
                (store.clone(), mailer.clone(), clock.clone(), metrics.clone());
            match actix_web::web::block(move || send_due(&store, &mailer, &clock, &metrics, 1000)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = ?e, "could not send mail"),
                Err(e) => tracing::warn!(error = ?e, "the mail sender did not run"),
            }
        }
    });
}

/// Sweeps for credit due a reminder now, as the server starts, then every
/// [`SWEEP_REMINDERS_EVERY`] (see `Store::queue_expiry_reminders`: many
/// servers sweeping at once still send one reminder per credit).
pub fn spawn_reminder_sweep(store: Store, clock: Clock) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(SWEEP_REMINDERS_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let (store, now) = (store.clone(), clock.now());
            match actix_web::web::block(move || store.queue_expiry_reminders(now)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(queued)) => tracing::info!(queued, "expiry reminders queued"),
                Ok(Err(e)) => tracing::warn!(error = ?e, "could not queue expiry reminders"),
                Err(e) => tracing::warn!(error = ?e, "the expiry reminder sweep did not run"),
            }
        }
    });
}
