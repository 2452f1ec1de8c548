//! Reports (SPEC §8): sales per day, the credit the store owes as at the end of
//! any day (worked out from the append-only ledger), and codes' redemptions and
//! value. Days are UTC days; a day `D` ends at the midnight after it.

use std::collections::BTreeMap;

use time::{Date, Month, OffsetDateTime};

use super::sql::{Connection, sql, unix};
use super::{Store, StoreError};
use crate::domain::{CategorySet, CreditKind, Money};

const DAY_SECONDS: i64 = 86_400;

/// The first and last day of a report, both included (UTC days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    from: Date,
    to: Date,
}

/// Why a range of days cannot be reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("the last day ({to}) comes before the first ({from})")]
    Backwards { from: Date, to: Date },
    #[error("a report covers at most {max} days; this range has {days}", max = DayRange::MAX_DAYS)]
    TooLong { days: i64 },
}

impl DayRange {
    /// About ten years: a day per row stays a readable size.
    pub const MAX_DAYS: i64 = 3_660;

    pub fn new(from: Date, to: Date) -> Result<DayRange, RangeError> {
        if to < from {
            return Err(RangeError::Backwards { from, to });
        }
        let days = (to - from).whole_days() + 1;
        if days > DayRange::MAX_DAYS {
            return Err(RangeError::TooLong { days });
        }
        Ok(DayRange { from, to })
    }

    /// The `days` days ending with `last` (at least one).
    pub fn ending(last: Date, days: i64) -> DayRange {
        let days = days.clamp(1, DayRange::MAX_DAYS);
        let from = last
            .checked_sub(time::Duration::days(days - 1))
            .unwrap_or(Date::MIN);
        DayRange { from, to: last }
    }

    pub fn from(self) -> Date {
        self.from
    }

    pub fn to(self) -> Date {
        self.to
    }

    /// Each day of the range, in order.
    pub fn days(self) -> impl Iterator<Item = Date> {
        (day_index(self.from)..=day_index(self.to)).filter_map(date_of_index)
    }

    fn start(self) -> i64 {
        day_start(self.from)
    }

    fn end(self) -> i64 {
        day_end(self.to)
    }
}

/// Seconds since the epoch at the midnight starting `day`.
fn day_start(day: Date) -> i64 {
    unix(day.midnight().assume_utc())
}

/// Seconds since the epoch at the midnight ending `day` (its exclusive end).
fn day_end(day: Date) -> i64 {
    day_start(day) + DAY_SECONDS
}

/// Days since the epoch: how the queries group instants by day.
fn day_index(day: Date) -> i64 {
    day_start(day).div_euclid(DAY_SECONDS)
}

fn date_of_index(index: i64) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp(index * DAY_SECONDS)
        .ok()
        .map(OffsetDateTime::date)
}

fn date_of(index: i64) -> Result<Date, StoreError> {
    date_of_index(index).ok_or_else(|| StoreError::Corrupt(format!("a day out of range: {index}")))
}

fn money(cents: i64) -> Result<Money, StoreError> {
    if cents < 0 {
        return Err(StoreError::Corrupt(format!("a negative total: {cents} cents")));
    }
    Ok(Money::from_cents(cents))
}

/// What a day's (or a range's) orders came to, and the refunds made in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SalesFigures {
    /// Orders placed.
    pub orders: i64,
    /// Their prices, before discounts.
    pub gross: Money,
    pub discounts: Money,
    /// Paid by promotional credit, by gift-card credit and by card.
    pub promotional_credit: Money,
    pub gift_card: Money,
    pub card: Money,
    /// Money given back by the refunds made that day (to the card and to
    /// credits), whenever the order was placed; shares withheld from credits
    /// revoked since are not money given back and are not counted.
    pub refunds: Money,
    /// Of `refunds`, what went back to cards.
    pub refunded_to_card: Money,
}

impl SalesFigures {
    /// Gross less discounts less refunds, in cents: negative on a day whose
    /// refunds exceed its sales.
    pub fn net_cents(&self) -> i64 {
        self.gross.cents() - self.discounts.cents() - self.refunds.cents()
    }

    fn add(&mut self, other: &SalesFigures) {
        self.orders += other.orders;
        self.gross = self.gross + other.gross;
        self.discounts = self.discounts + other.discounts;
        self.promotional_credit = self.promotional_credit + other.promotional_credit;
        self.gift_card = self.gift_card + other.gift_card;
        self.card = self.card + other.card;
        self.refunds = self.refunds + other.refunds;
        self.refunded_to_card = self.refunded_to_card + other.refunded_to_card;
    }
}

/// One day of the sales report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesDay {
    pub day: Date,
    pub figures: SalesFigures,
}

/// Sales per day over a range: every day of it (a day without orders as
/// zeros), and the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesReport {
    pub range: DayRange,
    pub days: Vec<SalesDay>,
    pub total: SalesFigures,
}

/// Outstanding credit of one kind and set of categories: a promotional credit
/// valid in several categories is counted once, under its set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiabilityLine {
    pub kind: CreditKind,
    /// Credits with something left.
    pub credits: i64,
    pub outstanding: Money,
}

/// When outstanding credit stops being owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExpiryWhen {
    /// Its last day falls in this month (the first is the report day's own month).
    Month {
        year: i32,
        month: Month,
    },
    /// After the twelve months shown.
    Later,
    Never,
}

/// Outstanding credit whose last day falls in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryBucket {
    pub when: ExpiryWhen,
    pub credits: i64,
    pub outstanding: Money,
}

/// Credit that expired unspent in one month (by its last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiredMonth {
    pub year: i32,
    pub month: Month,
    pub credits: i64,
    pub promotional: Money,
    pub gift_card: Money,
}

impl ExpiredMonth {
    pub fn unspent(&self) -> Money {
        self.promotional + self.gift_card
    }
}

