//! The demo catalog, account and codes (SPEC §5), seeded into an empty store.

use postgres::Transaction;
use time::OffsetDateTime;

use super::categories::load_categories;
use super::codes::insert_code;
use super::credits::{insert_credit, spend_credit};
use super::discounts::insert_discount;
use super::{PostgresStore, StoreError, unix};
use crate::store::shared::demo::{
    CATALOG, DEMO_CARD, demo_account, demo_codes, demo_credits, demo_discount, past_order, past_track,
};
use crate::store::sql::PostgresConnection;
use crate::store::users::{CreateUserError, insert_user};

impl PostgresStore {
    /// Seeds the demo catalog, account and codes when the database has no products
    /// and no accounts; returns whether it did. `password_hash` is the demo
    /// password's hash (hashing is the caller's job, off any async executor).
    ///
    /// One SERIALIZABLE transaction: when several servers start at once on an
    /// empty database, one seeds it and the others, refused and retried, find it
    /// populated.
    pub fn seed_demo_if_empty(&self, password_hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.write(|tx| {
            let populated: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM users)",
                    &[],
                )?
                .try_get(0)?;
            if populated {
                return Ok(false);
            }
            seed(tx, password_hash, now)?;
            Ok(true)
        })
    }
}

fn seed(tx: &mut Transaction<'_>, password_hash: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    let insert_product = tx.prepare(
        "INSERT INTO products (category_id, format, title, creator, description, price_cents, featured)
         VALUES ((SELECT id FROM categories WHERE slug = $1), $2, $3, $4, $5, $6, $7)
         RETURNING id",
    )?;
    let (past_track, track_price) = past_track();
    let mut track_id = None;
    for (index, &(category, format, title, creator, description, price, featured)) in
        CATALOG.iter().enumerate()
    {
        let id: i64 = tx
            .query_one(
                &insert_product,
                &[
                    &category,
                    &format,
                    &title,
                    &creator,
                    &description,
                    &price,
                    &featured,
                ],
            )?
            .try_get(0)?;
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
        &mut PostgresConnection::unprepared(tx),
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
        "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at)
         VALUES ($1, $2, $3, TRUE, $4)",
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
    let order_id: i64 = tx
        .query_one(
            "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, promotional_credit_cents, placed_at)
             VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
            &[
                &user.0,
                &track_id,
                &order.idempotency_key,
                &track_price.cents(),
                &unix(order.placed_at),
            ],
        )?
        .try_get(0)?;
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
    use crate::store::demo::DEMO_EMAIL;
    use crate::store::test_postgres::test_database;

    #[test]
    fn the_demo_account_shows_the_spec_balances() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        assert!(store.seed_demo_if_empty("hash", now).unwrap());
        let user = crate::store::Store::postgres(store.clone())
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
            ]
        );
        assert!(store.verify_ledger().unwrap().is_empty());
    }

    #[test]
    fn seeding_twice_changes_nothing() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        let now = OffsetDateTime::now_utc();
        assert!(store.seed_demo_if_empty("hash", now).unwrap());
        assert!(!store.seed_demo_if_empty("hash", now).unwrap());
        assert_eq!(store.products_in(None).unwrap().len(), CATALOG.len());
    }

    #[test]
    fn every_category_has_at_least_five_products() {
        let Some(database) = test_database() else { return };
        let store = PostgresStore::open(&database.postgres_url()).unwrap();
        store
            .seed_demo_if_empty("hash", OffsetDateTime::now_utc())
            .unwrap();
        for category in store.categories().iter() {
            assert!(
                store.products_in(Some(category.id())).unwrap().len() >= 5,
                "{category}"
            );
        }
    }

    #[test]
    fn servers_seeding_an_empty_store_at_once_seed_it_once() {
        let Some(database) = test_database() else { return };
        let url = database.postgres_url();
        const SERVERS: usize = 6;
        let stores: Vec<PostgresStore> = (0..SERVERS).map(|_| PostgresStore::open(&url).unwrap()).collect();
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

        assert_eq!(seeded.iter().filter(|&&seeded| seeded).count(), 1, "{seeded:?}");
        let store = &stores[0];
        assert_eq!(store.products_in(None).unwrap().len(), CATALOG.len());
        assert_eq!(
            crate::store::Store::postgres(store.clone())
                .list_accounts(None)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            store.list_codes().unwrap().len(),
            demo_codes(&store.categories()).len()
        );
        assert_eq!(store.list_orders(None).unwrap().len(), 1);
        let user = crate::store::Store::postgres(store.clone())
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
