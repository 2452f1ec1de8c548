//! Where to send a shopper after signing in: only ever a path on this site.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Longest `return_to` we honour; longer ones are not links any page of ours makes.
const MAX_LEN: usize = 2048;

/// Characters to escape when a path travels as a query parameter: everything but
/// RFC 3986's unreserved set, so `/help/x` becomes `%2Fhelp%2Fx`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path on this site, safe to put in a `Location` header (SPEC §4): it starts with
/// exactly one `/`, is not `//…` or `/\…`, carries no scheme, backslash, white space
/// or control character, neither as typed nor once percent-decoded, and is plain
/// visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPath(String);

impl LocalPath {
    /// Returns `None` for anything that could leave the site or smuggle a header.
    pub fn parse(candidate: &str) -> Option<LocalPath> {
        if candidate.len() > MAX_LEN || !candidate.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let decoded = percent_decode_str(candidate).decode_utf8().ok()?;
        [candidate, decoded.as_ref()]
            .iter()
            .all(|form| is_single_slash_path(form))
            .then(|| LocalPath(candidate.to_owned()))
    }

    /// The place to go after signing in: `return_to` when it is safe, else `/`.
    pub fn or_home(candidate: Option<&str>) -> LocalPath {
        candidate
            .and_then(LocalPath::parse)
            .unwrap_or_else(|| LocalPath("/".to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The sign-in page that comes back here: `/signin?return_to=%2Fbalance`.
    pub fn signin_url(&self) -> String {
        format!("/signin?return_to={}", utf8_percent_encode(&self.0, QUERY_VALUE))
    }

    /// The console's sign-in form, returning here after (SPEC §8).
    pub fn console_signin_url(&self) -> String {
        format!(
            "/admin/signin?return_to={}",
            utf8_percent_encode(&self.0, QUERY_VALUE)
        )
    }
}

fn is_single_slash_path(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !path
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
        && !path.contains("://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn local_paths_are_honoured() {
        for path in [
            "/",
            "/help/digital-music-credit",
            "/balance",
            "/store/music?page=2",
            "/checkout/7?promo_code=GIFT-20",
        ] {
            assert_eq!(LocalPath::or_home(Some(path)).as_str(), path, "{path}");
        }
    }

    #[test]
    fn hostile_targets_go_home() {
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "http:/evil.example",
            "javascript:alert(1)",
            "/%0d%0aSet-Cookie:x=1",
            "/%0D%0ASet-Cookie:x=1",
            " //evil.example",
            "/\t/evil.example",
            "/\r\nSet-Cookie:x=1",
            "/%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%2f/evil.example",
            "/redirect?to=https://evil.example",
            "evil.example",
            "",
            "/caf\u{e9}",
            "/\u{202e}gro.live",
            "/%ff",
        ] {
            assert_eq!(LocalPath::or_home(Some(hostile)).as_str(), "/", "{hostile:?}");
        }
        assert_eq!(LocalPath::or_home(None).as_str(), "/");
    }

    #[test]
    fn overlong_paths_go_home() {
        let long = format!("/{}", "a".repeat(MAX_LEN));
        assert_eq!(LocalPath::or_home(Some(&long)).as_str(), "/");
    }

    #[test]
    fn the_signin_url_carries_the_path_encoded() {
        let help = LocalPath::parse("/help/digital-music-credit").unwrap();
        assert_eq!(
            help.signin_url(),
            "/signin?return_to=%2Fhelp%2Fdigital-music-credit"
        );
        let balance = LocalPath::parse("/balance").unwrap();
        assert_eq!(balance.signin_url(), "/signin?return_to=%2Fbalance");
    }

    proptest! {
        #[test]
        fn whatever_is_accepted_stays_on_this_site(input in "\\PC{0,60}") {
            if let Some(path) = LocalPath::parse(&input) {
                let s = path.as_str();
                prop_assert!(s.starts_with('/'));
                prop_assert!(!s.starts_with("//"));
                prop_assert!(!s.contains('\\'));
                prop_assert!(s.bytes().all(|b| b.is_ascii_graphic()));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in ".{0,80}") {
            let _ = LocalPath::or_home(Some(&input));
        }
    }
}
