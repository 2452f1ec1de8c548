//! `GET /`: the store front.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Chrome, blocking, html};
use crate::domain::Categories;
use crate::error::AppError;
use crate::store::Store;
use crate::store::catalog::Product;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    categories: std::sync::Arc<Categories>,
    products: Vec<Product>,
}

pub async fn show(chrome: Chrome, store: web::Data<Store>) -> Result<HttpResponse, AppError> {
    let categories = store.categories();
    let store = store.get_ref().clone();
    let products = blocking(move || store.featured_products()).await?;
    html(&HomePage {
        chrome,
        categories,
        products,
    })
}
