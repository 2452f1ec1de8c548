//! The stylesheet and script, compiled into the binary and served from memory with
//! fingerprinted URLs, so browsers cache them for a year and refetch only when the
//! file changes. A gzip copy of each is made once at start and sent to browsers
//! that accept it (all do): a quarter of the bytes on every first visit.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::sync::LazyLock;

use actix_web::http::header::{self, ETag, EntityTag, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::AppError;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    gzipped: Bytes,
    fingerprint: String,
    url: String,
}

impl Asset {
    fn new(path: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let fingerprint = format!("{:016x}", hasher.finish());
        let url = format!("/static/{path}?v={fingerprint}");
        let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::best());
        encoder.write_all(body).expect("compressing into memory");
        let gzipped = Bytes::from(encoder.finish().expect("compressing into memory"));
        Asset {
            path,
            content_type,
            body,
            gzipped,
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

pub fn stylesheet_url() -> &'static str {
    &ASSETS[0].url
}

pub fn script_url() -> &'static str {
    &ASSETS[1].url
}

#[derive(serde::Deserialize)]
pub struct Version {
    v: Option<String>,
}

pub async fn serve(
    request: HttpRequest,
    file: web::Path<String>,
    version: web::Query<Version>,
) -> Result<HttpResponse, AppError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.path == file.as_str())
        .ok_or(AppError::NotFound)?;
    let gzip = accepts_gzip(&request);
    // Each encoding is its own representation, with its own strong ETag.
    let etag = EntityTag::new_strong(if gzip {
        format!("{}-gz", asset.fingerprint)
    } else {
        asset.fingerprint.clone()
    });
    // A URL with the current fingerprint never changes meaning: cache it for good.
    // Any other URL is revalidated by ETag.
    let cache_control = if version.v.as_deref() == Some(asset.fingerprint.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, no-cache"
    };
    let unchanged = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag.to_string()));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(ETag(etag))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(cache_control)))
        .insert_header((header::VARY, HeaderValue::from_static("Accept-Encoding")));
    if unchanged {
        return Ok(response.finish());
    }
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)));
    if gzip {
        response.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
        return Ok(response.body(asset.gzipped.clone()));
    }
    Ok(response.body(asset.body))
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
