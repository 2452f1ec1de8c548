//! `/admin/settings` (owners): the approval threshold and the support staff's
//! goodwill limits, changed in one form; each change is in the audit trail
//! with its value before and after.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::console_page::{Desk, FormProblem, Note, verify_token};
use super::fields::{Field, field, problem_anchor};
use super::{ConsoleChrome, Staff, may};
use crate::domain::Money;
use crate::error::AppError;
use crate::routes::{blocking, capitalise, render_with_status};
use crate::store::settings::{Setting, SettingsError};

/// A setting as the form shows it: its field name, label and what it does.
struct Row {
    setting: Setting,
    field: &'static str,
    label: &'static str,
    hint: &'static str,
}

const ROWS: [Row; 3] = [
    Row {
        setting: Setting::ApprovalThreshold,
        field: "approval_threshold",
        label: "Approval threshold",
        hint: "Grants and upward adjustments above it wait for another manager's or owner's approval.",
    },
    Row {
        setting: Setting::SupportGrantLimit,
        field: "support_grant_limit",
        label: "Support limit per grant",
        hint: "The most one goodwill grant by support staff may be.",
    },
    Row {
        setting: Setting::SupportDayLimit,
        field: "support_day_limit",
        label: "Support limit per day",
        hint: "The most each support staff member may grant as goodwill in a day (UTC).",
    },
];

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    chrome: ConsoleChrome,
    /// Each row with its field as it stands (or as typed after a refusal).
    rows: Vec<(&'static str, &'static str, &'static str, Field)>,
    notice: Option<String>,
    problem: Option<FormProblem>,
}

impl SettingsPage {
    fn anchor(&self) -> String {
        problem_anchor(self.problem.as_ref())
    }
}

async fn settings_page(
    staff: &Staff<may::Settings>,
    desk: &Desk,
    notice: Option<String>,
    problem: Option<FormProblem>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let store = desk.store.clone();
    let values = blocking(move || store.settings()).await?;
    let rows = ROWS
        .iter()
        .map(|row| {
            let value = values
                .iter()
                .find(|(setting, _)| *setting == row.setting)
                .map_or_else(|| row.setting.default_value(), |(_, value)| *value);
            let shown = value.to_string();
            let field = field(
                problem.as_ref(),
                "settings",
                row.field,
                shown.trim_start_matches('$'),
            );
            (row.field, row.label, row.hint, field)
        })
        .collect();
    render_with_status(
        &SettingsPage {
            chrome: ConsoleChrome::of(staff),
            rows,
            notice,
            problem,
        },
        status,
    )
}

/// `GET /admin/settings`.
pub async fn show(staff: Staff<may::Settings>, desk: Desk) -> Result<HttpResponse, AppError> {
    let notice = desk
        .waiting
        .clone()
        .map(|note| note.notice)
        .filter(|notice| !notice.is_empty());
    let mut response = settings_page(&staff, &desk, notice, None, StatusCode::OK).await?;
    if desk.waiting.is_some() {
        response
            .add_cookie(&desk.notes.removal())
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    approval_threshold: String,
    #[serde(default)]
    support_grant_limit: String,
    #[serde(default)]
    support_day_limit: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /admin/settings` with `approval_threshold`, `support_grant_limit`,
/// `support_day_limit` (amounts: `12.50`, `12`, `$12.50`): those that differ
/// are changed, in one transaction.
pub async fn change(
    staff: Staff<may::Settings>,
    desk: Desk,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    verify_token(&staff, &form.csrf_token)?;
    let form = form.into_inner();
    let typed = vec![
        ("approval_threshold", form.approval_threshold.clone()),
        ("support_grant_limit", form.support_grant_limit.clone()),
        ("support_day_limit", form.support_day_limit.clone()),
    ];
    let problem = |field: Option<&'static str>, message: String| FormProblem {
        form: "settings".into(),
        field,
        message,
        typed: typed.clone(),
    };
    let mut values = Vec::new();
    for (row, (name, text)) in ROWS.iter().zip(&typed) {
        match Money::parse(text) {
            Ok(amount) => values.push((row.setting, amount)),
            Err(error) => {
                let problem = problem(Some(name), format!("{}: {error}", row.label));
                return settings_page(&staff, &desk, None, Some(problem), StatusCode::BAD_REQUEST).await;
            }
        }
    }
    let (store, actor, now) = (desk.store.clone(), staff.actor(), desk.clock.now());
    match web::block(move || store.change_settings(&actor, &values, now)).await? {
        Ok(changed) => {
            let notice = if changed.is_empty() {
                "Nothing changed: every setting already had that value.".to_owned()
            } else {
                let said: Vec<String> = changed
                    .iter()
                    .map(|(setting, before, after)| {
                        let label = ROWS
                            .iter()
                            .find(|row| row.setting == *setting)
                            .map_or(setting.name(), |row| row.label);
                        format!("{label} is now {after} (was {before})")
                    })
                    .collect();
                format!("{}.", said.join("; "))
            };
            Ok(desk.notes.see_other("/admin/settings", &Note { notice }))
        }
        Err(SettingsError::Store(error)) => Err(error.into()),
        Err(refused) => {
            let problem = problem(Some("support_grant_limit"), capitalise(&refused.to_string()));
            settings_page(&staff, &desk, None, Some(problem), StatusCode::BAD_REQUEST).await
        }
    }
}
