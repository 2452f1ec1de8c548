//! `/admin/codes`: every code with its terms and where it stands, filtered; a
//! code's page with who redeemed it and when (how support follows a leaked
//! code); creating a code, and switching one off or on again.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use time::OffsetDateTime;

use super::console_page::{
    Desk, FormProblem, Note, csv_download, every_page, filtered_href, moment, next_page_href, verify_token,
    wants_csv,
};
use super::{ConsoleChrome, Staff, may};
use crate::domain::{Categories, CodeGrant, CodeKind, DiscountValue, Permission, PromoCode, format_last_day};
use crate::error::AppError;
use crate::listing::rows::code_cells;
use crate::listing::{Cell, Listing};
use crate::routes::{PAGE_SIZE, blocking, render_with_status};
use crate::store::audit::{AuditEntry, AuditFilter};
use crate::store::codes::{
    CodeFilter, CodeRecord, CodeRedemption, CodeState, CreateCodeError, NewCode, RedemptionGave, TypedCode,
};

/// How a code's terms read in the console's lists.
trait CodeTerms {
    fn code_record(&self) -> &CodeRecord;

    /// "$10.00", "15% off", "$5.00 off".
    fn value(&self) -> String {
        match self.code_record().grant {
            CodeGrant::Credit { amount, .. } | CodeGrant::GiftCard { amount } => amount.to_string(),
            CodeGrant::Discount(terms) => match terms.value {
                DiscountValue::Percent(percent) => format!("{percent}% off"),
                DiscountValue::AmountOff(amount) => format!("{amount} off"),
            },
        }
    }

    fn categories_in(&self, categories: &Categories) -> String {
        match self.code_record().grant {
            CodeGrant::Credit {
                categories: valid, ..
            } => categories.describe(valid),
            CodeGrant::GiftCard { .. } => "Everything (gift card)".to_owned(),
            CodeGrant::Discount(terms) => categories.describe(terms.categories),
        }
    }

    fn deadline(&self) -> String {
        self.code_record()
            .redeem_by
            .map_or_else(|| "None".to_owned(), format_last_day)
    }

    /// "3 of 5", "3 (no cap)".
    fn redeemed(&self) -> String {
        let code = self.code_record();
        match code.max_redemptions {
            Some(cap) => format!("{} of {cap}", code.redemptions),
            None => format!("{} (no cap)", code.redemptions),
        }
    }
}

impl CodeTerms for CodeRecord {
    fn code_record(&self) -> &CodeRecord {
        self
    }
}

#[derive(Template)]
#[template(path = "admin/codes.html")]
struct CodesPage {
    chrome: ConsoleChrome,
    categories: Arc<Categories>,
    now: OffsetDateTime,
    /// The filters as typed.
    query: String,
    kind: String,
    state: String,
    /// A filter that could not be read: the field and why.
    filter_problem: Option<(&'static str, String)>,
    codes: Vec<CodeRecord>,
    next: Option<String>,
    paged: bool,
    first_href: String,
    csv_href: String,
    may_manage: bool,
    /// A refused creation, shown again beside its field.
    problem: Option<FormProblem>,
}

impl CodesPage {
    fn state_of(&self, code: &CodeRecord) -> CodeState {
        code.state(self.now)
    }

    fn kinds(&self) -> [CodeKind; 3] {
        CodeKind::ALL
    }

    fn states(&self) -> [CodeState; 4] {
        CodeState::ALL
    }

