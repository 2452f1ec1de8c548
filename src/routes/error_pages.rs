//! Error pages with the asker's header: a handler's `AppError` is first drawn with
//! a neutral header (its `ResponseError` cannot see the request); this middleware,
//! inside the session middleware, draws it again with who is signed in, and a
//! refused form gets a link back to it. A response that is not an error passes
//! through untouched, with no allocation: every page goes through here.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::{Error, FromRequest};

use super::Chrome;
use crate::error::AppError;

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
    if matches!(error, AppError::SignInRequired(_)) {
        return response.map_into_left_body();
    }
    let request = response.request();
    let Ok(chrome) = Chrome::from_request(request, &mut Payload::None).into_inner() else {
        return response.map_into_left_body();
    };
    // Every form posts to a page that shows it, except the sign-out button.
    let form = (request.method() == Method::POST && request.path() != "/signout").then(|| request.path());
    let page = error.page(chrome, form);
    response.into_response(page).map_into_right_body()
}
