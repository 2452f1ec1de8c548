//! Where a store is kept, as an operator names it: a file (the embedded SQLite
//! engine) or a PostgreSQL URL, which is never shown with its password.

use std::path::{Path, PathBuf};

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
}
