//! `POST /admin/customers/{id}/credits`: a staff member grants a customer credit
//! from their page. Support staff grant goodwill within their limits (above
//! them: 403, saying the limit); managers and owners grant any amount, and one
//! above the approval threshold waits for a second person (four eyes).

use actix_web::{HttpResponse, web};

use super::console_page::{Desk, FormProblem, Note, verify_token};
use super::customers::{PageMessages, customer_page};
use super::{Staff, may};
use crate::domain::{AdjustmentReason, CategorySet, CreditKind, CreditSource, LastDay, Money, Role, UserId};
use crate::error::AppError;
use crate::routes::capitalise;
use crate::store::approvals::{GrantAuthority, GrantError, GrantOutcome};
use crate::store::credits::NewCredit;

/// What the shopper reads as the credit's description when the form leaves it empty.
const DEFAULT_NOTE: &str = "Credit from customer service";

/// The grant form, as typed: `categories` repeats, so it is read from the body
/// by hand (`amount`, `categories`…, `gift_card`, `expires`, `reason`, `note`,
/// `csrf_token`).
#[derive(Debug, Default)]
struct GrantForm {
    amount: String,
    categories: Vec<String>,
    gift_card: bool,
    expires: String,
    reason: String,
    note: String,
    csrf_token: String,
}

impl GrantForm {
    fn parse(body: &[u8]) -> GrantForm {
        let mut form = GrantForm::default();
        for (name, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match name.as_ref() {
                "amount" => form.amount = value,
                "categories" => form.categories.push(value),
                "gift_card" => form.gift_card = !value.is_empty(),
                "expires" => form.expires = value,
                "reason" => form.reason = value,
                "note" => form.note = value,
                "csrf_token" => form.csrf_token = value,
                _ => {}
            }
        }
        form
    }

    fn typed(&self) -> Vec<(&'static str, String)> {
        vec![
            ("amount", self.amount.clone()),
            ("categories", self.categories.join(",")),
            (
                "gift_card",
                if self.gift_card {
                    "on".into()
                } else {
                    String::new()
                },
            ),
            ("expires", self.expires.clone()),
            ("reason", self.reason.clone()),
            ("note", self.note.clone()),
        ]
    }
}

/// `POST /admin/customers/{id}/credits`.
pub async fn grant(
    staff: Staff<may::GoodwillGrant>,
    desk: Desk,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = GrantForm::parse(&body);
    verify_token(&staff, &form.csrf_token)?;
    let user = UserId(id.into_inner());
    let refuse = |field: Option<&'static str>, message: String| FormProblem {
        form: "grant".to_owned(),
        field,
        message,
        typed: form.typed(),
    };
    let now = desk.clock.now();
    let credit = match new_credit(&desk, &form, now) {
        Ok(credit) => credit,
        Err((field, message)) => return refused(&staff, &desk, user, refuse(Some(field), message)).await,
    };
    let reason = match AdjustmentReason::parse(&form.reason) {
        Ok(reason) => reason,
        Err(error) => {
            let message = super::credits::reason_problem(&error);
            return refused(&staff, &desk, user, refuse(Some("reason"), message)).await;
        }
    };
    let authority = match staff.member.role {
        Role::Support => GrantAuthority::Goodwill,
        _ => GrantAuthority::Full,
    };
    let (store, actor) = (desk.store.clone(), staff.actor());
    let amount = credit.amount;
    let asked = web::block(move || store.ask_grant(&actor, authority, user, &credit, &reason, now)).await?;
    let notice = match asked {
        Ok(GrantOutcome::Granted(credit)) => format!("Credit {} of {amount} granted.", credit.0),
        Ok(GrantOutcome::AwaitingApproval { request, threshold }) => format!(
            "{amount} is above the {threshold} approval threshold: nothing is granted yet. \
             It waits as request {request} until another manager or owner approves it."
        ),
        Err(over @ GrantError::OverSupportLimit { .. }) => {
            return Err(AppError::OverLimit(capitalise(&over.to_string())));
        }
        Err(GrantError::NoSuchCustomer(_)) => return Err(AppError::NotFound),
        Err(GrantError::Store(error)) => return Err(error.into()),
        Err(refusal @ (GrantError::NothingToGrant | GrantError::NoCategory | GrantError::AlreadyExpired)) => {
            let field = match refusal {
                GrantError::NoCategory => "categories",
                GrantError::AlreadyExpired => "expires",
                _ => "amount",
            };
            let message = capitalise(&refusal.to_string());
            return refused(&staff, &desk, user, refuse(Some(field), message)).await;
        }
    };
    Ok(desk
        .notes
        .see_other(&format!("/admin/customers/{}", user.0), &Note { notice }))
}

/// The credit the form describes, or the field at fault and why.
fn new_credit(
    desk: &Desk,
    form: &GrantForm,
    now: time::OffsetDateTime,
) -> Result<NewCredit, (&'static str, String)> {
    let amount = Money::parse(&form.amount).map_err(|error| ("amount", format!("Amount: {error}")))?;
    if amount.is_zero() {
        return Err((
            "amount",
            "Amount: a credit must be worth more than $0.00".to_owned(),
        ));
    }
    let categories = desk.store.categories();
    let kind = if form.gift_card {
        if !form.categories.is_empty() {
            return Err((
                "categories",
                "Categories: a gift card is valid for everything; choose categories or gift card, not both"
                    .to_owned(),
            ));
        }
        CreditKind::GiftCard
    } else {
        let mut set = CategorySet::EMPTY;
        for slug in &form.categories {
            let category = categories
                .by_slug(slug)
                .ok_or_else(|| ("categories", "Categories: choose from the list".to_owned()))?;
            set = set.with(category.id());
        }
        if set.is_empty() {
            return Err((
                "categories",
                "Categories: choose at least one, or gift card".to_owned(),
            ));
        }
        CreditKind::Promotional(set)
    };
    let expires_at = match form.expires.trim() {
        "" => None,
        day => {
            let ends = LastDay::parse(day)
                .map_err(|_| ("expires", "Last day: write it as YYYY-MM-DD".to_owned()))?
                .ends_at();
            if ends <= now {
                return Err(("expires", "Last day: that day has already passed".to_owned()));
            }
            Some(ends)
        }
    };
    let note = form.note.trim();
    if note.chars().count() > 200 || note.chars().any(char::is_control) {
        return Err((
            "note",
            "Note for the customer: one line of at most 200 characters".to_owned(),
        ));
    }
    Ok(NewCredit {
        kind,
        source: CreditSource::Grant,
        description: if note.is_empty() { DEFAULT_NOTE } else { note }.to_owned(),
        amount,
        expires_at,
        code_redemption_id: None,
    })
}

/// The customer's page again with the refusal beside the grant form (422).
async fn refused<P>(
    staff: &Staff<P>,
    desk: &Desk,
    user: UserId,
    problem: FormProblem,
) -> Result<HttpResponse, AppError> {
    customer_page(
        staff,
        desk,
        user,
        None,
        PageMessages {
            problem: Some(problem),
            ..PageMessages::default()
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_repeated_categories_and_the_gift_card_box() {
        let form = GrantForm::parse(
            b"amount=10.00&categories=music&categories=kindle&reason=late+delivery&csrf_token=t",
        );
        assert_eq!(form.categories, ["music", "kindle"]);
        assert!(!form.gift_card);
        assert_eq!(form.reason, "late delivery");
        assert!(GrantForm::parse(b"gift_card=on").gift_card);
    }
}
