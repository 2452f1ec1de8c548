//! Seeds a fresh database for the benchmark: the demo data plus N synthetic
//! shoppers (`shopper{n}@load.test`, password `load-test-password`).
//!
//! `cargo run --release --example bench_seed -- DATABASE [SHOPPERS]`

use std::path::PathBuf;
use std::time::Instant;

use storecredit::auth::password::hash_now;
use storecredit::store::Store;
use storecredit::store::demo::DEMO_PASSWORD;

pub const LOAD_TEST_PASSWORD: &str = "load-test-password";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let database = PathBuf::from(args.next().unwrap_or_else(|| "bench/bench.db".to_owned()));
    let shoppers: u64 = args.next().map_or(Ok(100_000), |n| n.parse())?;
    anyhow::ensure!(
        !database.exists(),
        "{} exists; the benchmark wants a fresh database",
        database.display()
    );
    let store = Store::open(&database)?;
    let now = time::OffsetDateTime::now_utc();
    let hash = |password| hash_now(password).map_err(|e| anyhow::anyhow!("{e}"));
    store.seed_demo_if_empty(&hash(DEMO_PASSWORD)?, now)?;
    let started = Instant::now();
    store.seed_load_test_shoppers(shoppers, &hash(LOAD_TEST_PASSWORD)?, now)?;
    println!(
        "seeded {shoppers} shoppers into {} in {:.1} s",
        database.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
