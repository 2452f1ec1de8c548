//! The demo catalog, account and codes (SPEC §5), seeded into an empty database.

use rusqlite::{Transaction, params};
use time::OffsetDateTime;

use super::categories::load_categories;
use super::codes::insert_code;
use super::credits::{insert_credit, spend_credit};
use super::discounts::insert_discount;
use super::{SqliteStore, StoreError, unix};
use crate::store::shared::demo::{
    CATALOG, DEMO_CARD, demo_account, demo_codes, demo_credits, demo_discount, past_order, past_track,
};
use crate::store::sql::SqliteConnection;
use crate::store::users::{CreateUserError, insert_user};

impl SqliteStore {
    /// Seeds the demo catalog, account and codes when the database has no products
    /// and no accounts; returns whether it did. `password_hash` is the demo
    /// password's hash (hashing is the caller's job, off any async executor).
    pub fn seed_demo_if_empty(&self, password_hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.write(|tx| {
            let populated: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM users)",
                [],
                |row| row.get(0),
            )?;
            if populated {
                return Ok(false);
            }
            seed(tx, password_hash, now)?;
            Ok(true)
        })
    }
}

fn seed(tx: &Transaction, password_hash: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    let mut insert_product = tx.prepare_cached(
        "INSERT INTO products (category_id, format, title, creator, description, price_cents, featured)
         VALUES ((SELECT id FROM categories WHERE slug = ?1), ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let (past_track, track_price) = past_track();
    let mut track_id = None;
    for (index, (category, format, title, creator, description, price, featured)) in
        CATALOG.iter().enumerate()
    {
        insert_product.execute(params![
            category,
            format,
            title,
            creator,
            description,
            price,
            featured
        ])?;
        if index == past_track {
            track_id = Some(tx.last_insert_rowid());
        }
    }
    let track_id = track_id.expect("the past track is in the catalog");

    let categories = load_categories(tx)?;
    for code in demo_codes(&categories) {
        insert_code(tx, &code, now)?;
    }

    let account = demo_account(now);
    let user = insert_user(
        &mut SqliteConnection::new(tx),
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
        "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at) VALUES (?1, ?2, ?3, 1, ?4)",
        params![user.0, brand, last4, unix(account.created_at)],
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
    tx.execute(
        "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, promotional_credit_cents, placed_at)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
        params![
            user.0,
            track_id,
            order.idempotency_key,
            track_price.cents(),
            unix(order.placed_at)
        ],
    )?;
    let order_id = tx.last_insert_rowid();
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
    use super::*;
    use crate::domain::Email;
    use crate::store::shared::demo::DEMO_EMAIL;
    use crate::store::sqlite::testing::temporary_store;

    #[test]
    fn the_demo_account_shows_the_spec_balances() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        assert!(store.seed_demo_if_empty("hash", now).unwrap());
        let user = crate::store::Store::sqlite(store.clone())
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
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        assert!(store.seed_demo_if_empty("hash", now).unwrap());
        assert!(!store.seed_demo_if_empty("hash", now).unwrap());
        assert_eq!(store.products_in(None).unwrap().len(), CATALOG.len());
    }

    #[test]
    fn every_category_has_at_least_five_products() {
        let (store, _folder) = temporary_store();
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
}