/// The credit the store owed at the end of a day, from the ledger as it stood
/// then: every credit created by then, not expired by then, with a balance
/// (the sum of its ledger events up to then) above zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiabilityReport {
    pub as_of: Date,
    /// Gift cards first, then promotional credit by set of categories.
    pub lines: Vec<LiabilityLine>,
    pub credits: i64,
    pub total: Money,
    pub promotional: Money,
    pub gift_card: Money,
    /// The report day's month and the eleven after it, then later, then never:
    /// always these fourteen, adding up to `total`.
    pub expiring: Vec<ExpiryBucket>,
    /// Months (oldest first) in which credit expired with something left, up to
    /// the report day: what was left at its expiry.
    pub expired: Vec<ExpiredMonth>,
    pub expired_total: Money,
    /// Gift cards shoppers bought that were neither redeemed nor refunded by the
    /// end of the day: owed besides the credit above (redeemed, a card becomes
    /// gift-card credit and is counted there).
    pub unredeemed_gift_cards: i64,
    pub unredeemed_gift_card_value: Money,
}

/// Outstanding credit at the end of one day, for the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutstandingDay {
    pub day: Date,
    pub outstanding: Money,
}

/// What kind of code a codes report row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportedCodeKind {
    Credit,
    GiftCard,
    Discount,
}

impl ReportedCodeKind {
    fn parse(stored: &str) -> Result<ReportedCodeKind, StoreError> {
        match stored {
            "credit" => Ok(ReportedCodeKind::Credit),
            "gift_card" => Ok(ReportedCodeKind::GiftCard),
            "discount" => Ok(ReportedCodeKind::Discount),
            other => Err(StoreError::Corrupt(format!("a code of kind {other:?}"))),
        }
    }

    /// `credit`, `gift-card`, `discount`: as `code create` names them.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportedCodeKind::Credit => "credit",
            ReportedCodeKind::GiftCard => "gift-card",
            ReportedCodeKind::Discount => "discount",
        }
    }
}

/// One code's activity in a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeActivity {
    pub code: String,
    pub kind: ReportedCodeKind,
    pub active: bool,
    /// Redemptions made in the range.
    pub redemptions: i64,
    /// What those redemptions granted (credit and gift-card codes); for a
    /// discount code, the discount given on orders placed in the range that used
    /// it (an order refunded in full gives its discount back and is not counted).
    pub value: Money,
}

/// Every code, with its redemptions and value in a range, and the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodesReport {
    pub range: DayRange,
    pub codes: Vec<CodeActivity>,
    pub redemptions: i64,
    pub value: Money,
}

/// Today at a glance, for the console's dashboard: from midnight (UTC) to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glance {
    pub sales: SalesFigures,
    /// Credit granted today (grants, codes redeemed, refunds' new credits).
    pub granted: Money,
    /// Credit spent on orders today.
    pub spent: Money,
    /// Credit that expired today with something left: what was left.
    pub expired: Money,
    /// Credit outstanding now.
    pub outstanding: Money,
}

impl Store {
    /// Sales per day from the first day of `range` to the last.
    pub fn sales_report(&self, range: DayRange) -> Result<SalesReport, StoreError> {
        self.read_consistent(|connection| sales_in(connection, range))
    }

    /// The credit owed at the end of `as_of` (UTC), ignoring every event after it.
    pub fn liability_report(&self, as_of: Date) -> Result<LiabilityReport, StoreError> {
        self.read_consistent(|connection| liability_in(connection, as_of))
    }

    /// Credit outstanding at the end of each day of `range`, from one pass over
    /// the ledger's daily changes and the credits' expiries.
    pub fn liability_series(&self, range: DayRange) -> Result<Vec<OutstandingDay>, StoreError> {
        self.read_consistent(|connection| series_in(connection, range))
    }

    /// Each code's redemptions and value in `range`.
    pub fn codes_report(&self, range: DayRange) -> Result<CodesReport, StoreError> {
        self.read_consistent(|connection| codes_in(connection, range))
    }

    /// Today's orders, credit granted, spent and expired, and credit
    /// outstanding, at `now`.
    pub fn glance(&self, now: OffsetDateTime) -> Result<Glance, StoreError> {
        let now = now.to_offset(time::UtcOffset::UTC);
        self.read_consistent(|connection| {
            let today = now.date();
            let range = DayRange { from: today, to: today };
            let sales = sales_in(connection, range)?.total;
            let (start, until) = (day_start(today), unix(now) + 1);
            let (granted, spent): (i64, i64) = connection.query_one(
                sql!(
                    "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'grant' THEN amount_cents ELSE 0 END), 0) AS BIGINT),
                            CAST(COALESCE(SUM(CASE WHEN kind = 'spend' THEN -amount_cents ELSE 0 END), 0) AS BIGINT)
                     FROM credit_events WHERE created_at >= $1 AND created_at < $2"
                ),
                &[&start, &until],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let expired = expired_between(connection, start - 1, unix(now))?
                .iter()
                .map(|row| row.balance)
                .sum::<i64>();
            let outstanding = outstanding_at(connection, until, unix(now))?
                .iter()
                .map(|row| row.balance)
                .sum::<i64>();
            Ok(Glance {
                sales,
                granted: money(granted)?,
                spent: money(spent)?,
                expired: money(expired)?,
                outstanding: money(outstanding)?,
            })
        })
    }
}

fn sales_in(connection: &mut dyn Connection, range: DayRange) -> Result<SalesReport, StoreError> {
    let mut by_day: BTreeMap<i64, SalesFigures> = BTreeMap::new();
    connection.for_each_row(
        sql!(
            "SELECT placed_at / 86400, CAST(COUNT(*) AS BIGINT), CAST(SUM(price_cents) AS BIGINT),
                    CAST(SUM(discount_cents) AS BIGINT), CAST(SUM(promotional_credit_cents) AS BIGINT),
                    CAST(SUM(gift_card_cents) AS BIGINT), CAST(SUM(card_cents) AS BIGINT)
             FROM orders WHERE placed_at >= $1 AND placed_at < $2 GROUP BY 1"
        ),
        &[&range.start(), &range.end()],
        &mut |row| {
            let figures = by_day.entry(row.get(0)?).or_default();
            figures.orders = row.get(1)?;
            figures.gross = money(row.get(2)?)?;
            figures.discounts = money(row.get(3)?)?;
            figures.promotional_credit = money(row.get(4)?)?;
            figures.gift_card = money(row.get(5)?)?;
            figures.card = money(row.get(6)?)?;
            Ok(())
        },
    )?;
    connection.for_each_row(
        sql!(
            "SELECT refunded_at / 86400, CAST(SUM(amount_cents - withheld_cents) AS BIGINT),
                    CAST(SUM(card_cents) AS BIGINT)
             FROM refunds WHERE refunded_at >= $1 AND refunded_at < $2 GROUP BY 1"
        ),
        &[&range.start(), &range.end()],
        &mut |row| {
            let figures = by_day.entry(row.get(0)?).or_default();
            figures.refunds = money(row.get(1)?)?;
            figures.refunded_to_card = money(row.get(2)?)?;
            Ok(())
        },
    )?;
    let mut total = SalesFigures::default();
    let days = range
        .days()
        .map(|day| {
            let figures = by_day.get(&day_index(day)).copied().unwrap_or_default();
            total.add(&figures);
            SalesDay { day, figures }
        })
        .collect();
    Ok(SalesReport { range, days, total })
}

/// Outstanding credit of one kind, set and last day.
#[derive(Debug, PartialEq, Eq)]
struct OutstandingRow {
    kind: CreditKind,
    /// The day index of the credit's last day; `None` when it never expires.
    last_day: Option<i64>,
    credits: i64,
    balance: i64,
}

/// Which end of the ledger a balance at some instant is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// The events up to the instant, summed.
    Forward,
    /// The balance now (`remaining_cents`, which `ledger verify` proves is the
    /// sum of the credit's events) less the events since the instant.
    Backward,
}

