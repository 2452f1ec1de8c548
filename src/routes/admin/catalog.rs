//! `/admin/catalog` (managers, owners): the departments in display order with
//! their forms (rename, up and down, hide and show, add), the products of one
//! department or all of them (20 a page, or CSV), a product's page with its
//! forms (rename, price, hide and show, its file's upload), and adding a product.

use std::io::Write;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;
use tempfile::NamedTempFile;

use super::console_page::{
    Desk, FormProblem, Note, csv_download, filtered_href, next_page_href, verify_token, wants_csv,
};
use super::fields::{Field, field, problem_anchor};
use super::{ConsoleChrome, Staff, may};
use crate::domain::{Categories, Category, CategoryId, CategoryLabel, CategorySlug, Money, ProductText};
use crate::error::AppError;
use crate::listing::{Cell, Listing};
use crate::media::{MediaDir, safe_file_name};
use crate::routes::{PAGE_SIZE, blocking, capitalise, render_with_status};
use crate::store::catalog::{NewProduct, Product, ProductRefusal};
use crate::store::categories::{CategoryRefusal, Direction};

#[derive(Template)]
#[template(path = "admin/catalog.html")]
struct CatalogPage {
    chrome: ConsoleChrome,
    categories: Arc<Categories>,
    /// The department whose products are listed; `None` for all.
    current: Option<Category>,
    products: Vec<Product>,
    next: Option<String>,
    paged: bool,
    first_href: String,
    csv_href: String,
    notice: Option<String>,
    problem: Option<FormProblem>,
}

impl CatalogPage {
    fn field(&self, form: &str, name: &str) -> Field {
        field(self.problem.as_ref(), form, name, "")
    }

    /// The rename field of a category, with its label until a refusal.
    fn label_field(&self, category: &Category) -> Field {
        let form = format!("category-{}", category.id().get());
        field(self.problem.as_ref(), &form, "label", category.label())
    }

    /// A refusal about a category's row as a whole (a move, a hide).
    fn row_error(&self, category: &Category) -> Option<&str> {
        let form = format!("category-{}", category.id().get());
        self.problem.as_ref().and_then(|problem| problem.of_form(&form))
    }

    fn anchor(&self) -> String {
        problem_anchor(self.problem.as_ref())
    }

    fn is_first(&self, category: &Category) -> bool {
        self.categories.iter().next().map(Category::id) == Some(category.id())
    }

    fn is_last(&self, category: &Category) -> bool {
        self.categories.iter().last().map(Category::id) == Some(category.id())
    }

    fn is_current(&self, category: &Category) -> bool {
        self.current.as_ref().map(Category::id) == Some(category.id())
    }

    /// Which category the add-product form picks: what was typed, else the
    /// department listed.
    fn picked(&self, category: &Category) -> bool {
        let typed = self.field("add-product", "category").value;
        if typed.is_empty() {
            self.is_current(category)
        } else {
            typed == category.slug()
        }
    }
}

#[derive(serde::Deserialize)]
pub struct CatalogQuery {
    category: Option<String>,
    before: Option<i64>,
    format: Option<String>,
}

