//! Gift cards for sale (SPEC §9): a shopper buys a gift card of $5 to $500 for
//! someone's e-mail address, paid by card alone. The purchase is an order without
//! a product; it makes a one-redemption gift-card code and queues the message
//! that delivers it, due on the delivery day, all in the order's transaction. A
//! refund before redemption voids the code (and the message, when not yet sent).

use rand::Rng;
use sha2::{Digest, Sha256};
use time::{Date, Duration, OffsetDateTime, Time};

use super::codes::{NewCode, insert_code};
use super::orders::{Placed, RefundError, order_with_key};
use super::payment::select_default_card;
use super::sql::{Connection, instant, sql, unix};
use super::{Store, StoreError, StoreFailure, outbox};
use crate::domain::{CodeGrant, Email, Money, PromoCode, UserId, format_date};
use crate::mail::messages::{self, GiftCardFacts, OrderFacts, Recipient};
use crate::store::outbox::REDACTED;

/// What a gift-card order's receipt and lists give as its format.
pub const GIFT_CARD_FORMAT: &str = "Gift card by e-mail";
/// The smallest and largest gift card sold, in whole dollars.
pub const SMALLEST_DOLLARS: i64 = 5;
pub const LARGEST_DOLLARS: i64 = 500;
/// The longest message a buyer may write, in characters.
pub const MESSAGE_LIMIT: usize = 300;
/// How far ahead a delivery day may be.
pub const FURTHEST_DELIVERY_DAYS: i64 = 365;
/// How many gift cards one account may buy in any 24 hours: a stolen session
/// cannot turn its owner's card into a stack of codes.
pub const GIFT_CARDS_PER_DAY: i64 = 10;

/// A gift card as the buyer asked for it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftCardPurchase {
    pub amount: Money,
    pub recipient: Email,
    /// One line, white space collapsed; may be empty.
    pub message: String,
    /// `None`: deliver now.
    pub deliver_on: Option<Date>,
}

/// The form's fields as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GiftCardFields<'a> {
    pub amount: &'a str,
    pub recipient_email: &'a str,
    pub message: &'a str,
    pub deliver_on: &'a str,
}

/// What is wrong with one field of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl GiftCardPurchase {
    /// Checks the form as typed on `today` (UTC); every field's problem at once.
    pub fn parse(fields: &GiftCardFields<'_>, today: Date) -> Result<GiftCardPurchase, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut problem = |field, message: String| problems.push(FieldProblem { field, message });
        let amount = parse_amount(fields.amount);
        if amount.is_none() {
            problem(
                "amount",
                format!("Choose a whole-dollar amount from ${SMALLEST_DOLLARS} to ${LARGEST_DOLLARS}."),
            );
        }
        let recipient = Email::parse(fields.recipient_email).ok();
        if recipient.is_none() {
            problem(
                "recipient_email",
                "Enter the e-mail address to send the gift card to, like name@example.com.".into(),
            );
        }
        // Invisible and direction characters could reorder what the mail shows.
        let message = fields
            .message
            .chars()
            .filter(|c| !crate::domain::category::is_invisible(*c))
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if message.chars().count() > MESSAGE_LIMIT {
            problem(
                "message",
                format!("Keep the message to {MESSAGE_LIMIT} characters."),
            );
        }
        if message.chars().any(char::is_control) {
            problem("message", "The message cannot hold control characters.".into());
        }
        let strict = |typed: &str| {
            typed.len() == 10
                && typed
                    .bytes()
                    .enumerate()
                    .all(|(at, b)| matches!((at, b), (4 | 7, b'-') | (0..=3 | 5 | 6 | 8 | 9, b'0'..=b'9')))
        };
        let deliver_on = match fields.deliver_on.trim() {
            "" => Ok(None),
            typed => match crate::domain::date::parse_day(typed).filter(|_| strict(typed)) {
                Some(day) if day < today => Err("The delivery day cannot be in the past.".to_owned()),
                Some(day) if day > today + Duration::days(FURTHEST_DELIVERY_DAYS) => Err(format!(
                    "Choose a delivery day within a year ({} at the latest).",
                    today + Duration::days(FURTHEST_DELIVERY_DAYS)
                )),
                Some(day) if day == today => Ok(None),
                Some(day) => Ok(Some(day)),
                None => {
                    Err("Enter the delivery day as YYYY-MM-DD, or leave it empty to send it now.".to_owned())
                }
            },
        };
        let deliver_on = deliver_on.unwrap_or_else(|message| {
            problem("deliver_on", message);
            None
        });
        match (amount, recipient) {
            (Some(amount), Some(recipient)) if problems.is_empty() => Ok(GiftCardPurchase {
                amount,
                recipient,
                message,
                deliver_on,
            }),
            _ => Err(problems),
        }
    }

    /// When the message with the code is due: the start of the delivery day
    /// (UTC), or now.
    pub fn deliver_at(&self, now: OffsetDateTime) -> OffsetDateTime {
        self.deliver_on
            .map(|day| day.with_time(Time::MIDNIGHT).assume_utc())
            .filter(|at| *at > now)
            .unwrap_or(now)
    }

    /// What this purchase asks for, as an idempotency key's order stores it: the
    /// same form submitted twice is one order; the key used for another is refused.
    fn request(&self) -> String {
        let message = Sha256::digest(self.message.as_bytes());
        format!(
            "gift-card={};to={};on={};message={:x}",
            self.amount.cents(),
            self.recipient.as_str(),
            self.deliver_on.map(|day| day.to_string()).unwrap_or_default(),
            message
        )
    }
}

