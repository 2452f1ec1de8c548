//! Synthetic shoppers in bulk, for load tests and the benchmark (`bench/run`).

use rusqlite::params;
use time::{Duration, OffsetDateTime};

use super::{Store, StoreError, unix};

/// The e-mail address of synthetic shopper `n`.
pub fn load_test_email(n: u64) -> String {
    format!("shopper{n}@load.test")
}

impl Store {
    /// Adds `count` shoppers (`shopper0@load.test`, …) sharing `password_hash`, each
    /// with a card, three credits (Digital Music + Kindle, Instant Video, a gift
    /// card) and two past orders paid from the gift card, with their ledger events.
    /// One transaction and prepared statements: 100,000 shoppers take seconds.
    pub fn seed_load_test_shoppers(
        &self,
        count: u64,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let track: (i64, i64) = tx.query_row(
                "SELECT p.id, p.price_cents FROM products p JOIN categories k ON k.id = p.category_id
                 WHERE k.slug = 'music' ORDER BY p.price_cents, p.id LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let mut user = tx.prepare(
                "INSERT INTO users (email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut card = tx.prepare(
                "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at)
                 VALUES (?1, 'Visa', '4242', 1, ?2)",
            )?;
            let mut credit = tx.prepare(
                "INSERT INTO credits (user_id, kind, source, description, original_cents,
                                      remaining_cents, expires_at, created_at)
                 VALUES (?1, ?2, 'grant', ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut credit_category = tx.prepare(
                "INSERT INTO credit_categories (credit_id, category_id)
                 SELECT ?1, id FROM categories WHERE slug = ?2",
            )?;
            let mut event = tx.prepare(
                "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut order = tx.prepare(
                "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, gift_card_cents, placed_at)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            )?;
            let created = unix(now - Duration::days(40));
            let expiry = unix(now + Duration::days(60));
            for n in 0..count {
                user.execute(params![load_test_email(n), format!("Shopper {n}"), password_hash, created])?;
                let user_id = tx.last_insert_rowid();
                card.execute(params![user_id, created])?;
                let mut gift_card = 0;
                for (kind, categories, description, cents, expires) in [
                    ("promotional", &["music", "kindle"][..], "Digital Music and Kindle credit", 2000, Some(expiry)),
                    ("promotional", &["video"][..], "Instant Video credit", 500, None),
                    ("gift_card", &[][..], "Gift card", 5000, None),
                ] {
                    let spent = if kind == "gift_card" { 2 * track.1 } else { 0 };
                    credit.execute(params![user_id, kind, description, cents, cents - spent, expires, created])?;
                    let credit_id = tx.last_insert_rowid();
                    for category in categories {
                        credit_category.execute(params![credit_id, category])?;
                    }
                    event.execute(params![credit_id, "grant", cents, None::<i64>, created])?;
                    if kind == "gift_card" {
                        gift_card = credit_id;
                    }
                }
                for past in 0..2 {
                    let placed = unix(now - Duration::days(10 + past));
                    order.execute(params![user_id, track.0, format!("seed-{n}-{past}"), track.1, placed])?;
                    let order_id = tx.last_insert_rowid();
                    event.execute(params![gift_card, "spend", -track.1, order_id, placed])?;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Money};
    use crate::store::testing::temporary_store;

    #[test]
    fn synthetic_shoppers_have_consistent_ledgers_and_balances() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        store.seed_demo_if_empty("hash", now).unwrap();
        store.seed_load_test_shoppers(50, "hash", now).unwrap();
        assert!(store.verify_ledger().unwrap().is_empty());
        let user = store
            .user_id_by_email(&Email::parse(&load_test_email(49)).unwrap())
            .unwrap()
            .unwrap();
        let balances = store.balances_for(user, now).unwrap();
        let id = |slug| store.categories().by_slug(slug).unwrap().id();
        assert_eq!(balances.of_category(id("music")), Money::from_cents(2000));
        assert_eq!(balances.of_category(id("kindle")), Money::from_cents(2000));
        assert_eq!(balances.gift_cards(), Money::from_cents(5000 - 2 * 99));
        assert_eq!(store.orders_of(user).unwrap().len(), 2);
    }
}