/// `GET /admin/catalog?category=slug`: the departments, and the products of
/// one (or all), newest first, 20 a page; `?format=csv` downloads them all.
pub async fn show(
    staff: Staff<may::Catalog>,
    desk: Desk,
    query: web::Query<CatalogQuery>,
) -> Result<HttpResponse, AppError> {
    let CatalogQuery {
        category,
        before,
        format,
    } = query.into_inner();
    let categories = desk.store.categories();
    let current = match category.as_deref().map(str::trim).filter(|slug| !slug.is_empty()) {
        None => None,
        Some(slug) => Some(categories.by_slug(slug).cloned().ok_or(AppError::NotFound)?),
    };
    if wants_csv(&staff, format.as_deref())? {
        return products_csv(&desk, current.as_ref().map(Category::id)).await;
    }
    let note = desk.waiting.clone();
    let shown = Shown {
        notice: note.map(|note| note.notice).filter(|notice| !notice.is_empty()),
        problem: None,
    };
    let mut response = catalog_page(&staff, &desk, current, before, shown, StatusCode::OK).await?;
    if desk.waiting.is_some() {
        response
            .add_cookie(&desk.notes.removal())
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(response)
}

/// Every product of the department (or all), as CSV.
async fn products_csv(desk: &Desk, category: Option<CategoryId>) -> Result<HttpResponse, AppError> {
    let store = desk.store.clone();
    let everything = blocking(move || {
        let mut all = Vec::new();
        let mut before = None;
        loop {
            let page = store.products_page(category, before, 500)?;
            all.extend(page.entries);
            match page.older {
                Some(older) => before = Some(older),
                None => return Ok::<_, crate::store::StoreError>(all),
            }
        }
    })
    .await?;
    let mut listing = Listing::new(&[
        "id", "category", "title", "creator", "format", "price", "featured", "hidden",
    ]);
    for product in everything {
        listing.push(vec![
            Cell::Count(product.id),
            Cell::text(product.category.slug()),
            Cell::text(product.title),
            Cell::text(product.creator),
            Cell::text(product.format),
            Cell::Money(product.price),
            Cell::Flag(product.featured),
            Cell::Flag(product.hidden),
        ]);
    }
    csv_download("products", &listing, desk.clock.now().date())
}

#[derive(Default)]
struct Shown {
    notice: Option<String>,
    problem: Option<FormProblem>,
}

async fn catalog_page(
    staff: &Staff<may::Catalog>,
    desk: &Desk,
    current: Option<Category>,
    before: Option<i64>,
    shown: Shown,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (store, id) = (desk.store.clone(), current.as_ref().map(Category::id));
    let page = blocking(move || store.products_page(id, before, PAGE_SIZE)).await?;
    let slug = current.as_ref().map(|category| category.slug().to_owned());
    let filters = [("category", slug.as_deref())];
    let first_href = filtered_href("/admin/catalog", &filters);
    let csv_href = filtered_href(
        "/admin/catalog",
        &[("category", slug.as_deref()), ("format", Some("csv"))],
    );
    render_with_status(
        &CatalogPage {
            chrome: ConsoleChrome::of(staff),
            categories: desk.store.categories(),
            next: page
                .older
                .map(|older| next_page_href("/admin/catalog", &filters, older)),
            products: page.entries,
            paged: before.is_some(),
            first_href,
            csv_href,
            current,
            notice: shown.notice,
            problem: shown.problem,
        },
        status,
    )
}

/// The catalog page again with `problem` (nothing changed).
async fn refused(
    staff: &Staff<may::Catalog>,
    desk: &Desk,
    problem: FormProblem,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let shown = Shown {
        problem: Some(problem),
        notice: None,
    };
    catalog_page(staff, desk, None, None, shown, status).await
}

/// The category with this number, or the 404 page.
fn category(desk: &Desk, id: i64) -> Result<Category, AppError> {
    CategoryId::new(id)
        .and_then(|id| desk.store.categories().get(id).cloned())
        .ok_or(AppError::NotFound)
}

/// A category change the store refused: the page again (409) naming why; an
/// unknown category is the 404 page.
async fn category_refused(
    staff: &Staff<may::Catalog>,
    desk: &Desk,
    form: String,
    field: Option<&'static str>,
    typed: Vec<(&'static str, String)>,
    error: CategoryRefusal,
) -> Result<HttpResponse, AppError> {
    let status = match error {
        CategoryRefusal::Store(error) => return Err(error.into()),
        CategoryRefusal::Unknown(_) => return Err(AppError::NotFound),
        CategoryRefusal::LabelTaken(..) | CategoryRefusal::SlugTaken(_) | CategoryRefusal::Full => {
            StatusCode::CONFLICT
        }
        CategoryRefusal::AlreadyFirst(_) | CategoryRefusal::AlreadyLast(_) => StatusCode::CONFLICT,
    };
    let label = match field {
        Some("slug") => "Slug: ",
        Some("label") => "Label: ",
        _ => "",
    };
    let problem = FormProblem {
        form,
        field,
        message: format!("{label}{}", capitalise(&error.to_string())),
        typed,
    };
    refused(staff, desk, problem, status).await
}

#[derive(serde::Deserialize)]
pub struct AddCategoryForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/categories` with `slug`, `label`: a department after the others.
pub async fn add_category(
    staff: Staff<may::Catalog>,
    desk: Desk,
    form: web::Form<AddCategoryForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let form = form.into_inner();
    let typed = vec![("slug", form.slug.clone()), ("label", form.label.clone())];
    let problem = |field, message: String| FormProblem {
        form: "add-category".into(),
        field: Some(field),
        message,
        typed: typed.clone(),
    };
    let slug = match CategorySlug::parse(form.slug.trim()) {
        Ok(slug) => slug,
        Err(error) => {
            let problem = problem("slug", format!("Slug: {}", capitalise(&error.to_string())));
            return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
        }
    };
    let label = match CategoryLabel::parse(&form.label) {
        Ok(label) => label,
        Err(error) => {
            let problem = problem("label", format!("Label: {}", capitalise(&error.to_string())));
            return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
        }
    };
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    match web::block(move || store.add_category(&actor, &slug, &label, now)).await? {
        Ok(added) => {
            let notice = format!(
                "Added the department {} at /store/{}, after the others.",
                added.label(),
                added.slug()
            );
            Ok(desk.notes.see_other("/admin/catalog", &Note { notice }))
        }
        Err(error) => {
            let field = match error {
                CategoryRefusal::LabelTaken(..) => "label",
                _ => "slug",
            };
            category_refused(&staff, &desk, "add-category".into(), Some(field), typed, error).await
        }
    }
}

#[derive(serde::Deserialize)]
pub struct RenameCategoryForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/categories/{id}/rename` with `label`.
pub async fn rename_category(
    staff: Staff<may::Catalog>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<RenameCategoryForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let category = category(&desk, id.into_inner())?;
    let form_name = format!("category-{}", category.id().get());
    let typed = vec![("label", form.label.clone())];
    let label = match CategoryLabel::parse(&form.label) {
        Ok(label) => label,
        Err(error) => {
            let problem = FormProblem {
                form: form_name,
                field: Some("label"),
                message: format!("Label: {}", capitalise(&error.to_string())),
                typed,
            };
            return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
        }
    };
    let (store, actor, now, which) = (desk.store.clone(), staff.actor(), desk.clock.now(), category.id());
    match web::block(move || store.rename_category(&actor, which, &label, now)).await? {
        Ok(renamed) => {
            let notice = format!(
                "The department {} is now labelled {} (was {}).",
                renamed.slug(),
                renamed.label(),
                category.label()
            );
            Ok(desk.notes.see_other("/admin/catalog", &Note { notice }))
        }
        Err(error) => category_refused(&staff, &desk, form_name, Some("label"), typed, error).await,
    }
}

#[derive(serde::Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    direction: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/categories/{id}/move` with `direction` (`up` or `down`).
pub async fn move_category(
    staff: Staff<may::Catalog>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let category = category(&desk, id.into_inner())?;
    let form_name = format!("category-{}", category.id().get());
    let Some(direction) = Direction::parse(&form.direction) else {
        let problem = FormProblem {
            form: form_name,
            field: None,
            message: "Direction: move a department up or down".into(),
            typed: Vec::new(),
        };
        return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
    };
    let (store, actor, now, which) = (desk.store.clone(), staff.actor(), desk.clock.now(), category.id());
    match web::block(move || store.move_category(&actor, which, direction, now)).await? {
        Ok(moved) => {
            let notice = format!("Moved {} {}.", moved.label(), direction.as_str());
            Ok(desk.notes.see_other("/admin/catalog", &Note { notice }))
        }
        Err(error) => category_refused(&staff, &desk, form_name, None, Vec::new(), error).await,
    }
}

/// A form that carries only its token.
#[derive(serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/categories/{id}/hide`.
pub async fn hide_category(
    staff: Staff<may::Catalog>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    category_visibility(&staff, &desk, id.into_inner(), true).await
}

/// `POST /admin/categories/{id}/show`.
pub async fn show_category(
    staff: Staff<may::Catalog>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    category_visibility(&staff, &desk, id.into_inner(), false).await
}

async fn category_visibility(
    staff: &Staff<may::Catalog>,
    desk: &Desk,
    id: i64,
    hidden: bool,
) -> Result<HttpResponse, AppError> {
    let category = category(desk, id)?;
    let (store, actor, now, which) = (desk.store.clone(), staff.actor(), desk.clock.now(), category.id());
    match web::block(move || store.set_category_hidden(&actor, which, hidden, now)).await? {
        Ok(changed) => {
            let notice = match (changed, hidden) {
                (true, true) => format!(
                    "{} is hidden: out of the store's navigation and listings, its products not for sale, \
                     no new code for it. Credit customers hold in it still shows in their pop-up.",
                    category.label()
                ),
                (true, false) => format!("{} is shown to shoppers again.", category.label()),
                (false, true) => format!("{} was hidden already; nothing changed.", category.label()),
                (false, false) => format!("{} was shown already; nothing changed.", category.label()),
            };
            Ok(desk.notes.see_other("/admin/catalog", &Note { notice }))
        }
        Err(error) => {
            let form = format!("category-{id}");
            category_refused(staff, desk, form, None, Vec::new(), error).await
        }
    }
}

#[derive(serde::Deserialize)]
pub struct AddProductForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    creator: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    featured: Option<String>,
    #[serde(default)]
    csrf_token: String,
}

/// Money typed by staff, or the refusal naming the field.
fn amount(typed: &str, label: &str) -> Result<Money, String> {
    let price = Money::parse(typed).map_err(|error| format!("{label}: {error}"))?;
    if price.is_zero() {
        return Err(format!("{label}: a price is more than $0.00"));
    }
    Ok(price)
}

/// `POST /admin/products` with `category` (a slug), `title`, `creator`,
/// `format`, `price`, `description` and `featured`.
pub async fn add_product(
    staff: Staff<may::Catalog>,
    desk: Desk,
    form: web::Form<AddProductForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let form = form.into_inner();
    let problem = |field: &'static str, message: String| FormProblem {
        form: "add-product".into(),
        field: Some(field),
        message,
        typed: vec![
            ("category", form.category.clone()),
            ("title", form.title.clone()),
            ("creator", form.creator.clone()),
            ("format", form.format.clone()),
            ("price", form.price.clone()),
            ("description", form.description.clone()),
        ],
    };
    let categories = desk.store.categories();
    let Some(category) = categories.by_slug(form.category.trim()) else {
        let problem = problem(
            "category",
            "Department: choose one of the store's departments".into(),
        );
        return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
    };
    let mut texts = Vec::new();
    for (name, label, typed) in [
        ("title", "Title", &form.title),
        ("creator", "Creator", &form.creator),
        ("format", "Format", &form.format),
    ] {
        match ProductText::parse(typed) {
            Ok(text) => texts.push(text.into_string()),
            Err(error) => {
                let problem = problem(name, format!("{label}: {error}"));
                return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
            }
        }
    }
    let price = match amount(&form.price, "Price") {
        Ok(price) => price,
        Err(message) => {
            return refused(&staff, &desk, problem("price", message), StatusCode::BAD_REQUEST).await;
        }
    };
    if form.description.chars().count() > 2000 {
        let problem = problem("description", "Description: at most 2000 characters".into());
        return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
    }
    let [title, creator, format] = <[String; 3]>::try_from(texts)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("three product texts")))?;
    let new = NewProduct {
        category: category.id(),
        format,
        title,
        creator,
        description: form.description.trim().to_owned(),
        price,
        featured: form.featured.is_some(),
    };
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    let product = blocking(move || store.add_product(&actor, &new, now)).await?;
    let notice = format!(
        "Added {} at {} to {}.",
        product.title,
        product.price,
        product.category.label()
    );
    Ok(desk
        .notes
        .see_other(&format!("/admin/products/{}", product.id), &Note { notice }))
}