/// `25` or `25.00`: whole dollars within the range.
fn parse_amount(typed: &str) -> Option<Money> {
    let typed = typed.trim().trim_start_matches('$');
    let dollars = typed.strip_suffix(".00").unwrap_or(typed);
    let dollars: i64 = dollars
        .parse()
        .ok()
        .filter(|_| dollars.bytes().all(|b| b.is_ascii_digit()))?;
    (SMALLEST_DOLLARS..=LARGEST_DOLLARS)
        .contains(&dollars)
        .then(|| Money::from_cents(dollars * 100))
}

/// 16 characters from 32 that cannot be mistaken for one another (80 bits), as
/// `GC-XXXX-XXXX-XXXX-XXXX`: unguessable, and redemption is throttled besides.
fn new_code() -> PromoCode {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let groups: Vec<String> = (0..4)
        .map(|_| {
            (0..4)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect();
    PromoCode::parse(&format!("GC-{}", groups.join("-"))).expect("a generated code is well formed")
}

#[derive(Debug, thiserror::Error)]
pub enum GiftCardError {
    #[error("gift cards are paid by card: add a default payment method to pay {0}")]
    NoPaymentMethod(Money),
    #[error(
        "this gift card form was already used for a different order, so nothing was ordered \
         now. Check your orders and send it again if it is what you want"
    )]
    KeyUsedForAnotherOrder,
    #[error(
        "you have bought {GIFT_CARDS_PER_DAY} gift cards in the last 24 hours, as many as an account may; \
         try again tomorrow or contact us"
    )]
    TooMany,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for GiftCardError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            GiftCardError::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// Where a gift card stands, as its buyer's order page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiftCardState {
    /// The message waits for its delivery day.
    Scheduled {
        on: OffsetDateTime,
    },
    /// Due now: the sender takes it within seconds.
    Sending,
    Sent {
        at: OffsetDateTime,
    },
    /// The mail server refused it for good.
    Undeliverable,
    Redeemed {
        at: OffsetDateTime,
    },
    /// Refunded before redemption: the code no longer works.
    Voided {
        at: OffsetDateTime,
    },
}

impl GiftCardState {
    /// One word for the page's `data-gift-card-state`.
    pub fn as_str(&self) -> &'static str {
        match self {
            GiftCardState::Scheduled { .. } => "scheduled",
            GiftCardState::Sending => "sending",
            GiftCardState::Sent { .. } => "sent",
            GiftCardState::Undeliverable => "undeliverable",
            GiftCardState::Redeemed { .. } => "redeemed",
            GiftCardState::Voided { .. } => "voided",
        }
    }

    /// Not redeemed nor refunded yet: a refund would still void it.
    pub fn refundable(&self) -> bool {
        !matches!(
            self,
            GiftCardState::Redeemed { .. } | GiftCardState::Voided { .. }
        )
    }

    /// In words, for the buyer.
    pub fn describe(&self) -> String {
        match self {
            GiftCardState::Scheduled { on } => {
                format!("Scheduled: it will be e-mailed on {}.", format_date(*on))
            }
            GiftCardState::Sending => "Being e-mailed now.".to_owned(),
            GiftCardState::Sent { at } => format!("Sent on {}; not redeemed yet.", format_date(*at)),
            GiftCardState::Undeliverable => {
                "The recipient's mail server refused it. Contact us to send it again.".to_owned()
            }
            GiftCardState::Redeemed { at } => format!("Redeemed on {}.", format_date(*at)),
            GiftCardState::Voided { at } => {
                format!("Refunded on {}: its code no longer works.", format_date(*at))
            }
        }
    }
}

