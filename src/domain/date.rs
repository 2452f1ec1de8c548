//! How dates read on the site ("January 31, 2027"), and last days: a date an
//! operator names is the last day (UTC) something may be used, stored as the
//! instant that day ends so the rules can compare `expires_at > now`.

use std::fmt;

use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

pub fn format_date(instant: OffsetDateTime) -> String {
    format_day(instant.to_offset(time::UtcOffset::UTC).date())
}

fn format_day(day: Date) -> String {
    day.format(format_description!(
        "[month repr:long] [day padding:none], [year]"
    ))
    .unwrap_or_else(|_| day.to_string())
}

/// The last day (UTC) on which a credit can be spent or a code redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LastDay(Date);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date like 2027-01-31 (in the years 1970 to 9998)")]
pub struct NotADate(String);

/// A day as people type it, `2027-01-31`, in the years a store's records can
/// name (1970 to 9998): far enough from the calendar's end that a day, a month or
/// a year after it can always be worked out. `None` for anything else.
pub fn parse_day(text: &str) -> Option<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .ok()
        .filter(|day| (1970..=9998).contains(&day.year()))
}

impl LastDay {
    /// `2027-01-31`: usable through that whole day (UTC).
    pub fn parse(text: &str) -> Result<LastDay, NotADate> {
        parse_day(text)
            .map(LastDay)
            .ok_or_else(|| NotADate(text.chars().take(40).collect()))
    }

    /// The last day of something that stops at `ends_at` (an exclusive end): the day
    /// of the last second before it, so a credit ending at midnight shows the day
    /// before, not the day it is already gone.
    pub fn of(ends_at: OffsetDateTime) -> LastDay {
        LastDay((ends_at.to_offset(time::UtcOffset::UTC) - Duration::SECOND).date())
    }

    /// The last day `days` days after `start`'s day (UTC): "valid 30 days" from a
    /// moment is usable through the whole of the 30th day after it.
    pub fn days_after(start: OffsetDateTime, days: i64) -> LastDay {
        LastDay(
            start
                .to_offset(time::UtcOffset::UTC)
                .date()
                .saturating_add(Duration::days(days)),
        )
    }

    /// The day itself, e.g. for `2027-01-31` in machine-readable output.
    pub fn date(self) -> Date {
        self.0
    }

    /// The instant the day ends (midnight after it, UTC): what is stored.
    pub fn ends_at(self) -> OffsetDateTime {
        self.0.midnight().assume_utc() + Duration::DAY
    }
}

impl fmt::Display for LastDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_day(self.0))
    }
}

/// How an expiry or a deadline stored as its exclusive end reads: its last day.
pub fn format_last_day(ends_at: OffsetDateTime) -> String {
    LastDay::of(ends_at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_read_as_month_day_year() {
        assert_eq!(format_date(datetime!(2027-01-05 13:00 UTC)), "January 5, 2027");
    }

    #[test]
    fn a_named_last_day_ends_at_the_next_midnight_and_reads_as_itself() {
        let day = LastDay::parse("2031-01-31").unwrap();
        assert_eq!(day.ends_at(), datetime!(2031-02-01 0:00 UTC));
        assert_eq!(format_last_day(day.ends_at()), "January 31, 2031");
        assert_eq!(LastDay::of(day.ends_at()), day);
    }

    #[test]
    fn an_end_during_a_day_is_that_days_last_day() {
        assert_eq!(format_last_day(datetime!(2027-03-02 13:00 UTC)), "March 2, 2027");
        assert_eq!(
            format_last_day(datetime!(2027-03-02 0:00:01 UTC)),
            "March 2, 2027"
        );
        assert_eq!(format_last_day(datetime!(2027-03-02 0:00 UTC)), "March 1, 2027");
    }

    #[test]
    fn last_days_are_utc_days() {
        assert_eq!(
            format_last_day(datetime!(2027-03-02 1:00 +05:00)),
            "March 1, 2027"
        );
    }

    #[test]
    fn days_after_counts_whole_days_from_the_start_day() {
        let day = LastDay::days_after(datetime!(2027-01-01 23:59 UTC), 30);
        assert_eq!(day.to_string(), "January 31, 2027");
        assert_eq!(day.ends_at(), datetime!(2027-02-01 0:00 UTC));
    }

    #[test]
    fn what_is_not_a_date_is_refused() {
        for text in ["", "2031-02-30", "31/01/2031", "2031-1-31x", "tomorrow"] {
            assert!(LastDay::parse(text).is_err(), "{text:?}");
        }
    }
}
