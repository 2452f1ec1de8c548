//! Four eyes from the command line (SPEC §8): `credit grant` and `credit adjust`
//! above the approval threshold wait as requests, `approval approve|reject` by
//! another operator, `approval list`, and `settings set approval-threshold`.
//! A command acts as the operating-system user running it (`cli:<user>`); the
//! other person deciding a request is played through the store, as a console
//! manager or an operator of another account would be.

use std::process::Output;

use storecredit::domain::{Actor, AdjustmentReason, CreditKind, CreditSource, Money};
use storecredit::store::Store;
use storecredit::store::approvals::{GrantAuthority, GrantOutcome, RequestId};
use storecredit::store::audit::AuditFilter;
use storecredit::store::credits::NewCredit;
use time::OffsetDateTime;

use crate::support::FreshDatabase;

/// Runs the binary on `db` as this process's operating-system user.
fn run(db: &FreshDatabase, args: &[&str]) -> Output {
    crate::commands::storecredit(db, args, "")
}

/// Who the commands run as: `cli:<this process's user>`.
fn me() -> String {
    Actor::command().to_string()
}

/// Another operator (of another account on the machine).
fn operator(user: &str) -> Actor {
    Actor::Command {
        user: user.to_owned(),
    }
}

fn reason(text: &str) -> AdjustmentReason {
    AdjustmentReason::parse(text).unwrap()
}

