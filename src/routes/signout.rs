//! `POST /signout`: ends the session on the server.

use actix_session::Session;
use actix_web::{HttpResponse, web};

use super::see_other;
use crate::auth::{self, csrf};
use crate::error::AppError;

#[derive(serde::Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf_token: String,
}

pub async fn submit(session: Session, form: web::Form<SignOutForm>) -> Result<HttpResponse, AppError> {
    csrf::verify(&session, &form.csrf_token)?;
    auth::sign_out(&session);
    Ok(see_other("/"))
}
