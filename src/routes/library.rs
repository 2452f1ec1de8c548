//! `GET /library` and `GET /library/{order_id}/download?expires=…&signature=…`:
//! what a shopper bought, and its files through signed links (SPEC §9).

use actix_files::{HttpRange, NamedFile};
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use time::OffsetDateTime;

use super::{Chrome, Older, PAGE_SIZE, blocking, html};
use crate::auth::SignedIn;
use crate::auth::download_links::{DownloadLinks, LinkCheck};
use crate::clock::Clock;
use crate::domain::{LocalPath, UserId, format_date};
use crate::error::{AppError, Limited};
use crate::media::MediaDir;
use crate::store::Store;
use crate::store::library::{DAILY_DOWNLOADS, DownloadRecord, DownloadRefusal, LibraryItem};

/// How many of the shopper's latest downloads the library lists.
const RECENT_DOWNLOADS: usize = 20;

/// One item on the library's shelf.
struct Shelved {
    item: LibraryItem,
    ordered_on: String,
    /// A fresh signed link, when the item has a file to download.
    download: Option<String>,
}

#[derive(Template)]
#[template(path = "library.html")]
struct LibraryPage {
    chrome: Chrome,
    items: Vec<Shelved>,
    downloads: Vec<DownloadRecord>,
    daily: i64,
    /// The link to older items, when there are any.
    older: Option<i64>,
    /// This is not the newest page.
    paged: bool,
}

impl LibraryPage {
    /// "January 31, 2027, 14:05 UTC".
    fn moment(&self, at: &OffsetDateTime) -> String {
        let at = at.to_offset(time::UtcOffset::UTC);
        format!("{}, {:02}:{:02} UTC", format_date(at), at.hour(), at.minute())
    }
}

pub async fn list(
    chrome: Chrome,
    shopper: SignedIn,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    links: web::Data<DownloadLinks>,
    media: web::Data<MediaDir>,
    query: web::Query<Older>,
) -> Result<HttpResponse, AppError> {
    let (store, media, before, user) = (
        store.get_ref().clone(),
        media.get_ref().clone(),
        query.before,
        shopper.user_id,
    );
    let now = clock.now();
    // Whether each file is there is a look at the disk: off the event loop too.
    let (page, downloads, with_file) = blocking(move || {
        let page = store.library_page(user, before, PAGE_SIZE, now)?;
        let downloads = store.recent_downloads(user, RECENT_DOWNLOADS)?;
        let with_file: Vec<bool> = page
            .entries
            .iter()
            .map(|item| {
                item.media_file
                    .as_deref()
                    .and_then(|name| media.resolve(name))
                    .is_some()
            })
            .collect();
        Ok::<_, AppError>((page, downloads, with_file))
    })
    .await?;
    let items = page
        .entries
        .into_iter()
        .zip(with_file)
        .map(|(item, has_file)| Shelved {
            ordered_on: format_date(item.ordered_at),
            download: has_file.then(|| links.link(user, item.order_id, now)),
            item,
        })
        .collect();
    html(&LibraryPage {
        chrome,
        items,
        downloads,
        daily: DAILY_DOWNLOADS,
        older: page.older,
        paged: before.is_some(),
    })
}

/// A download link's query: both parts as typed, checked by [`DownloadLinks`].
#[derive(serde::Deserialize)]
pub struct LinkQuery {
    expires: Option<String>,
    signature: Option<String>,
}

