//! Logging: one structured line per request, without secrets, each line logged while
//! a request is handled carrying its id.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

mod access_log;
mod batched_writer;

pub use access_log::AccessLog;
pub use batched_writer::{FLUSH_EVERY, FlushOnDrop};

/// Logs to standard error at `RUST_LOG` (default `info`), one line per request as
/// it completes, with its id, method, path, status and duration.
///
/// Lines are written in batches by a background thread, within [`FLUSH_EVERY`]
/// (warnings and errors at once), so request threads never wait on the terminal or
/// the disk; nothing is dropped (a stuck output makes writers wait). Keep the
/// returned guard alive: dropping it writes what is left.
pub fn init() -> FlushOnDrop {
    let (writer, guard) = batched_writer::batched_writer(std::io::stderr(), FLUSH_EVERY);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Also forwards the `log` records of the crates using it (SQLite's migrations).
    subscriber(writer, filter).init();
    guard
}

/// tracing-subscriber's own line format ("full": time, level, the spans with their
/// fields, target, message and fields), without colours even on a terminal, so the
/// line reads the same wherever it is read:
///
/// `2026-11-27T16:50:59.448056Z  INFO request{request_id=…}: storecredit::telemetry::access_log: request method=GET path="/balance" status=200 micros=406`
fn subscriber<W>(writer: W, filter: EnvFilter) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .finish()
}

#[cfg(test)]
pub(crate) mod testing {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::EnvFilter;

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

    /// The lines `log` writes through the server's subscriber at `info`, each
    /// without its 27-character timestamp (checked for its place: a `-` at 4, the
    /// `Z` at 26).
    pub(crate) fn lines_logged(log: impl FnOnce()) -> Vec<String> {
        lines_logged_at("info", log)
    }

    /// [`lines_logged`] at the level `filter` (`RUST_LOG`'s syntax) asks for.
    pub(crate) fn lines_logged_at(filter: &str, log: impl FnOnce()) -> Vec<String> {
        let output = Captured::default();
        let make_writer = {
            let output = output.clone();
            move || output.clone()
        };
        let subscriber = super::subscriber(make_writer, EnvFilter::new(filter));
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                assert_eq!((&line[4..5], &line[26..27]), ("-", "Z"), "{line}");
                line[27..].to_owned()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::lines_logged;

    #[test]
    fn a_line_in_a_span_names_the_span_and_its_fields_before_the_target() {
        let lines = lines_logged(|| {
            tracing::info_span!("request", request_id = 7).in_scope(|| {
                tracing::warn!(path = "/balance", status = 200u16, "request");
            });
            tracing::info!("outside");
            tracing::debug!("below the level");
        });
        assert_eq!(
            lines,
            [
                "  WARN request{request_id=7}: storecredit::telemetry::tests: \
                 request path=\"/balance\" status=200",
                "  INFO storecredit::telemetry::tests: outside",
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

    #[test]
    fn terminal_control_characters_in_a_message_or_a_text_field_are_escaped() {
        let lines = lines_logged(|| {
            tracing::warn!(path = "/a\x1b[2Jb", "bell\x07 and tab\tkept");
        });
        assert_eq!(
            lines,
            ["  WARN storecredit::telemetry::tests: bell\\x07 and tab\tkept path=\"/a\\u{1b}[2Jb\""]
        );
    }
}
