//! The headers every response carries (SPEC §4): the security headers on pages and
//! assets alike, and `no-store` on pages.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;

/// Headers every response carries, security ones above all.
pub type CommonHeaders = Arc<[(HeaderName, HeaderValue)]>;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Headers every response carries (SPEC §4), pages and assets alike.
pub fn common_headers(secure: bool) -> CommonHeaders {
    let mut headers = vec![
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
        (header::CROSS_ORIGIN_OPENER_POLICY, "same-origin-allow-popups"),
    ];
    if secure {
        headers.push((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"));
    }
    headers
        .into_iter()
        .map(|(name, value)| (name, HeaderValue::from_static(value)))
        .collect()
}

/// The common headers on every page, and `Cache-Control: no-store` unless a
/// handler says otherwise: pages are personal and change with every purchase.
pub fn page_headers(common: &CommonHeaders) -> DefaultHeaders {
    common
        .iter()
        .cloned()
        .fold(DefaultHeaders::new(), |headers, header| headers.add(header))
        .add((header::CACHE_CONTROL, "no-store"))
}
