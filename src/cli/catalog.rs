//! The catalog as an operator changes it: `category add` and `category list` (the
//! store's departments) and `product add` (what is on their shelves).

use crate::config::DatabaseLocation;
use std::process::ExitCode;

use super::open_existing;
use crate::listing::{Cell, Format, Listing};
use anyhow::{Context, bail};

use super::NewProductArgs;
use crate::clock::Clock;
use crate::domain::{Actor, CategoryLabel, CategorySlug, Money};
use crate::store::catalog::NewProduct;

pub(super) fn add(database: &DatabaseLocation, slug: &str, label: &str) -> anyhow::Result<ExitCode> {
    let slug = CategorySlug::parse(slug)?;
    let label = CategoryLabel::parse(label)?;
    let store = open_existing(database)?;
    let added = store.add_category(&Actor::command(), &slug, &label, Clock::system().now())?;
    println!(
        "added category {} ({}) at /store/{}; a running server shows it within a minute",
        added.slug(),
        added.label(),
        added.slug()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn list(database: &DatabaseLocation, format: Format) -> anyhow::Result<ExitCode> {
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

pub(super) fn add_product(database: &DatabaseLocation, args: NewProductArgs) -> anyhow::Result<ExitCode> {
    let price = Money::parse(&args.price).map_err(|error| anyhow::anyhow!("--price: {error}"))?;
    if price.cents() <= 0 {
        bail!("--price must be more than $0.00");
    }
    let text = |value: &str, flag: &str| -> anyhow::Result<String> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 200 || value.chars().any(char::is_control) {
            bail!("--{flag} is 1 to 200 characters on one line");
        }
        Ok(value.to_owned())
    };
    let (title, creator, format) = (
        text(&args.title, "title")?,
        text(&args.creator, "creator")?,
        text(&args.format, "format")?,
    );
    let store = open_existing(database)?;
    let categories = store.categories();
    let category = categories.by_slug(&args.category).with_context(|| {
        format!(
            "there is no category {:?}; the store has {}",
            args.category,
            categories.slugs(categories.every())
        )
    })?;
    let product = store.add_product(
        &Actor::command(),
        &NewProduct {
            category: category.id(),
            format,
            title,
            creator,
            description: args.description.trim().to_owned(),
            price,
            featured: args.featured,
        },
        Clock::system().now(),
    )?;
    println!(
        "added product {} ({}, {}) at /products/{}",
        product.id, product.title, product.price, product.id
    );
    Ok(ExitCode::SUCCESS)
}
