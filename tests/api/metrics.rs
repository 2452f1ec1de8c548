//! Prometheus metrics on `--metrics-bind` (SPEC §6 "Many servers"): served apart
//! from the site, counting what this app answered.

use reqwest::StatusCode;
use storecredit::store::throttle::ThrottleRule;
use time::Duration;

use crate::helpers::*;

/// A book in the demo catalog that the demo account's credit pays for.
const BOOK: &str = "The Cartographer's Daughter";

async fn spawn_app_with_metrics() -> Option<TestApp> {
    spawn_app_with(|settings| {
        settings.metrics_bind = Some("127.0.0.1:0".to_owned());
        // One failed sign-in per account, so the second is throttled.
        settings.throttle.signin_per_account = ThrottleRule {
            max_attempts: 1,
            window: Duration::minutes(15),
        };
    })
    .await
}

/// The text a scrape of the metrics address gets.
async fn scrape(app: &TestApp) -> String {
    let address = app.metrics_address.as_ref().expect("metrics are served");
    let response = reqwest::get(format!("{address}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// The value of the sample whose name and labels are `series`, exactly.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
}

#[actix_web::test]
async fn a_scrape_counts_requests_by_route_pattern_and_status_and_times_them() {
    let Some(app) = spawn_app_with_metrics().await else {
        return;
    };
    for _ in 0..3 {
        assert_eq!(app.get(HELP_PATH).await.status(), StatusCode::OK);
    }
    // Signed out, an order's page sends to sign-in: counted under its pattern.
    for order in ["/orders/123456", "/orders/654321"] {
        assert_eq!(app.get(order).await.status(), StatusCode::SEE_OTHER);
    }
    for nowhere in ["/no-such-page", "/wp-login.php"] {
        assert_eq!(app.get(nowhere).await.status(), StatusCode::NOT_FOUND);
    }

    let text = scrape(&app).await;

    let requests = |route: &str, status: u16| {
        sample(
            &text,
            &format!(r#"storecredit_http_requests_total{{method="GET",route="{route}",status="{status}"}}"#),
        )
    };
    assert_eq!(requests(HELP_PATH, 200), Some(3.0), "{text}");
    assert_eq!(requests("/orders/{id}", 303), Some(2.0), "{text}");
    assert_eq!(requests("unmatched", 404), Some(2.0), "{text}");
    assert!(
        !text.contains("123456") && !text.contains("no-such-page"),
        "paths are never labels: {text}"
    );
    let latency =
        format!(r#"storecredit_http_request_duration_seconds_count{{method="GET",route="{HELP_PATH}"}}"#);
    assert_eq!(sample(&text, &latency), Some(3.0), "{text}");
    let slowest = format!(
        r#"storecredit_http_request_duration_seconds_bucket{{method="GET",route="{HELP_PATH}",le="+Inf"}}"#
    );
    assert_eq!(sample(&text, &slowest), Some(3.0), "{text}");
    assert!(
        text.contains("# TYPE storecredit_http_request_duration_seconds histogram"),
        "{text}"
    );
}

#[actix_web::test]
async fn a_scrape_counts_failed_sign_ins_throttled_answers_and_orders_placed_once() {
    let Some(app) = spawn_app_with_metrics().await else {
        return;
    };
    let before = scrape(&app).await;
    assert_eq!(
        sample(&before, "storecredit_orders_placed_total"),
        Some(0.0),
        "{before}"
    );

    let wrong = app.sign_in("nobody@example.com", "not-the-password", "/").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let throttled = app.sign_in("nobody@example.com", "not-the-password", "/").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    app.sign_in_as_demo().await;
    let book = app.product_id(BOOK);
    let form = app.checkout_form(book).await;
    let fields = [
        ("csrf_token", form.csrf_token.as_str()),
        ("idempotency_key", form.key.as_str()),
    ];
    for _ in 0..2 {
        // The second is a replay of the first: the same order.
        let placed = app.post_form(&format!("/checkout/{book}"), &fields).await;
        assert_eq!(placed.status(), StatusCode::SEE_OTHER);
    }

    let text = scrape(&app).await;

    assert_eq!(
        sample(&text, "storecredit_sign_in_failures_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"storecredit_throttled_total{what="sign_in"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "storecredit_orders_placed_total"),
        Some(1.0),
        "{text}"
    );
    let signins = |status: u16| {
        sample(
            &text,
            &format!(r#"storecredit_http_requests_total{{method="POST",route="/signin",status="{status}"}}"#),
        )
    };
    assert_eq!(
        (signins(401), signins(429), signins(303)),
        (Some(1.0), Some(1.0), Some(1.0)),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"storecredit_http_requests_total{method="POST",route="/checkout/{product_id}",status="303"}"#
        ),
        Some(2.0),
        "{text}"
    );
}

/// The store's connections show at every scrape; retries count up on PostgreSQL
/// when orders race (SQLite's single writer never retries).
#[actix_web::test]
async fn a_scrape_shows_the_database_connections_and_retries() {
    let Some(app) = spawn_app_with_metrics().await else {
        return;
    };
    app.get("/store/music").await;
    let text = scrape(&app).await;
    let in_use = sample(&text, r#"storecredit_db_connections{state="in_use"}"#);
    let idle = sample(&text, r#"storecredit_db_connections{state="idle"}"#);
    assert!(in_use.is_some_and(|n| n >= 0.0), "{text}");
    assert!(idle.is_some_and(|n| n >= 1.0), "{text}");
    assert_eq!(
        sample(&text, "storecredit_db_requests_waiting"),
        Some(0.0),
        "{text}"
    );
    assert!(
        sample(&text, "storecredit_db_transaction_retries_total").is_some_and(|n| n >= 0.0),
        "{text}"
    );
}

/// The outbox shows at every scrape: what waits, what this server sent, and
/// tries that failed.
#[actix_web::test]
async fn a_scrape_counts_the_mail_sent_and_waiting() {
    let Some(app) = spawn_app_with_metrics().await else {
        return;
    };
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "storecredit_mail_sent_total"), Some(0.0), "{text}");
    assert_eq!(sample(&text, "storecredit_mail_waiting"), Some(0.0), "{text}");
    assert_eq!(
        sample(&text, r#"storecredit_mail_failed_tries_total{again="yes"}"#),
        Some(0.0),
        "{text}"
    );

    app.sign_in_as_demo().await;
    let bought = app.buy(app.product_id(BOOK), &[]).await;
    assert_eq!(bought.status(), StatusCode::SEE_OTHER);
    app.mail_to(DEMO_EMAIL).await;

    // The sign-in from a new browser and the order: two messages. A file is
    // written a moment before its message is marked sent.
    let queued = app.sql_rows("SELECT kind FROM outbox").len();
    assert_eq!(queued, 2);
    let mut text = scrape(&app).await;
    for _ in 0..100 {
        if sample(&text, "storecredit_mail_sent_total") == Some(2.0) {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        text = scrape(&app).await;
    }
    assert_eq!(sample(&text, "storecredit_mail_sent_total"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "storecredit_mail_waiting"), Some(0.0), "{text}");
}

#[actix_web::test]
async fn the_public_address_has_no_metrics() {
    let Some(app) = spawn_app_with_metrics().await else {
        return;
    };
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    assert!(scrape(&app).await.contains("storecredit_http_requests_total"));
}

#[actix_web::test]
async fn without_a_metrics_address_no_metrics_are_served() {
    let Some(app) = spawn_app().await else { return };
    assert_eq!(app.metrics_address, None, "nothing listens for metrics");
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}
