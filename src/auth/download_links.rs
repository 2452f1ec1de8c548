//! Signed download links of "Your library" (SPEC §9):
//! `/library/{order_id}/download?expires=<unix>&signature=<hex>`.
//!
//! The signature is HMAC-SHA256 in lower-case hex over the account's id, the
//! order's id and `expires`, under a key derived from the server's cookie key
//! (which every server shares through the database, as the device cookies'),
//! so any server checks a link another made. The account is not in the link:
//! the signature is checked against the signed-in shopper, so a link given to
//! (or taken by) another account never verifies. A link lasts [`LIFETIME`].

use actix_web::cookie::Key;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use super::device::{hex, unhex};
use crate::domain::UserId;

type HmacSha256 = Hmac<Sha256>;

/// How long a download link works after the page that showed it was drawn.
pub const LIFETIME: Duration = Duration::minutes(10);

/// How far past [`LIFETIME`] from now a link's expiry may lie (another
/// server's clock may run a little fast); later ones were never made by us.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// What separates the derived key from every other use of the cookie key.
const KEY_PURPOSE: &[u8] = b"storecredit download links v1";

const MAC_BYTES: usize = 32;

/// Makes and checks download links. Built once per server from the cookie key.
#[derive(Clone)]
pub struct DownloadLinks {
    key: [u8; 32],
}

/// What a link's check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkCheck {
    /// Made by a server of this store for this account and order, and current.
    Valid,
    /// Genuine, but its ten minutes are over.
    Expired,
    /// Malformed, altered, made for another account or order, or not by us.
    Invalid,
}

impl DownloadLinks {
    /// `cookie_key`: the server's cookie key (from `Store::session_cookie_key`).
    pub fn new(cookie_key: &Key) -> DownloadLinks {
        let mut derive = HmacSha256::new_from_slice(cookie_key.master()).expect("HMAC takes any key length");
        derive.update(KEY_PURPOSE);
        DownloadLinks {
            key: derive.finalize().into_bytes().into(),
        }
    }

