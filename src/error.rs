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
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
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

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    heading: &'a str,
    message: &'a str,
}

impl AppError {
    fn heading_and_message(&self) -> (&'static str, String) {
        match self {
            AppError::NotFound => (
                "We couldn't find that page",
                "The page may have moved, or the link may be mistyped.".into(),
            ),
            AppError::BadRequest(reason) => ("We couldn't understand that request", reason.clone()),
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
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::CsrfRejected => StatusCode::FORBIDDEN,
            AppError::SignInRequired(_) => StatusCode::SEE_OTHER,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
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
        let status = self.status_code();
        let (heading, message) = self.heading_and_message();
        let page = ErrorPage {
            chrome: Chrome::neutral(),
            status: status.as_u16(),
            heading,
            message: &message,
        };
        match page.render() {
            Ok(html) => HttpResponse::build(status)
                .insert_header((
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ))
                .body(html),
            Err(e) => {
                tracing::error!(error = ?e, "could not render the error page");
                HttpResponse::build(status).body(heading)
            }
        }
    }
}
