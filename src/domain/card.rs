//! Payment cards (simulated): a typed number is checked, then only its brand and
//! last four digits survive.

use std::fmt;

/// What the store keeps of a card: never the full number.
#[derive(Clone, PartialEq, Eq)]
pub struct CardSummary {
    pub brand: String,
    pub last4: String,
}

impl CardSummary {
    /// "Visa ending in 4242".
    pub fn label(&self) -> String {
        format!("{} ending in {}", self.brand, self.last4)
    }
}

impl fmt::Debug for CardSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCard {
    #[error("enter the 12 to 19 digits of the card number")]
    Length,
    #[error("that card number isn't valid; check the digits")]
    Checksum,
    #[error("we accept Visa, Mastercard, American Express and Discover")]
    UnknownBrand,
}

impl CardSummary {
    /// Checks a typed card number (spaces and dashes allowed) with the Luhn
    /// checksum and reads its brand. The number itself is dropped here.
    pub fn from_number(typed: &str) -> Result<CardSummary, InvalidCard> {
        let digits: Vec<u32> = typed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .map(|c| c.to_digit(10).ok_or(InvalidCard::Length))
            .collect::<Result<_, _>>()?;
        if !(12..=19).contains(&digits.len()) {
            return Err(InvalidCard::Length);
        }
        if !passes_luhn(&digits) {
            return Err(InvalidCard::Checksum);
        }
        let prefix = |n: usize| digits[..n].iter().fold(0u32, |acc, d| acc * 10 + d);
        let brand = match (prefix(1), prefix(2), prefix(4)) {
            (4, _, _) => "Visa",
            (_, 51..=55, _) | (_, _, 2221..=2720) => "Mastercard",
            (_, 34 | 37, _) => "American Express",
            (_, 65, _) | (_, _, 6011) => "Discover",
            _ => return Err(InvalidCard::UnknownBrand),
        }
        .to_owned();
        let last4 = digits[digits.len() - 4..]
            .iter()
            .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
            .collect();
        Ok(CardSummary { brand, last4 })
    }
}

fn passes_luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn well_known_test_numbers_are_accepted_with_their_brand() {
        let cases = [
            ("4242 4242 4242 4242", "Visa", "4242"),
            ("5555-5555-5555-4444", "Mastercard", "4444"),
            ("378282246310005", "American Express", "0005"),
            ("6011111111111117", "Discover", "1117"),
        ];
        for (number, brand, last4) in cases {
            let card = CardSummary::from_number(number).unwrap();
            assert_eq!(
                (card.brand.as_str(), card.last4.as_str()),
                (brand, last4),
                "{number}"
            );
        }
        assert_eq!(
            CardSummary::from_number("4242424242424242").unwrap().label(),
            "Visa ending in 4242"
        );
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert_eq!(
            CardSummary::from_number("4242 4242 4242 4241"),
            Err(InvalidCard::Checksum)
        );
        assert_eq!(CardSummary::from_number("4242"), Err(InvalidCard::Length));
        assert_eq!(
            CardSummary::from_number("4242x4242x4242x4242"),
            Err(InvalidCard::Length)
        );
        assert_eq!(
            CardSummary::from_number("9999999999999995"),
            Err(InvalidCard::UnknownBrand)
        );
    }

    #[test]
    fn debug_output_shows_only_the_summary() {
        let card = CardSummary::from_number("4242424242424242").unwrap();
        assert_eq!(format!("{card:?}"), "Visa ending in 4242");
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in "\\PC{0,40}") {
            let _ = CardSummary::from_number(&input);
        }
    }
}
