//! The messages the store sends (SPEC §9). Each is a [`Letter`]: a greeting,
//! paragraphs, an optional table of amounts, the one link that matters, and
//! small print, rendered by the askama templates `templates/mail/letter.txt`
//! (a plain-text part that reads well on its own) and `letter.html`.
//!
//! The functions here only write; the use cases that queue a message gather its
//! facts inside their transaction and hand the result to `outbox::enqueue`.

use askama::Template;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::domain::{Money, UserId};
use crate::store::StoreError;
use crate::store::outbox::{MailKind, OutgoingMail};

/// Who a message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user: Option<UserId>,
    pub email: String,
    /// What to call them ("Hello Ann,"); empty when unknown.
    pub name: String,
}

/// One row of a message's table of amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub what: String,
    pub amount: String,
}

impl Line {
    pub fn new(what: impl Into<String>, amount: impl Into<String>) -> Line {
        Line {
            what: one_line(&what.into()),
            amount: amount.into(),
        }
    }

    /// An amount taken off: "-$1.00" (ASCII, so a plain receipt stays plain
    /// 7-bit text, readable as it is sent).
    pub fn minus(what: impl Into<String>, amount: Money) -> Line {
        Line::new(what, format!("-{amount}"))
    }
}

/// The link a message is about, shown as a button in HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub label: String,
    pub url: String,
}

/// A message's content, before it is rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Letter {
    pub greeting: String,
    pub paragraphs: Vec<String>,
    pub lines: Vec<Line>,
    pub action: Option<Action>,
    pub closing: Vec<String>,
    /// Small print: why this message came.
    pub footer: Vec<String>,
    /// The page that turns this kind of mail off (also sent as `List-Unsubscribe`).
    pub unsubscribe: Option<String>,
}

impl Letter {
    /// "Hello Ann," or "Hello," when the name is not known.
    pub fn to(recipient: &Recipient) -> Letter {
        let name = one_line(&recipient.name);
        Letter {
            greeting: if name.is_empty() {
                "Hello,".to_owned()
            } else {
                format!("Hello {name},")
            },
            ..Letter::default()
        }
    }

    pub fn paragraph(mut self, text: impl Into<String>) -> Letter {
        self.paragraphs.push(text.into());
        self
    }

    pub fn line(mut self, line: Line) -> Letter {
        self.lines.push(line);
        self
    }

    pub fn action(mut self, label: impl Into<String>, url: impl Into<String>) -> Letter {
        self.action = Some(Action {
            label: label.into(),
            url: url.into(),
        });
        self
    }

    pub fn closing(mut self, text: impl Into<String>) -> Letter {
        self.closing.push(text.into());
        self
    }

    pub fn footer(mut self, text: impl Into<String>) -> Letter {
        self.footer.push(text.into());
        self
    }

    /// Renders both parts: the outbox row for `kind`, to `recipient`.
    pub fn into_mail(
        self,
        kind: MailKind,
        recipient: &Recipient,
        subject: &str,
    ) -> Result<OutgoingMail, StoreError> {
        let subject = one_line(subject);
        let width = self
            .lines
            .iter()
            .map(|line| line.what.chars().count())
            .max()
            .unwrap_or(0);
        let text = LetterText { letter: &self, width }
            .render()
            .map_err(|e| StoreError::MailTemplate(e.to_string()))?;
        let html = LetterHtml {
            letter: &self,
            subject: &subject,
        }
        .render()
        .map_err(|e| StoreError::MailTemplate(e.to_string()))?;
        Ok(OutgoingMail {
            kind,
            user: recipient.user,
            to: recipient.email.clone(),
            subject,
            text,
            html,
            list_unsubscribe: self.unsubscribe.clone(),
            holds_secret: false,
        })
    }
}

#[derive(Template)]
#[template(path = "mail/letter.txt")]
struct LetterText<'a> {
    letter: &'a Letter,
    /// The widest line label, to align the amounts.
    width: usize,
}

impl LetterText<'_> {
    fn padding(&self, line: &Line) -> String {
        " ".repeat(self.width.saturating_sub(line.what.chars().count()))
    }
}

#[derive(Template)]
#[template(path = "mail/letter.html")]
struct LetterHtml<'a> {
    letter: &'a Letter,
    subject: &'a str,
}

