//! Settings for the web server, from flags and `STORECREDIT_*` variables.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use time::Duration;

use crate::clock::Clock;
pub use crate::store::location::{DatabaseLocation, PostgresUrl, UnsupportedDatabase};
use crate::store::sessions::SessionLifetime;
use crate::store::throttle::ThrottleRule;

/// Where mail goes: an SMTP server, or `.eml` files in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `smtp://…` or `smtps://…` with any credentials; `None` writes files instead.
    pub smtp_url: Option<String>,
    /// The sender, e.g. `storecredit <no-reply@shop.example>`.
    pub from: String,
    /// Where messages are written when there is no SMTP server.
    pub folder: PathBuf,
    /// Whether this server sends what the outbox holds (on by default; off, it
    /// only queues, and another server or `storecredit mail send` sends).
    pub send: bool,
}

/// When the session cookie is marked `Secure` (and named with the `__Host-` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CookieSecurity {
    /// Secure unless the server listens on a loopback address, where plain HTTP
    /// is what a developer uses; any other address is assumed to sit behind HTTPS.
    Auto,
    /// Always secure: the site is only ever reached over HTTPS.
    Always,
    /// Never secure: plain HTTP on a trusted network. Not for the internet.
    Never,
}

impl CookieSecurity {
    pub fn is_secure_for(self, address: SocketAddr) -> bool {
        match self {
            CookieSecurity::Auto => !address.ip().is_loopback(),
            CookieSecurity::Always => true,
            CookieSecurity::Never => false,
        }
    }
}

/// The largest product file the console takes in one upload: 200 MB.
pub const UPLOAD_LIMIT_BYTES: u64 = 200_000_000;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `host:port`; port 0 picks a free port (tests).
    pub bind: String,
    pub database: DatabaseLocation,
    /// Seed the demo catalog, account and codes into an empty database.
    pub seed_demo: bool,
    pub cookie_security: CookieSecurity,
    pub session_lifetime: SessionLifetime,
    pub clock: Clock,
    /// HTTP worker threads; `None` means one per CPU.
    pub workers: Option<usize>,
    /// The reverse proxy whose `X-Forwarded-For` names the client.
    pub trusted_proxy: Option<IpAddr>,
    /// The site's origin as browsers see it, when a proxy rewrites `Host`; also
    /// the start of links in mail (else the listening address).
    pub public_origin: Option<String>,
    /// Where Prometheus metrics are served (`GET /metrics`), apart from the site;
    /// `None` records and serves none.
    pub metrics_bind: Option<String>,
    pub mail: MailSettings,
    /// The folder of the files products deliver ("Your library").
    pub media_dir: PathBuf,
    /// The largest product file the console takes in one upload.
    pub upload_limit_bytes: u64,
    pub throttle: ThrottleRules,
}

/// How many attempts each throttled action allows (SPEC §6). Attempts count when
/// they start; a success takes its count back, so only failures add up (except
/// registrations, which all count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRules {
    /// Sign-ins and current-password checks per account, whether or not the e-mail
    /// belongs to one.
    pub signin_per_account: ThrottleRule,
    /// Sign-ins per client address, across accounts (password spraying).
    pub signin_per_address: ThrottleRule,
    /// Code attempts (`/redeem`, a code typed at checkout) per account.
    pub codes_per_account: ThrottleRule,
    /// Code attempts per client address, across accounts.
    pub codes_per_address: ThrottleRule,
    /// Registrations per client address.
    pub registrations_per_address: ThrottleRule,
    /// Registrations per e-mail typed, whether or not it has an account: each
    /// sends that address a message, so nobody can flood a mailbox with them.
    pub registrations_per_email: ThrottleRule,
    /// "Forgot your password?" requests per e-mail typed.
    pub password_resets_per_account: ThrottleRule,
    /// "Forgot your password?" requests per client address.
    pub password_resets_per_address: ThrottleRule,
}

impl Default for ThrottleRules {
    fn default() -> Self {
        let rule = |max_attempts, window| ThrottleRule { max_attempts, window };
        ThrottleRules {
            signin_per_account: rule(5, Duration::minutes(15)),
            signin_per_address: rule(30, Duration::minutes(15)),
            codes_per_account: rule(10, Duration::minutes(15)),
            codes_per_address: rule(30, Duration::minutes(15)),
            registrations_per_address: rule(10, Duration::hours(1)),
            registrations_per_email: rule(3, Duration::hours(1)),
            password_resets_per_account: rule(3, Duration::hours(1)),
            password_resets_per_address: rule(10, Duration::hours(1)),
        }
    }
}

impl Settings {
    /// The embedded default: `cargo run --release` with no flags.
    pub fn with_database(database: PathBuf) -> Settings {
        Settings::with_location(DatabaseLocation::File(database))
    }

    /// As [`Settings::with_database`], on a database named by its location.
    pub fn with_location(database: DatabaseLocation) -> Settings {
        Settings {
            bind: "127.0.0.1:8080".to_owned(),
            database,
            seed_demo: true,
            cookie_security: CookieSecurity::Auto,
            session_lifetime: SessionLifetime {
                idle: Duration::minutes(30),
                absolute: Duration::hours(12),
            },
            clock: Clock::system(),
            workers: None,
            trusted_proxy: None,
            public_origin: None,
            metrics_bind: None,
            mail: MailSettings {
                smtp_url: None,
                from: "storecredit <no-reply@localhost>".to_owned(),
                folder: PathBuf::from("data/mail"),
                send: true,
            },
            media_dir: PathBuf::from("data/media"),
            upload_limit_bytes: UPLOAD_LIMIT_BYTES,
            throttle: ThrottleRules::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_cookie_security_is_off_only_on_loopback() {
        let loopback: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let v6_loopback: SocketAddr = "[::1]:8080".parse().unwrap();
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert!(!CookieSecurity::Auto.is_secure_for(loopback));
        assert!(!CookieSecurity::Auto.is_secure_for(v6_loopback));
        assert!(CookieSecurity::Auto.is_secure_for(public));
        assert!(CookieSecurity::Always.is_secure_for(loopback));
        assert!(!CookieSecurity::Never.is_secure_for(public));
    }
}
