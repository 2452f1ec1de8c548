//! Device cookies (SPEC §9 "Being locked out by someone else"; OWASP's "slow down
//! online guessing with device cookies"): a browser that proved an account's
//! password, or read its mailbox, carries a signed cookie for that account, and
//! its attempts count against that cookie instead of the account's shared count.
//! So strangers' failures never pause the owner's own browser.
//!
//! One cookie per account, named `storecredit-device-<tag>` (`__Host-` prefixed
//! when cookies are `Secure`), where `<tag>` is a keyed hash of the account's
//! e-mail, so the name does not show the address and a browser may hold cookies
//! for several accounts. Its value is `<issued>.<nonce>.<mac>`:
//!
//! - `issued`: when it was given, in Unix seconds; a cookie older than
//!   [`LIFETIME`] (or from the future) is not trusted;
//! - `nonce`: 16 random bytes in lower-case hex, the counter's name;
//! - `mac`: HMAC-SHA256 in lower-case hex over the account's e-mail, `issued` and
//!   `nonce`, under a key derived from the server's cookie key (which every server
//!   shares through the database), so a cookie cannot be forged, altered, or moved
//!   to another account.
//!
//! Anything else under that name is simply not trusted: the attempt is counted
//! against the account, as any untrusted client's.

use actix_web::cookie::{Cookie, Key, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::error::AppError;
use crate::store::throttle::Subject;

type HmacSha256 = Hmac<Sha256>;

/// How long a device cookie lasts, in the browser and on the server.
pub const LIFETIME: Duration = Duration::days(365);

/// How far ahead of this server's clock a cookie's issue time may be (another
/// server's clock may run a little fast).
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// What separates the derived key from every other use of the cookie key.
const KEY_PURPOSE: &[u8] = b"storecredit device cookies v1";

const NONCE_BYTES: usize = 16;
const MAC_BYTES: usize = 32;
/// How many bytes of the keyed hash of the e-mail name the cookie.
const TAG_BYTES: usize = 12;

/// Issues and recognises device cookies. Built once per server from the cookie
/// key, beside the session middleware.
#[derive(Clone)]
pub struct DeviceCookies {
    key: [u8; 32],
    secure: bool,
}

/// A browser's valid device cookie for one account: what its attempts are
/// counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    nonce: String,
}

impl Device {
    /// The counter of this browser's sign-ins and current-password checks.
    pub fn sign_in_subject(&self) -> Subject {
        Subject(format!("device:{}", self.nonce))
    }

    /// The counter of this browser's "Forgot your password?" requests.
    pub fn reset_subject(&self) -> Subject {
        Subject(format!("reset-device:{}", self.nonce))
    }
}

impl DeviceCookies {
    /// `cookie_key`: the server's cookie key (from `Store::session_cookie_key`);
    /// `secure`: the cookie is `Secure` and `__Host-` prefixed, like the session's.
    pub fn new(cookie_key: &Key, secure: bool) -> DeviceCookies {
        let mut derive = HmacSha256::new_from_slice(cookie_key.master()).expect("HMAC takes any key length");
        derive.update(KEY_PURPOSE);
        DeviceCookies {
            key: derive.finalize().into_bytes().into(),
            secure,
        }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// The cookie's name for the account with `email`.
    pub fn name_for(&self, email: &str) -> String {
        let mut mac = self.mac();
        mac.update(b"name\0");
        mac.update(account_key(email).as_bytes());
        let tag = mac.finalize().into_bytes();
        let prefix = if self.secure { "__Host-" } else { "" };
        format!("{prefix}storecredit-device-{}", hex(&tag[..TAG_BYTES]))
    }

    fn signature(&self, email: &str, issued: i64, nonce: &str) -> HmacSha256 {
        let mut mac = self.mac();
        mac.update(b"device\0");
        mac.update(account_key(email).as_bytes());
        mac.update(b"\0");
        mac.update(issued.to_string().as_bytes());
        mac.update(b"\0");
        mac.update(nonce.as_bytes());
        mac
    }

    /// A new device cookie for the account with `email`, with a new nonce.
    pub fn issue(&self, email: &str, now: OffsetDateTime) -> Cookie<'static> {
        let nonce = hex(&rand::random::<[u8; NONCE_BYTES]>());
        let issued = now.unix_timestamp();
        let mac = hex(&self.signature(email, issued, &nonce).finalize().into_bytes());
        Cookie::build(self.name_for(email), format!("{issued}.{nonce}.{mac}"))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .max_age(LIFETIME)
            .finish()
    }

