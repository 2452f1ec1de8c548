//! An operator's correction to a credit: a signed change and the reason for it,
//! recorded together as one `adjust` event in the credit's ledger.

use std::fmt;

use super::money::{Money, MoneyError};

/// A non-zero change to a credit's remaining amount: `+1.50` adds, `-2.50` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustment {
    Add(Money),
    Take(Money),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdjustmentError {
    #[error("an adjustment of $0.00 changes nothing; give an amount such as -2.50 or 1.00")]
    Zero,
    #[error("{0}")]
    Amount(MoneyError),
}

impl Adjustment {
    /// Parses `-2.50`, `+1`, `$3.00` or `-$3.00`; refuses zero and anything that is
    /// not whole cents.
    pub fn parse(input: &str) -> Result<Adjustment, AdjustmentError> {
        let trimmed = input.trim();
        let (take, magnitude) = match trimmed
            .strip_prefix('-')
            .or_else(|| trimmed.strip_prefix('\u{2212}'))
        {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        if magnitude.starts_with(char::is_whitespace) {
            return Err(AdjustmentError::Amount(MoneyError::NotANumber));
        }
        let amount = Money::parse(magnitude).map_err(AdjustmentError::Amount)?;
        if amount.is_zero() {
            return Err(AdjustmentError::Zero);
        }
        Ok(if take {
            Adjustment::Take(amount)
        } else {
            Adjustment::Add(amount)
        })
    }

    /// The signed change in cents, as the ledger stores it.
    pub fn change_cents(self) -> i64 {
        match self {
            Adjustment::Add(amount) => amount.cents(),
            Adjustment::Take(amount) => -amount.cents(),
        }
    }
}

/// "+$1.50" or "−$2.50".
impl fmt::Display for Adjustment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Adjustment::Add(amount) => write!(f, "+{amount}"),
            Adjustment::Take(amount) => write!(f, "\u{2212}{amount}"),
        }
    }
}

/// Why an operator changed a credit: kept with the ledger event for whoever asks
/// later. One line of at most 500 characters, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentReason(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("say why with --reason: it is kept in the credit's ledger")]
    Empty,
    #[error("a reason is one line of at most 500 characters")]
    TooLong,
}

impl AdjustmentReason {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(input: &str) -> Result<AdjustmentReason, ReasonError> {
        let reason = input.trim();
        if reason.is_empty() {
            return Err(ReasonError::Empty);
        }
        if reason.chars().count() > Self::MAX_CHARS || reason.chars().any(char::is_control) {
            return Err(ReasonError::TooLong);
        }
        Ok(AdjustmentReason(reason.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_says_whether_credit_is_added_or_taken() {
        assert_eq!(
            Adjustment::parse("-2.50"),
            Ok(Adjustment::Take(Money::from_cents(250)))
        );
        assert_eq!(
            Adjustment::parse(" +1 "),
            Ok(Adjustment::Add(Money::from_cents(100)))
        );
        assert_eq!(
            Adjustment::parse("3"),
            Ok(Adjustment::Add(Money::from_cents(300)))
        );
        assert_eq!(
            Adjustment::parse("-$0.99"),
            Ok(Adjustment::Take(Money::from_cents(99)))
        );
        assert_eq!(Adjustment::parse("\u{2212}1.00").unwrap().change_cents(), -100);
    }

    #[test]
    fn zero_and_nonsense_are_refused() {
        assert_eq!(Adjustment::parse("0"), Err(AdjustmentError::Zero));
        assert_eq!(Adjustment::parse("-0.00"), Err(AdjustmentError::Zero));
        for bad in ["", "-", "--2", "+-2", "1.001", "two", "- 2"] {
            assert!(Adjustment::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_adjustment_reads_with_its_sign() {
        assert_eq!(Adjustment::parse("-2.5").unwrap().to_string(), "\u{2212}$2.50");
        assert_eq!(Adjustment::parse("1").unwrap().to_string(), "+$1.00");
    }

    #[test]
    fn a_reason_is_one_non_empty_line() {
        assert_eq!(
            AdjustmentReason::parse("  goodwill ").unwrap().as_str(),
            "goodwill"
        );
        assert_eq!(AdjustmentReason::parse(" \t"), Err(ReasonError::Empty));
        assert_eq!(AdjustmentReason::parse("a\nb"), Err(ReasonError::TooLong));
        assert!(AdjustmentReason::parse(&"x".repeat(501)).is_err());
        assert!(AdjustmentReason::parse(&"x".repeat(500)).is_ok());
    }
}
