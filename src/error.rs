//! AppError: every way a request can fail, and the styled page each one gets.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::domain::LocalPath;
use crate::routes::Chrome;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("the form's security token is missing or stale")]
    CsrfRejected,
    #[error("sign-in required")]
    SignInRequired(LocalPath),
    #[error("the password reset link is unknown, used or expired")]
    ResetLinkUnusable,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too busy to check passwords right now")]
    Busy,
    #[error("too many attempts ({what:?}); retry in {retry_after_seconds} s")]
    TooManyAttempts { retry_after_seconds: i64, what: Limited },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        AppError::Internal(error.into())
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
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    heading: &'a str,
    message: &'a str,
    /// A way on that fits the error (besides the store front): `(href, text)`.
    way_on: Option<(String, &'a str)>,
}

impl AppError {
    /// Where a shopper who hit this error most likely wants to go next.
    fn way_on(&self) -> Option<(&'static str, &'static str)> {
        match self {
            AppError::TooManyAttempts {
                what: Limited::SignIn,
                ..
            } => Some(("/password/forgot", "Forgot your password?")),
            AppError::ResetLinkUnusable => Some(("/password/forgot", "Get a new reset link")),
            _ => None,
        }
    }

    fn heading_and_message(&self) -> (&'static str, String) {
        match self {
            AppError::NotFound => (
                "We couldn't find that page",
                "The page may have moved, or the link may be mistyped.".into(),
            ),
            AppError::BadRequest(reason) => ("We couldn't understand that request", reason.clone()),
            AppError::ResetLinkUnusable => (
                "This link no longer works",
                "A password reset link works once, for 30 minutes. Ask for a new one and use the latest e-mail."
                    .into(),
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
            AppError::SignInRequired(_) => ("Please sign in", "Sign in to continue.".into()),
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
                    Limited::Registrations => (
                        "Too many new accounts",
                        format!(
                            "Many accounts were opened from your network recently. Please try again in {wait}."
                        ),
                    ),
                }
            }
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
            AppError::NotFound | AppError::ResetLinkUnusable => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::CsrfRejected => StatusCode::FORBIDDEN,
            AppError::SignInRequired(_) => StatusCode::SEE_OTHER,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::SignInRequired(return_to) = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, return_to.signin_url()))
                .finish();
        }
        if let AppError::Internal(cause) = self {
            tracing::error!(error = ?cause, "request failed");
        }
        // Pages' errors are drawn again with the asker's header (`routes::error_pages`).
        self.page(Chrome::neutral(), None)
    }
}

impl AppError {
    /// The styled error page, with `chrome` for its header and `form` (a form's
    /// address) to lead back to when a form was refused.
    pub fn page(&self, chrome: Chrome, form: Option<&str>) -> HttpResponse {
        let status = self.status_code();
        let (heading, message) = self.heading_and_message();
        let mut response = HttpResponse::build(status);
        match self {
            AppError::TooManyAttempts {
                retry_after_seconds, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.max(&1).to_string()));
            }
            AppError::Busy => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        let page = ErrorPage {
            chrome,
            status: status.as_u16(),
            heading,
            message: &message,
            way_on: match (self, form) {
                (AppError::CsrfRejected, Some(form)) => Some((form.to_owned(), "Back to the form")),
                _ => self.way_on().map(|(href, text)| (href.to_owned(), text)),
            },
        };
        match page.render() {
            Ok(html) => response
                .insert_header((
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ))
                .body(html),
            Err(e) => {
                tracing::error!(error = ?e, "could not render the error page");
                response.body(heading)
            }
        }
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