    /// The device a cookie value stands for, when the server signed it for the
    /// account with `email` within [`LIFETIME`].
    pub fn verify(&self, email: &str, value: &str, now: OffsetDateTime) -> Option<Device> {
        let mut parts = value.split('.');
        let (issued_text, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || issued_text.is_empty()
            || issued_text.len() > 12
            || !issued_text.bytes().all(|b| b.is_ascii_digit())
            || nonce.len() != NONCE_BYTES * 2
            || !is_lower_hex(nonce)
        {
            return None;
        }
        let mac = unhex(mac).filter(|mac| mac.len() == MAC_BYTES)?;
        let issued: i64 = issued_text.parse().ok()?;
        // Signed over the decimal as typed: "0123" is not the "123" that was signed.
        if issued.to_string() != issued_text {
            return None;
        }
        self.signature(email, issued, nonce).verify_slice(&mac).ok()?;
        let age = now - OffsetDateTime::from_unix_timestamp(issued).ok()?;
        (age >= -CLOCK_SKEW && age < LIFETIME).then(|| Device {
            nonce: nonce.to_owned(),
        })
    }

    /// The request's valid device cookie for the account with `email`, if any.
    pub fn recognise(&self, request: &HttpRequest, email: &str, now: OffsetDateTime) -> Option<Device> {
        let name = self.name_for(email);
        let cookies = request.cookies().ok()?;
        cookies
            .iter()
            .filter(|cookie| cookie.name() == name)
            .find_map(|cookie| self.verify(email, cookie.value(), now))
    }

    /// Adds a new device cookie for the account with `email` to `response`.
    pub fn remember(
        &self,
        response: &mut HttpResponse,
        email: &str,
        now: OffsetDateTime,
    ) -> Result<(), AppError> {
        response
            .add_cookie(&self.issue(email, now))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot set the device cookie: {e}")))
    }
}

/// The request's valid device cookie for the account with `email` (as typed:
/// trimmed and lower-cased before it is compared), if it has one.
pub fn recognised(request: &HttpRequest, email: &str) -> Option<Device> {
    let (devices, clock) = configured(request).ok()?;
    devices.recognise(request, email, clock.now())
}

/// Gives the browser that receives `response` a device cookie for the account
/// with `email`: call it when that browser has just proved it is the account's
/// owner (the password at sign-in, a reset link or a confirmation link from the
/// mailbox). Failed sign-ins from elsewhere then never pause that browser.
pub fn remember(request: &HttpRequest, response: &mut HttpResponse, email: &str) -> Result<(), AppError> {
    let (devices, clock) = configured(request)?;
    devices.remember(response, email, clock.now())
}

fn configured(request: &HttpRequest) -> Result<(&DeviceCookies, &Clock), AppError> {
    let devices = request
        .app_data::<web::Data<DeviceCookies>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("device cookies are not configured")))?;
    let clock = request
        .app_data::<web::Data<Clock>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the clock is not configured")))?;
    Ok((devices.get_ref(), clock.get_ref()))
}

/// The browser a request came from, as its `User-Agent` says (raw: the mail that
/// shows it makes it safe), at most 512 bytes of it.
pub fn user_agent(request: &HttpRequest) -> String {
    request
        .headers()
        .get(header::USER_AGENT)
        .map(|value| {
            let bytes = value.as_bytes();
            String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned()
        })
        .unwrap_or_default()
}

