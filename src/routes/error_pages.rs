//! The styled error page, and the middleware that draws it with the asker's header.
//!
//! An `AppError`'s own `ResponseError` cannot see the request, so it answers with
//! its status and plain text; this middleware, inside the session middleware,
//! draws the page over it with who is signed in, and a refused form gets a link
//! back to it. A response that is not an error passes through untouched, with no
//! allocation: every page goes through here. Outside the session middleware, a
//! request whose session could not be read for want of a database gets the same
//! page, with the neutral header.
//!
//! Under `/admin` the same errors are drawn in the console's layout (with its
//! sections when a console session is present), so staff never land in the
//! shop's header.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::http::header::{CACHE_CONTROL, ContentType, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpResponse, ResponseError, web};
use askama::Template;

use super::Chrome;
use super::admin::ConsoleChrome;
use super::admin::session::is_console_path;
use super::headers::CommonHeaders;
use crate::auth::session_store::noting_unreachable_sessions;
use crate::error::{AppError, Limited};
use crate::store::StoreError;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    heading: &'a str,
    message: &'a str,
    /// A way on that fits the error (besides the store front): `(href, text)`.
    way_on: Option<(&'a str, &'a str)>,
}

/// The same page in the console's layout, for an error under `/admin`.
#[derive(Template)]
#[template(path = "admin/error.html")]
struct ConsoleErrorPage<'a> {
    chrome: ConsoleChrome,
    status: u16,
    heading: &'a str,
    message: &'a str,
    way_on: Option<(&'a str, &'a str)>,
}

/// The styled page for `error`, with `chrome` for its header and `form` (a form's
/// address) to lead back to when a form was refused; the status and headers are
/// the error's own ([`AppError::response_head`]).
pub fn page(error: &AppError, chrome: Chrome, form: Option<&str>) -> HttpResponse {
    let (heading, message) = error.heading_and_message();
    let page = ErrorPage {
        chrome,
        status: error.status_code().as_u16(),
        heading,
        message: &message,
        way_on: match (error, form) {
            (AppError::CsrfRejected, Some(form)) => Some((form, "Back to the form")),
            _ => way_on(error),
        },
    };
    respond(error, heading, page.render())
}

/// The styled page for an error under `/admin`, in the console's layout, with
/// `form` to lead back to when a form was refused; else the way on is the
/// console's home (or its sign-in, for someone not signed in to it).
pub fn console_page(error: &AppError, chrome: ConsoleChrome, form: Option<&str>) -> HttpResponse {
    let (heading, message) = error.heading_and_message();
    let home = if chrome.member.is_some() {
        ("/admin", "Go to the console's dashboard")
    } else {
        ("/admin/signin", "Go to the staff sign-in")
    };
    let page = ConsoleErrorPage {
        status: error.status_code().as_u16(),
        heading,
        message: &message,
        way_on: match (error, form) {
            (AppError::CsrfRejected, Some(form)) => Some((form, "Back to the form")),
            _ => Some(home),
        },
        chrome,
    };
    respond(error, heading, page.render())
}

fn respond(error: &AppError, heading: &str, html: askama::Result<String>) -> HttpResponse {
    let mut response = error.response_head();
    match html {
        Ok(html) => response.content_type(ContentType::html()).body(html),
        Err(e) => {
            tracing::error!(error = ?e, "could not render the error page");
            response.body(heading.to_owned())
        }
    }
}

/// Where a shopper who hit this error most likely wants to go next.
fn way_on(error: &AppError) -> Option<(&'static str, &'static str)> {
    match error {
        AppError::TooManyAttempts {
            what: Limited::SignIn,
            ..
        } => Some(("/password/forgot", "Forgot your password?")),
        AppError::ResetLinkUnusable => Some(("/password/forgot", "Get a new reset link")),
        AppError::ConfirmationLinkUnusable => Some(("/register", "Register again")),
        AppError::DownloadLinkExpired
        | AppError::FileUnavailable
        | AppError::TooManyAttempts {
            what: Limited::Downloads,
            ..
        } => Some(("/library", "Go to Your library")),
        AppError::RefundedItem => Some(("/orders", "See your orders")),
        _ => None,
    }
}

pub struct ErrorPages;

impl<S, B> Transform<S, ServiceRequest> for ErrorPages
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ErrorPagesMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ErrorPagesMiddleware { service }))
    }
}

#[doc(hidden)]
pub struct ErrorPagesMiddleware<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for ErrorPagesMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Redrawn<S::Future>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        Redrawn {
            response: self.service.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    #[doc(hidden)]
    pub struct Redrawn<F> {
        #[pin]
        response: F,
    }
}

impl<F, B> Future for Redrawn<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = std::task::ready!(self.project().response.poll(cx))?;
        Poll::Ready(Ok(redraw(response)))
    }
}

fn redraw<B>(response: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    let Some(error) = response.response().error().and_then(|e| e.as_error::<AppError>()) else {
        return response.map_into_left_body();
    };
    if matches!(
        error,
        AppError::SignInRequired(_) | AppError::ConsoleSignInRequired(_)
    ) {
        return response.map_into_left_body();
    }
    let request = response.request();
    let page = if is_console_path(request.path()) {
        // Most console forms post to an action's address (`…/adjust`), not to
        // a page that shows them; the sign-in and enrolment forms do.
        let form = (request.method() == Method::POST
            && (request.path() == "/admin/signin" || request.path().starts_with("/admin/enrol/")))
        .then(|| request.path());
        console_page(error, ConsoleChrome::of_request(request), form)
    } else {
        let chrome = Chrome::from_request(request, &mut Payload::None)
            .into_inner()
            .unwrap_or_else(|_| Chrome::neutral());
        // Every form of the shop posts to a page that shows it, except the
        // sign-out button.
        let form = (request.method() == Method::POST && request.path() != "/signout").then(|| request.path());
        page(error, chrome, form)
    };
    response.into_response(page).map_into_right_body()
}

/// Outside the session layer: a request whose session could not be read or
/// written because the database is away answers the styled 503 with
/// `Retry-After`, as every page does then, instead of the session layer's bare
/// 500 (with the neutral header: who is asking is what could not be read).
pub async fn answer_503_when_sessions_are_unreachable(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Answered as an error, this page passes no outer middleware: it carries the
    // pages' headers itself.
    let common = request.app_data::<web::Data<CommonHeaders>>().cloned();
    let console = is_console_path(request.path());
    match noting_unreachable_sessions(next.call(request)).await {
        (Err(_), true) => {
            let error = AppError::Unavailable(StoreError::Unreachable(
                "a session could not be read or written".to_owned(),
            ));
            tracing::warn!(error = %error, "answered 503");
            let mut response = if console {
                console_page(&error, ConsoleChrome::signed_out(), None)
            } else {
                page(&error, Chrome::neutral(), None)
            };
            let headers = response.headers_mut();
            for (name, value) in common.iter().flat_map(|common| common.iter()) {
                headers.insert(name.clone(), value.clone());
            }
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Err(actix_web::error::InternalError::from_response(error, response).into())
        }
        (outcome, _) => outcome,
    }
}
