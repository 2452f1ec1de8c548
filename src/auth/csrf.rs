//! CSRF protection. A signed-in shopper's forms carry a secret token kept in their
//! session. A visitor without a session has nothing stored for them: their forms
//! carry a token that also sits in a cookie signed by the server (a signed
//! double-submit cookie), so an anonymous page view writes no row.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use rand::distr::{Alphanumeric, SampleString};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::store::reminders::UnsubscribeToken;

const SESSION_KEY: &str = "csrf";

fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 43)
}

/// The session's token, made on first use.
pub fn token(session: &Session) -> Result<String, AppError> {
    match session.get::<String>(SESSION_KEY) {
        Ok(Some(token)) => Ok(token),
        _ => rotate(session),
    }
}

/// Replaces the token, as at sign-in, so a token seen before is worthless after.
pub fn rotate(session: &Session) -> Result<String, AppError> {
    let token = new_token();
    session
        .insert(SESSION_KEY, &token)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot store the CSRF token: {e}")))?;
    Ok(token)
}

/// How visitors' tokens are kept: the cookie's name and the key that signs it.
#[derive(Clone)]
pub struct VisitorTokens {
    key: Key,
    cookie_name: &'static str,
    secure: bool,
}

impl VisitorTokens {
    /// `secure`: the cookie is `Secure` and named with the `__Host-` prefix, like
    /// the session cookie.
    pub fn new(key: Key, secure: bool) -> VisitorTokens {
        VisitorTokens {
            key,
            cookie_name: if secure {
                "__Host-storecredit-csrf"
            } else {
                "storecredit-csrf"
            },
            secure,
        }
    }

    /// The token in the request's cookie, if the server signed it.
    fn in_cookie(&self, request: &HttpRequest) -> Option<String> {
        let cookie = request.cookie(self.cookie_name)?;
        let mut jar = CookieJar::new();
        jar.add_original(cookie);
        jar.signed(&self.key)
            .get(self.cookie_name)
            .map(|verified| verified.value().to_owned())
    }

    /// A new token and the signed cookie that carries it.
    fn issue(&self) -> (String, Cookie<'static>) {
        let token = new_token();
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(
            Cookie::build(self.cookie_name, token.clone())
                .path("/")
                .http_only(true)
                .secure(self.secure)
                .same_site(SameSite::Lax)
                .finish(),
        );
        let cookie = jar.get(self.cookie_name).cloned().expect("the cookie just added");
        (token, cookie)
    }
}

/// The token for a form that visitors use too (sign-in, registration): the
/// session's when signed in, else the visitor's, with the cookie to set when the
/// visitor has none yet. Send the page with [`FormToken::respond`].
pub struct FormToken {
    pub value: String,
    cookie: Option<Cookie<'static>>,
}

impl FormToken {
    /// Adds the visitor's token cookie to the page, when it is new.
    pub fn respond(self, mut page: HttpResponse) -> Result<HttpResponse, AppError> {
        if let Some(cookie) = self.cookie {
            page.add_cookie(&cookie)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot set the form cookie: {e}")))?;
        }
        Ok(page)
    }
}

impl FromRequest for FormToken {
    type Error = AppError;
    type Future = Ready<Result<FormToken, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let build = || {
            let session = request.get_session();
            if crate::auth::viewer(request).is_some() {
                return Ok(FormToken {
                    value: token(&session)?,
                    cookie: None,
                });
            }
            let tokens = visitor_tokens(request)?;
            Ok(match tokens.in_cookie(request) {
                Some(value) => FormToken { value, cookie: None },
                None => {
                    let (value, cookie) = tokens.issue();
                    FormToken {
                        value,
                        cookie: Some(cookie),
                    }
                }
            })
        };
        ready(build())
    }
}

fn visitor_tokens(request: &HttpRequest) -> Result<&VisitorTokens, AppError> {
    request
        .app_data::<web::Data<VisitorTokens>>()
        .map(|tokens| tokens.get_ref())
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("visitor CSRF tokens are not configured")))
}