impl Reading {
    /// The end nearer `instant`: backward when fewer events were made since it
    /// than before it, so a report of a recent day reads a few days of events
    /// rather than the whole year, and one of an old day the events up to it.
    fn nearer(connection: &mut dyn Connection, instant: i64) -> Result<Reading, StoreError> {
        let since: i64 = connection.query_value(
            sql!("SELECT CAST(COUNT(*) AS BIGINT) FROM credit_events WHERE created_at >= $1"),
            &[&instant],
        )?;
        let all: i64 = connection.query_value(
            sql!("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM credit_events"),
            &[],
        )?;
        Ok(if since * 2 <= all {
            Reading::Backward
        } else {
            Reading::Forward
        })
    }
}

/// The credits owed, grouped by kind, categories and last day: each credit's
/// balance from its ledger events before `events_before` (seconds since the
/// epoch), read from the end of the ledger nearer it; a credit whose
/// `expires_at` (its exclusive end) is at or before `alive_after` is no longer
/// owed, nor one whose balance is zero (spent, or revoked by an operator's
/// adjustment). At the end of a day both are the midnight after it; at a
/// moment, the second after it and the moment.
fn outstanding_at(
    connection: &mut dyn Connection,
    events_before: i64,
    alive_after: i64,
) -> Result<Vec<OutstandingRow>, StoreError> {
    let reading = Reading::nearer(connection, events_before)?;
    outstanding_read(connection, events_before, alive_after, reading)
}

fn outstanding_read(
    connection: &mut dyn Connection,
    events_before: i64,
    alive_after: i64,
    reading: Reading,
) -> Result<Vec<OutstandingRow>, StoreError> {
    let statement = match reading {
        Reading::Forward => sql!(
            "SELECT b.kind, b.category_mask, b.last_day, CAST(COUNT(*) AS BIGINT), CAST(SUM(b.balance) AS BIGINT)
             FROM (SELECT c.id, c.kind, c.category_mask, (c.expires_at - 1) / 86400 AS last_day,
                          SUM(e.amount_cents) AS balance
                   FROM credits c JOIN credit_events e ON e.credit_id = c.id
                   WHERE e.created_at < $1 AND c.created_at < $1 AND (c.expires_at IS NULL OR c.expires_at > $2)
                   GROUP BY c.id, c.kind, c.category_mask, c.expires_at) b
             WHERE b.balance > 0
             GROUP BY 1, 2, 3"
        ),
        Reading::Backward => sql!(
            "SELECT b.kind, b.category_mask, b.last_day, CAST(COUNT(*) AS BIGINT), CAST(SUM(b.balance) AS BIGINT)
             FROM (SELECT c.kind, c.category_mask, (c.expires_at - 1) / 86400 AS last_day,
                          c.remaining_cents - COALESCE(l.since, 0) AS balance
                   FROM credits c
                   LEFT JOIN (SELECT credit_id, SUM(amount_cents) AS since FROM credit_events
                              WHERE created_at >= $1 GROUP BY credit_id) l ON l.credit_id = c.id
                   WHERE c.created_at < $1 AND (c.expires_at IS NULL OR c.expires_at > $2)) b
             WHERE b.balance > 0
             GROUP BY 1, 2, 3"
        ),
    };
    connection.query(statement, &[&events_before, &alive_after], |row| {
        Ok(OutstandingRow {
            kind: super::credits::credit_kind(row.text(0)?, row.get(1)?)?,
            last_day: row.get(2)?,
            credits: row.get(3)?,
            balance: row.get(4)?,
        })
    })
}

/// Credit that expired with something left, by kind and last day.
struct ExpiredRow {
    gift_card: bool,
    last_day: i64,
    credits: i64,
    balance: i64,
}

/// The credits whose `expires_at` falls in `(after, until]`, with what each had
/// left when it expired, when above zero: its balance now less the events made
/// on it since it expired (an operator may still adjust or revoke it), found by
/// one pass that keeps only those late events.
fn expired_between(
    connection: &mut dyn Connection,
    after: i64,
    until: i64,
) -> Result<Vec<ExpiredRow>, StoreError> {
    connection.query(
        sql!(
            "SELECT b.kind, b.last_day, CAST(COUNT(*) AS BIGINT), CAST(SUM(b.balance) AS BIGINT)
             FROM (SELECT c.kind, (c.expires_at - 1) / 86400 AS last_day,
                          c.remaining_cents - COALESCE(l.late, 0) AS balance
                   FROM credits c
                   LEFT JOIN (SELECT e.credit_id, SUM(e.amount_cents) AS late
                              FROM credit_events e JOIN credits x ON x.id = e.credit_id
                              WHERE x.expires_at > $1 AND x.expires_at <= $2 AND e.created_at >= x.expires_at
                              GROUP BY e.credit_id) l ON l.credit_id = c.id
                   WHERE c.expires_at > $1 AND c.expires_at <= $2) b
             WHERE b.balance > 0
             GROUP BY 1, 2"
        ),
        &[&after, &until],
        |row| {
            Ok(ExpiredRow {
                gift_card: row.text(0)? == "gift_card",
                last_day: row.get(1)?,
                credits: row.get(2)?,
                balance: row.get(3)?,
            })
        },
    )
}