/// A gift card bought in the store, as its order page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftCard {
    pub order_id: i64,
    pub amount: Money,
    pub recipient_email: String,
    pub message: String,
    pub deliver_at: OffsetDateTime,
    pub state: GiftCardState,
}

impl Store {
    /// Buys a gift card: ONE transaction makes the order (paid wholly by the
    /// default card: gift cards are never paid with credit), its code, the
    /// buyer's receipt and the message to the recipient, due on the delivery
    /// day. The same idempotency key again gives the first order back when it
    /// asks for the same card, and is refused otherwise.
    pub fn buy_gift_card(
        &self,
        user: UserId,
        purchase: &GiftCardPurchase,
        idempotency_key: &str,
        now: OffsetDateTime,
    ) -> Result<Placed, GiftCardError> {
        let request = purchase.request();
        self.write(|tx| {
            if let Some(earlier) = order_with_key(tx, user, idempotency_key)? {
                if !earlier.asked_for(None, &request) {
                    return Err(GiftCardError::KeyUsedForAnotherOrder);
                }
                return Ok(Placed {
                    order_id: earlier.id,
                    created: false,
                });
            }
            let bought_lately: i64 = tx.query_value(
                sql!(
                    "SELECT COUNT(*) FROM orders
                     WHERE user_id = $1 AND placed_at > $2 AND product_id IS NULL"
                ),
                &[&user.0, &unix(now - Duration::hours(24))],
            )?;
            if bought_lately >= GIFT_CARDS_PER_DAY {
                return Err(GiftCardError::TooMany);
            }
            let card = select_default_card(tx, user)?.ok_or(GiftCardError::NoPaymentMethod(purchase.amount))?;
            let buyer = outbox::recipient_in(tx, user)?;
            let code_id = insert_new_code(tx, purchase.amount, &buyer.name, now)?;
            let (code, cents) = (code_id.1, purchase.amount.cents());
            // See `place_order_at` on `ON CONFLICT`: a concurrent submission of
            // the same key is a serialization failure, run again.
            let order_id: Option<i64> = tx.query_opt(
                sql!(
                    "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, card_cents, card_label,
                                         placed_at, request)
                     VALUES ($1, NULL, $2, $3, $3, $4, $5, $6)
                     ON CONFLICT (user_id, idempotency_key) DO NOTHING
                     RETURNING id"
                ),
                &[&user.0, &idempotency_key, &cents, &card.label(), &unix(now), &request],
                |row| row.get(0),
            )?;
            let Some(order_id) = order_id else {
                return Err(StoreError::WrittenMeanwhile("an order with this idempotency key").into());
            };
            let origin = outbox::site_origin_in(tx)?;
            let deliver_at = purchase.deliver_at(now);
            let to = Recipient {
                user: None,
                email: purchase.recipient.as_str().to_owned(),
                name: String::new(),
            };
            let gift = GiftCardFacts {
                from: buyer.name.clone(),
                amount: purchase.amount,
                message: purchase.message.clone(),
                code: code.as_str().to_owned(),
            };
            let mail_id = outbox::enqueue_due(tx, &messages::gift_card(&to, &origin, &gift)?, now, deliver_at)?;
            tx.execute(
                sql!(
                    "INSERT INTO gift_cards (order_id, code_id, amount_cents, recipient_email, message,
                                             deliver_at, mail_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ),
                &[
                    &order_id,
                    &code_id.0,
                    &cents,
                    &purchase.recipient.as_str(),
                    &purchase.message,
                    &unix(deliver_at),
                    &mail_id,
                ],
            )?;
            let receipt = OrderFacts {
                order_id,
                title: if deliver_at > now {
                    format!(
                        "{} gift card for {}, to be e-mailed on {}",
                        purchase.amount,
                        purchase.recipient.as_str(),
                        format_date(deliver_at)
                    )
                } else {
                    format!("{} gift card for {}", purchase.amount, purchase.recipient.as_str())
                },
                format: GIFT_CARD_FORMAT.to_owned(),
                placed_on: format_date(now),
                price: purchase.amount,
                discount: Money::ZERO,
                promotion: None,
                promotional_credit: Money::ZERO,
                gift_card: Money::ZERO,
                card: purchase.amount,
                card_label: Some(card.label()),
                in_library: false,
            };
            outbox::enqueue(tx, &messages::receipt(&buyer, &origin, &receipt)?, now)?;
            Ok(Placed {
                order_id,
                created: true,
            })
        })
    }

    /// The gift card order `order_id` bought, when it is `user`'s order (any
    /// account's for `None`: staff) and a gift card.
    pub fn gift_card(
        &self,
        user: Option<UserId>,
        order_id: i64,
        now: OffsetDateTime,
    ) -> Result<Option<GiftCard>, StoreError> {
        self.read_consistent(|connection| {
            connection.query_opt(
                sql!(
                    "SELECT g.amount_cents, g.recipient_email, g.message, g.deliver_at, g.voided_at,
                            m.sent_at, m.failed_at,
                            (SELECT MIN(r.redeemed_at) FROM code_redemptions r WHERE r.code_id = g.code_id)
                     FROM gift_cards g JOIN orders o ON o.id = g.order_id JOIN outbox m ON m.id = g.mail_id
                     WHERE g.order_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR o.user_id = $2)"
                ),
                &[&order_id, &user.map(|user| user.0)],
                |row| {
                    let deliver_at = row.instant(3)?;
                    let at = |index| -> Result<Option<OffsetDateTime>, StoreError> {
                        row.get::<Option<i64>>(index)?.map(instant).transpose()
                    };
                    let state = match (at(4)?, at(7)?, at(5)?, at(6)?) {
                        (Some(voided), ..) => GiftCardState::Voided { at: voided },
                        (None, Some(redeemed), ..) => GiftCardState::Redeemed { at: redeemed },
                        (None, None, Some(sent), _) => GiftCardState::Sent { at: sent },
                        (None, None, None, Some(_)) => GiftCardState::Undeliverable,
                        _ if deliver_at > now => GiftCardState::Scheduled { on: deliver_at },
                        _ => GiftCardState::Sending,
                    };
                    Ok(GiftCard {
                        order_id,
                        amount: Money::from_cents(row.get(0)?),
                        recipient_email: row.get(1)?,
                        message: row.get(2)?,
                        deliver_at,
                        state,
                    })
                },
            )
        })
    }
}

