//! The stylesheet and script, compiled into the binary and served from memory with
//! fingerprinted URLs, so browsers cache them for a year and refetch only when the
//! file changes. A gzip copy of each is made once at start and sent to browsers
//! that accept it (all do): a quarter of the bytes on every first visit. The icon
//! is served the same way at `/favicon.ico`, where browsers look for it.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use flate2::Compression;
use flate2::write::GzEncoder;

use super::{Chrome, error_pages};
use crate::error::AppError;

pub use super::headers::CommonHeaders;

struct Asset {
    /// Where it is served: `/static/css/site.css`, `/favicon.ico`.
    route: String,
    content_type: HeaderValue,
    body: Bytes,
    gzipped: Bytes,
    fingerprint: String,
    url: String,
    /// Each encoding is its own representation, with its own strong ETag.
    etag: HeaderValue,
    etag_gzip: HeaderValue,
}

impl Asset {
    fn new(path: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
        Asset::at(format!("/static/{path}"), content_type, body)
    }

    fn at(route: String, content_type: &'static str, body: &'static [u8]) -> Asset {
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let fingerprint = format!("{:016x}", hasher.finish());
        let url = format!("{route}?v={fingerprint}");
        let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::best());
        encoder.write_all(body).expect("compressing into memory");
        let gzipped = Bytes::from(encoder.finish().expect("compressing into memory"));
        let etag = |suffix: &str| {
            HeaderValue::from_str(&format!("\"{fingerprint}{suffix}\""))
                .expect("hex digits are a valid header")
        };
        Asset {
            route,
            content_type: HeaderValue::from_static(content_type),
            body: Bytes::from_static(body),
            gzipped,
            etag: etag(""),
            etag_gzip: etag("-gz"),
            fingerprint,
            url,
        }
    }
}

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        Asset::new(
            "css/site.css",
            "text/css; charset=utf-8",
            include_bytes!("../../static/css/site.css"),
        ),
        Asset::new(
            "js/site.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../static/js/site.js"),
        ),
    ]
});

/// The icon, at the one URL every browser asks for whether or not a page links it.
static FAVICON: LazyLock<Asset> = LazyLock::new(|| {
    Asset::at(
        "/favicon.ico".to_owned(),
        "image/x-icon",
        include_bytes!("../../static/favicon.ico"),
    )
});

/// The stylesheet's fingerprinted URL. Like the script's, it holds no character
/// HTML would escape (tested): pages write it as it is.
pub fn stylesheet_url() -> &'static str {
    &ASSETS[0].url
}

pub fn script_url() -> &'static str {
    &ASSETS[1].url
}

/// The stylesheet's and the script's routes. They are served outside the pages'
/// middleware (see `startup`): no session to load, no form to check, no request
/// id or access line (a `debug` line instead); the common headers are added here
/// from values made once.
///
/// Each path is its own resource: the router compares plain strings, where a
/// pattern (`/static/{file:.+}`) or a resource with several paths runs a regular
/// expression on every request.
pub fn configure(config: &mut web::ServiceConfig, common: CommonHeaders) {
    for asset in ASSETS.iter().chain([&*FAVICON]) {
        let common = common.clone();
        config.service(
            web::resource(asset.route.as_str()).to(move |request: HttpRequest| {
                let response = serve(&request, asset, &common);
                async move { response }
            }),
        );
    }
}

const CACHE_FOR_GOOD: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
const REVALIDATE: HeaderValue = HeaderValue::from_static("public, no-cache");
const ACCEPT_ENCODING: HeaderValue = HeaderValue::from_static("Accept-Encoding");
const GZIP: HeaderValue = HeaderValue::from_static("gzip");
const ALLOWED: HeaderValue = HeaderValue::from_static("GET, HEAD");

fn serve(request: &HttpRequest, asset: &Asset, common: &[(HeaderName, HeaderValue)]) -> HttpResponse {
    // Asset fetches are not access-logged at the default level: they are the same
    // two files over and over, and browsers fetch them once a year per URL.
    tracing::debug!(method = %request.method(), path = request.path(), "asset");
    let head = request.method() == Method::HEAD;
    if request.method() != Method::GET && !head {
        let mut refused = error_pages::page(&AppError::MethodNotAllowed, Chrome::neutral(), None);
        refused.headers_mut().insert(header::ALLOW, ALLOWED);
        return with_common(refused, common);
    }
    let gzip = accepts_gzip(request);
    let etag = if gzip { &asset.etag_gzip } else { &asset.etag };
    // A URL with the current fingerprint never changes meaning: cache it for good.
    // Any other URL is revalidated by ETag.
    let cache_control = if version(request.query_string()) == Some(asset.fingerprint.as_str()) {
        CACHE_FOR_GOOD
    } else {
        REVALIDATE
    };
    let unchanged = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim().as_bytes() == etag.as_bytes())
        });
    let (status, body) = match (unchanged, gzip) {
        (true, _) => (StatusCode::NOT_MODIFIED, Bytes::new()),
        (false, true) => (StatusCode::OK, asset.gzipped.clone()),
        (false, false) => (StatusCode::OK, asset.body.clone()),
    };
    let mut response = HttpResponse::with_body(status, body);
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag.clone());
    headers.insert(header::CACHE_CONTROL, cache_control);
    headers.insert(header::VARY, ACCEPT_ENCODING);
    if !unchanged {
        headers.insert(header::CONTENT_TYPE, asset.content_type.clone());
        if gzip {
            headers.insert(header::CONTENT_ENCODING, GZIP);
        }
    }
    with_common(response.map_into_boxed_body(), common)
}

fn with_common(mut response: HttpResponse, common: &[(HeaderName, HeaderValue)]) -> HttpResponse {
    let headers = response.headers_mut();
    for (name, value) in common {
        headers.insert(name.clone(), value.clone());
    }
    response
}

/// The `v` parameter of the query string, where the fingerprint goes.
fn version(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| pair.strip_prefix("v="))
}

/// Whether `Accept-Encoding` lists gzip (and does not refuse it with `q=0`).
fn accepts_gzip(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "").eq_ignore_ascii_case("q=0"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_hold_no_character_html_would_escape() {
        for url in [stylesheet_url(), script_url()] {
            assert!(url.starts_with("/static/"), "{url}");
            assert!(!url.contains(['<', '>', '&', '"', '\'']), "{url}");
        }
    }
}
