//! The access log: each request's span, carrying its id, and its one line as it
//! completes.
//!
//! The span is tracing's own (`request{request_id=…}`), entered while the request's
//! future is polled, so every line logged meanwhile carries the id, from a handler
//! or from the `#[instrument]`ed functions it calls (work handed to other threads,
//! such as the blocking pool, is outside it). The access line is one event when
//! the response is ready, inside the span, with the status on it. Our own few lines
//! rather than tracing-actix-web's `TracingLogger`: that middleware gives the span
//! but no line with the duration, none for a request whose client left, and it
//! logs every 4xx a second time as a warning.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::{Method, Uri};
use tracing::Span;
use uuid::Uuid;

use super::metrics::{self, Metrics};

/// Gives each request a fresh id, current while it is handled so that every line
/// logged meanwhile carries it, and logs one line when the response is ready:
/// method, path, status and duration in microseconds.
///
/// The line records the path but never the query string (a checkout preview
/// carries a promotional code there), nor a reset link's token, and no headers or
/// body (cookies, CSRF tokens, passwords and card numbers live there). A 5xx line is an error, written at
/// once; the rest are at info. A request whose client leaves before its answer is
/// ready is logged with status 499.
///
/// With metrics on, each request is also counted by its route pattern and status,
/// and its time recorded.
#[derive(Default)]
pub struct AccessLog {
    metrics: Metrics,
}

impl AccessLog {
    pub fn with_metrics(metrics: Metrics) -> AccessLog {
        AccessLog { metrics }
    }
}

impl<S, B> Transform<S, ServiceRequest> for AccessLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = AccessLogMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AccessLogMiddleware {
            service,
            metrics: self.metrics.clone(),
        }))
    }
}

#[doc(hidden)]
pub struct AccessLogMiddleware<S> {
    service: S,
    metrics: Metrics,
}

impl<S, B> Service<ServiceRequest> for AccessLogMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Logged<S::Future>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let arrived = Instant::now();
        // At error level, so that the id is on every line whatever level `RUST_LOG`
        // asks for.
        let span = tracing::error_span!("request", request_id = %Uuid::new_v4());
        // Kept for the line: the request is gone when the inner services answer
        // with an error instead of a response. (The URI's bytes are shared, not
        // copied; the `HttpRequest` itself must not be cloned before routing.)
        let method = request.method().clone();
        let uri = request.uri().clone();
        // Matched here, before routing, for the same reason: read from the
        // response, a request answered with an error or given up would have none.
        let counted = self.metrics.is_on().then(|| Counted {
            metrics: self.metrics.clone(),
            route: request
                .match_pattern()
                .unwrap_or_else(|| metrics::UNMATCHED.to_owned()),
        });
        let response = span.in_scope(|| self.service.call(request));
        Logged {
            response,
            span,
            method,
            uri,
            arrived,
            answered: false,
            counted,
        }
    }
}

pin_project_lite::pin_project! {
    #[doc(hidden)]
    pub struct Logged<F> {
        #[pin]
        response: F,
        span: Span,
        method: Method,
        uri: Uri,
        arrived: Instant,
        answered: bool,
        counted: Option<Counted>,
    }

    impl<F> PinnedDrop for Logged<F> {
        /// The client went away before its answer was ready (actix drops the
        /// request's future): logged as 499, as web servers log it, so a slow
        /// request that was given up on still leaves its line.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.answered {
                let _entered = this.span.enter();
                let elapsed = this.arrived.elapsed();
                log_access(this.method, this.uri.path(), CLIENT_GONE, elapsed.as_micros());
                if let Some(counted) = this.counted {
                    counted.metrics.request(this.method, &counted.route, CLIENT_GONE, elapsed);
                }
            }
        }
    }
}

/// Not an HTTP status anyone receives: the code web servers log for a request
/// whose client closed the connection before the answer.
const CLIENT_GONE: u16 = 499;

/// What a request is counted under when metrics are on.
#[doc(hidden)]
pub struct Counted {
    metrics: Metrics,
    /// The route pattern it matched, or [`metrics::UNMATCHED`].
    route: String,
}

impl<F, B> Future for Logged<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let Poll::Ready(outcome) = this.response.poll(cx) else {
            return Poll::Pending;
        };
        *this.answered = true;
        let status = match &outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        }
        .as_u16();
        let elapsed = this.arrived.elapsed();
        log_access(this.method, this.uri.path(), status, elapsed.as_micros());
        if let Some(counted) = this.counted {
            counted
                .metrics
                .request(this.method, &counted.route, status, elapsed);
        }
        Poll::Ready(outcome)
    }
}

/// A path as logged: a password reset or registration confirmation link's token
/// is a key to an account, and an unsubscribe link's token a key to its mail
/// choices, so only the route is kept. Every line that names a request's path
/// (the access log, a refusal) writes it through this.
pub fn loggable(path: &str) -> &str {
    SECRET_LINKS
        .into_iter()
        .find(|route| path.starts_with(route))
        .unwrap_or(path)
}

