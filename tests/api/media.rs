//! The media folder (issue 28): every demo product's file is there once a server
//! has started, and staff with the Catalog permission upload a product's file
//! from its console page (multipart, token first, capped), stored whole under a
//! safe name and on the audit trail; a refused upload writes nothing.

use futures::future::join_all;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use storecredit::domain::Role;
use storecredit::media::MediaDir;

use crate::console::{StaffBrowser, staff_member};
use crate::helpers::{TestApp, location, spawn_app, spawn_app_with};

const BOUNDARY: &str = "storecredit-test-boundary-7d1f";

/// A part of a multipart form: its name, its file name (for a file), its bytes.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

fn multipart_body(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file_name {
            Some(file_name) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_multipart(staff: &StaffBrowser, path: &str, parts: &[Part<'_>]) -> reqwest::Response {
    staff
        .client
        .post(staff.url(path))
        .header(CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart_body(parts))
        .send()
        .await
        .expect("POST answered")
}

/// Uploads `bytes` as `file_name` for product `id`, with the session's token.
async fn upload(staff: &StaffBrowser, id: i64, file_name: &str, bytes: &[u8]) -> reqwest::Response {
    let token = staff.csrf_token.clone();
    post_multipart(
        staff,
        &format!("/admin/products/{id}/file"),
        &[
            ("csrf_token", None, token.as_bytes()),
            ("file", Some(file_name), bytes),
        ],
    )
    .await
}

/// Every file under the media folder's `products/`, relative to the folder.
fn product_files(app: &TestApp) -> Vec<String> {
    fn walk(root: &std::path::Path, folder: &std::path::Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                found.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut found = Vec::new();
    walk(&app.media_folder, &app.media_folder.join("products"), &mut found);
    found.sort();
    found
}

fn media_file(app: &TestApp, id: i64) -> Option<String> {
    app.with_store(|store| store.product_media_file(id)).unwrap()
}

fn audit_count(app: &TestApp) -> usize {
    app.sql_rows("SELECT id FROM audit_entries").len()
}

/// The newest audit entry: (who, what, subject, before, after).
fn newest_entry(app: &TestApp) -> (String, String, String, Option<String>, Option<String>) {
    let entry = app
        .with_store(|store| store.audit_page(&Default::default(), None, 1))
        .unwrap()
        .entries
        .remove(0);
    (
        entry.actor,
        entry.action,
        entry.subject,
        entry.before,
        entry.after,
    )
}

#[actix_web::test]
async fn every_demo_product_has_its_file_in_the_media_folder_once_the_server_has_started() {
    let Some(app) = spawn_app().await else { return };
    let media = MediaDir::new(&app.media_folder);

    let products = app.with_store(|store| store.products_in(None)).unwrap();

    assert_eq!(products.len(), 24);
    for product in products {
        let name = media_file(&app, product.id).expect("a demo product names its file");
        assert!(name.starts_with(&format!("demo/{}-", product.id)), "{name}");
        let path = media
            .resolve(&name)
            .unwrap_or_else(|| panic!("{name} is in the folder"));
        assert!(std::fs::metadata(path).unwrap().len() > 0, "{name} is empty");
    }
}

#[actix_web::test]
async fn a_manager_uploads_a_products_file_stored_whole_under_a_safe_name_and_audited() {
    let Some(app) = spawn_app().await else { return };
    let id = app.product_id("Copper Rain");
    let demo_file = media_file(&app, id).unwrap();
    let manager = staff_member(&app, Role::Manager).await;
    let page = manager.get_html(&format!("/admin/products/{id}")).await;
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
    assert!(page.contains(&demo_file), "the page names the file it has now");

    let response = upload(&manager, id, "../Copper Rain (live).WAV", b"RIFF the live take").await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/admin/products/{id}"));
    let name = format!("products/{id}/Copper-Rain-live.wav");
    let page = manager.get_html(&format!("/admin/products/{id}")).await;
    assert!(
        page.contains(&format!("Copper Rain delivers {name} now (18 bytes).")),
        "{page}"
    );
    assert!(page.contains(&format!("It replaced {demo_file}")), "{page}");
    assert_eq!(media_file(&app, id), Some(name.clone()));
    let stored = MediaDir::new(&app.media_folder).resolve(&name).unwrap();
    assert_eq!(std::fs::read(stored).unwrap(), b"RIFF the live take");
    assert_eq!(product_files(&app), std::slice::from_ref(&name));
    assert_eq!(
        newest_entry(&app),
        (
            format!("staff:{}", manager.email),
            "product.file".to_owned(),
            format!("product:{id}"),
            Some(demo_file),
            Some(name)
        )
    );
}

#[actix_web::test]
async fn a_support_member_cannot_upload_a_products_file_and_nothing_is_written() {
    let Some(app) = spawn_app().await else { return };
    let id = app.product_id("Copper Rain");
    let support = staff_member(&app, Role::Support).await;
    let before = (media_file(&app, id), audit_count(&app));

    let response = upload(&support, id, "track.wav", b"RIFF").await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!((media_file(&app, id), audit_count(&app)), before);
    assert!(product_files(&app).is_empty());
}

#[actix_web::test]
async fn a_refused_upload_says_why_and_writes_nothing() {
    let Some(app) = spawn_app_with(|settings| settings.upload_limit_bytes = 1_000).await else {
        return;
    };
    let id = app.product_id("Copper Rain");
    let path = format!("/admin/products/{id}/file");
    let owner = staff_member(&app, Role::Owner).await;
    let token = owner.csrf_token.clone();
    let before = (media_file(&app, id), audit_count(&app));
    let big = vec![b'x'; 5_000];

    let refusals = [
        (
            "a foreign token",
            post_multipart(
                &owner,
                &path,
                &[
                    ("csrf_token", None, b"another-session"),
                    ("file", Some("a.wav"), b"RIFF"),
                ],
            )
            .await,
            StatusCode::FORBIDDEN,
            "",
        ),
        (
            "the file before the token",
            post_multipart(
                &owner,
                &path,
                &[
                    ("file", Some("a.wav"), b"RIFF"),
                    ("csrf_token", None, token.as_bytes()),
                ],
            )
            .await,
            StatusCode::FORBIDDEN,
            "",
        ),
        (
            "no file chosen",
            post_multipart(
                &owner,
                &path,
                &[("csrf_token", None, token.as_bytes()), ("file", Some(""), b"")],
            )
            .await,
            StatusCode::BAD_REQUEST,
            "File: choose a file to upload",
        ),
        (
            "an empty file",
            upload(&owner, id, "empty.wav", b"").await,
            StatusCode::BAD_REQUEST,
            "File: the file is empty",
        ),
        (
            "a file over the limit",
            upload(&owner, id, "big.wav", &big).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "File: at most 1 kB a file",
        ),
        (
            "a form without its file",
            owner.post_console(&path, &[]).await,
            StatusCode::BAD_REQUEST,
            "File: choose a file to upload",
        ),
        (
            "an unknown product",
            upload(&owner, id + 1_000, "a.wav", b"RIFF").await,
            StatusCode::NOT_FOUND,
            "",
        ),
    ];

    for (what, response, status, message) in refusals {
        assert_eq!(response.status(), status, "{what}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{what}: {page}");
        assert_eq!((media_file(&app, id), audit_count(&app)), before, "{what}");
        assert!(
            product_files(&app).is_empty(),
            "{what}: {:?}",
            product_files(&app)
        );
        assert!(!app.media_folder.join("products").exists(), "{what}");
    }
}

#[actix_web::test]
async fn uploads_racing_for_one_product_each_land_whole_and_the_last_named_is_served() {
    let Some(app) = spawn_app().await else { return };
    let id = app.product_id("Copper Rain");
    let owner = staff_member(&app, Role::Owner).await;
    let audited = audit_count(&app);
    let contents: Vec<(String, Vec<u8>)> = (0..8)
        .map(|n| (format!("take-{n}.wav"), vec![b'0' + n as u8; 300_000]))
        .collect();

    let responses = join_all(
        contents
            .iter()
            .map(|(name, bytes)| upload(&owner, id, name, bytes)),
    )
    .await;

    for response in &responses {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(audit_count(&app), audited + 8);
    let named = media_file(&app, id).unwrap();
    let (newest_name, _) = contents
        .iter()
        .find(|(name, _)| named == format!("products/{id}/{name}"))
        .expect("the stored name is one of the uploads");
    assert_eq!(newest_entry(&app).4, Some(named.clone()), "{newest_name}");
    let files = product_files(&app);
    assert_eq!(
        files.len(),
        8,
        "each upload whole, no temporary file left: {files:?}"
    );
    for (name, bytes) in &contents {
        let path = app.media_folder.join(format!("products/{id}/{name}"));
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{name}");
    }
}
