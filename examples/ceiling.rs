//! The benchmark's ceiling: actix-web answering `Hello, World!` in plain text on
//! the same machine, so the store's figures can be read as a share of it.
//!
//! `cargo run --release --example ceiling -- 127.0.0.1:8090`

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    HttpServer::new(|| {
        App::new().route(
            "/",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/plain")
                    .body("Hello, World!")
            }),
        )
    })
    .bind(bind)?
    .run()
    .await
}
