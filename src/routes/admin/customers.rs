//! `/admin/customers`: finding a customer, and a customer's page (balances as
//! the pop-up shows them, every credit with its ledger, orders, sign-in, the
//! audit trail about them) with the sign-in actions beside the sign-in state.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use time::OffsetDateTime;

use super::console_page::{
    Desk, FormProblem, Note, csv_download, every_page, filtered_href, moment, next_page_href, signed_amount,
    verify_token, wants_csv,
};
use super::{ConsoleChrome, Staff, may};
use crate::auth::throttle::{SignInState, account as sign_in_subject};
use crate::domain::{
    Balances, Categories, CreditKind, CreditSource, CreditStatus, Permission, UserId, format_date,
    format_last_day,
};
use crate::error::AppError;
use crate::listing::Listing;
use crate::listing::rows::{ACCOUNT_COLUMNS, account_cells};
use crate::routes::{PAGE_SIZE, blocking, render_with_status};
use crate::store::audit::{AuditEntry, AuditFilter};
use crate::store::credits::{CreditActivity, LedgerEvent, LedgerEventKind};
use crate::store::orders::Receipt;
use crate::store::settings::Setting;
use crate::store::users::AccountSummary;

#[derive(Template)]
#[template(path = "admin/customers.html")]
struct CustomersPage {
    chrome: ConsoleChrome,
    /// The search as typed.
    query: String,
    customers: Vec<AccountSummary>,
    /// The link to the next (older) page, when there is one.
    next: Option<String>,
    /// This is not the first page.
    paged: bool,
    /// The first page of this search.
    first_href: String,
    /// This search as a CSV download.
    csv_href: String,
}

impl CustomersPage {
    fn since(&self, account: &AccountSummary) -> String {
        format_date(account.created_at)
    }
}

#[derive(serde::Deserialize)]
pub struct CustomerSearch {
    q: Option<String>,
    before: Option<i64>,
    format: Option<String>,
}

