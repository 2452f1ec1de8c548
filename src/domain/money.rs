//! Money: exact US-dollar amounts, never floating point.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};

use rust_decimal::{Decimal, RoundingStrategy};

/// The largest amount the store accepts anywhere (an order price, a code, a grant).
/// Far above any real purchase, far below where cents could overflow an `i64`.
pub const MAX_CENTS: i64 = 100_000_000; // $1,000,000.00

/// A non-negative amount of US dollars with exactly two decimal places.
///
/// Stored in SQLite as integer cents; carried in the code as a `Decimal` so that
/// percentages and formatting are exact.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("enter an amount such as 10.00")]
    NotANumber,
    #[error(
        "write an amount without commas, such as 1234.56 (a comma is read neither as thousands nor as a decimal point)"
    )]
    Comma,
    #[error("an amount cannot be negative")]
    Negative,
    #[error("an amount has at most two decimal places (whole cents)")]
    FractionOfACent,
    #[error("that amount is too large")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Builds an amount from integer cents, as stored in the database.
    ///
    /// # Panics
    /// Never for values read from our own tables, whose CHECK constraints keep cents
    /// within `0..=MAX_CENTS`; negative input is a programming error.
    pub fn from_cents(cents: i64) -> Money {
        debug_assert!(cents >= 0, "money is never negative: {cents}");
        Money(Decimal::new(cents, 2))
    }

    /// The amount in integer cents, for storage.
    pub fn cents(self) -> i64 {
        // Every constructor keeps at most two decimal places and the value within
        // MAX_CENTS, so at scale 2 the mantissa is exactly the number of cents.
        let mut at_cents = self.0;
        at_cents.rescale(2);
        i64::try_from(at_cents.mantissa()).expect("money stays within MAX_CENTS")
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    /// Parses an amount typed by an operator: `10`, `10.5`, `10.50`, `$10.50`.
    /// Refuses a comma (`2,50` is $2.50 to some and $250 to others), more than two
    /// decimals, negatives and absurd sizes.
    pub fn parse(input: &str) -> Result<Money, MoneyError> {
        let trimmed = input.trim();
        let unsigned = trimmed.strip_prefix('$').unwrap_or(trimmed);
        if unsigned.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        if unsigned.contains(',') {
            return Err(MoneyError::Comma);
        }
        if unsigned
            .split_once('.')
            .is_some_and(|(_, decimals)| decimals.len() > 2)
        {
            return Err(MoneyError::FractionOfACent);
        }
        let plain = unsigned;
        if plain.is_empty()
            || !plain.chars().all(|c| c.is_ascii_digit() || c == '.')
            || plain.starts_with('.')
            || plain.ends_with('.')
        {
            return Err(MoneyError::NotANumber);
        }
        let value: Decimal = plain.parse().map_err(|_| MoneyError::NotANumber)?;
        Money::from_decimal(value)
    }

    /// Wraps an exact decimal amount, refusing anything that is not whole cents.
    pub fn from_decimal(value: Decimal) -> Result<Money, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        let mut rounded = value.round_dp(2);
        if rounded != value {
            return Err(MoneyError::FractionOfACent);
        }
        if rounded > Decimal::new(MAX_CENTS, 2) {
            return Err(MoneyError::TooLarge);
        }
        rounded.rescale(2);
        Ok(Money(rounded))
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `self - other`, or zero when `other` is larger.
    pub fn saturating_sub(self, other: Money) -> Money {
        if other >= self {
            Money::ZERO
        } else {
            Money(self.0 - other.0)
        }
    }

    /// `percent`% of this amount, rounded half away from zero to the cent (SPEC §2).
    pub fn percent(self, percent: u8) -> Money {
        let mut share = (self.0 * Decimal::from(percent) / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        share.rescale(2);
        Money(share)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

/// Subtraction for amounts known to be ordered (`self >= other`); use
/// [`Money::saturating_sub`] when they might not be.
impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        debug_assert!(self >= other, "money never goes negative");
        Money(self.0 - other.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

/// `$1,234.56`: always a dollar sign, thousands separators and two decimals.
impl fmt::Display for Money {
    /// Written from the back into a stack buffer, without `to_string` or `write!`:
    /// the pop-up shows five of these per request.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = self.cents();
        // "-$" + 19 digits + 6 commas + ".00" fit in 32 bytes.
        let mut text = [0u8; 32];
        let mut start = text.len();
        let mut put = |byte: u8| {
            start -= 1;
            text[start] = byte;
        };
        let digit = |n: u64| b'0' + (n % 10) as u8;
        let magnitude = cents.unsigned_abs();
        put(digit(magnitude));
        put(digit(magnitude / 10));
        put(b'.');
        let mut dollars = magnitude / 100;
        let mut written = 0;
        loop {
            if written > 0 && written % 3 == 0 {
                put(b',');
            }
            put(digit(dollars));
            written += 1;
            dollars /= 10;
            if dollars == 0 {
                break;
            }
        }
        put(b'$');
        if cents < 0 {
            put(b'-');
        }
        f.write_str(std::str::from_utf8(&text[start..]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_with_dollar_sign_thousands_and_two_decimals() {
        assert_eq!(Money::from_cents(0).to_string(), "$0.00");
        assert_eq!(Money::from_cents(5).to_string(), "$0.05");
        assert_eq!(Money::from_cents(1401).to_string(), "$14.01");
        assert_eq!(Money::from_cents(123_456).to_string(), "$1,234.56");
        assert_eq!(Money::from_cents(100_000_000).to_string(), "$1,000,000.00");
        assert_eq!(Money::from_cents(99_999).to_string(), "$999.99");
        assert_eq!(Money::from_cents(100_000).to_string(), "$1,000.00");
        assert_eq!(Money::from_cents(12_345_678).to_string(), "$123,456.78");
        assert_eq!(Money::ZERO.to_string(), "$0.00");
        assert_eq!(Money::parse("7").unwrap().to_string(), "$7.00");
        assert_eq!(Money::from_cents(1000).percent(15).to_string(), "$1.50");
    }

    #[test]
    fn parses_the_forms_people_type() {
        assert_eq!(Money::parse("10"), Ok(Money::from_cents(1000)));
        assert_eq!(Money::parse("10.5"), Ok(Money::from_cents(1050)));
        assert_eq!(Money::parse(" $1234.56 "), Ok(Money::from_cents(123_456)));
        assert_eq!(Money::parse("0.99"), Ok(Money::from_cents(99)));
    }

    #[test]
    fn reads_a_dollar_sign_but_refuses_any_sign_where_none_belongs() {
        assert_eq!(Money::parse("$12.50"), Ok(Money::from_cents(1250)));
        assert_eq!(Money::parse("12"), Ok(Money::from_cents(1200)));
        assert_eq!(Money::parse("12.50"), Ok(Money::from_cents(1250)));
        for typed in ["-5", "$-5", "-$5"] {
            assert_eq!(Money::parse(typed), Err(MoneyError::Negative), "{typed}");
        }
        for typed in ["+5", "$+5", "5-", "$$5", "5$", "12 50", "12.5.0", "1O"] {
            assert!(Money::parse(typed).is_err(), "{typed}");
        }
    }

    #[test]
    fn refuses_commas_and_more_than_two_decimals_whatever_they_might_mean() {
        for typed in ["2,50", "12,50", "0,99", "1,2,3", "$1,234.56", "1,000"] {
            assert_eq!(Money::parse(typed), Err(MoneyError::Comma), "{typed}");
        }
        assert_eq!(Money::parse("10.500"), Err(MoneyError::FractionOfACent));
        assert_eq!(Money::parse("10.000"), Err(MoneyError::FractionOfACent));
    }

    #[test]
    fn refuses_nonsense_negative_fractional_and_huge_amounts() {
        assert_eq!(Money::parse(""), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("ten"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("1e3"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("."), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("NaN"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("-1.00"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("0.001"), Err(MoneyError::FractionOfACent));
        assert_eq!(Money::parse("1000000.01"), Err(MoneyError::TooLarge));
        assert_eq!(
            Money::parse("99999999999999999999999999999999"),
            Err(MoneyError::NotANumber)
        );
    }

    #[test]
    fn percentages_round_half_away_from_zero_to_the_cent() {
        // 20% of $0.99 = 0.198 → $0.20; 15% of $0.10 = 0.015 → $0.02
        assert_eq!(Money::from_cents(99).percent(20), Money::from_cents(20));
        assert_eq!(Money::from_cents(10).percent(15), Money::from_cents(2));
        assert_eq!(Money::from_cents(1).percent(50), Money::from_cents(1));
        assert_eq!(Money::from_cents(1299).percent(100), Money::from_cents(1299));
    }

    #[test]
    fn saturating_sub_stops_at_zero() {
        let four = Money::from_cents(400);
        let ten = Money::from_cents(1000);
        assert_eq!(ten.saturating_sub(four), Money::from_cents(600));
        assert_eq!(four.saturating_sub(ten), Money::ZERO);
    }

    proptest! {
        #[test]
        fn cents_round_trip(cents in 0..=MAX_CENTS) {
            prop_assert_eq!(Money::from_cents(cents).cents(), cents);
            // As shown, without its thousands commas (which typing refuses).
            let shown = Money::from_cents(cents).to_string().replace(',', "");
            prop_assert_eq!(Money::parse(&shown), Ok(Money::from_cents(cents)));
        }

        #[test]
        fn shown_with_a_comma_between_every_three_dollar_digits(cents in 0..=MAX_CENTS) {
            let shown = Money::from_cents(cents).to_string();
            let (dollars, fraction) = shown.trim_start_matches('$').split_once('.').unwrap();
            prop_assert_eq!(fraction, format!("{:02}", cents % 100));
            let groups: Vec<&str> = dollars.split(',').collect();
            prop_assert!(groups[0].len() <= 3 && !groups[0].is_empty(), "{}", shown);
            prop_assert!(groups[1..].iter().all(|group| group.len() == 3), "{}", shown);
            prop_assert_eq!(groups.concat(), (cents / 100).to_string());
        }

        #[test]
        fn parse_never_panics(input in ".{0,40}") {
            let _ = Money::parse(&input);
        }

        #[test]
        fn a_percentage_never_exceeds_the_amount(cents in 0..=MAX_CENTS, percent in 0u8..=100) {
            prop_assert!(Money::from_cents(cents).percent(percent) <= Money::from_cents(cents));
        }
    }
}
