//! `GET /admin/approvals`: grants and upward adjustments waiting for a second
//! person (four eyes), and those decided; `POST /admin/approvals/{id}/approve`
//! and `/reject` with a reason, by a manager or owner who did not ask. Only
//! those who may decide see the queue (its reasons are internal).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::console_page::{
    Desk, FormProblem, Note, csv_download, every_page, moment, next_page_href, verify_token, wants_csv,
};
use super::{ConsoleChrome, Staff, may};
use crate::domain::{AdjustmentReason, Categories, Permission};
use crate::error::AppError;
use crate::listing::Listing;
use crate::listing::rows::{APPROVAL_COLUMNS, approval_cells};
use crate::routes::{PAGE_SIZE, blocking, capitalise, render_with_status};
use crate::store::approvals::{ApprovalError, ApprovalRequest, RequestId};

#[derive(Template)]
#[template(path = "admin/approvals.html")]
struct ApprovalsPage {
    chrome: ConsoleChrome,
    categories: Arc<Categories>,
    /// Waiting, oldest first.
    pending: Vec<ApprovalRequest>,
    /// Every request, newest first, a page at a time.
    history: Vec<ApprovalRequest>,
    older: Option<String>,
    paged: bool,
    notice: Option<String>,
    problem: Option<FormProblem>,
    may_decide: bool,
    /// Who is looking, to say which requests are their own.
    viewer: String,
}

impl ApprovalsPage {
    fn when(&self, at: &time::OffsetDateTime) -> String {
        moment(*at)
    }

    fn what(&self, request: &ApprovalRequest) -> String {
        request.change.describe(&self.categories)
    }

    fn is_own(&self, request: &ApprovalRequest) -> bool {
        request.requested_by == self.viewer
    }

    /// The refusal of the form `kind` (`approve`, `reject`) of request `id`.
    fn error_at(&self, kind: &str, id: &RequestId) -> Option<&str> {
        let form = format!("{kind}-{}", id.0);
        self.problem
            .as_ref()
            .and_then(|problem| problem.at(&form, "reason").or_else(|| problem.of_form(&form)))
    }

    fn typed(&self, kind: &str, id: &RequestId) -> &str {
        let form = format!("{kind}-{}", id.0);
        self.problem
            .as_ref()
            .map_or("", |problem| problem.typed(&form, "reason"))
    }
}

#[derive(serde::Deserialize)]
pub struct ApprovalsQuery {
    before: Option<i64>,
    format: Option<String>,
}

/// `GET /admin/approvals[?before=ID]`; `?format=csv`: every request, newest first.
pub async fn list(
    staff: Staff<may::Approve>,
    desk: Desk,
    query: web::Query<ApprovalsQuery>,
) -> Result<HttpResponse, AppError> {
    if wants_csv(&staff, query.format.as_deref())? {
        let store = desk.store.clone();
        let requests =
            blocking(move || every_page(|before, size| store.approval_requests_page(before, size))).await?;
        let categories = desk.store.categories();
        let mut listing = Listing::new(APPROVAL_COLUMNS);
        for request in &requests {
            listing.push(approval_cells(request, &categories));
        }
        return csv_download("approvals", &listing, desk.clock.now().date());
    }
    approvals_page(&staff, desk, query.before, None, StatusCode::OK).await
}

async fn approvals_page<P>(
    staff: &Staff<P>,
    desk: Desk,
    before: Option<i64>,
    problem: Option<FormProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let store = desk.store.clone();
    let (pending, history) = blocking(move || {
        Ok::<_, crate::store::StoreError>((
            store.pending_requests()?,
            store.approval_requests_page(before, PAGE_SIZE)?,
        ))
    })
    .await?;
    let shown_note = desk.waiting.is_some();
    let mut response = render_with_status(
        &ApprovalsPage {
            chrome: ConsoleChrome::of(staff),
            categories: desk.store.categories(),
            pending,
            older: history
                .older
                .map(|older| next_page_href("/admin/approvals", &[], older)),
            history: history.entries,
            paged: before.is_some(),
            notice: desk.waiting.map(|note| note.notice),
            problem,
            may_decide: staff.member.role.may(Permission::Approve),
            viewer: staff.actor().to_string(),
        },
        status,
    )?;
    if shown_note && let Err(error) = response.add_cookie(&desk.notes.removal()) {
        tracing::warn!(%error, "could not forget a console note once shown");
    }
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/approvals/{id}/approve` with `reason`: applies the request.
pub async fn approve(
    staff: Staff<may::Approve>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    decide(staff, desk, RequestId(id.into_inner()), form.into_inner(), true).await
}

/// `POST /admin/approvals/{id}/reject` with `reason`: nothing reaches the shopper.
pub async fn reject(
    staff: Staff<may::Approve>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    decide(staff, desk, RequestId(id.into_inner()), form.into_inner(), false).await
}

async fn decide(
    staff: Staff<may::Approve>,
    desk: Desk,
    id: RequestId,
    form: DecisionForm,
    approve: bool,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let kind = if approve { "approve" } else { "reject" };
    let problem = |field, message| FormProblem {
        form: format!("{kind}-{}", id.0),
        field,
        message,
        typed: vec![("reason", form.reason.clone())],
    };
    let reason = match AdjustmentReason::parse(&form.reason) {
        Ok(reason) => reason,
        Err(error) => {
            let refused = problem(Some("reason"), super::credits::reason_problem(&error));
            return approvals_page(
                &staff,
                desk,
                None,
                Some(refused),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    let decided = web::block(move || {
        if approve {
            store.approve_request(&actor, id, &reason, now)
        } else {
            store.reject_request(&actor, id, &reason, now)
        }
    })
    .await?;
    match decided {
        Ok(request) => {
            let notice = if approve {
                format!(
                    "Request {id} approved: {} for {} is done.",
                    request.change.describe(&desk.store.categories()),
                    request.customer_email
                )
            } else {
                format!(
                    "Request {id} rejected: nothing reached {}.",
                    request.customer_email
                )
            };
            Ok(desk.notes.see_other("/admin/approvals", &Note { notice }))
        }
        Err(ApprovalError::NotFound(_)) => Err(AppError::NotFound),
        Err(ApprovalError::Store(error)) => Err(error.into()),
        Err(refused) => {
            // Deciding one's own request is outside what anyone may do: 403;
            // a request decided meanwhile or no longer fitting: 409.
            let status = match refused {
                ApprovalError::OwnRequest(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::CONFLICT,
            };
            let refused = problem(None, capitalise(&refused.to_string()));
            approvals_page(&staff, desk, None, Some(refused), status).await
        }
    }
}