/// `GET /admin/customers?q=`: the accounts whose e-mail or name contains the
/// text, newest first, 20 a page.
pub async fn list(
    staff: Staff<may::ViewCustomers>,
    desk: Desk,
    query: web::Query<CustomerSearch>,
) -> Result<HttpResponse, AppError> {
    let CustomerSearch { q, before, format } = query.into_inner();
    let text = q.unwrap_or_default();
    if wants_csv(&staff, format.as_deref())? {
        let (store, search) = (desk.store, text.clone());
        let accounts =
            blocking(move || every_page(|before, size| store.accounts_page(Some(&search), before, size)))
                .await?;
        let mut listing = Listing::new(ACCOUNT_COLUMNS);
        for account in &accounts {
            listing.push(account_cells(account));
        }
        return csv_download("customers", &listing, desk.clock.now().date());
    }
    let (store, search) = (desk.store, text.clone());
    let page = blocking(move || store.accounts_page(Some(&search), before, PAGE_SIZE)).await?;
    let filters = [("q", Some(text.trim()))];
    let next = page
        .older
        .map(|older| next_page_href("/admin/customers", &filters, older));
    let first_href = filtered_href("/admin/customers", &filters);
    let csv_href = filtered_href(
        "/admin/customers",
        &[("q", Some(text.trim())), ("format", Some("csv"))],
    );
    render_with_status(
        &CustomersPage {
            chrome: ConsoleChrome::of(&staff),
            query: text,
            customers: page.entries,
            next,
            paged: before.is_some(),
            first_href,
            csv_href,
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "admin/customer.html")]
struct CustomerPage {
    chrome: ConsoleChrome,
    account: AccountSummary,
    balances: Balances,
    sign_in: SignInState,
    categories: Arc<Categories>,
    credits: Vec<CreditActivity>,
    /// The link to the customer's older credits, when there are any.
    older_credits: Option<String>,
    /// This page starts past the newest credits.
    credits_paged: bool,
    orders: Vec<Receipt>,
    /// The customer has more orders than the page lists.
    more_orders: bool,
    /// The newest entries of the audit trail about this customer.
    audit: Vec<AuditEntry>,
    notice: Option<String>,
    problem: Option<FormProblem>,
    may_manage_credits: bool,
    may_unlock: bool,
    /// The staff member may grant credit, and within which limits.
    may_grant: bool,
    grant_limits: Option<String>,
    now: OffsetDateTime,
}

/// How many of a credit's latest ledger entries the customer page shows.
const LEDGER_ENTRIES: usize = 50;

impl CustomerPage {
    fn status(&self, entry: &CreditActivity) -> &'static str {
        let emptied_by_operator = entry
            .events
            .first()
            .is_some_and(|event| event.kind == LedgerEventKind::Adjust);
        CreditStatus::of(&entry.credit, emptied_by_operator, self.now).label()
    }

    fn valid_for(&self, entry: &CreditActivity) -> String {
        match entry.credit.kind {
            CreditKind::GiftCard => "Everything (gift card)".to_owned(),
            CreditKind::Promotional(valid) => self.categories.describe(valid),
        }
    }

    fn expiry(&self, entry: &CreditActivity) -> String {
        entry
            .credit
            .expires_at
            .map_or_else(|| "Never".to_owned(), format_last_day)
    }

    fn when(&self, at: &OffsetDateTime) -> String {
        moment(*at)
    }

    fn day(&self, at: &OffsetDateTime) -> String {
        format_date(*at)
    }

    /// What a ledger event did, in words.
    fn what_happened(&self, event: &LedgerEvent) -> String {
        match (event.kind, event.order_id) {
            (LedgerEventKind::Grant, Some(order)) => format!("Granted back by the refund of order {order}"),
            (LedgerEventKind::Grant, None) => "Granted".to_owned(),
            (LedgerEventKind::Spend, Some(order)) => format!("Spent on order {order}"),
            (LedgerEventKind::Spend, None) => "Spent".to_owned(),
            (LedgerEventKind::Refund, Some(order)) => format!("Returned by the refund of order {order}"),
            (LedgerEventKind::Refund, None) => "Returned".to_owned(),
            (LedgerEventKind::Adjust, _) => "Adjusted".to_owned(),
        }
    }

    fn change(&self, event: &LedgerEvent) -> String {
        signed_amount(event.change_cents)
    }

    /// Who made a ledger event: staff or a command by name; else the customer
    /// (spending at checkout, redeeming a code) or the store (a refund, and
    /// events older than the trail).
    fn made_by(&self, entry: &CreditActivity, event: &LedgerEvent) -> String {
        match (&event.actor, event.kind, entry.source) {
            (Some(actor), _, _) => actor.clone(),
            (None, LedgerEventKind::Spend, _) => "the customer, at checkout".to_owned(),
            (None, LedgerEventKind::Grant, CreditSource::PromoCode | CreditSource::GiftCardCode) => {
                "the customer, redeeming a code".to_owned()
            }
            (None, _, _) => "the store".to_owned(),
        }
    }

    fn sign_in_words(&self) -> String {
        match self.sign_in {
            SignInState::Open { failed: 0 } => "Open".to_owned(),
            SignInState::Open { failed } => format!("Open ({failed} recent failed attempts)"),
            SignInState::Paused { attempts, until } => {
                format!("Paused after {attempts} failed attempts, until {}", moment(until))
            }
        }
    }

    /// The audit trail, filtered to this customer.
    fn trail_href(&self) -> String {
        format!("/admin/audit?customer={}", self.account.id.0)
    }

    /// The orders list, filtered to this customer's e-mail.
    fn all_orders_href(&self) -> String {
        filtered_href("/admin/orders", &[("q", Some(&self.account.email))])
    }

    fn is_paused(&self) -> bool {
        matches!(self.sign_in, SignInState::Paused { .. })
    }

    /// The refusal shown beside `field` of the `kind` form of credit `credit`.
    fn error_at(&self, kind: &str, credit: &i64, field: &str) -> Option<&str> {
        let form = format!("{kind}-{credit}");
        self.problem.as_ref().and_then(|problem| problem.at(&form, field))
    }

    /// The grant form's refusal about `field`.
    fn grant_error(&self, field: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .and_then(|problem| problem.at("grant", field))
    }

    /// What was typed into the grant form's `field`, shown again after a refusal.
    fn grant_typed(&self, field: &str) -> &str {
        self.problem
            .as_ref()
            .map_or("", |problem| problem.typed("grant", field))
    }

    /// Whether the grant form's box for category `slug` stays ticked.
    fn grant_category_ticked(&self, slug: &str) -> bool {
        self.grant_typed("categories")
            .split(',')
            .any(|typed| typed == slug)
    }

    /// The refusal of the `kind` form of credit `credit` as a whole.
    fn form_error(&self, kind: &str, credit: &i64) -> Option<&str> {
        let form = format!("{kind}-{credit}");
        self.problem.as_ref().and_then(|problem| problem.of_form(&form))
    }

    /// What was typed into `field` of that form, shown again after a refusal.
    fn typed(&self, kind: &str, credit: &i64, field: &str) -> &str {
        let form = format!("{kind}-{credit}");
        self.problem
            .as_ref()
            .map_or("", |problem| problem.typed(&form, field))
    }

    /// Where the error summary's link leads: the field (or form) at fault.
    fn problem_anchor(&self) -> String {
        self.problem
            .as_ref()
            .map_or_else(String::new, |problem| match problem.field {
                Some(field) => format!("{}-{field}", problem.form),
                None => problem.form.clone(),
            })
    }
}

#[derive(serde::Deserialize)]
pub struct CreditsPage {
    before: Option<i64>,
}

