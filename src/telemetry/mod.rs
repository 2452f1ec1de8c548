//! Logging: one structured line per request, without secrets, each line logged while
//! a request is handled carrying its id; and the Prometheus metrics (`metrics`).

use std::io::{self, Write};

use tracing::Subscriber;
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

mod access_log;
pub mod metrics;

pub use access_log::{AccessLog, loggable};
pub use metrics::Metrics;

/// Logs to standard error at `RUST_LOG` (default `info`), one line per request as
/// it completes, with its id, method, path, status and duration.
///
/// Lines are written by a background thread (tracing-appender's non-blocking
/// writer), so request threads never wait on the terminal or the disk, and nothing
/// is dropped: a stuck output makes writers wait. Keep the returned guard alive:
/// dropping it writes what is left (waiting up to a second for the output).
pub fn init() -> WorkerGuard {
    let (writer, guard) = lossless_writer(io::stderr(), DEFAULT_BUFFERED_LINES);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Also forwards the `log` records of the crates using it (SQLite's migrations).
    subscriber(writer, filter).init();
    guard
}

/// How many lines may wait for the writer thread before request threads wait.
const DEFAULT_BUFFERED_LINES: usize = tracing_appender::non_blocking::DEFAULT_BUFFERED_LINES_LIMIT;

/// The writer thread writes through a buffer, flushed whenever no line is waiting:
/// under load one `write` per burst of lines rather than one per line.
const OUTPUT_BUFFER_BYTES: usize = 64 * 1024;

/// A writer that hands lines to a thread writing them to `output`, never dropping
/// one: with `buffered_lines` waiting, the next writer waits for room.
fn lossless_writer(output: impl Write + Send + 'static, buffered_lines: usize) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(buffered_lines)
        .thread_name("log-writer")
        .finish(io::BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, output))
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
    use std::io::{self, Write};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use super::lossless_writer;
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

    /// An output that keeps what reaches it, and blocks until released.
    #[derive(Clone, Default)]
    struct Gated {
        released: Arc<(Mutex<bool>, Condvar)>,
        bytes: Arc<Mutex<Vec<u8>>>,
    }

    impl Gated {
        fn release(&self) {
            *self.released.0.lock().unwrap() = true;
            self.released.1.notify_all();
        }
    }

    impl Write for Gated {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let (released, changed) = &*self.released;
            let mut released = released.lock().unwrap();
            while !*released {
                released = changed.wait(released).unwrap();
            }
            self.bytes.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.write(&[]).map(drop)
        }
    }

    #[test]
    fn a_stuck_output_makes_writers_wait_rather_than_drop_lines() {
        let output = Gated::default();
        let (writer, guard) = lossless_writer(output.clone(), 16);
        let line = format!("{}\n", "x".repeat(1023));
        let lines = 1000;
        let producer = std::thread::spawn({
            let (mut writer, line) = (writer.clone(), line.clone());
            move || (0..lines).for_each(|_| writer.write_all(line.as_bytes()).unwrap())
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(!producer.is_finished(), "1,000 lines went past 16 waiting places");
        output.release();
        producer.join().unwrap();
        drop(guard);
        assert_eq!(output.bytes.lock().unwrap().len(), lines * line.len());
    }
}