/// Text for a header or a one-line label: control characters (a line break
/// that would start a header of its own) become spaces, runs of spaces one,
/// and `=?`, which opens an encoded word a mail program would decode in a
/// subject, is written `= ?`.
pub fn one_line(text: &str) -> String {
    text.chars()
        .filter(|c| !crate::domain::category::is_invisible(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("=?", "= ?")
}

/// "Choose a new storecredit password": a one-time link, valid `minutes`.
pub fn password_reset(recipient: &Recipient, link: &str, minutes: i64) -> Result<OutgoingMail, StoreError> {
    let mut mail = Letter::to(recipient)
        .paragraph("Someone (we hope you) asked to choose a new password for your storecredit account.")
        .paragraph(format!(
            "To choose one, open this link within {minutes} minutes. It works once, and choosing a new \
             password signs you out everywhere."
        ))
        .action("Choose a new password", link)
        .closing("If you did not ask, ignore this message: your password stays as it is.")
        .footer("You get this message because a new password was asked for on storecredit.")
        .into_mail(
            MailKind::PasswordReset,
            recipient,
            "Choose a new storecredit password",
        )?;
    mail.holds_secret = true;
    Ok(mail)
}

/// "Your storecredit password was changed": when and how, and the way back in
/// for an owner who did not change it.
pub fn password_changed(
    recipient: &Recipient,
    origin: &str,
    how: &str,
    when: OffsetDateTime,
) -> Result<OutgoingMail, StoreError> {
    let when = utc_moment(when)?;
    Letter::to(recipient)
        .paragraph(format!(
            "The password of your storecredit account was changed on {when}, {how}."
        ))
        .paragraph("Every browser that was signed in to it has been signed out.")
        .paragraph("If this was you, there is nothing to do.")
        .paragraph(
            "If it was not you, someone else may be able to sign in: choose a new password now, \
             with a link sent to this address.",
        )
        .action("Choose a new password", format!("{origin}/password/forgot"))
        .footer("You get this message whenever the password of your storecredit account changes.")
        .into_mail(
            MailKind::PasswordChanged,
            recipient,
            "Your storecredit password was changed",
        )
}

/// "December 7, 2026 at 14:05 UTC".
fn utc_moment(when: OffsetDateTime) -> Result<String, StoreError> {
    when.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[month repr:long] [day padding:none], [year] at [hour]:[minute] UTC"
        ))
        .map_err(|e| StoreError::MailTemplate(e.to_string()))
}

/// What an order receipt tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: i64,
    pub title: String,
    pub format: String,
    pub placed_on: String,
    pub price: Money,
    pub discount: Money,
    pub promotion: Option<String>,
    pub promotional_credit: Money,
    pub gift_card: Money,
    pub card: Money,
    pub card_label: Option<String>,
    /// What was bought waits in the shopper's library (not so for a gift card).
    pub in_library: bool,
}

/// The receipt of an order: what was bought and how it was paid.
pub fn receipt(recipient: &Recipient, origin: &str, order: &OrderFacts) -> Result<OutgoingMail, StoreError> {
    let mut letter = Letter::to(recipient)
        .paragraph("Thank you for your order. Here is your receipt.")
        .paragraph(format!(
            "Order {}, placed {}: {} ({}).",
            order.order_id,
            order.placed_on,
            one_line(&order.title),
            one_line(&order.format)
        ))
        .line(Line::new("Price", order.price.to_string()));
    if !order.discount.is_zero() {
        let what = match &order.promotion {
            Some(promotion) => format!("Discount ({})", one_line(promotion)),
            None => "Discount".to_owned(),
        };
        letter = letter.line(Line::minus(what, order.discount));
    }
    if !order.promotional_credit.is_zero() {
        letter = letter.line(Line::minus("Promotional credit", order.promotional_credit));
    }
    if !order.gift_card.is_zero() {
        letter = letter.line(Line::minus("Gift card", order.gift_card));
    }
    if order.card.is_zero() {
        letter = letter.paragraph("Nothing was charged to your card.");
    } else {
        let card = order.card_label.as_deref().unwrap_or("your card");
        letter = letter.line(Line::new(format!("Charged to {card}"), order.card.to_string()));
    }
    if order.in_library {
        letter = letter.paragraph(format!(
            "It is in your library, ready to download: {origin}/library"
        ));
    }
    letter
        .action("See your order", format!("{origin}/orders/{}", order.order_id))
        .footer("You get this message because you placed an order on storecredit.")
        .into_mail(
            MailKind::Receipt,
            recipient,
            &format!("Your storecredit order {}: {}", order.order_id, order.title),
        )
}

