//! `GET/POST /admin/enrol/{token}`: a new staff member (or one reset) sets a
//! password and turns on the second factor (SPEC §8).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::ConsoleChrome;
use crate::auth::csrf::{self, FormToken};
use crate::auth::password::Passwords;
use crate::auth::totp;
use crate::clock::Clock;
use crate::error::AppError;
use crate::routes::{blocking, render_with_status, see_other};
use crate::store::Store;
use crate::store::staff::PendingEnrolment;

#[derive(Template)]
#[template(path = "admin/enrol.html")]
struct EnrolPage {
    chrome: ConsoleChrome,
    csrf_token: String,
    token: String,
    name: String,
    email: String,
    secret: String,
    uri: String,
    qr_svg: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/enrol_unusable.html")]
struct UnusablePage {
    chrome: ConsoleChrome,
}

fn unusable() -> Result<HttpResponse, AppError> {
    render_with_status(
        &UnusablePage {
            chrome: ConsoleChrome::signed_out(),
        },
        StatusCode::NOT_FOUND,
    )
}

fn page(
    pending: PendingEnrolment,
    token: String,
    csrf_token: String,
    error: Option<String>,
) -> Result<EnrolPage, AppError> {
    let uri = totp::otpauth_uri(&pending.totp_secret, &pending.member.email);
    let qr_svg =
        totp::qr_svg(&uri).ok_or_else(|| AppError::Internal(anyhow::anyhow!("cannot draw the QR code")))?;
    Ok(EnrolPage {
        chrome: ConsoleChrome::signed_out(),
        csrf_token,
        token,
        name: pending.member.name,
        email: pending.member.email,
        secret: pending.totp_secret,
        uri,
        qr_svg,
        error,
    })
}

async fn pending(
    store: &web::Data<Store>,
    clock: &web::Data<Clock>,
    token: &str,
) -> Result<Option<PendingEnrolment>, AppError> {
    if token.len() > 128 {
        return Ok(None);
    }
    let (store, now, token) = (store.get_ref().clone(), clock.now(), token.to_owned());
    blocking(move || store.pending_enrolment(&token, now)).await
}

pub async fn show(
    token: web::Path<String>,
    form_token: FormToken,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let Some(enrolment) = pending(&store, &clock, &token).await? else {
        return unusable();
    };
    let body = page(enrolment, token, form_token.value.clone(), None)?;
    form_token.respond(render_with_status(&body, StatusCode::OK)?)
}

#[derive(serde::Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    totp: String,
    #[serde(default)]
    csrf_token: String,
}

pub async fn submit(
    request: HttpRequest,
    token: web::Path<String>,
    form: web::Form<EnrolForm>,
    store: web::Data<Store>,
    passwords: web::Data<Passwords>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, AppError> {
    csrf::verify_form(&request, &form.csrf_token)?;
    let token = token.into_inner();
    let form = form.into_inner();
    let Some(enrolment) = pending(&store, &clock, &token).await? else {
        return unusable();
    };
    let refuse = |enrolment: PendingEnrolment, message: String| -> Result<HttpResponse, AppError> {
        let body = page(enrolment, token.clone(), form.csrf_token.clone(), Some(message))?;
        render_with_status(&body, StatusCode::BAD_REQUEST)
    };
    if form.password != form.password_confirm {
        return refuse(
            enrolment,
            "Password and its confirmation differ: type the same password in both.".into(),
        );
    }
    let context = vec![enrolment.member.email.clone(), enrolment.member.name.clone()];
    let password = match passwords.check_new(form.password.clone(), context).await? {
        Ok(password) => password,
        Err(weak) => return refuse(enrolment, format!("Password: {weak}.")),
    };
    let now = clock.now();
    let Some(step) = totp::matching_step(&enrolment.totp_secret, &form.totp, now) else {
        return refuse(
            enrolment,
            "Code: that is not the code your app shows for this secret now. Type the 6 digits it shows."
                .into(),
        );
    };
    let hash = passwords.hash(password.expose().to_owned()).await?;
    let (store, secret) = (store.get_ref().clone(), enrolment.totp_secret.clone());
    // The link is spent in the same transaction that sets the password: of two
    // submissions at once, one enrols and the other finds the link used.
    let enrolled = blocking(move || store.enrol_staff(&token, &secret, &hash, step, now)).await?;
    match enrolled {
        Some(member) => {
            tracing::info!(staff_id = member.id.0, "staff member enrolled");
            Ok(see_other("/admin/signin?enrolled=1"))
        }
        None => unusable(),
    }
}
