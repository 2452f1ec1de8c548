//! AppError: every way a request can fail, with its status and its words for people.
//!
//! Its `ResponseError` answers with the status and a plain-text body; pages draw the
//! styled error page with the asker's header over it (`routes::error_pages`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};

use crate::domain::LocalPath;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// A product staff have taken off the shelves: its page, and its checkout.
    #[error("not for sale")]
    NotForSale,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("the form's security token is missing or stale")]
    CsrfRejected,
    #[error("sign-in required")]
    SignInRequired(LocalPath),
    /// A console page asked without a console session: to the console's sign-in.
    #[error("console sign-in required")]
    ConsoleSignInRequired(LocalPath),
    /// A staff member's role does not allow this: what it would have needed.
    #[error("forbidden: needs permission to {0}")]
    Forbidden(&'static str),
    /// Above a staff member's limit (a support grant): what the limit is.
    #[error("over the limit: {0}")]
    OverLimit(String),
    #[error("the password reset link is unknown, used or expired")]
    ResetLinkUnusable,
    #[error("the registration confirmation link is unknown, used or expired")]
    ConfirmationLinkUnusable,
    /// A genuine download link whose ten minutes are over.
    #[error("the download link has expired")]
    DownloadLinkExpired,
    /// A download of an order refunded in full: access has ended.
    #[error("the item was refunded")]
    RefundedItem,
    /// A library item whose product has no file to serve (none named, or missing).
    #[error("the item's file is not available")]
    FileUnavailable,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too busy to check passwords right now")]
    Busy,
    #[error("the database is unavailable: {0}")]
    Unavailable(StoreError),
    #[error("too many attempts ({what:?}); retry in {retry_after_seconds} s")]
    TooManyAttempts { retry_after_seconds: i64, what: Limited },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            AppError::Unavailable(error)
        } else {
            AppError::Internal(error.into())
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        AppError::Internal(error.into())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        AppError::Internal(error.into())
    }
}

/// Which throttled action a 429 refused, for its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// Sign-ins and current-password checks.
    SignIn,
    /// Codes typed at `/redeem` or at checkout.
    Codes,
    /// New accounts.
    Registrations,
    /// "Forgot your password?" requests.
    PasswordResets,
    /// Downloads of one library item in a day.
    Downloads,
}

impl AppError {
    /// The answer's status and the headers that go with it (when to retry a 429 or
    /// a 503), for a body to be added.
    pub fn response_head(&self) -> HttpResponseBuilder {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            AppError::TooManyAttempts {
                retry_after_seconds, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.max(&1).to_string()));
            }
            AppError::Busy | AppError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        response
    }

    /// The heading and the sentence under it that a person reads for this error;
    /// never the internal cause.
    pub fn heading_and_message(&self) -> (&'static str, String) {
        match self {
            AppError::NotFound => (
                "We couldn't find that page",
                "The page may have moved, or the link may be mistyped.".into(),
            ),
            AppError::NotForSale => (
                "This product is not for sale now",
                "It has been taken off the store's shelves, so it can't be bought; nothing was ordered. \
                 Your past orders and receipts still show it."
                    .into(),
            ),
            AppError::BadRequest(reason) => ("We couldn't understand that request", reason.clone()),
            AppError::ResetLinkUnusable => (
                "This link no longer works",
                "A password reset link works once, for 30 minutes. Ask for a new one and use the latest e-mail."
                    .into(),
            ),
            AppError::ConfirmationLinkUnusable => (
                "This link no longer works",
                "A link to confirm your e-mail address works once, for 24 hours: this one has expired or was \
                 already used. Register again to get a new one, or sign in if your account was made."
                    .into(),
            ),
            AppError::DownloadLinkExpired => (
                "This download link has expired",
                "A download link works for 10 minutes. Get a fresh link from Your library.".into(),
            ),
            AppError::RefundedItem => (
                "This item was refunded",
                "Its order was refunded in full, so it is no longer in your library and can't be downloaded."
                    .into(),
            ),
            AppError::FileUnavailable => (
                "This item's file isn't available",
                "We have no file to download for it right now. Please try again later.".into(),
            ),
            AppError::CsrfRejected => (
                "This form has expired",
                "For your security we could not accept it. Go back, reload the page and try again.".into(),
            ),
            AppError::PayloadTooLarge => (
                "That was more than we can accept",
                "The form you sent was too large. Please shorten it and try again.".into(),
            ),
            AppError::MethodNotAllowed => (
                "That action isn't available here",
                "Use the buttons and links on the page.".into(),
            ),
            AppError::SignInRequired(_) | AppError::ConsoleSignInRequired(_) => {
                ("Please sign in", "Sign in to continue.".into())
            }
            AppError::OverLimit(why) => ("That is above your limit", why.clone()),
            AppError::Forbidden(needs) => (
                "Your role does not allow this",
                format!("Only staff who may {needs} can do this. Nothing was changed."),
            ),
            AppError::Busy => (
                "We're very busy right now",
                "Too many people are signing in at once. Please try again in a few seconds.".into(),
            ),
            AppError::TooManyAttempts {
                retry_after_seconds,
                what,
            } => {
                let wait = wait_in_words(*retry_after_seconds);
                match what {
                    Limited::SignIn => (
                        "Too many sign-in attempts",
                        format!(
                            "There have been too many attempts for this account or from your network, so sign-ins and password changes are paused for a while. Please try again in {wait}."
                        ),
                    ),
                    Limited::Codes => (
                        "Too many code attempts",
                        format!(
                            "To protect gift cards and promotions we have paused code entry for a while. Please try again in {wait}."
                        ),
                    ),
                    Limited::PasswordResets => (
                        "Too many reset requests",
                        format!(
                            "We have sent as many password reset links as we safely can for now. Check your inbox (and spam folder) for the last one, or try again in {wait}."
                        ),
                    ),
                    Limited::Downloads => (
                        "Daily download limit reached",
                        format!(
                            "Each item in your library can be downloaded 20 times in any 24 hours. You can download it again in {}.",
                            long_wait_in_words(*retry_after_seconds)
                        ),
                    ),
                    Limited::Registrations => (
                        "Too many new accounts",
                        format!(
                            "Many registrations came from your network or for this e-mail address recently. If you registered, look in your inbox (and spam folder) for our message, or try again in {wait}."
                        ),
                    ),
                }
            }
            AppError::Unavailable(_) => (
                "We can't reach our records right now",
                "Nothing was changed. Please try again in a few seconds.".into(),
            ),
            AppError::Internal(_) => (
                "Something went wrong on our side",
                "Nothing was changed. Please try again in a moment.".into(),
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound
            | AppError::NotForSale
            | AppError::ResetLinkUnusable
            | AppError::ConfirmationLinkUnusable
            | AppError::FileUnavailable => StatusCode::NOT_FOUND,
            AppError::DownloadLinkExpired | AppError::RefundedItem => StatusCode::GONE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::CsrfRejected | AppError::Forbidden(_) | AppError::OverLimit(_) => StatusCode::FORBIDDEN,
            AppError::SignInRequired(_) | AppError::ConsoleSignInRequired(_) => StatusCode::SEE_OTHER,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy | AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::SignInRequired(return_to) = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, return_to.signin_url()))
                .finish();
        }
        if let AppError::ConsoleSignInRequired(return_to) = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, return_to.console_signin_url()))
                .finish();
        }
        if let AppError::Internal(cause) = self {
            tracing::error!(error = ?cause, "request failed");
        }
        if let AppError::Unavailable(cause) = self {
            tracing::warn!(error = %cause, "the database is unavailable; answered 503");
        }
        let (heading, message) = self.heading_and_message();
        self.response_head()
            .content_type(ContentType::plaintext())
            .body(format!("{heading}\n\n{message}\n"))
    }
}