const SECRET_LINKS: [&str; 4] = [
    "/password/reset/",
    "/register/confirm/",
    "/mail/unsubscribe/",
    "/mail/resubscribe/",
];

fn log_access(method: &Method, path: &str, status: u16, micros: u128) {
    let path = loggable(path);
    macro_rules! access_line {
        ($level:expr) => {
            tracing::event!(
                $level,
                method = %method,
                path,
                status,
                micros,
                "request"
            )
        };
    }
    if status >= 500 {
        access_line!(tracing::Level::ERROR);
    } else {
        access_line!(tracing::Level::INFO);
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use actix_web::middleware::{Next, from_fn};
    use actix_web::test::{TestRequest, init_service};
    use actix_web::{App, HttpResponse, error, web};

    use super::*;
    use crate::telemetry::testing::{lines_logged, lines_logged_at};

    async fn sign_in() -> HttpResponse {
        tracing::info!("signed in");
        HttpResponse::SeeOther().finish()
    }

    /// A function instrumented the usual way, called by a handler.
    #[tracing::instrument]
    fn look_up(account: u32) {
        tracing::info!("looked up");
    }

    async fn account() -> HttpResponse {
        look_up(7);
        tracing::warn!("account shown");
        HttpResponse::Ok().finish()
    }

    async fn fail() -> HttpResponse {
        HttpResponse::InternalServerError().finish()
    }

    async fn never() -> HttpResponse {
        std::future::pending().await
    }

    /// Answers with an error instead of a response, as a refusing middleware does.
    async fn refuse(
        _request: ServiceRequest,
        _next: Next<impl MessageBody>,
    ) -> Result<ServiceResponse<impl MessageBody>, Error> {
        Err::<ServiceResponse, _>(error::ErrorForbidden("refused"))
    }

    /// The lines logged at `info` while an app wrapped in [`AccessLog`] answers
    /// `requests`.
    fn lines_for(requests: Vec<TestRequest>) -> Vec<String> {
        lines_at("info", requests)
    }

    /// [`lines_for`] at the level `filter` asks for.
    fn lines_at(filter: &str, requests: Vec<TestRequest>) -> Vec<String> {
        lines_logged_at(filter, || {
            actix_web::rt::System::new().block_on(async {
                let app = init_service(
                    App::new()
                        .wrap(AccessLog::default())
                        .route("/signin", web::post().to(sign_in))
                        .route("/account", web::get().to(account))
                        .route("/broken", web::get().to(fail))
                        .service(web::scope("/admin").wrap(from_fn(refuse))),
                )
                .await;
                for request in requests {
                    // An error is the outcome under test in one case, not a failure.
                    let _ = app.call(request.to_request()).await;
                }
            });
        })
    }

    /// The one line logged; fails the test if there were more or none.
    fn only_line(mut lines: Vec<String>) -> String {
        assert_eq!(lines.len(), 1, "{lines:#?}");
        lines.remove(0)
    }

    /// `request{request_id=…` at the start of a line (after its level), if any.
    fn request_id(line: &str) -> Option<&str> {
        let start = line.find("request{request_id=")?;
        let end = start + line[start..].find('}')?;
        Some(&line[start..end])
    }

    #[test]
    fn a_request_gets_one_line_with_method_path_and_status_but_no_query() {
        let lines = lines_for(vec![
            TestRequest::post().uri("/signin?return_to=%2Fbalance&code=GIFT-20"),
        ]);
        let access = lines.last().expect("an access line");
        assert!(access.starts_with("  INFO request{request_id="), "{access}");
        assert!(
            access.contains(
                "storecredit::telemetry::access_log: request method=POST path=\"/signin\" status=303 micros="
            ),
            "{access}"
        );
        assert!(
            !lines
                .iter()
                .any(|line| line.contains("GIFT-20") || line.contains("return_to"))
        );
    }

    #[test]
    fn a_confirmation_links_token_is_never_logged() {
        let lines = lines_for(vec![
            TestRequest::get().uri("/register/confirm/Abcdefghijklmnopqrstuvwxyz012345"),
        ]);
        let access = lines.last().expect("an access line");
        assert!(access.contains("path=\"/register/confirm/\""), "{access}");
        assert!(
            !lines.iter().any(|line| line.contains("Abcdefghij")),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_download_links_signature_is_never_logged() {
        let signature = "5ca1ab1e".repeat(8);
        let lines = lines_for(vec![TestRequest::get().uri(&format!(
            "/library/42/download?expires=1700000600&signature={signature}"
        ))]);
        let access = lines.last().expect("an access line");
        assert!(access.contains("path=\"/library/42/download\""), "{access}");
        assert!(
            !lines
                .iter()
                .any(|line| line.contains("5ca1ab1e") || line.contains("expires")),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_reset_links_token_is_never_logged() {
        let lines = lines_for(vec![
            TestRequest::get().uri("/password/reset/Abcdefghijklmnopqrstuvwxyz012345"),
        ]);
        let access = lines.last().expect("an access line");
        assert!(access.contains("path=\"/password/reset/\""), "{access}");
        assert_eq!(
            loggable("/mail/unsubscribe/Abcdefghijklmnopqrstuvwxyz012345"),
            "/mail/unsubscribe/"
        );
        assert_eq!(
            loggable("/mail/resubscribe/Abcdefghijklmnopqrstuvwxyz012345"),
            "/mail/resubscribe/"
        );
        assert!(
            !lines.iter().any(|line| line.contains("Abcdefghij")),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_line_logged_while_handling_a_request_carries_its_request_id() {
        let lines = lines_for(vec![
            TestRequest::post().uri("/signin"),
            TestRequest::post().uri("/signin"),
        ]);
        assert_eq!(lines.len(), 4, "{lines:#?}");
        let ids: Vec<&str> = lines.iter().map(|line| request_id(line).expect(line)).collect();
        assert!(lines[0].ends_with("signed in"), "{lines:#?}");
        assert_eq!(ids[0], ids[1], "the handler's line and its access line");
        assert_eq!(ids[2], ids[3]);
        assert_ne!(ids[0], ids[2], "each request has its own id");
    }

    #[test]
    fn a_line_from_an_instrumented_function_carries_the_request_id_and_its_own_span() {
        let lines = lines_for(vec![TestRequest::get().uri("/account")]);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        let id = request_id(&lines[2]).expect("the access line has the id");
        assert!(
            lines[0].starts_with(&format!("  INFO {id}}}:look_up{{account=7}}: ")),
            "{lines:#?}"
        );
        assert!(lines[0].ends_with(": looked up"), "{lines:#?}");
        assert_eq!(request_id(&lines[1]), Some(id), "{lines:#?}");
    }

    #[test]
    fn lines_carry_the_request_id_whatever_the_level() {
        let lines = lines_at("warn", vec![TestRequest::get().uri("/account")]);
        let line = only_line(lines);
        assert!(line.starts_with("  WARN request{request_id="), "{line}");
        assert!(line.ends_with("account shown"), "{line}");
    }

    #[test]
    fn a_server_error_is_logged_as_an_error() {
        let line = only_line(lines_for(vec![TestRequest::get().uri("/broken")]));
        assert!(line.starts_with(" ERROR request{request_id="), "{line}");
        assert!(line.contains("path=\"/broken\" status=500"), "{line}");
    }

    #[test]
    fn a_client_error_is_one_info_line() {
        let line = only_line(lines_for(vec![TestRequest::get().uri("/nowhere")]));
        assert!(line.starts_with("  INFO "), "{line}");
        assert!(line.contains("method=GET path=\"/nowhere\" status=404"), "{line}");
    }

    #[test]
    fn an_error_in_place_of_a_response_is_logged_with_its_status() {
        let line = only_line(lines_for(vec![TestRequest::get().uri("/admin/users")]));
        assert!(
            line.contains("method=GET path=\"/admin/users\" status=403"),
            "{line}"
        );
    }

    #[test]
    fn with_metrics_a_request_is_counted_by_its_route_pattern_never_its_path() {
        let metrics = Metrics::on().unwrap();
        actix_web::rt::System::new().block_on(async {
            let app = init_service(
                App::new().service(
                    web::scope("")
                        .wrap(AccessLog::with_metrics(metrics.clone()))
                        .route("/orders/{id}", web::get().to(account))
                        .service(web::scope("/admin").wrap(from_fn(refuse)))
                        .default_service(web::to(HttpResponse::NotFound)),
                ),
            )
            .await;
            for path in ["/orders/7", "/orders/8", "/admin/users", "/nowhere", "/else"] {
                let _ = app.call(TestRequest::get().uri(path).to_request()).await;
            }
        });
        let text = metrics.render().unwrap();
        for counted in [
            r#"storecredit_http_requests_total{method="GET",route="/orders/{id}",status="200"} 2"#,
            r#"storecredit_http_requests_total{method="GET",route="unmatched",status="404"} 2"#,
            r#"storecredit_http_request_duration_seconds_count{method="GET",route="/orders/{id}"} 2"#,
        ] {
            assert!(text.contains(counted), "{counted} in {text}");
        }
        assert!(text.contains(r#"status="403""#), "{text}");
        assert!(!text.contains("/orders/7") && !text.contains("nowhere"), "{text}");
    }

    #[test]
    fn a_request_given_up_before_its_answer_is_logged_as_499() {
        let lines = lines_logged(|| {
            actix_web::rt::System::new().block_on(async {
                let app = init_service(
                    App::new()
                        .wrap(AccessLog::default())
                        .route("/slow", web::get().to(never)),
                )
                .await;
                let answer = app.call(TestRequest::get().uri("/slow").to_request());
                // Polled once, as the server does, then dropped: the client left.
                assert!(futures::FutureExt::now_or_never(answer).is_none());
            });
        });
        let line = only_line(lines);
        assert!(line.starts_with("  INFO request{request_id="), "{line}");
        assert!(line.contains("method=GET path=\"/slow\" status=499"), "{line}");
    }
}
