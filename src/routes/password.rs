//! `GET /account/password` and `POST /account/password`: change the password,
//! which signs the account out everywhere else.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Chrome, blocking, flash, render_with_status, see_other};
use crate::auth::client_address::ClientAddress;
use crate::auth::password::Passwords;
use crate::auth::throttle::Throttle;
use crate::auth::{self, SignedIn, csrf, device};
use crate::clock::Clock;
use crate::error::AppError;
use crate::store::Store;

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    csrf_token: String,
    notice: Option<String>,
    /// What was wrong, under the field it is about.
    problem: Option<(Field, String)>,
}

/// The form's two fields, for tying a problem to one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Current,
    New,
}

impl PasswordPage {
    fn problem_with(&self, field: Field) -> Option<&str> {
        self.problem
            .as_ref()
            .filter(|(on, _)| *on == field)
            .map(|(_, problem)| problem.as_str())
    }
}

fn page(
    chrome: Chrome,
    session: &Session,
    problem: Option<(Field, String)>,
) -> Result<HttpResponse, AppError> {
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = PasswordPage {
        chrome,
        csrf_token: csrf::token(session)?,
        notice: flash::take(session),
        problem,
    };
    render_with_status(&page, status)
}

pub async fn show(chrome: Chrome, _shopper: SignedIn, session: Session) -> Result<HttpResponse, AppError> {
    page(chrome, &session, None)
}

#[derive(serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    csrf_token: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    chrome: Chrome,
    request: HttpRequest,
    shopper: SignedIn,
    session: Session,
    form: web::Form<PasswordForm>,
    store: web::Data<Store>,
    passwords: web::Data<Passwords>,
    throttle: web::Data<Throttle>,
    client: ClientAddress,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    csrf::verify(&session, &form.csrf_token)?;
    let form = form.into_inner();
    let user = shopper.user_id;
    let reader = store.get_ref().clone();
    let Some(login) = blocking(move || reader.login_of(user)).await? else {
        // The account is gone: nothing to change.
        return Err(AppError::NotFound);
    };
    // Counted like a sign-in to this account before the password is checked,
    // against this browser's device cookie when it has one.
    let device = device::recognised(&request, &login.email);
    let attempt = throttle
        .current_password(&login.email, client, device.as_ref())
        .await?;
    if !passwords
        .verify(form.current_password, Some(login.password_hash))
        .await?
    {
        return page(
            chrome,
            &session,
            Some((Field::Current, "Your current password isn't right.".to_owned())),
        );
    }
    throttle.succeeded(attempt).await?;
    let context = vec![shopper.name.clone(), login.email.clone()];
    let new_password = match passwords.check_new(form.new_password, context).await? {
        Ok(password) => password,
        Err(weak) => {
            return page(
                chrome,
                &session,
                Some((Field::New, format!("New password: {weak}."))),
            );
        }
    };
    let hash = passwords.hash(new_password.expose().to_owned()).await?;
    let (writer, now) = (store.get_ref().clone(), clock.now());
    let version = blocking(move || writer.change_password(user, &hash, now)).await?;
    // Every session of the account is gone, this one included; carry on under a
    // fresh id with a fresh CSRF token, for the new password.
    auth::sign_in(&session, user, &shopper.name, version)?;
    tracing::info!(user_id = %user, "password changed; other sessions ended");
    flash::set(
        &session,
        "Your password has been changed. Anywhere else you were signed in, you are now signed out.",
    );
    let mut response = see_other("/account/password");
    device::remember(&request, &mut response, &login.email)?;
    Ok(response)
}
