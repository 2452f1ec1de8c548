//! HTTP: one module per page. Each handler parses its input into domain types,
//! calls the store on the blocking pool ([`blocking`]; or, for the few reads
//! [`Store::on_worker`](crate::store::Store::on_worker) offers, right on the
//! worker) and fills its askama template.

pub mod account;
pub mod admin;
pub mod assets;
pub mod balance;
pub mod breakdown;
pub mod catalog;
pub mod checkout;
pub mod error_pages;
pub mod flash;
pub mod gift_cards;
pub mod headers;
pub mod health;
pub mod help;
pub mod home;
pub mod library;
pub mod orders;
pub mod password;
pub mod password_reset;
pub mod redeem;
pub mod register;
pub mod reminders;
pub mod signin;
pub mod signout;

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth;
use crate::domain::{Categories, LocalPath};
use crate::error::AppError;
use crate::store::Store;

/// What the shared layout (`base.html`) needs on every page: who is signed in,
/// the sign-out form's CSRF token and the asset URLs.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub viewer_name: Option<String>,
    pub csrf_token: String,
    /// The sign-in link in the header, returning to the page it was clicked on.
    pub signin_url: String,
    /// Error pages don't know who is asking, so they show no account corner.
    pub show_account: bool,
    pub stylesheet: &'static str,
    pub script: &'static str,
    /// The demo account exists, so the sign-in page may show its credentials.
    pub demo: bool,
    /// The departments of the navigation.
    pub departments: Arc<Categories>,
}

impl Chrome {
    pub fn neutral() -> Chrome {
        Chrome {
            viewer_name: None,
            csrf_token: String::new(),
            signin_url: "/signin".to_owned(),
            show_account: false,
            stylesheet: assets::stylesheet_url(),
            script: assets::script_url(),
            demo: false,
            departments: Arc::default(),
        }
    }

    pub fn is_signed_in(&self) -> bool {
        self.viewer_name.is_some()
    }
}

impl FromRequest for Chrome {
    type Error = AppError;
    type Future = Ready<Result<Chrome, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let build = || {
            let viewer = auth::viewer(request);
            let csrf_token = match viewer {
                Some(_) => auth::csrf::token(&request.get_session())?,
                None => String::new(),
            };
            let here = request.uri().path_and_query().map(|pq| pq.as_str());
            // A page whose address is a secret (a password reset, registration
            // confirmation or unsubscribe link's token) is never carried into the
            // sign-in link, where it would reach logs and the next page's Referer.
            let signin_url = match here {
                Some(path)
                    if !path.starts_with("/signin")
                        && !path.starts_with("/password/reset/")
                        && !path.starts_with("/register/confirm/")
                        && !path.starts_with("/mail/") =>
                {
                    LocalPath::or_home(Some(path)).signin_url()
                }
                _ => "/signin".to_owned(),
            };
            Ok(Chrome {
                viewer_name: viewer.map(|v| v.name),
                csrf_token,
                signin_url,
                show_account: true,
                demo: request
                    .app_data::<web::Data<SiteOptions>>()
                    .is_some_and(|site| site.demo),
                departments: departments(request),
                ..Chrome::neutral()
            })
        };
        ready(build())
    }
}

/// The store's departments, for the navigation.
fn departments(request: &HttpRequest) -> Arc<Categories> {
    request
        .app_data::<web::Data<Store>>()
        .map(|store| store.categories())
        .unwrap_or_default()
}

/// `?return_to=` on the sign-in and registration forms: where to go afterwards,
/// honoured only when it is a [`LocalPath`].
#[derive(serde::Deserialize)]
pub struct ReturnTo {
    pub return_to: Option<String>,
}

/// `?before=ID` on a history page: show what is older than that entry.
#[derive(serde::Deserialize)]
pub struct Older {
    pub before: Option<i64>,
}

/// How many entries a history page shows (SPEC §7).
pub const PAGE_SIZE: usize = 20;

/// Facts about this deployment that pages mention.
#[derive(Debug, Clone, Copy)]
pub struct SiteOptions {
    pub demo: bool,
}