/// Makes the card's code (a new one in the rare case the first is taken);
/// returns its id and the code.
fn insert_new_code(
    tx: &mut dyn Connection,
    amount: Money,
    buyer: &str,
    now: OffsetDateTime,
) -> Result<(i64, PromoCode), StoreError> {
    let description = if buyer.is_empty() {
        "Gift card".to_owned()
    } else {
        format!("Gift card from {buyer}")
    };
    for _ in 0..4 {
        let code = NewCode {
            code: new_code(),
            description: description.clone(),
            grant: CodeGrant::GiftCard { amount },
            redeem_by: None,
            max_redemptions: Some(1),
        };
        if let Some(id) = insert_code(tx, &code, now)? {
            return Ok((id, code.code));
        }
    }
    Err(StoreError::Corrupt(
        "four new gift card codes in a row were taken".into(),
    ))
}

/// In a refund's transaction: when order `order_id` is a gift card, voids its
/// code (refused once it has been redeemed, or for part of the card) and
/// cancels its message if no sender has it yet. A redemption racing the refund
/// touches the same code row: one of the two waits for (or, on PostgreSQL, is
/// run again after) the other, so a card is never both redeemed and refunded.
pub(crate) fn void_for_refund(
    tx: &mut dyn Connection,
    order_id: i64,
    whole: bool,
    now: OffsetDateTime,
) -> Result<(), RefundError> {
    let Some((code_id, mail_id)): Option<(i64, i64)> = tx.query_opt(
        sql!("SELECT code_id, mail_id FROM gift_cards WHERE order_id = $1"),
        &[&order_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?
    else {
        return Ok(());
    };
    if !whole {
        return Err(RefundError::GiftCardInPart(order_id));
    }
    let voided = tx.execute(
        sql!("UPDATE codes SET active = FALSE WHERE id = $1 AND redemptions = 0"),
        &[&code_id],
    )?;
    if voided != 1 {
        let by: String = tx.query_value(
            sql!(
                "SELECT u.email FROM code_redemptions r JOIN users u ON u.id = r.user_id
                 WHERE r.code_id = $1 ORDER BY r.id LIMIT 1"
            ),
            &[&code_id],
        )?;
        return Err(RefundError::GiftCardRedeemed { order: order_id, by });
    }
    tx.execute(
        sql!("UPDATE gift_cards SET voided_at = $2 WHERE order_id = $1"),
        &[&order_id, &unix(now)],
    )?;
    tx.execute(
        sql!(
            "UPDATE outbox SET failed_at = $2, last_error = $3, text_body = $4, html_body = $4
             WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL
               AND (claimed_until IS NULL OR claimed_until <= $2)"
        ),
        &[
            &mail_id,
            &unix(now),
            &"cancelled: the gift card was refunded",
            &REDACTED,
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use time::macros::date;

    use super::*;
    use crate::domain::{AdjustmentReason, CardSummary};
    use crate::store::orders::RefundRequest;
    use crate::store::testing::{TestStore, each_engine, new_account, tester};

    fn fields<'a>(amount: &'a str, to: &'a str, on: &'a str) -> GiftCardFields<'a> {
        GiftCardFields {
            amount,
            recipient_email: to,
            message: "  Happy\n birthday!  ",
            deliver_on: on,
        }
    }

    #[test]
    fn the_form_takes_whole_dollars_from_5_to_500_and_a_day_within_a_year() {
        let today = date!(2026 - 12 - 08);
        let card = GiftCardPurchase::parse(&fields("25", "Sam@Example.com", ""), today).unwrap();
        assert_eq!(card.amount, Money::from_cents(2500));
        assert_eq!(card.recipient.as_str(), "sam@example.com");
        assert_eq!(card.message, "Happy birthday!");
        let reordered = GiftCardFields {
            message: "\u{202e}gnp.exe\u{200b} hi",
            ..fields("25", "sam@example.com", "")
        };
        let card_with_overrides = GiftCardPurchase::parse(&reordered, today).unwrap();
        assert_eq!(
            card_with_overrides.message, "gnp.exe hi",
            "no direction or invisible characters"
        );
        assert_eq!(card.deliver_on, None);
        for amount in ["5", "$500", "42.00"] {
            assert!(
                GiftCardPurchase::parse(&fields(amount, "a@b.co", ""), today).is_ok(),
                "{amount}"
            );
        }
        for amount in ["4", "501", "25.5", "25.50", "-5", "+25", "1e2", "", "٥٠"] {
            let problems = GiftCardPurchase::parse(&fields(amount, "a@b.co", ""), today).unwrap_err();
            assert_eq!(problems[0].field, "amount", "{amount}");
        }
        let today_named = GiftCardPurchase::parse(&fields("5", "a@b.co", "2026-12-08"), today).unwrap();
        assert_eq!(today_named.deliver_on, None, "today is now");
        let later = GiftCardPurchase::parse(&fields("5", "a@b.co", "2027-12-08"), today).unwrap();
        assert_eq!(later.deliver_on, Some(date!(2027 - 12 - 08)));
        for day in ["2026-12-07", "2027-12-09", "tomorrow", "+2027-01-01", "2027-1-01"] {
            let problems = GiftCardPurchase::parse(&fields("5", "a@b.co", day), today).unwrap_err();
            assert_eq!(problems[0].field, "deliver_on", "{day}");
        }
        let everything = GiftCardPurchase::parse(&fields("0", "nobody", "yesterday"), today).unwrap_err();
        let named: Vec<_> = everything.iter().map(|problem| problem.field).collect();
        assert_eq!(named, ["amount", "recipient_email", "deliver_on"]);
    }

    #[test]
    fn codes_are_16_characters_from_an_unmistakable_alphabet_and_differ() {
        let codes: std::collections::HashSet<String> =
            (0..1000).map(|_| new_code().as_str().to_owned()).collect();
        assert_eq!(codes.len(), 1000);
        for code in &codes {
            assert_eq!(code.len(), 22);
            assert!(
                code[3..]
                    .chars()
                    .all(|c| c == '-' || "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".contains(c)),
                "{code}"
            );
        }
    }

    /// A buyer with a card, a card bought for `to`, and its code.
    fn bought(store: &Store, now: OffsetDateTime, to: &str) -> (i64, PromoCode) {
        let buyer = new_account(store, "buyer@example.com", "hash", now);
        let visa = CardSummary {
            brand: "Visa".into(),
            last4: "4242".into(),
        };
        store.set_default_card(buyer, &visa, now).unwrap();
        let purchase = GiftCardPurchase::parse(&fields("25", to, ""), now.date()).unwrap();
        let placed = store
            .buy_gift_card(buyer, &purchase, "key-key-key-key-1", now)
            .unwrap();
        let code: String = store
            .read(|connection| {
                connection.query_value(
                    sql!("SELECT c.code FROM gift_cards g JOIN codes c ON c.id = g.code_id WHERE g.order_id = $1"),
                    &[&placed.order_id],
                )
            })
            .unwrap();
        (placed.order_id, PromoCode::parse(&code).unwrap())
    }

    #[test]
    fn a_refund_racing_a_redemption_leaves_the_card_either_redeemed_or_refunded_never_both() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            for round in 0..6 {
                let (order, code) = bought(&store, now, &format!("r{round}@example.com"));
                let recipient = new_account(&store, &format!("r{round}@example.com"), "hash", now);
                let barrier = Arc::new(Barrier::new(2));
                let redeeming = {
                    let (store, barrier, code) = (store.clone(), barrier.clone(), code.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        store.redeem_code(recipient, &code, now).is_ok()
                    })
                };
                let refunding = {
                    let (store, barrier) = (store.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        let whole = RefundRequest::whole(AdjustmentReason::parse("race").unwrap());
                        store.refund_order(&tester(), order, &whole, now).is_ok()
                    })
                };
                let (redeemed, refunded) = (redeeming.join().unwrap(), refunding.join().unwrap());
                assert!(
                    redeemed != refunded,
                    "round {round}: redeemed {redeemed}, refunded {refunded}"
                );
                let gift_cards = store.balances_for(recipient, now).unwrap().gift_cards();
                assert_eq!(
                    gift_cards,
                    if redeemed {
                        Money::from_cents(2500)
                    } else {
                        Money::ZERO
                    }
                );
                let state = store.gift_card(None, order, now).unwrap().unwrap().state;
                assert_eq!(
                    state.as_str(),
                    if redeemed { "redeemed" } else { "voided" },
                    "round {round}"
                );
                // Clear the buyer for the next round.
                store
                    .write(|tx| {
                        tx.execute(
                            sql!("UPDATE users SET email = $1 WHERE email = 'buyer@example.com'"),
                            &[&format!("buyer{round}@example.com")],
                        )
                    })
                    .unwrap();
            }
        }
    }

    #[test]
    fn a_sold_card_is_owed_as_unredeemed_until_redeemed_then_as_gift_card_credit_and_not_once_refunded() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let today = now.date();
            let (order, code) = bought(&store, now, "sam@example.com");
            let report = store.liability_report(today).unwrap();
            assert_eq!(
                (report.unredeemed_gift_cards, report.unredeemed_gift_card_value),
                (1, Money::from_cents(2500))
            );
            let gift_card_credit = report.gift_card;
            let sam = new_account(&store, "sam@example.com", "hash", now);
            store.redeem_code(sam, &code, now).unwrap();
            let report = store.liability_report(today).unwrap();
            assert_eq!(report.unredeemed_gift_cards, 0);
            assert_eq!(report.gift_card, gift_card_credit + Money::from_cents(2500));

            let buyer = store
                .user_id_by_email(&Email::parse("buyer@example.com").unwrap())
                .unwrap()
                .unwrap();
            let purchase = GiftCardPurchase::parse(&fields("30", "ann@example.com", ""), today).unwrap();
            let second = store
                .buy_gift_card(buyer, &purchase, "key-key-key-key-2", now)
                .unwrap();
            assert_eq!(store.liability_report(today).unwrap().unredeemed_gift_cards, 1);
            let whole = RefundRequest::whole(AdjustmentReason::parse("wrong address").unwrap());
            store
                .refund_order(&tester(), second.order_id, &whole, now)
                .unwrap();
            let report = store.liability_report(today).unwrap();
            assert_eq!(
                (report.unredeemed_gift_cards, report.unredeemed_gift_card_value),
                (0, Money::ZERO),
                "order {order}"
            );
        }
    }

    #[test]
    fn the_database_refuses_an_order_without_a_product_not_paid_wholly_by_card() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = new_account(&store, "sneaky@example.com", "hash", now);
            let refused = store.write(|tx| {
                tx.execute(
                    sql!(
                        "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, gift_card_cents,
                                             placed_at)
                         VALUES ($1, NULL, 'sneaky-key', 2500, 2500, 0)"
                    ),
                    &[&user.0],
                )
            });
            assert!(refused.is_err(), "{refused:?}");
        }
    }
}
