//! Copying a whole store into an empty PostgreSQL database (`storecredit copy
//! --to`): the tables a store has and their columns, declared once in foreign-key
//! order, and the copy's steps. The SQLite engine reads every table from one read
//! snapshot (`sqlite/copy.rs`); the PostgreSQL engine writes them in one
//! transaction (`postgres/copy.rs`); here they are put together and checked.

use std::time::{Duration, Instant};

use super::credits::LedgerMismatch;
use super::postgres::PostgresStore;
use super::{Engine, Store, StoreError};
use crate::store::location::PostgresUrl;

/// A large table reports its progress every this many rows.
pub const PROGRESS_EVERY: u64 = 100_000;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holds {
    /// A 64-bit integer (ids, cents, instants as Unix seconds).
    Integer,
    Text,
    /// Yes or no: 0 or 1 on SQLite, BOOLEAN on PostgreSQL.
    Flag,
    /// Bytes: BLOB on SQLite, BYTEA on PostgreSQL.
    Bytes,
}

/// A column of a table, as both engines name it.
#[derive(Debug)]
pub(crate) struct Column {
    pub name: &'static str,
    pub holds: Holds,
}

/// A table of the store.
#[derive(Debug)]
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// Whether the database hands out its `id`s (an identity on PostgreSQL), so
    /// the target's next id must come after the copied ones.
    pub generated_id: bool,
}

const fn integer(name: &'static str) -> Column {
    Column {
        name,
        holds: Holds::Integer,
    }
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        holds: Holds::Text,
    }
}

const fn flag(name: &'static str) -> Column {
    Column {
        name,
        holds: Holds::Flag,
    }
}

const fn bytes(name: &'static str) -> Column {
    Column {
        name,
        holds: Holds::Bytes,
    }
}

