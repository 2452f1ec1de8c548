//! What the customer and order pages of the console share: what a handler works
//! with ([`Desk`]), the check of a console form's token, a refused form's
//! problem, the note an action leaves for the next page, and how the console
//! writes amounts, moments and the next page's link.

use std::future::{Ready, ready};

use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use time::OffsetDateTime;
use time::macros::format_description;

use super::Staff;
use crate::auth::throttle::Throttle;
use crate::clock::Clock;
use crate::domain::Permission;
use crate::error::AppError;
use crate::listing::{Format, Listing};
use crate::routes::password_reset::LinkOrigin;
use crate::routes::see_other;
use crate::store::Store;

/// What a console page works with, taken from the app in one argument: the
/// store, the clock, the sign-in throttle (to tell a paused account), the notes
/// left for the next page (and the one this request carries), and where links
/// point.
pub struct Desk {
    pub store: Store,
    pub clock: Clock,
    pub throttle: Throttle,
    pub notes: ConsoleNotes,
    /// The note the previous action left for this page.
    pub waiting: Option<Note>,
    pub link_origin: String,
    /// The largest product file an upload may bring.
    pub upload_limit: super::catalog::UploadLimit,
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
            let notes = data::<ConsoleNotes>(request)?.get_ref().clone();
            Ok(Desk {
                store: data::<Store>(request)?.get_ref().clone(),
                clock: data::<Clock>(request)?.get_ref().clone(),
                throttle: data::<Throttle>(request)?.get_ref().clone(),
                waiting: notes.read(request),
                notes,
                link_origin: data::<LinkOrigin>(request)?.0.clone(),
                upload_limit: request
                    .app_data::<web::Data<super::catalog::UploadLimit>>()
                    .map(|limit| *limit.get_ref())
                    .unwrap_or_default(),
            })
        })())
    }
}

/// A console form's token must be this session's: a page of another site cannot
/// make a staff member's browser change anything.
pub fn verify_token<P>(staff: &Staff<P>, typed: &str) -> Result<(), AppError> {
    super::session::verify_csrf(&staff.csrf_token, typed)
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

/// What the next console page says about the action just done: carried across
/// the 303 in a cookie of its own (path `/admin`, `HttpOnly`, `SameSite=Strict`),
/// encrypted with the site's cookie key, since a console session keeps nothing
/// but who is signed in. Encrypted, a reset link in it cannot be read from the
/// cookie, and a message cannot be forged.
#[derive(Clone)]
pub struct ConsoleNotes {
    key: Key,
    name: &'static str,
    secure: bool,
}

/// A message about what was just done.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Note {
    pub notice: String,
}

impl ConsoleNotes {
    /// `secure` as for the site's other cookies.
    pub fn new(key: Key, secure: bool) -> ConsoleNotes {
        ConsoleNotes {
            key,
            name: if secure {
                "__Secure-storecredit-console-note"
            } else {
                "storecredit-console-note"
            },
            secure,
        }
    }

    fn cookie(&self, value: String) -> Cookie<'static> {
        Cookie::build(self.name, value)
            .path("/admin")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Strict)
            .finish()
    }

    /// The cookie that carries `note` to the next page.
    pub fn carrying(&self, note: &Note) -> Cookie<'static> {
        let mut jar = CookieJar::new();
        let text = serde_json::to_string(note).unwrap_or_default();
        jar.private_mut(&self.key).add(self.cookie(text));
        jar.get(self.name)
            .cloned()
            .unwrap_or_else(|| self.cookie(String::new()))
    }

    /// The cookie that makes the browser forget a note once shown.
    pub fn removal(&self) -> Cookie<'static> {
        let mut cookie = self.cookie(String::new());
        cookie.make_removal();
        cookie
    }

    /// The note the request carries, when the server wrote it.
    pub fn read(&self, request: &HttpRequest) -> Option<Note> {
        let cookie = request.cookie(self.name)?;
        let mut jar = CookieJar::new();
        jar.add_original(cookie);
        let opened = jar.private(&self.key).get(self.name)?;
        serde_json::from_str(opened.value()).ok()
    }

    /// A 303 to `location`, whose page will show `note`.
    pub fn see_other(&self, location: &str, note: &Note) -> HttpResponse {
        let mut response = see_other(location);
        if let Err(e) = response.add_cookie(&self.carrying(note)) {
            tracing::warn!(error = %e, "could not leave a note for the next console page");
        }
        response
    }
}

