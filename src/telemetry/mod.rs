//! Logging: one structured line per request, without secrets.

use tracing_subscriber::EnvFilter;

mod access_log;
mod batched_writer;
mod line_fields;
mod line_format;
mod request_id;

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
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(writer)
        // Plain text on a terminal too: the same line wherever it is read.
        .with_ansi(false)
        .event_format(line_format::LineFormat)
        .fmt_fields(line_fields::LineFields)
        .init();
    guard
}