/// Ann's first request, asked for by `actor` through the store: a $600.00 gift card.
fn request_600_as(store: &Store, actor: &Actor) {
    let ann = store
        .user_id_by_email(&storecredit::domain::Email::parse("ann@example.com").unwrap())
        .unwrap()
        .unwrap();
    let credit = NewCredit {
        kind: CreditKind::GiftCard,
        source: CreditSource::Grant,
        description: "Credit from customer service".into(),
        amount: Money::from_cents(60_000),
        expires_at: None,
        code_redemption_id: None,
    };
    let asked = store
        .ask_grant(
            actor,
            GrantAuthority::Full,
            ann,
            &credit,
            &reason("lost parcel"),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert!(matches!(asked, GrantOutcome::AwaitingApproval { .. }));
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A store with one account, ann@example.com.
fn store_with_ann() -> Option<(FreshDatabase, Store)> {
    let db = FreshDatabase::new(crate::ENGINE)?;
    let store = db.open();
    store
        .create_user(
            &storecredit::domain::Email::parse("ann@example.com").unwrap(),
            &storecredit::domain::DisplayName::parse("Ann").unwrap(),
            "not-used-here",
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    Some((db, store))
}

/// Ann's gift-card balance as `balance` prints it.
fn gift_balance(db: &FreshDatabase) -> String {
    let balance = run(db, &["balance", "--email", "ann@example.com"]);
    assert!(balance.status.success(), "{}", stderr(&balance));
    stdout(&balance)
        .lines()
        .find(|line| line.starts_with("Gift Cards"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned()
}

fn grant_gift(db: &FreshDatabase, amount: &str) -> Output {
    run(
        db,
        &[
            "credit",
            "grant",
            "--email",
            "ann@example.com",
            "--amount",
            amount,
            "--gift-card",
            "--reason",
            "lost parcel",
        ],
    )
}

/// Who did what, oldest first, as the audit trail says.
fn trail(store: &Store) -> Vec<String> {
    let mut entries: Vec<String> = store
        .audit_page(&AuditFilter::default(), None, 100)
        .unwrap()
        .entries
        .into_iter()
        .map(|entry| format!("{} {} {}", entry.actor, entry.action, entry.subject))
        .collect();
    entries.reverse();
    entries
}

#[test]
fn a_600_grant_waits_until_another_operator_approves_it() {
    let Some((db, store)) = store_with_ann() else {
        return;
    };

    let asked = grant_gift(&db, "600.00");
    assert!(asked.status.success(), "{}", stderr(&asked));
    assert!(
        stdout(&asked).contains(
            "waits for approval as request 1: above the $500.00 approval threshold; another operator or a \
             manager approves it with `storecredit approval approve 1 --reason …`"
        ),
        "{}",
        stdout(&asked)
    );
    assert!(stdout(&asked).contains("$600.00"), "{}", stdout(&asked));
    assert_eq!(gift_balance(&db), "$0.00");

    let listed = run(&db, &["approval", "list", "--format", "csv"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(stdout(&listed).contains("pending"), "{}", stdout(&listed));
    assert!(stdout(&listed).contains(&me()), "{}", stdout(&listed));

    let own = run(&db, &["approval", "approve", "1", "--reason", "fine"]);
    assert!(!own.status.success());
    assert!(stderr(&own).contains("your own"), "{}", stderr(&own));
    assert_eq!(gift_balance(&db), "$0.00");

    // Another operator, on an account of their own, approves it.
    store
        .approve_request(
            &operator("alice"),
            RequestId(1),
            &reason("parcel checked"),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert_eq!(gift_balance(&db), "$600.00");

    let again = run(&db, &["approval", "approve", "1", "--reason", "also fine"]);
    assert!(!again.status.success(), "decided once");
    assert_eq!(gift_balance(&db), "$600.00");

    assert_eq!(
        trail(&store),
        [
            format!("{} approval.request approval:1", me()),
            "cli:alice credit.grant credit:1".to_owned(),
            "cli:alice approval.approve approval:1".to_owned(),
        ]
    );
}

#[test]
fn a_rejected_request_grants_nothing() {
    let Some((db, store)) = store_with_ann() else {
        return;
    };
    request_600_as(&store, &operator("alice"));

    let rejected = run(&db, &["approval", "reject", "1", "--reason", "no order on file"]);
    assert!(rejected.status.success(), "{}", stderr(&rejected));
    assert!(
        stdout(&rejected).contains("nothing was granted"),
        "{}",
        stdout(&rejected)
    );
    assert_eq!(gift_balance(&db), "$0.00");

    let pending = run(&db, &["approval", "list", "--format", "csv"]);
    assert_eq!(stdout(&pending).lines().count(), 1, "{}", stdout(&pending));
    let all = run(&db, &["approval", "list", "--all", "--format", "csv"]);
    assert!(stdout(&all).contains("rejected"), "{}", stdout(&all));
    assert!(stdout(&all).contains("no order on file"), "{}", stdout(&all));
    assert_eq!(
        trail(&store).last().map(String::as_str),
        Some(format!("{} approval.reject approval:1", me()).as_str())
    );
}

#[test]
fn a_small_grant_is_granted_at_once() {
    let Some((db, _store)) = store_with_ann() else {
        return;
    };
    let granted = grant_gift(&db, "500.00");
    assert!(granted.status.success(), "{}", stderr(&granted));
    assert!(
        stdout(&granted).contains("granted credit 1 of $500.00"),
        "{}",
        stdout(&granted)
    );
    assert_eq!(gift_balance(&db), "$500.00");
}

#[test]
fn a_lower_threshold_makes_smaller_grants_wait_and_is_audited() {
    let Some((db, store)) = store_with_ann() else {
        return;
    };
    let set = run(&db, &["settings", "set", "approval-threshold", "250.00"]);
    assert!(set.status.success(), "{}", stderr(&set));
    assert!(stdout(&set).contains("$250.00 (was $500.00)"), "{}", stdout(&set));
    let shown = run(&db, &["settings", "show"]);
    assert_eq!(
        stdout(&shown).lines().collect::<Vec<_>>(),
        [
            "approval-threshold $250.00",
            "support-grant-limit $25.00",
            "support-day-limit $100.00"
        ]
    );

    let asked = grant_gift(&db, "300");
    assert!(
        stdout(&asked).contains("above the $250.00 approval threshold"),
        "{}",
        stdout(&asked)
    );
    assert_eq!(gift_balance(&db), "$0.00");
    assert_eq!(
        trail(&store)[0],
        format!("{} setting.change setting:approval-threshold", me())
    );
}

#[test]
fn a_threshold_typed_with_a_comma_is_refused_naming_it() {
    let Some((db, store)) = store_with_ann() else {
        return;
    };
    let set = run(&db, &["settings", "set", "approval-threshold", "2,50"]);
    assert!(!set.status.success());
    assert!(
        stderr(&set).contains("approval-threshold \"2,50\""),
        "{}",
        stderr(&set)
    );
    assert!(stderr(&set).contains("comma"), "{}", stderr(&set));
    assert_eq!(
        store.approval_threshold().unwrap(),
        storecredit::domain::Money::from_cents(50_000)
    );
}

#[test]
fn an_upward_adjustment_above_the_threshold_waits_and_a_downward_one_does_not() {
    let Some((db, store)) = store_with_ann() else {
        return;
    };
    assert!(grant_gift(&db, "500").status.success());
    let down = run(
        &db,
        &["credit", "adjust", "1", "--amount", "-400", "--reason", "typo"],
    );
    assert!(stdout(&down).contains("adjusted credit 1"), "{}", stderr(&down));
    assert_eq!(gift_balance(&db), "$100.00");
    assert!(
        run(&db, &["settings", "set", "approval-threshold", "250"])
            .status
            .success()
    );

    let waits = run(
        &db,
        &["credit", "adjust", "1", "--amount", "300", "--reason", "undo"],
    );
    assert!(waits.status.success(), "{}", stderr(&waits));
    assert!(
        stdout(&waits).contains("by +$300.00 waits for approval as request 1: above the $250.00"),
        "{}",
        stdout(&waits)
    );
    assert_eq!(gift_balance(&db), "$100.00");
    let small = run(
        &db,
        &["credit", "adjust", "1", "--amount", "100", "--reason", "undo"],
    );
    assert!(stdout(&small).contains("adjusted credit 1"), "{}", stderr(&small));
    assert_eq!(gift_balance(&db), "$200.00");

    let own = run(&db, &["approval", "approve", "1", "--reason", "ok"]);
    assert!(!own.status.success(), "the asker cannot approve");
    store
        .approve_request(
            &operator("alice"),
            RequestId(1),
            &reason("ok"),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert_eq!(gift_balance(&db), "$500.00");
}

#[test]
fn an_operator_approves_another_persons_request_and_the_command_says_what_it_did() {
    let Some((db, store)) = store_with_ann() else {
        return;
    };
    request_600_as(&store, &operator("alice"));

    let approved = run(&db, &["approval", "approve", "1", "--reason", "parcel checked"]);

    assert!(approved.status.success(), "{}", stderr(&approved));
    assert!(stdout(&approved).contains("$600.00"), "{}", stdout(&approved));
    assert_eq!(gift_balance(&db), "$600.00");
}

#[test]
fn operators_approving_one_request_at_once_apply_it_once() {
    let Some((db, store)) = store_with_ann() else {
        return;
    };
    request_600_as(&store, &operator("alice"));

    let outputs: Vec<Output> = std::thread::scope(|scope| {
        let db = &db;
        let approvals: Vec<_> = (0..4)
            .map(|_| scope.spawn(move || run(db, &["approval", "approve", "1", "--reason", "ok"])))
            .collect();
        approvals
            .into_iter()
            .map(|approval| approval.join().unwrap())
            .collect()
    });

    assert_eq!(outputs.iter().filter(|output| output.status.success()).count(), 1);
    for refused in outputs.iter().filter(|output| !output.status.success()) {
        assert!(
            stderr(refused).contains("was already approved by cli:"),
            "{}",
            stderr(refused)
        );
    }
    assert_eq!(gift_balance(&db), "$600.00");
    let approvals = trail(&store)
        .iter()
        .filter(|entry| entry.contains("approval.approve") || entry.contains("credit.grant"))
        .count();
    assert_eq!(approvals, 2, "one grant and one approval: {:?}", trail(&store));
}
