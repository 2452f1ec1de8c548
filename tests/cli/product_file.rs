//! `storecredit product file ID PATH` (issue 28): the operator gives a product
//! the file "Your library" delivers; it is copied into the media folder under a
//! safe name, named in the store, and on the audit trail.

use std::path::Path;

use storecredit::domain::{Actor, Money};
use storecredit::store::Store;
use storecredit::store::catalog::NewProduct;

use crate::commands::{fresh_database, stderr, stdout, storecredit};
use crate::support::FreshDatabase;

fn a_product(store: &Store) -> i64 {
    store
        .add_product(
            &Actor::command(),
            &NewProduct {
                category: store.categories().by_slug("music").unwrap().id(),
                format: "MP3 track".into(),
                title: "Night Bus".into(),
                creator: "Someone".into(),
                description: String::new(),
                price: Money::from_cents(99),
                featured: false,
            },
            time::OffsetDateTime::now_utc(),
        )
        .unwrap()
        .id
}

/// `product file` into `media`, made first as a server makes it when it starts.
fn give_file(db: &FreshDatabase, id: i64, path: &Path, media: &Path) -> std::process::Output {
    std::fs::create_dir_all(media).unwrap();
    give_file_as_typed(db, id, path, media)
}

fn give_file_as_typed(db: &FreshDatabase, id: i64, path: &Path, media: &Path) -> std::process::Output {
    storecredit(
        db,
        &[
            "product",
            "file",
            &id.to_string(),
            path.to_str().unwrap(),
            "--media-dir",
            media.to_str().unwrap(),
        ],
        "",
    )
}

/// The newest audit entry: "who action subject before → after".
fn newest_entry(store: &Store) -> String {
    let entry = store
        .audit_page(&Default::default(), None, 1)
        .unwrap()
        .entries
        .remove(0);
    format!(
        "{} {} {} {} → {}",
        entry.actor,
        entry.action,
        entry.subject,
        entry.before.unwrap_or_default(),
        entry.after.unwrap_or_default()
    )
}

/// Every file under `folder`, as paths relative to it.
fn files_under(folder: &Path) -> Vec<String> {
    fn walk(root: &Path, folder: &Path, found: &mut Vec<String>) {
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
    walk(folder, folder, &mut found);
    found.sort();
    found
}

#[test]
fn an_operator_gives_a_product_its_file_copied_under_a_safe_name_and_audited() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();
    let id = a_product(&store);
    let media = db.folder().join("media");
    let source = db.folder().join("Night Bus (final mix).WAV");
    std::fs::write(&source, b"RIFF a track").unwrap();

    let output = give_file(&db, id, &source, &media);

    assert!(output.status.success(), "{}", stderr(&output));
    let name = format!("products/{id}/Night-Bus-final-mix.wav");
    assert!(
        stdout(&output).contains(&format!("product {id} (Night Bus) delivers {name} now (12 bytes")),
        "{}",
        stdout(&output)
    );
    assert_eq!(std::fs::read(media.join(&name)).unwrap(), b"RIFF a track");
    assert_eq!(store.product_media_file(id).unwrap(), Some(name.clone()));
    assert_eq!(
        newest_entry(&store),
        format!("{} product.file product:{id}  → {name}", Actor::command())
    );

    // Another file replaces it; the old one stays for downloads under way.
    let newer = db.folder().join("take2.wav");
    std::fs::write(&newer, b"RIFF take two").unwrap();
    let output = give_file(&db, id, &newer, &media);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(&format!("it replaced {name}, which stays in the media folder")),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        store.product_media_file(id).unwrap(),
        Some(format!("products/{id}/take2.wav"))
    );
    assert_eq!(
        newest_entry(&store),
        format!(
            "{} product.file product:{id} {name} → products/{id}/take2.wav",
            Actor::command()
        )
    );
    assert_eq!(
        files_under(&media),
        [name, format!("products/{id}/take2.wav")],
        "no temporary file is left behind"
    );
}

#[test]
fn a_file_name_with_dots_and_control_characters_is_stored_plainly() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();
    let id = a_product(&store);
    let media = db.folder().join("media");
    let source = db.folder().join("..\u{1b}[31mred\u{202e}\nline.Wav");
    std::fs::write(&source, b"odd").unwrap();

    let output = give_file(&db, id, &source, &media);

    assert!(output.status.success(), "{}", stderr(&output));
    let stored = store.product_media_file(id).unwrap().unwrap();
    assert_eq!(stored, format!("products/{id}/31mred-line.wav"));
    assert_eq!(files_under(&media), [stored]);
    assert!(
        !stdout(&output).contains('\u{1b}'),
        "the terminal sees no escapes"
    );
}

#[test]
fn an_unknown_product_a_missing_file_and_a_folder_are_refused_with_nothing_written() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();
    let id = a_product(&store);
    let media = db.folder().join("media");
    let source = db.folder().join("track.wav");
    std::fs::write(&source, b"RIFF").unwrap();
    let trail_before = newest_entry(&store);

    let unknown = give_file(&db, id + 100, &source, &media);
    let missing = give_file(&db, id, &db.folder().join("no-such.wav"), &media);
    let folder = give_file(&db, id, db.folder(), &media);

    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains(&format!("there is no product {}", id + 100)),
        "{}",
        stderr(&unknown)
    );
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("cannot open"), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("no-such.wav"), "{}", stderr(&missing));
    assert!(!folder.status.success());
    assert!(stderr(&folder).contains("is a folder"), "{}", stderr(&folder));
    assert!(files_under(&media).is_empty(), "{:?}", files_under(&media));
    assert_eq!(store.product_media_file(id).unwrap(), None);
    assert_eq!(newest_entry(&store), trail_before);
}

#[test]
fn a_media_folder_that_does_not_exist_is_refused_not_made_where_no_server_looks() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();
    let id = a_product(&store);
    let source = db.folder().join("track.wav");
    std::fs::write(&source, b"RIFF").unwrap();
    let elsewhere = db.folder().join("not-the-servers-folder");

    let refused = give_file_as_typed(&db, id, &source, &elsewhere);

    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("does not exist") && stderr(&refused).contains("--media-dir"),
        "{}",
        stderr(&refused)
    );
    assert!(!elsewhere.exists());
    assert_eq!(store.product_media_file(id).unwrap(), None);
}