    fn filter_error(&self, field: &str) -> Option<&str> {
        self.filter_problem
            .as_ref()
            .filter(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }

    fn error_at(&self, field: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .and_then(|problem| problem.at("create", field))
    }

    fn typed(&self, field: &str) -> &str {
        self.problem
            .as_ref()
            .map_or("", |problem| problem.typed("create", field))
    }

    /// The kind the create form shows chosen.
    fn kind_chosen(&self, kind: &CodeKind) -> bool {
        let typed = self.typed("kind");
        if typed.is_empty() {
            *kind == CodeKind::Credit
        } else {
            CodeKind::parse(typed) == Some(*kind)
        }
    }

    fn category_ticked(&self, slug: &str) -> bool {
        self.typed("categories").split(',').any(|typed| typed == slug)
    }

    /// Where the error summary's link leads.
    fn problem_anchor(&self) -> String {
        self.problem
            .as_ref()
            .and_then(|problem| problem.field)
            .map_or_else(|| "create".to_owned(), |field| format!("create-{field}"))
    }
}

#[derive(serde::Deserialize)]
pub struct CodeSearch {
    q: Option<String>,
    kind: Option<String>,
    state: Option<String>,
    before: Option<i64>,
    format: Option<String>,
}

/// The codes' filter from what was typed, or the field that could not be read.
fn code_filter(text: &str, kind: &str, state: &str) -> Result<CodeFilter, (&'static str, String)> {
    let kind = match kind.trim() {
        "" => None,
        typed => Some(
            CodeKind::parse(typed)
                .ok_or_else(|| ("kind", "Kind: choose credit, gift card or discount".to_owned()))?,
        ),
    };
    let state = match state.trim() {
        "" => None,
        typed => Some(CodeState::parse(typed).ok_or_else(|| {
            (
                "state",
                "State: choose active, switched off, past its deadline or used up".to_owned(),
            )
        })?),
    };
    Ok(CodeFilter {
        text: Some(text.trim().to_owned()).filter(|text| !text.is_empty()),
        kind,
        state,
    })
}

/// The console's columns of a code: the command's, with its number first and
/// where it stands last.
const CONSOLE_CODE_COLUMNS: &[&str] = &[
    "id",
    "code",
    "kind",
    "amount",
    "percent",
    "categories",
    "valid_days",
    "redemptions",
    "cap",
    "redeem_by",
    "active",
    "description",
    "state",
];

/// `GET /admin/codes?q=&kind=&state=`: every code, newest first, 20 a page;
/// `format=csv` downloads every code the filters let through.
pub async fn list(
    staff: Staff<may::ViewCustomers>,
    desk: Desk,
    query: web::Query<CodeSearch>,
) -> Result<HttpResponse, AppError> {
    let CodeSearch {
        q,
        kind,
        state,
        before,
        format,
    } = query.into_inner();
    let (text, kind, state) = (
        q.unwrap_or_default(),
        kind.unwrap_or_default(),
        state.unwrap_or_default(),
    );
    let now = desk.clock.now();
    let filters = [
        ("q", Some(text.trim())),
        ("kind", Some(kind.trim())),
        ("state", Some(state.trim())),
    ];
    let mut with_csv = filters.to_vec();
    with_csv.push(("format", Some("csv")));
    let filter = code_filter(&text, &kind, &state);
    if wants_csv(&staff, format.as_deref())?
        && let Ok(filter) = &filter
    {
        let (store, filter) = (desk.store.clone(), filter.clone());
        let codes =
            blocking(move || every_page(|before, size| store.codes_page(&filter, before, size, now))).await?;
        let categories = desk.store.categories();
        let mut listing = Listing::new(CONSOLE_CODE_COLUMNS);
        for code in &codes {
            let mut row = vec![Cell::Count(code.id)];
            row.extend(code_cells(code, &categories));
            row.push(Cell::text(code.state(now).label()));
            listing.push(row);
        }
        return csv_download("codes", &listing, now.date());
    }
    let mut page = CodesPage {
        chrome: ConsoleChrome::of(&staff),
        categories: desk.store.categories(),
        now,
        filter_problem: None,
        codes: Vec::new(),
        next: None,
        paged: before.is_some(),
        first_href: filtered_href("/admin/codes", &filters),
        csv_href: filtered_href("/admin/codes", &with_csv),
        may_manage: staff.member.role.may(Permission::ManageCodes),
        problem: None,
        query: text.clone(),
        kind: kind.clone(),
        state: state.clone(),
    };
    let filter = match filter {
        Ok(filter) => filter,
        Err(problem) => {
            page.filter_problem = Some(problem);
            return render_with_status(&page, StatusCode::BAD_REQUEST);
        }
    };
    let store = desk.store.clone();
    let found = blocking(move || store.codes_page(&filter, before, PAGE_SIZE, now)).await?;
    page.next = found
        .older
        .map(|older| next_page_href("/admin/codes", &filters, older));
    page.codes = found.entries;
    render_with_status(&page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "admin/code.html")]
struct CodePage {
    chrome: ConsoleChrome,
    code: CodeRecord,
    categories: Arc<Categories>,
    now: OffsetDateTime,
    redemptions: Vec<CodeRedemption>,
    next: Option<String>,
    paged: bool,
    /// The trail's entries about this code, newest first.
    audit: Vec<AuditEntry>,
    notice: Option<String>,
    may_manage: bool,
}

impl CodePage {
    fn when(&self, at: &OffsetDateTime) -> String {
        moment(*at)
    }

