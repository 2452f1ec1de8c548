//! The catalog as an operator changes it: `category add|list|rename|move|hide|show`
//! (the store's departments) and `product add|rename|price|file|hide|show` (what
//! is on their shelves, and the file each delivers).

use crate::config::DatabaseLocation;
use std::path::Path;
use std::process::ExitCode;

use super::open_existing;
use crate::listing::{Cell, Format, Listing};
use anyhow::{Context, bail};

use super::NewProductArgs;
use crate::clock::Clock;
use crate::domain::{Actor, Category, CategoryLabel, CategorySlug, Money, ProductText};
use crate::listing::for_people;
use crate::media::{MediaDir, safe_file_name};
use crate::store::Store;
use crate::store::catalog::NewProduct;
use crate::store::categories::Direction;

/// The category with `slug`, or an error listing the store's.
fn category_named(store: &Store, slug: &str) -> anyhow::Result<Category> {
    let categories = store.categories();
    categories.by_slug(slug).cloned().with_context(|| {
        format!(
            "there is no category {:?}; the store has {}",
            for_people(slug),
            categories.slugs(categories.every())
        )
    })
}

pub(super) fn rename(database: &DatabaseLocation, slug: &str, label: &str) -> anyhow::Result<ExitCode> {
    let label = CategoryLabel::parse(label).map_err(|error| anyhow::anyhow!("--label: {error}"))?;
    let store = open_existing(database)?;
    let category = category_named(&store, slug)?;
    let renamed = store.rename_category(&Actor::command(), category.id(), &label, Clock::system().now())?;
    println!(
        "category {} is now labelled {} (was {})",
        renamed.slug(),
        for_people(renamed.label()),
        for_people(category.label())
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn set_hidden(database: &DatabaseLocation, slug: &str, hidden: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let category = category_named(&store, slug)?;
    let changed =
        store.set_category_hidden(&Actor::command(), category.id(), hidden, Clock::system().now())?;
    let state = if hidden {
        "hidden from shoppers"
    } else {
        "shown to shoppers"
    };
    if changed {
        println!("category {} is {state} now", category.slug());
    } else {
        println!(
            "category {} was {state} already: nothing changed",
            category.slug()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn move_category(
    database: &DatabaseLocation,
    slug: &str,
    direction: &str,
) -> anyhow::Result<ExitCode> {
    let direction = Direction::parse(direction)
        .with_context(|| format!("--direction: {:?} is neither up nor down", for_people(direction)))?;
    let store = open_existing(database)?;
    let category = category_named(&store, slug)?;
    store.move_category(&Actor::command(), category.id(), direction, Clock::system().now())?;
    let order: Vec<String> = store.categories().iter().map(|c| c.slug().to_owned()).collect();
    println!(
        "moved category {} {}: {}",
        category.slug(),
        direction.as_str(),
        order.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn rename_product(database: &DatabaseLocation, id: i64, title: &str) -> anyhow::Result<ExitCode> {
    let title = ProductText::parse(title).map_err(|error| anyhow::anyhow!("--title: {error}"))?;
    let store = open_existing(database)?;
    let before = store.rename_product(&Actor::command(), id, &title, Clock::system().now())?;
    println!(
        "product {id} is now titled {} (was {})",
        for_people(title.as_str()),
        for_people(&before.title)
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn price_product(database: &DatabaseLocation, id: i64, price: &str) -> anyhow::Result<ExitCode> {
    let price = Money::parse(price).map_err(|error| anyhow::anyhow!("--price: {error}"))?;
    if price.cents() <= 0 {
        bail!("--price must be more than $0.00");
    }
    let store = open_existing(database)?;
    let before = store.set_product_price(&Actor::command(), id, price, Clock::system().now())?;
    println!(
        "product {id} ({}) now costs {price} (was {})",
        for_people(&before.title),
        before.price
    );
    Ok(ExitCode::SUCCESS)
}

/// `product file ID PATH`: copies PATH into the media folder as
/// `products/{id}/{safe name}`, then names it the product's file.
pub(super) fn product_file(
    database: &DatabaseLocation,
    id: i64,
    path: &Path,
    media_dir: &Path,
) -> anyhow::Result<ExitCode> {
    let shown = for_people(&path.display().to_string());
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {shown}"))?;
    let metadata = file.metadata().with_context(|| format!("cannot read {shown}"))?;
    if metadata.is_dir() {
        bail!("{shown} is a folder: give the path of one file");
    }
    if !metadata.is_file() {
        bail!("{shown} is not a regular file");
    }
    let store = open_existing(database)?;
    let product = store
        .product(id)?
        .with_context(|| format!("there is no product {id}"))?;
    let original = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = format!("products/{id}/{}", safe_file_name(&original));
    // A folder no server uses would take the file where no shopper can reach it.
    let folder = media_dir.canonicalize().map_err(|_| {
        anyhow::anyhow!(
            "the media folder {} does not exist: name the folder the servers use with --media-dir \
             (or STORECREDIT_MEDIA_DIR); a server makes it when it starts",
            for_people(&media_dir.display().to_string())
        )
    })?;
    let media = MediaDir::new(media_dir);
    let copied = media.put(&name, &mut file).with_context(|| {
        format!(
            "cannot copy {shown} into the media folder {}",
            for_people(&media_dir.display().to_string())
        )
    })?;
    let before = store.set_product_media_file(&Actor::command(), id, &name, Clock::system().now())?;
    println!(
        "product {id} ({}) delivers {name} now ({copied} bytes copied from {shown} into {})",
        for_people(&product.title),
        for_people(&folder.display().to_string())
    );
    match before {
        Some(before) if before != name && media.resolve(&before).is_some() => println!(
            "it replaced {}, which stays in the media folder",
            for_people(&before)
        ),
        Some(before) if before != name => println!("it replaced {}", for_people(&before)),
        Some(_) => println!("it replaced the file of the same name"),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn set_product_hidden(
    database: &DatabaseLocation,
    id: i64,
    hidden: bool,
) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let changed = store.set_product_hidden(&Actor::command(), id, hidden, Clock::system().now())?;
    let state = if hidden {
        "hidden from shoppers (not for sale)"
    } else {
        "on sale"
    };
    if changed {
        println!("product {id} is {state} now");
    } else {
        println!("product {id} was {state} already: nothing changed");
    }
    Ok(ExitCode::SUCCESS)
}

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
    let mut listing = Listing::new(&["id", "slug", "label", "hidden"]);
    for category in store.categories().iter() {
        listing.push(vec![
            Cell::Count(category.id().get()),
            Cell::text(category.slug().to_owned()),
            Cell::text(category.label().to_owned()),
            Cell::Flag(category.is_hidden()),
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
