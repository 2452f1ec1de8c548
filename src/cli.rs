//! The command line: `serve` (the default) and the operator subcommands.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use time::{Date, Duration, OffsetDateTime, macros::format_description};

use crate::auth::password;
use crate::clock::Clock;
use crate::config::{CookieSecurity, Settings};
use crate::domain::{CategorySet, CreditKind, CreditSource, DisplayName, Email, Money, NewPassword, UserId};
use crate::startup::Application;
use crate::store::Store;
use crate::store::credits::NewCredit;

#[derive(Debug, Parser)]
#[command(
    name = "storecredit",
    version,
    about = "A store-credit shop: serves the site, and manages accounts and credit",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// The SQLite database file (created and migrated when missing).
    #[arg(
        long,
        global = true,
        env = "STORECREDIT_DATABASE",
        default_value = "data/storecredit.db"
    )]
    database: PathBuf,

    /// Serving options when no subcommand is given.
    #[command(flatten)]
    serve: ServeArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the website (the default command).
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Grant store credit.
    #[command(subcommand)]
    Credit(CreditCommand),
    /// Show an account's five balances, as the pop-up shows them.
    Balance {
        #[arg(long)]
        email: String,
    },
    /// Check the credit ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STORECREDIT_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Do not seed the demo catalog, account and codes into an empty database.
    #[arg(long, env = "STORECREDIT_NO_DEMO")]
    no_demo: bool,
    /// When the session cookie is `Secure` with the `__Host-` prefix: `auto` means
    /// always, except when listening on a loopback address over plain HTTP.
    #[arg(long, env = "STORECREDIT_COOKIE_SECURE", value_enum, default_value_t = CookieSecurity::Auto)]
    cookie_secure: CookieSecurity,
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "STORECREDIT_SESSION_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    session_idle_minutes: u32,
    /// Hours after sign-in at which a session ends however busy it is.
    #[arg(long, env = "STORECREDIT_SESSION_ABSOLUTE_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=720))]
    session_absolute_hours: u32,
    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "STORECREDIT_WORKERS", value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: Option<u16>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum CreditCommand {
    /// Grant a credit to an account (recorded in its ledger as an operator grant).
    Grant {
        #[arg(long)]
        email: String,
        /// Amount in dollars, e.g. 10.00.
        #[arg(long)]
        amount: String,
        /// Categories the promotional credit is valid for, e.g. music,kindle.
        #[arg(long, conflicts_with = "gift_card", required_unless_present = "gift_card")]
        categories: Option<String>,
        /// Grant gift-card credit (valid for everything) instead.
        #[arg(long)]
        gift_card: bool,
        /// Last day the credit can be used (YYYY-MM-DD, UTC); none means no expiry.
        #[arg(long)]
        expires: Option<String>,
        /// What the shopper sees as the credit's description.
        #[arg(long, default_value = "Credit from customer service")]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Exit 0 when every credit's remaining amount equals the sum of its ledger.
    Verify,
}

/// Runs the parsed command; errors are printed for a person, with their causes.
pub fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        None => serve(&cli.database, cli.serve),
        Some(Command::Serve(args)) => serve(&cli.database, args),
        Some(Command::User(UserCommand::Add { email, name })) => add_user(&cli.database, &email, &name),
        Some(Command::Credit(CreditCommand::Grant {
            email,
            amount,
            categories,
            gift_card,
            expires,
            note,
        })) => grant_credit(
            &cli.database,
            &email,
            &amount,
            categories.as_deref().filter(|_| !gift_card),
            expires.as_deref(),
            &note,
        ),
        Some(Command::Balance { email }) => show_balance(&cli.database, &email),
        Some(Command::Ledger(LedgerCommand::Verify)) => verify_ledger(&cli.database),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(database: &std::path::Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::with_database(database.to_path_buf());
    settings.bind = args.bind;
    settings.seed_demo = !args.no_demo;
    settings.cookie_security = args.cookie_secure;
    settings.session_lifetime.idle = Duration::minutes(args.session_idle_minutes.into());
    settings.session_lifetime.absolute = Duration::hours(args.session_absolute_hours.into());
    settings.workers = args.workers.map(usize::from);
    actix_web::rt::System::new().block_on(async move {
        let application = Application::build(settings).await?;
        tracing::info!(url = application.url(), database = %database.display(), "storecredit is serving");
        application.run_until_stopped().await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn open(database: &std::path::Path) -> anyhow::Result<Store> {
    Store::open(database).with_context(|| format!("cannot open the database {}", database.display()))
}

fn account(store: &Store, email: &str) -> anyhow::Result<UserId> {
    let email = Email::parse(email)?;
    store
        .user_id_by_email(&email)?
        .with_context(|| format!("no account has the e-mail address {}", email.as_str()))
}

fn add_user(database: &std::path::Path, email: &str, name: &str) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let name = DisplayName::parse(name)?;
    if std::io::stdin().is_terminal() {
        eprintln!("Password (12 to 128 characters), then Enter:");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password")?;
    let typed = line.strip_suffix('\n').unwrap_or(&line);
    let typed = typed.strip_suffix('\r').unwrap_or(typed);
    let password = NewPassword::parse(typed, &[email.as_str(), name.as_str()])?;
    let hash = password::hash_now(password.expose()).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    let store = open(database)?;
    let id = store.create_user(&email, &name, &hash, OffsetDateTime::now_utc())?;
    println!("created account {id} for {}", email.as_str());
    Ok(ExitCode::SUCCESS)
}

/// `2027-01-31` means usable through that whole day (UTC).
fn end_of_day(date: &str) -> anyhow::Result<OffsetDateTime> {
    let day = Date::parse(date, format_description!("[year]-[month]-[day]"))
        .with_context(|| format!("{date:?} is not a date like 2027-01-31"))?;
    Ok(day.midnight().assume_utc() + Duration::DAY)
}

fn grant_credit(
    database: &std::path::Path,
    email: &str,
    amount: &str,
    categories: Option<&str>,
    expires: Option<&str>,
    note: &str,
) -> anyhow::Result<ExitCode> {
    let amount = Money::parse(amount)?;
    if amount.is_zero() {
        bail!("a credit must be worth more than $0.00");
    }
    let kind = match categories {
        Some(list) => {
            let set = CategorySet::parse_list(list)?;
            if set.is_empty() {
                bail!("name at least one category: music, kindle, video or software");
            }
            CreditKind::Promotional(set)
        }
        None => CreditKind::GiftCard,
    };
    let now = Clock::system().now();
    let expires_at = expires.map(end_of_day).transpose()?;
    if expires_at.is_some_and(|expiry| expiry <= now) {
        bail!("that expiry date has already passed");
    }
    let store = open(database)?;
    let user = account(&store, email)?;
    let credit = NewCredit {
        kind,
        source: CreditSource::Grant,
        description: note.trim().to_owned(),
        amount,
        expires_at,
        code_redemption_id: None,
    };
    let id = store.grant_credit(user, &credit, now)?;
    println!("granted credit {} of {amount} to {email}", id.0);
    Ok(ExitCode::SUCCESS)
}

fn show_balance(database: &std::path::Path, email: &str) -> anyhow::Result<ExitCode> {
    let store = open(database)?;
    let user = account(&store, email)?;
    let balances = store.balances_for(user, Clock::system().now())?;
    for line in balances.lines() {
        println!("{:<14} {:>12}", line.label, line.amount.to_string());
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_ledger(database: &std::path::Path) -> anyhow::Result<ExitCode> {
    let store = open(database)?;
    let mismatches = store.verify_ledger()?;
    if mismatches.is_empty() {
        println!("ledger ok: every credit adds up");
        return Ok(ExitCode::SUCCESS);
    }
    for m in &mismatches {
        eprintln!(
            "credit {} (account {}): original {} but grants {}; remaining {} but ledger sums to {}",
            m.credit_id.0, m.user_id, m.original, m.granted, m.remaining, m.ledger_sum
        );
    }
    eprintln!("ledger broken: {} credit(s) do not add up", mismatches.len());
    Ok(ExitCode::FAILURE)
}
