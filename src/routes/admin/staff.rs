//! `/admin/staff` (owners): every staff member with their role and state, and
//! the forms that add one, change a role, disable, enable and reset.
//!
//! An enrolment link (from adding or resetting a member) is shown once, in the
//! body of the page that answers the POST, for the owner to hand over: never in
//! a URL, a cookie or a log, and the page is not stored (`no-store`). Reloading
//! that page asks to send the form again, which adds nobody twice and, for a
//! reset, gives a new link that replaces the one shown.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::console_page::{
    Desk, FormProblem, Note, csv_download, moment, next_page_href, verify_token, wants_csv,
};
use super::fields::{Field, field, problem_anchor};
use super::{ConsoleChrome, Staff, may};
use crate::domain::{DisplayName, Email, Role, StaffId};
use crate::error::AppError;
use crate::listing::{Cell, Listing};
use crate::routes::{PAGE_SIZE, blocking, capitalise, render_with_status};
use crate::store::staff::{ENROLMENT_LIFETIME, StaffError, StaffRecord};

/// An enrolment link shown once to the owner who made it.
pub struct OneTimeLink {
    pub email: String,
    pub link: String,
    pub hours: i64,
}

#[derive(Template)]
#[template(path = "admin/staff.html")]
struct StaffPage {
    chrome: ConsoleChrome,
    members: Vec<StaffRecord>,
    next: Option<String>,
    paged: bool,
    notice: Option<String>,
    problem: Option<FormProblem>,
    link: Option<OneTimeLink>,
    me: StaffId,
    roles: [Role; 4],
}

impl StaffPage {
    fn field(&self, form: &str, name: &str) -> Field {
        field(self.problem.as_ref(), form, name, "")
    }

    fn role_form_error(&self, member: &StaffRecord) -> Option<String> {
        let form = format!("staff-{}", member.member.id.0);
        self.problem
            .as_ref()
            .filter(|problem| problem.form == form)
            .map(|problem| problem.message.clone())
    }

    fn anchor(&self) -> String {
        problem_anchor(self.problem.as_ref())
    }

    fn last_sign_in(&self, record: &StaffRecord) -> String {
        record.last_signin_at.map_or_else(|| "never".to_owned(), moment)
    }

    fn is_me(&self, record: &StaffRecord) -> bool {
        record.member.id == self.me
    }
}

#[derive(serde::Deserialize)]
pub struct StaffQuery {
    before: Option<i64>,
    format: Option<String>,
}

/// `GET /admin/staff`: every staff member, newest first, 20 a page (or all of
/// them as CSV with `?format=csv`).
pub async fn list(
    staff: Staff<may::ManageStaff>,
    desk: Desk,
    query: web::Query<StaffQuery>,
) -> Result<HttpResponse, AppError> {
    let StaffQuery { before, format } = query.into_inner();
    if wants_csv(&staff, format.as_deref())? {
        let store = desk.store.clone();
        let everyone = blocking(move || store.list_staff()).await?;
        return csv_download("staff", &staff_listing(everyone), desk.clock.now().date());
    }
    let note = desk.waiting.clone();
    let mut response = staff_page(
        &staff,
        &desk,
        before,
        Shown {
            notice: note.map(|note| note.notice).filter(|notice| !notice.is_empty()),
            ..Shown::default()
        },
        StatusCode::OK,
    )
    .await?;
    if desk.waiting.is_some() {
        response
            .add_cookie(&desk.notes.removal())
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(response)
}

fn staff_listing(everyone: Vec<StaffRecord>) -> Listing {
    let mut listing = Listing::new(&["name", "email", "role", "state", "last_sign_in", "added"]);
    for record in everyone {
        let state = record.state();
        listing.push(vec![
            Cell::text(record.member.name),
            Cell::text(record.member.email),
            Cell::text(record.member.role.as_str()),
            Cell::text(state),
            record
                .last_signin_at
                .map_or(Cell::Nothing("never"), Cell::Instant),
            Cell::Instant(record.created_at),
        ]);
    }
    listing
}

/// What the page says above the list.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    problem: Option<FormProblem>,
    link: Option<OneTimeLink>,
}

