//! When the database is away: `/readyz` says so, pages answer 503 with
//! `Retry-After` rather than hang or fail, and everything comes back by itself.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use storecredit::config::DatabaseLocation;

use crate::helpers::spawn_app;
use crate::support::Engine;
use crate::support::database::off_the_runtime;

#[actix_web::test]
async fn readyz_answers_200_while_the_database_answers() {
    let Some(app) = spawn_app().await else { return };
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ready");
}

/// The database refusing connections (as while it restarts), then taking them again.
fn allow_connections(database: &str, allowed: bool) {
    let server = std::env::var(storecredit::store::test_postgres::SERVER_VARIABLE).unwrap();
    let database = database.to_owned();
    off_the_runtime(move || {
        let mut client = postgres::Client::connect(&server, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS {allowed}"))
            .unwrap();
        if !allowed {
            client
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&database],
                )
                .unwrap();
        }
    });
}

#[actix_web::test]
async fn while_postgresql_is_away_pages_answer_503_and_come_back_by_themselves() {
    if crate::ENGINE != Engine::Postgres {
        return; // an SQLite file has no server to lose
    }
    let Some(app) = spawn_app().await else { return };
    assert_eq!(app.get("/store/music").await.status(), StatusCode::OK);
    let shopper = app.new_browser();
    shopper.sign_in_as_demo().await;
    assert_eq!(shopper.get("/balance").await.status(), StatusCode::OK);
    let DatabaseLocation::Postgres(url) = &app.database else {
        panic!("a PostgreSQL database")
    };
    let name = url.expose().rsplit('/').next().unwrap().to_owned();

    allow_connections(&name, false);
    // A signed-in shopper's session cannot be read either: the same 503.
    let popup = shopper.get("/balance").await;
    assert_eq!(popup.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(popup.headers()["retry-after"], "5");
    // With every page's security headers.
    for name in [
        "content-security-policy",
        "x-content-type-options",
        "cache-control",
    ] {
        assert!(
            popup.headers().contains_key(name),
            "{name}: {:?}",
            popup.headers()
        );
    }
    let page = popup.text().await.unwrap();
    assert!(page.contains("reach our records right now"), "{page}");
    assert!(page.contains("<html"), "the styled page: {page}");
    for path in ["/store/music", "/store/music", "/readyz"] {
        let started = Instant::now();
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(response.headers()["retry-after"], "5", "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{path} took {:?}",
            started.elapsed()
        );
        if path != "/readyz" {
            let page = response.text().await.unwrap();
            assert!(page.contains("reach our records right now"), "{page}");
            assert!(page.contains("Please try again in a few seconds"), "{page}");
        }
    }

    allow_connections(&name, true);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = app.get("/store/music").await.status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "the store did not come back");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    // Still signed in: the outage lost no session.
    let deadline = Instant::now() + Duration::from_secs(30);
    while shopper.get("/balance").await.status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "the pop-up did not come back");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}