/// Runs store work on the blocking thread pool, off the async executor: every
/// [`Store`](crate::store::Store) method may wait on a lock or the disk.
pub async fn blocking<T, E>(work: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, AppError>
where
    T: Send + 'static,
    E: Into<AppError> + Send + 'static,
{
    web::block(work).await?.map_err(Into::into)
}

/// Amounts are written only with digits, `$`, `,` and `.` (see its `Display`):
/// templates need not escape them character by character.
impl askama::filters::HtmlSafe for crate::domain::Money {}

/// A rendered page with status 200.
pub fn html(page: &impl Template) -> Result<HttpResponse, AppError> {
    render_with_status(page, StatusCode::OK)
}

/// A rendered page with another status: a form shown again with what was wrong.
pub fn render_with_status(page: &impl Template, status: StatusCode) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(page.render()?))
}

/// Post/Redirect/Get: after a form is handled, the browser is sent on to `location`
/// with a `303`, so reloading the next page never submits the form again.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// "That code…" from "that code…": refusals read as sentences on a page.
pub fn capitalise(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Wires every route; unknown paths get the styled 404, known paths asked with the
/// wrong method the styled 405.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(page("/").route(web::get().to(home::show)))
        .service(page("/help/digital-music-credit").route(web::get().to(help::show)))
        .service(
            page("/signin")
                .route(web::get().to(signin::show))
                .route(web::post().to(signin::submit)),
        )
        .service(page("/signout").route(web::post().to(signout::submit)))
        .service(
            page("/register")
                .route(web::get().to(register::show))
                .route(web::post().to(register::submit)),
        )
        .service(
            page("/register/confirm/{token}")
                .route(web::get().to(register::confirm_form))
                .route(web::post().to(register::confirm)),
        )
        .service(
            page("/account/password")
                .route(web::get().to(password::show))
                .route(web::post().to(password::submit)),
        )
        .service(
            page("/password/forgot")
                .route(web::get().to(password_reset::forgot_form))
                .route(web::post().to(password_reset::request_link)),
        )
        .service(
            page("/password/reset/{token}")
                .route(web::get().to(password_reset::reset_form))
                .route(web::post().to(password_reset::reset)),
        )
        .service(page("/balance").route(web::get().to(balance::show)))
        .service(page("/store").route(web::get().to(catalog::everything)))
        .service(page("/store/{category}").route(web::get().to(catalog::department)))
        .service(page("/products/{id}").route(web::get().to(catalog::product)))
        .service(
            page("/redeem")
                .route(web::get().to(redeem::show))
                .route(web::post().to(redeem::submit)),
        )
        .service(
            page("/checkout/{product_id}")
                .route(web::get().to(checkout::show))
                .route(web::post().to(checkout::submit)),
        )
        .service(
            page("/gift-cards")
                .route(web::get().to(gift_cards::show))
                .route(web::post().to(gift_cards::submit)),
        )
        .service(page("/orders").route(web::get().to(orders::list)))
        .service(page("/orders/{id}").route(web::get().to(orders::receipt)))
        .service(page("/library").route(web::get().to(library::list)))
        .service(page("/library/{order_id}/download").route(web::get().to(library::download)))
        .service(page("/account/credit").route(web::get().to(account::credit_activity)))
        .service(page("/account/discounts").route(web::get().to(account::discounts)))
        .service(page("/account/reminders").route(web::post().to(reminders::set_from_account)))
        .service(
            page("/mail/unsubscribe/{token}")
                .route(web::get().to(reminders::ask))
                .route(web::post().to(reminders::unsubscribe)),
        )
        .service(page("/mail/resubscribe/{token}").route(web::post().to(reminders::resubscribe)))
        .service(
            page("/account/payment")
                .route(web::get().to(account::payment))
                .route(web::post().to(account::set_payment)),
        )
        .configure(admin::configure)
        .service(page("/healthz").route(web::get().to(health::check)))
        .service(page("/readyz").route(web::get().to(health::ready)));
}

pub(crate) fn page(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<HttpResponse, _>(AppError::MethodNotAllowed)
    }))
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
