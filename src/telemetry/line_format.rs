//! The shape of a log line, the same as tracing-subscriber's default ("full")
//! format without colours, written more cheaply:
//!
//! `2026-11-27T16:50:59.448056Z  INFO request{request_id=…}: storecredit::telemetry::access_log: request method=GET path="/balance" status=200 micros=406`
//!
//! The default format paints every part through `nu_ansi_term` even with colours
//! off and recomputes the calendar date for every line; this writes the same line
//! directly (BENCHMARKS.md lists what it buys). Here the date
//! and time to the second are formatted once per second per thread, the rest is
//! plain string writes; the fields are written by the subscriber's field formatter
//! ([`super::line_fields::LineFields`], which escapes terminal control characters).
//! A line logged while a request is handled starts with its id, in the shape of a
//! span ([`RequestId`]).

use std::cell::Cell;
use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use super::request_id::RequestId;

pub struct LineFormat;

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut line: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write_timestamp(&mut line, SystemTime::now())?;
        // Lines from crates using `log` name their own target, not "log".
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        line.write_str(level_column(metadata.level()))?;
        // The request being handled stands where its span would: outermost.
        if let Some(request) = RequestId::current() {
            request.write_prefix(&mut line)?;
        }
        if let Some(scope) = context.event_scope() {
            for span in scope.from_root() {
                line.write_str(span.name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>().filter(|f| !f.is_empty()) {
                    line.write_char('{')?;
                    line.write_str(fields)?;
                    line.write_char('}')?;
                }
                line.write_str(": ")?;
            }
        }
        line.write_str(metadata.target())?;
        line.write_str(": ")?;
        context.format_fields(line.by_ref(), event)?;
        line.write_char('\n')
    }
}

/// The level right-aligned in five columns between single spaces, as the default
/// format has it.
fn level_column(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => " ERROR ",
        Level::WARN => "  WARN ",
        Level::INFO => "  INFO ",
        Level::DEBUG => " DEBUG ",
        Level::TRACE => " TRACE ",
    }
}

/// RFC 3339 in UTC with microseconds: `2026-11-27T16:50:59.448056Z`.
fn write_timestamp(line: &mut impl Write, now: SystemTime) -> fmt::Result {
    thread_local! {
        /// The last second formatted on this thread, and its text.
        static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
    }
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let second = since_epoch.as_secs();
    let (cached, mut text) = SECOND.get();
    if cached != second {
        text = date_and_time(second);
        SECOND.set((second, text));
    }
    line.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)?;
    let mut fraction = *b".000000Z";
    let mut micros = since_epoch.subsec_micros();
    for digit in fraction[1..7].iter_mut().rev() {
        *digit = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    line.write_str(std::str::from_utf8(&fraction).map_err(|_| fmt::Error)?)
}

/// `YYYY-MM-DDTHH:MM:SS` for seconds since the Unix epoch.
fn date_and_time(second: u64) -> [u8; 19] {
    let at = i64::try_from(second)
        .ok()
        .and_then(|second| time::OffsetDateTime::from_unix_timestamp(second).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut text = [0u8; 19];
    let mut put = |start: usize, width: usize, mut value: u32| {
        for digit in text[start..start + width].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, u32::try_from(at.year()).unwrap_or(0));
    put(5, 2, u32::from(u8::from(at.month())));
    put(8, 2, u32::from(at.day()));
    put(11, 2, u32::from(at.hour()));
    put(14, 2, u32::from(at.minute()));
    put(17, 2, u32::from(at.second()));
    for (at_index, separator) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        text[at_index] = separator;
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::telemetry::line_fields::LineFields;

    #[test]
    fn timestamps_are_rfc_3339_with_microseconds() {
        // In order, so the second and fourth come from this thread's copy of the
        // second before them.
        for (since_epoch, expected) in [
            (Duration::ZERO, "1970-01-01T00:00:00.000000Z"),
            (
                Duration::from_micros(1_795_797_059_448_056),
                "2026-11-27T16:30:59.448056Z",
            ),
            (
                Duration::from_micros(1_795_797_059_000_007),
                "2026-11-27T16:30:59.000007Z",
            ),
            (
                Duration::from_micros(1_795_797_060_999_999),
                "2026-11-27T16:31:00.999999Z",
            ),
            (Duration::from_secs(951_782_400), "2000-02-29T00:00:00.000000Z"),
        ] {
            let mut text = String::new();
            write_timestamp(&mut text, UNIX_EPOCH + since_epoch).unwrap();
            assert_eq!(text, expected);
        }
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The lines `log` writes through `LineFormat` and [`LineFields`], each without
    /// its 27-character timestamp (checked for its place: a `-` at 4, the `Z` at 26).
    pub(crate) fn lines_logged(log: impl FnOnce()) -> Vec<String> {
        lines_logged_with(LineFields, log)
    }

    /// [`lines_logged`] with another field formatter.
    pub(crate) fn lines_logged_with<F>(fields: F, log: impl FnOnce()) -> Vec<String>
    where
        F: for<'writer> FormatFields<'writer> + Send + Sync + 'static,
    {
        let output = Captured::default();
        let make_writer = {
            let output = output.clone();
            move || output.clone()
        };
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .event_format(LineFormat)
            .fmt_fields(fields)
            .with_writer(make_writer)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                assert_eq!((&line[4..5], &line[26..27]), ("-", "Z"), "{line}");
                line[27..].to_owned()
            })
            .collect()
    }

    #[test]
    fn a_line_in_a_span_has_the_default_shape() {
        let lines = lines_logged(|| {
            tracing::info_span!("request", request_id = 7).in_scope(|| {
                tracing::warn!(path = "/balance", status = 200u16, "request");
            });
            tracing::info!("outside");
        });
        assert_eq!(
            lines,
            [
                "  WARN request{request_id=7}: storecredit::telemetry::line_format::tests: \
                 request path=\"/balance\" status=200",
                "  INFO storecredit::telemetry::line_format::tests: outside",
            ]
        );
    }

    #[test]
    fn a_line_from_a_crate_using_log_names_that_crate() {
        let lines = lines_logged(|| {
            let record = log::Record::builder()
                .level(log::Level::Info)
                .target("rusqlite_migration")
                .args(format_args!("Database migrated to version 3"))
                .build();
            tracing_log::format_trace(&record).unwrap();
        });
        assert_eq!(
            lines,
            ["  INFO rusqlite_migration: Database migrated to version 3"]
        );
    }
}
