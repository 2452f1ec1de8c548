//! What the customer and order pages of the console share: the header's facts,
//! the check of a console form's token, a refused form's problem, and how the
//! console writes amounts, moments and the next page's link.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::macros::format_description;

use super::Staff;
use crate::auth::throttle::Throttle;
use crate::clock::Clock;
use crate::error::AppError;
use crate::routes::assets;
use crate::routes::password_reset::LinkOrigin;
use crate::store::Store;

/// What a console page works with, taken from the app in one argument: the
/// store, the clock, the sign-in throttle (to tell a paused account), the
/// session (for the message the next page shows) and where links point.
pub struct Desk {
    pub store: Store,
    pub clock: Clock,
    pub throttle: Throttle,
    pub session: Session,
    pub link_origin: String,
}

impl FromRequest for Desk {
    type Error = AppError;
    type Future = Ready<Result<Desk, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        fn data<T: 'static>(request: &HttpRequest) -> Result<&web::Data<T>, AppError> {
            request.app_data::<web::Data<T>>().ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("the app has no {}", std::any::type_name::<T>()))
            })
        }
        ready((|| {
            Ok(Desk {
                store: data::<Store>(request)?.get_ref().clone(),
                clock: data::<Clock>(request)?.get_ref().clone(),
                throttle: data::<Throttle>(request)?.get_ref().clone(),
                session: request.get_session(),
                link_origin: data::<LinkOrigin>(request)?.0.clone(),
            })
        })())
    }
}

/// What the console's layout shows on every page: who is signed in and the
/// sign-out form's token.
#[derive(Debug, Clone)]
pub struct ConsoleChrome {
    pub member_name: String,
    pub member_email: String,
    pub role: &'static str,
    pub csrf_token: String,
    pub stylesheet: &'static str,
}

impl ConsoleChrome {
    pub fn of<P>(staff: &Staff<P>) -> ConsoleChrome {
        ConsoleChrome {
            member_name: staff.member.name.clone(),
            member_email: staff.member.email.clone(),
            role: staff.member.role.as_str(),
            csrf_token: staff.csrf_token.clone(),
            stylesheet: assets::stylesheet_url(),
        }
    }
}

/// A console form's token must be this session's: a page of another site cannot
/// make a staff member's browser change anything.
pub fn verify_token<P>(staff: &Staff<P>, typed: &str) -> Result<(), AppError> {
    let expected = staff.csrf_token.as_bytes();
    if expected.is_empty() || !bool::from(expected.ct_eq(typed.as_bytes())) {
        return Err(AppError::CsrfRejected);
    }
    Ok(())
}

/// Why a form was refused, tied to the form and the field it names, with what
/// was typed, so the page shows it again beside that field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormProblem {
    /// Which form: e.g. `adjust-12` (the adjust form of credit 12).
    pub form: String,
    /// The field the message is about; `None` for the form as a whole.
    pub field: Option<&'static str>,
    pub message: String,
    /// What was typed, by field name.
    pub typed: Vec<(&'static str, String)>,
}

impl FormProblem {
    /// The message, when it is about `field` of `form`.
    pub fn at(&self, form: &str, field: &str) -> Option<&str> {
        (self.form == form && self.field == Some(field)).then_some(self.message.as_str())
    }

    /// The message, when it is about `form` as a whole.
    pub fn of_form(&self, form: &str) -> Option<&str> {
        (self.form == form && self.field.is_none()).then_some(self.message.as_str())
    }

    /// What was typed into `field` of `form`, to show it again.
    pub fn typed(&self, form: &str, field: &str) -> &str {
        if self.form != form {
            return "";
        }
        self.typed
            .iter()
            .find(|(name, _)| *name == field)
            .map_or("", |(_, value)| value.as_str())
    }
}

/// "+$10.00" or "−$0.99" (a true minus sign), from signed cents.
pub fn signed_amount(cents: i64) -> String {
    let amount = crate::domain::Money::from_cents(cents.abs());
    if cents < 0 {
        format!("\u{2212}{amount}")
    } else {
        format!("+{amount}")
    }
}

/// "2026-12-07 18:30 UTC": when something happened, to the minute.
pub fn moment(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
        .unwrap_or_default()
}

/// `path?name=value&…`: a list's address with the filters that are set.
pub fn filtered_href(path: &str, filters: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = filters
        .iter()
        .filter_map(|(name, value)| {
            let value = value.filter(|value| !value.is_empty())?;
            Some(format!("{name}={}", utf8_percent_encode(value, NON_ALPHANUMERIC)))
        })
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// `path?name=value&…&before=ID`: the link to the next (older) page, keeping the
/// filters that are set.
pub fn next_page_href(path: &str, filters: &[(&str, Option<&str>)], before: i64) -> String {
    let first = filtered_href(path, filters);
    let joiner = if first.contains('?') { '&' } else { '?' };
    format!("{first}{joiner}before={before}")
}

const RESET_LINK_KEY: &str = "console_reset_link";

/// Keeps a reset link a staff member just made, to show it once on the next page.
pub fn leave_reset_link(session: &Session, link: &str) {
    if let Err(e) = session.insert(RESET_LINK_KEY, link) {
        tracing::warn!(error = %e, "could not keep a reset link for the next page");
    }
}

/// The reset link waiting to be shown, if any; it is shown once.
pub fn take_reset_link(session: &Session) -> Option<String> {
    if !session.contains_key(RESET_LINK_KEY) {
        return None;
    }
    session.remove_as::<String>(RESET_LINK_KEY).and_then(Result::ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_the_filters_that_are_set_encoded() {
        assert_eq!(
            next_page_href(
                "/admin/orders",
                &[
                    ("from", Some("2026-12-01")),
                    ("to", None),
                    ("q", Some("ann & co"))
                ],
                41
            ),
            "/admin/orders?from=2026%2D12%2D01&q=ann%20%26%20co&before=41"
        );
        assert_eq!(
            next_page_href("/admin/customers", &[("q", Some(""))], 7),
            "/admin/customers?before=7"
        );
        assert_eq!(filtered_href("/admin/orders", &[("q", None)]), "/admin/orders");
    }

    #[test]
    fn a_problem_shows_only_beside_its_own_form_and_field() {
        let problem = FormProblem {
            form: "adjust-12".into(),
            field: Some("amount"),
            message: "Amount: enter an amount such as 10.00".into(),
            typed: vec![("amount", "2,50".into()), ("reason", "typo".into())],
        };
        assert_eq!(
            problem.at("adjust-12", "amount"),
            Some("Amount: enter an amount such as 10.00")
        );
        assert_eq!(problem.at("adjust-13", "amount"), None);
        assert_eq!(problem.at("adjust-12", "reason"), None);
        assert_eq!(problem.of_form("adjust-12"), None);
        assert_eq!(problem.typed("adjust-12", "amount"), "2,50");
        assert_eq!(problem.typed("revoke-12", "reason"), "");
    }

    #[test]
    fn changes_read_with_their_sign() {
        assert_eq!(signed_amount(-250), "\u{2212}$2.50");
        assert_eq!(signed_amount(100), "+$1.00");
    }
}
