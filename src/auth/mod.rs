//! Who is asking: password hashing, server-side sessions, CSRF tokens, device cookies and the
//! signed-in guard.

pub mod client_address;
pub mod csrf;
pub mod device;
pub mod download_links;
pub mod password;
pub mod session_store;
pub mod throttle;
pub mod totp;

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::domain::{LocalPath, UserId};
use crate::error::AppError;
use session_store::{CREDENTIALS_VERSION_KEY, USER_ID_KEY};

const NAME_KEY: &str = "name";

/// A signed-in shopper. As a handler argument it guards the route: a signed-out
/// request is answered with a 303 to the sign-in form, which returns here after.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: UserId,
    pub name: String,
}

impl SignedIn {
    fn from_session(session: &Session) -> Option<SignedIn> {
        let user_id = session.get::<i64>(USER_ID_KEY).ok().flatten()?;
        let name = session.get::<String>(NAME_KEY).ok().flatten().unwrap_or_default();
        Some(SignedIn {
            user_id: UserId(user_id),
            name,
        })
    }
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Ready<Result<SignedIn, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(SignedIn::from_session(&request.get_session()).ok_or_else(|| {
            let here = request.uri().path_and_query().map(|pq| pq.as_str());
            AppError::SignInRequired(LocalPath::or_home(here))
        }))
    }
}

/// Starts a signed-in session: a new session id (so a planted or stolen pre-sign-in
/// id is worthless) and a new CSRF token. `credentials_version` is the version of
/// the account's password that was just checked: should the password change
/// before the session is stored, none is.
pub fn sign_in(
    session: &Session,
    user_id: UserId,
    name: &str,
    credentials_version: i64,
) -> Result<(), AppError> {
    session.renew();
    session
        .insert(USER_ID_KEY, user_id.0)
        .and_then(|()| session.insert(NAME_KEY, name))
        .and_then(|()| session.insert(CREDENTIALS_VERSION_KEY, credentials_version))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot store the session: {e}")))?;
    csrf::rotate(session)?;
    Ok(())
}

/// Ends the session on the server: its row is deleted, so a copy of the old cookie
/// opens nothing.
pub fn sign_out(session: &Session) {
    session.purge();
}

/// The page where a reset token sets a new password, as a link for mail or an
/// operator: `{origin}/password/reset/{token}`.
pub fn reset_link(origin: &str, token: &str) -> String {
    format!("{origin}/password/reset/{token}")
}

/// The signed-in shopper, if any, without guarding the route.
pub fn viewer(request: &HttpRequest) -> Option<SignedIn> {
    SignedIn::from_session(&request.get_session())
}