    fn state(&self) -> CodeState {
        self.code.state(self.now)
    }

    fn gives(&self) -> String {
        self.code.grant.describe(&self.categories)
    }

    fn kind_label(&self) -> &'static str {
        self.code.grant.code_kind().label()
    }

    fn valid_for(&self) -> Option<String> {
        match self.code.grant {
            CodeGrant::Credit {
                valid_for: Some(days),
                ..
            } => Some(format!("{} days after redemption", days.whole_days())),
            CodeGrant::Credit { valid_for: None, .. } => Some("No expiry".to_owned()),
            _ => None,
        }
    }

    fn why_not_redeemable(&self) -> Option<String> {
        self.code.why_not_redeemable(self.now)
    }

    /// What a redemption gave, in words.
    fn gave(&self, redemption: &CodeRedemption) -> String {
        match &redemption.gave {
            RedemptionGave::Credit {
                credit,
                amount,
                remaining,
            } => format!("Credit {} of {amount}: {remaining} remains", credit.0),
            RedemptionGave::Discount {
                discount_id,
                used_by_order: Some(order),
            } => format!("Discount {discount_id}, used on order {order}"),
            RedemptionGave::Discount {
                discount_id,
                used_by_order: None,
            } => format!("Discount {discount_id}, not used yet"),
            RedemptionGave::Nothing => "Nothing left to show".to_owned(),
        }
    }
}

#[derive(serde::Deserialize)]
pub struct RedemptionsQuery {
    before: Option<i64>,
    format: Option<String>,
}

const REDEMPTION_COLUMNS: &[&str] = &[
    "redemption",
    "redeemed_at",
    "customer",
    "email",
    "name",
    "credit",
    "amount",
    "remaining",
    "discount",
    "used_by_order",
];

/// `GET /admin/codes/{id}`: the code's terms, who redeemed it and when (20 a
/// page; `format=csv` for every redemption), and its trail.
pub async fn show(
    staff: Staff<may::ViewCustomers>,
    desk: Desk,
    id: web::Path<i64>,
    query: web::Query<RedemptionsQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let RedemptionsQuery { before, format } = query.into_inner();
    let now = desk.clock.now();
    let store = desk.store.clone();
    let code = blocking(move || store.code_by_id(id))
        .await?
        .ok_or(AppError::NotFound)?;
    if wants_csv(&staff, format.as_deref())? {
        let store = desk.store.clone();
        let redemptions =
            blocking(move || every_page(|before, size| store.code_redemptions_page(id, before, size)))
                .await?;
        let mut listing = Listing::new(REDEMPTION_COLUMNS);
        for redemption in &redemptions {
            let (credit, amount, remaining, discount, used) = match redemption.gave {
                RedemptionGave::Credit {
                    credit,
                    amount,
                    remaining,
                } => (
                    Cell::Count(credit.0),
                    Cell::Money(amount),
                    Cell::Money(remaining),
                    Cell::Nothing(""),
                    Cell::Nothing(""),
                ),
                RedemptionGave::Discount {
                    discount_id,
                    used_by_order,
                } => (
                    Cell::Nothing(""),
                    Cell::Nothing(""),
                    Cell::Nothing(""),
                    Cell::Count(discount_id),
                    used_by_order.map_or(Cell::Nothing(""), Cell::Count),
                ),
                RedemptionGave::Nothing => (
                    Cell::Nothing(""),
                    Cell::Nothing(""),
                    Cell::Nothing(""),
                    Cell::Nothing(""),
                    Cell::Nothing(""),
                ),
            };
            listing.push(vec![
                Cell::Count(redemption.id),
                Cell::Instant(redemption.redeemed_at),
                Cell::Count(redemption.user.0),
                Cell::text(redemption.email.clone()),
                Cell::text(redemption.name.clone()),
                credit,
                amount,
                remaining,
                discount,
                used,
            ]);
        }
        return csv_download(&format!("code-{}-redemptions", code.code), &listing, now.date());
    }
    let store = desk.store.clone();
    let subject = format!("code:{}", code.code);
    let (redemptions, audit) = blocking(move || {
        let filter = AuditFilter {
            subject: Some(subject),
            ..AuditFilter::default()
        };
        Ok::<_, crate::store::StoreError>((
            store.code_redemptions_page(id, before, PAGE_SIZE)?,
            store.audit_page(&filter, None, PAGE_SIZE)?,
        ))
    })
    .await?;
    let path = format!("/admin/codes/{id}");
    let shown_note = desk.waiting.is_some();
    let mut response = render_with_status(
        &CodePage {
            chrome: ConsoleChrome::of(&staff),
            categories: desk.store.categories(),
            now,
            next: redemptions.older.map(|older| next_page_href(&path, &[], older)),
            redemptions: redemptions.entries,
            paged: before.is_some(),
            audit: audit.entries,
            notice: desk.waiting.map(|note| note.notice),
            may_manage: staff.member.role.may(Permission::ManageCodes),
            code,
        },
        StatusCode::OK,
    )?;
    if shown_note && let Err(error) = response.add_cookie(&desk.notes.removal()) {
        tracing::warn!(%error, "could not forget a console note once shown");
    }
    Ok(response)
}

/// The create form, as typed: `categories` repeats, so it is read from the body
/// by hand.
#[derive(Debug, Default)]
struct CreateForm {
    code: String,
    kind: String,
    amount: String,
    percent: String,
    categories: Vec<String>,
    valid_days: String,
    redeem_by: String,
    max_redemptions: String,
    description: String,
    csrf_token: String,
}

impl CreateForm {
    fn parse(body: &[u8]) -> CreateForm {
        let mut form = CreateForm::default();
        for (name, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match name.as_ref() {
                "code" => form.code = value,
                "kind" => form.kind = value,
                "amount" => form.amount = value,
                "percent" => form.percent = value,
                "categories" => form.categories.push(value),
                "valid_days" => form.valid_days = value,
                "redeem_by" => form.redeem_by = value,
                "max_redemptions" => form.max_redemptions = value,
                "description" => form.description = value,
                "csrf_token" => form.csrf_token = value,
                _ => {}
            }
        }
        form
    }

