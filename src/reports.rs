//! The reports as rows: what `storecredit report …` prints and what the
//! console's `?format=csv` downloads, from the same lists.

use time::{Date, Month};

use crate::domain::{Categories, CreditKind};
use crate::listing::{Cell, Listing};
use crate::store::reports::{CodesReport, ExpiryWhen, LiabilityReport, SalesFigures, SalesReport};

/// "2026-11": a month as the reports name it.
pub fn month_name(year: i32, month: Month) -> String {
    format!("{year:04}-{:02}", u8::from(month))
}

/// "gift card" or "promotional".
pub fn kind_name(kind: CreditKind) -> &'static str {
    match kind {
        CreditKind::GiftCard => "gift card",
        CreditKind::Promotional(_) => "promotional",
    }
}

/// "Digital Music + Kindle": the departments a promotional credit is valid in
/// (each credit counted once, under its whole set); "every department" for a
/// gift card.
pub fn categories_name(categories: &Categories, kind: CreditKind) -> String {
    match kind {
        CreditKind::GiftCard => "every department".to_owned(),
        CreditKind::Promotional(set) => {
            let labels: Vec<&str> = categories.of(set).map(|category| category.label()).collect();
            let unknown = set.ids().filter(|id| categories.get(*id).is_none()).count();
            let mut name = labels.join(" + ");
            if unknown > 0 {
                if !name.is_empty() {
                    name.push_str(" + ");
                }
                name.push_str(if unknown == 1 {
                    "another department"
                } else {
                    "other departments"
                });
            }
            name
        }
    }
}

/// "November 2026 (from the 6th)", "later", "never": an expiry period for people.
pub fn expiry_name(when: ExpiryWhen) -> String {
    match when {
        ExpiryWhen::Month { year, month } => month_name(year, month),
        ExpiryWhen::Later => "later".to_owned(),
        ExpiryWhen::Never => "never".to_owned(),
    }
}

pub const SALES_COLUMNS: [&str; 10] = [
    "day",
    "orders",
    "gross",
    "discounts",
    "promotional_credit",
    "gift_card",
    "card",
    "refunds",
    "refunded_to_card",
    "net",
];

fn sales_row(day: String, figures: &SalesFigures) -> Vec<Cell> {
    vec![
        Cell::Text(day),
        Cell::Count(figures.orders),
        Cell::Money(figures.gross),
        Cell::Money(figures.discounts),
        Cell::Money(figures.promotional_credit),
        Cell::Money(figures.gift_card),
        Cell::Money(figures.card),
        Cell::Money(figures.refunds),
        Cell::Money(figures.refunded_to_card),
        Cell::SignedMoney(figures.net_cents()),
    ]
}

/// One row a day, then `total`.
pub fn sales_listing(report: &SalesReport) -> Listing {
    let mut listing = Listing::new(&SALES_COLUMNS);
    for day in &report.days {
        listing.push(sales_row(day.day.to_string(), &day.figures));
    }
    listing.push(sales_row("total".to_owned(), &report.total));
    listing
}

pub const LIABILITY_COLUMNS: [&str; 6] = ["section", "kind", "categories", "period", "credits", "amount"];

/// Four sections in one list: `outstanding` (per kind and set of categories,
/// then the total), `unredeemed` (gift cards sold and not yet redeemed, owed
/// besides), `expiring` (per coming month, later, never) and `expired`
/// (unspent, per month, then the total).
pub fn liability_listing(report: &LiabilityReport, categories: &Categories) -> Listing {
    let mut listing = Listing::new(&LIABILITY_COLUMNS);
    let as_of = report.as_of.to_string();
    for line in &report.lines {
        listing.push(vec![
            Cell::text("outstanding"),
            Cell::text(kind_name(line.kind)),
            Cell::Text(categories_name(categories, line.kind)),
            Cell::text(as_of.clone()),
            Cell::Count(line.credits),
            Cell::Money(line.outstanding),
        ]);
    }
    listing.push(vec![
        Cell::text("outstanding"),
        Cell::text("total"),
        Cell::Nothing(""),
        Cell::text(as_of.clone()),
        Cell::Count(report.credits),
        Cell::Money(report.total),
    ]);
    listing.push(vec![
        Cell::text("unredeemed"),
        Cell::text("gift cards sold"),
        Cell::Nothing(""),
        Cell::text(as_of),
        Cell::Count(report.unredeemed_gift_cards),
        Cell::Money(report.unredeemed_gift_card_value),
    ]);
    for bucket in &report.expiring {
        listing.push(vec![
            Cell::text("expiring"),
            Cell::text("all"),
            Cell::Nothing(""),
            Cell::Text(expiry_name(bucket.when)),
            Cell::Count(bucket.credits),
            Cell::Money(bucket.outstanding),
        ]);
    }
    for month in &report.expired {
        for (kind, amount) in [("promotional", month.promotional), ("gift card", month.gift_card)] {
            if !amount.is_zero() {
                listing.push(vec![
                    Cell::text("expired"),
                    Cell::text(kind),
                    Cell::Nothing(""),
                    Cell::Text(month_name(month.year, month.month)),
                    Cell::Nothing(""),
                    Cell::Money(amount),
                ]);
            }
        }
    }
    listing.push(vec![
        Cell::text("expired"),
        Cell::text("total"),
        Cell::Nothing(""),
        Cell::Text(format!("to {}", report.as_of)),
        Cell::Count(report.expired.iter().map(|month| month.credits).sum()),
        Cell::Money(report.expired_total),
    ]);
    listing
}

pub const CODES_COLUMNS: [&str; 5] = ["code", "kind", "active", "redemptions", "value"];

/// One row a code, then `total`.
pub fn codes_listing(report: &CodesReport) -> Listing {
    let mut listing = Listing::new(&CODES_COLUMNS);
    for code in &report.codes {
        listing.push(vec![
            Cell::text(code.code.clone()),
            Cell::text(code.kind.as_str()),
            Cell::Flag(code.active),
            Cell::Count(code.redemptions),
            Cell::Money(code.value),
        ]);
    }
    listing.push(vec![
        Cell::text("total"),
        Cell::Nothing(""),
        Cell::Nothing(""),
        Cell::Count(report.redemptions),
        Cell::Money(report.value),
    ]);
    listing
}

/// A day typed as `2026-12-07`; `None` for anything else.
pub fn parse_day(typed: &str) -> Option<Date> {
    crate::domain::date::parse_day(typed)
}
