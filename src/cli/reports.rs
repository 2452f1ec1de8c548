//! `report sales|liability|codes`: the reports finance asks for, as a table, CSV
//! or JSON.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use time::{Date, OffsetDateTime};

use super::{ListFormat, open_existing};
use crate::config::DatabaseLocation;
use crate::reports::{codes_listing, liability_listing, parse_day, sales_listing};
use crate::store::reports::DayRange;

/// How many days a sales or codes report covers when no first day is given.
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, Subcommand)]
pub(super) enum ReportCommand {
    /// Sales per day (UTC): orders placed, gross, discounts, what promotional
    /// credit, gift cards and cards paid, the refunds made that day (to the card
    /// and to credits) and the net; then the totals. The last 30 days by default.
    Sales {
        #[command(flatten)]
        range: RangeArgs,
        #[command(flatten)]
        output: ListFormat,
    },
    /// The credit the store owed at the end of a day (UTC), worked out from the
    /// ledger as it stood then: outstanding per kind and set of departments (each
    /// credit counted once), what of it expires in each coming month, and what
    /// expired unspent.
    Liability {
        /// The day, e.g. 2026-11-30 (the end of it); today by default.
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        output: ListFormat,
    },
    /// Each code's redemptions in the range and what they granted (for a
    /// discount code, the discount given on orders placed in the range); then
    /// the totals. The last 30 days by default.
    Codes {
        #[command(flatten)]
        range: RangeArgs,
        #[command(flatten)]
        output: ListFormat,
    },
}

#[derive(Debug, Args)]
pub(super) struct RangeArgs {
    /// The first day (UTC), e.g. 2026-11-01; 30 days before --to by default.
    #[arg(long)]
    from: Option<String>,
    /// The last day (UTC), included; today by default.
    #[arg(long)]
    to: Option<String>,
}

fn day(flag: &str, typed: Option<&str>) -> anyhow::Result<Option<Date>> {
    typed
        .map(|typed| {
            parse_day(typed).ok_or_else(|| {
                anyhow::anyhow!(
                    "{flag}: {:?} is not a day like 2026-11-30",
                    typed.chars().take(40).collect::<String>()
                )
            })
        })
        .transpose()
}

fn range(args: &RangeArgs, today: Date) -> anyhow::Result<DayRange> {
    let to = day("--to", args.to.as_deref())?.unwrap_or(today);
    let from = day("--from", args.from.as_deref())?;
    match from {
        None => Ok(DayRange::ending(to, DEFAULT_DAYS)),
        Some(from) => DayRange::new(from, to).map_err(|error| anyhow::anyhow!("--from and --to: {error}")),
    }
}

pub(super) fn run(database: &DatabaseLocation, command: ReportCommand) -> anyhow::Result<ExitCode> {
    let today = OffsetDateTime::now_utc().date();
    let (listing, format) = match command {
        ReportCommand::Sales { range: args, output } => {
            let range = range(&args, today)?;
            let store = open_existing(database)?;
            (sales_listing(&store.sales_report(range)?), output.format)
        }
        ReportCommand::Liability { as_of, output } => {
            let as_of = day("--as-of", as_of.as_deref())?.unwrap_or(today);
            let store = open_existing(database)?;
            let report = store.liability_report(as_of)?;
            (liability_listing(&report, &store.categories()), output.format)
        }
        ReportCommand::Codes { range: args, output } => {
            let range = range(&args, today)?;
            let store = open_existing(database)?;
            (codes_listing(&store.codes_report(range)?), output.format)
        }
    };
    listing.write(format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