/// Months since the year 0, to count months between two days.
fn month_number(day: Date) -> i64 {
    i64::from(day.year()) * 12 + i64::from(u8::from(day.month())) - 1
}

fn month_of_number(number: i64) -> Option<(i32, Month)> {
    let year = i32::try_from(number.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(number.rem_euclid(12) + 1).ok()?).ok()?;
    Some((year, month))
}

/// How many months of expiries the liability report shows one by one.
const MONTHS_AHEAD: i64 = 12;

fn liability_in(connection: &mut dyn Connection, as_of: Date) -> Result<LiabilityReport, StoreError> {
    let end = day_end(as_of);
    let outstanding = outstanding_at(connection, end, end)?;
    let mut lines: BTreeMap<(bool, u32, i64), LiabilityLine> = BTreeMap::new();
    let this_month = month_number(as_of);
    let mut expiring: Vec<ExpiryBucket> = (0..MONTHS_AHEAD)
        .filter_map(|ahead| month_of_number(this_month + ahead))
        .map(|(year, month)| ExpiryWhen::Month { year, month })
        .chain([ExpiryWhen::Later, ExpiryWhen::Never])
        .map(|when| ExpiryBucket {
            when,
            credits: 0,
            outstanding: Money::ZERO,
        })
        .collect();
    let (mut promotional, mut gift_card, mut credits) = (0i64, 0i64, 0i64);
    for row in &outstanding {
        let set = match row.kind {
            CreditKind::GiftCard => CategorySet::default(),
            CreditKind::Promotional(set) => set,
        };
        let key = (
            matches!(row.kind, CreditKind::Promotional(_)),
            set.ids().count() as u32,
            set.bits(),
        );
        let line = lines.entry(key).or_insert(LiabilityLine {
            kind: row.kind,
            credits: 0,
            outstanding: Money::ZERO,
        });
        line.credits += row.credits;
        line.outstanding = line.outstanding + money(row.balance)?;
        match row.kind {
            CreditKind::GiftCard => gift_card += row.balance,
            CreditKind::Promotional(_) => promotional += row.balance,
        }
        credits += row.credits;
        let slot = match row.last_day {
            None => expiring.len() - 1,
            Some(last) => {
                let ahead = month_number(date_of(last)?) - this_month;
                match usize::try_from(ahead) {
                    Ok(ahead) if ahead < expiring.len() - 2 => ahead,
                    _ => expiring.len() - 2,
                }
            }
        };
        expiring[slot].credits += row.credits;
        expiring[slot].outstanding = expiring[slot].outstanding + money(row.balance)?;
    }
    let mut expired: BTreeMap<i64, ExpiredMonth> = BTreeMap::new();
    for row in expired_between(connection, i64::MIN, end)? {
        let number = month_number(date_of(row.last_day)?);
        let Some((year, month)) = month_of_number(number) else {
            continue;
        };
        let entry = expired.entry(number).or_insert(ExpiredMonth {
            year,
            month,
            credits: 0,
            promotional: Money::ZERO,
            gift_card: Money::ZERO,
        });
        entry.credits += row.credits;
        if row.gift_card {
            entry.gift_card = entry.gift_card + money(row.balance)?;
        } else {
            entry.promotional = entry.promotional + money(row.balance)?;
        }
    }
    let expired: Vec<ExpiredMonth> = expired.into_values().collect();
    let (unredeemed_gift_cards, unredeemed_cents): (i64, i64) = connection.query_one(
        sql!(
            "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(g.amount_cents), 0) AS BIGINT)
             FROM gift_cards g JOIN orders o ON o.id = g.order_id
             WHERE o.placed_at < $1
               AND (g.voided_at IS NULL OR g.voided_at >= $1)
               AND NOT EXISTS (SELECT 1 FROM code_redemptions r
                               WHERE r.code_id = g.code_id AND r.redeemed_at < $1)"
        ),
        &[&end],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(LiabilityReport {
        unredeemed_gift_cards,
        unredeemed_gift_card_value: money(unredeemed_cents)?,
        as_of,
        lines: lines.into_values().collect(),
        credits,
        total: money(promotional + gift_card)?,
        promotional: money(promotional)?,
        gift_card: money(gift_card)?,
        expiring,
        expired_total: expired.iter().map(ExpiredMonth::unspent).sum(),
        expired,
    })
}

/// Each ledger event is owed from the end of the day it was made until the end
/// of the last day before its credit's expiry: `+amount` on its own day and
/// `-amount` on the day its credit stops being owed (when that is later). One
/// pass grouped by both days gives those changes; a running sum gives each day.
fn series_in(connection: &mut dyn Connection, range: DayRange) -> Result<Vec<OutstandingDay>, StoreError> {
    let end = range.end();
    let mut changes: BTreeMap<i64, i64> = BTreeMap::new();
    connection.for_each_row(
        sql!(
            "SELECT e.created_at / 86400,
                    CASE WHEN c.expires_at <= $1 THEN (c.expires_at + 86399) / 86400 - 1 END,
                    CAST(SUM(e.amount_cents) AS BIGINT)
             FROM credit_events e JOIN credits c ON c.id = e.credit_id
             WHERE e.created_at < $1
               AND (c.expires_at IS NULL OR (c.expires_at + 86399) / 86400 - 1 > e.created_at / 86400)
             GROUP BY 1, 2"
        ),
        &[&end],
        &mut |row| {
            let amount = row.get::<i64>(2)?;
            *changes.entry(row.get(0)?).or_default() += amount;
            if let Some(stop) = row.get::<Option<i64>>(1)? {
                *changes.entry(stop).or_default() -= amount;
            }
            Ok(())
        },
    )?;
    let first = day_index(range.from);
    let mut running: i64 = changes.range(..first).map(|(_, change)| change).sum();
    range
        .days()
        .map(|day| {
            running += changes.get(&day_index(day)).copied().unwrap_or(0);
            Ok(OutstandingDay {
                day,
                outstanding: money(running)?,
            })
        })
        .collect()
}

fn codes_in(connection: &mut dyn Connection, range: DayRange) -> Result<CodesReport, StoreError> {
    // Each redemption grants at most one credit or one discount: grouped once
    // for every code, not looked up code by code.
    let mut redeemed: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    connection.for_each_row(
        sql!(
            "SELECT r.code_id, CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(c.original_cents), 0) AS BIGINT)
             FROM code_redemptions r LEFT JOIN credits c ON c.code_redemption_id = r.id
             WHERE r.redeemed_at >= $1 AND r.redeemed_at < $2 GROUP BY r.code_id"
        ),
        &[&range.start(), &range.end()],
        &mut |row| {
            redeemed.insert(row.get(0)?, (row.get(1)?, row.get(2)?));
            Ok(())
        },
    )?;
    let mut discounted: BTreeMap<i64, i64> = BTreeMap::new();
    connection.for_each_row(
        sql!(
            "SELECT r.code_id, CAST(SUM(o.discount_cents) AS BIGINT)
             FROM orders o JOIN discounts d ON d.used_by_order_id = o.id
             JOIN code_redemptions r ON r.id = d.code_redemption_id
             WHERE o.placed_at >= $1 AND o.placed_at < $2 GROUP BY r.code_id"
        ),
        &[&range.start(), &range.end()],
        &mut |row| {
            discounted.insert(row.get(0)?, row.get(1)?);
            Ok(())
        },
    )?;
    let codes = connection.query(
        sql!("SELECT id, code, kind, active FROM codes ORDER BY code"),
        &[],
        |row| {
            let id: i64 = row.get(0)?;
            let kind = ReportedCodeKind::parse(row.text(2)?)?;
            let (redemptions, granted) = redeemed.get(&id).copied().unwrap_or_default();
            let value = match kind {
                ReportedCodeKind::Discount => discounted.get(&id).copied().unwrap_or_default(),
                _ => granted,
            };
            Ok(CodeActivity {
                code: row.get(1)?,
                kind,
                active: row.get(3)?,
                redemptions,
                value: money(value)?,
            })
        },
    )?;
    Ok(CodesReport {
        range,
        redemptions: codes.iter().map(|code| code.redemptions).sum(),
        value: codes.iter().map(|code| code.value).sum(),
        codes,
    })
}

#[cfg(test)]
// Amounts in cents are written dollars_cents: 105_00 is $105.00.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use time::{Date, Month, OffsetDateTime};

    use super::*;
    use crate::domain::{
        Adjustment, AdjustmentReason, CardSummary, CategoryId, CodeGrant, CreditId, CreditSource,
        DiscountTerms, DiscountValue, PromoCode, UserId,
    };
    use crate::store::catalog::NewProduct;
    use crate::store::codes::NewCode;
    use crate::store::credits::NewCredit;
    use crate::store::orders::{Promotion, RefundRequest};
    use crate::store::testing::{TestStore, each_engine, new_account, tester};

    const MUSIC: i64 = 1;
    const KINDLE: i64 = 2;
    const VIDEO: i64 = 3;
    const SOFTWARE: i64 = 4;

    fn nov(day: u8) -> Date {
        Date::from_calendar_date(2026, Month::November, day).unwrap()
    }

    /// `hour` o'clock (UTC) on November `day`, 2026.
    fn at(day: u8, hour: u8) -> OffsetDateTime {
        nov(day).with_hms(hour, 0, 0).unwrap().assume_utc()
    }

    fn dollars(cents: i64) -> Money {
        Money::from_cents(cents)
    }

    fn set(ids: &[i64]) -> CategorySet {
        ids.iter().map(|id| CategoryId::new(*id).unwrap()).collect()
    }

    fn reason() -> AdjustmentReason {
        AdjustmentReason::parse("report test").unwrap()
    }

    fn range(from: Date, to: Date) -> DayRange {
        DayRange::new(from, to).unwrap()
    }

    /// A product of `category` at `cents`; its id.
    fn product(store: &Store, category: i64, cents: i64) -> i64 {
        store
            .add_product(
                &tester(),
                &NewProduct {
                    category: CategoryId::new(category).unwrap(),
                    format: "MP3".into(),
                    title: format!("Item at {cents}"),
                    creator: "Someone".into(),
                    description: String::new(),
                    price: dollars(cents),
                    featured: false,
                },
                at(1, 8),
            )
            .unwrap()
            .id
    }

    fn grant(
        store: &Store,
        user: UserId,
        kind: CreditKind,
        cents: i64,
        ends: Option<OffsetDateTime>,
        when: OffsetDateTime,
    ) -> CreditId {
        store
            .grant_credit(
                &tester(),
                user,
                &NewCredit {
                    kind,
                    source: CreditSource::Grant,
                    description: "granted for the report test".into(),
                    amount: dollars(cents),
                    expires_at: ends,
                    code_redemption_id: None,
                },
                &reason(),
                when,
            )
            .unwrap()
    }

    fn order(store: &Store, user: UserId, product: i64, when: OffsetDateTime) -> i64 {
        store
            .place_order(
                user,
                product,
                &Promotion::None,
                &format!("key-{}", unix(when)),
                when,
            )
            .unwrap()
            .order_id
    }

    fn promo(ids: &[i64]) -> CreditKind {
        CreditKind::Promotional(set(ids))
    }

    /// The history the report figures are worked out from, November 2026 (UTC):
    ///
    /// | when | what | Ann's credits after | Bob's |
    /// |---|---|---|---|
    /// | 2nd 09:00 | grants: A $30 music+kindle (last day 10th), G $50 gift card, B $10 video, D $7 software (last day 6th); Bob E $3 video (last day Jan 15) | A30 G50 B10 D7 | E3 |
    /// | 2nd 12:00 | order 1, music $20: A pays 20 | A10 | |
    /// | 3rd 12:00 | order 2, music $20: A 10, G 10 | A0 G40 | |
    /// | 3rd 13:00 | grants: C $25 kindle (last day 20th); Bob F $20 kindle | C25 | F20 |
    /// | 3rd 14:00 | B revoked | B0 | |
    /// | 4th 10:00 | order 3, kindle $15: C pays 15 | C10 | |
    /// | 4th 11:00 | Bob's order 4, music $20: card | | |
    /// | 4th 12:00 | Bob's order 5, kindle $15: F pays 15 | | F5 |
    /// | 4th 13:00 | F revoked | | F0 |
    /// | 5th 10:00 | order 1 refunded whole: $20 back to A | A20 | |
    /// | 5th 11:00 | order 4 refunded $5 in part: to the card | | |
    /// | 5th 12:00 | order 5 refunded whole: its $15 withheld (F revoked) | | |
    /// | 6th 10:00 | G adjusted down $5 | G35 | |
    /// | 6th 11:00 | order 2 refunded $4 in part: to G (gift cards first) | G39 | |
    /// | 7th 00:00 | D expires with $7 left | | |
    /// | 9th 12:00 | order 6, software $15: G pays 15 | G24 | |
    /// | 11th 00:00 | A expires with $20 left | | |
    fn build_history(store: &Store) {
        let music = product(store, MUSIC, 20_00);
        let kindle = product(store, KINDLE, 15_00);
        let software = product(store, SOFTWARE, 15_00);
        let ann = new_account(store, "ann@example.com", "hash", at(1, 9));
        let bob = new_account(store, "bob@example.com", "hash", at(1, 9));
        store
            .set_default_card(
                bob,
                &CardSummary {
                    brand: "Visa".into(),
                    last4: "4242".into(),
                },
                at(1, 9),
            )
            .unwrap();
        grant(
            store,
            ann,
            promo(&[MUSIC, KINDLE]),
            30_00,
            Some(at(11, 0)),
            at(2, 9),
        );
        let g = grant(store, ann, CreditKind::GiftCard, 50_00, None, at(2, 9));
        let b = grant(
            store,
            ann,
            promo(&[VIDEO]),
            10_00,
            Some(
                Date::from_calendar_date(2027, Month::January, 1)
                    .unwrap()
                    .midnight()
                    .assume_utc(),
            ),
            at(2, 9),
        );
        grant(store, ann, promo(&[SOFTWARE]), 7_00, Some(at(7, 0)), at(2, 9));
        let january_16 = Date::from_calendar_date(2027, Month::January, 16)
            .unwrap()
            .midnight()
            .assume_utc();
        grant(store, bob, promo(&[VIDEO]), 3_00, Some(january_16), at(2, 9));
        let order_1 = order(store, ann, music, at(2, 12));
        let order_2 = order(store, ann, music, at(3, 12));
        grant(store, ann, promo(&[KINDLE]), 25_00, Some(at(21, 0)), at(3, 13));
        let f = grant(store, bob, promo(&[KINDLE]), 20_00, None, at(3, 13));
        store.revoke_credit(&tester(), b, &reason(), at(3, 14)).unwrap();
        order(store, ann, kindle, at(4, 10));
        let order_4 = order(store, bob, music, at(4, 11));
        let order_5 = order(store, bob, kindle, at(4, 12));
        store.revoke_credit(&tester(), f, &reason(), at(4, 13)).unwrap();
        let refund =
            |id, request: RefundRequest, when| store.refund_order(&tester(), id, &request, when).unwrap();
        refund(order_1, RefundRequest::whole(reason()), at(5, 10));
        refund(order_4, RefundRequest::part(dollars(5_00), reason()), at(5, 11));
        let withheld = refund(order_5, RefundRequest::whole(reason()), at(5, 12));
        assert_eq!(
            withheld.withheld_total(),
            dollars(15_00),
            "the revoked credit's share is withheld"
        );
        store
            .adjust_credit(
                &tester(),
                g,
                Adjustment::Take(dollars(5_00)),
                &reason(),
                at(6, 10),
            )
            .unwrap();
        let to_gift_card = refund(order_2, RefundRequest::part(dollars(4_00), reason()), at(6, 11));
        assert_eq!(to_gift_card.returned_to.len(), 1, "{to_gift_card:?}");
        assert_eq!(to_gift_card.returned_to[0].credit, g);
        order(store, ann, software, at(9, 12));
    }

    fn figures(
        orders: i64,
        gross: i64,
        promotional: i64,
        gift_card: i64,
        card: i64,
        refunds: i64,
        to_card: i64,
    ) -> SalesFigures {
        SalesFigures {
            orders,
            gross: dollars(gross),
            discounts: Money::ZERO,
            promotional_credit: dollars(promotional),
            gift_card: dollars(gift_card),
            card: dollars(card),
            refunds: dollars(refunds),
            refunded_to_card: dollars(to_card),
        }
    }

    #[test]
    fn sales_per_day_count_orders_on_their_day_and_refunds_on_theirs_to_the_cent() {
        for TestStore { store, .. } in each_engine() {
            build_history(&store);
            let report = store.sales_report(range(nov(1), nov(10))).unwrap();
            let none = SalesFigures::default();
            let expected = [
                (1, none),
                (2, figures(1, 20_00, 20_00, 0, 0, 0, 0)),
                (3, figures(1, 20_00, 10_00, 10_00, 0, 0, 0)),
                (4, figures(3, 50_00, 30_00, 0, 20_00, 0, 0)),
                // The whole refund of order 1 ($20 to credit A), $5 of order 4 to
                // the card; order 5's $15 was withheld, so nothing went back.
                (5, figures(0, 0, 0, 0, 0, 25_00, 5_00)),
                (6, figures(0, 0, 0, 0, 0, 4_00, 0)),
                (7, none),
                (8, none),
                (9, figures(1, 15_00, 0, 15_00, 0, 0, 0)),
                (10, none),
            ];
            assert_eq!(report.days.len(), expected.len(), "{}", store.engine_name());
            for (day, (date, figures)) in report.days.iter().zip(expected) {
                assert_eq!(day.day, nov(date), "{}", store.engine_name());
                assert_eq!(day.figures, figures, "{} on November {date}", store.engine_name());
            }
            assert_eq!(report.days[4].figures.net_cents(), -25_00);
            assert_eq!(
                report.total,
                figures(6, 105_00, 60_00, 25_00, 20_00, 29_00, 5_00),
                "{}",
                store.engine_name()
            );
            assert_eq!(report.total.net_cents(), 76_00);
            // A refunded order is still a sale of its day.
            let second = store.sales_report(range(nov(2), nov(2))).unwrap();
            assert_eq!(second.total, figures(1, 20_00, 20_00, 0, 0, 0, 0));
        }
    }

    #[test]
    fn the_liability_as_of_a_past_day_ignores_everything_after_it() {
        for TestStore { store, .. } in each_engine() {
            build_history(&store);
            // Worked out from the history above, at the end of each day.
            let expected = [
                (1, 0),
                (2, 80_00), // A10 G50 B10 D7 E3
                (3, 95_00), // A0 G40 B revoked D7 C25 E3 F20
                (4, 60_00), // C10 G40 D7 E3, F spent and revoked
                (5, 80_00), // A20 back from the refund
                (6, 72_00), // D gone at midnight; G35 + $4 refunded
                (7, 72_00),
                (8, 72_00),
                (9, 57_00),  // G24 after order 6
                (10, 37_00), // A gone at midnight
                (11, 37_00),
                (12, 37_00),
            ];
            for (day, total) in expected {
                let report = store.liability_report(nov(day)).unwrap();
                assert_eq!(
                    report.total,
                    dollars(total),
                    "{} as of November {day}",
                    store.engine_name()
                );
                assert_eq!(
                    report.lines.iter().map(|line| line.outstanding).sum::<Money>(),
                    report.total
                );
                assert_eq!(
                    report
                        .expiring
                        .iter()
                        .map(|bucket| bucket.outstanding)
                        .sum::<Money>(),
                    report.total
                );
            }
            let series = store.liability_series(range(nov(1), nov(12))).unwrap();
            assert_eq!(
                series
                    .iter()
                    .map(|day| (day.day, day.outstanding))
                    .collect::<Vec<_>>(),
                expected
                    .iter()
                    .map(|(day, total)| (nov(*day), dollars(*total)))
                    .collect::<Vec<_>>(),
                "{}: the chart's series agrees with the report, day by day",
                store.engine_name()
            );
            let later = store.liability_series(range(nov(5), nov(6))).unwrap();
            assert_eq!(
                later[0].outstanding,
                dollars(80_00),
                "a series starting late carries what came before"
            );
        }
    }

    #[test]
    fn the_liability_counts_each_credit_once_under_its_kind_and_set_of_categories() {
        for TestStore { store, .. } in each_engine() {
            build_history(&store);
            let report = store.liability_report(nov(5)).unwrap();
            let lines: Vec<(CreditKind, i64, Money)> = report
                .lines
                .iter()
                .map(|line| (line.kind, line.credits, line.outstanding))
                .collect();
            assert_eq!(
                lines,
                [
                    (CreditKind::GiftCard, 1, dollars(40_00)),
                    (promo(&[KINDLE]), 1, dollars(10_00)),
                    (promo(&[VIDEO]), 1, dollars(3_00)),
                    (promo(&[SOFTWARE]), 1, dollars(7_00)),
                    (promo(&[MUSIC, KINDLE]), 1, dollars(20_00)),
                ],
                "{}",
                store.engine_name()
            );
            assert_eq!(
                (report.credits, report.promotional, report.gift_card),
                (5, dollars(40_00), dollars(40_00))
            );
            // A (last day the 10th), C (the 20th) and D (the 6th) in November, E in
            // January, the gift card never.
            let expiring: Vec<(ExpiryWhen, i64, Money)> = report
                .expiring
                .iter()
                .map(|bucket| (bucket.when, bucket.credits, bucket.outstanding))
                .collect();
            assert_eq!(expiring.len(), 14);
            assert_eq!(
                expiring[0],
                (
                    ExpiryWhen::Month {
                        year: 2026,
                        month: Month::November
                    },
                    3,
                    dollars(37_00)
                )
            );
            assert_eq!(expiring[1].2, Money::ZERO);
            assert_eq!(
                expiring[2],
                (
                    ExpiryWhen::Month {
                        year: 2027,
                        month: Month::January
                    },
                    1,
                    dollars(3_00)
                )
            );
            assert_eq!(expiring[12], (ExpiryWhen::Later, 0, Money::ZERO));
            assert_eq!(expiring[13], (ExpiryWhen::Never, 1, dollars(40_00)));
            assert!(report.expired.is_empty(), "nothing had expired by the 5th");
        }
    }

    #[test]
    fn credit_that_expired_unspent_is_reported_by_month_and_revoked_credit_never() {
        for TestStore { store, .. } in each_engine() {
            build_history(&store);
            let on_the_6th = store.liability_report(nov(6)).unwrap();
            assert_eq!(
                on_the_6th.expired_total,
                dollars(7_00),
                "{}: D's last day",
                store.engine_name()
            );
            let report = store.liability_report(nov(12)).unwrap();
            assert_eq!(
                report.expired,
                [ExpiredMonth {
                    year: 2026,
                    month: Month::November,
                    credits: 2,
                    promotional: dollars(27_00),
                    gift_card: Money::ZERO,
                }],
                "{}: D's $7 and A's $20; B and F were revoked, so nothing of them expired",
                store.engine_name()
            );
            assert_eq!(report.expired_total, dollars(27_00));
        }
    }

    #[test]
    fn the_ledger_read_forward_and_backward_gives_the_same_balances_on_every_day() {
        for TestStore { store, .. } in each_engine() {
            build_history(&store);
            for day in 1..=12 {
                let end = DayRange {
                    from: nov(day),
                    to: nov(day),
                }
                .end();
                let read = |reading| {
                    store
                        .read(|connection| {
                            let mut rows = outstanding_read(connection, end, end, reading)?;
                            rows.sort_by_key(|row| {
                                (row.kind.as_str(), format!("{:?}", row.kind), row.last_day)
                            });
                            Ok::<_, StoreError>(rows)
                        })
                        .unwrap()
                };
                let forward = read(Reading::Forward);
                assert!(
                    !forward.is_empty() || day == 1,
                    "{}: the {day}th",
                    store.engine_name()
                );
                assert_eq!(
                    forward,
                    read(Reading::Backward),
                    "{}: the {day}th",
                    store.engine_name()
                );
            }
        }
    }

    #[test]
    fn a_credit_revoked_after_it_expired_still_expired_with_what_it_had_left() {
        for TestStore { store, .. } in each_engine() {
            let cy = new_account(&store, "cy@example.com", "hash", at(1, 9));
            let credit = grant(&store, cy, promo(&[MUSIC]), 12_00, Some(at(4, 0)), at(2, 9));
            store
                .revoke_credit(&tester(), credit, &reason(), at(6, 10))
                .unwrap();
            let name = store.engine_name();
            assert_eq!(
                store.liability_report(nov(2)).unwrap().total,
                dollars(12_00),
                "{name}"
            );
            assert_eq!(
                store.liability_report(nov(2)).unwrap().expired_total,
                Money::ZERO,
                "{name}"
            );
            // Its last day is the 3rd: at the end of it, it has expired.
            for day in [3, 4, 5, 6, 7] {
                let report = store.liability_report(nov(day)).unwrap();
                assert_eq!(report.total, Money::ZERO, "{name}: the {day}th");
                assert_eq!(
                    report.expired_total,
                    dollars(12_00),
                    "{name}: on the {day}th, what it had when it expired, the revoke after it aside"
                );
            }
            let series = store.liability_series(range(nov(1), nov(7))).unwrap();
            let owed: Vec<i64> = series.iter().map(|day| day.outstanding.cents()).collect();
            assert_eq!(owed, [0, 12_00, 0, 0, 0, 0, 0], "{name}");
        }
    }

    #[test]
    fn the_dashboard_glance_adds_up_today() {
        for TestStore { store, .. } in each_engine() {
            build_history(&store);
            let fifth = store.glance(at(5, 23)).unwrap();
            assert_eq!(
                fifth.sales,
                figures(0, 0, 0, 0, 0, 25_00, 5_00),
                "{}",
                store.engine_name()
            );
            assert_eq!(
                (fifth.granted, fifth.spent, fifth.expired),
                (Money::ZERO, Money::ZERO, Money::ZERO)
            );
            assert_eq!(fifth.outstanding, dollars(80_00));
            let second = store.glance(at(2, 13)).unwrap();
            assert_eq!(second.granted, dollars(100_00), "{}", store.engine_name());
            assert_eq!(second.spent, dollars(20_00));
            let seventh = store.glance(at(7, 1)).unwrap();
            assert_eq!(
                seventh.expired,
                dollars(7_00),
                "{}: D expired at midnight",
                store.engine_name()
            );
            assert_eq!(seventh.outstanding, dollars(72_00));
        }
    }

    #[test]
    fn codes_report_counts_redemptions_and_value_in_the_range() {
        for TestStore { store, .. } in each_engine() {
            let create = |code: &str, grant: CodeGrant| {
                store
                    .create_code(
                        &tester(),
                        &NewCode {
                            code: PromoCode::parse(code).unwrap(),
                            description: format!("{code} for the report"),
                            grant,
                            redeem_by: None,
                            max_redemptions: None,
                        },
                        at(1, 8),
                    )
                    .unwrap()
            };
            create(
                "WELCOME5",
                CodeGrant::Credit {
                    amount: dollars(5_00),
                    categories: set(&[MUSIC]),
                    valid_for: None,
                },
            );
            create(
                "GIFT25",
                CodeGrant::GiftCard {
                    amount: dollars(25_00),
                },
            );
            create(
                "TENOFF",
                CodeGrant::Discount(DiscountTerms {
                    value: DiscountValue::Percent(10),
                    categories: set(&[KINDLE]),
                }),
            );
            create(
                "UNUSED",
                CodeGrant::GiftCard {
                    amount: dollars(1_00),
                },
            );
            let kindle = product(&store, KINDLE, 15_00);
            let redeem = |user: UserId, code: &str, when| {
                store
                    .redeem_code(user, &PromoCode::parse(code).unwrap(), when)
                    .unwrap();
            };
            let ann = new_account(&store, "ann@example.com", "hash", at(1, 9));
            let bob = new_account(&store, "bob@example.com", "hash", at(1, 9));
            redeem(ann, "WELCOME5", at(2, 9));
            redeem(bob, "WELCOME5", at(4, 9));
            redeem(ann, "GIFT25", at(3, 9));
            // A discount code typed at checkout: 10% of $15.00, paid from the gift card.
            store
                .place_order(
                    ann,
                    kindle,
                    &Promotion::Code(PromoCode::parse("TENOFF").unwrap()),
                    "k1",
                    at(3, 10),
                )
                .unwrap();
            let report = store.codes_report(range(nov(3), nov(4))).unwrap();
            let rows: Vec<(&str, ReportedCodeKind, i64, Money)> = report
                .codes
                .iter()
                .map(|code| (code.code.as_str(), code.kind, code.redemptions, code.value))
                .collect();
            assert_eq!(
                rows,
                [
                    ("GIFT25", ReportedCodeKind::GiftCard, 1, dollars(25_00)),
                    ("TENOFF", ReportedCodeKind::Discount, 1, dollars(1_50)),
                    ("UNUSED", ReportedCodeKind::GiftCard, 0, Money::ZERO),
                    ("WELCOME5", ReportedCodeKind::Credit, 1, dollars(5_00)),
                ],
                "{}: Ann's WELCOME5 on the 2nd is outside the range",
                store.engine_name()
            );
            assert_eq!((report.redemptions, report.value), (3, dollars(31_50)));
            let sales = store.sales_report(range(nov(3), nov(3))).unwrap();
            assert_eq!(sales.total.discounts, dollars(1_50), "{}", store.engine_name());
            assert_eq!(sales.total.net_cents(), 13_50);
        }
    }

    #[test]
    fn a_range_runs_forwards_and_not_forever() {
        assert_eq!(
            DayRange::new(nov(5), nov(4)),
            Err(RangeError::Backwards {
                from: nov(5),
                to: nov(4)
            })
        );
        assert!(DayRange::new(nov(5), nov(5)).is_ok());
        let far = Date::from_calendar_date(2040, Month::January, 1).unwrap();
        assert!(matches!(
            DayRange::new(nov(1), far),
            Err(RangeError::TooLong { .. })
        ));
        let month = DayRange::ending(nov(30), 30);
        assert_eq!((month.from(), month.to()), (nov(1), nov(30)));
        assert_eq!(month.days().count(), 30);
    }
}
