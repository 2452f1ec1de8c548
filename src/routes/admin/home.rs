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

/// What each permission opens in the console (pages of later issues have none yet).
const ABILITIES: [(Permission, Option<&str>); 11] = [
    (Permission::ViewCustomers, Some("/admin/customers")),
    (Permission::UnlockAndReset, None),
    (Permission::GoodwillGrant, None),
    (Permission::ManageCredits, None),
    (Permission::ManageCodes, None),
    (Permission::Refund, None),
    (Permission::Approve, Some("/admin/approvals")),
    (Permission::Reports, None),
    (Permission::Audit, None),
    (Permission::Catalog, None),
    (Permission::ManageStaff, None),
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
