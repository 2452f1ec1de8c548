//! The audit trail: one append-only, hash-chained entry per change made by staff
//! or by an operator command, written by the use case that makes the change, in
//! its own transaction ([`record`]), so an entry can be neither forgotten nor
//! left without its change.
//!
//! Each entry holds a SHA-256 over the previous entry's hash and its own content;
//! `audit_chain`'s one row holds the last id and hash. Every writer updates that
//! row first, so writers on every server take their turn and there is one chain,
//! and [`Store::verify_audit`] notices an entry changed, removed or added by hand.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::sql::{Connection, Row, page_limit, sql, unix};
use super::{Page, Store, StoreError};
use crate::domain::{Actor, UserId};

/// How many entries a search by text reads at a time.
const AUDIT_CHUNK: usize = 500;

/// The hash the first entry follows.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What kind of change an entry records (the `audit_entries.action` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    CreditGrant,
    CreditAdjust,
    CreditRevoke,
    OrderRefund,
    CodeCreate,
    CodeDeactivate,
    CodeReactivate,
    AccountUnlock,
    ResetLink,
    ApprovalRequest,
    ApprovalApprove,
    ApprovalReject,
    CategoryAdd,
    CategoryRename,
    CategoryMove,
    CategoryHide,
    CategoryShow,
    ProductAdd,
    ProductRename,
    ProductPrice,
    ProductHide,
    ProductShow,
    ProductFile,
    SettingChange,
    StaffAdd,
    StaffEnrol,
    StaffRole,
    StaffDisable,
    StaffEnable,
    StaffReset,
    ConsoleSignIn,
    ConsoleSignInFailed,
    ConsoleSignOut,
}

impl AuditAction {
    pub const ALL: [AuditAction; 33] = [
        AuditAction::CreditGrant,
        AuditAction::CreditAdjust,
        AuditAction::CreditRevoke,
        AuditAction::OrderRefund,
        AuditAction::CodeCreate,
        AuditAction::CodeDeactivate,
        AuditAction::CodeReactivate,
        AuditAction::AccountUnlock,
        AuditAction::ResetLink,
        AuditAction::ApprovalRequest,
        AuditAction::ApprovalApprove,
        AuditAction::ApprovalReject,
        AuditAction::CategoryAdd,
        AuditAction::CategoryRename,
        AuditAction::CategoryMove,
        AuditAction::CategoryHide,
        AuditAction::CategoryShow,
        AuditAction::ProductAdd,
        AuditAction::ProductRename,
        AuditAction::ProductPrice,
        AuditAction::ProductHide,
        AuditAction::ProductShow,
        AuditAction::ProductFile,
        AuditAction::SettingChange,
        AuditAction::StaffAdd,
        AuditAction::StaffEnrol,
        AuditAction::StaffRole,
        AuditAction::StaffDisable,
        AuditAction::StaffEnable,
        AuditAction::StaffReset,
        AuditAction::ConsoleSignIn,
        AuditAction::ConsoleSignInFailed,
        AuditAction::ConsoleSignOut,
    ];

    /// Its name in the trail, e.g. `credit.grant`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::CreditGrant => "credit.grant",
            AuditAction::CreditAdjust => "credit.adjust",
            AuditAction::CreditRevoke => "credit.revoke",
            AuditAction::OrderRefund => "order.refund",
            AuditAction::CodeCreate => "code.create",
            AuditAction::CodeDeactivate => "code.deactivate",
            AuditAction::CodeReactivate => "code.reactivate",
            AuditAction::AccountUnlock => "account.unlock",
            AuditAction::ResetLink => "account.reset_link",
            AuditAction::ApprovalRequest => "approval.request",
            AuditAction::ApprovalApprove => "approval.approve",
            AuditAction::ApprovalReject => "approval.reject",
            AuditAction::CategoryAdd => "category.add",
            AuditAction::CategoryRename => "category.rename",
            AuditAction::CategoryMove => "category.move",
            AuditAction::CategoryHide => "category.hide",
            AuditAction::CategoryShow => "category.show",
            AuditAction::ProductAdd => "product.add",
            AuditAction::ProductRename => "product.rename",
            AuditAction::ProductPrice => "product.price",
            AuditAction::ProductHide => "product.hide",
            AuditAction::ProductShow => "product.show",
            AuditAction::ProductFile => "product.file",
            AuditAction::SettingChange => "setting.change",
            AuditAction::StaffAdd => "staff.add",
            AuditAction::StaffEnrol => "staff.enrol",
            AuditAction::StaffRole => "staff.role",
            AuditAction::StaffDisable => "staff.disable",
            AuditAction::StaffEnable => "staff.enable",
            AuditAction::StaffReset => "staff.reset",
            AuditAction::ConsoleSignIn => "console.signin",
            AuditAction::ConsoleSignInFailed => "console.signin_failed",
            AuditAction::ConsoleSignOut => "console.signout",
        }
    }

    /// The action named `name` (as [`AuditAction::as_str`] writes it).
    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.as_str() == name)
    }
}

