//! `GET /help/digital-music-credit`: the help page with **Check Your Balance**.

use actix_web::HttpResponse;
use askama::Template;

use super::{Chrome, html};
use crate::domain::LocalPath;
use crate::error::AppError;

pub const PATH: &str = "/help/digital-music-credit";

#[derive(Template)]
#[template(path = "help_digital_music_credit.html")]
struct HelpPage {
    chrome: Chrome,
    signed_in: bool,
    /// Where the control leads a signed-out shopper: sign in, then back here.
    signin_url: String,
}

pub async fn show(chrome: Chrome) -> Result<HttpResponse, AppError> {
    html(&HelpPage {
        signed_in: chrome.is_signed_in(),
        signin_url: LocalPath::or_home(Some(PATH)).signin_url(),
        chrome,
    })
}
