//! `GET /admin`: the console's dashboard: today at a glance for those who may
//! see reports (orders, sales, credit granted, spent and expired, credit
//! outstanding), the requests waiting for those who may approve them, and for
//! everyone who you are and what your role lets you do.

use actix_web::HttpResponse;
use askama::Template;

use super::console_page::Desk;
use super::{ConsoleChrome, Staff, may};
use crate::domain::{Money, Permission};
use crate::error::AppError;
use crate::routes::{blocking, html};
use crate::store::reports::Glance;

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    chrome: ConsoleChrome,
    name: String,
    email: String,
    role: &'static str,
    /// What the role may do, each with where to do it when that page exists.
    abilities: Vec<(&'static str, Option<&'static str>)>,
    /// Today so far, for those who may see reports.
    glance: Option<Glance>,
    /// Requests waiting for a second person, for those who may approve.
    pending: Option<usize>,
    /// Today (UTC), as the reports' fields take it.
    today: String,
}

impl HomePage {
    /// `-$25.00` or `$76.00`.
    fn net(&self, cents: i64) -> String {
        if cents < 0 {
            format!("-{}", Money::from_cents(-cents))
        } else {
            Money::from_cents(cents).to_string()
        }
    }
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

pub async fn show(staff: Staff<may::Any>, desk: Desk) -> Result<HttpResponse, AppError> {
    let role = staff.member.role;
    let abilities = ABILITIES
        .into_iter()
        .filter(|(permission, _)| role.may(*permission))
        .map(|(permission, link)| (permission.describe(), link))
        .collect();
    let now = desk.clock.now();
    let (sees_reports, approves) = (role.may(Permission::Reports), role.may(Permission::Approve));
    let store = desk.store;
    let (glance, pending) = blocking(move || {
        let glance = sees_reports.then(|| store.glance(now)).transpose()?;
        let pending = approves
            .then(|| store.pending_requests().map(|requests| requests.len()))
            .transpose()?;
        Ok::<_, crate::store::StoreError>((glance, pending))
    })
    .await?;
    html(&HomePage {
        chrome: ConsoleChrome::of(&staff),
        name: staff.member.name.clone(),
        email: staff.member.email.clone(),
        role: role.as_str(),
        abilities,
        glance,
        pending,
        today: now.date().to_string(),
    })
}
