//! The console's second factor: TOTP as RFC 6238 has it (HMAC-SHA-1, 6 digits,
//! 30-second steps), the codes of an authenticator app, and the QR code that
//! carries a secret to one.

use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds in a time step.
pub const STEP_SECONDS: i64 = 30;

/// Digits in a code.
pub const DIGITS: usize = 6;

/// The issuer an authenticator app shows beside the account.
const ISSUER: &str = "storecredit";

/// A new secret: 20 random bytes (160 bits, as RFC 4226 recommends), as
/// unpadded base32, the way authenticator apps take it.
pub fn new_secret() -> String {
    let mut bytes = [0_u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => unreachable!("to_encoded encodes"),
    }
}

fn totp(secret: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, DIGITS, 0, STEP_SECONDS as u64, bytes).ok()
}

/// The time step `at` falls in.
pub fn step_at(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(STEP_SECONDS)
}

/// The code of `secret` for `step`; `None` for a secret that is not base32 of at
/// least 128 bits.
pub fn code_at_step(secret: &str, step: i64) -> Option<String> {
    let time = u64::try_from(step.checked_mul(STEP_SECONDS)?).ok()?;
    Some(totp(secret)?.generate(time))
}

/// The code of `secret` at `at`.
pub fn code_at(secret: &str, at: OffsetDateTime) -> Option<String> {
    code_at_step(secret, step_at(at))
}

/// The step whose code `typed` is, among the previous, current and next steps at
/// `now` (for clocks a little apart); `None` when it is none of them. Spaces in
/// the typed code are ignored ("123 456"). The newest matching step wins, so a
/// code is never taken for an older step than it could be.
pub fn matching_step(secret: &str, typed: &str, now: OffsetDateTime) -> Option<i64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        let code = code_at_step(secret, step)?;
        if bool::from(code.as_bytes().ct_eq(typed.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URI an authenticator app reads (from the QR code, or pasted).
pub fn otpauth_uri(secret: &str, account: &str) -> String {
    let label = format!("{ISSUER}:{account}");
    let label = percent_encoding::utf8_percent_encode(&label, percent_encoding::NON_ALPHANUMERIC);
    format!(
        "otpauth://totp/{label}?secret={secret}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )
}

/// `text` as a QR code, drawn as an inline SVG element (no XML declaration, no
/// `style` attribute, so the page's Content-Security-Policy lets it show).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    let start = image.find("<svg")?;
    Some(image[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the second-factor secret\" ",
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 test vectors (the key "12345678901234567890"), cut to 6
    /// digits.
    #[test]
    fn the_codes_are_rfc_6238s() {
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(text) => text,
            Secret::Raw(_) => unreachable!(),
        };
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at_step(&secret, time / STEP_SECONDS).unwrap(), code);
        }
    }

    #[test]
    fn a_code_is_found_one_step_either_side_and_no_further() {
        let secret = new_secret();
        let now = OffsetDateTime::now_utc();
        let current = step_at(now);
        for step in [current - 1, current, current + 1] {
            let code = code_at_step(&secret, step).unwrap();
            assert_eq!(matching_step(&secret, &code, now), Some(step));
        }
        for step in [current - 2, current + 2] {
            let code = code_at_step(&secret, step).unwrap();
            let found = matching_step(&secret, &code, now);
            // A code far off only matches when it happens to equal a near one.
            assert!(found.is_none() || code_at_step(&secret, found.unwrap()).unwrap() == code);
        }
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
        assert_eq!(matching_step("not base32!", "123456", now), None);
    }

    #[test]
    fn the_qr_code_is_an_svg_element_without_styles() {
        let svg = qr_svg(&otpauth_uri(&new_secret(), "ann@shop.example")).unwrap();
        assert!(svg.starts_with("<svg "));
        assert!(!svg.contains("style"));
        assert!(!svg.contains("<?xml"));
    }
}
