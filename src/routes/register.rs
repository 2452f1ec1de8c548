//! `GET/POST /register` and `GET/POST /register/confirm/{token}`: a new account,
//! made and signed in once the owner of the address follows the link mailed to
//! it (SPEC §9).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Chrome, ReturnTo, blocking, capitalise, render_with_status, see_other};
use crate::auth;
use crate::auth::client_address::ClientAddress;
use crate::auth::csrf::{self, FormToken};
use crate::auth::device;
use crate::auth::password::Passwords;
use crate::auth::throttle::Throttle;
use crate::clock::Clock;
use crate::domain::{DisplayName, Email, LocalPath};
use crate::error::AppError;
use crate::routes::password_reset::plausible_token;
use crate::store::Store;
use crate::store::registrations::{Confirmation, RegistrationMail};

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

/// The one answer to every registration that passes the form's checks, so it
/// tells nobody whether the address has an account: what happens next is in the
/// message to that address.
#[derive(Template)]
#[template(path = "register_mail_sent.html")]
struct MailSentPage {
    chrome: Chrome,
    email: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    chrome: Chrome,
    request: HttpRequest,
    form: web::Form<RegisterForm>,
    store: web::Data<Store>,
    passwords: web::Data<Passwords>,
    clock: web::Data<Clock>,
    client: ClientAddress,
    throttle: web::Data<Throttle>,
) -> Result<HttpResponse, AppError> {
    csrf::verify_form(&request, &form.csrf_token)?;
    throttle.registration(&form.email, client).await?;
    let form = form.into_inner();
    let return_to = LocalPath::or_home(form.return_to.as_deref());
    let name = DisplayName::parse(&form.name);
    let email = Email::parse(&form.email);
    let context = vec![form.email.trim().to_owned(), form.name.trim().to_owned()];
    let password = passwords.check_new(form.password.clone(), context).await?;

    let (name, email, password) = match (name, email, password) {
        (Ok(name), Ok(email), Ok(password)) => (name, email, password),
        (name, email, password) => {
            // What is wrong with a form never depends on whether the address has
            // an account.
            let page = RegisterPage {
                chrome,
                csrf_token: form.csrf_token,
                return_to: return_to.as_str().to_owned(),
                name: form.name.trim().chars().take(80).collect(),
                email: form.email.trim().chars().take(254).collect(),
                problems: Problems {
                    name: name.err().map(|e| capitalise(&e.to_string())),
                    email: email.err().map(|e| capitalise(&e.to_string())),
                    password: password.err().map(|e| format!("Password: {e}.")),
                },
            };
            return render_with_status(&page, StatusCode::BAD_REQUEST);
        }
    };
    // Everything that differs between a known and a new address happens after
    // the answer, and costs the same in both: the password is hashed either way.
    let (store, passwords, now) = (store.get_ref().clone(), passwords.get_ref().clone(), clock.now());
    let shown_email = email.as_str().to_owned();
    actix_web::rt::spawn(async move {
        let hash = match passwords.hash(password.expose().to_owned()).await {
            Ok(hash) => hash,
            Err(e) => {
                tracing::error!(error = ?e, "could not hash a registration's password");
                return;
            }
        };
        match blocking(move || store.register_or_remind(&email, &name, &hash, &return_to, now)).await {
            Ok(RegistrationMail::ConfirmationLink) => tracing::info!("registration confirmation link queued"),
            Ok(RegistrationMail::AlreadyRegistered) => {
                tracing::info!("registration for a known address: reminder queued")
            }
            Err(e) => tracing::error!(error = ?e, "could not queue a registration message"),
        }
    });
    let page = MailSentPage {
        chrome,
        email: shown_email,
    };
    render_with_status(&page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "register_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    csrf_token: String,
    token: String,
    email: String,
    /// The address got an account meanwhile: the page says to sign in instead.
    taken: bool,
    /// The password typed does not match the one chosen at registration.
    error: Option<&'static str>,
}

/// The one answer to a password that is not the registration's: it tells a
/// shopper holding a link from someone else's registration to ignore it.
const NOT_THIS_REGISTRATIONS_PASSWORD: &str = "That is not the password chosen when this address was registered. \
     If you registered more than once, use the link from the mail of the registration whose password you type; \
     if you did not register, ignore this link.";

/// The confirmation link's page: which address it confirms, and a button that
/// makes the account. Following the link makes nothing by itself: mail scanners
/// fetch links, and a link that signed in would let someone sign a victim into
/// an account of the attacker's.
pub async fn confirm_form(
    chrome: Chrome,
    form_token: FormToken,
    token: web::Path<String>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    if !plausible_token(&token) {
        return Err(AppError::ConfirmationLinkUnusable);
    }
    let (reader, looked_up, now) = (store.get_ref().clone(), token.clone(), clock.now());
    let pending = blocking(move || reader.pending_registration(&looked_up, now))
        .await?
        .ok_or(AppError::ConfirmationLinkUnusable)?;
    let page = ConfirmPage {
        chrome,
        csrf_token: form_token.value.clone(),
        token,
        email: pending.email,
        taken: false,
        error: None,
    };
    form_token.respond(render_with_status(&page, StatusCode::OK)?)
}

#[derive(serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

/// "Create my account": spends the link and makes the account in one
/// transaction, then signs it in. Of two presses at once, one makes the account
/// and the other finds the link used.
#[allow(clippy::too_many_arguments)]
pub async fn confirm(
    chrome: Chrome,
    request: HttpRequest,
    session: Session,
    token: web::Path<String>,
    form: web::Form<ConfirmForm>,
    store: web::Data<Store>,
    passwords: web::Data<Passwords>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    csrf::verify_form(&request, &form.csrf_token)?;
    let token = token.into_inner();
    if !plausible_token(&token) {
        return Err(AppError::ConfirmationLinkUnusable);
    }
    // The password chosen at registration, typed again: without it, a link
    // from a registration someone else made for this address (with a password
    // of theirs) would make the account they could sign in to.
    let (reader, looked_up, now) = (store.get_ref().clone(), token.clone(), clock.now());
    let pending = blocking(move || reader.pending_registration(&looked_up, now))
        .await?
        .ok_or(AppError::ConfirmationLinkUnusable)?;
    let ConfirmForm { password, csrf_token } = form.into_inner();
    if !passwords.verify(password, Some(pending.password_hash)).await? {
        let page = ConfirmPage {
            chrome,
            csrf_token,
            token,
            email: pending.email,
            taken: false,
            error: Some(NOT_THIS_REGISTRATIONS_PASSWORD),
        };
        return render_with_status(&page, StatusCode::BAD_REQUEST);
    }
    let (writer, spent) = (store.get_ref().clone(), token.clone());
    match blocking(move || writer.confirm_registration(&spent, now)).await? {
        Confirmation::Created {
            user,
            email,
            name,
            return_to,
        } => {
            // A new account's credentials are at their first version.
            auth::sign_in(&session, user, &name, 0)?;
            tracing::info!(user_id = %user, "account created from a confirmed address");
            // This browser just proved it reads the mailbox: strangers' failed
            // sign-ins never pause it.
            let mut response = see_other(return_to.as_str());
            device::remember(&request, &mut response, email.as_str())?;
            Ok(response)
        }
        // Only the owner of the mailbox holds the link: telling them their
        // address has an account tells nothing new.
        Confirmation::AddressTaken => {
            let page = ConfirmPage {
                chrome,
                csrf_token: String::new(),
                token: String::new(),
                email: String::new(),
                taken: true,
                error: None,
            };
            render_with_status(&page, StatusCode::CONFLICT)
        }
        Confirmation::Unusable => Err(AppError::ConfirmationLinkUnusable),
    }
}
