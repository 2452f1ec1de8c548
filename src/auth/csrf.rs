//! CSRF protection: a per-session secret token that every POST form carries back.

use actix_session::Session;
use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use rand::distr::{Alphanumeric, SampleString};
use subtle::ConstantTimeEq;

use crate::error::AppError;

const SESSION_KEY: &str = "csrf";

/// The session's token, made on first use (a signed-out visitor gets one when a
/// page with a form is shown).
pub fn token(session: &Session) -> Result<String, AppError> {
    match session.get::<String>(SESSION_KEY) {
        Ok(Some(token)) => Ok(token),
        _ => rotate(session),
    }
}

/// Replaces the token, as at sign-in, so a token seen before is worthless after.
pub fn rotate(session: &Session) -> Result<String, AppError> {
    let token = Alphanumeric.sample_string(&mut rand::rng(), 43);
    session
        .insert(SESSION_KEY, &token)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot store the CSRF token: {e}")))?;
    Ok(token)
}

/// Accepts a submitted token only when it equals the session's (compared in
/// constant time); anything else is a 403 and the request changes nothing.
pub fn verify(session: &Session, submitted: &str) -> Result<(), AppError> {
    let expected = session.get::<String>(SESSION_KEY).ok().flatten();
    match expected {
        Some(expected)
            if !submitted.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes())) =>
        {
            Ok(())
        }
        _ => Err(AppError::CsrfRejected),
    }
}

/// Defence in depth beside the token: a browser says where a POST comes from
/// (`Sec-Fetch-Site`, `Origin`); one from another site is refused outright. Clients
/// that send neither header still need the token.
pub fn is_cross_site(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            origin_host != Some(host)
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Middleware: refuses cross-site POSTs with the styled 403 before any handler
/// runs.
pub async fn reject_cross_site_posts(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if request.method() == Method::POST && is_cross_site(request.headers()) {
        tracing::warn!(path = request.path(), "cross-site POST refused");
        let response = AppError::CsrfRejected.error_response();
        return Ok(request.into_response(response).map_into_right_body());
    }
    next.call(request).await.map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn same_origin_posts_pass() {
        assert!(!is_cross_site(&headers(&[])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_cross_site(&headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(!is_cross_site(&headers(&[
            ("origin", "https://shop.example"),
            ("host", "shop.example")
        ])));
    }

    #[test]
    fn posts_from_elsewhere_are_refused() {
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(is_cross_site(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "shop.example")
        ])));
        assert!(is_cross_site(&headers(&[
            ("origin", "null"),
            ("host", "shop.example")
        ])));
        assert!(is_cross_site(&headers(&[
            ("origin", "https://shop.example.evil.example"),
            ("host", "shop.example")
        ])));
    }
}