/// What a refund message tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFacts {
    pub order_id: i64,
    pub title: String,
    pub amount: Money,
    /// Where the money went, one line each.
    pub went_to: Vec<Line>,
    /// What is left of the order to refund (zero when refunded in full).
    pub left: Money,
    /// What was paid for the order (credits and card).
    pub paid: Money,
    /// A share not returned because its credit was revoked.
    pub withheld: Money,
    /// Some of it went back to a card.
    pub to_card: bool,
    /// What the refund ended: a gift card's code, or a library item.
    pub ended: Option<RefundEnded>,
}

/// What a refund in full took away besides the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundEnded {
    /// A gift card bought in the store: its code no longer works.
    GiftCard,
    /// A product: it has left the shopper's library.
    LibraryItem,
}

/// A refund of an order, in full or in part, and where the money went.
pub fn refund(recipient: &Recipient, origin: &str, refund: &RefundFacts) -> Result<OutgoingMail, StoreError> {
    let what = if refund.left.is_zero() && refund.amount == refund.paid {
        format!(
            "We refunded your order {} ({}) in full: {}.",
            refund.order_id,
            one_line(&refund.title),
            refund.amount
        )
    } else {
        format!(
            "We refunded {} of your order {} ({}).",
            refund.amount,
            refund.order_id,
            one_line(&refund.title)
        )
    };
    let mut letter = Letter::to(recipient).paragraph(format!("{what} Here is where the money went."));
    for line in &refund.went_to {
        letter = letter.line(line.clone());
    }
    if !refund.withheld.is_zero() {
        letter = letter.paragraph(format!(
            "{} was not returned: it was paid from a credit that has been revoked.",
            refund.withheld
        ));
    }
    match refund.ended {
        Some(RefundEnded::GiftCard) => {
            letter = letter.paragraph(
                "The gift card's code no longer works, and if it had not been e-mailed yet, it will not be.",
            );
        }
        Some(RefundEnded::LibraryItem) => {
            letter = letter.paragraph("It has left your library and can no longer be downloaded.");
        }
        None => {}
    }
    if refund.to_card {
        letter = letter.closing("A card refund can take a few days to show on your statement.");
    }
    letter
        .action("See your order", format!("{origin}/orders/{}", refund.order_id))
        .footer("You get this message because an order of yours was refunded on storecredit.")
        .into_mail(
            MailKind::Refund,
            recipient,
            &format!(
                "Refund of {} for your storecredit order {}",
                refund.amount, refund.order_id
            ),
        )
}

/// What a credit grant message tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantFacts {
    pub amount: Money,
    /// "Digital Music and Kindle", "Everything (gift card)".
    pub valid_for: String,
    /// "through December 31, 2026", or `None` when it never expires.
    pub last_day: Option<String>,
    /// What the credit says it is for.
    pub description: String,
}

/// Credit added to an account by staff.
pub fn credit_granted(
    recipient: &Recipient,
    origin: &str,
    grant: &GrantFacts,
) -> Result<OutgoingMail, StoreError> {
    let mut letter = Letter::to(recipient)
        .paragraph(format!(
            "We added {} of store credit to your account (\"{}\").",
            grant.amount,
            one_line(&grant.description)
        ))
        .line(Line::new("Credit", grant.amount.to_string()))
        .line(Line::new("Spend it on", one_line(&grant.valid_for)))
        .line(Line::new(
            "Last day",
            grant
                .last_day
                .clone()
                .unwrap_or_else(|| "none, it does not expire".to_owned()),
        ));
    letter = letter.paragraph("Credit is spent first at checkout, before your card.");
    letter
        .action("See your credit", format!("{origin}/account/credit"))
        .footer("You get this message because store credit was added to your storecredit account.")
        .into_mail(
            MailKind::CreditGranted,
            recipient,
            &format!("{} of store credit was added to your account", grant.amount),
        )
}