fn matches(expected: &str, submitted: &str) -> bool {
    !submitted.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// For a form visitors use too: accepts the session's token, or the visitor's
/// token when it equals the one in their signed cookie. Anything else is a 403.
pub fn verify_form(request: &HttpRequest, submitted: &str) -> Result<(), AppError> {
    let session = request.get_session();
    if let Ok(Some(expected)) = session.get::<String>(SESSION_KEY)
        && matches(&expected, submitted)
    {
        return Ok(());
    }
    match visitor_tokens(request)?.in_cookie(request) {
        Some(expected) if matches(&expected, submitted) => Ok(()),
        _ => Err(AppError::CsrfRejected),
    }
}

/// Accepts a submitted token only when it equals the session's (compared in
/// constant time); anything else is a 403 and the request changes nothing.
pub fn verify(session: &Session, submitted: &str) -> Result<(), AppError> {
    match session.get::<String>(SESSION_KEY).ok().flatten() {
        Some(expected) if matches(&expected, submitted) => Ok(()),
        _ => Err(AppError::CsrfRejected),
    }
}

/// The site's own origin (`https://shop.example`) when a proxy in front rewrites
/// `Host`, so that the browser's `Origin` can no longer be compared with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicOrigin(pub Option<String>);

/// Defence in depth beside the token: a browser says where a POST comes from
/// (`Sec-Fetch-Site`, `Origin`); one from another site is refused outright. The
/// origin must be this host's, or the configured public origin. Clients that send
/// neither header still need the token.
pub fn is_cross_site(headers: &HeaderMap, public_origin: &PublicOrigin) -> bool {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    match (header("origin"), header("host")) {
        (Some(origin), _)
            if public_origin
                .0
                .as_deref()
                .is_some_and(|public| public.eq_ignore_ascii_case(origin)) =>
        {
            false
        }
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

/// Where a reminder's one-click unsubscribe link points (RFC 8058): the
/// account's token follows.
const ONE_CLICK_UNSUBSCRIBE: &str = "/mail/unsubscribe/";

/// A POST to a reminder's unsubscribe link. A mail provider sends it from its
/// own servers on the shopper's behalf (RFC 8058 one-click), with no cookies,
/// no CSRF token and any `Origin` or none, so it cannot look same-site. It is
/// let through because it spends no authority of the browser's: the token in
/// the path is the whole capability (32 random letters and digits, sent only
/// to the account's address), it can only turn reminders off, and a forged
/// one changes nothing (404). Exactly that path with a token's shape passes;
/// any other POST, resubscribing included, is judged as before.
fn is_one_click_unsubscribe(path: &str) -> bool {
    path.strip_prefix(ONE_CLICK_UNSUBSCRIBE)
        .is_some_and(|token| UnsubscribeToken::parse(token).is_some())
}

/// Middleware: refuses cross-site POSTs with a 403 before any handler runs (the
/// answer carries its `AppError`, so pages' error middleware draws it styled).
/// The one exception is [`is_one_click_unsubscribe`].
pub async fn reject_cross_site_posts(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let cross_site = request.method() == Method::POST && !is_one_click_unsubscribe(request.path()) && {
        let public_origin = request.app_data::<web::Data<PublicOrigin>>();
        let unset = PublicOrigin::default();
        is_cross_site(
            request.headers(),
            public_origin.map_or(&unset, |origin| origin.get_ref()),
        )
    };
    if cross_site {
        tracing::warn!(
            path = crate::telemetry::loggable(request.path()),
            "cross-site POST refused"
        );
        return Ok(request
            .error_response(AppError::CsrfRejected)
            .map_into_right_body());
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

    fn is_cross_site_here(headers: &HeaderMap) -> bool {
        is_cross_site(headers, &PublicOrigin::default())
    }

    #[test]
    fn behind_a_proxy_that_rewrites_host_the_public_origin_passes() {
        let public = PublicOrigin(Some("https://shop.example".to_owned()));
        let proxied = |origin: &'static str| headers(&[("origin", origin), ("host", "10.0.0.5:8080")]);
        assert!(!is_cross_site(&proxied("https://shop.example"), &public));
        assert!(is_cross_site(&proxied("https://evil.example"), &public));
        assert!(is_cross_site(&proxied("http://shop.example"), &public));
        assert!(is_cross_site(
            &proxied("https://shop.example"),
            &PublicOrigin::default()
        ));
    }

    #[test]
    fn same_origin_posts_pass() {
        assert!(!is_cross_site_here(&headers(&[])));
        assert!(!is_cross_site_here(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!is_cross_site_here(&headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(!is_cross_site_here(&headers(&[
            ("origin", "https://shop.example"),
            ("host", "shop.example")
        ])));
    }

    #[test]
    fn only_a_one_click_unsubscribe_path_with_a_tokens_shape_is_let_through() {
        let token = "aB3".repeat(11)[..32].to_owned();
        assert!(is_one_click_unsubscribe(&format!("/mail/unsubscribe/{token}")));
        for path in [
            format!("/mail/resubscribe/{token}"),
            format!("/mail/unsubscribe/{token}/"),
            format!("/mail/unsubscribe/{token}x"),
            format!("/mail/unsubscribe/{}", &token[..31]),
            format!("/mail/unsubscribe/{token}/../../account/payment"),
            format!("/mail/unsubscribe/%2e%2e{}", &token[..26]),
            format!("/x/mail/unsubscribe/{token}"),
            "/mail/unsubscribe/".to_owned(),
            "/account/payment".to_owned(),
        ] {
            assert!(!is_one_click_unsubscribe(&path), "{path}");
        }
    }

    #[test]
    fn posts_from_elsewhere_are_refused() {
        assert!(is_cross_site_here(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site_here(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(is_cross_site_here(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "shop.example")
        ])));
        assert!(is_cross_site_here(&headers(&[
            ("origin", "null"),
            ("host", "shop.example")
        ])));
        assert!(is_cross_site_here(&headers(&[
            ("origin", "https://shop.example.evil.example"),
            ("host", "shop.example")
        ])));
    }
}
