//! Logging: one structured line per request, without secrets.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

mod batched_writer;
mod line_fields;
mod line_format;

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

/// The root span of a request: every line logged while handling it carries the
/// request id. The access line records the path but never the query string (a
/// checkout preview carries a promotional code there) and no headers or body
/// (cookies, CSRF tokens, passwords and card numbers live there).
///
/// The line is one event at the end rather than the span's own close event, which
/// would time every poll of the request's future: measurably slower (BENCHMARKS.md).
pub struct RequestSpan;

/// When the request arrived, kept in its extensions for the access line.
struct Arrived(Instant);

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(Arrived(Instant::now()));
        let request_id = request.extensions().get::<RequestId>().copied();
        match request_id {
            Some(id) => tracing::info_span!("request", request_id = %id),
            None => tracing::info_span!("request"),
        }
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        let Ok(response) = outcome else {
            // Errors become responses before they reach here; nothing to add.
            return;
        };
        let request = response.request();
        let micros = request
            .extensions()
            .get::<Arrived>()
            .map_or(0, |arrived| arrived.0.elapsed().as_micros());
        tracing::info!(
            parent: &span,
            method = %request.method(),
            path = request.path(),
            status = response.status().as_u16(),
            micros,
            "request"
        );
    }
}
