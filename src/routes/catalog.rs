//! `GET /store`, `GET /store/{category}`, `GET /products/{id}`: the catalog.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Chrome, blocking, html};
use crate::domain::{Categories, Category};
use crate::error::AppError;
use crate::store::Store;
use crate::store::catalog::Product;

#[derive(Template)]
#[template(path = "store.html")]
struct StorePage {
    chrome: Chrome,
    heading: String,
    categories: std::sync::Arc<Categories>,
    current: Option<Category>,
    products: Vec<Product>,
}

async fn listing(
    chrome: Chrome,
    store: web::Data<Store>,
    category: Option<Category>,
) -> Result<HttpResponse, AppError> {
    let categories = store.categories();
    let store = store.get_ref().clone();
    let id = category.as_ref().map(Category::id);
    let products = blocking(move || store.products_in(id)).await?;
    html(&StorePage {
        chrome,
        heading: category
            .as_ref()
            .map_or_else(|| "All departments".to_owned(), |c| c.label().to_owned()),
        categories,
        current: category,
        products,
    })
}

pub async fn everything(chrome: Chrome, store: web::Data<Store>) -> Result<HttpResponse, AppError> {
    listing(chrome, store, None).await
}

pub async fn department(
    chrome: Chrome,
    store: web::Data<Store>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let category = store
        .categories()
        .by_slug(&slug)
        .filter(|category| !category.is_hidden())
        .cloned()
        .ok_or(AppError::NotFound)?;
    listing(chrome, store, Some(category)).await
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    chrome: Chrome,
    product: Product,
}

pub async fn product(
    chrome: Chrome,
    store: web::Data<Store>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (store, id) = (store.get_ref().clone(), id.into_inner());
    let product = blocking(move || store.product(id))
        .await?
        .ok_or(AppError::NotFound)?;
    if !product.on_sale() {
        return Err(AppError::NotForSale);
    }
    html(&ProductPage { chrome, product })
}
