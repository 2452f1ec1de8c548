//! `code list`, `code show` and `code deactivate`: the real terms of every code.

use crate::config::DatabaseLocation;
use std::process::ExitCode;

use anyhow::Context;

use super::open_existing;
use crate::clock::Clock;
use crate::domain::{Actor, CodeGrant, PromoCode};
use crate::listing::rows::{CODE_COLUMNS, code_cells};
use crate::listing::{Format, Listing, for_people, moment};
use crate::store::Store;

pub(super) fn list(database: &DatabaseLocation, format: Format) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let categories = store.categories();
    let mut listing = Listing::new(CODE_COLUMNS);
    for code in store.list_codes()? {
        listing.push(code_cells(&code, &categories));
    }
    listing.write(format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

/// How many of a code's redemptions `code show` lists.
const REDEMPTIONS_SHOWN: usize = 50;

pub(super) fn show(database: &DatabaseLocation, code: &str) -> anyhow::Result<ExitCode> {
    let code = PromoCode::parse(code)?;
    let store = open_existing(database)?;
    let categories = store.categories();
    let record = store
        .code_named(&code)?
        .with_context(|| format!("there is no code {}", code.as_str()))?;
    let what = record.grant.describe(&categories);
    let cells = code_cells(&record, &categories);
    let shown = |column: &str| {
        let at = CODE_COLUMNS
            .iter()
            .position(|name| *name == column)
            .expect("a column");
        cells[at].for_people()
    };
    println!("Code          {}", record.code);
    println!("Gives         {what}");
    println!("Description   {}", for_people(&record.description));
    println!("Kind          {}", shown("kind"));
    println!("Categories    {}", shown("categories"));
    if matches!(record.grant, CodeGrant::Credit { .. }) {
        let days = shown("valid_days");
        let valid = if days.chars().all(|c| c.is_ascii_digit()) {
            format!("{days} days after redemption")
        } else {
            days
        };
        println!("Credit valid  {valid}");
    }
    match record.max_redemptions {
        Some(cap) => println!("Redeemed      {} of {cap}", record.redemptions),
        None => println!(
            "Redeemed      {} (no cap: once by every account)",
            record.redemptions
        ),
    }
    println!("Redeem by     {}", shown("redeem_by"));
    println!(
        "Active        {}",
        if record.active {
            "yes"
        } else {
            "no (deactivated: refused like an unknown code)"
        }
    );
    let redemptions = store.code_redemptions(&code, REDEMPTIONS_SHOWN)?;
    if !redemptions.is_empty() {
        println!("Redeemed by (newest first)");
    }
    for redemption in &redemptions {
        println!(
            "  {}  {} ({})",
            moment(redemption.redeemed_at),
            for_people(&redemption.email),
            for_people(&redemption.name)
        );
    }
    let earlier = record.redemptions - i64::try_from(redemptions.len()).unwrap_or(0);
    if earlier > 0 {
        println!("  … and {earlier} earlier");
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses to switch a gift card a shopper bought: refunding its order voids it.
fn refuse_bought(store: &Store, code: &PromoCode) -> anyhow::Result<()> {
    if store.code_named(code)?.is_some_and(|record| record.bought) {
        anyhow::bail!(
            "{} is a gift card a shopper bought for someone: it is voided only by refunding its order \
             (storecredit order refund), and never switched on again",
            code.as_str()
        );
    }
    Ok(())
}

pub(super) fn deactivate(database: &DatabaseLocation, code: &str) -> anyhow::Result<ExitCode> {
    let code = PromoCode::parse(code)?;
    let store = open_existing(database)?;
    refuse_bought(&store, &code)?;
    let changed = store.deactivate_code(&Actor::command(), &code, Clock::system().now())?;
    let code = code.as_str();
    report_switch(
        code,
        changed,
        &format!("deactivated {code}: it can no longer be redeemed; what it granted already stays"),
        &format!("{code} was already deactivated"),
    )
}

pub(super) fn reactivate(database: &DatabaseLocation, code: &str) -> anyhow::Result<ExitCode> {
    let code = PromoCode::parse(code)?;
    let store = open_existing(database)?;
    refuse_bought(&store, &code)?;
    let changed = store.reactivate_code(&Actor::command(), &code, Clock::system().now())?;
    // Active again, it is still refused past its deadline or its cap: say so.
    let still_refused = store
        .code_named(&code)?
        .and_then(|record| record.why_not_redeemable(time::OffsetDateTime::now_utc()));
    let code = code.as_str();
    let done = match still_refused {
        None => format!("reactivated {code}: it can be redeemed again, within its deadline and cap"),
        Some(why) => format!("reactivated {code}, but it still cannot be redeemed: {why}"),
    };
    report_switch(code, changed, &done, &format!("{code} is already active"))
}

/// What switching a code off or on did: `changed` is `None` for an unknown code,
/// else whether it was in the other state until now.
fn report_switch(code: &str, changed: Option<bool>, done: &str, already: &str) -> anyhow::Result<ExitCode> {
    match changed {
        None => anyhow::bail!("there is no code {code}"),
        Some(true) => println!("{done}"),
        Some(false) => println!("{already}"),
    }
    Ok(ExitCode::SUCCESS)
}
