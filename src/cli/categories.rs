//! `category add` and `category list`: the store's departments.

use std::path::Path;
use std::process::ExitCode;

use super::listing::{Cell, Format, Listing};
use super::open_existing;
use crate::domain::{CategoryLabel, CategorySlug};

pub(super) fn add(database: &Path, slug: &str, label: &str) -> anyhow::Result<ExitCode> {
    let slug = CategorySlug::parse(slug)?;
    let label = CategoryLabel::parse(label)?;
    let store = open_existing(database)?;
    let added = store.add_category(&slug, &label)?;
    println!(
        "added category {} ({}) at /store/{}; a running server shows it from its next start",
        added.slug(),
        added.label(),
        added.slug()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn list(database: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let mut listing = Listing::new(&["id", "slug", "label"]);
    for category in store.categories().iter() {
        listing.push(vec![
            Cell::Count(category.id().get()),
            Cell::text(category.slug().to_owned()),
            Cell::text(category.label().to_owned()),
        ]);
    }
    listing.write(format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
