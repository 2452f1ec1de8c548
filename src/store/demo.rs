//! The demo catalog, account and codes (SPEC §5), seeded into an empty store.

use time::OffsetDateTime;

use super::categories::load_categories;
use super::codes::insert_code;
use super::credits::{insert_credit, spend_credit};
use super::discounts::insert_discount;
use super::sql::{Connection, sql, unix};
use super::users::{CreateUserError, insert_user};
use super::{Store, StoreError};
use crate::media::demo::DemoProduct;
pub(crate) use crate::store::rules::demo::CATALOG;
#[cfg(test)]
pub(crate) use crate::store::rules::demo::CatalogEntry;
use crate::store::rules::demo::{
    DEMO_CARD, demo_account, demo_codes, demo_credits, demo_discount, past_order, past_track,
};
pub use crate::store::rules::demo::{DEMO_EMAIL, DEMO_NAME, DEMO_PASSWORD};

impl Store {
    /// Seeds the demo catalog, account and codes when the database has no products
    /// and no accounts; returns whether it did. `password_hash` is the demo
    /// password's hash (hashing is the caller's job, off any async executor).
    ///
    /// One transaction: when several servers start at once on an empty database,
    /// one seeds it and the others find it populated (on PostgreSQL they are
    /// refused as serialization failures and run again).
    pub fn seed_demo_if_empty(&self, password_hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.write(|tx| {
            let populated: bool = tx.query_value(
                sql!("SELECT EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM users)"),
                &[],
            )?;
            if populated {
                return Ok(false);
            }
            seed(tx, password_hash, now)?;
            Ok(true)
        })
    }
}

