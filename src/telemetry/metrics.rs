//! Prometheus metrics: what is counted, and the separate server that shows them at
//! `GET /metrics` on `--metrics-bind`.
//!
//! Each application records into its own recorder rather than the process-wide
//! one the `metrics` macros use by default: a server has one application, and the
//! tests run many in one process, each of which must count only its own requests.
//! The macros write to it through `metrics::with_local_recorder`, which holds for
//! the synchronous call only. Without `--metrics-bind` a [`Metrics`] is off and
//! every call is a no-op.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::error::Limited;
use crate::store::{ConnectionStats, Store};

pub const REQUESTS: &str = "storecredit_http_requests_total";
pub const REQUEST_SECONDS: &str = "storecredit_http_request_duration_seconds";
pub const ORDERS_PLACED: &str = "storecredit_orders_placed_total";
pub const SIGN_IN_FAILURES: &str = "storecredit_sign_in_failures_total";
pub const THROTTLED: &str = "storecredit_throttled_total";
pub const DB_CONNECTIONS: &str = "storecredit_db_connections";
pub const DB_WAITING: &str = "storecredit_db_requests_waiting";
pub const DB_RETRIES: &str = "storecredit_db_transaction_retries_total";
pub const MAIL_SENT: &str = "storecredit_mail_sent_total";
pub const MAIL_FAILED: &str = "storecredit_mail_failed_tries_total";
pub const MAIL_WAITING: &str = "storecredit_mail_waiting";

/// The `route` of a request that matched no route: one label for every unknown
/// path, so a scan of made-up addresses cannot grow the metrics without bound.
pub const UNMATCHED: &str = "unmatched";

/// Prometheus's default buckets: a page is a few milliseconds, a sign-in (argon2)
/// a few tens, a checkout waiting on a busy database more.
const LATENCY_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How often latency samples not yet scraped are folded into their histogram, so
/// they do not pile up between scrapes (or when nothing scrapes).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// One application's metrics, or none (cloned into each worker and handler).
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<PrometheusRecorder>>);

impl Metrics {
    /// Records nothing.
    pub fn off() -> Metrics {
        Metrics(None)
    }

    /// A fresh recorder, with every counter that has no per-request label shown
    /// at zero from the start (a series that appears late reads as missing data).
    pub fn on() -> anyhow::Result<Metrics> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.to_owned()), &LATENCY_BUCKETS)?
            .build_recorder();
        let metrics = Metrics(Some(Arc::new(recorder)));
        metrics.record(|| {
            describe_counter!(
                REQUESTS,
                "HTTP requests answered, by method, route pattern and status."
            );
            describe_histogram!(
                REQUEST_SECONDS,
                Unit::Seconds,
                "Time from a request's arrival to its answer, by method and route pattern."
            );
            describe_counter!(
                ORDERS_PLACED,
                "Orders placed (a replayed order form is not counted again)."
            );
            describe_counter!(
                SIGN_IN_FAILURES,
                "Sign-ins refused for a wrong e-mail or password."
            );
            describe_counter!(
                THROTTLED,
                "Attempts answered 429 by a throttle, by what was attempted."
            );
            describe_counter!(MAIL_SENT, "Messages this server delivered from the outbox.");
            describe_counter!(
                MAIL_FAILED,
                "Tries to deliver a message that failed, by whether it will be tried again."
            );
            describe_gauge!(
                MAIL_WAITING,
                "Messages in the outbox waiting to be sent (every server's), at the scrape."
            );
            counter!(ORDERS_PLACED).absolute(0);
            counter!(SIGN_IN_FAILURES).absolute(0);
            counter!(MAIL_SENT).absolute(0);
            for again in ["yes", "no"] {
                counter!(MAIL_FAILED, "again" => again).absolute(0);
            }
            for what in [
                Limited::SignIn,
                Limited::Codes,
                Limited::Registrations,
                Limited::PasswordResets,
            ] {
                counter!(THROTTLED, "what" => throttled_label(what)).absolute(0);
            }
        });
        Ok(metrics)
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// The text a scrape gets, when metrics are on.
    pub fn render(&self) -> Option<String> {
        self.0.as_ref().map(|recorder| recorder.handle().render())
    }

    /// The database's connections and retries as of now, read at each scrape.
    pub fn database(&self, stats: ConnectionStats) {
        self.record(|| {
            describe_gauge!(
                DB_CONNECTIONS,
                "The store's pooled database connections, by state."
            );
            describe_gauge!(DB_WAITING, "Requests waiting for a database connection.");
            describe_counter!(
                DB_RETRIES,
                "Transactions run again after a serialization failure or deadlock."
            );
            gauge!(DB_CONNECTIONS, "state" => "in_use").set(f64::from(stats.in_use));
            gauge!(DB_CONNECTIONS, "state" => "idle").set(f64::from(stats.idle));
            gauge!(DB_WAITING).set(stats.waiting as f64);
            counter!(DB_RETRIES).absolute(stats.retries);
        });
    }

    fn record(&self, write: impl FnOnce()) {
        if let Some(recorder) = &self.0 {
            metrics::with_local_recorder(recorder.as_ref(), write);
        }
    }

    /// One answered request; `route` is the pattern it matched (`/orders/{id}`)
    /// or [`UNMATCHED`], never the path itself.
    pub fn request(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        self.record(|| {
            let (method, route) = (method_label(method), route.to_owned());
            counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status.to_string())
                .increment(1);
            histogram!(REQUEST_SECONDS, "method" => method, "route" => route).record(elapsed.as_secs_f64());
        });
    }

    pub fn order_placed(&self) {
        self.record(|| counter!(ORDERS_PLACED).increment(1));
    }

    /// A message delivered.
    pub fn mail_sent(&self) {
        self.record(|| counter!(MAIL_SENT).increment(1));
    }

    /// A try to deliver a message failed; `again`: it will be tried again.
    pub fn mail_failed(&self, again: bool) {
        self.record(|| counter!(MAIL_FAILED, "again" => if again { "yes" } else { "no" }).increment(1));
    }

    pub fn sign_in_failed(&self) {
        self.record(|| counter!(SIGN_IN_FAILURES).increment(1));
    }

    pub fn throttled(&self, what: Limited) {
        self.record(|| counter!(THROTTLED, "what" => throttled_label(what)).increment(1));
    }

    /// Binds `address` and returns the server that answers `GET /metrics` there
    /// (and 404 to anything else), to be awaited next to the site's; `None` when
    /// metrics are off. One worker: a scrape every few seconds needs no more.
    pub fn serve(&self, address: &str, store: Store) -> anyhow::Result<Option<(SocketAddr, Server)>> {
        let Some(recorder) = &self.0 else {
            return Ok(None);
        };
        let listener =
            TcpListener::bind(address).with_context(|| format!("cannot listen on {address} for metrics"))?;
        let bound = listener.local_addr()?;
        let metrics = web::Data::new(self.clone());
        let store = web::Data::new(store);
        spawn_upkeep(recorder.handle());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(metrics.clone())
                .app_data(store.clone())
                .route("/metrics", web::get().to(scrape))
        })
        .workers(1)
        // The site's server answers the signals; this one is stopped after it.
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Some((bound, server)))
    }
}

