//! What staff type about a product: its title, creator and format, each one line.

/// A product's title, creator or format: 1 to 200 characters on one line, with
/// no control characters (surrounding spaces are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductText(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("type 1 to 200 characters on one line")]
pub struct MalformedProductText;

impl ProductText {
    pub fn parse(typed: &str) -> Result<ProductText, MalformedProductText> {
        let text = typed.trim();
        if text.is_empty() || text.chars().count() > 200 || text.chars().any(char::is_control) {
            return Err(MalformedProductText);
        }
        Ok(ProductText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_text_is_one_trimmed_line_of_1_to_200_characters() {
        assert_eq!(ProductText::parse("  Night Bus ").unwrap().as_str(), "Night Bus");
        for bad in ["", "   ", "two\nlines", "tab\there", &"x".repeat(201)] {
            assert_eq!(ProductText::parse(bad), Err(MalformedProductText), "{bad:?}");
        }
        assert!(ProductText::parse(&"é".repeat(200)).is_ok());
    }
}
