//! Fills a fresh SQLite store with a year of a busy store, for timing the reports
//! (`storecredit report …`, `/admin/reports`): every day of the past year, about
//! 1,200 credits granted (promotional credit for one or two departments expiring
//! after 30 to 180 days, gift cards that never expire, some from codes) and 1,000
//! orders paid from credit first and then by card, a few refunded in whole or in
//! part a day or two later, a few credits revoked or adjusted.
//!
//! `cargo run --release --example busy_year -- DATABASE [DAYS] [ORDERS_A_DAY]`
//!
//! Deterministic (a fixed seed), written straight into the file in one
//! transaction with prepared statements, and keeping the ledger whole: every
//! credit's remaining amount is the sum of its events (`storecredit ledger
//! verify`). For PostgreSQL, copy the file: `storecredit --database FILE copy
//! --to URL`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, TransactionBehavior, params};
use storecredit::store::Store;
use time::OffsetDateTime;

/// Shoppers for each order a day: 50,000 for the busy year.
const SHOPPERS_PER_DAILY_ORDER: i64 = 50;
const DAY: i64 = 86_400;

/// A credit as the seeder keeps it while spending from it.
struct Held {
    id: i64,
    user: i64,
    gift_card: bool,
    /// Category ids it pays for (promotional credit).
    categories: Vec<i64>,
    remaining: i64,
    expires_at: Option<i64>,
    revoked: bool,
}

