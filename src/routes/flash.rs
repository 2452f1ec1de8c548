//! One-time messages carried across a redirect (post → 303 → get), in the session.

use actix_session::Session;

const KEY: &str = "flash";

/// Leaves a message for the next page this shopper sees.
pub fn set(session: &Session, message: &str) {
    if let Err(e) = session.insert(KEY, message) {
        tracing::warn!(error = %e, "could not store a flash message");
    }
}

/// The waiting message, if any; it is shown once. With none waiting the session is
/// left untouched, so the page view writes nothing.
pub fn take(session: &Session) -> Option<String> {
    if !session.contains_key(KEY) {
        return None;
    }
    session.remove_as::<String>(KEY).and_then(Result::ok)
}