    fn signature(&self, user: UserId, order_id: i64, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("download\0{}\0{order_id}\0{expires}", user.0).as_bytes());
        mac
    }

    /// The path and query of a link for `user` to download order `order_id`,
    /// valid for [`LIFETIME`] from `now`.
    pub fn link(&self, user: UserId, order_id: i64, now: OffsetDateTime) -> String {
        let expires = (now + LIFETIME).unix_timestamp();
        let signature = hex(&self.signature(user, order_id, expires).finalize().into_bytes());
        format!("/library/{order_id}/download?expires={expires}&signature={signature}")
    }

    /// Checks a link's `expires` and `signature` (as they came in the query)
    /// for the signed-in `user` and order `order_id`, in constant time.
    pub fn check(
        &self,
        user: UserId,
        order_id: i64,
        expires: &str,
        signature: &str,
        now: OffsetDateTime,
    ) -> LinkCheck {
        if expires.is_empty() || expires.len() > 12 || !expires.bytes().all(|b| b.is_ascii_digit()) {
            return LinkCheck::Invalid;
        }
        let Ok(expires_at) = expires.parse::<i64>() else {
            return LinkCheck::Invalid;
        };
        // Signed over the decimal as written: "0123" is not the "123" that was signed.
        if expires_at.to_string() != expires {
            return LinkCheck::Invalid;
        }
        let Some(mac) = unhex(signature).filter(|mac| mac.len() == MAC_BYTES) else {
            return LinkCheck::Invalid;
        };
        if self
            .signature(user, order_id, expires_at)
            .verify_slice(&mac)
            .is_err()
        {
            return LinkCheck::Invalid;
        }
        let now = now.unix_timestamp();
        if expires_at > now + (LIFETIME + CLOCK_SKEW).whole_seconds() {
            LinkCheck::Invalid
        } else if now >= expires_at {
            LinkCheck::Expired
        } else {
            LinkCheck::Valid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANN: UserId = UserId(7);
    const BO: UserId = UserId(8);

    fn links() -> DownloadLinks {
        DownloadLinks::new(&Key::generate())
    }

    /// The `expires` and `signature` of a link.
    fn parts(link: &str) -> (String, String) {
        let query = link.split_once('?').unwrap().1;
        let (expires, signature) = query.split_once('&').unwrap();
        (
            expires.strip_prefix("expires=").unwrap().to_owned(),
            signature.strip_prefix("signature=").unwrap().to_owned(),
        )
    }

    #[test]
    fn a_link_it_made_is_valid_for_its_account_and_order_for_ten_minutes() {
        let (links, now) = (links(), OffsetDateTime::now_utc());
        let link = links.link(ANN, 42, now);
        let (expires, signature) = parts(&link);

        assert!(link.starts_with("/library/42/download?expires="), "{link}");
        assert_eq!(links.check(ANN, 42, &expires, &signature, now), LinkCheck::Valid);
        let almost = now + LIFETIME - Duration::seconds(1);
        assert_eq!(
            links.check(ANN, 42, &expires, &signature, almost),
            LinkCheck::Valid
        );
        let over = now + LIFETIME;
        assert_eq!(
            links.check(ANN, 42, &expires, &signature, over),
            LinkCheck::Expired
        );
    }

    #[test]
    fn another_account_order_or_key_never_verifies() {
        let (links, now) = (links(), OffsetDateTime::now_utc());
        let (expires, signature) = parts(&links.link(ANN, 42, now));

        assert_eq!(links.check(BO, 42, &expires, &signature, now), LinkCheck::Invalid);
        assert_eq!(
            links.check(ANN, 43, &expires, &signature, now),
            LinkCheck::Invalid
        );
        assert_eq!(
            self::links().check(ANN, 42, &expires, &signature, now),
            LinkCheck::Invalid
        );
    }

    #[test]
    fn every_altered_character_or_a_later_expiry_is_refused() {
        let (links, now) = (links(), OffsetDateTime::now_utc());
        let (expires, signature) = parts(&links.link(ANN, 42, now));
        for at in 0..signature.len() {
            let mut altered = signature.clone().into_bytes();
            altered[at] = if altered[at] == b'0' { b'1' } else { b'0' };
            let altered = String::from_utf8(altered).unwrap();
            assert_eq!(links.check(ANN, 42, &expires, &altered, now), LinkCheck::Invalid);
        }
        let later = (expires.parse::<i64>().unwrap() + 3600).to_string();
        assert_eq!(links.check(ANN, 42, &later, &signature, now), LinkCheck::Invalid);
    }

    #[test]
    fn malformed_parts_are_refused_without_panicking() {
        let (links, now) = (links(), OffsetDateTime::now_utc());
        let (expires, signature) = parts(&links.link(ANN, 42, now));
        for (expires, signature) in [
            ("", signature.as_str()),
            (&format!("0{expires}"), &signature),
            (&format!("+{expires}"), &signature),
            (&format!("-{expires}"), &signature),
            ("99999999999999999999", &signature),
            (&expires, ""),
            (&expires, &signature.to_uppercase()),
            (&expires, &signature[2..]),
            (&expires, &format!("{signature}00")),
            (&expires, "zz"),
            (&expires, "é"),
        ] {
            assert_eq!(
                links.check(ANN, 42, expires, signature, now),
                LinkCheck::Invalid,
                "{expires:?} {signature:?}"
            );
        }
    }

    #[test]
    fn every_server_with_the_same_cookie_key_agrees() {
        let key = Key::generate();
        let now = OffsetDateTime::now_utc();
        let (expires, signature) = parts(&DownloadLinks::new(&key).link(ANN, 42, now));
        assert_eq!(
            DownloadLinks::new(&key).check(ANN, 42, &expires, &signature, now),
            LinkCheck::Valid
        );
    }
}