    fn typed(&self) -> Vec<(&'static str, String)> {
        vec![
            ("code", self.code.clone()),
            ("kind", self.kind.clone()),
            ("amount", self.amount.clone()),
            ("percent", self.percent.clone()),
            ("categories", self.categories.join(",")),
            ("valid_days", self.valid_days.clone()),
            ("redeem_by", self.redeem_by.clone()),
            ("max_redemptions", self.max_redemptions.clone()),
            ("description", self.description.clone()),
        ]
    }
}

/// `POST /admin/codes`: creates a code by the rules of `storecredit code
/// create`; a field that cannot be read is the list again naming it (400), a
/// code that exists already a 409, and nothing is created.
pub async fn create(
    staff: Staff<may::ManageCodes>,
    desk: Desk,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = CreateForm::parse(&body);
    verify_token(&staff, &form.csrf_token)?;
    let now = desk.clock.now();
    let categories = form.categories.join(",");
    let typed = TypedCode {
        code: &form.code,
        kind: &form.kind,
        amount: Some(form.amount.as_str()),
        percent: Some(form.percent.as_str()),
        categories: Some(categories.as_str()),
        valid_days: Some(form.valid_days.as_str()),
        redeem_by: Some(form.redeem_by.as_str()),
        max_redemptions: Some(form.max_redemptions.as_str()),
        description: &form.description,
    };
    let refuse = |field: &'static str, message: String| FormProblem {
        form: "create".to_owned(),
        field: Some(field),
        message,
        typed: form.typed(),
    };
    let new = match NewCode::read(&typed, &desk.store.categories(), now) {
        Ok(new) => new,
        Err(problem) => {
            let message = format!("{}: {problem}", problem.field.label());
            let refused = refuse(problem.field.name(), message);
            return refused_page(&staff, &desk, refused, StatusCode::BAD_REQUEST).await;
        }
    };
    let (store, actor) = (desk.store.clone(), staff.actor());
    let created = {
        let new = new.clone();
        web::block(move || store.create_code(&actor, &new, now)).await?
    };
    match created {
        Ok(id) => {
            let reach = match new.max_redemptions {
                Some(1) => "redeemable once in all".to_owned(),
                Some(cap) => format!("redeemable by {cap} accounts in all"),
                None => "redeemable once by every account".to_owned(),
            };
            let notice = format!(
                "Code {} created: {}, {reach}.",
                new.code.as_str(),
                new.grant.describe(&desk.store.categories())
            );
            Ok(desk
                .notes
                .see_other(&format!("/admin/codes/{id}"), &Note { notice }))
        }
        Err(CreateCodeError::Taken(code)) => {
            let refused = refuse(
                "code",
                format!("Code: a code {code} already exists; choose another"),
            );
            refused_page(&staff, &desk, refused, StatusCode::CONFLICT).await
        }
        Err(refusal @ CreateCodeError::HiddenCategory(_)) => {
            let refused = refuse("categories", format!("Valid in: {refusal}"));
            refused_page(&staff, &desk, refused, StatusCode::BAD_REQUEST).await
        }
        Err(CreateCodeError::Store(error)) => Err(error.into()),
    }
}

