//! CSRF protection: a per-session secret token that every POST form carries back.

use actix_session::Session;
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