/// An e-mail as an account's key: trimmed and lower-cased, as `Email::parse`
/// and the throttles keep it.
fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !is_lower_hex(text) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices() -> DeviceCookies {
        DeviceCookies::new(&Key::generate(), false)
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn a_cookie_it_issued_is_recognised_for_its_account_as_typed() {
        let devices = devices();
        let cookie = devices.issue("ann@example.com", now());
        let device = devices.verify(" Ann@Example.COM ", cookie.value(), now());
        assert!(device.is_some());
        assert_eq!(cookie.name(), devices.name_for("  ANN@example.com"));
    }

    #[test]
    fn the_cookie_is_http_only_lax_for_the_whole_site_and_lasts_a_year() {
        let cookie = devices().issue("ann@example.com", now());
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.secure(), Some(false));
        assert_eq!(cookie.max_age(), Some(LIFETIME));
        assert!(cookie.name().starts_with("storecredit-device-"));
    }

    #[test]
    fn a_secure_cookie_carries_the_host_prefix() {
        let devices = DeviceCookies::new(&Key::generate(), true);
        let cookie = devices.issue("ann@example.com", now());
        assert!(cookie.name().starts_with("__Host-storecredit-device-"));
        assert_eq!(cookie.secure(), Some(true));
        assert!(devices.verify("ann@example.com", cookie.value(), now()).is_some());
    }

    #[test]
    fn the_name_hides_the_address_and_differs_per_account() {
        let devices = devices();
        let ann = devices.name_for("ann@example.com");
        assert!(!ann.contains("ann") && !ann.contains("example"), "{ann}");
        assert_ne!(ann, devices.name_for("bo@example.com"));
        // Another server key names it differently: the name is keyed, not a bare hash.
        assert_ne!(ann, self::devices().name_for("ann@example.com"));
    }

    #[test]
    fn each_cookie_has_a_nonce_of_its_own() {
        let devices = devices();
        let (first, second) = (
            devices.issue("ann@example.com", now()),
            devices.issue("ann@example.com", now()),
        );
        let (one, two) = (
            devices.verify("ann@example.com", first.value(), now()).unwrap(),
            devices.verify("ann@example.com", second.value(), now()).unwrap(),
        );
        assert_ne!(one, two);
        assert_ne!(one.sign_in_subject(), one.reset_subject());
    }

    #[test]
    fn a_cookie_for_another_account_is_not_trusted() {
        let devices = devices();
        let bo = devices.issue("bo@example.com", now());
        assert_eq!(devices.verify("ann@example.com", bo.value(), now()), None);
    }

    #[test]
    fn a_cookie_signed_by_another_key_is_not_trusted() {
        let forged = devices().issue("ann@example.com", now());
        assert_eq!(devices().verify("ann@example.com", forged.value(), now()), None);
    }

    #[test]
    fn every_altered_character_makes_it_untrusted() {
        let devices = devices();
        let value = devices.issue("ann@example.com", now()).value().to_owned();
        for at in 0..value.len() {
            let mut altered = value.clone().into_bytes();
            altered[at] = match altered[at] {
                b'.' => b'0',
                b'0' => b'1',
                _ => b'0',
            };
            let altered = String::from_utf8(altered).unwrap();
            assert_eq!(
                devices.verify("ann@example.com", &altered, now()),
                None,
                "{altered}"
            );
        }
    }

    #[test]
    fn malformed_values_are_not_trusted_and_do_not_panic() {
        let devices = devices();
        let valid = devices.issue("ann@example.com", now()).value().to_owned();
        let (issued, rest) = valid.split_once('.').unwrap();
        let upper = valid.to_uppercase();
        for value in [
            "",
            ".",
            "..",
            "...",
            "garbage",
            "1.2.3",
            &format!("{valid}.extra"),
            &format!("0{valid}"),
            &format!("-{valid}"),
            &format!("+{valid}"),
            &format!("99999999999999999999.{rest}"),
            &format!("{issued}.{rest}0"),
            &upper,
            &format!("{issued}.é{}", &rest[2..]),
            "\u{0}\u{0}.\u{0}",
        ] {
            assert_eq!(devices.verify("ann@example.com", value, now()), None, "{value:?}");
        }
    }

    #[test]
    fn a_cookie_lasts_a_year_and_none_comes_from_the_future() {
        let devices = devices();
        let issued = now();
        let cookie = devices.issue("ann@example.com", issued);
        let verify = |at| devices.verify("ann@example.com", cookie.value(), at);
        assert!(verify(issued + LIFETIME - Duration::minutes(1)).is_some());
        assert_eq!(verify(issued + LIFETIME + Duration::seconds(1)), None);
        assert!(verify(issued - Duration::minutes(1)).is_some(), "a little skew");
        assert_eq!(verify(issued - Duration::hours(1)), None);
    }

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_lower_case_hex() {
        assert_eq!(unhex(&hex(&[0, 1, 0xab, 0xff])), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("AB"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("+1"), None);
    }
}
