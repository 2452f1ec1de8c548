//! `audit verify` and `audit list`: the trail of changes made by staff and by
//! operator commands.

use std::process::ExitCode;

use super::{account, open_existing};
use crate::config::DatabaseLocation;
use crate::domain::LastDay;
use crate::listing::rows::{AUDIT_COLUMNS, audit_cells};
use crate::listing::{Format, Listing};
use crate::store::audit::{AuditAction, AuditFilter, AuditVerdict};

/// How many entries `audit list` reads a page at a time.
const PAGE: usize = 500;

pub(super) fn verify(database: &DatabaseLocation) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    match store.verify_audit()? {
        AuditVerdict::Whole { entries } => {
            println!(
                "the audit trail is whole: {entries} entries, each matching its hash and the one before"
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditVerdict::Broken { entry, why } => {
            println!("the audit trail is broken at entry {entry}: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What `audit list` narrows the trail to, as typed.
pub(super) struct ListArgs<'a> {
    pub who: Option<&'a str>,
    pub action: Option<&'a str>,
    pub customer: Option<&'a str>,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub limit: usize,
    pub format: Format,
}

pub(super) fn list(database: &DatabaseLocation, args: ListArgs<'_>) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    if let Some(action) = args.action
        && AuditAction::parse(action).is_none()
    {
        let known: Vec<&str> = AuditAction::ALL.iter().map(|action| action.as_str()).collect();
        anyhow::bail!(
            "--action: no action is called {action:?}; one of {}",
            known.join(", ")
        );
    }
    let day = |flag: &str, text: Option<&str>| -> anyhow::Result<Option<LastDay>> {
        text.map(|text| LastDay::parse(text).map_err(|error| anyhow::anyhow!("{flag}: {error}")))
            .transpose()
    };
    let since = day("--since", args.since)?;
    let until = day("--until", args.until)?;
    let filter = AuditFilter {
        actor: args.who.map(str::to_owned),
        action: args.action.map(str::to_owned),
        customer: args.customer.map(|email| account(&store, email)).transpose()?,
        // --since is the first day shown, --until the last.
        since: since.map(|day| day.date().midnight().assume_utc()),
        until: until.map(LastDay::ends_at),
        ..AuditFilter::default()
    };
    let mut listing = Listing::new(AUDIT_COLUMNS);
    let mut before = None;
    let mut shown = 0;
    while shown < args.limit {
        let page = store.audit_page(&filter, before, PAGE.min(args.limit - shown))?;
        for entry in &page.entries {
            listing.push(audit_cells(entry));
        }
        shown += page.entries.len();
        match page.older {
            Some(older) => before = Some(older),
            None => break,
        }
    }
    listing.write(args.format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
