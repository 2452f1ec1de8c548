//! Codes a shopper redeems: what each kind grants, and how codes are typed.

use std::fmt;

use time::{Duration, OffsetDateTime};

use super::category::{CategoryId, CategorySet};
use super::date::LastDay;
use super::money::Money;

/// A code as typed, normalised: surrounding white space dropped, upper-case, so
/// ` music-kindle-10 ` and `MUSIC-KINDLE-10` are the same code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PromoCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a code is 3 to 32 letters, digits and dashes, such as GIFT-20")]
pub struct MalformedCode;

impl PromoCode {
    pub fn parse(input: &str) -> Result<PromoCode, MalformedCode> {
        let code = input.trim().to_ascii_uppercase();
        let well_formed = (3..=32).contains(&code.len())
            && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && code.chars().any(|c| c.is_ascii_alphanumeric());
        if well_formed {
            Ok(PromoCode(code))
        } else {
            Err(MalformedCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code with all but its last four characters masked, for logs.
    pub fn masked(&self) -> String {
        let keep = self.0.len().saturating_sub(4);
        format!("{}{}", "*".repeat(keep.min(8)), &self.0[keep..])
    }
}

impl fmt::Debug for PromoCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PromoCode({})", self.masked())
    }
}

/// How much a discount takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountValue {
    Percent(u8),
    AmountOff(Money),
}

impl DiscountValue {
    /// The reduction on `price`: a percentage rounds half away from zero to the
    /// cent; a fixed amount never takes more than the price.
    pub fn off(self, price: Money) -> Money {
        match self {
            DiscountValue::Percent(percent) => price.percent(percent),
            DiscountValue::AmountOff(amount) => amount.min(price),
        }
    }
}

/// A discount: something off one purchase in some categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscountTerms {
    pub value: DiscountValue,
    pub categories: CategorySet,
}

impl DiscountTerms {
    pub fn fits(&self, category: CategoryId) -> bool {
        self.categories.contains(category)
    }
}

/// The three kinds of code, as staff pick them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// A promotional credit for some categories.
    Credit,
    /// Gift-card credit, valid for everything.
    GiftCard,
    /// Something off one purchase in some categories.
    Discount,
}

impl CodeKind {
    pub const ALL: [CodeKind; 3] = [CodeKind::Credit, CodeKind::GiftCard, CodeKind::Discount];

    /// Its name as stored and in forms: `credit`, `gift_card`, `discount`.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Credit => "credit",
            CodeKind::GiftCard => "gift_card",
            CodeKind::Discount => "discount",
        }
    }

    /// For people: "credit", "gift card", "discount".
    pub fn label(self) -> &'static str {
        match self {
            CodeKind::Credit => "credit",
            CodeKind::GiftCard => "gift card",
            CodeKind::Discount => "discount",
        }
    }

    /// The kind named `credit`, `gift_card` (or `gift-card`) or `discount`.
    pub fn parse(name: &str) -> Option<CodeKind> {
        let name = name.trim().replace('-', "_");
        CodeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(&name))
    }
}

/// What redeeming a code gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeGrant {
    /// A promotional credit for these categories, valid `valid_for` after
    /// redemption (forever when `None`).
    Credit {
        amount: Money,
        categories: CategorySet,
        valid_for: Option<Duration>,
    },
    GiftCard {
        amount: Money,
    },
    Discount(DiscountTerms),
}

