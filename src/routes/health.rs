//! `GET /healthz`: whether the database answers.

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
