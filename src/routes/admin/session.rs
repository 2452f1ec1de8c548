//! Console sessions: their own cookie (path `/admin`, `HttpOnly`,
//! `SameSite=Strict`, `Secure` with the `__Secure-` prefix when the site's cookies
//! are secure), kept apart from the shopper's session, and the middleware that
//! opens one for each `/admin` request.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};
use subtle::ConstantTimeEq;

use super::ConsoleSession;
use crate::clock::Clock;
use crate::error::AppError;
use crate::routes::blocking;
use crate::store::Store;

/// The console cookie's name and whether it is `Secure`.
#[derive(Debug, Clone)]
pub struct ConsoleCookie {
    name: &'static str,
    secure: bool,
}

impl ConsoleCookie {
    /// `secure` as for the shopper's cookie (see `CookieSecurity`).
    pub fn new(secure: bool) -> ConsoleCookie {
        ConsoleCookie {
            name: if secure {
                "__Secure-storecredit-console"
            } else {
                "storecredit-console"
            },
            secure,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The cookie that carries a new session's token: no `Max-Age`, so it goes
    /// with the browser; the server ends the session sooner.
    pub fn carrying(&self, token: &str) -> Cookie<'static> {
        Cookie::build(self.name, token.to_owned())
            .path("/admin")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Strict)
            .finish()
    }

    /// The cookie that makes the browser forget it.
    pub fn removal(&self) -> Cookie<'static> {
        let mut cookie = self.carrying("");
        cookie.make_removal();
        cookie
    }

    /// The session token the request carries.
    pub fn token(&self, request: &HttpRequest) -> Option<String> {
        request
            .cookie(self.name)
            .map(|cookie| cookie.value().to_owned())
            .filter(|token| !token.is_empty() && token.len() <= 128)
    }
}

/// Whether `path` is the console's.
pub fn is_console_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// Middleware: for a request to `/admin…` with a console cookie, loads its
/// session on the blocking pool (ended, idle for 15 minutes, older than 12 hours,
/// its member disabled or changed since: none), moves its idle expiry on, and puts
/// the [`ConsoleSession`] into the request's extensions for [`super::Staff`].
/// Outside `/admin` the console cookie opens nothing.
pub async fn load_console_session(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if is_console_path(request.path()) {
        let cookie = request.app_data::<web::Data<ConsoleCookie>>().cloned();
        let store = request.app_data::<web::Data<Store>>().cloned();
        let clock = request.app_data::<web::Data<Clock>>().cloned();
        if let (Some(cookie), Some(store), Some(clock)) = (cookie, store, clock)
            && let Some(token) = cookie.token(request.request())
        {
            let (store, now) = (store.get_ref().clone(), clock.now());
            let found = blocking(move || store.console_session(&token, now)).await?;
            if let Some(found) = found {
                request.extensions_mut().insert(ConsoleSession {
                    member: found.member,
                    csrf_token: found.csrf_token,
                });
            }
        }
    }
    next.call(request).await
}

/// Accepts a console form only when its `csrf_token` equals the session's
/// (compared in constant time); anything else is a 403 and nothing changes.
pub fn verify_csrf(session_token: &str, submitted: &str) -> Result<(), AppError> {
    if !submitted.is_empty() && bool::from(session_token.as_bytes().ct_eq(submitted.as_bytes())) {
        Ok(())
    } else {
        Err(AppError::CsrfRejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_cookie_is_strict_http_only_and_scoped_to_the_console() {
        for (secure, name) in [
            (true, "__Secure-storecredit-console"),
            (false, "storecredit-console"),
        ] {
            let cookie = ConsoleCookie::new(secure).carrying("token");
            assert_eq!(cookie.name(), name);
            assert_eq!(cookie.path(), Some("/admin"));
            assert_eq!(cookie.http_only(), Some(true));
            assert_eq!(cookie.same_site(), Some(SameSite::Strict));
            assert_eq!(cookie.secure(), Some(secure));
        }
    }

    #[test]
    fn only_console_paths_are_the_consoles() {
        assert!(is_console_path("/admin"));
        assert!(is_console_path("/admin/customers"));
        assert!(!is_console_path("/administrator"));
        assert!(!is_console_path("/balance"));
    }

    #[test]
    fn a_console_form_needs_the_sessions_token_exactly() {
        assert!(verify_csrf("abc", "abc").is_ok());
        assert!(verify_csrf("abc", "abd").is_err());
        assert!(verify_csrf("abc", "").is_err());
        assert!(verify_csrf("", "").is_err());
    }
}
