//! The outbox (SPEC §9): every message the store sends, written whole in the
//! transaction of the change it tells of ([`enqueue`]), then claimed, sent and
//! marked by the senders (`mail::sender`) of every server and of `storecredit
//! mail send`.
//!
//! A sender claims a few messages for a while ([`Store::claim_mail`]); two
//! senders never hold one message at once (PostgreSQL skips the rows another
//! sender has locked, SQLite has one writer). A sender that dies holding a
//! message leaves it to be claimed again once its claim runs out: a message is
//! sent twice at most in a crash, never lost, and keeps its `Message-ID`.

use time::{Duration, OffsetDateTime};

use super::Page;
use super::sql::{Connection, Row, page_limit, sql, unix};
use super::{Store, StoreError};
use crate::domain::UserId;
use crate::mail::messages::Recipient;

/// Where links in mail point before any server has said (a store used only by
/// commands): the embedded default's address.
pub const DEFAULT_SITE_ORIGIN: &str = "http://localhost:8080";

/// How many times a message is tried before it is marked failed; the pauses
/// between tries grow from a minute to six hours, about a day in all.
pub const MAX_ATTEMPTS: i64 = 12;

/// What a sent message that held a one-time link keeps of its text.
pub(crate) const REDACTED: &str =
    "(This message held a one-time link. Its text was removed once it was sent.)";

/// Which message it is: the kinds of SPEC §9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    Receipt,
    Refund,
    CreditGranted,
    GiftCard,
    ExpiryReminder,
    NewDevice,
    PasswordReset,
    PasswordChanged,
    ConfirmAddress,
    AlreadyRegistered,
}

impl MailKind {
    pub const ALL: [MailKind; 10] = [
        MailKind::Receipt,
        MailKind::Refund,
        MailKind::CreditGranted,
        MailKind::GiftCard,
        MailKind::ExpiryReminder,
        MailKind::NewDevice,
        MailKind::PasswordReset,
        MailKind::PasswordChanged,
        MailKind::ConfirmAddress,
        MailKind::AlreadyRegistered,
    ];

    /// Its name in the outbox, in `mail list` and in `.eml` file names.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Receipt => "receipt",
            MailKind::Refund => "refund",
            MailKind::CreditGranted => "credit-granted",
            MailKind::GiftCard => "gift-card",
            MailKind::ExpiryReminder => "expiry-reminder",
            MailKind::NewDevice => "new-device",
            MailKind::PasswordReset => "password-reset",
            MailKind::PasswordChanged => "password-changed",
            MailKind::ConfirmAddress => "confirm-address",
            MailKind::AlreadyRegistered => "already-registered",
        }
    }

    pub fn parse(name: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A message as the store queues it: rendered whole, so what was sent is what
/// the change said at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub kind: MailKind,
    /// The account it is about, when there is one.
    pub user: Option<UserId>,
    /// The address it goes to.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe link (RFC 8058), for mail a shopper may turn off.
    pub list_unsubscribe: Option<String>,
    /// It carries a one-time link: its text is removed once it is sent, so a copy
    /// of the database holds no live link.
    pub holds_secret: bool,
}

/// A message a sender has claimed, to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    pub id: i64,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `<…@…>`, the same on every try.
    pub message_id: String,
    pub list_unsubscribe: Option<String>,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailState {
    /// Waiting for its (next) try.
    Pending,
    Sent(OffsetDateTime),
    /// Given up after [`MAX_ATTEMPTS`] tries or a permanent refusal.
    Failed(OffsetDateTime),
}

/// A message as `mail list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSummary {
    pub id: i64,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub created_at: OffsetDateTime,
    pub attempts: i64,
    pub state: MailState,
    pub last_error: Option<String>,
    pub next_attempt_at: OffsetDateTime,
}

/// A whole stored message (tests, and `mail show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMail {
    pub summary: MailSummary,
    pub user: Option<UserId>,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub list_unsubscribe: Option<String>,
}

