//! Seeds a fresh database for the benchmark: the demo data plus N synthetic
//! shoppers (`shopper{n}@load.test`, password `load-test-password`).
//!
//! `cargo run --release --example bench_seed -- DATABASE [SHOPPERS]`
//!
//! The server's store creates the file and the demo; the shoppers are then written
//! straight into the SQLite file in one transaction with prepared statements, so
//! 100,000 take seconds and the server's library holds no seeding code.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior, params};
use storecredit::auth::password::hash_now;
use storecredit::store::Store;
use storecredit::store::demo::DEMO_PASSWORD;
use time::{Duration, OffsetDateTime};

#[path = "support/load_test.rs"]
mod load_test;

use load_test::{LOAD_TEST_PASSWORD, load_test_email};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let database = PathBuf::from(args.next().unwrap_or_else(|| "bench/bench.db".to_owned()));
    let shoppers: u64 = args.next().map_or(Ok(100_000), |n| n.parse())?;
    anyhow::ensure!(
        !database.exists(),
        "{} exists; the benchmark wants a fresh database",
        database.display()
    );
    let now = OffsetDateTime::now_utc();
    let hash = |password| hash_now(password).map_err(|e| anyhow::anyhow!("{e}"));
    Store::open(&database)?.seed_demo_if_empty(&hash(DEMO_PASSWORD)?, now)?;
    let started = Instant::now();
    seed_shoppers(&database, shoppers, &hash(LOAD_TEST_PASSWORD)?, now)?;
    println!(
        "seeded {shoppers} shoppers into {} in {:.1} s",
        database.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Adds `count` shoppers (`shopper0@load.test`, …) sharing `password_hash` to a
/// database the store has created and seeded with the demo, each with a card,
/// three credits (Digital Music + Kindle, Instant Video, a gift card) and two past
/// orders of the cheapest track paid from the gift card, with their ledger events.
fn seed_shoppers(
    database: &Path,
    count: u64,
    password_hash: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    let mut connection = Connection::open(database)?;
    connection.execute_batch("PRAGMA foreign_keys = ON;")?;
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let track: (i64, i64) = tx.query_row(
            "SELECT p.id, p.price_cents FROM products p JOIN categories k ON k.id = p.category_id
             WHERE k.slug = 'music' ORDER BY p.price_cents, p.id LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let mut user =
            tx.prepare("INSERT INTO users (email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)")?;
        let mut card = tx.prepare(
            "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at)
             VALUES (?1, 'Visa', '4242', 1, ?2)",
        )?;
        let mut credit = tx.prepare(
            "INSERT INTO credits (user_id, kind, source, description, original_cents,
                                  remaining_cents, expires_at, created_at)
             VALUES (?1, ?2, 'grant', ?3, ?4, ?5, ?6, ?7)",
        )?;
        // A credit's categories are rows referencing them (the database keeps the
        // credit's category_mask to match).
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
        // The store keeps instants as Unix seconds.
        let created = (now - Duration::days(40)).unix_timestamp();
        let expiry = (now + Duration::days(60)).unix_timestamp();
        for n in 0..count {
            user.execute(params![
                load_test_email(n),
                format!("Shopper {n}"),
                password_hash,
                created
            ])?;
            let user_id = tx.last_insert_rowid();
            card.execute(params![user_id, created])?;
            let mut gift_card = 0;
            for (kind, categories, description, cents, expires) in [
                (
                    "promotional",
                    &["music", "kindle"][..],
                    "Digital Music and Kindle credit",
                    2000,
                    Some(expiry),
                ),
                ("promotional", &["video"][..], "Instant Video credit", 500, None),
                ("gift_card", &[][..], "Gift card", 5000, None),
            ] {
                let spent = if kind == "gift_card" { 2 * track.1 } else { 0 };
                credit.execute(params![
                    user_id,
                    kind,
                    description,
                    cents,
                    cents - spent,
                    expires,
                    created
                ])?;
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
                let placed = (now - Duration::days(10 + past)).unix_timestamp();
                order.execute(params![
                    user_id,
                    track.0,
                    format!("seed-{n}-{past}"),
                    track.1,
                    placed
                ])?;
                let order_id = tx.last_insert_rowid();
                event.execute(params![gift_card, "spend", -track.1, order_id, placed])?;
            }
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use storecredit::domain::{Email, Money};

    use super::*;

    #[test]
    fn synthetic_shoppers_have_consistent_ledgers_and_balances() {
        let folder = tempfile::tempdir().unwrap();
        let database = folder.path().join("bench.db");
        let now = OffsetDateTime::now_utc();
        Store::open(&database)
            .unwrap()
            .seed_demo_if_empty("hash", now)
            .unwrap();
        seed_shoppers(&database, 50, "hash", now).unwrap();
        let store = Store::open(&database).unwrap();
        assert!(store.verify_ledger().unwrap().is_empty());
        let user = store
            .user_id_by_email(&Email::parse(&load_test_email(49)).unwrap())
            .unwrap()
            .unwrap();
        let balances = store.balances_for(user, now).unwrap();
        let id = |slug| store.categories().by_slug(slug).unwrap().id();
        assert_eq!(balances.of_category(id("music")), Money::from_cents(2000));
        assert_eq!(balances.of_category(id("kindle")), Money::from_cents(2000));
        assert_eq!(balances.of_category(id("video")), Money::from_cents(500));
        assert_eq!(balances.gift_cards(), Money::from_cents(5000 - 2 * 99));
        assert_eq!(store.orders_of(user).unwrap().len(), 2);
    }
}