/// An order that may be refunded later: what it drew from each credit.
struct Placed {
    id: i64,
    at: i64,
    card: i64,
    draws: Vec<(usize, i64)>,
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let database = PathBuf::from(args.next().unwrap_or_else(|| "bench/busy-year.db".to_owned()));
    let days: i64 = args.next().map_or(Ok(365), |n| n.parse())?;
    let orders_a_day: i64 = args.next().map_or(Ok(1_000), |n| n.parse())?;
    anyhow::ensure!(
        !database.exists(),
        "{} exists; the seeder wants a fresh database",
        database.display()
    );
    let now = OffsetDateTime::now_utc();
    Store::open(&database)?.seed_demo_if_empty("not-a-password-hash", now)?;
    let started = Instant::now();
    let counts = seed(&database, days, orders_a_day, now)?;
    println!(
        "seeded {} days into {}: {counts} in {:.1} s",
        days,
        database.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn seed(database: &PathBuf, days: i64, orders_a_day: i64, now: OffsetDateTime) -> anyhow::Result<String> {
    let mut rng = StdRng::seed_from_u64(26);
    let mut connection = Connection::open(database)?;
    connection
        .execute_batch("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let products: Vec<(i64, i64, i64)> = {
        let mut statement = tx.prepare("SELECT id, category_id, price_cents FROM products ORDER BY id")?;
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    let categories: Vec<i64> = {
        let mut statement = tx.prepare("SELECT id FROM categories ORDER BY id")?;
        statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?
    };
    let today = now.unix_timestamp().div_euclid(DAY);
    let first_day = today - days;
    let mut events = 0i64;
    let mut orders = 0i64;
    let mut credits: Vec<Held> = Vec::new();
    {
        let mut user = tx
            .prepare("INSERT INTO users (email, name, password_hash, created_at) VALUES (?1, ?2, 'x', ?3)")?;
        let mut card = tx.prepare(
            "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at) VALUES (?1, 'Visa', '4242', 1, ?2)",
        )?;
        let joined = (first_day - 30) * DAY;
        let shoppers = orders_a_day * SHOPPERS_PER_DAILY_ORDER;
        let mut users = Vec::new();
        for n in 0..shoppers {
            user.execute(params![
                format!("busy{n}@year.test"),
                format!("Shopper {n}"),
                joined
            ])?;
            let id = tx.last_insert_rowid();
            card.execute(params![id, joined])?;
            users.push(id);
        }
        let mut code = tx.prepare(
            "INSERT INTO codes (code, kind, description, amount_cents, percent_off, valid_days, created_at)
             VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6)",
        )?;
        let mut code_ids = Vec::new();
        for n in 0..20 {
            let gift = n % 4 == 0;
            code.execute(params![
                format!("BUSY{n:02}"),
                if gift { "gift_card" } else { "credit" },
                format!("Busy year code {n}"),
                if gift { 2_500 } else { 500 + 100 * n },
                if gift { None } else { Some(60) },
                joined
            ])?;
            let id = tx.last_insert_rowid();
            if !gift {
                tx.execute(
                    "INSERT INTO code_categories (code_id, category_id) VALUES (?1, ?2)",
                    params![id, categories[n as usize % categories.len()]],
                )?;
            }
            code_ids.push((id, gift, if gift { 2_500 } else { 500 + 100 * n }));
        }
        let mut redemption = tx.prepare(
            "INSERT OR IGNORE INTO code_redemptions (code_id, user_id, redeemed_at) VALUES (?1, ?2, ?3)",
        )?;
        let mut credit = tx.prepare(
            "INSERT INTO credits (user_id, kind, source, description, code_redemption_id, original_cents,
                                  remaining_cents, expires_at, created_at)
             VALUES (?1, ?2, ?3, 'busy year credit', ?4, ?5, ?5, ?6, ?7)",
        )?;
        let mut credit_category =
            tx.prepare("INSERT INTO credit_categories (credit_id, category_id) VALUES (?1, ?2)")?;
        let mut event = tx.prepare(
            "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, created_at, actor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut order = tx.prepare(
            "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, promotional_credit_cents,
                                 gift_card_cents, card_cents, card_label, placed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut refund = tx.prepare(
            "INSERT INTO refunds (order_id, amount_cents, card_cents, card_label, withheld_cents, reason, actor, refunded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'busy year refund', 'cli:seeder', ?6)",
        )?;
        let mut order_refunded = tx.prepare(
            "UPDATE orders SET refunded_cents = refunded_cents + ?2,
                    refunded_at = CASE WHEN refunded_cents + ?2 = promotional_credit_cents + gift_card_cents + card_cents
                                       THEN ?3 ELSE refunded_at END
             WHERE id = ?1",
        )?;
        // Orders of the last two days, some of which are refunded.
        let mut recent: Vec<Placed> = Vec::new();
        // Credits with something left, by index into `credits`.
        let mut live: Vec<usize> = Vec::new();
        // Each shopper's credits, by index into `credits`.
        let mut by_user: HashMap<i64, Vec<usize>> = HashMap::new();
        for day in first_day..today {
            let start = day * DAY;
            let moment = |rng: &mut StdRng| start + rng.random_range(0..DAY);
            // Credits granted today.
            for _ in 0..orders_a_day * 6 / 5 {
                let at = moment(&mut rng);
                let owner = users[rng.random_range(0..users.len())];
                let roll = rng.random_range(0..100);
                let (gift, amount, expires, source, redemption_id, cats) = if roll < 8 {
                    let (code_id, gift, amount) = code_ids[rng.random_range(0..code_ids.len())];
                    redemption.execute(params![code_id, owner, at])?;
                    if tx.changes() == 0 {
                        continue;
                    }
                    let redeemed = tx.last_insert_rowid();
                    let cats = if gift {
                        Vec::new()
                    } else {
                        tx.query_row(
                            "SELECT category_id FROM code_categories WHERE code_id = ?1",
                            [code_id],
                            |row| row.get(0),
                        )
                        .map(|category| vec![category])?
                    };
                    tx.execute(
                        "UPDATE codes SET redemptions = redemptions + 1 WHERE id = ?1",
                        [code_id],
                    )?;
                    let source = if gift { "gift_card_code" } else { "promo_code" };
                    (
                        gift,
                        amount,
                        (!gift).then_some(at + 60 * DAY),
                        source,
                        Some(redeemed),
                        cats,
                    )
                } else if roll < 38 {
                    let amount = [1_000, 2_500, 5_000, 10_000][rng.random_range(0..4)];
                    (true, amount, None, "grant", None, Vec::new())
                } else {
                    let amount = rng.random_range(2..=40) * 100 + [0, 50, 99][rng.random_range(0..3)];
                    let first = categories[rng.random_range(0..categories.len())];
                    let mut cats = vec![first];
                    if rng.random_bool(0.3) {
                        let second = categories[rng.random_range(0..categories.len())];
                        if second != first {
                            cats.push(second);
                        }
                    }
                    let lifetime = rng.random_range(30..=180) * DAY;
                    (false, amount, Some(at + lifetime), "grant", None, cats)
                };
                credit.execute(params![
                    owner,
                    if gift { "gift_card" } else { "promotional" },
                    source,
                    redemption_id,
                    amount,
                    expires,
                    at
                ])?;
                let id = tx.last_insert_rowid();
                for category in &cats {
                    credit_category.execute(params![id, category])?;
                }
                let actor = (source == "grant").then_some("cli:seeder");
                event.execute(params![id, "grant", amount, None::<i64>, at, actor])?;
                events += 1;
                live.push(credits.len());
                by_user.entry(owner).or_default().push(credits.len());
                credits.push(Held {
                    id,
                    user: owner,
                    gift_card: gift,
                    categories: cats,
                    remaining: amount,
                    expires_at: expires,
                    revoked: false,
                });
            }
            // Orders placed today, in time order: most draw on a credit of their
            // shopper (promotional credit first, then a gift card), the rest pay by card.
            let mut times: Vec<i64> = (0..orders_a_day).map(|_| moment(&mut rng)).collect();
            times.sort_unstable();
            let mut placed_today = Vec::new();
            for at in times {
                // A random credit still usable now; the spent, revoked and expired
                // ones met on the way leave the pool.
                let mut usable = None;
                while usable.is_none() && !live.is_empty() {
                    let slot = rng.random_range(0..live.len());
                    let held = &credits[live[slot]];
                    if held.remaining > 0 && !held.revoked && held.expires_at.is_none_or(|end| end > at) {
                        usable = Some(live[slot]);
                    } else {
                        live.swap_remove(slot);
                    }
                }
                let mut draws = Vec::new();
                let (owner, product) = if let Some(index) = usable.filter(|_| rng.random_bool(0.75)) {
                    let held = &credits[index];
                    let fitting: Vec<&(i64, i64, i64)> = products
                        .iter()
                        .filter(|(_, category, _)| held.gift_card || held.categories.contains(category))
                        .collect();
                    if fitting.is_empty() {
                        (
                            users[rng.random_range(0..users.len())],
                            products[rng.random_range(0..products.len())],
                        )
                    } else {
                        draws.push((index, 0));
                        (held.user, *fitting[rng.random_range(0..fitting.len())])
                    }
                } else {
                    (
                        users[rng.random_range(0..users.len())],
                        products[rng.random_range(0..products.len())],
                    )
                };
                let (product_id, category, price) = product;
                // What the first credit leaves, another of the shopper's credits
                // valid here pays (a gift card after promotional credit).
                if let Some(&(first, _)) = draws.first()
                    && credits[first].remaining < price
                {
                    let second = by_user.get(&owner).and_then(|held| {
                        held.iter().copied().find(|&index| {
                            let other = &credits[index];
                            index != first
                                && other.remaining > 0
                                && !other.revoked
                                && other.expires_at.is_none_or(|end| end > at)
                                && (other.gift_card || other.categories.contains(&category))
                        })
                    });
                    if let Some(second) = second {
                        draws.push((second, 0));
                    }
                }
                let mut left = price;
                let (mut promotional, mut gift_card) = (0, 0);
                for draw in &mut draws {
                    let held = &mut credits[draw.0];
                    let take = held.remaining.min(left);
                    held.remaining -= take;
                    left -= take;
                    draw.1 = take;
                    if held.gift_card {
                        gift_card += take;
                    } else {
                        promotional += take;
                    }
                }
                let card = left;
                order.execute(params![
                    owner,
                    product_id,
                    format!("busy-{orders}"),
                    price,
                    promotional,
                    gift_card,
                    card,
                    (card > 0).then_some("Visa ending in 4242"),
                    at
                ])?;
                let order_id = tx.last_insert_rowid();
                orders += 1;
                for (index, take) in &draws {
                    if *take > 0 {
                        event.execute(params![
                            credits[*index].id,
                            "spend",
                            -take,
                            order_id,
                            at,
                            None::<String>
                        ])?;
                        events += 1;
                    }
                }
                draws.retain(|(_, take)| *take > 0);
                placed_today.push(Placed {
                    id: order_id,
                    at,
                    card,
                    draws,
                });
            }
            // Refunds of yesterday's orders: 2% whole, 1% in part (the card's share
            // first, then the credits', back into each credit still valid, or as a
            // share withheld from a credit revoked since; a share of a credit that
            // has expired is left out here, as if the refund were of the card only).
            for placed in recent.drain(..) {
                let roll = rng.random_range(0..100);
                if roll >= 3 {
                    continue;
                }
                let at = placed.at + DAY + rng.random_range(0..DAY / 2);
                let paid = placed.card + placed.draws.iter().map(|(_, take)| take).sum::<i64>();
                let whole = roll < 2;
                let mut amount = if whole { paid } else { paid / 2 };
                if amount == 0 {
                    continue;
                }
                let to_card = placed.card.min(amount);
                let mut refunded = to_card;
                let mut withheld = 0;
                amount -= to_card;
                for (index, take) in &placed.draws {
                    if amount == 0 {
                        break;
                    }
                    let share = (*take).min(amount);
                    amount -= share;
                    let held = &mut credits[*index];
                    if held.revoked {
                        withheld += share;
                        refunded += share;
                    } else if held.expires_at.is_none_or(|end| end > at) {
                        held.remaining += share;
                        event.execute(params![held.id, "refund", share, placed.id, at, "cli:seeder"])?;
                        events += 1;
                        refunded += share;
                        live.push(*index);
                    }
                }
                if refunded == 0 {
                    continue;
                }
                refund.execute(params![
                    placed.id,
                    refunded,
                    to_card,
                    (to_card > 0).then_some("Visa ending in 4242"),
                    withheld,
                    at
                ])?;
                order_refunded.execute(params![placed.id, refunded, at])?;
            }
            recent = placed_today;
            // A few revokes and adjustments of credit with something left.
            for _ in 0..orders_a_day / 100 {
                if live.is_empty() {
                    break;
                }
                let index = live[rng.random_range(0..live.len())];
                let held = &mut credits[index];
                let at = start + DAY - 1;
                if held.expires_at.is_some_and(|end| end <= at) || held.remaining == 0 {
                    continue;
                }
                let change = if rng.random_bool(0.5) {
                    held.revoked = true;
                    -held.remaining
                } else {
                    -(held.remaining / 2).max(1)
                };
                held.remaining += change;
                event.execute(params![held.id, "adjust", change, None::<i64>, at, "cli:seeder"])?;
                events += 1;
            }
        }
        let mut remaining = tx.prepare("UPDATE credits SET remaining_cents = ?2 WHERE id = ?1")?;
        for held in &credits {
            remaining.execute(params![held.id, held.remaining])?;
        }
    }
    tx.commit()?;
    connection.execute_batch("ANALYZE;")?;
    Ok(format!(
        "{} shoppers, {} credits, {orders} orders, {events} ledger events",
        orders_a_day * SHOPPERS_PER_DAILY_ORDER,
        credits.len()
    ))
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    #[test]
    fn a_busy_month_keeps_every_ledger_whole() {
        let folder = tempfile::tempdir().unwrap();
        let database = folder.path().join("busy.db");
        let now = OffsetDateTime::now_utc();
        Store::open(&database)
            .unwrap()
            .seed_demo_if_empty("hash", now)
            .unwrap();
        seed(&database, 30, 40, now).unwrap();
        let store = Store::open(&database).unwrap();
        assert!(store.verify_ledger().unwrap().is_empty());
        let yesterday = (now - Duration::days(1)).date();
        let report = store.liability_report(yesterday).unwrap();
        assert!(!report.total.is_zero());
        let series = store
            .liability_series(storecredit::store::reports::DayRange::ending(yesterday, 30))
            .unwrap();
        assert_eq!(series.last().unwrap().outstanding, report.total);
    }
}
