//! `GET /admin/reports`: sales per day and the credit outstanding over a range,
//! each as a chart with its figures in a table, the liability as at the end of a
//! day, and codes' redemptions and value; `?format=csv&report=…` downloads one of
//! them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use time::Date;

use super::charts::{ChartText, liability_chart, sales_chart};
use super::console_page::{Desk, csv_download, filtered_href, wants_csv};
use super::{ConsoleChrome, Staff, may};
use crate::domain::{Categories, CreditKind, Money};
use crate::error::AppError;
use crate::reports::{
    categories_name, codes_listing, expiry_name, kind_name, liability_listing, month_name, parse_day,
    sales_listing,
};
use crate::routes::{blocking, render_with_status};
use crate::store::reports::{
    CodesReport, DayRange, ExpiredMonth, ExpiryBucket, LiabilityLine, LiabilityReport, OutstandingDay,
    SalesReport,
};

/// How many days the page covers when no first day is given.
const DEFAULT_DAYS: i64 = 30;

#[derive(serde::Deserialize)]
pub struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    as_of: Option<String>,
    format: Option<String>,
    report: Option<String>,
}

/// The reports the page shows, read in one go.
struct Reports {
    sales: SalesReport,
    liability: LiabilityReport,
    series: Vec<OutstandingDay>,
    codes: CodesReport,
}

#[derive(Template)]
#[template(path = "admin/reports.html")]
struct ReportsPage {
    chrome: ConsoleChrome,
    /// The fields as typed (or their defaults).
    from: String,
    to: String,
    as_of: String,
    /// A field that could not be read: the field and why.
    problem: Option<(&'static str, String)>,
    reports: Option<Reports>,
    categories: std::sync::Arc<Categories>,
    sales_svg: String,
    liability_svg: String,
}

impl ReportsPage {
    fn error_at(&self, field: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .filter(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }

    /// `-$25.00` or `$76.00`.
    fn net(&self, cents: i64) -> String {
        if cents < 0 {
            format!("-{}", Money::from_cents(-cents))
        } else {
            Money::from_cents(cents).to_string()
        }
    }

    fn kind(&self, line: &LiabilityLine) -> &'static str {
        kind_name(line.kind)
    }

    fn is_gift_card(&self, line: &LiabilityLine) -> bool {
        matches!(line.kind, CreditKind::GiftCard)
    }

    fn valid_in(&self, line: &LiabilityLine) -> String {
        categories_name(&self.categories, line.kind)
    }

    fn period(&self, bucket: &ExpiryBucket) -> String {
        expiry_name(bucket.when)
    }

    fn month(&self, expired: &ExpiredMonth) -> String {
        month_name(expired.year, expired.month)
    }

    fn day(&self, day: &Date) -> String {
        day.to_string()
    }

