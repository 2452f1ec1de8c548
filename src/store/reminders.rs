//! Reminders before credit expires (SPEC §9) and turning them off: the sweep
//! that queues them ([`Store::queue_expiry_reminders`]) and the shopper's choice
//! (`users.reminders_off`), set by the unsubscribe link each reminder carries.
//!
//! A credit is reminded of once (its row in `expiry_reminders`), an account is
//! sent one reminder a day at most (`users.last_reminded_at`), and each
//! account's reminder is one transaction: its rows, the account's date and
//! link, and its message in the outbox. On PostgreSQL that transaction is
//! SERIALIZABLE, so servers sweeping at once cannot both remind an account: it
//! updates the account's row before it writes the credits' rows, and of two
//! sweeps updating one row the second fails to serialize, runs again, and then
//! finds nothing left to send. On SQLite the one writer takes them in turn.

use rand::distr::{Alphanumeric, SampleString};
use time::{Duration, OffsetDateTime};

use super::credits::credit_kind;
use super::sql::{Connection, page_limit, sql, unix};
use super::{Store, StoreError, outbox};
use crate::domain::{Categories, CreditKind, Money, UserId, format_last_day};
use crate::mail::messages::{self, ExpiringCredit};

/// How long before its end a credit is reminded of.
pub const REMIND_BEFORE: Duration = Duration::days(7);

/// The least time between two reminders to one account.
pub const REMIND_AT_MOST_EVERY: Duration = Duration::days(1);

/// How many accounts the sweep reads at a time.
const ACCOUNTS_A_PAGE: usize = 200;

/// The secret of an account's unsubscribe link: 32 letters and digits, made
/// with its first reminder and kept, so every reminder's link works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeToken(String);

impl UnsubscribeToken {
    /// A token as it comes in a link; `None` for anything that cannot be one.
    pub fn parse(text: &str) -> Option<UnsubscribeToken> {
        (text.len() == 32 && text.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| UnsubscribeToken(text.to_owned()))
    }