/// Queues `mail` in the caller's transaction; its number. It is sent only if
/// that transaction commits.
pub(crate) fn enqueue(
    connection: &mut dyn Connection,
    mail: &OutgoingMail,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    enqueue_due(connection, mail, now, now)
}

/// [`enqueue`] a message not to be sent before `due` (a gift card's delivery day).
pub(crate) fn enqueue_due(
    connection: &mut dyn Connection,
    mail: &OutgoingMail,
    now: OffsetDateTime,
    due: OffsetDateTime,
) -> Result<i64, StoreError> {
    let origin = site_origin_in(connection)?;
    let message_id = format!(
        "<{}.{}@{}>",
        mail.kind.as_str(),
        uuid::Uuid::new_v4().simple(),
        message_id_domain(&origin)
    );
    connection.query_one(
        sql!(
            "INSERT INTO outbox (kind, user_id, recipient, subject, text_body, html_body, message_id,
                                 list_unsubscribe, holds_secret, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             RETURNING id"
        ),
        &[
            &mail.kind.as_str(),
            &mail.user.map(|user| user.0),
            &mail.to,
            &mail.subject,
            &mail.text,
            &mail.html,
            &message_id,
            &mail.list_unsubscribe,
            &mail.holds_secret,
            &unix(now),
            &unix(due.max(now)),
        ],
        |row| row.get(0),
    )
}

/// Who a message about `user` goes to: their address and name.
pub(crate) fn recipient_in(connection: &mut dyn Connection, user: UserId) -> Result<Recipient, StoreError> {
    connection.query_one(
        sql!("SELECT email, name FROM users WHERE id = $1"),
        &[&user.0],
        |row| {
            Ok(Recipient {
                user: Some(user),
                email: row.get(0)?,
                name: row.get(1)?,
            })
        },
    )
}

/// The site's public origin for links in mail, as the last server to start set
/// it ([`DEFAULT_SITE_ORIGIN`] before any did).
pub(crate) fn site_origin_in(connection: &mut dyn Connection) -> Result<String, StoreError> {
    Ok(connection
        .query_opt(sql!("SELECT origin FROM site_origin WHERE id = 1"), &[], |row| {
            row.get::<String>(0)
        })?
        .unwrap_or_else(|| DEFAULT_SITE_ORIGIN.to_owned()))
}

/// The right-hand side of a `Message-ID`: the site's host name, or `localhost`
/// when the site is reached by an IP address.
fn message_id_domain(origin: &str) -> String {
    let host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    let is_name = host.contains(|c: char| c.is_ascii_alphabetic())
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if is_name {
        host.to_ascii_lowercase()
    } else {
        "localhost".to_owned()
    }
}

/// The pause before try `attempts + 1`: a minute, doubling, at most six hours.
pub fn pause_after(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    (Duration::minutes(1) * 2_i32.pow(doublings.min(10))).min(Duration::hours(6))
}

macro_rules! summary_columns {
    () => {
        "id, kind, recipient, subject, created_at, attempts, sent_at, failed_at, last_error, next_attempt_at"
    };
}

fn summary_from_row(row: &Row<'_>) -> Result<MailSummary, StoreError> {
    let state = match (row.optional_instant(6)?, row.optional_instant(7)?) {
        (Some(sent), _) => MailState::Sent(sent),
        (None, Some(failed)) => MailState::Failed(failed),
        (None, None) => MailState::Pending,
    };
    Ok(MailSummary {
        id: row.get(0)?,
        kind: row.get(1)?,
        to: row.get(2)?,
        subject: row.get(3)?,
        created_at: row.instant(4)?,
        attempts: row.get(5)?,
        state,
        last_error: row.get(8)?,
        next_attempt_at: row.instant(9)?,
    })
}

