//! `mail send` and `mail list`: the outbox as an operator sees it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{ListFormat, open_existing};
use crate::clock::Clock;
use crate::config::{DatabaseLocation, MailSettings};
use crate::listing::{Cell, Listing};
use crate::mail::Mailer;
use crate::mail::sender::send_due;
use crate::store::outbox::MailState;
use crate::telemetry::Metrics;

/// How many messages `mail list` shows.
const LISTED: usize = 200;

/// Where mail goes, for the server and for `mail send`.
#[derive(Debug, Clone, Args)]
pub(super) struct MailArgs {
    /// SMTP server for mail, e.g. `smtps://user:password@mail.example:465`;
    /// without it each message is written as an `.eml` file to --mail-dir.
    #[arg(long, env = "STORECREDIT_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The sender of mail, e.g. `Shop <no-reply@shop.example>`.
    #[arg(
        long,
        env = "STORECREDIT_MAIL_FROM",
        default_value = "storecredit <no-reply@localhost>"
    )]
    mail_from: String,
    /// Where mail is written as `.eml` files when no SMTP server is set.
    #[arg(long, env = "STORECREDIT_MAIL_DIR", default_value = "data/mail")]
    mail_dir: PathBuf,
}

impl MailArgs {
    pub(super) fn settings(self, send: bool) -> MailSettings {
        MailSettings {
            smtp_url: self.smtp_url,
            from: self.mail_from,
            folder: self.mail_dir,
            send,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(super) enum MailCommand {
    /// Queue the reminders of credit expiring within 7 days that are due (as
    /// each server does every hour), send every message that is due now (as
    /// each server does every second), then say how many went and how many
    /// failed.
    Send {
        #[command(flatten)]
        mail: MailArgs,
    },
    /// List the newest messages of the outbox: what, to whom, and whether it was
    /// sent, waits for a try, or failed.
    List {
        /// Only messages not sent yet (waiting or failed).
        #[arg(long)]
        pending: bool,
        #[command(flatten)]
        output: ListFormat,
    },
}

const COLUMNS: &[&str] = &[
    "id",
    "kind",
    "to",
    "subject",
    "queued",
    "state",
    "at",
    "attempts",
    "last error",
];

pub(super) fn run(database: &DatabaseLocation, command: MailCommand) -> anyhow::Result<ExitCode> {
    match command {
        MailCommand::Send { mail } => {
            let settings = mail.settings(true);
            let delivered_to = match &settings.smtp_url {
                Some(_) => "the SMTP server of --smtp-url".to_owned(),
                None => format!("{} (no --smtp-url: .eml files)", settings.folder.display()),
            };
            let mailer = Mailer::new(&settings)?;
            let store = open_existing(database)?;
            let clock = Clock::system();
            let reminders = store.queue_expiry_reminders(clock.now())?;
            let done = send_due(&store, &mailer, &clock, &Metrics::off(), usize::MAX)?;
            match reminders {
                0 => {}
                1 => println!("1 expiry reminder queued"),
                n => println!("{n} expiry reminders queued"),
            }
            println!("{} sent, {} failed", done.sent, done.failed);
            if done.sent + done.failed > 0 {
                eprintln!("Delivered to {delivered_to}.");
            }
            let waiting = store.mail_pending_count()?;
            if waiting > 0 {
                eprintln!("{waiting} message(s) wait for a later try (see mail list --pending).");
            }
            Ok(if done.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        MailCommand::List { pending, output } => {
            let store = open_existing(database)?;
            let mut listing = Listing::new(COLUMNS);
            for mail in store.mail_page(pending, None, LISTED)?.entries {
                let (state, at) = match mail.state {
                    MailState::Pending => ("pending", mail.next_attempt_at),
                    MailState::Sent(at) => ("sent", at),
                    MailState::Failed(at) => ("failed", at),
                };
                listing.push(vec![
                    Cell::Count(mail.id),
                    Cell::text(mail.kind),
                    Cell::text(mail.to),
                    Cell::text(mail.subject),
                    Cell::Instant(mail.created_at),
                    Cell::text(state),
                    Cell::Instant(at),
                    Cell::Count(mail.attempts),
                    mail.last_error.map_or(Cell::Nothing(""), Cell::Text),
                ]);
            }
            listing.write(output.format, &mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