#[derive(Template)]
#[template(path = "admin/product.html")]
struct ProductPage {
    chrome: ConsoleChrome,
    product: Product,
    /// The file it delivers, relative to the media folder.
    media_file: Option<String>,
    upload_limit: String,
    notice: Option<String>,
    problem: Option<FormProblem>,
}

impl ProductPage {
    fn title_field(&self) -> Field {
        field(self.problem.as_ref(), "rename", "title", &self.product.title)
    }

    fn price_field(&self) -> Field {
        let price = self.product.price.to_string();
        field(
            self.problem.as_ref(),
            "price",
            "price",
            price.trim_start_matches('$'),
        )
    }

    fn anchor(&self) -> String {
        problem_anchor(self.problem.as_ref())
    }

    fn file_field(&self) -> Field {
        field(self.problem.as_ref(), "file", "file", "")
    }

    fn state(&self) -> &'static str {
        match (self.product.hidden, self.product.category.is_hidden()) {
            (true, _) => "hidden",
            (false, true) => "not for sale (its department is hidden)",
            (false, false) => "on sale",
        }
    }
}

/// `GET /admin/products/{id}`.
pub async fn product(
    staff: Staff<may::Catalog>,
    desk: Desk,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let note = desk.waiting.clone();
    let shown = Shown {
        notice: note.map(|note| note.notice).filter(|notice| !notice.is_empty()),
        problem: None,
    };
    let mut response = product_page(&staff, &desk, id.into_inner(), shown, StatusCode::OK).await?;
    if desk.waiting.is_some() {
        response
            .add_cookie(&desk.notes.removal())
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(response)
}

async fn product_page(
    staff: &Staff<may::Catalog>,
    desk: &Desk,
    id: i64,
    shown: Shown,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let store = desk.store.clone();
    let (product, media_file) = blocking(move || {
        let product = store.product(id)?;
        store.product_media_file(id).map(|file| (product, file))
    })
    .await?;
    let product = product.ok_or(AppError::NotFound)?;
    render_with_status(
        &ProductPage {
            chrome: ConsoleChrome::of(staff),
            product,
            media_file,
            upload_limit: megabytes(desk.upload_limit.0),
            notice: shown.notice,
            problem: shown.problem,
        },
        status,
    )
}

/// The product page again with `problem` (nothing changed); an unknown product
/// is the 404 page.
async fn product_refused(
    staff: &Staff<may::Catalog>,
    desk: &Desk,
    id: i64,
    problem: FormProblem,
) -> Result<HttpResponse, AppError> {
    product_refused_with(staff, desk, id, problem, StatusCode::BAD_REQUEST).await
}

async fn product_refused_with(
    staff: &Staff<may::Catalog>,
    desk: &Desk,
    id: i64,
    problem: FormProblem,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let shown = Shown {
        problem: Some(problem),
        notice: None,
    };
    product_page(staff, desk, id, shown, status).await
}

fn product_error(error: ProductRefusal) -> Result<String, AppError> {
    match error {
        ProductRefusal::Unknown(_) => Err(AppError::NotFound),
        ProductRefusal::Store(error) => Err(error.into()),
        refused => Ok(capitalise(&refused.to_string())),
    }
}

fn back_to_product(desk: &Desk, id: i64, notice: String) -> HttpResponse {
    desk.notes
        .see_other(&format!("/admin/products/{id}"), &Note { notice })
}

#[derive(serde::Deserialize)]
pub struct RenameProductForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/products/{id}/rename` with `title`.
pub async fn rename_product(
    staff: Staff<may::Catalog>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<RenameProductForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let id = id.into_inner();
    let problem = |message: String| FormProblem {
        form: "rename".into(),
        field: Some("title"),
        message,
        typed: vec![("title", form.title.clone())],
    };
    let title = match ProductText::parse(&form.title) {
        Ok(title) => title,
        Err(error) => return product_refused(&staff, &desk, id, problem(format!("Title: {error}"))).await,
    };
    let (store, actor, now, new) = (desk.store.clone(), staff.actor(), desk.clock.now(), title.clone());
    match web::block(move || store.rename_product(&actor, id, &new, now)).await? {
        Ok(before) => Ok(back_to_product(
            &desk,
            id,
            format!("Renamed {} to {}.", before.title, title.as_str()),
        )),
        Err(error) => {
            let message = format!("Title: {}", product_error(error)?);
            product_refused(&staff, &desk, id, problem(message)).await
        }
    }
}

#[derive(serde::Deserialize)]
pub struct PriceForm {
    #[serde(default)]
    price: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/products/{id}/price` with `price` (`12.50`, `12`, `$12.50`).
pub async fn price_product(
    staff: Staff<may::Catalog>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<PriceForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let id = id.into_inner();
    let problem = |message: String| FormProblem {
        form: "price".into(),
        field: Some("price"),
        message,
        typed: vec![("price", form.price.clone())],
    };
    let price = match amount(&form.price, "Price") {
        Ok(price) => price,
        Err(message) => return product_refused(&staff, &desk, id, problem(message)).await,
    };
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    match web::block(move || store.set_product_price(&actor, id, price, now)).await? {
        Ok(before) => Ok(back_to_product(
            &desk,
            id,
            format!(
                "{} now costs {price} (was {}); orders placed before keep what they paid.",
                before.title, before.price
            ),
        )),
        Err(error) => {
            let message = format!("Price: {}", product_error(error)?);
            product_refused(&staff, &desk, id, problem(message)).await
        }
    }
}

/// `POST /admin/products/{id}/hide`.
pub async fn hide_product(
    staff: Staff<may::Catalog>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    product_visibility(&staff, &desk, id.into_inner(), true).await
}

/// `POST /admin/products/{id}/show`.
pub async fn show_product(
    staff: Staff<may::Catalog>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    product_visibility(&staff, &desk, id.into_inner(), false).await
}

async fn product_visibility(
    staff: &Staff<may::Catalog>,
    desk: &Desk,
    id: i64,
    hidden: bool,
) -> Result<HttpResponse, AppError> {
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    match web::block(move || store.set_product_hidden(&actor, id, hidden, now)).await? {
        Ok(changed) => {
            let notice = match (changed, hidden) {
                (true, true) => "Hidden: not listed, its page is gone and it cannot be bought; past orders \
                                 and receipts still show it."
                    .to_owned(),
                (true, false) => {
                    "Shown: it is listed and on sale again (unless its department is hidden).".to_owned()
                }
                (false, true) => "It was hidden already; nothing changed.".to_owned(),
                (false, false) => "It was shown already; nothing changed.".to_owned(),
            };
            Ok(back_to_product(desk, id, notice))
        }
        Err(error) => {
            let problem = FormProblem {
                form: "visibility".into(),
                field: None,
                message: product_error(error)?,
                typed: Vec::new(),
            };
            product_refused(staff, desk, id, problem).await
        }
    }
}

/// The largest file the console takes for a product (`Settings::upload_limit_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimit(pub u64);

impl Default for UploadLimit {
    fn default() -> UploadLimit {
        UploadLimit(crate::config::UPLOAD_LIMIT_BYTES)
    }
}

/// "200 MB", "1.5 kB": a size as people read it.
fn megabytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{} MB", b / 1_000_000),
        b if b >= 1_000 => format!("{} kB", b / 1_000),
        b => format!("{b} bytes"),
    }
}

