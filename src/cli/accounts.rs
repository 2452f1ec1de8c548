//! `user list`, `user show` and `user unlock`: accounts as an operator sees them.

use crate::config::DatabaseLocation;
use std::process::ExitCode;

use anyhow::Context;
use time::OffsetDateTime;

use super::{open_existing, print_balances};
use crate::auth::throttle::{SignInState, account as sign_in_subject};
use crate::clock::Clock;
use crate::config::ThrottleRules;
use crate::domain::{Actor, Email};
use crate::listing::rows::{ACCOUNT_COLUMNS, account_cells};
use crate::listing::{Format, Listing, for_people, moment};
use crate::store::Store;
use crate::store::users::AccountSummary;

pub(super) fn list(
    database: &DatabaseLocation,
    search: Option<&str>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let mut listing = Listing::new(ACCOUNT_COLUMNS);
    for account in store.list_accounts(search)? {
        listing.push(account_cells(&account));
    }
    listing.write(format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn show(database: &DatabaseLocation, email: &str) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let account = summary(&store, email)?;
    let now = Clock::system().now();
    let balances = store.balances_for(account.id, now)?;
    let sign_in = SignIn::of(&store, &account.email, now)?;
    println!("Account       {}", account.id.0);
    println!("Name          {}", for_people(&account.name));
    println!("E-mail        {}", account.email);
    println!("Created       {}", moment(account.created_at));
    println!(
        "Default card  {}",
        account.default_card.as_deref().unwrap_or("none")
    );
    println!("Credits       {}", account.credits);
    println!("Orders        {}", account.orders);
    println!("Sign-in       {}", describe(sign_in));
    println!("Balances");
    print_balances(&balances, "  ");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn unlock(database: &DatabaseLocation, email: &str) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let account = summary(&store, email)?;
    let now = Clock::system().now();
    let cleared = store.clear_attempts(
        &Actor::command(),
        account.id,
        &sign_in_subject(&account.email),
        now,
    )?;
    match SignIn::from_count(cleared) {
        SignInState::Paused { attempts, .. } => println!(
            "sign-in for {} was paused after {attempts} failed attempts; it is open again",
            account.email
        ),
        SignInState::Open { failed: 0 } => {
            println!("sign-in for {} was not paused; nothing to clear", account.email)
        }
        SignInState::Open { failed } => println!(
            "sign-in for {} was not paused; its {failed} recent failed attempt(s) are forgotten",
            account.email
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn summary(store: &Store, email: &str) -> anyhow::Result<AccountSummary> {
    let email = Email::parse(email)?;
    store
        .account_summary(&email)?
        .with_context(|| format!("no account has the e-mail address {}", email.as_str()))
}

/// Whether an account's sign-in is paused, by the server's default rule.
struct SignIn;

impl SignIn {
    fn of(store: &Store, email: &str, now: OffsetDateTime) -> anyhow::Result<SignInState> {
        Ok(SignIn::from_count(
            store.attempts_counted(&sign_in_subject(email), now)?,
        ))
    }

    fn from_count(count: Option<(i64, OffsetDateTime)>) -> SignInState {
        SignInState::from_count(count, ThrottleRules::default().signin_per_account.max_attempts)
    }
}

/// "open", or when and why it is paused, with how to open it.
fn describe(state: SignInState) -> String {
    match state {
        SignInState::Open { failed: 0 } => "open".to_owned(),
        SignInState::Open { failed } => format!("open ({failed} recent failed attempt(s))"),
        SignInState::Paused { attempts, until } => format!(
            "PAUSED after {attempts} failed attempts, until {} (`storecredit user unlock` opens it now)",
            moment(until)
        ),
    }
}
