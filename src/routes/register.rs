//! `GET /register` and `POST /register`: a new account, signed in at once.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Chrome, ReturnTo, blocking, capitalise, render_with_status, see_other};
use crate::auth;
use crate::auth::client_address::ClientAddress;
use crate::auth::csrf::{self, FormToken};
use crate::auth::password::Passwords;
use crate::auth::throttle::Throttle;
use crate::clock::Clock;
use crate::domain::{DisplayName, Email, LocalPath};
use crate::error::AppError;
use crate::store::Store;
use crate::store::users::CreateUserError;

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    chrome: Chrome,
    csrf_token: String,
    return_to: String,
    name: String,
    email: String,
    problems: Problems,
}

/// What was wrong with each field, tied to it on the page.
#[derive(Default)]
struct Problems {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

impl Problems {
    fn any(&self) -> bool {
        self.name.is_some() || self.email.is_some() || self.password.is_some()
    }
}

pub async fn show(
    chrome: Chrome,
    token: FormToken,
    query: web::Query<ReturnTo>,
) -> Result<HttpResponse, AppError> {
    let page = RegisterPage {
        chrome,
        csrf_token: token.value.clone(),
        return_to: LocalPath::or_home(query.return_to.as_deref()).as_str().to_owned(),
        name: String::new(),
        email: String::new(),
        problems: Problems::default(),
    };
    token.respond(render_with_status(&page, StatusCode::OK)?)
}

#[derive(serde::Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    return_to: Option<String>,
    #[serde(default)]
    csrf_token: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    chrome: Chrome,
    request: HttpRequest,
    session: Session,
    form: web::Form<RegisterForm>,
    store: web::Data<Store>,
    passwords: web::Data<Passwords>,
    clock: web::Data<Clock>,
    client: ClientAddress,
    throttle: web::Data<Throttle>,
) -> Result<HttpResponse, AppError> {
    csrf::verify_form(&request, &form.csrf_token)?;
    throttle.registration(client).await?;
    let form = form.into_inner();
    let return_to = LocalPath::or_home(form.return_to.as_deref());
    let name = DisplayName::parse(&form.name);
    let email = Email::parse(&form.email);
    let context = vec![form.email.trim().to_owned(), form.name.trim().to_owned()];
    let password = passwords.check_new(form.password.clone(), context).await?;

    let mut problems = Problems {
        name: name.as_ref().err().map(|e| capitalise(&e.to_string())),
        email: email.as_ref().err().map(|e| capitalise(&e.to_string())),
        password: password.as_ref().err().map(|e| format!("Password: {e}.")),
    };
    if let (Ok(name), Ok(email), Ok(password)) = (&name, &email, &password) {
        let hash = passwords.hash(password.expose().to_owned()).await?;
        let (store, now) = (store.get_ref().clone(), clock.now());
        let (new_email, new_name) = (email.clone(), name.clone());
        let created =
            blocking(move || Ok::<_, AppError>(store.create_user(&new_email, &new_name, &hash, now))).await?;
        match created {
            Ok(user) => {
                // A new account's credentials are at their first version.
                auth::sign_in(&session, user, name.as_str(), 0)?;
                tracing::info!(user_id = %user, "account created");
                return Ok(see_other(return_to.as_str()));
            }
            Err(CreateUserError::EmailTaken) => {
                problems.email = Some(
                    "An account with that e-mail address already exists. Sign in instead, or use another address."
                        .to_owned(),
                )
            }
            Err(CreateUserError::Store(e)) => return Err(e.into()),
        }
    }
    let page = RegisterPage {
        chrome,
        csrf_token: form.csrf_token,
        return_to: return_to.as_str().to_owned(),
        name: form.name.trim().chars().take(80).collect(),
        email: form.email.trim().chars().take(254).collect(),
        problems,
    };
    render_with_status(&page, StatusCode::BAD_REQUEST)
}