/// Every table of the store with every column, each table after those it refers
/// to. A migration that adds a table or a column adds it here too (a test
/// compares this list with both engines' schemas).
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "users",
        generated_id: true,
        columns: &[
            integer("id"),
            text("email"),
            text("name"),
            text("password_hash"),
            integer("created_at"),
            integer("credentials_version"),
            flag("reminders_off"),
            integer("last_reminded_at"),
            text("unsubscribe_token"),
        ],
    },
    Table {
        name: "categories",
        generated_id: false,
        columns: &[
            integer("id"),
            text("slug"),
            text("label"),
            integer("position"),
            flag("hidden"),
        ],
    },
    Table {
        name: "server_secrets",
        generated_id: false,
        columns: &[text("name"), bytes("value")],
    },
    Table {
        name: "sessions",
        generated_id: false,
        columns: &[
            text("key"),
            integer("user_id"),
            text("state"),
            integer("created_at"),
            integer("expires_at"),
        ],
    },
    Table {
        name: "payment_methods",
        generated_id: true,
        columns: &[
            integer("id"),
            integer("user_id"),
            text("brand"),
            text("last4"),
            flag("is_default"),
            integer("created_at"),
        ],
    },
    Table {
        name: "password_resets",
        generated_id: false,
        columns: &[
            text("token_hash"),
            integer("user_id"),
            integer("created_at"),
            integer("expires_at"),
            integer("used_at"),
        ],
    },
    Table {
        name: "throttle_counters",
        generated_id: false,
        columns: &[text("subject"), integer("attempts"), integer("window_ends")],
    },
    Table {
        name: "products",
        generated_id: true,
        columns: &[
            integer("id"),
            integer("category_id"),
            text("format"),
            text("title"),
            text("creator"),
            text("description"),
            integer("price_cents"),
            flag("featured"),
            flag("hidden"),
            text("media_file"),
        ],
    },
    Table {
        name: "codes",
        generated_id: true,
        columns: &[
            integer("id"),
            text("code"),
            text("kind"),
            text("description"),
            integer("amount_cents"),
            integer("percent_off"),
            integer("valid_days"),
            integer("redeem_by"),
            integer("max_redemptions"),
            integer("redemptions"),
            integer("created_at"),
            flag("active"),
        ],
    },
    Table {
        name: "code_categories",
        generated_id: false,
        columns: &[integer("code_id"), integer("category_id")],
    },
    Table {
        name: "code_redemptions",
        generated_id: true,
        columns: &[
            integer("id"),
            integer("code_id"),
            integer("user_id"),
            integer("redeemed_at"),
        ],
    },
    Table {
        name: "orders",
        generated_id: true,
        columns: &[
            integer("id"),
            integer("user_id"),
            integer("product_id"),
            text("idempotency_key"),
            integer("price_cents"),
            integer("discount_cents"),
            integer("promotional_credit_cents"),
            integer("gift_card_cents"),
            integer("card_cents"),
            text("card_label"),
            text("promotion"),
            integer("placed_at"),
            integer("refunded_at"),
            text("request"),
            text("code_note"),
            integer("refunded_cents"),
        ],
    },
    Table {
        name: "refunds",
        generated_id: true,
        columns: &[
            integer("id"),
            integer("order_id"),
            integer("amount_cents"),
            integer("card_cents"),
            text("card_label"),
            integer("withheld_cents"),
            text("reason"),
            text("actor"),
            integer("refunded_at"),
        ],
    },
    Table {
        name: "credits",
        generated_id: true,
        columns: &[
            integer("id"),
            integer("user_id"),
            text("kind"),
            // Copied as it is: the target's triggers check it against the
            // credit's categories as they arrive.
            integer("category_mask"),
            text("source"),
            text("description"),
            integer("code_redemption_id"),
            integer("original_cents"),
            integer("remaining_cents"),
            integer("expires_at"),
            integer("created_at"),
        ],
    },
    Table {
        name: "credit_categories",
        generated_id: false,
        columns: &[integer("credit_id"), integer("category_id")],
    },
    Table {
        name: "credit_events",
        generated_id: true,
        columns: &[
            integer("id"),
            integer("credit_id"),
            text("kind"),
            integer("amount_cents"),
            integer("order_id"),
            text("note"),
            integer("created_at"),
            text("actor"),
        ],
    },
    Table {
        name: "discounts",
        generated_id: true,
        columns: &[
            integer("id"),
            integer("user_id"),
            text("description"),
            integer("percent_off"),
            integer("amount_off_cents"),
            integer("code_redemption_id"),
            integer("used_by_order_id"),
            integer("expires_at"),
            integer("created_at"),
        ],
    },
    Table {
        name: "discount_categories",
        generated_id: false,
        columns: &[integer("discount_id"), integer("category_id")],
    },
    Table {
        name: "audit_entries",
        generated_id: false,
        columns: &[
            integer("id"),
            integer("at"),
            text("actor"),
            text("action"),
            text("subject"),
            integer("customer_id"),
            text("before_value"),
            text("after_value"),
            text("reason"),
            text("previous_hash"),
            text("hash"),
        ],
    },
    Table {
        name: "audit_chain",
        generated_id: false,
        columns: &[integer("only_row"), integer("last_id"), text("last_hash")],
    },
    Table {
        name: "settings",
        generated_id: false,
        columns: &[text("name"), text("value")],
    },
    Table {
        name: "approval_requests",
        generated_id: true,
        columns: &[
            integer("id"),
            text("kind"),
            integer("user_id"),
            integer("credit_id"),
            integer("amount_cents"),
            text("credit_kind"),
            integer("category_mask"),
            integer("expires_at"),
            text("note"),
            text("reason"),
            text("requested_by"),
            integer("requested_by_staff"),
            integer("requested_at"),
            text("status"),
            text("decided_by"),
            integer("decided_by_staff"),
            integer("decided_at"),
            text("decision_reason"),
        ],
    },
    Table {
        name: "goodwill_grants",
        generated_id: true,
        columns: &[
            integer("id"),
            text("granted_by"),
            integer("granted_by_staff"),
            integer("user_id"),
            integer("amount_cents"),
            integer("granted_at"),
            integer("credit_id"),
            integer("request_id"),
        ],
    },
    Table {
        name: "staff",
        generated_id: true,
        columns: &[
            integer("id"),
            text("email"),
            text("name"),
            text("role"),
            text("password_hash"),
            text("totp_secret"),
            integer("last_totp_step"),
            integer("credentials_version"),
            integer("disabled_at"),
            integer("created_at"),
            integer("last_signin_at"),
        ],
    },
    Table {
        name: "staff_enrolments",
        generated_id: false,
        columns: &[
            text("token_hash"),
            integer("staff_id"),
            text("totp_secret"),
            integer("created_at"),
            integer("expires_at"),
            integer("used_at"),
        ],
    },
    Table {
        name: "staff_sessions",
        generated_id: false,
        columns: &[
            text("token_hash"),
            integer("staff_id"),
            text("csrf_token"),
            integer("credentials_version"),
            integer("created_at"),
            integer("idle_expires_at"),
            integer("expires_at"),
        ],
    },
    Table {
        name: "outbox",
        generated_id: true,
        columns: &[
            integer("id"),
            text("kind"),
            integer("user_id"),
            text("recipient"),
            text("subject"),
            text("text_body"),
            text("html_body"),
            text("message_id"),
            text("list_unsubscribe"),
            flag("holds_secret"),
            integer("created_at"),
            integer("next_attempt_at"),
            integer("claimed_until"),
            integer("attempts"),
            text("last_error"),
            integer("sent_at"),
            integer("failed_at"),
        ],
    },
    Table {
        name: "site_origin",
        generated_id: false,
        columns: &[integer("id"), text("origin"), integer("updated_at")],
    },
    Table {
        name: "pending_registrations",
        generated_id: false,
        columns: &[
            text("token_hash"),
            text("email"),
            text("name"),
            text("password_hash"),
            text("return_to"),
            integer("created_at"),
            integer("expires_at"),
            integer("used_at"),
        ],
    },
    Table {
        name: "expiry_reminders",
        generated_id: false,
        columns: &[
            integer("credit_id"),
            integer("user_id"),
            integer("outbox_id"),
            integer("reminded_at"),
        ],
    },
    Table {
        name: "gift_cards",
        generated_id: false,
        columns: &[
            integer("order_id"),
            integer("code_id"),
            integer("amount_cents"),
            text("recipient_email"),
            text("message"),
            integer("deliver_at"),
            integer("mail_id"),
            integer("voided_at"),
        ],
    },
    Table {
        name: "downloads",
        generated_id: true,
        columns: &[
            integer("id"),
            integer("user_id"),
            integer("order_id"),
            integer("downloaded_at"),
        ],
    },
];

