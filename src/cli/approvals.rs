//! `approval list|approve|reject` and `settings set|show`: four eyes on big
//! grants and upward adjustments from the command line, the approval threshold
//! and the support staff's goodwill limits.

use std::process::ExitCode;

use super::open_existing;
use crate::clock::Clock;
use crate::config::DatabaseLocation;
use crate::domain::{Actor, AdjustmentReason, Money};
use crate::listing::rows::{APPROVAL_COLUMNS, approval_cells};
use crate::listing::{Format, Listing, for_people};
use crate::store::approvals::RequestId;
use crate::store::settings::Setting;

/// The settings `settings set` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum SettingName {
    /// Grants and upward adjustments above this amount wait for a second
    /// person's approval (dollars, e.g. 250.00).
    ApprovalThreshold,
    /// The most one goodwill grant by support staff may be (dollars, $25.00 by
    /// default).
    SupportGrantLimit,
    /// The most a support staff member may grant as goodwill in a day, UTC
    /// (dollars, $100.00 by default).
    SupportDayLimit,
}

impl SettingName {
    fn setting(self) -> Setting {
        match self {
            SettingName::ApprovalThreshold => Setting::ApprovalThreshold,
            SettingName::SupportGrantLimit => Setting::SupportGrantLimit,
            SettingName::SupportDayLimit => Setting::SupportDayLimit,
        }
    }
}

/// What a setting does, after its new value.
fn meaning(setting: Setting) -> &'static str {
    match setting {
        Setting::ApprovalThreshold => {
            "grants and upward adjustments above it wait for a second person's approval"
        }
        Setting::SupportGrantLimit => "support staff's goodwill grants are at most this each",
        Setting::SupportDayLimit => "support staff grant at most this as goodwill a day each",
    }
}

/// What `credit grant` and `credit adjust` print when the change waits.
pub(super) fn waits_for_approval(request: RequestId, threshold: Money) -> String {
    format!(
        "waits for approval as request {request}: above the {threshold} approval threshold; another \
         operator or a manager approves it with `storecredit approval approve {request} --reason …`"
    )
}

pub(super) fn list(database: &DatabaseLocation, all: bool, format: Format) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let categories = store.categories();
    let requests = if all {
        let mut requests = Vec::new();
        let mut before = None;
        loop {
            let page = store.approval_requests_page(before, 100)?;
            requests.extend(page.entries);
            match page.older {
                Some(older) => before = Some(older),
                None => break,
            }
        }
        requests
    } else {
        store.pending_requests()?
    };
    let mut listing = Listing::new(APPROVAL_COLUMNS);
    for request in &requests {
        listing.push(approval_cells(request, &categories));
    }
    listing.write(format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn approve(database: &DatabaseLocation, id: i64, reason: &str) -> anyhow::Result<ExitCode> {
    let reason = AdjustmentReason::parse(reason).map_err(|error| anyhow::anyhow!("--reason: {error}"))?;
    let store = open_existing(database)?;
    let request = store.approve_request(&Actor::command(), RequestId(id), &reason, Clock::system().now())?;
    let done = match request.granted {
        Some(credit) => format!(
            "granted credit {} of {} to {}",
            credit.0,
            request.change.amount(),
            for_people(&request.customer_email)
        ),
        None => format!(
            "{} for {}",
            request.change.describe(&store.categories()),
            for_people(&request.customer_email)
        ),
    };
    println!("approved request {id}: {done}");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn reject(database: &DatabaseLocation, id: i64, reason: &str) -> anyhow::Result<ExitCode> {
    let reason = AdjustmentReason::parse(reason).map_err(|error| anyhow::anyhow!("--reason: {error}"))?;
    let store = open_existing(database)?;
    let request = store.reject_request(&Actor::command(), RequestId(id), &reason, Clock::system().now())?;
    println!(
        "rejected request {id} ({} for {}): nothing was granted",
        request.change.describe(&store.categories()),
        for_people(&request.customer_email)
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn set(database: &DatabaseLocation, name: SettingName, value: &str) -> anyhow::Result<ExitCode> {
    let setting = name.setting();
    let amount = Money::parse(value)
        .map_err(|error| anyhow::anyhow!("{} {:?}: {error}", setting.name(), for_people(value)))?;
    let store = open_existing(database)?;
    let changed = store.change_settings(&Actor::command(), &[(setting, amount)], Clock::system().now())?;
    match changed.first() {
        Some((_, before, after)) => println!(
            "{} set to {after} (was {before}): {}",
            setting.name(),
            meaning(setting)
        ),
        None => println!("{} is {amount} already: nothing changed", setting.name()),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn show(database: &DatabaseLocation) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    for (setting, value) in store.settings()? {
        println!("{} {value}", setting.name());
    }
    Ok(ExitCode::SUCCESS)
}