/// `GET /admin/customers/{id}`.
pub async fn show(
    staff: Staff<may::ViewCustomers>,
    desk: Desk,
    id: web::Path<i64>,
    query: web::Query<CreditsPage>,
) -> Result<HttpResponse, AppError> {
    let note = desk.waiting.clone().unwrap_or_default();
    let mut response = customer_page(
        &staff,
        &desk,
        UserId(id.into_inner()),
        query.before,
        PageMessages {
            notice: Some(note.notice).filter(|notice| !notice.is_empty()),
            problem: None,
        },
    )
    .await?;
    if desk.waiting.is_some() {
        // Shown once.
        response
            .add_cookie(&desk.notes.removal())
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(response)
}

/// What a customer page says above its facts: a message left by the action just
/// done, or why a form was refused.
#[derive(Default)]
pub struct PageMessages {
    pub notice: Option<String>,
    pub problem: Option<FormProblem>,
}

/// The customer page of `user` (404 for an unknown account), with status 422
/// when it shows a refused form again.
pub async fn customer_page<P>(
    staff: &Staff<P>,
    desk: &Desk,
    user: UserId,
    credits_before: Option<i64>,
    messages: PageMessages,
) -> Result<HttpResponse, AppError> {
    let (store, now) = (desk.store.clone(), desk.clock.now());
    let found = blocking(move || {
        let Some(account) = store.account_by_id(user)? else {
            return Ok::<_, crate::store::StoreError>(None);
        };
        let balances = store.balances_for(user, now)?;
        let credits = store.credit_activity_page(user, credits_before, PAGE_SIZE, LEDGER_ENTRIES)?;
        let orders = store.orders_page(user, None, PAGE_SIZE)?;
        let filter = AuditFilter {
            customer: Some(user),
            ..AuditFilter::default()
        };
        let audit = store.audit_page(&filter, None, PAGE_SIZE)?;
        Ok(Some((account, balances, credits, orders, audit)))
    })
    .await?;
    let Some((account, balances, credits, orders, audit)) = found else {
        return Err(AppError::NotFound);
    };
    let sign_in = desk.throttle.sign_in_state(&account.email).await?;
    let store = desk.store.clone();
    let settings = blocking(move || store.settings()).await?;
    let setting = |wanted: Setting| {
        settings
            .iter()
            .find(|(setting, _)| *setting == wanted)
            .map_or_else(|| wanted.default_value(), |(_, value)| *value)
    };
    let status = if messages.problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let role = staff.member.role;
    let page = CustomerPage {
        chrome: ConsoleChrome::of(staff),
        older_credits: credits
            .older
            .map(|older| next_page_href(&format!("/admin/customers/{}", user.0), &[], older)),
        credits_paged: credits_before.is_some(),
        credits: credits.entries,
        more_orders: orders.older.is_some(),
        orders: orders.entries,
        audit: audit.entries,
        account,
        balances,
        sign_in,
        categories: desk.store.categories(),
        notice: messages.notice,
        problem: messages.problem,
        may_manage_credits: role.may(Permission::ManageCredits),
        may_unlock: role.may(Permission::UnlockAndReset),
        may_grant: role.may(Permission::GoodwillGrant),
        grant_limits: (role == crate::domain::Role::Support).then(|| {
            format!(
                "As support you grant at most {} a grant and {} a day.",
                setting(Setting::SupportGrantLimit),
                setting(Setting::SupportDayLimit)
            )
        }),
        now,
    };
    render_with_status(&page, status)
}

/// A form that carries only its token.
#[derive(serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf_token: String,
}

/// The customer, or the 404 page.
async fn customer(desk: &Desk, user: UserId) -> Result<AccountSummary, AppError> {
    let store = desk.store.clone();
    blocking(move || store.account_by_id(user))
        .await?
        .ok_or(AppError::NotFound)
}

/// `POST /admin/customers/{id}/unlock`: opens a paused sign-in now.
pub async fn unlock(
    staff: Staff<may::UnlockAndReset>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let account = customer(&desk, UserId(id.into_inner())).await?;
    let (store, actor, now, user) = (desk.store.clone(), staff.actor(), desk.clock.now(), account.id);
    let subject = sign_in_subject(&account.email);
    let cleared = blocking(move || store.clear_attempts(&actor, user, &subject, now)).await?;
    let message = match desk.throttle.sign_in_state_from(cleared) {
        SignInState::Paused { attempts, .. } => format!(
            "Sign-in for {} was paused after {attempts} failed attempts; it is open again.",
            account.email
        ),
        SignInState::Open { failed: 0 } => {
            format!("Sign-in for {} was not paused; nothing to clear.", account.email)
        }
        SignInState::Open { failed } => format!(
            "Sign-in for {} was not paused; its {failed} recent failed attempts are forgotten.",
            account.email
        ),
    };
    Ok(desk
        .notes
        .see_other(&format!("/admin/customers/{}", user.0), &Note { notice: message }))
}

/// `POST /admin/customers/{id}/reset-link`: a one-time password reset link, shown
/// once on the customer's page for staff to give them (no mail is sent).
pub async fn reset_link(
    staff: Staff<may::UnlockAndReset>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let account = customer(&desk, UserId(id.into_inner())).await?;
    let (store, actor, now, user) = (desk.store.clone(), staff.actor(), desk.clock.now(), account.id);
    // The link goes to the customer's own address, never to the staff member:
    // whoever could read it could take the account over.
    blocking(move || store.mail_reset_link(&actor, user, now)).await?;
    let note = Note {
        notice: format!(
            "A password reset link was sent to {}. It works once, for 30 minutes.",
            account.email
        ),
    };
    Ok(desk
        .notes
        .see_other(&format!("/admin/customers/{}", user.0), &note))
}