/// A change about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: AuditAction,
    /// What was changed, e.g. `credit:12`, `order:7`, `code:SPRING`, `staff:ann@…`.
    pub subject: String,
    /// The shopper whose account it concerns, if any.
    pub customer: Option<UserId>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<String>,
}

impl Change {
    /// A change of `subject` with nothing else said yet.
    pub fn new(action: AuditAction, subject: impl Into<String>) -> Change {
        Change {
            action,
            subject: subject.into(),
            customer: None,
            before: None,
            after: None,
            reason: None,
        }
    }

    pub fn customer(mut self, customer: UserId) -> Change {
        self.customer = Some(customer);
        self
    }

    pub fn before(mut self, before: impl Into<String>) -> Change {
        self.before = Some(before.into());
        self
    }

    pub fn after(mut self, after: impl Into<String>) -> Change {
        self.after = Some(after.into());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Change {
        self.reason = Some(reason.into());
        self
    }
}

/// An entry of the trail as it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: OffsetDateTime,
    /// `staff:<email>` or `cli:<user>`.
    pub actor: String,
    /// The action's name (see [`AuditAction::as_str`]).
    pub action: String,
    pub subject: String,
    pub customer: Option<UserId>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<String>,
    pub hash: String,
}

/// Which entries to list; every field narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor (`staff:ann@shop.example`, `cli:root`).
    pub actor: Option<String>,
    /// An actor containing this text, in any case (`ann`, `cli:`).
    pub actor_contains: Option<String>,
    /// Exactly this subject (`code:SPRING`, `credit:12`).
    pub subject: Option<String>,
    /// Exactly this action name.
    pub action: Option<String>,
    pub customer: Option<UserId>,
    /// At or after this instant.
    pub since: Option<OffsetDateTime>,
    /// Before this instant.
    pub until: Option<OffsetDateTime>,
}

/// What checking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    /// Every entry matches its hash and follows the one before it.
    Whole { entries: i64 },
    /// The first entry that does not match, and how.
    Broken { entry: i64, why: String },
}

/// Appends the entry for `change`, made by `actor` at `now`, inside the caller's
/// transaction; its id.
pub(crate) fn record(
    tx: &mut dyn Connection,
    actor: &Actor,
    change: &Change,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    // Taking the chain's row first makes concurrent writers wait their turn (a
    // conflict PostgreSQL retries), so ids and hashes form one line.
    let (id, previous): (i64, String) = tx.query_one(
        sql!(
            "UPDATE audit_chain SET last_id = last_id + 1 WHERE only_row = 1
             RETURNING last_id, last_hash"
        ),
        &[],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let actor = actor.to_string();
    let at = unix(now);
    let customer = change.customer.map(|user| user.0);
    let hash = entry_hash(
        &previous,
        &EntryContent {
            id,
            at,
            actor: &actor,
            action: change.action.as_str(),
            subject: &change.subject,
            customer,
            before: change.before.as_deref(),
            after: change.after.as_deref(),
            reason: change.reason.as_deref(),
        },
    );
    tx.execute(
        sql!(
            "INSERT INTO audit_entries (id, at, actor, action, subject, customer_id, before_value,
                                        after_value, reason, previous_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        &[
            &id,
            &at,
            &actor,
            &change.action.as_str(),
            &change.subject,
            &customer,
            &change.before,
            &change.after,
            &change.reason,
            &previous,
            &hash,
        ],
    )?;
    tx.execute(
        sql!("UPDATE audit_chain SET last_hash = $1 WHERE only_row = 1"),
        &[&hash],
    )?;
    Ok(id)
}

/// What an entry's hash covers, besides the previous hash.
struct EntryContent<'a> {
    id: i64,
    at: i64,
    actor: &'a str,
    action: &'a str,
    subject: &'a str,
    customer: Option<i64>,
    before: Option<&'a str>,
    after: Option<&'a str>,
    reason: Option<&'a str>,
}

/// SHA-256, in lower-case hex, over the previous hash and the entry's fields as
/// one JSON array (unambiguous whatever the fields hold).
fn entry_hash(previous: &str, entry: &EntryContent<'_>) -> String {
    let content = serde_json::json!([
        entry.id,
        entry.at,
        entry.actor,
        entry.action,
        entry.subject,
        entry.customer,
        entry.before,
        entry.after,
        entry.reason,
    ]);
    let mut digest = Sha256::new();
    digest.update(previous.as_bytes());
    digest.update(b"\n");
    digest.update(content.to_string().as_bytes());
    digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

macro_rules! entry_columns {
    () => {
        "id, at, actor, action, subject, customer_id, before_value, after_value, reason, hash, previous_hash"
    };
}

fn entry_from_row(row: &Row<'_>) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: row.get(0)?,
        at: row.instant(1)?,
        actor: row.get(2)?,
        action: row.get(3)?,
        subject: row.get(4)?,
        customer: row.get::<Option<i64>>(5)?.map(UserId),
        before: row.get(6)?,
        after: row.get(7)?,
        reason: row.get(8)?,
        hash: row.get(9)?,
    })
}