/// One value of a row as it travels from one engine to the other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// What a row is handed to: called once per row, its values in the order of
/// the table's columns.
pub(crate) type RowSink<'a> = dyn FnMut(&[Value]) -> Result<(), StoreError> + 'a;

/// A store's rows as of one moment, table by table.
pub(crate) trait RowSource {
    /// How many rows `table` holds.
    fn count(&self, table: &Table) -> Result<u64, StoreError>;
    /// Hands every row of `table` to `sink`, in the order of its primary key.
    fn each_row(&self, table: &Table, sink: &mut RowSink<'_>) -> Result<(), StoreError>;
}

/// Where a copy has got to, for a person watching a large one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyProgress<'a> {
    /// The target is open, its schema in place, and found empty.
    Started,
    /// Part of a large table is copied (every [`PROGRESS_EVERY`] rows).
    Rows { table: &'a str, copied: u64, of: u64 },
    /// A table is copied.
    Table {
        table: &'a str,
        rows: u64,
        took: Duration,
    },
    /// Every table is written; the row counts are being compared before the
    /// transaction commits.
    Comparing,
    /// The copy is committed; its ledger is being checked.
    CheckingLedger,
}

/// What a finished copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Each table and its rows, in the order copied; the target holds exactly as
    /// many.
    pub tables: Vec<(&'static str, u64)>,
    pub took: Duration,
    /// The credits whose ledger does not add up on the target (as `ledger
    /// verify` reports them): none for a sound store.
    pub ledger: Vec<LedgerMismatch>,
}

impl Copied {
    /// Rows copied in all.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

/// Why a copy was refused or failed: in each case but [`CopyError::LedgerUnchecked`]
/// the target keeps nothing of it.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the store is on PostgreSQL already: copy it with PostgreSQL's own tools, \
         pg_dump --format=custom --file=storecredit.dump \"SOURCE-URL\" then \
         pg_restore --dbname=\"TARGET-URL\" storecredit.dump"
    )]
    SourceOnPostgres,
    #[error(
        "{target} is not empty (it has rows in {tables}): nothing was copied; copy into a new, \
         empty database (createdb, or CREATE DATABASE)"
    )]
    TargetNotEmpty { target: String, tables: String },
    #[error(
        "{table}: the store has {expected} rows but {found} were copied; nothing was copied (the \
         target was left as it was)"
    )]
    CountsDiffer {
        table: &'static str,
        expected: u64,
        found: u64,
    },
    #[error(
        "the copy is committed, but its ledger could not be checked ({0}): run storecredit --database \
         URL ledger verify"
    )]
    LedgerUnchecked(StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<::postgres::Error> for CopyError {
    fn from(error: ::postgres::Error) -> Self {
        CopyError::Store(error.into())
    }
}

impl Store {
    /// Copies this store, every table and every id, into the PostgreSQL database
    /// at `target`, which must be empty (its schema is created when missing), in
    /// one transaction there: the target either holds the whole copy, checked
    /// table by table, or nothing of it. Then checks the copy's ledger. The rows
    /// come from one read snapshot, so a server still writing to the store cannot
    /// tear the copy (but what it writes after that moment is not copied).
    pub fn copy_to(
        &self,
        target: &PostgresUrl,
        progress: &mut dyn FnMut(CopyProgress<'_>),
    ) -> Result<Copied, CopyError> {
        let Engine::Sqlite(source) = &self.engine else {
            return Err(CopyError::SourceOnPostgres);
        };
        let started = Instant::now();
        let target_store = PostgresStore::open(target)?;
        let snapshot = source.copy_snapshot()?;
        let tables = copy_rows(&snapshot, &target_store, target, progress)?;
        drop(snapshot);
        progress(CopyProgress::CheckingLedger);
        let ledger = Store::postgres(target_store)
            .verify_ledger()
            .map_err(CopyError::LedgerUnchecked)?;
        Ok(Copied {
            tables,
            took: started.elapsed(),
            ledger,
        })
    }
}

/// Copies every row of `source` into the empty database `target` (at `url`) in
/// one transaction, checked table by table: each table and its rows.
fn copy_rows(
    source: &dyn RowSource,
    target: &PostgresStore,
    url: &PostgresUrl,
    progress: &mut dyn FnMut(CopyProgress<'_>),
) -> Result<Vec<(&'static str, u64)>, CopyError> {
    target.copy_into(|into| {
        let occupied = into.tables_with_rows(TABLES)?;
        if !occupied.is_empty() {
            return Err(CopyError::TargetNotEmpty {
                target: url.to_string(),
                tables: occupied.join(", "),
            });
        }
        into.remove_schema_seeds()?;
        progress(CopyProgress::Started);
        let tables = copy_tables(source, into, progress)?;
        for table in TABLES.iter().filter(|table| table.generated_id) {
            into.move_ids_past_copied(table)?;
        }
        progress(CopyProgress::Comparing);
        for (table, (_, expected)) in TABLES.iter().zip(&tables) {
            let found = into.count(table)?;
            if found != *expected {
                return Err(CopyError::CountsDiffer {
                    table: table.name,
                    expected: *expected,
                    found,
                });
            }
        }
        Ok(tables)
    })
}

/// Writes every table of `source` through `into`, reporting progress; each
/// table and its rows.
fn copy_tables(
    source: &dyn RowSource,
    into: &mut super::postgres::copy::CopyTarget<'_>,
    progress: &mut dyn FnMut(CopyProgress<'_>),
) -> Result<Vec<(&'static str, u64)>, CopyError> {
    let mut tables = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let started = Instant::now();
        let expected = source.count(table)?;
        let mut copied = 0;
        let written = into.write_table(table, &mut |write| {
            source.each_row(table, &mut |row| {
                write(row)?;
                copied += 1;
                if copied % PROGRESS_EVERY == 0 {
                    progress(CopyProgress::Rows {
                        table: table.name,
                        copied,
                        of: expected,
                    });
                }
                Ok(())
            })
        })?;
        if let Some(found) = [copied, written].into_iter().find(|&found| found != expected) {
            return Err(CopyError::CountsDiffer {
                table: table.name,
                expected,
                found,
            });
        }
        progress(CopyProgress::Table {
            table: table.name,
            rows: copied,
            took: started.elapsed(),
        });
        tables.push((table.name, copied));
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use postgres::{Client, NoTls};
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::{
        Adjustment, AdjustmentReason, CategoryLabel, CategorySet, CategorySlug, CreditKind, CreditSource,
        DisplayName, Email, Money, PromoCode, UserId,
    };
    use crate::store::approvals::GrantAuthority;
    use crate::store::credits::NewCredit;
    use crate::store::orders::Promotion;
    use crate::store::postgres::copy::testing::rows_of;
    use crate::store::sessions::{SessionLifetime, SignedInAs};
    use crate::store::sql::{sql, unix};
    use crate::store::test_postgres::{TestDatabase, test_database};
    use crate::store::testing::tester;
    use crate::store::throttle::{Subject, ThrottleRule};

    /// A store with rows in every table: the demo, a department added and a
    /// credit for it, codes redeemed, orders paid by credit and by card, one
    /// refunded, a credit adjusted, a session, a throttle count, a reset link and
    /// the cookie key.
    fn used_store() -> (Store, tempfile::TempDir) {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(&folder.path().join("used.db")).unwrap();
        let now = OffsetDateTime::now_utc();
        store.seed_demo_if_empty("a-hash", now).unwrap();
        let demo = store
            .user_id_by_email(&Email::parse(crate::store::demo::DEMO_EMAIL).unwrap())
            .unwrap()
            .unwrap();
        let audiobooks = store
            .add_category(
                &tester(),
                &CategorySlug::parse("audiobooks").unwrap(),
                &CategoryLabel::parse("Audiobooks").unwrap(),
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
        let music = store.categories().iter().next().unwrap().id();
        let credit = NewCredit {
            kind: CreditKind::Promotional(CategorySet::EMPTY.with(audiobooks.id()).with(music)),
            source: CreditSource::Grant,
            description: "Welcome to audiobooks".into(),
            amount: Money::from_cents(700),
            expires_at: None,
            code_redemption_id: None,
        };
        let granted = store
            .grant_credit(
                &tester(),
                demo,
                &credit,
                &AdjustmentReason::parse("test").unwrap(),
                now,
            )
            .unwrap();
        store
            .adjust_credit(
                &tester(),
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
        let backup = store
            .products_in(None)
            .unwrap()
            .into_iter()
            .find(|product| product.title == "SafeKeep Backup")
            .unwrap()
            .id;
        for key in ["first", "second", "third"] {
            store
                .place_order(demo, backup, &Promotion::None, key, now)
                .unwrap();
        }
        let last = store.orders_of(demo).unwrap()[0].id;
        // A gift card bought in the store (an order without a product), and a
        // download of an order from the library.
        let gift = crate::store::gift_cards::GiftCardPurchase::parse(
            &crate::store::gift_cards::GiftCardFields {
                amount: "25",
                recipient_email: "friend@example.com",
                message: "Enjoy",
                deliver_on: "",
            },
            now.date(),
        )
        .unwrap();
        store.buy_gift_card(demo, &gift, "a-gift-card-key", now).unwrap();
        store
            .write(|tx| {
                tx.execute(
                    sql!("INSERT INTO downloads (user_id, order_id, downloaded_at) VALUES ($1, $2, $3)"),
                    &[&demo.0, &last, &unix(now)],
                )
            })
            .unwrap();
        store
            .set_product_media_file(&tester(), backup, "products/1/backup.zip", now)
            .unwrap();
        store
            .refund_order(
                &tester(),
                last,
                &crate::store::orders::RefundRequest::whole(
                    AdjustmentReason::parse("never arrived").unwrap(),
                ),
                now,
            )
            .unwrap();
        let ann = store
            .create_user(
                &Email::parse("ann@example.com").unwrap(),
                &DisplayName::parse("Ann").unwrap(),
                "another-hash",
                now,
            )
            .unwrap();
        let lifetime = SessionLifetime {
            idle: time::Duration::minutes(30),
            absolute: time::Duration::hours(12),
        };
        let owner = SignedInAs {
            user: ann,
            credentials_version: 0,
        };
        assert!(
            store
                .insert_session("a-session-key", "{}", Some(owner), lifetime, now)
                .unwrap()
        );
        let rule = ThrottleRule {
            max_attempts: 5,
            window: time::Duration::minutes(15),
        };
        store
            .reserve_attempt(&[(Subject("account:ann@example.com".into()), rule)], now)
            .unwrap();
        store.create_password_reset(ann, now).unwrap();
        store.session_cookie_key().unwrap();
        store.set_site_origin("https://shop.example", now).unwrap();
        store
            .mail_password_reset(&Email::parse("ann@example.com").unwrap(), now)
            .unwrap();
        store
            .write(|tx| {
                tx.execute(
                    sql!(
                        "INSERT INTO pending_registrations
                             (token_hash, email, name, password_hash, return_to, created_at, expires_at)
                         VALUES ('a-token-hash', 'new@example.com', 'New', 'a-hash', '/', $1, $1)"
                    ),
                    &[&unix(now)],
                )?;
                tx.execute(
                    sql!(
                        "INSERT INTO expiry_reminders (credit_id, user_id, outbox_id, reminded_at)
                         SELECT $1, $2, MIN(id), $3 FROM outbox"
                    ),
                    &[&granted.0, &demo.0, &unix(now)],
                )
            })
            .unwrap();
        store
            .set_approval_threshold(&tester(), Money::from_cents(25_000), now)
            .unwrap();
        let big = NewCredit {
            amount: Money::from_cents(30_000),
            ..credit.clone()
        };
        let support = crate::domain::Actor::Staff {
            id: crate::domain::StaffId(1),
            email: "sam@shop.example".to_owned(),
        };
        let why = AdjustmentReason::parse("a big apology").unwrap();
        store
            .ask_grant(&tester(), GrantAuthority::Full, demo, &big, &why, now)
            .unwrap();
        let small = NewCredit {
            amount: Money::from_cents(500),
            ..credit.clone()
        };
        store
            .ask_grant(&support, GrantAuthority::Goodwill, demo, &small, &why, now)
            .unwrap();
        let (owner, enrolment) = store
            .add_staff(
                &tester(),
                &Email::parse("owner@shop.example").unwrap(),
                &DisplayName::parse("Olive Owner").unwrap(),
                crate::domain::Role::Owner,
                now,
            )
            .unwrap();
        let secret = store
            .pending_enrolment(&enrolment, now)
            .unwrap()
            .unwrap()
            .totp_secret;
        store
            .enrol_staff(&enrolment, &secret, "a-staff-hash", 1, now)
            .unwrap()
            .unwrap();
        store.open_console_session(&owner, 0, now).unwrap().unwrap();
        store
            .add_staff(
                &tester(),
                &Email::parse("support@shop.example").unwrap(),
                &DisplayName::parse("Sam Support").unwrap(),
                crate::domain::Role::Support,
                now,
            )
            .unwrap();
        (store, folder)
    }

    fn sqlite_rows(store: &Store, table: &Table) -> Vec<Vec<Value>> {
        let Engine::Sqlite(sqlite) = &store.engine else {
            panic!("a SQLite store")
        };
        let mut rows = Vec::new();
        sqlite
            .copy_snapshot()
            .unwrap()
            .each_row(table, &mut |row| {
                rows.push(row.to_vec());
                Ok(())
            })
            .unwrap();
        rows.sort();
        rows
    }

    fn client(database: &TestDatabase) -> Client {
        Client::connect(database.url(), NoTls).unwrap()
    }

    /// Each table's rows on PostgreSQL.
    fn counts(database: &TestDatabase) -> Vec<(&'static str, usize)> {
        let mut client = client(database);
        TABLES
            .iter()
            .map(|table| (table.name, rows_of(&mut client, table).len()))
            .collect()
    }

    /// What an empty store on PostgreSQL holds: its schema's four categories and
    /// the audit chain's head.
    fn empty_counts() -> Vec<(&'static str, usize)> {
        TABLES
            .iter()
            .map(|table| match table.name {
                "categories" => (table.name, 4),
                "audit_chain" => (table.name, 1),
                _ => (table.name, 0),
            })
            .collect()
    }

    #[test]
    fn a_used_store_is_copied_row_for_row_with_every_id() {
        let Some(database) = test_database() else { return };
        let (store, _folder) = used_store();
        let mut seen = Vec::new();

        let copied = store
            .copy_to(&database.postgres_url(), &mut |progress| {
                seen.push(match progress {
                    CopyProgress::Table { table, rows, .. } => format!("{table} {rows}"),
                    other => format!("{other:?}"),
                })
            })
            .unwrap();

        let mut client = client(&database);
        for table in TABLES {
            let rows = sqlite_rows(&store, table);
            assert!(!rows.is_empty(), "the used store has no {}", table.name);
            assert_eq!(rows_of(&mut client, table), rows, "{}", table.name);
        }
        assert!(copied.ledger.is_empty(), "{:?}", copied.ledger);
        let mask_trigger: String = client
            .query_one(
                "SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'credit_categories_fill_the_mask'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            mask_trigger, "O",
            "the trigger set aside for the copy is on again"
        );
        let expected: Vec<String> = ["Started".to_owned()]
            .into_iter()
            .chain(
                copied
                    .tables
                    .iter()
                    .map(|(table, rows)| format!("{table} {rows}")),
            )
            .chain(["Comparing".to_owned(), "CheckingLedger".to_owned()])
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn new_rows_on_postgres_take_the_ids_after_the_copied_ones() {
        let Some(database) = test_database() else { return };
        let (store, _folder) = used_store();
        store.copy_to(&database.postgres_url(), &mut |_| {}).unwrap();
        let last_user = store.list_accounts(None).unwrap().len();

        let copy = Store::open_location(&database.location()).unwrap();
        let bo = copy
            .create_user(
                &Email::parse("bo@example.com").unwrap(),
                &DisplayName::parse("Bo").unwrap(),
                "a-hash",
                OffsetDateTime::now_utc(),
            )
            .unwrap();

        assert_eq!(bo, UserId(i64::try_from(last_user).unwrap() + 1));
    }

    #[test]
    fn a_database_with_the_schema_and_no_rows_takes_the_stores_own_categories() {
        let Some(database) = test_database() else { return };
        drop(Store::open_location(&database.location()).unwrap());
        let (store, _folder) = used_store();

        store.copy_to(&database.postgres_url(), &mut |_| {}).unwrap();

        let copy = Store::open_location(&database.location()).unwrap();
        assert_eq!(copy.categories(), store.categories());
        assert_eq!(copy.categories().iter().count(), 5);
    }

    #[test]
    fn a_second_copy_into_the_same_database_is_refused_and_changes_nothing() {
        let Some(database) = test_database() else { return };
        let (store, _folder) = used_store();
        store.copy_to(&database.postgres_url(), &mut |_| {}).unwrap();
        let before = counts(&database);
        store
            .create_user(
                &Email::parse("cy@example.com").unwrap(),
                &DisplayName::parse("Cy").unwrap(),
                "a-hash",
                OffsetDateTime::now_utc(),
            )
            .unwrap();

        let refused = store.copy_to(&database.postgres_url(), &mut |_| {}).unwrap_err();

        let CopyError::TargetNotEmpty { tables, .. } = &refused else {
            panic!("{refused}")
        };
        assert!(tables.starts_with("users, "), "{tables}");
        assert!(refused.to_string().contains("nothing was copied"), "{refused}");
        assert_eq!(counts(&database), before);
    }

    #[test]
    fn a_database_where_a_department_was_added_is_not_empty() {
        let Some(database) = test_database() else { return };
        let target = Store::open_location(&database.location()).unwrap();
        target
            .add_category(
                &tester(),
                &CategorySlug::parse("podcasts").unwrap(),
                &CategoryLabel::parse("Podcasts").unwrap(),
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
        let (store, _folder) = used_store();

        let refused = store.copy_to(&database.postgres_url(), &mut |_| {}).unwrap_err();

        assert!(
            matches!(&refused, CopyError::TargetNotEmpty { tables, .. }
                if tables == "categories, audit_entries, audit_chain"),
            "{refused}"
        );
    }

    /// The store's rows, until the second row of one table.
    struct FailingMidway<'a> {
        source: &'a dyn RowSource,
        table: &'static str,
    }

    impl RowSource for FailingMidway<'_> {
        fn count(&self, table: &Table) -> Result<u64, StoreError> {
            self.source.count(table)
        }

        fn each_row(&self, table: &Table, sink: &mut RowSink<'_>) -> Result<(), StoreError> {
            let handed = Cell::new(0);
            self.source.each_row(table, &mut |row| {
                if table.name == self.table && handed.get() == 1 {
                    return Err(StoreError::Corrupt("the source failed midway".into()));
                }
                handed.set(handed.get() + 1);
                sink(row)
            })
        }
    }

    #[test]
    fn a_copy_that_fails_midway_leaves_the_target_empty() {
        let Some(database) = test_database() else { return };
        let (store, _folder) = used_store();
        let Engine::Sqlite(sqlite) = &store.engine else {
            unreachable!()
        };
        let snapshot = sqlite.copy_snapshot().unwrap();
        let failing = FailingMidway {
            source: &snapshot,
            table: "credit_events",
        };
        let url = database.postgres_url();
        let target = PostgresStore::open(&url).unwrap();
        let mut tables_copied = 0;

        let failed = copy_rows(&failing, &target, &url, &mut |progress| {
            if matches!(progress, CopyProgress::Table { .. }) {
                tables_copied += 1;
            }
        })
        .unwrap_err();

        assert!(
            failed.to_string().contains("the source failed midway"),
            "{failed}"
        );
        assert_eq!(tables_copied, 15, "the tables before credit_events were written");
        assert_eq!(counts(&database), empty_counts());
        drop(target);
        store.copy_to(&url, &mut |_| {}).unwrap();
    }

    /// The store's rows, with one credit's `category_mask` missing a category.
    struct WrongMask<'a> {
        source: &'a dyn RowSource,
    }

    impl RowSource for WrongMask<'_> {
        fn count(&self, table: &Table) -> Result<u64, StoreError> {
            self.source.count(table)
        }

        fn each_row(&self, table: &Table, sink: &mut RowSink<'_>) -> Result<(), StoreError> {
            let mask = table
                .columns
                .iter()
                .position(|column| column.name == "category_mask");
            let wronged = Cell::new(false);
            self.source
                .each_row(table, &mut |row| match (mask, &row[mask.unwrap_or(0)]) {
                    (Some(mask), Value::Integer(bits)) if *bits > 1 && !wronged.get() => {
                        wronged.set(true);
                        let mut row = row.to_vec();
                        row[mask] = Value::Integer(bits & !1);
                        sink(&row)
                    }
                    _ => sink(row),
                })
        }
    }

    #[test]
    fn a_credit_whose_mask_differs_from_its_categories_is_not_copied() {
        let Some(database) = test_database() else { return };
        let (store, _folder) = used_store();
        let Engine::Sqlite(sqlite) = &store.engine else {
            unreachable!()
        };
        let snapshot = sqlite.copy_snapshot().unwrap();
        let url = database.postgres_url();
        let target = PostgresStore::open(&url).unwrap();

        let failed = copy_rows(&WrongMask { source: &snapshot }, &target, &url, &mut |_| {}).unwrap_err();

        assert!(
            failed.to_string().contains("category_mask does not match"),
            "{failed}"
        );
        assert_eq!(counts(&database), empty_counts());
    }

    #[test]
    fn a_store_on_postgres_is_pointed_to_pg_dump() {
        let Some(source) = test_database() else { return };
        let Some(target) = test_database() else { return };
        let store = Store::open_location(&source.location()).unwrap();

        let refused = store.copy_to(&target.postgres_url(), &mut |_| {}).unwrap_err();

        assert!(matches!(refused, CopyError::SourceOnPostgres));
        assert!(refused.to_string().contains("pg_dump"), "{refused}");
        let has_schema: bool = client(&target)
            .query_one("SELECT to_regclass('users') IS NOT NULL", &[])
            .unwrap()
            .get(0);
        assert!(!has_schema, "the target was not even opened");
    }
}