/// Why an upload was refused: a page naming it, with its status.
struct UploadRefusal {
    status: StatusCode,
    message: String,
}

impl UploadRefusal {
    fn bad(message: impl Into<String>) -> UploadRefusal {
        UploadRefusal {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

/// A file being received into the media folder: a temporary file beside
/// where it goes, filled a buffer at a time off the executor.
struct Receiving {
    file: NamedTempFile,
    buffer: Vec<u8>,
    size: u64,
}

/// What is written to disk at once.
const UPLOAD_BUFFER_BYTES: usize = 1024 * 1024;

impl Receiving {
    async fn flush(mut self) -> Result<Receiving, AppError> {
        web::block(move || {
            self.file.as_file_mut().write_all(&self.buffer)?;
            self.buffer.clear();
            Ok::<_, std::io::Error>(self)
        })
        .await?
        .map_err(|error| AppError::Internal(anyhow::Error::new(error).context("writing an upload")))
    }
}

/// The uploaded file, received whole into a temporary file.
struct Received {
    file: NamedTempFile,
    name: String,
    size: u64,
}

/// `POST /admin/products/{id}/file`, `multipart/form-data` with `csrf_token`
/// (first) and `file`: the product's file for "Your library", streamed into
/// the media folder as `products/{id}/{safe name}` and put in place whole, at
/// most [`UploadLimit`] bytes; then named in the store (audited).
pub async fn upload_file(
    staff: Staff<may::Catalog>,
    desk: Desk,
    media: web::Data<MediaDir>,
    id: web::Path<i64>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let is_multipart = request
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        // A form sent without its file: check its token, then say what is missing.
        let body = payload
            .to_bytes_limited(crate::startup::FORM_LIMIT_BYTES)
            .await
            .map_err(|_| AppError::PayloadTooLarge)?
            .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
        let token = form_urlencoded::parse(&body)
            .find(|(name, _)| name == "csrf_token")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        verify_token(&staff, &token)?;
        return file_refused(
            &staff,
            &desk,
            id,
            UploadRefusal::bad("File: choose a file to upload"),
        )
        .await;
    }

    let store = desk.store.clone();
    let product = blocking(move || store.product(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let limit = desk.upload_limit.0;
    let received = match receive(&staff, &media, id, limit, &request, payload).await? {
        Ok(received) => received,
        Err(refusal) => {
            // A folder made for the upload goes again (only when it is empty).
            let products = media.root().join("products");
            let _ = web::block(move || {
                let _ = std::fs::remove_dir(products.join(id.to_string()));
                let _ = std::fs::remove_dir(products);
            })
            .await;
            return file_refused(&staff, &desk, id, refusal).await;
        }
    };
    let Received { file, name, size } = received;
    let (store, actor, now, installing) = (desk.store.clone(), staff.actor(), desk.clock.now(), name.clone());
    let media = media.get_ref().clone();
    let recorded = web::block(move || {
        media
            .install(file, &installing)
            .map_err(|error| AppError::Internal(anyhow::Error::new(error).context("installing an upload")))?;
        store
            .set_product_media_file(&actor, id, &installing, now)
            .map_err(|error| match error {
                ProductRefusal::Unknown(_) => AppError::NotFound,
                ProductRefusal::Store(error) => error.into(),
                other => AppError::Internal(anyhow::Error::new(other)),
            })
    })
    .await??;
    let replaced = match recorded {
        Some(before) if before != name => format!(" It replaced {before}, which stays in the media folder."),
        Some(_) => " It replaced the file of the same name.".to_owned(),
        None => String::new(),
    };
    let notice = format!(
        "{} delivers {name} now ({}).{replaced}",
        product.title,
        megabytes(size)
    );
    Ok(back_to_product(&desk, id, notice))
}

/// Reads the form's parts: the token (checked before any file is taken), then
/// the file, into a temporary file beside where it goes.
async fn receive(
    staff: &Staff<may::Catalog>,
    media: &MediaDir,
    id: i64,
    limit: u64,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<Result<Received, UploadRefusal>, AppError> {
    let unreadable = || UploadRefusal::bad("File: the upload could not be read; try again");
    let mut parts = actix_multipart::Multipart::new(request.headers(), payload);
    let mut token: Option<String> = None;
    while let Some(part) = parts.next().await {
        let Ok(mut part) = part else {
            verify_token(staff, token.as_deref().unwrap_or(""))?;
            return Ok(Err(unreadable()));
        };
        match part.name().map(str::to_owned).as_deref() {
            Some("csrf_token") => {
                let typed = match part.bytes(512).await {
                    Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                    _ => String::new(),
                };
                token = Some(typed);
            }
            Some("file") => {
                verify_token(staff, token.as_deref().unwrap_or(""))?;
                let original = part
                    .content_disposition()
                    .and_then(|disposition| disposition.get_filename())
                    .unwrap_or("")
                    .to_owned();
                if original.is_empty() {
                    return Ok(Err(UploadRefusal::bad("File: choose a file to upload")));
                }
                let name = format!("products/{id}/{}", safe_file_name(&original));
                let (folder_media, temporary_name) = (media.clone(), name.clone());
                let file = web::block(move || folder_media.temporary_for(&temporary_name))
                    .await?
                    .map_err(|error| {
                        AppError::Internal(anyhow::Error::new(error).context("an upload's file"))
                    })?;
                let mut receiving = Receiving {
                    file,
                    buffer: Vec::with_capacity(UPLOAD_BUFFER_BYTES),
                    size: 0,
                };
                while let Some(chunk) = part.next().await {
                    let Ok(chunk) = chunk else {
                        return Ok(Err(unreadable()));
                    };
                    receiving.size += chunk.len() as u64;
                    if receiving.size > limit {
                        return Ok(Err(UploadRefusal {
                            status: StatusCode::PAYLOAD_TOO_LARGE,
                            message: format!("File: at most {} a file", megabytes(limit)),
                        }));
                    }
                    receiving.buffer.extend_from_slice(&chunk);
                    if receiving.buffer.len() >= UPLOAD_BUFFER_BYTES {
                        receiving = receiving.flush().await?;
                    }
                }
                if receiving.size == 0 {
                    return Ok(Err(UploadRefusal::bad("File: the file is empty")));
                }
                let receiving = receiving.flush().await?;
                return Ok(Ok(Received {
                    file: receiving.file,
                    name,
                    size: receiving.size,
                }));
            }
            _ => {}
        }
    }
    verify_token(staff, token.as_deref().unwrap_or(""))?;
    Ok(Err(UploadRefusal::bad("File: choose a file to upload")))
}

/// The product page again naming why the upload was refused (nothing written:
/// a temporary file is removed when dropped).
async fn file_refused(
    staff: &Staff<may::Catalog>,
    desk: &Desk,
    id: i64,
    refusal: UploadRefusal,
) -> Result<HttpResponse, AppError> {
    let problem = FormProblem {
        form: "file".into(),
        field: Some("file"),
        message: refusal.message,
        typed: Vec::new(),
    };
    product_refused_with(staff, desk, id, problem, refusal.status).await
}