    /// The CSV download of `report`, for the range shown.
    fn csv_href(&self, report: &str) -> String {
        filtered_href(
            "/admin/reports",
            &[
                ("from", Some(self.from.trim())),
                ("to", Some(self.to.trim())),
                ("as_of", Some(self.as_of.trim())),
                ("report", Some(report)),
                ("format", Some("csv")),
            ],
        )
    }
}

/// The day typed into `field`, or its default when left empty.
fn typed_day(
    field: &'static str,
    label: &str,
    typed: &str,
    default: Date,
) -> Result<Date, (&'static str, String)> {
    if typed.trim().is_empty() {
        return Ok(default);
    }
    parse_day(typed).ok_or_else(|| (field, format!("{label}: enter a day such as 2026-11-30")))
}

/// The range and report day from the fields, or the field that could not be
/// read and why.
fn read_fields(
    from: &str,
    to: &str,
    as_of: &str,
    today: Date,
) -> Result<(DayRange, Date), (&'static str, String)> {
    let last = typed_day("to", "To", to, today)?;
    let range = if from.trim().is_empty() {
        DayRange::ending(last, DEFAULT_DAYS)
    } else {
        let first = typed_day("from", "From", from, today)?;
        DayRange::new(first, last).map_err(|error| ("to", format!("To: {error}")))?
    };
    let as_of = typed_day("as_of", "Liability as of", as_of, range.to())?;
    Ok((range, as_of))
}

/// `GET /admin/reports?from=&to=&as_of=` (UTC days; the last 30 days and the
/// end of the last by default), `&format=csv&report=sales|liability|codes` for
/// a download.
pub async fn show(
    staff: Staff<may::Reports>,
    desk: Desk,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let ReportQuery {
        from,
        to,
        as_of,
        format,
        report,
    } = query.into_inner();
    let today = desk.clock.now().date();
    let mut page = ReportsPage {
        chrome: ConsoleChrome::of(&staff),
        from: from.unwrap_or_default(),
        to: to.unwrap_or_default(),
        as_of: as_of.unwrap_or_default(),
        problem: None,
        reports: None,
        categories: desk.store.categories(),
        sales_svg: String::new(),
        liability_svg: String::new(),
    };
    let (range, as_of) = match read_fields(&page.from, &page.to, &page.as_of, today) {
        Ok(fields) => fields,
        Err(problem) => {
            page.problem = Some(problem);
            return render_with_status(&page, StatusCode::BAD_REQUEST);
        }
    };
    let store = desk.store.clone();
    if wants_csv(&staff, format.as_deref())? {
        let categories = store.categories();
        return match report.as_deref().unwrap_or("sales") {
            "sales" => {
                let report = blocking(move || store.sales_report(range)).await?;
                csv_download("sales", &sales_listing(&report), today)
            }
            "liability" => {
                let report = blocking(move || store.liability_report(as_of)).await?;
                csv_download("liability", &liability_listing(&report, &categories), today)
            }
            "codes" => {
                let report = blocking(move || store.codes_report(range)).await?;
                csv_download("codes", &codes_listing(&report), today)
            }
            _ => {
                page.problem = Some(("report", "Report: choose sales, liability or codes".to_owned()));
                render_with_status(&page, StatusCode::BAD_REQUEST)
            }
        };
    }
    // Each report is its own read: the two that read the ledger run side by side.
    let (liability, series, sales_and_codes) = {
        let (for_liability, for_series) = (store.clone(), store.clone());
        tokio::join!(
            blocking(move || for_liability.liability_report(as_of)),
            blocking(move || for_series.liability_series(range)),
            blocking(move || Ok::<_, crate::store::StoreError>((
                store.sales_report(range)?,
                store.codes_report(range)?
            ))),
        )
    };
    let (sales, codes) = sales_and_codes?;
    let reports = Reports {
        sales,
        liability: liability?,
        series: series?,
        codes,
    };
    let (first, last) = (range.from(), range.to());
    page.sales_svg = sales_chart(
        &reports.sales.days,
        &ChartText {
            id: "sales-chart",
            title: &format!("Sales per day, {first} to {last}"),
            description: "A bar for each day's gross sales and a line for the refunds made that day; \
                          the table below gives every figure.",
        },
    );
    page.liability_svg = liability_chart(
        &reports.series,
        &ChartText {
            id: "liability-chart",
            title: &format!("Credit outstanding at the end of each day, {first} to {last}"),
            description: "A line of the store credit owed to customers at the end of each day; \
                          the table beside it gives every figure.",
        },
    );
    page.from = first.to_string();
    page.to = last.to_string();
    page.as_of = as_of.to_string();
    page.reports = Some(reports);
    render_with_status(&page, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn empty_fields_mean_the_last_thirty_days_and_the_end_of_the_last() {
        let (range, as_of) = read_fields("", " ", "", date!(2026 - 12 - 07)).unwrap();
        assert_eq!(
            (range.from(), range.to()),
            (date!(2026 - 11 - 08), date!(2026 - 12 - 07))
        );
        assert_eq!(as_of, date!(2026 - 12 - 07));
        let (range, as_of) =
            read_fields("2026-11-01", "2026-11-30", "2026-10-31", date!(2026 - 12 - 07)).unwrap();
        assert_eq!(
            (range.from(), range.to(), as_of),
            (
                date!(2026 - 11 - 01),
                date!(2026 - 11 - 30),
                date!(2026 - 10 - 31)
            )
        );
    }

    #[test]
    fn a_field_that_cannot_be_read_is_named() {
        let today = date!(2026 - 12 - 07);
        assert_eq!(read_fields("11/01/2026", "", "", today).unwrap_err().0, "from");
        assert_eq!(read_fields("", "2026-02-30", "", today).unwrap_err().0, "to");
        assert_eq!(read_fields("", "", "soon", today).unwrap_err().0, "as_of");
        assert_eq!(
            read_fields("2026-12-05", "2026-12-01", "", today).unwrap_err().0,
            "to"
        );
    }
}