impl Store {
    /// Records a change that has no other row to write (a failed console sign-in),
    /// in a transaction of its own.
    pub fn record_audit(
        &self,
        actor: &Actor,
        change: &Change,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        self.write(|tx| record(tx, actor, change, now))
    }

    /// One page of the entries `filter` lets through, newest first, older than
    /// the entry `before` when given.
    pub fn audit_page(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let wanted = filter
            .actor_contains
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_lowercase);
        // Without text to match, one query reads the page; with it, entries are
        // read a chunk at a time and matched here (both engines fold case alike).
        let chunk = if wanted.is_some() {
            AUDIT_CHUNK
        } else {
            size.saturating_add(1)
        };
        self.read(|connection| {
            let mut found = Vec::new();
            let mut cursor = before.unwrap_or(i64::MAX);
            while found.len() <= size {
                let rows = connection.query(
                    sql!(concat!(
                        "SELECT ",
                        entry_columns!(),
                        " FROM audit_entries
                         WHERE id < $1
                           AND (CAST($2 AS TEXT) IS NULL OR actor = $2)
                           AND (CAST($3 AS TEXT) IS NULL OR action = $3)
                           AND (CAST($4 AS BIGINT) IS NULL OR customer_id = $4)
                           AND at >= $5 AND at < $6
                           AND (CAST($7 AS TEXT) IS NULL OR subject = $7)
                         ORDER BY id DESC LIMIT $8"
                    )),
                    &[
                        &cursor,
                        &filter.actor,
                        &filter.action,
                        &filter.customer.map(|user| user.0),
                        &filter.since.map_or(i64::MIN, unix),
                        &filter.until.map_or(i64::MAX, unix),
                        &filter.subject,
                        &page_limit(chunk - 1),
                    ],
                    entry_from_row,
                )?;
                let exhausted = rows.len() < chunk;
                for entry in rows {
                    cursor = entry.id;
                    if wanted
                        .as_deref()
                        .is_none_or(|wanted| entry.actor.to_lowercase().contains(wanted))
                    {
                        found.push(entry);
                        if found.len() > size {
                            break;
                        }
                    }
                }
                if exhausted {
                    break;
                }
            }
            Ok(Page::of(found, size, |entry| entry.id))
        })
    }

    /// Checks the whole chain, oldest first: each entry's id follows the one
    /// before, it names the previous entry's hash and its own hash matches its
    /// content; and the chain's head names the last entry.
    pub fn verify_audit(&self) -> Result<AuditVerdict, StoreError> {
        self.read_consistent(|connection| {
            let mut expected_id = 1;
            let mut previous = GENESIS.to_owned();
            let mut broken: Option<(i64, String)> = None;
            connection.for_each_row(
                sql!(concat!(
                    "SELECT ",
                    entry_columns!(),
                    " FROM audit_entries ORDER BY id"
                )),
                &[],
                &mut |row| {
                    if broken.is_some() {
                        return Ok(());
                    }
                    let entry = entry_from_row(row)?;
                    let named_previous: String = row.get(10)?;
                    let content = EntryContent {
                        id: entry.id,
                        at: row.get(1)?,
                        actor: &entry.actor,
                        action: &entry.action,
                        subject: &entry.subject,
                        customer: entry.customer.map(|user| user.0),
                        before: entry.before.as_deref(),
                        after: entry.after.as_deref(),
                        reason: entry.reason.as_deref(),
                    };
                    if entry.id != expected_id {
                        broken = Some((
                            expected_id,
                            format!("entry {expected_id} is missing (the next is {})", entry.id),
                        ));
                    } else if named_previous != previous {
                        broken = Some((
                            entry.id,
                            "it does not follow the entry before it (its previous hash differs)".to_owned(),
                        ));
                    } else if entry_hash(&previous, &content) != entry.hash {
                        broken = Some((
                            entry.id,
                            "its content does not match its hash (changed since it was written)".to_owned(),
                        ));
                    } else {
                        previous = entry.hash;
                        expected_id += 1;
                    }
                    Ok(())
                },
            )?;
            if let Some((entry, why)) = broken {
                return Ok(AuditVerdict::Broken { entry, why });
            }
            let (last_id, last_hash): (i64, String) = connection.query_one(
                sql!("SELECT last_id, last_hash FROM audit_chain WHERE only_row = 1"),
                &[],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let found = expected_id - 1;
            if last_id != found {
                return Ok(AuditVerdict::Broken {
                    entry: found + 1,
                    why: format!("the trail holds {found} entries, but {last_id} were written"),
                });
            }
            if last_hash != previous {
                return Ok(AuditVerdict::Broken {
                    entry: found,
                    why: "the last entry is not the one the chain's head names".to_owned(),
                });
            }
            Ok(AuditVerdict::Whole { entries: found })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestStore, each_engine};

    fn command() -> Actor {
        Actor::Command {
            user: "tester".to_owned(),
        }
    }

    fn record_three(store: &Store) {
        let now = OffsetDateTime::now_utc();
        for n in 1..=3 {
            store
                .record_audit(
                    &command(),
                    &Change::new(AuditAction::SettingChange, format!("setting:{n}"))
                        .before("a")
                        .after("b")
                        .reason("because"),
                    now,
                )
                .unwrap();
        }
    }

    #[test]
    fn an_untouched_trail_verifies_whole() {
        for TestStore { store, .. } in each_engine() {
            assert_eq!(store.verify_audit().unwrap(), AuditVerdict::Whole { entries: 0 });
            record_three(&store);
            assert_eq!(store.verify_audit().unwrap(), AuditVerdict::Whole { entries: 3 });
            let page = store.audit_page(&AuditFilter::default(), None, 2).unwrap();
            assert_eq!(page.entries.len(), 2);
            assert_eq!(page.entries[0].id, 3);
            assert_eq!(page.entries[0].actor, "cli:tester");
            assert_eq!(page.older, Some(2));
        }
    }

    #[test]
    fn actions_read_back_by_their_names() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
    }

    #[test]
    fn many_writers_on_several_servers_at_once_make_one_chain() {
        for test in each_engine() {
            let servers = [test.store.clone(), test.another_process(), test.another_process()];
            std::thread::scope(|scope| {
                for server in &servers {
                    for _ in 0..3 {
                        scope.spawn(move || record_three(server));
                    }
                }
            });
            assert_eq!(
                test.store.verify_audit().unwrap(),
                AuditVerdict::Whole { entries: 27 }
            );
        }
    }

    #[test]
    fn the_trail_narrows_to_an_actor_containing_text_in_any_case_and_to_a_subject() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = Actor::Staff {
                id: crate::domain::StaffId(1),
                email: "ann@shop.example".to_owned(),
            };
            for n in 0..3 {
                store
                    .record_audit(
                        &ann,
                        &Change::new(AuditAction::CodeCreate, format!("code:C{n}")),
                        now,
                    )
                    .unwrap();
                store
                    .record_audit(
                        &command(),
                        &Change::new(AuditAction::CodeDeactivate, format!("code:C{n}")),
                        now,
                    )
                    .unwrap();
            }
            let by = |filter: AuditFilter, size| {
                store
                    .audit_page(&filter, None, size)
                    .unwrap()
                    .entries
                    .into_iter()
                    .map(|entry| (entry.actor, entry.subject))
                    .collect::<Vec<_>>()
            };

            let anns = by(
                AuditFilter {
                    actor_contains: Some(" ANN@ ".into()),
                    ..AuditFilter::default()
                },
                2,
            );
            assert_eq!(
                anns,
                [
                    ("staff:ann@shop.example".to_owned(), "code:C2".to_owned()),
                    ("staff:ann@shop.example".to_owned(), "code:C1".to_owned())
                ]
            );
            let page = store
                .audit_page(
                    &AuditFilter {
                        actor_contains: Some("ann".into()),
                        ..AuditFilter::default()
                    },
                    None,
                    2,
                )
                .unwrap();
            assert_eq!(page.older, Some(3), "{}", store.engine_name());
            let about_c1 = by(
                AuditFilter {
                    subject: Some("code:C1".into()),
                    ..AuditFilter::default()
                },
                10,
            );
            assert_eq!(about_c1.len(), 2);
            assert!(about_c1.iter().all(|(_, subject)| subject == "code:C1"));
        }
    }
}
