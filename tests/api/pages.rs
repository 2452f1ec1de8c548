//! Every page: the store front, errors, headers, assets and health (SPEC §3, §4).

use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn the_store_front_links_to_the_help_page_and_every_department() {
    let Some(app) = spawn_app().await else { return };
    let html = app.get_html("/").await;
    assert!(html.contains("href=\"/help/digital-music-credit\""));
    for category in ["music", "kindle", "video", "software"] {
        assert!(
            html.contains(&format!("href=\"/store/{category}\"")),
            "{category}"
        );
    }
    assert!(html.contains("data-product-id="));
    assert!(html.contains("Hello, sign in"));
}

#[actix_web::test]
async fn an_unknown_page_is_a_styled_404() {
    let Some(app) = spawn_app().await else { return };
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = response.text().await.unwrap();
    assert!(html.contains("find that page"));
    assert!(html.contains("/static/css/site.css"));
}

#[actix_web::test]
async fn a_wrong_method_is_a_styled_405() {
    let Some(app) = spawn_app().await else { return };
    let response = app.post_form("/balance", &[]).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(response.text().await.unwrap().contains("available here"));
}

#[actix_web::test]
async fn an_oversized_form_is_a_413_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let token = app.csrf_token("/signin").await;
    let huge = "x".repeat(20 * 1024);
    let response = app
        .post_form(
            "/signin",
            &[("email", &huge), ("password", "p"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.get("/balance").await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_post_that_is_not_a_form_is_a_styled_400() {
    let Some(app) = spawn_app().await else { return };
    let token = app.csrf_token("/signin").await;
    let body = format!(r#"{{"email":"{DEMO_EMAIL}","password":"{DEMO_PASSWORD}","csrf_token":"{token}"}}"#);
    let response = app
        .client
        .post(app.url("/signin"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("could not be read"));
    assert_eq!(app.get("/balance").await.status(), StatusCode::SEE_OTHER);
}

/// Broken percent-encoding is decoded leniently (`%ZZ` stays as typed), so such a
/// form reaches the checks that matter: here the token, which it fails.
#[actix_web::test]
async fn a_form_with_broken_percent_encoding_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.get("/signin").await;
    let response = app
        .client
        .post(app.url("/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=%ZZ&password=%&csrf_token=%FF%FE")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("<h1"));
}

#[actix_web::test]
async fn every_page_carries_the_security_headers() {
    let Some(app) = spawn_app().await else { return };
    let paths = [
        "/",
        HELP_PATH,
        "/signin",
        "/no/such/page",
        "/healthz",
        "/static/css/site.css",
        "/static/js/site.js",
    ];
    for path in paths {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("permissions-policy"), "{path}");
        for directive in ["form-action 'self'", "base-uri 'none'", "object-src 'none'"] {
            assert!(csp.contains(directive), "{path}: {directive}");
        }
        assert!(headers.get("server").is_none(), "{path}: no version banner");
    }
}

#[actix_web::test]
async fn signed_in_pages_are_never_cached() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    for path in ["/", HELP_PATH, "/balance"] {
        let response = app.get(path).await;
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
}

#[actix_web::test]
async fn assets_are_fingerprinted_cached_for_good_and_revalidated_by_etag() {
    let Some(app) = spawn_app().await else { return };
    let html = app.get_html("/").await;
    let start = html.find("/static/css/site.css?v=").unwrap();
    let end = start + html[start..].find('"').unwrap();
    let stylesheet = &html[start..end];

    let response = app.get(stylesheet).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(response.text().await.unwrap().contains(".balances"));

    let revalidated = app
        .client
        .get(app.url("/static/css/site.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        app.get("/static/css/nope.css").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/static/../Cargo.toml").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn the_favicon_is_an_icon_not_a_404() {
    let Some(app) = spawn_app().await else { return };
    let response = app.get("/favicon.ico").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/x-icon");
    assert!(response.headers().get("set-cookie").is_none());
    let icon = response.bytes().await.unwrap();
    assert!(icon.starts_with(&[0, 0, 1, 0]), "an ICO file");
    assert!(
        app.get_html("/")
            .await
            .contains("<link rel=\"icon\" href=\"/favicon.ico\">"),
        "pages name it"
    );
}

#[actix_web::test]
async fn assets_set_no_cookie_and_answer_other_methods_with_a_styled_405() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    for path in ["/static/css/site.css", "/static/js/site.js"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers().get("set-cookie").is_none(), "{path}");
        assert_ne!(response.headers()["cache-control"], "no-store", "{path}");
    }
    // The page middleware (session, cross-site check) is not in front of the assets,
    // so their own answers to odd requests must still be the styled, headed kind.
    let posted = app
        .client
        .post(app.url("/static/css/site.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(posted.headers()["allow"], "GET, HEAD");
    assert_eq!(posted.headers()["x-frame-options"], "DENY");
    assert!(posted.text().await.unwrap().contains("<h1"));
    let head = app
        .client
        .head(app.url("/static/js/site.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(head.bytes().await.unwrap().is_empty());
}

#[actix_web::test]
async fn health_answers_ok_when_the_database_does() {
    let Some(app) = spawn_app().await else { return };
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[actix_web::test]
async fn browsers_that_accept_gzip_get_the_assets_compressed() {
    let Some(app) = spawn_app().await else { return };
    let plain = app.get("/static/css/site.css").await;
    let plain_length = plain.bytes().await.unwrap().len();
    let zipped = app
        .client
        .get(app.url("/static/css/site.css"))
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "Accept-Encoding");
    let body = zipped.bytes().await.unwrap();
    assert!(body.len() * 2 < plain_length, "{} vs {plain_length}", body.len());
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut unzipped).unwrap();
    assert!(unzipped.contains(".balances"));
    let refused = app
        .client
        .get(app.url("/static/css/site.css"))
        .header("accept-encoding", "gzip;q=0, identity")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
}

#[actix_web::test]
async fn error_pages_keep_the_header_of_who_is_signed_in() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let html = missing.text().await.unwrap();
    assert!(html.contains("Hello, Demo Shopper"), "{html}");
    assert!(html.contains("find that page"));
}

#[actix_web::test]
async fn a_refused_form_leads_back_to_itself() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let product = app.product_id("Lanterns Over Harbor Street");
    let path = format!("/checkout/{product}");
    let refused = app
        .post_form(
            &path,
            &[("csrf_token", "stale"), ("idempotency_key", "k-0123456789abcdef")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains(&format!("href=\"{path}\">Back to the form")),
        "{html}"
    );
    assert!(html.contains("Hello, Demo Shopper"));
}
