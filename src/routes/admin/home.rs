//! `GET /admin`: the console's home: who you are, your role, and what it lets
//! you do.

use actix_web::HttpResponse;
use askama::Template;

use super::{ConsoleChrome, Staff, may};
use crate::domain::Permission;
use crate::error::AppError;
use crate::routes::html;

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    chrome: ConsoleChrome,
    name: String,
    email: String,
    role: &'static str,
    /// What the role may do, each with where to do it when that page exists.
    abilities: Vec<(&'static str, Option<&'static str>)>,
}

/// What each permission opens in the console.
const ABILITIES: [(Permission, Option<&str>); 12] = [
    (Permission::ViewCustomers, Some("/admin/customers")),
    (Permission::UnlockAndReset, Some("/admin/customers")),
    (Permission::GoodwillGrant, Some("/admin/customers")),
    (Permission::ManageCredits, Some("/admin/customers")),
    (Permission::ManageCodes, Some("/admin/codes")),
    (Permission::Refund, Some("/admin/orders")),
    (Permission::Approve, Some("/admin/approvals")),
    (Permission::Reports, Some("/admin/reports")),
    (Permission::Audit, Some("/admin/audit")),
    (Permission::Catalog, Some("/admin/catalog")),
    (Permission::ManageStaff, Some("/admin/staff")),
    (Permission::Settings, Some("/admin/settings")),
];

pub async fn show(staff: Staff<may::Any>) -> Result<HttpResponse, AppError> {
    let role = staff.member.role;
    let abilities = ABILITIES
        .into_iter()
        .filter(|(permission, _)| role.may(*permission))
        .map(|(permission, link)| (permission.describe(), link))
        .collect();
    html(&HomePage {
        chrome: ConsoleChrome::of(&staff),
        name: staff.member.name.clone(),
        email: staff.member.email.clone(),
        role: role.as_str(),
        abilities,
    })
}