/// Serves an item's file to the account the link was made for: a link that is
/// malformed, altered or made for another account (or order) is a 404, like
/// an order that is not there; an expired one a 410 that sends the shopper back
/// to the library for a fresh one; a refunded item a 410; past the daily limit
/// a 429 with `Retry-After`. Every GET that serves bytes is counted, a range
/// request too.
#[allow(clippy::too_many_arguments)]
pub async fn download(
    request: HttpRequest,
    shopper: Option<SignedIn>,
    store: web::Data<Store>,
    clock: web::Data<Clock>,
    links: web::Data<DownloadLinks>,
    media: web::Data<MediaDir>,
    order_id: web::Path<i64>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    // Back to the library after signing in, never to this link: its signature
    // has no business in the sign-in page's address.
    let Some(shopper) = shopper else {
        return Err(AppError::SignInRequired(LocalPath::or_home(Some("/library"))));
    };
    let (user, order_id, now) = (shopper.user_id, order_id.into_inner(), clock.now());
    let (expires, signature) = (
        query.expires.as_deref().unwrap_or_default(),
        query.signature.as_deref().unwrap_or_default(),
    );
    match links.check(user, order_id, expires, signature, now) {
        LinkCheck::Valid => {}
        LinkCheck::Expired => return Err(AppError::DownloadLinkExpired),
        LinkCheck::Invalid => return Err(AppError::NotFound),
    }
    let (store, media) = (store.get_ref().clone(), media.get_ref().clone());
    let range = request
        .headers()
        .get(header::RANGE)
        .map(|range| range.to_str().map(str::to_owned));
    let (file, title) = blocking(move || counted_file(&store, &media, user, order_id, range, now)).await?;
    let disposition = attachment(&title, file.path());
    let mut response = file.set_content_disposition(disposition).into_response(&request);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Checks that `user` may download order `order_id` and opens its file, then
/// counts the download unless its `Range` header asks for no bytes the file
/// has (then the answer is a 416 or a 400, sending nothing): the open file and
/// the product's title.
fn counted_file(
    store: &Store,
    media: &MediaDir,
    user: UserId,
    order_id: i64,
    range: Option<Result<String, header::ToStrError>>,
    now: OffsetDateTime,
) -> Result<(NamedFile, String), AppError> {
    let item = store
        .library_item(user, order_id, now)?
        .ok_or(AppError::NotFound)?;
    if item.refunded_in_full {
        return Err(AppError::RefundedItem);
    }
    let path = item
        .media_file
        .as_deref()
        .and_then(|name| media.resolve(name))
        .ok_or(AppError::FileUnavailable)?;
    let file = NamedFile::open(&path).map_err(|error| {
        tracing::warn!(%error, "a library file could not be opened");
        AppError::FileUnavailable
    })?;
    let length = file.metadata().len();
    let sends_bytes = match range {
        None => true,
        Some(Err(_)) => false,
        // A unit other than bytes is ignored: the whole file goes.
        Some(Ok(range)) => {
            !range
                .split_once('=')
                .is_none_or(|(unit, _)| unit.trim().eq_ignore_ascii_case("bytes"))
                || HttpRange::parse(&range, length).is_ok()
        }
    };
    if !sends_bytes {
        return Ok((file, item.title));
    }
    store
        .record_download(user, order_id, now)
        .map_err(|refusal| match refusal {
            DownloadRefusal::NotInLibrary => AppError::NotFound,
            DownloadRefusal::Refunded => AppError::RefundedItem,
            DownloadRefusal::DailyLimit { until } => AppError::TooManyAttempts {
                retry_after_seconds: (until - now).whole_seconds().max(1),
                what: Limited::Downloads,
            },
            DownloadRefusal::Store(error) => error.into(),
        })?;
    Ok((file, item.title))
}

/// `attachment; filename="Copper-Rain.wav"; filename*=UTF-8''Copper%20Rain.wav`:
/// named after the title, with the file's own extension.
fn attachment(title: &str, path: &std::path::Path) -> ContentDisposition {
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .filter(|extension| !extension.is_empty() && extension.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|extension| format!(".{}", extension.to_ascii_lowercase()))
        .unwrap_or_default();
    let (plain, full) = file_names(title);
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(format!("{plain}{extension}")),
            DispositionParam::FilenameExt(header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: format!("{full}{extension}").into_bytes(),
            }),
        ],
    }
}

/// A title as a file name: in plain ASCII (letters and digits, `-` between
/// words), and in full, with only what no file system takes left out.
fn file_names(title: &str) -> (String, String) {
    let plain = title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let full: String = title
        .chars()
        .filter(|c| {
            !c.is_control()
                && !crate::domain::category::is_invisible(*c)
                && !matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        })
        .collect();
    let full = full.trim().trim_matches('.').trim().to_owned();
    let or_download = |name: String| {
        if name.is_empty() {
            "download".to_owned()
        } else {
            name
        }
    };
    (or_download(plain), or_download(full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_named_after_the_title_in_ascii_and_in_full() {
        assert_eq!(
            file_names("Salt & Static"),
            ("Salt-Static".to_owned(), "Salt & Static".to_owned())
        );
        assert_eq!(
            file_names("Café: \"Noir\"/2\u{7}"),
            ("Caf-Noir-2".to_owned(), "Café Noir2".to_owned())
        );
        assert_eq!(
            file_names("../.."),
            ("download".to_owned(), "download".to_owned())
        );
        assert_eq!(file_names("日本"), ("download".to_owned(), "日本".to_owned()));
        assert_eq!(
            file_names("photo\u{202e}gnp.exe"),
            ("photo-gnp-exe".to_owned(), "photognp.exe".to_owned()),
            "no direction override"
        );
    }

    #[test]
    fn the_attachment_carries_the_files_extension() {
        let disposition = attachment(
            "Copper Rain",
            std::path::Path::new("/media/demo/5-copper-rain.WAV"),
        );
        let text = disposition.to_string();
        assert!(
            text.starts_with("attachment; filename=\"Copper-Rain.wav\""),
            "{text}"
        );
        assert!(text.contains("filename*=UTF-8''Copper%20Rain.wav"), "{text}");
        let bare = attachment("Copper Rain", std::path::Path::new("/media/demo/noext"));
        assert!(bare.to_string().contains("filename=\"Copper-Rain\""));
    }
}