async fn staff_page(
    staff: &Staff<may::ManageStaff>,
    desk: &Desk,
    before: Option<i64>,
    shown: Shown,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let store = desk.store.clone();
    let page = blocking(move || store.staff_page(before, PAGE_SIZE)).await?;
    render_with_status(
        &StaffPage {
            chrome: ConsoleChrome::of(staff),
            next: page.older.map(|older| next_page_href("/admin/staff", &[], older)),
            members: page.entries,
            paged: before.is_some(),
            notice: shown.notice,
            problem: shown.problem,
            link: shown.link,
            me: staff.member.id,
            roles: Role::ALL,
        },
        status,
    )
}

/// The page again with `problem` (nothing changed).
async fn refused(
    staff: &Staff<may::ManageStaff>,
    desk: &Desk,
    problem: FormProblem,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let shown = Shown {
        problem: Some(problem),
        ..Shown::default()
    };
    staff_page(staff, desk, None, shown, status).await
}

/// The page with the enrolment link `token` makes, shown this once.
async fn with_link(
    staff: &Staff<may::ManageStaff>,
    desk: &Desk,
    email: String,
    token: &str,
    notice: String,
) -> Result<HttpResponse, AppError> {
    let link = OneTimeLink {
        link: format!("{}/admin/enrol/{token}", desk.link_origin.trim_end_matches('/')),
        email,
        hours: ENROLMENT_LIFETIME.whole_hours(),
    };
    let shown = Shown {
        notice: Some(notice),
        link: Some(link),
        ..Shown::default()
    };
    staff_page(staff, desk, None, shown, StatusCode::OK).await
}

fn parse_role(typed: &str) -> Result<Role, String> {
    Role::parse(typed.trim()).ok_or_else(|| "Role: choose support, finance, manager or owner".to_owned())
}

#[derive(serde::Deserialize)]
pub struct AddForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/staff` with `email`, `name`, `role`: adds a member, and answers
/// with their enrolment link, shown once.
pub async fn add(
    staff: Staff<may::ManageStaff>,
    desk: Desk,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let form = form.into_inner();
    let problem = |field, message: String| FormProblem {
        form: "add".into(),
        field: Some(field),
        message,
        typed: vec![
            ("email", form.email.clone()),
            ("name", form.name.clone()),
            ("role", form.role.clone()),
        ],
    };
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(error) => {
            let problem = problem("email", format!("E-mail: {error}"));
            return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
        }
    };
    let name = match DisplayName::parse(&form.name) {
        Ok(name) => name,
        Err(error) => {
            let problem = problem("name", format!("Name: {error}"));
            return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
        }
    };
    let role = match parse_role(&form.role) {
        Ok(role) => role,
        Err(message) => {
            return refused(&staff, &desk, problem("role", message), StatusCode::BAD_REQUEST).await;
        }
    };
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    let added = web::block(move || store.add_staff(&actor, &email, &name, role, now)).await?;
    match added {
        Ok((member, token)) => {
            let notice = format!("Added {} <{}> as {}.", member.name, member.email, member.role);
            with_link(&staff, &desk, member.email, &token, notice).await
        }
        Err(StaffError::Store(error)) => Err(error.into()),
        Err(taken) => {
            let problem = problem("email", format!("E-mail: {}", taken));
            refused(&staff, &desk, problem, StatusCode::CONFLICT).await
        }
    }
}

/// The member `id`, or the 404 page.
async fn member(desk: &Desk, id: i64) -> Result<StaffRecord, AppError> {
    let store = desk.store.clone();
    blocking(move || store.staff_by_id(StaffId(id)))
        .await?
        .ok_or(AppError::NotFound)
}

/// A change the store refused, on the member's row (409); a failure of the
/// store is its error page.
async fn change_refused(
    staff: &Staff<may::ManageStaff>,
    desk: &Desk,
    record: &StaffRecord,
    error: StaffError,
) -> Result<HttpResponse, AppError> {
    if let StaffError::Store(error) = error {
        return Err(error.into());
    }
    let problem = FormProblem {
        form: format!("staff-{}", record.member.id.0),
        field: None,
        message: capitalise(&error.to_string()),
        typed: Vec::new(),
    };
    refused(staff, desk, problem, StatusCode::CONFLICT).await
}

fn email_of(record: &StaffRecord) -> Result<Email, AppError> {
    Email::parse(&record.member.email).map_err(|error| AppError::Internal(anyhow::anyhow!("{error}")))
}

#[derive(serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/staff/{id}/role` with `role`: their sessions end at once.
pub async fn set_role(
    staff: Staff<may::ManageStaff>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let record = member(&desk, id.into_inner()).await?;
    let role = match parse_role(&form.role) {
        Ok(role) => role,
        Err(message) => {
            let problem = FormProblem {
                form: format!("staff-{}", record.member.id.0),
                field: Some("role"),
                message,
                typed: vec![("role", form.role.clone())],
            };
            return refused(&staff, &desk, problem, StatusCode::BAD_REQUEST).await;
        }
    };
    let (store, actor, now, email) = (
        desk.store.clone(),
        staff.actor(),
        desk.clock.now(),
        email_of(&record)?,
    );
    match web::block(move || store.set_staff_role(&actor, &email, role, now)).await? {
        Ok(member) => {
            let notice = format!(
                "{} is now {} (was {}); their console sessions have ended.",
                member.email, member.role, record.member.role
            );
            Ok(desk.notes.see_other("/admin/staff", &Note { notice }))
        }
        Err(error) => change_refused(&staff, &desk, &record, error).await,
    }
}