impl CodeGrant {
    /// What redeeming the code gives, for people: "a $10.00 credit for Music and
    /// Kindle", "a $25.00 gift card (pays for everything)", "15% off one purchase
    /// in Music".
    pub fn describe(&self, categories: &super::Categories) -> String {
        match self {
            CodeGrant::Credit {
                amount,
                categories: valid,
                ..
            } => format!("a {amount} credit for {}", categories.describe(*valid)),
            CodeGrant::GiftCard { amount } => format!("a {amount} gift card (pays for everything)"),
            CodeGrant::Discount(terms) => {
                let off = match terms.value {
                    DiscountValue::Percent(percent) => format!("{percent}%"),
                    DiscountValue::AmountOff(amount) => amount.to_string(),
                };
                format!(
                    "{off} off one purchase in {}",
                    categories.describe(terms.categories)
                )
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        self.code_kind().as_str()
    }

    pub fn code_kind(&self) -> CodeKind {
        match self {
            CodeGrant::Credit { .. } => CodeKind::Credit,
            CodeGrant::GiftCard { .. } => CodeKind::GiftCard,
            CodeGrant::Discount(_) => CodeKind::Discount,
        }
    }

    /// When the credit granted at `redeemed_at` expires: at the end of the last of
    /// its days (UTC), so the last day a shopper is shown is usable all day long.
    pub fn credit_expiry(&self, redeemed_at: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            CodeGrant::Credit {
                valid_for: Some(valid_for),
                ..
            } => Some(LastDay::days_after(redeemed_at, valid_for.whole_days()).ends_at()),
            _ => None,
        }
    }
}

/// Why a code cannot be redeemed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefusal {
    #[error("{0}")]
    Malformed(#[from] MalformedCode),
    #[error("we don't recognise that code; check it and try again")]
    Unknown,
    #[error("that code could only be redeemed until {0}")]
    PastDeadline(String),
    #[error("you have already redeemed that code")]
    AlreadyRedeemed,
    #[error("that code has been fully claimed")]
    Exhausted,
    #[error("that discount applies to {0} only")]
    WrongCategory(String),
    /// A gift card bought in the store and refunded before it was redeemed.
    #[error(
        "that gift card was cancelled by the person who bought it, so it cannot be redeemed; ask them about it"
    )]
    Cancelled,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_ignore_case_and_surrounding_space() {
        assert_eq!(
            PromoCode::parse("  music-kindle-10\t").unwrap(),
            PromoCode::parse("MUSIC-KINDLE-10").unwrap()
        );
    }

    #[test]
    fn odd_input_is_not_a_code() {
        for bad in [
            "",
            "ab",
            "---",
            "GIFT 20",
            "GIFT_20",
            "GIFT-20'; DROP TABLE codes;--",
            "ＧＩＦＴ-20",
            &"A".repeat(33),
        ] {
            assert_eq!(PromoCode::parse(bad), Err(MalformedCode), "{bad:?}");
        }
    }

    #[test]
    fn logs_see_only_the_end_of_a_code() {
        let code = PromoCode::parse("MUSIC-KINDLE-10").unwrap();
        assert_eq!(code.masked(), "********E-10");
        assert!(!format!("{code:?}").contains("MUSIC"));
    }

    #[test]
    fn a_fixed_discount_never_exceeds_the_price() {
        let off = DiscountValue::AmountOff(Money::from_cents(500));
        assert_eq!(off.off(Money::from_cents(299)), Money::from_cents(299));
        assert_eq!(off.off(Money::from_cents(899)), Money::from_cents(500));
    }

    #[test]
    fn a_percentage_discount_rounds_half_away_from_zero() {
        // 20% of $8.99 = 1.798 → $1.80
        let off = DiscountValue::Percent(20);
        assert_eq!(off.off(Money::from_cents(899)), Money::from_cents(180));
    }

    #[test]
    fn a_credit_valid_60_days_lasts_through_the_60th_day_after_redemption() {
        let grant = CodeGrant::Credit {
            amount: Money::from_cents(1000),
            categories: crate::domain::category::seeded().every(),
            valid_for: Some(Duration::days(60)),
        };
        let redeemed_at = time::macros::datetime!(2027-01-01 13:00 UTC);
        let expiry = grant.credit_expiry(redeemed_at).unwrap();
        assert_eq!(expiry, time::macros::datetime!(2027-03-03 0:00 UTC));
        assert_eq!(crate::domain::format_last_day(expiry), "March 2, 2027");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_the_code_alphabet(input in "\\PC{0,40}") {
            if let Ok(code) = PromoCode::parse(&input) {
                prop_assert!(code.as_str().chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'));
            }
        }
    }
}
