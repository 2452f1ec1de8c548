//! `GET /healthz` and `GET /readyz`: whether the database answers, for whoever
//! watches the process, and for a load balancer choosing where to send requests.

use actix_web::{HttpResponse, web};

use crate::store::Store;

pub async fn check(store: web::Data<Store>) -> HttpResponse {
    let store = store.get_ref().clone();
    let healthy = web::block(move || store.is_healthy()).await.unwrap_or(false);
    if healthy {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ok")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body("database unavailable")
    }
}

/// 200 only while the database answers; otherwise 503 with `Retry-After`, so a load
/// balancer sends requests elsewhere until it does again.
pub async fn ready(store: web::Data<Store>) -> HttpResponse {
    let store = store.get_ref().clone();
    let ready = web::block(move || store.is_healthy()).await.unwrap_or(false);
    if ready {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "5"))
            .content_type("text/plain; charset=utf-8")
            .body("not ready: the database does not answer")
    }
}