// ---------------------------------------------------------------------------
// Registration (SPEC §9): a new address gets a confirmation link, a known one a
// reminder that it already has an account. Both go to whatever address was
// typed, so neither repeats anything else the typist wrote (the name is not
// shown until the owner of the mailbox has confirmed it).

/// "Confirm your e-mail address": the one-time link that creates the account,
/// valid `hours`.
pub fn confirm_address(recipient: &Recipient, link: &str, hours: i64) -> Result<OutgoingMail, StoreError> {
    let mut mail = Letter::to(recipient)
        .paragraph("Someone (we hope you) asked to open a storecredit account with this e-mail address.")
        .paragraph(format!(
            "To create the account, open this link within {hours} hours and press \"Create my account\". \
             It works once."
        ))
        .action("Confirm your address", link)
        .closing("If you did not ask, ignore this message: no account is made without this link.")
        .footer("You get this message because this address was typed into storecredit's registration form.")
        .into_mail(
            MailKind::ConfirmAddress,
            recipient,
            "Confirm your e-mail address for storecredit",
        )?;
    mail.holds_secret = true;
    Ok(mail)
}

/// "You already have an account": sent instead of a confirmation link when the
/// address typed into the registration form has an account, with the ways in.
pub fn already_registered(recipient: &Recipient, origin: &str) -> Result<OutgoingMail, StoreError> {
    Letter::to(recipient)
        .paragraph(
            "Someone (we hope you) asked to open a new storecredit account with this e-mail address, \
             but you already have one, so no new account was made.",
        )
        .action("Sign in", format!("{origin}/signin"))
        .closing("Forgot your password? Choose a new one here:")
        .closing(format!("{origin}/password/forgot"))
        .closing("If you did not ask, ignore this message: your account is unchanged.")
        .footer("You get this message because this address was typed into storecredit's registration form.")
        .into_mail(
            MailKind::AlreadyRegistered,
            recipient,
            "You already have a storecredit account",
        )
}

// ---------------------------------------------------------------------------
// A new device signed in (SPEC §9 "Being locked out by someone else")
// ---------------------------------------------------------------------------

/// How many characters of a browser's `User-Agent` a message shows.
const BROWSER_CHARACTERS: usize = 120;

/// A browser's `User-Agent` as a message may show it: it is whatever the
/// client sent, so only printable ASCII stays, nothing that could end a header
/// or open markup, and nothing a mail program would turn into a link (no `://`
/// or `name:`, no `@`, no dot between letters: `evil.example` reads `evil
/// example`, while versions such as `Firefox/128.0` and `rv:109.0` stay as
/// they are). At most [`BROWSER_CHARACTERS`], then "…".
pub fn browser_text(user_agent: &str) -> String {
    let chars: Vec<char> = user_agent.chars().collect();
    let digit_at = |at: Option<usize>| at.and_then(|at| chars.get(at)).is_some_and(char::is_ascii_digit);
    let kept: String = chars
        .iter()
        .enumerate()
        .map(|(at, &c)| match c {
            '.' if digit_at(at.checked_sub(1)) && digit_at(Some(at + 1)) => '.',
            ':' if digit_at(Some(at + 1)) => ':',
            '.' | ':' | '@' | '<' | '>' | '"' | '\'' | '`' | '\\' => ' ',
            c if c.is_ascii_graphic() => c,
            _ => ' ',
        })
        .collect();
    let text = one_line(&kept);
    if text.is_empty() {
        return "a browser that did not say what it is".to_owned();
    }
    match text.char_indices().nth(BROWSER_CHARACTERS) {
        Some((cut, _)) => format!("{}\u{2026}", text[..cut].trim_end()),
        None => text,
    }
}

