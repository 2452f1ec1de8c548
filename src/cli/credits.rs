//! `credit list`, `credit adjust` and `credit revoke`: an account's credits and an
//! operator's corrections to them.

use crate::config::DatabaseLocation;
use std::process::ExitCode;

use super::{account, open_existing};
use crate::clock::Clock;
use crate::domain::{Actor, Adjustment, AdjustmentReason, Categories, CreditId, CreditKind, LastDay};
use crate::listing::{Cell, Format, Listing};
use crate::store::approvals::AdjustOutcome;
use crate::store::credits::Adjusted;

pub(super) fn list(database: &DatabaseLocation, email: &str, format: Format) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let categories = store.categories();
    let user = account(&store, email)?;
    let now = Clock::system().now();
    let mut listing = Listing::new(&[
        "id",
        "kind",
        "categories",
        "original",
        "remaining",
        "last_day",
        "source",
        "description",
        "status",
    ]);
    for entry in store.account_credits(user)? {
        let credit = &entry.credit;
        listing.push(vec![
            Cell::Count(credit.id.0),
            Cell::text(kind_name(credit.kind)),
            Cell::text(category_slugs(&categories, credit.kind)),
            Cell::Money(credit.original),
            Cell::Money(credit.remaining),
            credit
                .expires_at
                .map_or(Cell::Nothing("never"), |at| Cell::Day(LastDay::of(at))),
            Cell::text(entry.source.label()),
            Cell::text(entry.description.clone()),
            Cell::text(entry.status(now).label()),
        ]);
    }
    listing.write(format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn adjust(
    database: &DatabaseLocation,
    id: i64,
    amount: &str,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let adjustment = Adjustment::parse(amount).map_err(|error| anyhow::anyhow!("--amount: {error}"))?;
    let reason = AdjustmentReason::parse(reason)?;
    let store = open_existing(database)?;
    let outcome = store.ask_adjust(
        &Actor::command(),
        CreditId(id),
        adjustment,
        &reason,
        Clock::system().now(),
    )?;
    match outcome {
        AdjustOutcome::Adjusted(adjusted) => println!(
            "adjusted credit {id} by {adjustment}: {}",
            what_remains(&adjusted)
        ),
        AdjustOutcome::AwaitingApproval { request, threshold } => println!(
            "adjusting credit {id} by {adjustment} {}",
            super::approvals::waits_for_approval(request, threshold)
        ),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn revoke(database: &DatabaseLocation, id: i64, reason: &str) -> anyhow::Result<ExitCode> {
    let reason = AdjustmentReason::parse(reason)?;
    let store = open_existing(database)?;
    let revoked = store.revoke_credit(&Actor::command(), CreditId(id), &reason, Clock::system().now())?;
    println!("revoked credit {id}: {}", what_remains(&revoked));
    Ok(ExitCode::SUCCESS)
}

/// "$10.00 → $7.50 remaining (of $10.00)".
fn what_remains(adjusted: &Adjusted) -> String {
    format!(
        "{} \u{2192} {} remaining (of {}), recorded in its ledger with the reason",
        adjusted.before, adjusted.after, adjusted.original
    )
}

/// A credit's kind as operators type it elsewhere (`--gift-card`).
pub(super) fn kind_name(kind: CreditKind) -> &'static str {
    match kind {
        CreditKind::Promotional(_) => "promotional",
        CreditKind::GiftCard => "gift-card",
    }
}

/// `music,kindle` as `--categories` takes it; `all` for gift-card credit.
pub(super) fn category_slugs(categories: &Categories, kind: CreditKind) -> String {
    match kind {
        CreditKind::GiftCard => "all".to_owned(),
        CreditKind::Promotional(valid) => categories.slugs(valid),
    }
}