fn seed(tx: &mut dyn Connection, password_hash: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    let (past_track, track_price) = past_track();
    let mut track_id = None;
    for (index, &(category, format, title, creator, description, price, featured)) in
        CATALOG.iter().enumerate()
    {
        let id: i64 = tx.query_value(
            sql!(
                "INSERT INTO products (category_id, format, title, creator, description, price_cents, featured)
                 VALUES ((SELECT id FROM categories WHERE slug = $1), $2, $3, $4, $5, $6, $7)
                 RETURNING id"
            ),
            &[
                &category,
                &format,
                &title,
                &creator,
                &description,
                &price,
                &featured,
            ],
        )?;
        let demo_file = DemoProduct {
            id,
            category,
            format,
            title,
            creator,
            description,
        }
        .file_name();
        if let Some(name) = demo_file {
            tx.execute(
                sql!("UPDATE products SET media_file = $2 WHERE id = $1"),
                &[&id, &name],
            )?;
        }
        if index == past_track {
            track_id = Some(id);
        }
    }
    let track_id = track_id.expect("the past track is in the catalog");

    let categories = load_categories(tx)?;
    for code in demo_codes(&categories) {
        insert_code(tx, &code, now)?;
    }

    let account = demo_account(now);
    let user = insert_user(
        tx,
        &account.email,
        &account.name,
        password_hash,
        account.created_at,
    )
    .map_err(|e| match e {
        CreateUserError::Store(e) => e,
        CreateUserError::EmailTaken => StoreError::Corrupt("demo account exists".into()),
    })?;
    let (brand, last4) = DEMO_CARD;
    tx.execute(
        sql!(
            "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at)
             VALUES ($1, $2, $3, TRUE, $4)"
        ),
        &[&user.0, &brand, &last4, &unix(account.created_at)],
    )?;

    let mut past_order_credit = None;
    for credit in demo_credits(&categories, now) {
        let id = insert_credit(tx, user, &credit.credit, credit.granted_at)?;
        if credit.pays_past_order {
            past_order_credit = Some(id);
        }
    }
    let past_order_credit = past_order_credit.expect("a demo credit pays the past order");

    let order = past_order(now);
    let order_id: i64 = tx.query_value(
        sql!(
            "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, promotional_credit_cents,
                                 placed_at)
             VALUES ($1, $2, $3, $4, $4, $5) RETURNING id"
        ),
        &[
            &user.0,
            &track_id,
            &order.idempotency_key,
            &track_price.cents(),
            &unix(order.placed_at),
        ],
    )?;
    spend_credit(tx, past_order_credit, track_price, order_id, order.placed_at)?;

    let discount = demo_discount(&categories, now);
    insert_discount(
        tx,
        user,
        discount.description,
        discount.terms,
        None,
        discount.granted_at,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::domain::Email;
    use crate::store::testing::{TestStore, each_engine, tester};

    #[test]
    fn the_demo_account_shows_the_spec_balances() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            assert!(store.seed_demo_if_empty("hash", now).unwrap());
            let user = store
                .user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap())
                .unwrap()
                .unwrap();
            let balances = store.balances_for(user, now).unwrap();
            let amounts: Vec<String> = balances
                .lines()
                .iter()
                .map(|line| format!("{} {}", line.hook, line.amount))
                .collect();
            assert_eq!(
                amounts,
                [
                    "music $14.01",
                    "kindle $10.00",
                    "video $3.50",
                    "gift-card $25.00",
                    "software $0.00"
                ],
                "{}",
                store.engine_name()
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn every_demo_product_names_its_demo_file() {
        for TestStore { store, .. } in each_engine() {
            store
                .seed_demo_if_empty("hash", OffsetDateTime::now_utc())
                .unwrap();

            let files = store.demo_product_files().unwrap();

            assert_eq!(files.len(), CATALOG.len(), "{}", store.engine_name());
            for file in &files {
                let product = &file.product;
                let kind =
                    crate::media::demo::DemoKind::of(product.category.slug(), &product.format).unwrap();
                assert_eq!(
                    file.media_file,
                    crate::media::demo::demo_file_name(product.id, &product.title, kind)
                );
                assert_eq!(
                    store.product_media_file(product.id).unwrap().as_deref(),
                    Some(file.media_file.as_str())
                );
            }
            let first = &files[0];
            store
                .set_product_media_file(
                    &tester(),
                    first.product.id,
                    "products/1/own.wav",
                    OffsetDateTime::now_utc(),
                )
                .unwrap();
            assert_eq!(store.demo_product_files().unwrap().len(), CATALOG.len() - 1);
        }
    }

    #[test]
    fn seeding_twice_changes_nothing() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            assert!(store.seed_demo_if_empty("hash", now).unwrap());
            assert!(!store.seed_demo_if_empty("hash", now).unwrap());
            assert_eq!(store.products_in(None).unwrap().len(), CATALOG.len());
        }
    }

    #[test]
    fn every_category_has_at_least_five_products() {
        for TestStore { store, .. } in each_engine() {
            store
                .seed_demo_if_empty("hash", OffsetDateTime::now_utc())
                .unwrap();
            for category in store.categories().iter() {
                assert!(
                    store.products_in(Some(category.id())).unwrap().len() >= 5,
                    "{}: {category}",
                    store.engine_name()
                );
            }
        }
    }

    #[test]
    fn servers_seeding_an_empty_store_at_once_seed_it_once() {
        for TestStore { store, location, .. } in each_engine() {
            const SERVERS: usize = 6;
            let stores: Vec<Store> = std::iter::once(store)
                .chain((1..SERVERS).map(|_| Store::open_location(&location).unwrap()))
                .collect();
            let now = OffsetDateTime::now_utc();
            let start = Barrier::new(SERVERS);

            let seeded: Vec<bool> = std::thread::scope(|scope| {
                let seeding: Vec<_> = stores
                    .iter()
                    .map(|store| {
                        let start = &start;
                        scope.spawn(move || {
                            start.wait();
                            store.seed_demo_if_empty("hash", now).unwrap()
                        })
                    })
                    .collect();
                seeding.into_iter().map(|seed| seed.join().unwrap()).collect()
            });

            let store = &stores[0];
            assert_eq!(
                seeded.iter().filter(|&&seeded| seeded).count(),
                1,
                "{}: {seeded:?}",
                store.engine_name()
            );
            assert_eq!(store.products_in(None).unwrap().len(), CATALOG.len());
            assert_eq!(store.list_accounts(None).unwrap().len(), 1);
            assert_eq!(
                store.list_codes().unwrap().len(),
                demo_codes(&store.categories()).len()
            );
            assert_eq!(store.list_orders(None).unwrap().len(), 1);
            let user = store
                .user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap())
                .unwrap()
                .unwrap();
            assert_eq!(
                store.credits_of(user).unwrap().len(),
                demo_credits(&store.categories(), now).len()
            );
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }
}