/// "Your storecredit account was signed in to from a new browser": when (UTC),
/// which browser, and the way back in for an owner who was not the one.
pub fn new_device(
    recipient: &Recipient,
    origin: &str,
    user_agent: &str,
    when: OffsetDateTime,
) -> Result<OutgoingMail, StoreError> {
    let when = utc_moment(when)?;
    Letter::to(recipient)
        .paragraph(format!(
            "Your storecredit account was signed in to on {when} from a browser it had not been used \
             with before. That browser described itself as follows (a browser can describe itself as \
             anything, so trust nothing it says):"
        ))
        .paragraph(format!("\"{}\"", browser_text(user_agent)))
        .paragraph("If this was you, there is nothing to do.")
        .paragraph(
            "If this was not you, choose a new password now: someone knows your password, and a new \
             one signs them out everywhere.",
        )
        .action("Choose a new password", format!("{origin}/password/forgot"))
        .footer("You get this message whenever your storecredit account is signed in to from a new browser.")
        .into_mail(
            MailKind::NewDevice,
            recipient,
            "New sign-in to your storecredit account",
        )
}

// ---------------------------------------------------------------------------
// Reminders before credit expires (store::reminders)
// ---------------------------------------------------------------------------

/// A credit an expiry reminder tells of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringCredit {
    /// What is left of it.
    pub amount: Money,
    /// "Digital Music and Kindle", "Everything (gift card)".
    pub valid_for: String,
    /// Its last day, "March 3, 2027".
    pub last_day: String,
}

/// "Your store credit expires soon": the credits ending within a week, what
/// is left of each and its last day, with the one-click link that turns these
/// reminders off (`List-Unsubscribe`).
pub fn expiry_reminder(
    recipient: &Recipient,
    origin: &str,
    credits: &[ExpiringCredit],
    unsubscribe: &str,
) -> Result<OutgoingMail, StoreError> {
    let total: Money = credits.iter().map(|credit| credit.amount).sum();
    let soonest = credits
        .first()
        .map(|credit| one_line(&credit.last_day))
        .unwrap_or_default();
    let mut letter = Letter::to(recipient).paragraph(match credits {
        [only] => format!(
            "You have {} of store credit whose last day is {} (UTC). Spend it by then so it is not lost.",
            only.amount, soonest
        ),
        _ => format!(
            "You have {total} of store credit ending within a week. Spend each by its last day (UTC) so \
             it is not lost:"
        ),
    });
    for credit in credits {
        letter = letter.line(Line::new(
            format!(
                "{}, last day {}",
                one_line(&credit.valid_for),
                one_line(&credit.last_day)
            ),
            credit.amount.to_string(),
        ));
    }
    letter.unsubscribe = Some(unsubscribe.to_owned());
    letter
        .action("See your credit", format!("{origin}/account/credit"))
        .closing("Credit is spent first at checkout, before your card.")
        .footer(
            "You get this message because you have store credit on storecredit that ends within a week. \
             We remind you once of each credit, and write at most once a day.",
        )
        .into_mail(
            MailKind::ExpiryReminder,
            recipient,
            &match credits {
                [_] => format!("{total} of your store credit ends {soonest}"),
                _ => format!("{total} of your store credit ends within a week"),
            },
        )
}

// --- A gift card bought in the store, to its recipient ---------------------------

/// What the gift-card message tells its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftCardFacts {
    /// The buyer's name (their account's display name).
    pub from: String,
    pub amount: Money,
    /// The buyer's message, one line; may be empty.
    pub message: String,
    pub code: String,
}