    fn new_random() -> UnsubscribeToken {
        UnsubscribeToken(Alphanumeric.sample_string(&mut rand::rng(), 32))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The path of an account's unsubscribe page, under the site's origin.
pub fn unsubscribe_path(token: &UnsubscribeToken) -> String {
    format!("/mail/unsubscribe/{}", token.as_str())
}

/// The accounts, after `after`, that have a credit due a reminder and may be
/// sent one now.
fn accounts_due(
    connection: &mut dyn Connection,
    now: OffsetDateTime,
    after: i64,
) -> Result<Vec<UserId>, StoreError> {
    connection.query(
        sql!(
            "SELECT DISTINCT c.user_id FROM credits c JOIN users u ON u.id = c.user_id
             WHERE c.remaining_cents > 0 AND c.expires_at > $1 AND c.expires_at <= $2
               AND NOT u.reminders_off
               AND (u.last_reminded_at IS NULL OR u.last_reminded_at <= $3)
               AND NOT EXISTS (SELECT 1 FROM expiry_reminders r WHERE r.credit_id = c.id)
               AND c.user_id > $4
             ORDER BY c.user_id LIMIT $5"
        ),
        &[
            &unix(now),
            &unix(now + REMIND_BEFORE),
            &unix(now - REMIND_AT_MOST_EVERY),
            &after,
            &page_limit(ACCOUNTS_A_PAGE),
        ],
        |row| Ok(UserId(row.get(0)?)),
    )
}

/// A credit due a reminder, as the message tells of it.
struct DueCredit {
    id: i64,
    kind: CreditKind,
    remaining: Money,
    expires_at: OffsetDateTime,
}

/// Queues the reminder `user` is due now, inside the caller's transaction: the
/// checks of [`accounts_due`] made again on what this transaction sees. Whether
/// a message was queued.
fn remind_account(
    connection: &mut dyn Connection,
    categories: &Categories,
    user: UserId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let may_remind: Option<bool> = connection.query_opt(
        sql!(
            "SELECT NOT reminders_off AND (last_reminded_at IS NULL OR last_reminded_at <= $2)
             FROM users WHERE id = $1"
        ),
        &[&user.0, &unix(now - REMIND_AT_MOST_EVERY)],
        |row| row.get(0),
    )?;
    if may_remind != Some(true) {
        return Ok(false);
    }
    let due = connection.query(
        sql!(
            "SELECT c.id, c.kind, c.category_mask, c.remaining_cents, c.expires_at FROM credits c
             WHERE c.user_id = $1 AND c.remaining_cents > 0 AND c.expires_at > $2 AND c.expires_at <= $3
               AND NOT EXISTS (SELECT 1 FROM expiry_reminders r WHERE r.credit_id = c.id)
             ORDER BY c.expires_at, c.id"
        ),
        &[&user.0, &unix(now), &unix(now + REMIND_BEFORE)],
        |row| {
            Ok(DueCredit {
                id: row.get(0)?,
                kind: credit_kind(row.text(1)?, row.get(2)?)?,
                remaining: Money::from_cents(row.get(3)?),
                expires_at: row.instant(4)?,
            })
        },
    )?;
    if due.is_empty() {
        return Ok(false);
    }
    // The account's row first: a sweep racing this one waits on it and then
    // fails to serialize (and runs again), rather than meeting the credits'
    // rows as a unique violation.
    let token: String = connection.query_one(
        sql!(
            "UPDATE users SET last_reminded_at = $2, unsubscribe_token = COALESCE(unsubscribe_token, $3)
             WHERE id = $1 RETURNING unsubscribe_token"
        ),
        &[&user.0, &unix(now), &UnsubscribeToken::new_random().as_str()],
        |row| row.get(0),
    )?;
    let token = UnsubscribeToken::parse(&token).ok_or_else(|| {
        StoreError::Corrupt(format!("account {} has an unusable unsubscribe token", user.0))
    })?;
    let origin = outbox::site_origin_in(connection)?;
    let recipient = outbox::recipient_in(connection, user)?;
    let credits: Vec<ExpiringCredit> = due
        .iter()
        .map(|credit| ExpiringCredit {
            amount: credit.remaining,
            valid_for: match credit.kind {
                CreditKind::GiftCard => "Everything (gift card)".to_owned(),
                CreditKind::Promotional(set) => categories.describe(set),
            },
            last_day: format_last_day(credit.expires_at),
        })
        .collect();
    let mail = messages::expiry_reminder(
        &recipient,
        &origin,
        &credits,
        &format!("{origin}{}", unsubscribe_path(&token)),
    )?;
    let outbox_id = outbox::enqueue(connection, &mail, now)?;
    for credit in &due {
        connection.execute(
            sql!(
                "INSERT INTO expiry_reminders (credit_id, user_id, outbox_id, reminded_at)
                 VALUES ($1, $2, $3, $4)"
            ),
            &[&credit.id, &user.0, &outbox_id, &unix(now)],
        )?;
    }
    Ok(true)
}

impl Store {
    /// The reminder sweep: every account with credit left that ends within
    /// [`REMIND_BEFORE`] of `now` and that it was not yet reminded of, unless it
    /// turned reminders off or was sent one in the last day, gets one message
    /// listing those credits. How many messages were queued. Safe to run on
    /// many servers at once: a credit is reminded of once.
    pub fn queue_expiry_reminders(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let categories = self.categories();
        let mut queued = 0;
        let mut after = 0;
        loop {
            let accounts = self.read(|connection| accounts_due(connection, now, after))?;
            for &user in accounts.iter().take(ACCOUNTS_A_PAGE) {
                if self.write(|connection| remind_account(connection, &categories, user, now))? {
                    queued += 1;
                }
            }
            if accounts.len() <= ACCOUNTS_A_PAGE {
                return Ok(queued);
            }
            after = accounts[ACCOUNTS_A_PAGE - 1].0;
        }
    }

    /// Whether the account an unsubscribe link names gets reminders now; `None`
    /// when no account has that link.
    pub fn reminders_by_token(&self, token: &UnsubscribeToken) -> Result<Option<bool>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!("SELECT NOT reminders_off FROM users WHERE unsubscribe_token = $1"),
                &[&token.as_str()],
                |row| row.get(0),
            )
        })
    }

    /// Turns reminders on or off for the account an unsubscribe link names;
    /// `false` when no account has that link.
    pub fn set_reminders_by_token(&self, token: &UnsubscribeToken, on: bool) -> Result<bool, StoreError> {
        let changed = self.write_hot(|connection| {
            connection.execute(
                sql!("UPDATE users SET reminders_off = $2 WHERE unsubscribe_token = $1"),
                &[&token.as_str(), &!on],
            )
        })?;
        Ok(changed > 0)
    }

    /// Whether an account gets reminders before its credit expires.
    pub fn reminders_on(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(self
            .read(|connection| {
                connection.query_opt(
                    sql!("SELECT NOT reminders_off FROM users WHERE id = $1"),
                    &[&user.0],
                    |row| row.get::<bool>(0),
                )
            })?
            .unwrap_or(false))
    }

    /// Turns an account's reminders on or off (from its own pages).
    pub fn set_reminders(&self, user: UserId, on: bool) -> Result<(), StoreError> {
        self.write_hot(|connection| {
            connection.execute(
                sql!("UPDATE users SET reminders_off = $2 WHERE id = $1"),
                &[&user.0, &!on],
            )
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::domain::category::set;
    use crate::domain::{AdjustmentReason, CreditId, CreditSource};
    use crate::store::credits::{NewCredit, spend_credit};
    use crate::store::outbox::{MailKind, StoredMail};
    use crate::store::testing::{TestStore, each_engine, new_account, tester};

    fn credit(
        store: &Store,
        user: UserId,
        kind: CreditKind,
        cents: i64,
        expires_at: OffsetDateTime,
    ) -> CreditId {
        store
            .grant_credit(
                &tester(),
                user,
                &NewCredit {
                    kind,
                    source: CreditSource::Grant,
                    description: "test credit".into(),
                    amount: Money::from_cents(cents),
                    expires_at: Some(expires_at),
                    code_redemption_id: None,
                },
                &AdjustmentReason::parse("goodwill").unwrap(),
                expires_at - Duration::days(60),
            )
            .unwrap()
    }

    fn music(store: &Store, user: UserId, cents: i64, expires_at: OffsetDateTime) -> CreditId {
        credit(
            store,
            user,
            CreditKind::Promotional(set("music")),
            cents,
            expires_at,
        )
    }

    /// Every reminder queued, oldest first (the outbox may hold other mail).
    fn reminders(store: &Store) -> Vec<StoredMail> {
        let mut found: Vec<StoredMail> = store
            .mail_page(false, None, 1000)
            .unwrap()
            .entries
            .into_iter()
            .filter(|mail| mail.kind == MailKind::ExpiryReminder.as_str())
            .map(|mail| store.mail_message(mail.id).unwrap().unwrap())
            .collect();
        found.reverse();
        found
    }

    fn reminded_credits(store: &Store) -> i64 {
        store
            .read(|connection| connection.query_value(sql!("SELECT COUNT(*) FROM expiry_reminders"), &[]))
            .unwrap()
    }

    #[test]
    fn a_credit_expiring_in_five_days_gets_one_reminder_with_a_link_to_stop_them() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store.set_site_origin("https://shop.example", now).unwrap();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let expires = now + Duration::days(5);
            music(&store, ann, 500, expires);

            assert_eq!(store.queue_expiry_reminders(now).unwrap(), 1);

            let sent = reminders(&store);
            assert_eq!(sent.len(), 1);
            let mail = &sent[0];
            assert_eq!(mail.summary.to, "ann@example.com");
            assert_eq!(
                mail.summary.subject,
                format!("$5.00 of your store credit ends {}", format_last_day(expires))
            );
            assert_eq!(mail.user, Some(ann));
            assert!(mail.text.contains("$5.00"), "{}", mail.text);
            assert!(mail.text.contains("Digital Music"), "{}", mail.text);
            assert!(mail.text.contains(&format_last_day(expires)), "{}", mail.text);
            let link = mail.list_unsubscribe.as_deref().expect("an unsubscribe link");
            let token = link
                .strip_prefix("https://shop.example/mail/unsubscribe/")
                .and_then(UnsubscribeToken::parse)
                .unwrap_or_else(|| panic!("{link}"));
            assert!(mail.text.contains(link), "{}", mail.text);
            assert_eq!(store.reminders_by_token(&token).unwrap(), Some(true));
        }
    }

    #[test]
    fn the_sweep_run_again_the_same_day_or_any_day_after_adds_no_reminder() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            music(&store, ann, 500, now + Duration::days(5));
            assert_eq!(store.queue_expiry_reminders(now).unwrap(), 1);

            for later in [
                Duration::minutes(1),
                Duration::hours(1),
                Duration::days(1),
                Duration::days(2),
                Duration::days(4),
            ] {
                assert_eq!(store.queue_expiry_reminders(now + later).unwrap(), 0, "{later}");
            }
            assert_eq!(reminders(&store).len(), 1);
            assert_eq!(reminded_credits(&store), 1);
        }
    }

    #[test]
    fn servers_sweeping_at_once_send_one_reminder_per_credit() {
        for test in each_engine() {
            let now = OffsetDateTime::now_utc();
            let store = &test.store;
            for n in 0..6 {
                let user = new_account(store, &format!("shopper{n}@example.com"), "hash", now);
                music(store, user, 500, now + Duration::days(3));
                music(store, user, 700, now + Duration::days(6));
            }
            let servers: Vec<Store> = (0..3).map(|_| test.another_process()).collect();
            let barrier = Barrier::new(servers.len());
            let queued: usize = std::thread::scope(|scope| {
                let sweeps: Vec<_> = servers
                    .iter()
                    .map(|server| {
                        let barrier = &barrier;
                        scope.spawn(move || {
                            barrier.wait();
                            server.queue_expiry_reminders(now).unwrap()
                        })
                    })
                    .collect();
                sweeps.into_iter().map(|sweep| sweep.join().unwrap()).sum()
            });
            assert_eq!(queued, 6, "one message per account, whichever server sent it");
            let sent = reminders(store);
            assert_eq!(sent.len(), 6);
            let mut recipients: Vec<&str> = sent.iter().map(|mail| mail.summary.to.as_str()).collect();
            recipients.sort_unstable();
            recipients.dedup();
            assert_eq!(recipients.len(), 6, "no account was reminded twice");
            assert_eq!(reminded_credits(store), 12);
            assert!(
                sent.iter()
                    .all(|mail| mail.text.contains("$5.00") && mail.text.contains("$7.00"))
            );
        }
    }

    #[test]
    fn a_credit_expiring_in_eight_days_is_reminded_of_once_it_is_within_seven() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            music(&store, ann, 500, now + Duration::days(8));

            assert_eq!(store.queue_expiry_reminders(now).unwrap(), 0);
            assert_eq!(
                store
                    .queue_expiry_reminders(now + Duration::days(1) - Duration::seconds(1))
                    .unwrap(),
                0
            );
            assert_eq!(store.queue_expiry_reminders(now + Duration::days(1)).unwrap(), 1);
            assert_eq!(reminders(&store).len(), 1);
        }
    }

    #[test]
    fn expired_used_up_and_revoked_credits_get_no_reminder() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            // Expired an hour ago.
            music(&store, ann, 500, now - Duration::hours(1));
            // Spent to the last cent.
            let used = music(&store, ann, 300, now + Duration::days(5));
            store
                .write(|connection| {
                    let product: i64 = connection.query_value(
                        sql!(
                            "INSERT INTO products (category_id, format, title, creator, description, price_cents)
                             VALUES (1, 'Track', 't', 'c', 'd', 300) RETURNING id"
                        ),
                        &[],
                    )?;
                    let order: i64 = connection.query_value(
                        sql!(
                            "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents,
                                                 promotional_credit_cents, placed_at)
                             VALUES ($1, $2, 'used-up', 300, 300, 0) RETURNING id"
                        ),
                        &[&ann.0, &product],
                    )?;
                    spend_credit(connection, used, Money::from_cents(300), order, now)
                })
                .unwrap();
            // Revoked by staff.
            let revoked = credit(&store, ann, CreditKind::GiftCard, 2500, now + Duration::days(2));
            store
                .revoke_credit(
                    &tester(),
                    revoked,
                    &AdjustmentReason::parse("closing the account").unwrap(),
                    now,
                )
                .unwrap();
            // And one that never expires.
            store
                .grant_credit(
                    &tester(),
                    ann,
                    &NewCredit {
                        kind: CreditKind::GiftCard,
                        source: CreditSource::Grant,
                        description: "gift card".into(),
                        amount: Money::from_cents(1000),
                        expires_at: None,
                        code_redemption_id: None,
                    },
                    &AdjustmentReason::parse("goodwill").unwrap(),
                    now,
                )
                .unwrap();

            assert_eq!(store.queue_expiry_reminders(now).unwrap(), 0);
            assert!(reminders(&store).is_empty());
            assert_eq!(reminded_credits(&store), 0);
        }
    }

    #[test]
    fn an_account_with_two_credits_due_gets_one_message_listing_both() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let gift_ends = now + Duration::days(6);
            let music_ends = now + Duration::days(2);
            credit(&store, ann, CreditKind::GiftCard, 2500, gift_ends);
            credit(
                &store,
                ann,
                CreditKind::Promotional(set("music,kindle")),
                450,
                music_ends,
            );

            assert_eq!(store.queue_expiry_reminders(now).unwrap(), 1);

            let sent = reminders(&store);
            assert_eq!(sent.len(), 1);
            let text = &sent[0].text;
            let music_line = format!(
                "Digital Music and Kindle, last day {}",
                format_last_day(music_ends)
            );
            let gift_line = format!("Everything (gift card), last day {}", format_last_day(gift_ends));
            let (music_at, gift_at) = (
                text.find(&music_line).unwrap_or_else(|| panic!("{text}")),
                text.find(&gift_line).unwrap_or_else(|| panic!("{text}")),
            );
            assert!(music_at < gift_at, "the one ending first comes first:\n{text}");
            assert!(text.contains("$4.50") && text.contains("$25.00"), "{text}");
            assert_eq!(reminded_credits(&store), 2);
        }
    }

    #[test]
    fn a_credit_falling_due_the_day_after_a_reminder_waits_until_a_day_has_passed() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            music(&store, ann, 500, now + Duration::days(5));
            assert_eq!(store.queue_expiry_reminders(now).unwrap(), 1);

            // Granted a few hours later, ending in three days: due at once, but
            // Ann had her reminder today.
            let later = now + Duration::hours(5);
            let second_ends = now + Duration::days(3);
            credit(&store, ann, CreditKind::GiftCard, 1200, second_ends);
            assert_eq!(store.queue_expiry_reminders(later).unwrap(), 0);
            assert_eq!(
                store
                    .queue_expiry_reminders(now + Duration::days(1) - Duration::seconds(1))
                    .unwrap(),
                0
            );

            assert_eq!(store.queue_expiry_reminders(now + Duration::days(1)).unwrap(), 1);
            let sent = reminders(&store);
            assert_eq!(sent.len(), 2);
            assert!(sent[1].text.contains("$12.00"), "{}", sent[1].text);
            assert!(!sent[1].text.contains("$5.00"), "reminded once: {}", sent[1].text);
            assert_eq!(
                sent[0].list_unsubscribe, sent[1].list_unsubscribe,
                "the link made with the first reminder is kept"
            );
        }
    }

    #[test]
    fn an_account_that_turned_reminders_off_gets_none_until_it_turns_them_on() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            music(&store, ann, 500, now + Duration::days(5));
            assert_eq!(store.queue_expiry_reminders(now).unwrap(), 1);
            let link = reminders(&store)[0].list_unsubscribe.clone().unwrap();
            let token = UnsubscribeToken::parse(link.rsplit('/').next().unwrap()).unwrap();

            assert!(store.set_reminders_by_token(&token, false).unwrap());
            assert_eq!(store.reminders_by_token(&token).unwrap(), Some(false));
            assert!(!store.reminders_on(ann).unwrap());
            let tomorrow = now + Duration::days(2);
            music(&store, ann, 800, tomorrow + Duration::days(3));
            assert_eq!(store.queue_expiry_reminders(tomorrow).unwrap(), 0);

            assert!(store.set_reminders_by_token(&token, true).unwrap());
            assert!(store.reminders_on(ann).unwrap());
            assert_eq!(store.queue_expiry_reminders(tomorrow).unwrap(), 1);
        }
    }

    #[test]
    fn an_account_turned_off_from_its_own_pages_gets_none() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            assert!(store.reminders_on(ann).unwrap(), "on by default");
            store.set_reminders(ann, false).unwrap();
            music(&store, ann, 500, now + Duration::days(5));
            assert_eq!(store.queue_expiry_reminders(now).unwrap(), 0);
            assert!(reminders(&store).is_empty());
        }
    }

    #[test]
    fn an_unknown_token_names_no_account() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            new_account(&store, "ann@example.com", "hash", now);
            let forged = UnsubscribeToken::parse(&"a".repeat(32)).unwrap();
            assert_eq!(store.reminders_by_token(&forged).unwrap(), None);
            assert!(!store.set_reminders_by_token(&forged, false).unwrap());
        }
    }

    #[test]
    fn only_32_letters_and_digits_can_be_a_token() {
        assert!(UnsubscribeToken::parse(&"aZ9".repeat(10)).is_none());
        assert!(UnsubscribeToken::parse(&format!("{}-", "a".repeat(31))).is_none());
        assert!(UnsubscribeToken::parse(&"é".repeat(16)).is_none());
        assert!(UnsubscribeToken::parse(&"a".repeat(33)).is_none());
        assert!(UnsubscribeToken::parse(&"aB3".repeat(11)[..32]).is_some());
        assert_eq!(UnsubscribeToken::new_random().as_str().len(), 32);
    }
}
