//! `storecredit copy --to postgres://…`, run as a real process: a store moved from
//! its SQLite file onto PostgreSQL (SPEC §6 "Engines"). The tests that need a
//! PostgreSQL server skip, saying so, without STORECREDIT_TEST_POSTGRES.

use std::path::Path;
use std::process::{Command, Output};

use storecredit::domain::{
    Adjustment, AdjustmentReason, CategoryLabel, CategorySlug, CreditKind, CreditSource, DisplayName, Email,
    Money, PromoCode,
};
use storecredit::store::Store;
use storecredit::store::credits::NewCredit;
use storecredit::store::demo::DEMO_EMAIL;
use storecredit::store::orders::Promotion;
use storecredit::store::test_postgres::{TestDatabase, test_database};
use time::OffsetDateTime;

fn storecredit(database: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_storecredit"))
        .args(args)
        .env("STORECREDIT_DATABASE", database)
        .env_remove("STORECREDIT_COPY_TO")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn copy(source: &Path, target: &TestDatabase) -> Output {
    storecredit(path(source), &["copy", "--to", target.url()])
}

fn path(file: &Path) -> &str {
    file.to_str().expect("a UTF-8 temporary path")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A store on a new file that has been used: the demo, a department added with a
/// credit for it, that credit adjusted, codes redeemed, orders paid from credit
/// and by card, the last one refunded, and a second shopper.
fn used_store(file: &Path) -> Store {
    let store = Store::open(file).unwrap();
    let now = OffsetDateTime::now_utc();
    store.seed_demo_if_empty("not-used-here", now).unwrap();
    let demo = store
        .user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap())
        .unwrap()
        .unwrap();
    store
        .add_category(
            &storecredit::domain::Actor::command(),
            &CategorySlug::parse("audiobooks").unwrap(),
            &CategoryLabel::parse("Audiobooks").unwrap(),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let credit = NewCredit {
        kind: CreditKind::Promotional(store.categories().parse_list("music,audiobooks").unwrap()),
        source: CreditSource::Grant,
        description: "For the new audiobooks".into(),
        amount: Money::from_cents(700),
        expires_at: None,
        code_redemption_id: None,
    };
    let granted = store
        .grant_credit(
            &storecredit::domain::Actor::command(),
            demo,
            &credit,
            &storecredit::domain::AdjustmentReason::parse("test").unwrap(),
            now,
        )
        .unwrap();
    store
        .adjust_credit(
            &storecredit::domain::Actor::command(),
            granted,
            Adjustment::Take(Money::from_cents(150)),
            &AdjustmentReason::parse("granted too much").unwrap(),
            now,
        )
        .unwrap();
    for code in ["GIFT-20", "VIDEO-5"] {
        store
            .redeem_code(demo, &PromoCode::parse(code).unwrap(), now)
            .unwrap();
    }
    let products = store.products_in(None).unwrap();
    let titled = |title: &str| products.iter().find(|product| product.title == title).unwrap().id;
    let discount = store.discounts_of(demo).unwrap()[0].id;
    store
        .place_order(
            demo,
            titled("Salt & Static"),
            &Promotion::SavedDiscount(discount),
            "with-the-discount",
            now,
        )
        .unwrap();
    for key in ["first", "second", "third"] {
        store
            .place_order(demo, titled("SafeKeep Backup"), &Promotion::None, key, now)
            .unwrap();
    }
    let newest = store.orders_of(demo).unwrap()[0].id;
    store
        .refund_order(
            &storecredit::domain::Actor::command(),
            newest,
            &storecredit::store::orders::RefundRequest::whole(
                storecredit::domain::AdjustmentReason::parse("never arrived").unwrap(),
            ),
            now,
        )
        .unwrap();
    store
        .create_user(
            &Email::parse("ann@example.com").unwrap(),
            &DisplayName::parse("Ann").unwrap(),
            "another-hash",
            now,
        )
        .unwrap();
    store
}

/// What an operator and the shoppers would see of `store`, read through the
/// store's door: every account with its balances, credits and their ledgers,
/// orders and receipts and saved discounts; the codes, orders, departments and
/// catalog.
fn everything_seen(store: &Store, now: OffsetDateTime) -> Vec<String> {
    let mut seen = vec![
        format!("{:?}", store.categories()),
        format!("{:?}", store.products_in(None).unwrap()),
        format!("{:?}", store.list_codes().unwrap()),
        format!("{:?}", store.list_orders(None).unwrap()),
    ];
    for account in store.list_accounts(None).unwrap() {
        let user = store
            .user_id_by_email(&Email::parse(&account.email).unwrap())
            .unwrap()
            .unwrap();
        seen.push(format!("{account:?}"));
        seen.push(format!("{:?}", store.balances_for(user, now).unwrap()));
        seen.push(format!("{:?}", store.credit_activity(user).unwrap()));
        seen.push(format!("{:?}", store.orders_of(user).unwrap()));
        seen.push(format!("{:?}", store.discounts_of(user).unwrap()));
        for order in store.list_orders(Some(user)).unwrap() {
            seen.push(format!("{:?}", store.order_details(order.id).unwrap()));
        }
    }
    seen
}

#[test]
fn a_used_store_copied_to_postgres_shows_the_same_balances_orders_codes_and_ledger() {
    let Some(target) = test_database() else { return };
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("used.db");
    let store = used_store(&file);
    let now = OffsetDateTime::now_utc();
    let before = everything_seen(&store, now);
    drop(store);

    let copied = copy(&file, &target);

    assert!(copied.status.success(), "{}", stderr(&copied));
    assert!(stdout(&copied).contains("ledger ok"), "{}", stdout(&copied));
    assert!(stderr(&copied).contains("credit_events"), "{}", stderr(&copied));
    let copy = Store::open_existing_location(&target.location()).unwrap();
    assert_eq!(everything_seen(&copy, now), before);
    let verified = storecredit(target.url(), &["ledger", "verify"]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    let balance = |database: &str| stdout(&storecredit(database, &["balance", "--email", DEMO_EMAIL]));
    assert_eq!(balance(target.url()), balance(path(&file)));
    assert!(balance(target.url()).contains("Audiobooks"));
}

#[test]
fn the_copy_never_prints_the_password() {
    let Some(target) = test_database() else { return };
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("used.db");
    drop(used_store(&file));

    let outputs = [copy(&file, &target), copy(&file, &target)];

    let (_, after_user) = target.url().split_once("://").unwrap();
    let password = after_user
        .split_once('@')
        .and_then(|(user, _)| user.split_once(':'))
        .map(|(_, password)| password.to_owned());
    for output in &outputs {
        let printed = stdout(output) + &stderr(output);
        assert!(!printed.contains(target.url()), "{printed}");
        if let Some(password) = &password {
            assert!(!printed.contains(&format!(":{password}@")), "{printed}");
        }
    }
}

/// Each table's rows on PostgreSQL, as `table rows` lines.
fn counts(target: &TestDatabase) -> Vec<String> {
    let mut client = postgres::Client::connect(target.url(), postgres::NoTls).unwrap();
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name <> 'storecredit_migrations'
             ORDER BY table_name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(tables.len() >= 18, "the store's schema is there: {tables:?}");
    tables
        .iter()
        .map(|table| {
            let rows: i64 = client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .unwrap()
                .get(0);
            format!("{table} {rows}")
        })
        .collect()
}

#[test]
fn a_second_copy_into_the_same_database_is_refused_and_changes_nothing() {
    let Some(target) = test_database() else { return };
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("used.db");
    let store = used_store(&file);
    let first = copy(&file, &target);
    assert!(first.status.success(), "{}", stderr(&first));
    let after_first = counts(&target);
    store
        .create_user(
            &Email::parse("bo@example.com").unwrap(),
            &DisplayName::parse("Bo").unwrap(),
            "a-hash",
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    drop(store);

    let second = Command::new(env!("CARGO_BIN_EXE_storecredit"))
        .args(["--database", path(&file), "copy"])
        .env("STORECREDIT_COPY_TO", target.url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();

    assert!(!second.status.success());
    let said = stderr(&second);
    assert!(said.contains("is not empty"), "{said}");
    assert!(said.contains("nothing was copied"), "{said}");
    assert_eq!(counts(&target), after_first);
}

#[test]
fn a_copy_that_fails_midway_leaves_the_target_empty() {
    let Some(target) = test_database() else { return };
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("used.db");
    drop(used_store(&file));
    // SQLite keeps what it is given; PostgreSQL's BIGINT column cannot hold it.
    // Discounts come late in the copy, after most tables are written.
    let sqlite = rusqlite::Connection::open(&file).unwrap();
    sqlite
        .execute("UPDATE discounts SET expires_at = 'soon' WHERE id = 1", [])
        .unwrap();

    let failed = copy(&file, &target);

    assert!(!failed.status.success());
    let said = stderr(&failed);
    assert!(
        said.contains("discounts.expires_at should hold an integer"),
        "{said}"
    );
    assert!(said.contains("nothing was copied"), "{said}");
    assert!(
        said.contains("credit_events"),
        "the tables before were written: {said}"
    );
    let empty: Vec<String> = counts(&target)
        .iter()
        .map(|line| {
            let table = line.split(' ').next().unwrap();
            // The schema's own rows: four departments and the audit chain's head.
            let seeded = match table {
                "categories" => 4,
                "audit_chain" => 1,
                _ => 0,
            };
            format!("{table} {seeded}")
        })
        .collect();
    assert_eq!(counts(&target), empty);

    sqlite
        .execute("UPDATE discounts SET expires_at = NULL WHERE id = 1", [])
        .unwrap();
    let again = copy(&file, &target);
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn a_store_on_postgres_is_not_copied_but_pointed_to_pg_dump() {
    let refused = storecredit(
        "postgres://shop:hunter2-secret@localhost:1/shop",
        &["copy", "--to", "postgres://shop:hunter2-secret@localhost:1/other"],
    );

    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains("pg_dump"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
}

#[test]
fn a_copy_to_a_file_is_refused_naming_backup() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("used.db");
    drop(Store::open(&file).unwrap());
    let target = folder.path().join("copy.db");

    let refused = storecredit(path(&file), &["copy", "--to", path(&target)]);

    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains("postgres://") && said.contains("backup"), "{said}");
    assert!(!target.exists());
}

#[test]
fn copy_help_says_what_the_target_must_be() {
    let help = storecredit("unused.db", &["copy", "--help"]);

    assert!(help.status.success());
    let said = stdout(&help);
    assert!(said.contains("--to <TO>"), "{said}");
    assert!(said.contains("empty"), "{said}");
    assert!(said.contains("STORECREDIT_COPY_TO"), "{said}");
}