/// The codes list (its first page) with the refused create form.
async fn refused_page<P>(
    staff: &Staff<P>,
    desk: &Desk,
    problem: FormProblem,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (store, now) = (desk.store.clone(), desk.clock.now());
    let found = blocking(move || store.codes_page(&CodeFilter::default(), None, PAGE_SIZE, now)).await?;
    let page = CodesPage {
        chrome: ConsoleChrome::of(staff),
        categories: desk.store.categories(),
        now,
        query: String::new(),
        kind: String::new(),
        state: String::new(),
        filter_problem: None,
        next: found
            .older
            .map(|older| next_page_href("/admin/codes", &[], older)),
        codes: found.entries,
        paged: false,
        first_href: "/admin/codes".to_owned(),
        csv_href: "/admin/codes?format=csv".to_owned(),
        may_manage: staff.member.role.may(Permission::ManageCodes),
        problem: Some(problem),
    };
    render_with_status(&page, status)
}

/// A form that carries only its token.
#[derive(serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/codes/{id}/deactivate`: no one can redeem it from now on; what
/// it granted already stays.
pub async fn deactivate(
    staff: Staff<may::ManageCodes>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    switch(&staff, &desk, id.into_inner(), false).await
}

/// `POST /admin/codes/{id}/reactivate`: redeemable again, within its deadline
/// and cap (the note says when these still stop it).
pub async fn reactivate(
    staff: Staff<may::ManageCodes>,
    desk: Desk,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    switch(&staff, &desk, id.into_inner(), true).await
}

async fn switch<P>(staff: &Staff<P>, desk: &Desk, id: i64, on: bool) -> Result<HttpResponse, AppError> {
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    let switched = blocking(
        move || -> Result<Option<(bool, CodeRecord)>, crate::store::StoreError> {
            let Some(record) = store.code_by_id(id)? else {
                return Ok(None);
            };
            // A bought gift card is voided by refunding its order, nothing else.
            if record.bought {
                return Ok(None);
            }
            // The name was stored normalised, so it reads back as itself.
            let Ok(code) = PromoCode::parse(&record.code) else {
                return Ok(None);
            };
            let changed = if on {
                store.reactivate_code(&actor, &code, now)?
            } else {
                store.deactivate_code(&actor, &code, now)?
            };
            let Some(changed) = changed else {
                return Ok(None);
            };
            let now_stored = store.code_by_id(id)?.unwrap_or(record);
            Ok(Some((changed, now_stored)))
        },
    )
    .await?;
    let (changed, record) = switched.ok_or(AppError::NotFound)?;
    let code = &record.shown();
    let notice = match (on, changed) {
        (false, true) => {
            format!(
                "Code {code} switched off: no one can redeem it from now on; what it granted already stays."
            )
        }
        (false, false) => format!("Code {code} was already switched off."),
        (true, changed) => {
            let done = if changed {
                format!("Code {code} is switched on again")
            } else {
                format!("Code {code} was already switched on")
            };
            match record.why_not_redeemable(now) {
                Some(why) => format!("{done}, but it still cannot be redeemed: {why}."),
                None => format!("{done}: it can be redeemed within its deadline and cap."),
            }
        }
    };
    Ok(desk
        .notes
        .see_other(&format!("/admin/codes/{id}"), &Note { notice }))
}