/// "3 minutes", "1 minute", "45 seconds".
fn wait_in_words(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if seconds >= 60 {
        plural((seconds + 59) / 60, "minute")
    } else {
        plural(seconds.max(1), "second")
    }
}

/// "3 hours", "1 hour", else as [`wait_in_words`]: for waits that may last a day.
fn long_wait_in_words(seconds: i64) -> String {
    if seconds > 3600 {
        let hours = (seconds + 3599) / 3600;
        format!("{hours} hour{}", if hours == 1 { "" } else { "s" })
    } else {
        wait_in_words(seconds)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    async fn body_of(response: HttpResponse) -> String {
        String::from_utf8(to_bytes(response.into_body()).await.unwrap().to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn a_database_that_gives_no_connection_in_time_answers_503_with_retry_after() {
        let error = AppError::from(StoreError::PoolWait);
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "5");
        let body = body_of(response).await;
        assert!(body.starts_with("We can't reach our records right now"), "{body}");
        // A database error that is not about reaching it stays a 500.
        let corrupt = AppError::from(StoreError::Corrupt("a bad row".into()));
        assert_eq!(corrupt.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[actix_web::test]
    async fn an_internal_error_answers_500_in_plain_words_without_its_cause() {
        let error = AppError::Internal(anyhow::anyhow!("no such table: credits"));
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/plain; charset=utf-8"
        );
        let body = body_of(response).await;
        assert!(body.starts_with("Something went wrong on our side"), "{body}");
        assert!(!body.contains("credits"), "{body}");
    }

    #[actix_web::test]
    async fn too_many_attempts_says_when_to_retry_in_the_header_and_the_words() {
        let error = AppError::TooManyAttempts {
            retry_after_seconds: 125,
            what: Limited::Codes,
        };
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "125");
        assert!(body_of(response).await.contains("try again in 3 minutes"));
        let busy = AppError::Busy.error_response();
        assert_eq!(busy.headers().get(header::RETRY_AFTER).unwrap(), "5");
    }

    #[test]
    fn sign_in_required_sends_to_the_sign_in_page_with_the_way_back() {
        let error = AppError::SignInRequired(LocalPath::or_home(Some("/balance")));
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers().get(header::LOCATION).unwrap(),
            "/signin?return_to=%2Fbalance"
        );
    }
}
