//! `POST /admin/orders/{id}/refund`: a manager refunds an order, whole or in
//! part, with a reason, from the order's page; answered there with what went
//! where, or the page again (422) naming the field at fault, nothing changed.

use actix_web::{HttpResponse, web};

use super::console_page::{Desk, FormProblem, Note, verify_token};
use super::orders::order_page;
use super::{Staff, may};
use crate::domain::{AdjustmentReason, Money};
use crate::error::AppError;
use crate::routes::capitalise;
use crate::store::orders::{RefundError, RefundRequest, RevokedShareTo};

#[derive(serde::Deserialize)]
pub struct RefundForm {
    /// Empty: what is left.
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    /// Where a revoked credit's share goes: empty (withheld), `credit` or `card`.
    #[serde(default)]
    revoked_to: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/orders/{id}/refund` with `amount` (empty = what is left),
/// `reason` and `revoked_to`.
pub async fn refund(
    staff: Staff<may::Refund>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<RefundForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let order = id.into_inner();
    let form = form.into_inner();
    let problem = |field, message| FormProblem {
        form: "refund".to_owned(),
        field,
        message,
        typed: vec![
            ("amount", form.amount.clone()),
            ("reason", form.reason.clone()),
            ("revoked_to", form.revoked_to.clone()),
        ],
    };
    let amount = match form.amount.trim() {
        "" => None,
        typed => match Money::parse(typed) {
            Ok(amount) => Some(amount),
            Err(error) => {
                let refused = problem(Some("amount"), format!("Amount: {error}"));
                return order_page(&staff, desk, order, Some(refused)).await;
            }
        },
    };
    let reason = match AdjustmentReason::parse(&form.reason) {
        Ok(reason) => reason,
        Err(error) => {
            let refused = problem(Some("reason"), super::credits::reason_problem(&error));
            return order_page(&staff, desk, order, Some(refused)).await;
        }
    };
    let revoked_share_to = match form.revoked_to.trim() {
        "" | "withhold" => None,
        typed => match RevokedShareTo::parse(typed) {
            Some(to) => Some(to),
            None => {
                let refused = problem(
                    Some("revoked_to"),
                    "A revoked credit's share: choose from the list".to_owned(),
                );
                return order_page(&staff, desk, order, Some(refused)).await;
            }
        },
    };
    let request = RefundRequest {
        amount,
        reason,
        revoked_share_to,
    };
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    let done = web::block(move || store.refund_order(&actor, order, &request, now)).await?;
    match done {
        Ok(refunded) => Ok(desk.notes.see_other(
            &format!("/admin/orders/{order}"),
            &Note {
                notice: refunded.to_string(),
            },
        )),
        Err(RefundError::NotFound(_)) => Err(AppError::NotFound),
        Err(RefundError::Store(error)) => Err(error.into()),
        Err(refused) => {
            let field = match refused {
                RefundError::NoCardToRefund(_) => Some("revoked_to"),
                RefundError::AlreadyRefunded(_) | RefundError::GiftCardRedeemed { .. } => None,
                _ => Some("amount"),
            };
            let refused = problem(field, capitalise(&refused.to_string()));
            order_page(&staff, desk, order, Some(refused)).await
        }
    }
}
