//! Settings for the web server, from flags and `STORECREDIT_*` variables.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use time::Duration;

use crate::clock::Clock;
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

/// Where the data lives, as `--database` / `STORECREDIT_DATABASE` names it: a file
/// path (the embedded SQLite engine) or a `postgres://` / `postgresql://` URL.
/// Any other URL is refused here, before anything is created: opened as a path,
/// it would quietly become a folder named `mysql:` holding an SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    File(PathBuf),
    Postgres(PostgresUrl),
}

/// A PostgreSQL connection URL. It may hold a password, so it is never shown
/// whole: `Display` and `Debug` replace the password with `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL as given, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("postgres", &self.0));
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        // Anything that may be a secret goes: the password, and any query
        // parameter named like one.
        let authority = match authority.rsplit_once('@') {
            Some((user, host)) => match user.split_once(':') {
                Some((name, _)) => format!("{name}:***@{host}"),
                None => format!("{user}@{host}"),
            },
            None => authority.to_owned(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let query: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                        _ => pair.to_owned(),
                    })
                    .collect();
                format!("{path}?{}", query.join("&"))
            }
            None => tail.to_owned(),
        };
        write!(f, "{scheme}://{authority}{tail}")
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

impl std::fmt::Display for DatabaseLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseLocation::File(path) => write!(f, "{}", path.display()),
            DatabaseLocation::Postgres(url) => write!(f, "{url}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsupportedDatabase {
    /// Only the scheme is kept: the rest of a URL may hold a password.
    #[error(
        "`{0}://…` databases are not supported: give --database a file path (such as \
         data/storecredit.db) or a postgres:// URL"
    )]
    Url(String),
    #[error(
        "--database is neither a file path nor a postgres:// URL (give a file path, such as \
         data/storecredit.db, or a URL such as postgres://user:password@host/database)"
    )]
    Unreadable,
    #[error("--database is empty: give it a file path, such as data/storecredit.db")]
    Empty,
}

impl DatabaseLocation {
    pub fn parse(given: &Path) -> Result<DatabaseLocation, UnsupportedDatabase> {
        let text = given.to_string_lossy();
        if text.trim().is_empty() {
            return Err(UnsupportedDatabase::Empty);
        }
        if let Some((scheme, _)) = text.split_once("://") {
            let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if !is_scheme {
                return Err(UnsupportedDatabase::Unreadable);
            }
            let scheme = scheme.to_ascii_lowercase();
            return match (scheme.as_str(), given.to_str()) {
                ("postgres" | "postgresql", Some(url)) => {
                    Ok(DatabaseLocation::Postgres(PostgresUrl(url.to_owned())))
                }
                ("postgres" | "postgresql", None) => Err(UnsupportedDatabase::Unreadable),
                _ => Err(UnsupportedDatabase::Url(scheme)),
            };
        }
        // A URL with a slip in it (`postgres:/…`, `postgres:user:…@host`, `postgres//…`)
        // would otherwise become a file path, the password in it a folder's name.
        let lowered = text.trim_start().to_ascii_lowercase();
        if ["postgres:", "postgresql:", "postgres//", "postgresql//"]
            .iter()
            .any(|start| lowered.starts_with(start))
        {
            return Err(UnsupportedDatabase::Unreadable);
        }
        Ok(DatabaseLocation::File(given.to_path_buf()))
    }
}

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
    /// New accounts per client address.
    pub registrations_per_address: ThrottleRule,
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
            },
            throttle: ThrottleRules::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_path_is_a_database_location() {
        for path in [
            "data/storecredit.db",
            "/var/lib/storecredit.db",
            "shop.db",
            "a:b.db",
        ] {
            let location = DatabaseLocation::parse(Path::new(path)).unwrap();
            assert_eq!(location, DatabaseLocation::File(PathBuf::from(path)));
        }
    }

    #[test]
    fn a_postgres_url_is_a_database_location_shown_without_its_password() {
        for (url, shown) in [
            (
                "postgres://u:secret@localhost/db",
                "postgres://u:***@localhost/db",
            ),
            (
                "postgresql://u:secret@db.example/shop?sslmode=require",
                "postgresql://u:***@db.example/shop?sslmode=require",
            ),
            ("POSTGRES://u@localhost/db", "POSTGRES://u@localhost/db"),
            (
                "postgres://localhost/db?user=u&password=secret",
                "postgres://localhost/db?user=u&password=***",
            ),
        ] {
            let location = DatabaseLocation::parse(Path::new(url)).unwrap();
            assert!(matches!(location, DatabaseLocation::Postgres(_)), "{url}");
            assert_eq!(location.to_string(), shown);
            assert!(!format!("{location:?}").contains("secret"));
        }
    }

    #[test]
    fn another_url_is_refused_naming_only_its_scheme() {
        for (url, scheme) in [
            ("MySQL://u:secret@localhost/db", "mysql"),
            ("sqlite://data/storecredit.db", "sqlite"),
        ] {
            let refused = DatabaseLocation::parse(Path::new(url)).unwrap_err();
            assert_eq!(refused, UnsupportedDatabase::Url(scheme.to_owned()));
            let message = refused.to_string();
            assert!(message.contains("not supported"), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
    }

    #[test]
    fn a_mistyped_postgres_url_is_refused_not_taken_for_a_file() {
        for typed in [
            "postgres:/u:secret@localhost/db",
            "postgres:u:secret@localhost/db",
            "postgres//u:secret@localhost/db",
            "PostgreSQL:/u:secret@localhost/db",
        ] {
            let refused = DatabaseLocation::parse(Path::new(typed)).unwrap_err();
            assert_eq!(refused, UnsupportedDatabase::Unreadable, "{typed}");
            assert!(!refused.to_string().contains("secret"));
        }
        assert!(matches!(
            DatabaseLocation::parse(Path::new("postgres.db")),
            Ok(DatabaseLocation::File(_))
        ));
    }

    #[test]
    fn anything_else_with_a_url_separator_or_nothing_at_all_is_refused() {
        let odd = DatabaseLocation::parse(Path::new("u:secret@host://db")).unwrap_err();
        assert_eq!(odd, UnsupportedDatabase::Unreadable);
        assert!(!odd.to_string().contains("secret"));
        assert_eq!(
            DatabaseLocation::parse(Path::new(" ")).unwrap_err(),
            UnsupportedDatabase::Empty
        );
    }

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
