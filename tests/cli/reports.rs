//! `storecredit report sales|liability|codes` (SPEC §8): the reports as a table,
//! CSV or JSON, with sensible defaults and clear refusals.

use crate::commands::{fresh_database, stderr, stdout, storecredit};
use crate::support::FreshDatabase;

/// A store with Ann's account and two credits granted today: $10.00 for Digital
/// Music and Kindle, and a $25.00 gift card.
fn store_with_credit() -> Option<FreshDatabase> {
    let db = fresh_database()?;
    let added = storecredit(
        &db,
        &["user", "add", "--email", "ann@example.com", "--name", "Ann"],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    for extra in [&["--categories", "music,kindle"][..], &["--gift-card"][..]] {
        let amount = if extra[0] == "--gift-card" {
            "25.00"
        } else {
            "10.00"
        };
        let mut args = vec![
            "credit",
            "grant",
            "--reason",
            "goodwill",
            "--email",
            "ann@example.com",
            "--amount",
            amount,
        ];
        args.extend_from_slice(extra);
        let granted = storecredit(&db, &args, "");
        assert!(granted.status.success(), "{}", stderr(&granted));
    }
    Some(db)
}

fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

#[test]
fn the_liability_report_shows_what_is_owed_today_per_kind_and_set_of_departments() {
    let Some(db) = store_with_credit() else { return };

    let report = storecredit(&db, &["report", "liability", "--format", "csv"], "");

    assert!(report.status.success(), "{}", stderr(&report));
    let csv = stdout(&report);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "section,kind,categories,period,credits,amount");
    let today = today();
    assert!(
        lines.contains(&format!("outstanding,gift card,every department,{today},1,25.00").as_str()),
        "{csv}"
    );
    assert!(
        lines.contains(&format!("outstanding,promotional,Digital Music + Kindle,{today},1,10.00").as_str()),
        "{csv}"
    );
    assert!(
        lines.contains(&format!("outstanding,total,,{today},2,35.00").as_str()),
        "{csv}"
    );
    assert!(lines.contains(&"expiring,all,,never,2,35.00"), "{csv}");
    let this_month = &today[..7];
    assert!(
        lines.contains(&format!("expiring,all,,{this_month},0,0.00").as_str()),
        "{csv}"
    );
}

#[test]
fn the_liability_as_of_yesterday_ignores_todays_grants() {
    let Some(db) = store_with_credit() else { return };
    let yesterday = (time::OffsetDateTime::now_utc().date().previous_day().unwrap()).to_string();

    let report = storecredit(
        &db,
        &["report", "liability", "--as-of", &yesterday, "--format", "json"],
        "",
    );

    assert!(report.status.success(), "{}", stderr(&report));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&report)).unwrap();
    let total = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["section"] == "outstanding" && row["kind"] == "total")
        .unwrap();
    assert_eq!(total["amount"], serde_json::json!(0.00));
    assert_eq!(total["credits"], serde_json::json!(0));
}

#[test]
fn the_sales_report_covers_the_last_thirty_days_by_default_with_a_total() {
    let Some(db) = store_with_credit() else { return };

    let report = storecredit(&db, &["report", "sales", "--format", "csv"], "");

    assert!(report.status.success(), "{}", stderr(&report));
    let csv = stdout(&report);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "day,orders,gross,discounts,promotional_credit,gift_card,card,refunds,refunded_to_card,net"
    );
    assert_eq!(lines.len(), 1 + 30 + 1, "{csv}");
    assert!(lines[30].starts_with(&today()), "{csv}");
    assert_eq!(lines[31], "total,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00");
}

#[test]
fn the_sales_report_takes_a_range_and_prints_a_table_for_people() {
    let Some(db) = store_with_credit() else { return };

    let report = storecredit(
        &db,
        &["report", "sales", "--from", "2026-11-01", "--to", "2026-11-03"],
        "",
    );

    assert!(report.status.success(), "{}", stderr(&report));
    let table = stdout(&report);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("DAY"), "{table}");
    assert!(lines[1].starts_with("2026-11-01"), "{table}");
    assert!(
        lines[4].starts_with("total") && lines[4].ends_with("$0.00"),
        "{table}"
    );
}

#[test]
fn a_day_that_cannot_be_read_is_refused_naming_its_flag() {
    let Some(db) = store_with_credit() else { return };

    for (args, flag) in [
        (&["report", "sales", "--from", "11/01/2026"][..], "--from"),
        (&["report", "codes", "--to", "2026-02-30"][..], "--to"),
        (&["report", "liability", "--as-of", "yesterday"][..], "--as-of"),
    ] {
        let refused = storecredit(&db, args, "");
        assert!(!refused.status.success(), "{args:?}");
        assert!(stderr(&refused).contains(flag), "{args:?}: {}", stderr(&refused));
        assert!(stdout(&refused).is_empty());
    }
}

#[test]
fn a_range_that_ends_before_it_starts_is_refused() {
    let Some(db) = store_with_credit() else { return };

    let refused = storecredit(
        &db,
        &["report", "sales", "--from", "2026-11-05", "--to", "2026-11-01"],
        "",
    );

    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("the last day (2026-11-01) comes before the first (2026-11-05)"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn the_codes_report_lists_every_code_with_its_redemptions_and_value() {
    let Some(db) = store_with_credit() else { return };
    let created = storecredit(
        &db,
        &[
            "code",
            "create",
            "--code",
            "SPRING-15",
            "--kind",
            "gift-card",
            "--amount",
            "15.00",
            "--description",
            "Spring gift",
        ],
        "",
    );
    assert!(created.status.success(), "{}", stderr(&created));

    let report = storecredit(&db, &["report", "codes", "--format", "csv"], "");

    assert!(report.status.success(), "{}", stderr(&report));
    let csv = stdout(&report);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "code,kind,active,redemptions,value");
    assert!(lines.contains(&"SPRING-15,gift-card,true,0,0.00"), "{csv}");
    assert_eq!(*lines.last().unwrap(), "total,,,0,0.00");
}