impl Store {
    /// Remembers where the site is reached, for links in mail queued from now on
    /// (a server does this as it starts).
    pub fn set_site_origin(&self, origin: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        self.write(|connection| {
            connection.execute(
                sql!(
                    "INSERT INTO site_origin (id, origin, updated_at) VALUES (1, $1, $2)
                     ON CONFLICT (id) DO UPDATE SET origin = excluded.origin, updated_at = excluded.updated_at"
                ),
                &[&origin, &unix(now)],
            )
        })?;
        Ok(())
    }

    /// The origin links in mail start with.
    pub fn site_origin(&self) -> Result<String, StoreError> {
        self.read(site_origin_in)
    }

    /// Claims up to `limit` messages due by `now` for `lease`: no other sender
    /// gets them until then, unless they are marked first. Each claim counts as a
    /// try.
    pub fn claim_mail(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedMail>, StoreError> {
        let mut claimed = self.write_hot(|connection| {
            connection.query(
                sql!(
                    postgres: "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
                     WHERE id IN (SELECT id FROM outbox
                                  WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
                                    AND (claimed_until IS NULL OR claimed_until <= $2)
                                  ORDER BY next_attempt_at, id LIMIT $3
                                  FOR UPDATE SKIP LOCKED)
                     RETURNING id, kind, recipient, subject, text_body, html_body, message_id,
                               list_unsubscribe, attempts",
                    sqlite: "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
                     WHERE id IN (SELECT id FROM outbox
                                  WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
                                    AND (claimed_until IS NULL OR claimed_until <= $2)
                                  ORDER BY next_attempt_at, id LIMIT $3)
                     RETURNING id, kind, recipient, subject, text_body, html_body, message_id,
                               list_unsubscribe, attempts",
                ),
                &[&unix(now + lease), &unix(now), &page_limit(limit)],
                |row| {
                    Ok(ClaimedMail {
                        id: row.get(0)?,
                        kind: row.get(1)?,
                        to: row.get(2)?,
                        subject: row.get(3)?,
                        text: row.get(4)?,
                        html: row.get(5)?,
                        message_id: row.get(6)?,
                        list_unsubscribe: row.get(7)?,
                        attempts: row.get(8)?,
                    })
                },
            )
        })?;
        claimed.sort_by_key(|mail| mail.id);
        Ok(claimed)
    }

    /// Marks a claimed message sent; a message that held a one-time link keeps
    /// only a note of it.
    pub fn mark_mail_sent(&self, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
        self.write_hot(|connection| {
            connection.execute(
                sql!(
                    "UPDATE outbox SET sent_at = $2, claimed_until = NULL, last_error = NULL,
                            text_body = CASE WHEN holds_secret THEN $3 ELSE text_body END,
                            html_body = CASE WHEN holds_secret THEN $3 ELSE html_body END
                     WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL"
                ),
                &[&id, &unix(now), &REDACTED],
            )
        })?;
        Ok(())
    }

    /// A try of a claimed message failed: it is tried again after a growing
    /// pause, or marked failed when the failure is `permanent` or it has had
    /// [`MAX_ATTEMPTS`] tries. Whether it will be tried again.
    pub fn mark_mail_failed(
        &self,
        mail: &ClaimedMail,
        error: &str,
        permanent: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let given_up = (permanent || mail.attempts >= MAX_ATTEMPTS).then_some(unix(now));
        let next = unix(now + pause_after(mail.attempts));
        let error: String = error.chars().take(500).collect();
        self.write_hot(|connection| {
            connection.execute(
                sql!(
                    "UPDATE outbox SET claimed_until = NULL, last_error = $2, next_attempt_at = $3,
                            failed_at = $4
                     WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL"
                ),
                &[&mail.id, &error, &next, &given_up],
            )
        })?;
        Ok(given_up.is_none())
    }

    /// Messages newest first, older than `before`: all of them, or only those
    /// not sent yet (pending or failed) when `unsent_only`.
    pub fn mail_page(
        &self,
        unsent_only: bool,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<MailSummary>, StoreError> {
        self.read(|connection| {
            let rows = connection.query(
                sql!(concat!(
                    "SELECT ",
                    summary_columns!(),
                    " FROM outbox WHERE id < $1 AND (NOT $2 OR sent_at IS NULL)
                     ORDER BY id DESC LIMIT $3"
                )),
                &[&before.unwrap_or(i64::MAX), &unsent_only, &page_limit(size)],
                summary_from_row,
            )?;
            Ok(Page::of(rows, size, |mail| mail.id))
        })
    }

    /// One message, whole.
    pub fn mail_message(&self, id: i64) -> Result<Option<StoredMail>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(concat!(
                    "SELECT ",
                    summary_columns!(),
                    ", user_id, text_body, html_body, message_id, list_unsubscribe FROM outbox WHERE id = $1"
                )),
                &[&id],
                |row| {
                    Ok(StoredMail {
                        summary: summary_from_row(row)?,
                        user: row.get::<Option<i64>>(10)?.map(UserId),
                        text: row.get(11)?,
                        html: row.get(12)?,
                        message_id: row.get(13)?,
                        list_unsubscribe: row.get(14)?,
                    })
                },
            )
        })
    }

    /// How many messages wait to be sent (not failed).
    pub fn mail_pending_count(&self) -> Result<i64, StoreError> {
        self.read(|connection| {
            connection.query_value(
                sql!("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"),
                &[],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::store::testing::{TestStore, each_engine};

    fn mail(to: &str) -> OutgoingMail {
        OutgoingMail {
            kind: MailKind::Receipt,
            user: None,
            to: to.to_owned(),
            subject: "Your order".to_owned(),
            text: "Thank you".to_owned(),
            html: "<p>Thank you</p>".to_owned(),
            list_unsubscribe: None,
            holds_secret: false,
        }
    }

    fn queue(store: &Store, mail: &OutgoingMail, now: OffsetDateTime) -> i64 {
        store.write(|connection| enqueue(connection, mail, now)).unwrap()
    }

    #[test]
    fn a_queued_message_is_claimed_once_and_sent_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let id = queue(&store, &mail("ann@example.com"), now);
            let claimed = store.claim_mail(now, Duration::minutes(2), 10).unwrap();
            assert_eq!(claimed.len(), 1);
            assert_eq!(claimed[0].id, id);
            assert_eq!(claimed[0].attempts, 1);
            assert!(
                claimed[0].message_id.starts_with("<receipt."),
                "{}",
                claimed[0].message_id
            );
            // Held by its claim: nobody else gets it meanwhile.
            assert!(
                store
                    .claim_mail(now, Duration::minutes(2), 10)
                    .unwrap()
                    .is_empty()
            );
            store.mark_mail_sent(id, now).unwrap();
            let later = now + Duration::minutes(5);
            assert!(
                store
                    .claim_mail(later, Duration::minutes(2), 10)
                    .unwrap()
                    .is_empty()
            );
            let stored = store.mail_message(id).unwrap().unwrap();
            assert_eq!(
                stored.summary.state,
                MailState::Sent(crate::store::sql::instant(unix(now)).unwrap())
            );
            assert_eq!(store.mail_pending_count().unwrap(), 0);
        }
    }

    #[test]
    fn a_message_whose_sender_died_is_claimed_again_once_its_claim_runs_out_with_the_same_message_id() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            queue(&store, &mail("ann@example.com"), now);
            let first = store.claim_mail(now, Duration::minutes(2), 10).unwrap();
            assert!(
                store
                    .claim_mail(now + Duration::seconds(119), Duration::minutes(2), 10)
                    .unwrap()
                    .is_empty()
            );
            let again = store
                .claim_mail(now + Duration::minutes(2), Duration::minutes(2), 10)
                .unwrap();
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].message_id, first[0].message_id);
            assert_eq!(again[0].attempts, 2);
        }
    }

    #[test]
    fn a_failed_try_waits_longer_each_time_and_gives_up_after_the_last() {
        for TestStore { store, .. } in each_engine() {
            let mut now = OffsetDateTime::now_utc();
            let id = queue(&store, &mail("ann@example.com"), now);
            let mut pauses = Vec::new();
            for _ in 0..MAX_ATTEMPTS {
                let claimed = store.claim_mail(now, Duration::minutes(2), 10).unwrap();
                assert_eq!(claimed.len(), 1, "due again after its pause");
                store
                    .mark_mail_failed(&claimed[0], "connection refused", false, now)
                    .unwrap();
                let summary = store.mail_message(id).unwrap().unwrap().summary;
                pauses.push(summary.next_attempt_at - crate::store::sql::instant(unix(now)).unwrap());
                assert_eq!(summary.last_error.as_deref(), Some("connection refused"));
                // Not due a second before its pause ends.
                assert!(
                    store
                        .claim_mail(
                            summary.next_attempt_at - Duration::seconds(1),
                            Duration::minutes(2),
                            10
                        )
                        .unwrap()
                        .is_empty()
                );
                now = summary.next_attempt_at;
            }
            assert_eq!(pauses[0], Duration::minutes(1));
            assert_eq!(pauses[1], Duration::minutes(2));
            assert!(pauses.windows(2).all(|pair| pair[1] >= pair[0]), "{pauses:?}");
            assert_eq!(*pauses.last().unwrap(), Duration::hours(6));
            let summary = store.mail_message(id).unwrap().unwrap().summary;
            assert!(matches!(summary.state, MailState::Failed(_)), "{summary:?}");
            assert!(
                store
                    .claim_mail(now + Duration::days(2), Duration::minutes(2), 10)
                    .unwrap()
                    .is_empty()
            );
        }
    }

    #[test]
    fn a_one_time_link_is_not_kept_once_its_message_is_sent() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let secret = OutgoingMail {
                text: "open http://x/password/reset/abc".to_owned(),
                holds_secret: true,
                ..mail("ann@example.com")
            };
            let id = queue(&store, &secret, now);
            store.claim_mail(now, Duration::minutes(2), 10).unwrap();
            store.mark_mail_sent(id, now).unwrap();
            let stored = store.mail_message(id).unwrap().unwrap();
            assert!(!stored.text.contains("reset/abc"), "{}", stored.text);
            assert!(!stored.html.contains("reset/abc"), "{}", stored.html);
        }
    }

    #[test]
    fn senders_claiming_at_once_never_share_a_message() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            for i in 0..120 {
                queue(&store, &mail(&format!("shopper{i}@example.com")), now);
            }
            let barrier = Barrier::new(4);
            let claimed: Vec<i64> = std::thread::scope(|scope| {
                let senders: Vec<_> = (0..4)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            let mut mine = Vec::new();
                            loop {
                                let batch = store.claim_mail(now, Duration::minutes(2), 7).unwrap();
                                if batch.is_empty() {
                                    return mine;
                                }
                                mine.extend(batch.iter().map(|mail| mail.id));
                            }
                        })
                    })
                    .collect();
                senders
                    .into_iter()
                    .flat_map(|sender| sender.join().unwrap())
                    .collect()
            });
            let mut sorted = claimed.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), claimed.len(), "a message was claimed twice");
            assert_eq!(claimed.len(), 120);
        }
    }

    #[test]
    fn message_ids_name_the_site_or_localhost() {
        assert_eq!(message_id_domain("https://Shop.example"), "shop.example");
        assert_eq!(message_id_domain("http://127.0.0.1:8080"), "localhost");
        assert_eq!(message_id_domain("http://[::1]:8080/x"), "localhost");
        assert_eq!(message_id_domain("http://localhost:8080"), "localhost");
    }

    #[test]
    fn links_point_at_the_origin_the_last_server_gave() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            assert_eq!(store.site_origin().unwrap(), DEFAULT_SITE_ORIGIN);
            store.set_site_origin("https://shop.example", now).unwrap();
            store.set_site_origin("https://store.example", now).unwrap();
            assert_eq!(store.site_origin().unwrap(), "https://store.example");
        }
    }
}
