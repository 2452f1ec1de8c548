//! Error pages with the asker's header: a handler's `AppError` is first drawn with
//! a neutral header (its `ResponseError` cannot see the request); this middleware,
//! inside the session middleware, draws it again with who is signed in, and a
//! refused form gets a link back to it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpResponse};

use super::Chrome;
use crate::error::AppError;

pub async fn with_header(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(request).await?.map_into_boxed_body();
    let Some(error) = response.response().error().and_then(|e| e.as_error::<AppError>()) else {
        return Ok(response);
    };
    if matches!(error, AppError::SignInRequired(_)) {
        return Ok(response);
    }
    let request = response.request();
    let Ok(chrome) = Chrome::from_request(request, &mut Payload::None).await else {
        return Ok(response);
    };
    // Every form posts to a page that shows it, except the sign-out button.
    let form = (request.method() == Method::POST && request.path() != "/signout").then(|| request.path());
    let page: HttpResponse = error.page(chrome, form);
    let (request, old) = response.into_parts();
    let mut page = page;
    // Headers other middleware set on the way out (none yet: we are inside them).
    for (name, value) in old.headers() {
        if !page.headers().contains_key(name) {
            page.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(request, page))
}