/// A day typed into a filter (`2026-12-07`, UTC); empty means no bound.
fn typed_day(typed: &str) -> Result<Option<time::Date>, ()> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    crate::domain::date::parse_day(typed).map(Some).ok_or(())
}

/// A filter's field that cannot be read, and why (`("from", "From: enter a day…")`).
pub type FilterProblem = (&'static str, String);

/// The instants a list's `from` and `to` days (UTC, both included) bound: from
/// the first day's midnight to the end of the last; or the field that cannot be
/// read and why.
pub fn day_range(
    from: &str,
    to: &str,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), FilterProblem> {
    let from = typed_day(from).map_err(|()| ("from", "From: enter a day such as 2026-12-01".to_owned()))?;
    let to = typed_day(to).map_err(|()| ("to", "To: enter a day such as 2026-12-31".to_owned()))?;
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err(("to", "To: the last day comes on or after the first".to_owned()));
    }
    Ok((
        from.map(|day| day.midnight().assume_utc()),
        to.map(|day| day.midnight().assume_utc() + time::Duration::DAY),
    ))
}

/// How many entries a download reads a page at a time.
const DOWNLOAD_PAGE: usize = 500;

/// Every entry of a paged list, page after page: a download carries the whole
/// filtered list, not the page on screen. `page(before, size)` reads one page.
pub fn every_page<T, E>(
    mut page: impl FnMut(Option<i64>, usize) -> Result<crate::store::Page<T>, E>,
) -> Result<Vec<T>, E> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let read = page(before, DOWNLOAD_PAGE)?;
        all.extend(read.entries);
        match read.older {
            Some(older) => before = Some(older),
            None => return Ok(all),
        }
    }
}

/// `?format=csv` on a console list or report: the same rows as a download. A
/// download is an export (SPEC §8: finance, managers and owners), so a role
/// without [`Permission::Reports`] asking for one gets a 403, as it would
/// asking for a report.
pub fn wants_csv<P>(staff: &Staff<P>, format: Option<&str>) -> Result<bool, AppError> {
    let wanted = format.is_some_and(|format| format.eq_ignore_ascii_case("csv"));
    if wanted && !staff.member.role.may(Permission::Reports) {
        return Err(AppError::Forbidden(Permission::Reports.describe()));
    }
    Ok(wanted)
}

/// A list or report as a CSV download named `{name}-{YYYY-MM-DD}.csv`: formula-safe
/// text, money as plain decimals (see [`Listing`]).
pub fn csv_download(name: &str, listing: &Listing, today: time::Date) -> Result<HttpResponse, AppError> {
    let mut body = Vec::new();
    listing
        .write(Format::Csv, &mut body)
        .map_err(AppError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}-{today}.csv\""),
        ))
        .body(body))
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
    fn a_note_opens_only_with_the_key_that_sealed_it() {
        let notes = ConsoleNotes::new(Key::generate(), false);
        let note = Note {
            notice: "Credit 12 revoked".into(),
        };
        let cookie = notes.carrying(&note);
        assert!(!cookie.value().contains("revoked"), "sealed: {}", cookie.value());
        assert_eq!(cookie.path(), Some("/admin"));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        assert_eq!(cookie.http_only(), Some(true));
        let request = actix_web::test::TestRequest::default()
            .cookie(cookie.clone())
            .to_http_request();
        assert_eq!(notes.read(&request), Some(note));
        let forger = ConsoleNotes::new(Key::generate(), false);
        assert_eq!(forger.read(&request), None);
    }

    #[test]
    fn changes_read_with_their_sign() {
        assert_eq!(signed_amount(-250), "\u{2212}$2.50");
        assert_eq!(signed_amount(100), "+$1.00");
    }
}