/// "Ann sent you a $25.00 storecredit gift card": the code and how to redeem it.
/// The code is a bearer secret: the text is removed from the outbox once sent.
pub fn gift_card(
    recipient: &Recipient,
    origin: &str,
    gift: &GiftCardFacts,
) -> Result<OutgoingMail, StoreError> {
    let from = match one_line(&gift.from) {
        name if name.is_empty() => "Someone".to_owned(),
        name => name,
    };
    let mut letter = Letter::to(recipient).paragraph(format!(
        "{from} sent you a {} storecredit gift card.",
        gift.amount
    ));
    let message = one_line(&gift.message);
    if !message.is_empty() {
        letter = letter.paragraph(format!("Their message: \"{message}\""));
    }
    let mut mail = letter
        .line(Line::new("Gift card code", gift.code.clone()))
        .line(Line::new("Value", gift.amount.to_string()))
        .paragraph(
            "It pays for anything in the store: music, books, video and software. Sign in (or \
             create an account), then redeem the code; its balance shows under Gift Cards and is \
             spent before any card at checkout.",
        )
        .action("Redeem your gift card", format!("{origin}/redeem"))
        .closing("Keep the code safe: whoever has it can redeem it, once.")
        .footer(format!(
            "You get this message because {from} bought you a gift card on storecredit."
        ))
        .into_mail(
            MailKind::GiftCard,
            recipient,
            &format!("{from} sent you a {} gift card", gift.amount),
        )?;
    mail.holds_secret = true;
    Ok(mail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> Recipient {
        Recipient {
            user: Some(UserId(1)),
            email: "ann@example.com".to_owned(),
            name: "Ann <b>Lee</b>".to_owned(),
        }
    }

    fn order() -> OrderFacts {
        OrderFacts {
            order_id: 12,
            title: "Kind of Blue\r\nBcc: eve@example.com".to_owned(),
            format: "MP3 album".to_owned(),
            placed_on: "December 7, 2026".to_owned(),
            price: Money::from_cents(999),
            discount: Money::from_cents(100),
            promotion: Some("SAVE1".to_owned()),
            promotional_credit: Money::from_cents(500),
            gift_card: Money::ZERO,
            card: Money::from_cents(399),
            card_label: Some("Visa ending in 4242".to_owned()),
            in_library: true,
        }
    }

    #[test]
    fn a_receipt_reads_well_as_plain_text_with_its_amounts_aligned() {
        let mail = receipt(&ann(), "https://shop.example", &order()).unwrap();
        let text = &mail.text;
        assert!(text.starts_with("Hello Ann <b>Lee</b>,\n"), "{text}");
        assert!(
            text.contains("  Price                           $9.99\n"),
            "{text}"
        );
        assert!(
            text.contains("  Discount (SAVE1)                -$1.00\n"),
            "{text}"
        );
        assert!(
            text.contains("  Charged to Visa ending in 4242  $3.99\n"),
            "{text}"
        );
        assert!(
            text.contains("See your order:\nhttps://shop.example/orders/12\n"),
            "{text}"
        );
        assert!(!text.contains("\n\n\n"), "no runs of blank lines:\n{text}");
    }

    #[test]
    fn names_and_titles_are_escaped_in_html_and_cannot_break_a_header() {
        let mail = receipt(&ann(), "https://shop.example", &order()).unwrap();
        assert!(
            mail.html.contains("Hello Ann &#60;b&#62;Lee&#60;/b&#62;,"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<b>"), "{}", mail.html);
        assert!(
            !mail.subject.contains('\n') && !mail.subject.contains('\r'),
            "{}",
            mail.subject
        );
        assert_eq!(
            mail.subject,
            "Your storecredit order 12: Kind of Blue Bcc: eve@example.com"
        );
    }

    #[test]
    fn a_reset_message_holds_its_link_as_a_secret() {
        let mail = password_reset(&ann(), "https://shop.example/password/reset/abc", 30).unwrap();
        assert!(mail.holds_secret);
        assert!(
            mail.text.contains("https://shop.example/password/reset/abc"),
            "{}",
            mail.text
        );
        assert!(
            mail.html
                .contains("href=\"https://shop.example/password/reset/abc\""),
            "{}",
            mail.html
        );
    }

    #[test]
    fn a_confirmation_message_holds_its_link_as_a_secret_and_greets_no_typed_name() {
        let typed = Recipient {
            user: None,
            email: "new@example.com".to_owned(),
            name: String::new(),
        };
        let mail = confirm_address(&typed, "https://shop.example/register/confirm/abc", 24).unwrap();
        assert_eq!(mail.kind, MailKind::ConfirmAddress);
        assert!(mail.holds_secret);
        assert_eq!(mail.user, None);
        assert!(mail.text.starts_with("Hello,\n"), "{}", mail.text);
        assert!(
            mail.text
                .contains("Confirm your address:\nhttps://shop.example/register/confirm/abc\n"),
            "{}",
            mail.text
        );
        assert!(mail.text.contains("within 24 hours"), "{}", mail.text);
    }

    #[test]
    fn an_already_registered_message_links_to_sign_in_and_to_a_new_password() {
        let mail = already_registered(&ann(), "https://shop.example").unwrap();
        assert_eq!(mail.kind, MailKind::AlreadyRegistered);
        assert!(!mail.holds_secret, "it holds no secret");
        assert!(
            mail.text.contains("Sign in:\nhttps://shop.example/signin\n"),
            "{}",
            mail.text
        );
        assert!(
            mail.text.contains("\nhttps://shop.example/password/forgot\n"),
            "{}",
            mail.text
        );
        assert!(
            mail.html.contains("href=\"https://shop.example/signin\""),
            "{}",
            mail.html
        );
    }
    #[test]
    fn a_new_device_message_says_when_which_browser_and_how_to_get_back_in() {
        let when = time::macros::datetime!(2026-12-07 18:05 UTC);
        let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0";
        let mail = new_device(&ann(), "https://shop.example", agent, when).unwrap();
        assert_eq!(mail.kind, MailKind::NewDevice);
        assert!(!mail.holds_secret);
        let text = &mail.text;
        assert!(text.contains("December 7, 2026 at 18:05 UTC"), "{text}");
        assert!(text.contains(agent), "{text}");
        assert!(
            text.contains("If this was not you, choose a new password"),
            "{text}"
        );
        assert!(
            text.contains("Choose a new password:\nhttps://shop.example/password/forgot\n"),
            "{text}"
        );
    }

    #[test]
    fn a_browser_cannot_write_links_markup_or_headers_into_the_message() {
        let agent = "Evil\r\nBcc: eve@example.com <a href=\"https://evil.example/x\">click</a> \
                     www.evil.example javascript:alert(1) \u{202e}gpj.exe \u{0}";
        let shown = browser_text(agent);
        for bad in [
            "\r",
            "\n",
            "@",
            "<",
            ">",
            "\"",
            "://",
            "evil.example",
            "www.",
            "javascript:",
            "\u{202e}",
            "\u{0}",
        ] {
            assert!(!shown.contains(bad), "{bad:?} in {shown:?}");
        }
        let mail = new_device(&ann(), "https://shop.example", agent, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert!(!mail.text.contains("evil.example"), "{}", mail.text);
        assert!(!mail.html.contains("evil.example"), "{}", mail.html);
        assert_eq!(
            mail.html.matches("href=\"").count(),
            1,
            "only the reset link: {}",
            mail.html
        );
    }

    #[test]
    fn a_long_browser_name_is_cut_and_an_empty_one_is_named() {
        let shown = browser_text(&"A".repeat(500));
        assert_eq!(shown.chars().count(), BROWSER_CHARACTERS + 1);
        assert!(shown.ends_with('\u{2026}'));
        assert_eq!(browser_text(" \t "), "a browser that did not say what it is");
    }

    #[test]
    fn an_expiry_reminder_lists_each_credit_with_its_last_day_and_a_way_to_stop_them() {
        let credits = [
            ExpiringCredit {
                amount: Money::from_cents(500),
                valid_for: "Digital Music".to_owned(),
                last_day: "March 3, 2027".to_owned(),
            },
            ExpiringCredit {
                amount: Money::from_cents(2500),
                valid_for: "Everything (gift card)".to_owned(),
                last_day: "March 5, 2027".to_owned(),
            },
        ];
        let link = "https://shop.example/mail/unsubscribe/abc";
        let mail = expiry_reminder(&ann(), "https://shop.example", &credits, link).unwrap();
        assert_eq!(mail.kind, MailKind::ExpiryReminder);
        assert_eq!(mail.subject, "$30.00 of your store credit ends within a week");
        assert_eq!(mail.list_unsubscribe.as_deref(), Some(link));
        assert!(!mail.holds_secret);
        let text = &mail.text;
        assert!(
            text.contains("  Digital Music, last day March 3, 2027           $5.00\n"),
            "{text}"
        );
        assert!(
            text.contains("  Everything (gift card), last day March 5, 2027  $25.00\n"),
            "{text}"
        );
        assert!(
            text.contains("See your credit:\nhttps://shop.example/account/credit\n"),
            "{text}"
        );
        assert!(text.contains(&format!("Stop these reminders: {link}")), "{text}");
        assert!(mail.html.contains(&format!("href=\"{link}\"")), "{}", mail.html);
    }
}
