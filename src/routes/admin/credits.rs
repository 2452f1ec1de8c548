//! `POST /admin/credits/{id}/adjust` and `/revoke`: a staff member's change to a
//! credit, made from the customer's page and answered there: a 303 back with
//! what was done and the amount, or the page again (422) naming the field at
//! fault, nothing changed.

use actix_web::{HttpResponse, web};

use super::console_page::{Desk, FormProblem, Note, verify_token};
use super::customers::{PageMessages, customer_page};
use super::{Staff, may};
use crate::domain::adjustment::ReasonError;
use crate::domain::{Adjustment, AdjustmentReason, CreditId, UserId};
use crate::error::AppError;
use crate::routes::{blocking, capitalise};
use crate::store::approvals::AdjustOutcome;
use crate::store::credits::{AdjustError, Adjusted};

#[derive(serde::Deserialize)]
pub struct AdjustForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf_token: String,
}

#[derive(serde::Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf_token: String,
}

/// A reason refused, in the console's words (the store's speak of `--reason`).
pub(super) fn reason_problem(error: &ReasonError) -> String {
    match error {
        ReasonError::Empty => "Reason: say why (it is kept in the audit trail)".to_owned(),
        ReasonError::TooLong => format!("Reason: {error}"),
    }
}

/// `POST /admin/credits/{id}/adjust` with `amount` (signed: `-2.50`, `1.00`)
/// and `reason`.
pub async fn adjust(
    staff: Staff<may::ManageCredits>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<AdjustForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let credit = CreditId(id.into_inner());
    let form = form.into_inner();
    let problem = |field, message| FormProblem {
        form: format!("adjust-{}", credit.0),
        field,
        message,
        typed: vec![("amount", form.amount.clone()), ("reason", form.reason.clone())],
    };
    let adjustment = match Adjustment::parse(&form.amount) {
        Ok(adjustment) => adjustment,
        Err(error) => {
            return refused(
                &staff,
                &desk,
                credit,
                problem(Some("amount"), format!("Amount: {error}")),
            )
            .await;
        }
    };
    let reason = match AdjustmentReason::parse(&form.reason) {
        Ok(reason) => reason,
        Err(error) => {
            return refused(
                &staff,
                &desk,
                credit,
                problem(Some("reason"), reason_problem(&error)),
            )
            .await;
        }
    };
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    let done = web::block(move || store.ask_adjust(&actor, credit, adjustment, &reason, now)).await?;
    match done {
        Ok(AdjustOutcome::Adjusted(adjusted)) => {
            let message = format!(
                "Credit {} adjusted by {adjustment}: {} remains.",
                credit.0, adjusted.after
            );
            Ok(back_with(&desk, &adjusted, message))
        }
        Ok(AdjustOutcome::AwaitingApproval { request, threshold }) => {
            let store = desk.store.clone();
            let owner = blocking(move || store.credit_owner(credit))
                .await?
                .ok_or(AppError::NotFound)?;
            let notice = format!(
                "Adding {adjustment} to credit {} is above the {threshold} approval threshold: nothing \
                 changed yet. It waits as request {request} until another manager or owner approves it.",
                credit.0
            );
            Ok(desk
                .notes
                .see_other(&format!("/admin/customers/{}", owner.0), &Note { notice }))
        }
        Err(error) => {
            let message = format!("Amount: {}", refusal(error)?);
            refused(&staff, &desk, credit, problem(Some("amount"), message)).await
        }
    }
}

/// `POST /admin/credits/{id}/revoke` with `reason`: takes all that remains.
pub async fn revoke(
    staff: Staff<may::ManageCredits>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let credit = CreditId(id.into_inner());
    let form = form.into_inner();
    let problem = |field, message| FormProblem {
        form: format!("revoke-{}", credit.0),
        field,
        message,
        typed: vec![("reason", form.reason.clone())],
    };
    let reason = match AdjustmentReason::parse(&form.reason) {
        Ok(reason) => reason,
        Err(error) => {
            return refused(
                &staff,
                &desk,
                credit,
                problem(Some("reason"), reason_problem(&error)),
            )
            .await;
        }
    };
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    let done = web::block(move || store.revoke_credit(&actor, credit, &reason, now)).await?;
    match done {
        Ok(revoked) => {
            let message = format!(
                "Credit {} revoked: {} taken, {} remains.",
                credit.0, revoked.before, revoked.after
            );
            Ok(back_with(&desk, &revoked, message))
        }
        Err(error) => {
            let message = refusal(error)?;
            refused(&staff, &desk, credit, problem(None, message)).await
        }
    }
}

/// The refusal's words for a person; an unknown credit is the 404 page and a
/// failure of the store its error page.
fn refusal(error: AdjustError) -> Result<String, AppError> {
    match error {
        AdjustError::NotFound(_) => Err(AppError::NotFound),
        AdjustError::Store(error) => Err(error.into()),
        refused => Ok(capitalise(&refused.to_string())),
    }
}

/// Back to the customer's page, which says what was done.
fn back_with(desk: &Desk, adjusted: &Adjusted, message: String) -> HttpResponse {
    desk.notes.see_other(
        &format!("/admin/customers/{}", adjusted.user.0),
        &Note { notice: message },
    )
}

/// The customer's page again, with the refusal beside the form (422); an
/// unknown credit is the 404 page.
async fn refused<P>(
    staff: &Staff<P>,
    desk: &Desk,
    credit: CreditId,
    problem: FormProblem,
) -> Result<HttpResponse, AppError> {
    let store = desk.store.clone();
    let owner: Option<UserId> = blocking(move || store.credit_owner(credit)).await?;
    let owner = owner.ok_or(AppError::NotFound)?;
    customer_page(
        staff,
        desk,
        owner,
        None,
        PageMessages {
            problem: Some(problem),
            ..PageMessages::default()
        },
    )
    .await
}
