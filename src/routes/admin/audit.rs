//! `GET /admin/audit`: the audit trail, newest first, filtered by who (the actor
//! contains the text, in any case), what (one action), customer (number or
//! e-mail) and days (UTC); each entry's subject linked to its console page.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::console_page::{
    Desk, csv_download, day_range, every_page, filtered_href, moment, next_page_href, wants_csv,
};
use super::{ConsoleChrome, Staff, may};
use crate::domain::{Email, Permission, PromoCode, UserId};
use crate::error::AppError;
use crate::listing::Listing;
use crate::listing::rows::{AUDIT_COLUMNS, audit_cells};
use crate::routes::{PAGE_SIZE, blocking, render_with_status};
use crate::store::StoreError;
use crate::store::audit::{AuditAction, AuditEntry, AuditFilter};

/// An entry as the page shows it: with where its subject can be seen.
struct TrailEntry {
    entry: AuditEntry,
    subject_href: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: ConsoleChrome,
    /// The filters as typed.
    who: String,
    what: String,
    customer: String,
    from: String,
    to: String,
    /// A filter that could not be read: the field and why.
    problem: Option<(&'static str, String)>,
    entries: Vec<TrailEntry>,
    next: Option<String>,
    paged: bool,
    first_href: String,
    csv_href: String,
}

impl AuditPage {
    fn when(&self, entry: &AuditEntry) -> String {
        moment(entry.at)
    }

    fn actions(&self) -> &'static [AuditAction] {
        &AuditAction::ALL
    }

    fn error_at(&self, field: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .filter(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }
}

#[derive(serde::Deserialize)]
pub struct AuditSearch {
    who: Option<String>,
    what: Option<String>,
    customer: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
    format: Option<String>,
}

/// The customer a filter names: a customer number, or an e-mail address (which
/// the store looks up); `Err` names the field and why.
enum CustomerTyped {
    Any,
    Number(UserId),
    Email(Email),
}

/// The trail's filter from what was typed, except a customer's e-mail (looked up
/// in the store); or the field that cannot be read and why.
fn audit_filter(
    who: &str,
    what: &str,
    customer: &str,
    from: &str,
    to: &str,
) -> Result<(AuditFilter, CustomerTyped), (&'static str, String)> {
    let action = match what.trim() {
        "" => None,
        typed => Some(
            AuditAction::parse(typed)
                .ok_or_else(|| ("what", "What: choose an action from the list".to_owned()))?
                .as_str()
                .to_owned(),
        ),
    };
    let customer = match customer.trim() {
        "" => CustomerTyped::Any,
        typed if typed.chars().all(|c| c.is_ascii_digit()) => CustomerTyped::Number(UserId(
            typed
                .parse()
                .map_err(|_| ("customer", "Customer: that number is too large".to_owned()))?,
        )),
        typed => CustomerTyped::Email(Email::parse(typed).map_err(|_| {
            (
                "customer",
                "Customer: enter a customer's number or e-mail address".to_owned(),
            )
        })?),
    };
    let (since, until) = day_range(from, to)?;
    Ok((
        AuditFilter {
            actor_contains: Some(who.trim().to_owned()).filter(|who| !who.is_empty()),
            action,
            customer: match customer {
                CustomerTyped::Number(user) => Some(user),
                _ => None,
            },
            since,
            until,
            ..AuditFilter::default()
        },
        customer,
    ))
}

/// `GET /admin/audit?who=&what=&customer=&from=&to=`: newest first, 20 a page;
/// `format=csv` downloads every entry the filters let through.
pub async fn list(
    staff: Staff<may::Audit>,
    desk: Desk,
    query: web::Query<AuditSearch>,
) -> Result<HttpResponse, AppError> {
    let AuditSearch {
        who,
        what,
        customer,
        from,
        to,
        before,
        format,
    } = query.into_inner();
    let typed = [who, what, customer, from, to].map(Option::unwrap_or_default);
    let [who, what, customer, from, to] = typed;
    let filters = [
        ("who", Some(who.trim())),
        ("what", Some(what.trim())),
        ("customer", Some(customer.trim())),
        ("from", Some(from.trim())),
        ("to", Some(to.trim())),
    ];
    let mut with_csv = filters.to_vec();
    with_csv.push(("format", Some("csv")));
    let mut page = AuditPage {
        chrome: ConsoleChrome::of(&staff),
        problem: None,
        entries: Vec::new(),
        next: None,
        paged: before.is_some(),
        first_href: filtered_href("/admin/audit", &filters),
        csv_href: filtered_href("/admin/audit", &with_csv),
        who: who.clone(),
        what: what.clone(),
        customer: customer.clone(),
        from: from.clone(),
        to: to.clone(),
    };
    let refused = |mut page: AuditPage, problem| {
        page.problem = Some(problem);
        render_with_status(&page, StatusCode::BAD_REQUEST)
    };
    let (mut filter, named) = match audit_filter(&who, &what, &customer, &from, &to) {
        Ok(read) => read,
        Err(problem) => return refused(page, problem),
    };
    if let CustomerTyped::Email(email) = named {
        let store = desk.store.clone();
        let shown = email.as_str().to_owned();
        match blocking(move || store.user_id_by_email(&email)).await? {
            Some(user) => filter.customer = Some(user),
            None => {
                return refused(
                    page,
                    (
                        "customer",
                        format!("Customer: no customer has the e-mail {shown}"),
                    ),
                );
            }
        }
    }
    let store = desk.store.clone();
    if wants_csv(&staff, format.as_deref())? {
        let entries =
            blocking(move || every_page(|before, size| store.audit_page(&filter, before, size))).await?;
        let mut listing = Listing::new(AUDIT_COLUMNS);
        for entry in &entries {
            listing.push(audit_cells(entry));
        }
        return csv_download("audit", &listing, desk.clock.now().date());
    }
    let may_approve = staff.member.role.may(Permission::Approve);
    let (found, codes) = blocking(move || {
        let found = store.audit_page(&filter, before, PAGE_SIZE)?;
        let mut codes = HashMap::new();
        for entry in &found.entries {
            if let Some(name) = entry.subject.strip_prefix("code:")
                && !codes.contains_key(name)
                && let Ok(code) = PromoCode::parse(name)
                && let Some(record) = store.code_named(&code)?
            {
                codes.insert(name.to_owned(), record.id);
            }
        }
        Ok::<_, StoreError>((found, codes))
    })
    .await?;
    page.next = found
        .older
        .map(|older| next_page_href("/admin/audit", &filters, older));
    page.entries = found
        .entries
        .into_iter()
        .map(|entry| TrailEntry {
            subject_href: subject_href(&entry, &codes, may_approve),
            entry,
        })
        .collect();
    render_with_status(&page, StatusCode::OK)
}

/// Where the console shows an entry's subject, when it has a page for it.
fn subject_href(entry: &AuditEntry, codes: &HashMap<String, i64>, may_approve: bool) -> Option<String> {
    let (kind, name) = entry.subject.split_once(':')?;
    let number = || name.parse::<i64>().ok();
    match kind {
        "customer" => number().map(|id| format!("/admin/customers/{id}")),
        "order" => number().map(|id| format!("/admin/orders/{id}")),
        "code" => codes.get(name).map(|id| format!("/admin/codes/{id}")),
        // A credit is shown on its customer's page.
        "credit" => entry
            .customer
            .zip(number())
            .map(|(user, credit)| format!("/admin/customers/{}#credit-{credit}", user.0)),
        "approval" if may_approve => Some("/admin/approvals".to_owned()),
        _ => None,
    }
}
