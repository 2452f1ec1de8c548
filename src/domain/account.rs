//! Account identity: ids, e-mail addresses, display names and new passwords.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An e-mail address, normalised (trimmed, lower-case) so that one mailbox is one
/// account whatever the capitalisation it was typed with. Printable ASCII only: an
/// invisible or look-alike character (a zero-width space, a Cyrillic `а`) would
/// make a second account that reads like someone else's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enter an e-mail address such as name@example.com")]
pub struct InvalidEmail;

impl Email {
    const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Email, InvalidEmail> {
        let email = input.trim().to_lowercase();
        let (local, domain) = email.split_once('@').ok_or(InvalidEmail)?;
        let well_formed = email.len() <= Email::MAX_LEN
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && email.chars().all(|c| c.is_ascii_graphic())
            && !email.chars().any(|c| "<>()[]\\,;:\"".contains(c));
        if well_formed {
            Ok(Email(email))
        } else {
            Err(InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name the header greets a shopper by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enter a name of 1 to 80 characters")]
pub struct InvalidName;

impl DisplayName {
    pub fn parse(input: &str) -> Result<DisplayName, InvalidName> {
        let name = input.trim();
        let length = name.chars().count();
        if (1..=80).contains(&length) && !name.chars().any(char::is_control) {
            Ok(DisplayName(name.to_owned()))
        } else {
            Err(InvalidName)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How much of a new password the strength estimator reads. Its cost grows faster
/// than the length on look-alike substitutions (a 128-character password of them
/// costs it about half a second); a prefix this long already tells a strong
/// password from a weak one, and bounds the work an anonymous request can ask for.
pub const STRENGTH_JUDGED_CHARACTERS: usize = 32;

/// A password someone chose for an account: 12 to 128 characters and not easy to
/// guess (judged on its first [`STRENGTH_JUDGED_CHARACTERS`]). Its `Debug` never
/// shows it.
#[derive(Clone)]
pub struct NewPassword(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("use at least 12 characters")]
    TooShort,
    #[error("use at most 128 characters")]
    TooLong,
    #[error("that password is too easy to guess: {0}")]
    Guessable(String),
}

impl NewPassword {
    pub fn parse(input: &str, context: &[&str]) -> Result<NewPassword, WeakPassword> {
        let length = input.chars().count();
        if length < 12 {
            return Err(WeakPassword::TooShort);
        }
        if length > 128 {
            return Err(WeakPassword::TooLong);
        }
        let judged: String = input.chars().take(STRENGTH_JUDGED_CHARACTERS).collect();
        let estimate = zxcvbn::zxcvbn(&judged, context);
        if (estimate.score() as u8) < 3 {
            // The estimator's warning is a sentence ("This is a very common password.");
            // it continues ours, so it starts small and ends without a full stop.
            let advice = estimate
                .feedback()
                .and_then(|feedback| feedback.warning().map(|warning| warning.to_string()))
                .map(|warning| {
                    let warning = warning.trim_end_matches('.');
                    let mut chars = warning.chars();
                    chars
                        .next()
                        .map(|first| first.to_lowercase().chain(chars).collect())
                        .unwrap_or_default()
                })
                .unwrap_or_else(|| "add another word or two; uncommon words are better".to_owned());
            return Err(WeakPassword::Guessable(advice));
        }
        Ok(NewPassword(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Demo@Example.COM ").unwrap().as_str(),
            "demo@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "demo",
            "@example.com",
            "demo@",
            "demo@example",
            "demo@@example.com",
            "de mo@example.com",
            "demo@exa\nmple.com",
            "<script>@example.com",
            "demo@.example.com",
            "demo@example.com\u{200b}",
            "de\u{200b}mo@example.com",
            "dеmo@example.com",
            "demo@exam\u{00a0}ple.com",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
    }

    #[test]
    fn names_keep_markup_characters_but_not_control_ones() {
        assert_eq!(
            DisplayName::parse("<b>Ann</b> & \"Bo\"").unwrap().as_str(),
            "<b>Ann</b> & \"Bo\""
        );
        assert_eq!(DisplayName::parse("   "), Err(InvalidName));
        assert_eq!(DisplayName::parse("A\u{0}B"), Err(InvalidName));
        assert_eq!(DisplayName::parse(&"x".repeat(81)), Err(InvalidName));
    }

    #[test]
    fn the_estimators_advice_reads_as_the_rest_of_our_sentence() {
        let Err(WeakPassword::Guessable(advice)) = NewPassword::parse("password1234", &[]) else {
            panic!("a common password is refused");
        };
        let message = WeakPassword::Guessable(advice).to_string();
        assert!(!message.contains(".."), "{message}");
        assert!(!message.ends_with('.'), "{message}");
        let after_colon = message.split(": ").nth(1).unwrap();
        assert!(after_colon.starts_with(char::is_lowercase), "{message}");
    }

    #[test]
    fn passwords_must_be_long_and_hard_to_guess() {
        assert_eq!(
            NewPassword::parse("short", &[]).unwrap_err(),
            WeakPassword::TooShort
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(129), &[]).unwrap_err(),
            WeakPassword::TooLong
        );
        assert!(matches!(
            NewPassword::parse("password1234", &[]),
            Err(WeakPassword::Guessable(_))
        ));
        assert!(NewPassword::parse("check-my-balance", &[]).is_ok());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let password = NewPassword::parse("tangerine-otter-rides", &[]).unwrap();
        assert!(!format!("{password:?}").contains("tangerine"));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(input in "\\PC{0,300}") {
            let _ = Email::parse(&input);
            let _ = DisplayName::parse(&input);
        }
    }
}