/// A form that carries only its token.
#[derive(serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/staff/{id}/disable`: they cannot sign in, their sessions end.
pub async fn disable(
    staff: Staff<may::ManageStaff>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let record = member(&desk, id.into_inner()).await?;
    let (store, actor, now, email) = (
        desk.store.clone(),
        staff.actor(),
        desk.clock.now(),
        email_of(&record)?,
    );
    match web::block(move || store.disable_staff(&actor, &email, now)).await? {
        Ok(member) => {
            let notice = format!(
                "{} is disabled: they cannot sign in, and their console sessions have ended.",
                member.email
            );
            Ok(desk.notes.see_other("/admin/staff", &Note { notice }))
        }
        Err(error) => change_refused(&staff, &desk, &record, error).await,
    }
}

/// `POST /admin/staff/{id}/enable`: a disabled member may sign in again.
pub async fn enable(
    staff: Staff<may::ManageStaff>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let record = member(&desk, id.into_inner()).await?;
    let (store, actor, now, email) = (
        desk.store.clone(),
        staff.actor(),
        desk.clock.now(),
        email_of(&record)?,
    );
    match web::block(move || store.enable_staff(&actor, &email, now)).await? {
        Ok(enabled) => {
            let notice = if enabled.enrolled {
                format!(
                    "{} is enabled again: they sign in with their password and second factor.",
                    enabled.member.email
                )
            } else {
                format!(
                    "{} is enabled again. They never enrolled: reset them for a new enrolment link.",
                    enabled.member.email
                )
            };
            Ok(desk.notes.see_other("/admin/staff", &Note { notice }))
        }
        Err(error) => change_refused(&staff, &desk, &record, error).await,
    }
}

/// `POST /admin/staff/{id}/reset`: their password and second factor stop
/// working, their sessions end, and a new enrolment link is shown once.
pub async fn reset(
    staff: Staff<may::ManageStaff>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let record = member(&desk, id.into_inner()).await?;
    let (store, actor, now, email) = (
        desk.store.clone(),
        staff.actor(),
        desk.clock.now(),
        email_of(&record)?,
    );
    match web::block(move || store.reset_staff(&actor, &email, now)).await? {
        Ok(token) => {
            let notice = format!(
                "{}'s password and second factor no longer work, and their console sessions have ended.",
                record.member.email
            );
            with_link(&staff, &desk, record.member.email.clone(), &token, notice).await
        }
        Err(error) => change_refused(&staff, &desk, &record, error).await,
    }
}
