//! How dates read on the site: "January 31, 2027".

use time::OffsetDateTime;
use time::macros::format_description;

pub fn format_date(instant: OffsetDateTime) -> String {
    instant
        .format(format_description!(
            "[month repr:long] [day padding:none], [year]"
        ))
        .unwrap_or_else(|_| instant.date().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_read_as_month_day_year() {
        assert_eq!(format_date(datetime!(2027-01-05 13:00 UTC)), "January 5, 2027");
    }
}
