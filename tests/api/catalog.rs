//! The catalog pages and their markup hooks (SPEC §3).

use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn the_store_lists_every_product_with_its_hooks() {
    let Some(app) = spawn_app().await else { return };
    let html = app.get_html("/store").await;
    let count = html.matches("data-product-id=").count();
    assert!(count >= 20, "{count} products");
    let card = &html[html.find("data-product-id=").unwrap()..];
    let tag = &card[..card.find('>').unwrap()];
    assert!(tag.contains("data-category=\""), "{tag}");
    assert!(tag.contains("data-price=\""), "{tag}");
    assert!(card.contains("href=\"/products/"));
}

#[actix_web::test]
async fn a_department_lists_only_its_own_products() {
    let Some(app) = spawn_app().await else { return };
    for category in ["music", "kindle", "video", "software"] {
        let html = app.get_html(&format!("/store/{category}")).await;
        let products = html.matches("data-product-id=").count();
        let in_category = html.matches(&format!("data-category=\"{category}\"")).count();
        assert!(products >= 5, "{category}: {products}");
        assert_eq!(products, in_category, "{category}");
    }
}

#[actix_web::test]
async fn prices_carry_exact_decimal_hooks() {
    let Some(app) = spawn_app().await else { return };
    let html = app.get_html("/store/music").await;
    assert!(html.contains("data-price=\"0.99\""));
    assert!(html.contains("$0.99"));
}

#[actix_web::test]
async fn a_product_page_offers_buy_now() {
    let Some(app) = spawn_app().await else { return };
    let id = app.product_id("The Cartographer's Daughter");
    let html = app.get_html(&format!("/products/{id}")).await;
    assert!(html.contains("The Cartographer&#39;s Daughter"));
    assert!(html.contains(&format!("href=\"/checkout/{id}\"")));
    assert!(html.contains("$4.99"));
}

#[actix_web::test]
async fn unknown_departments_and_products_are_styled_404s() {
    let Some(app) = spawn_app().await else { return };
    for path in [
        "/store/books",
        "/store/MUSIC",
        "/products/999999",
        "/products/abc",
        "/products/-1",
        "/products/1.5",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            response.text().await.unwrap().contains("find that page"),
            "{path}"
        );
    }
}