async fn scrape(metrics: web::Data<Metrics>, store: web::Data<Store>) -> HttpResponse {
    metrics.database(store.connection_stats());
    let reader = store.get_ref().clone();
    match web::block(move || reader.mail_pending_count()).await {
        Ok(Ok(waiting)) => metrics.record(|| gauge!(MAIL_WAITING).set(waiting as f64)),
        // A scrape while the database is away still shows everything else.
        Ok(Err(e)) => tracing::warn!(error = ?e, "could not count the mail waiting"),
        Err(e) => tracing::warn!(error = ?e, "the mail waiting was not counted"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render().unwrap_or_default())
}

fn spawn_upkeep(handle: PrometheusHandle) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
}

/// The standard methods by name, anything else as one label: a client may send
/// any token as a method.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn throttled_label(what: Limited) -> &'static str {
    match what {
        Limited::SignIn => "sign_in",
        Limited::Codes => "codes",
        Limited::Registrations => "registrations",
        Limited::PasswordResets => "password_resets",
        Limited::Downloads => "downloads",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(metrics: &Metrics) -> String {
        metrics.render().expect("metrics are on")
    }

    #[test]
    fn requests_are_counted_by_method_route_and_status_and_timed() {
        let metrics = Metrics::on().unwrap();
        for _ in 0..2 {
            metrics.request(&Method::GET, "/orders/{id}", 200, Duration::from_millis(30));
        }
        metrics.request(
            &Method::from_bytes(b"BREW").unwrap(),
            UNMATCHED,
            404,
            Duration::ZERO,
        );
        let text = rendered(&metrics);
        assert!(
            text.contains(
                r#"storecredit_http_requests_total{method="GET",route="/orders/{id}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"storecredit_http_requests_total{method="other",route="unmatched",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"storecredit_http_request_duration_seconds_bucket{method="GET",route="/orders/{id}",le="0.05"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"storecredit_http_request_duration_seconds_bucket{method="GET",route="/orders/{id}",le="0.025"} 0"#
            ),
            "{text}"
        );
    }

    #[test]
    fn the_other_counters_start_at_zero_and_count() {
        let metrics = Metrics::on().unwrap();
        let text = rendered(&metrics);
        assert!(text.contains("storecredit_orders_placed_total 0"), "{text}");
        assert!(
            text.contains(r#"storecredit_throttled_total{what="codes"} 0"#),
            "{text}"
        );
        metrics.order_placed();
        metrics.sign_in_failed();
        metrics.throttled(Limited::Codes);
        let text = rendered(&metrics);
        assert!(text.contains("storecredit_orders_placed_total 1"), "{text}");
        assert!(text.contains("storecredit_sign_in_failures_total 1"), "{text}");
        assert!(
            text.contains(r#"storecredit_throttled_total{what="codes"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn metrics_that_are_off_record_nothing_and_serve_nothing() {
        let metrics = Metrics::off();
        metrics.order_placed();
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(&folder.path().join("metrics.db")).unwrap();
        assert!(metrics.serve("127.0.0.1:0", store).unwrap().is_none());
        assert!(metrics.render().is_none());
    }
}
