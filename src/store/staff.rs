//! Staff accounts, their enrolment with a second factor, and their console
//! sessions (SPEC §8).
//!
//! A member is added with a one-time enrolment link (only its hash is kept);
//! enrolling sets the password and turns the TOTP secret on. A role change, a
//! disable or a reset deletes the member's console sessions and moves their
//! `credentials_version` on, so a sign-in in flight cannot open a session that
//! outlives the change.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::audit::{self, AuditAction, Change};
use super::sql::{Connection, Row, page_limit, sql, unix};
use super::{Page, Store, StoreError, StoreFailure};
use crate::domain::{Actor, DisplayName, Email, Role, StaffId, StaffMember};

/// How long an enrolment link works.
pub const ENROLMENT_LIFETIME: Duration = Duration::hours(24);

/// A console session ends after this long without a request…
pub const CONSOLE_IDLE: Duration = Duration::minutes(15);

/// …and this long after sign-in, whatever happens.
pub const CONSOLE_ABSOLUTE: Duration = Duration::hours(12);

/// A new secret token: 43 random letters and digits (about 256 bits).
fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 43)
}

/// What is stored for a token: its SHA-256 (a token is random enough to need no
/// salt), so a copy of the database opens no session and enrols nobody.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A staff member as `staff list` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub member: StaffMember,
    /// A password and a second factor are set.
    pub enrolled: bool,
    pub disabled_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// When they last opened a console session, when known.
    pub last_signin_at: Option<OffsetDateTime>,
}

impl StaffRecord {
    /// "enrolled", "waiting for enrolment" or "disabled".
    pub fn state(&self) -> &'static str {
        match (self.disabled_at.is_some(), self.enrolled) {
            (true, _) => "disabled",
            (false, true) => "enrolled",
            (false, false) => "waiting for enrolment",
        }
    }
}

/// What checking a console sign-in needs: only for an enrolled member who is not
/// disabled.
#[derive(Debug, Clone)]
pub struct StaffSignIn {
    pub member: StaffMember,
    pub password_hash: String,
    pub totp_secret: String,
    pub credentials_version: i64,
}

/// An enrolment link not yet used: who it is for and the secret it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEnrolment {
    pub member: StaffMember,
    pub totp_secret: String,
}

/// An open console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRecord {
    pub member: StaffMember,
    pub csrf_token: String,
}

/// A console session just opened: the cookie's token (only its hash is stored)
/// and the token its forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsoleSession {
    pub token: String,
    pub csrf_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("there is already a staff member with the e-mail {0}")]
    Taken(String),
    #[error("there is no staff member with the e-mail {0}")]
    Unknown(String),
    #[error("{0} is disabled")]
    Disabled(String),
    #[error("{0} is not disabled")]
    NotDisabled(String),
    #[error(
        "{0} is the last enrolled owner who is not disabled: the store must keep one, so add and enrol \
         another owner first"
    )]
    LastOwner(String),
    #[error("you cannot change your own role, disable or reset yourself: ask another owner")]
    OwnAccount,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for StaffError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            StaffError::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// The columns a [`StaffMember`] is read from, prefixed by the table's alias.
macro_rules! member_columns {
    () => {
        "id, email, name, role"
    };
    ($alias:literal) => {
        concat!(
            $alias, ".id, ", $alias, ".email, ", $alias, ".name, ", $alias, ".role"
        )
    };
}

fn member_from(row: &Row<'_>, first: usize) -> Result<StaffMember, StoreError> {
    let role = row.text(first + 3)?;
    Ok(StaffMember {
        id: StaffId(row.get(first)?),
        email: row.get(first + 1)?,
        name: row.get(first + 2)?,
        role: Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("a staff role {role:?}")))?,
    })
}

/// The member with `email`, and whether they are disabled.
fn member_by_email(
    connection: &mut dyn Connection,
    email: &Email,
) -> Result<Option<(StaffMember, bool)>, StoreError> {
    connection.query_opt(
        sql!(concat!(
            "SELECT ",
            member_columns!("s"),
            ", s.disabled_at IS NOT NULL FROM staff s WHERE s.email = $1"
        )),
        &[&email.as_str()],
        |row| Ok((member_from(row, 0)?, row.get::<bool>(4)?)),
    )
}

/// The columns of a [`StaffRecord`] after the member's.
macro_rules! record_columns {
    () => {
        concat!(
            member_columns!("s"),
            ", s.password_hash IS NOT NULL AND s.totp_secret IS NOT NULL, s.disabled_at, s.created_at, \
             s.last_signin_at FROM staff s "
        )
    };
}

fn record_from(row: &Row<'_>) -> Result<StaffRecord, StoreError> {
    Ok(StaffRecord {
        member: member_from(row, 0)?,
        enrolled: row.get(4)?,
        disabled_at: row.optional_instant(5)?,
        created_at: row.instant(6)?,
        last_signin_at: row.optional_instant(7)?,
    })
}

/// Refuses a change of `member` by `actor` themselves, and one that would
/// leave the store without an enabled, enrolled owner (`member` being one, and
/// the only one). Read in the change's transaction: two owners demoting each
/// other at once are ordered (SQLite's one writer; on PostgreSQL each reads
/// the other's row, so SERIALIZABLE runs the second again, which then sees the
/// first's change).
fn refuse_losing_the_last_owner(
    connection: &mut dyn Connection,
    actor: &Actor,
    member: &StaffMember,
) -> Result<(), StaffError> {
    if matches!(actor, Actor::Staff { id, .. } if *id == member.id) {
        return Err(StaffError::OwnAccount);
    }
    if member.role != Role::Owner {
        return Ok(());
    }
    let owners: Vec<i64> = connection.query(
        sql!(
            "SELECT id FROM staff
             WHERE role = 'owner' AND disabled_at IS NULL
               AND password_hash IS NOT NULL AND totp_secret IS NOT NULL"
        ),
        &[],
        |row| row.get(0),
    )?;
    if owners.iter().all(|owner| *owner == member.id.0) && owners.contains(&member.id.0) {
        return Err(StaffError::LastOwner(member.email.clone()));
    }
    Ok(())
}

/// Ends every console session of `staff` now, and makes any sign-in in flight
/// unable to open one.
fn end_sessions(connection: &mut dyn Connection, staff: StaffId) -> Result<(), StoreError> {
    connection.execute(
        sql!("UPDATE staff SET credentials_version = credentials_version + 1 WHERE id = $1"),
        &[&staff.0],
    )?;
    connection.execute(
        sql!("DELETE FROM staff_sessions WHERE staff_id = $1"),
        &[&staff.0],
    )?;
    Ok(())
}

/// A new enrolment for `staff` with `secret`; the member's other links stop
/// working.
fn insert_enrolment(
    connection: &mut dyn Connection,
    staff: StaffId,
    token: &str,
    secret: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    connection.execute(
        sql!("DELETE FROM staff_enrolments WHERE staff_id = $1"),
        &[&staff.0],
    )?;
    connection.execute(
        sql!(
            "INSERT INTO staff_enrolments (token_hash, staff_id, totp_secret, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)"
        ),
        &[
            &token_hash(token),
            &staff.0,
            &secret,
            &unix(now),
            &unix(now + ENROLMENT_LIFETIME),
        ],
    )?;
    Ok(())
}

impl Store {
    /// Adds a staff member who has yet to enrol; the one-time enrolment token
    /// (valid [`ENROLMENT_LIFETIME`]).
    pub fn add_staff(
        &self,
        actor: &Actor,
        email: &Email,
        name: &DisplayName,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<(StaffMember, String), StaffError> {
        let (token, secret) = (new_token(), crate::auth::totp::new_secret());
        let member = self.write(|connection| {
            let id: Option<i64> = connection.query_opt(
                sql!(
                    "INSERT INTO staff (email, name, role, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (email) DO NOTHING RETURNING id"
                ),
                &[&email.as_str(), &name.as_str(), &role.as_str(), &unix(now)],
                |row| row.get(0),
            )?;
            let Some(id) = id else {
                return Err(StaffError::Taken(email.as_str().to_owned()));
            };
            let member = StaffMember {
                id: StaffId(id),
                email: email.as_str().to_owned(),
                name: name.as_str().to_owned(),
                role,
            };
            insert_enrolment(connection, member.id, &token, &secret, now)?;
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::StaffAdd, format!("staff:{}", member.email))
                    .after(format!("{} ({})", member.name, role)),
                now,
            )?;
            Ok(member)
        })?;
        Ok((member, token))
    }

    /// Every staff member, by e-mail.
    pub fn list_staff(&self) -> Result<Vec<StaffRecord>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(concat!("SELECT ", record_columns!(), "ORDER BY s.email")),
                &[],
                record_from,
            )
        })
    }

    /// The member with `email`, whether disabled or not.
    pub fn staff_member(&self, email: &Email) -> Result<Option<StaffMember>, StoreError> {
        Ok(self
            .read(|connection| member_by_email(connection, email))?
            .map(|(member, _)| member))
    }

    /// Gives a member another role; their console sessions end.
    pub fn set_staff_role(
        &self,
        actor: &Actor,
        email: &Email,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<StaffMember, StaffError> {
        self.write(|connection| {
            let Some((member, _)) = member_by_email(connection, email)? else {
                return Err(StaffError::Unknown(email.as_str().to_owned()));
            };
            if role != Role::Owner {
                refuse_losing_the_last_owner(connection, actor, &member)?;
            } else if matches!(actor, Actor::Staff { id, .. } if *id == member.id) {
                return Err(StaffError::OwnAccount);
            }
            connection.execute(
                sql!("UPDATE staff SET role = $2 WHERE id = $1"),
                &[&member.id.0, &role.as_str()],
            )?;
            end_sessions(connection, member.id)?;
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::StaffRole, format!("staff:{}", member.email))
                    .before(member.role.as_str())
                    .after(role.as_str()),
                now,
            )?;
            Ok(StaffMember { role, ..member })
        })
    }

    /// Disables a member: they can no longer sign in or enrol, and their console
    /// sessions end at once. Disabling a disabled member changes nothing.
    pub fn disable_staff(
        &self,
        actor: &Actor,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<StaffMember, StaffError> {
        self.write(|connection| {
            let Some((member, disabled)) = member_by_email(connection, email)? else {
                return Err(StaffError::Unknown(email.as_str().to_owned()));
            };
            if disabled {
                return Err(StaffError::Disabled(member.email));
            }
            refuse_losing_the_last_owner(connection, actor, &member)?;
            connection.execute(
                sql!("UPDATE staff SET disabled_at = $2 WHERE id = $1"),
                &[&member.id.0, &unix(now)],
            )?;
            connection.execute(
                sql!("DELETE FROM staff_enrolments WHERE staff_id = $1"),
                &[&member.id.0],
            )?;
            end_sessions(connection, member.id)?;
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::StaffDisable, format!("staff:{}", member.email))
                    .before("enabled")
                    .after("disabled"),
                now,
            )?;
            Ok(member)
        })
    }

    /// Enables a disabled member again: they sign in with the password and
    /// second factor they had (a member disabled before enrolling needs a
    /// reset for a new link, the old one having ended with the disable).
    pub fn enable_staff(
        &self,
        actor: &Actor,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<StaffRecord, StaffError> {
        self.write(|connection| {
            let Some((member, disabled)) = member_by_email(connection, email)? else {
                return Err(StaffError::Unknown(email.as_str().to_owned()));
            };
            if !disabled {
                return Err(StaffError::NotDisabled(member.email));
            }
            connection.execute(
                sql!("UPDATE staff SET disabled_at = NULL WHERE id = $1"),
                &[&member.id.0],
            )?;
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::StaffEnable, format!("staff:{}", member.email))
                    .before("disabled")
                    .after("enabled"),
                now,
            )?;
            Ok(connection.query_one(
                sql!(concat!("SELECT ", record_columns!(), "WHERE s.id = $1")),
                &[&member.id.0],
                record_from,
            )?)
        })
    }

    /// One staff member by number, whatever their state.
    pub fn staff_by_id(&self, id: StaffId) -> Result<Option<StaffRecord>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(concat!("SELECT ", record_columns!(), "WHERE s.id = $1")),
                &[&id.0],
                record_from,
            )
        })
    }

    /// Staff members, newest first, `size` a page before the member `before`.
    pub fn staff_page(&self, before: Option<i64>, size: usize) -> Result<Page<StaffRecord>, StoreError> {
        let rows = self.read(|connection| {
            connection.query(
                sql!(concat!(
                    "SELECT ",
                    record_columns!(),
                    "WHERE s.id < $1 ORDER BY s.id DESC LIMIT $2"
                )),
                &[&before.unwrap_or(i64::MAX), &page_limit(size)],
                record_from,
            )
        })?;
        Ok(Page::of(rows, size, |record| record.member.id.0))
    }

    /// Starts a member's enrolment over: their password and second factor stop
    /// working at once, their console sessions end, and a new one-time link
    /// (valid [`ENROLMENT_LIFETIME`]) is the token returned.
    pub fn reset_staff(
        &self,
        actor: &Actor,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<String, StaffError> {
        let (token, secret) = (new_token(), crate::auth::totp::new_secret());
        self.write(|connection| {
            let Some((member, disabled)) = member_by_email(connection, email)? else {
                return Err(StaffError::Unknown(email.as_str().to_owned()));
            };
            if disabled {
                return Err(StaffError::Disabled(member.email));
            }
            refuse_losing_the_last_owner(connection, actor, &member)?;
            connection.execute(
                sql!("UPDATE staff SET password_hash = NULL, totp_secret = NULL WHERE id = $1"),
                &[&member.id.0],
            )?;
            end_sessions(connection, member.id)?;
            insert_enrolment(connection, member.id, &token, &secret, now)?;
            audit::record(
                connection,
                actor,
                &Change::new(AuditAction::StaffReset, format!("staff:{}", member.email)).after(format!(
                    "a new enrolment link valid {} hours",
                    ENROLMENT_LIFETIME.whole_hours()
                )),
                now,
            )?;
            Ok(())
        })?;
        Ok(token)
    }

    /// The enrolment `token` opens, while it is unused, unexpired and its member
    /// not disabled.
    pub fn pending_enrolment(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<PendingEnrolment>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(concat!(
                    "SELECT ",
                    member_columns!("s"),
                    ", e.totp_secret FROM staff_enrolments e JOIN staff s ON s.id = e.staff_id
                     WHERE e.token_hash = $1 AND e.used_at IS NULL AND e.expires_at > $2
                       AND s.disabled_at IS NULL"
                )),
                &[&token_hash(token), &unix(now)],
                |row| {
                    Ok(PendingEnrolment {
                        member: member_from(row, 0)?,
                        totp_secret: row.get(4)?,
                    })
                },
            )
        })
    }

    /// Enrols with `token`: the password hash is set and the link's secret turned
    /// on, with `totp_step` (the step of the code the person typed, checked by the
    /// caller against the link's secret) as the last one accepted, so that code
    /// cannot sign in too. `None` when the token is unknown, used, expired, its
    /// secret not `totp_secret`, or the member disabled: nothing changed. Of
    /// several uses of one token at once, one wins.
    pub fn enrol_staff(
        &self,
        token: &str,
        totp_secret: &str,
        password_hash: &str,
        totp_step: i64,
        now: OffsetDateTime,
    ) -> Result<Option<StaffMember>, StoreError> {
        let (hash, at) = (token_hash(token), unix(now));
        self.write(|connection| {
            let spent: Option<i64> = connection.query_opt(
                sql!(
                    "UPDATE staff_enrolments SET used_at = $3
                     WHERE token_hash = $1 AND totp_secret = $2 AND used_at IS NULL AND expires_at > $3
                       AND staff_id IN (SELECT id FROM staff WHERE disabled_at IS NULL)
                     RETURNING staff_id"
                ),
                &[&hash, &totp_secret, &at],
                |row| row.get(0),
            )?;
            let Some(id) = spent else {
                return Ok(None);
            };
            let member = connection.query_one(
                sql!(concat!(
                    "UPDATE staff SET password_hash = $2, totp_secret = $3, last_totp_step = $4
                     WHERE id = $1 RETURNING ",
                    member_columns!()
                )),
                &[&id, &password_hash, &totp_secret, &totp_step],
                |row| member_from(row, 0),
            )?;
            audit::record(
                connection,
                &member.actor(),
                &Change::new(AuditAction::StaffEnrol, format!("staff:{}", member.email))
                    .after("password and second factor set"),
                now,
            )?;
            Ok(Some(member))
        })
    }

    /// What a console sign-in as `email` is checked against: `None` for an
    /// unknown e-mail, a member who has not enrolled and a disabled member.
    pub fn staff_sign_in(&self, email: &Email) -> Result<Option<StaffSignIn>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(concat!(
                    "SELECT ",
                    member_columns!("s"),
                    ", s.password_hash, s.totp_secret, s.credentials_version FROM staff s
                     WHERE s.email = $1 AND s.disabled_at IS NULL
                       AND s.password_hash IS NOT NULL AND s.totp_secret IS NOT NULL"
                )),
                &[&email.as_str()],
                |row| {
                    Ok(StaffSignIn {
                        member: member_from(row, 0)?,
                        password_hash: row.get(4)?,
                        totp_secret: row.get(5)?,
                        credentials_version: row.get(6)?,
                    })
                },
            )
        })
    }

    /// Accepts the TOTP time step `step` for `staff` once: `true` only when it is
    /// newer than every step accepted before (so a code works once, and an older
    /// code after a newer one does not). Atomic: of many at once, one wins.
    pub fn accept_totp_step(&self, staff: StaffId, step: i64) -> Result<bool, StoreError> {
        let changed = self.write(|connection| {
            connection.execute(
                sql!("UPDATE staff SET last_totp_step = $2 WHERE id = $1 AND last_totp_step < $2"),
                &[&staff.0, &step],
            )
        })?;
        Ok(changed == 1)
    }

    /// Opens a console session for `member`, signed in with `credentials_version`;
    /// `None` (nothing opened) when their credentials changed since, or they were
    /// disabled. Records the sign-in.
    pub fn open_console_session(
        &self,
        member: &StaffMember,
        credentials_version: i64,
        now: OffsetDateTime,
    ) -> Result<Option<NewConsoleSession>, StoreError> {
        let session = NewConsoleSession {
            token: new_token(),
            csrf_token: new_token(),
        };
        let hash = token_hash(&session.token);
        let opened = self.write(|connection| {
            let inserted = connection.execute(
                sql!(
                    "INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, credentials_version,
                                                 created_at, idle_expires_at, expires_at)
                     SELECT $1, id, $3, credentials_version, CAST($4 AS BIGINT), CAST($5 AS BIGINT),
                            CAST($6 AS BIGINT) FROM staff
                     WHERE id = $2 AND credentials_version = $7 AND disabled_at IS NULL"
                ),
                &[
                    &hash,
                    &member.id.0,
                    &session.csrf_token,
                    &unix(now),
                    &unix(now + CONSOLE_IDLE),
                    &unix(now + CONSOLE_ABSOLUTE),
                    &credentials_version,
                ],
            )?;
            if inserted == 0 {
                return Ok::<_, StoreError>(false);
            }
            connection.execute(
                sql!("UPDATE staff SET last_signin_at = $2 WHERE id = $1"),
                &[&member.id.0, &unix(now)],
            )?;
            audit::record(
                connection,
                &member.actor(),
                &Change::new(AuditAction::ConsoleSignIn, format!("staff:{}", member.email)),
                now,
            )?;
            Ok(true)
        })?;
        Ok(opened.then_some(session))
    }

    /// The console session `token` opens, and its idle expiry moved to
    /// [`CONSOLE_IDLE`] from `now` (never past its absolute end). `None` once it
    /// was idle too long, is too old, was ended, or its member was disabled or
    /// changed.
    pub fn console_session(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ConsoleSessionRecord>, StoreError> {
        let (hash, at, idle_until) = (token_hash(token), unix(now), unix(now + CONSOLE_IDLE));
        self.write(|connection| {
            let found = connection.query_opt(
                sql!(concat!(
                    "SELECT ",
                    member_columns!("s"),
                    ", t.csrf_token, t.expires_at FROM staff_sessions t JOIN staff s ON s.id = t.staff_id
                     WHERE t.token_hash = $1 AND t.idle_expires_at > $2 AND t.expires_at > $2
                       AND s.disabled_at IS NULL AND s.credentials_version = t.credentials_version
                       AND s.password_hash IS NOT NULL"
                )),
                &[&hash, &at],
                |row| {
                    Ok((
                        ConsoleSessionRecord {
                            member: member_from(row, 0)?,
                            csrf_token: row.get(4)?,
                        },
                        row.get::<i64>(5)?,
                    ))
                },
            )?;
            let Some((session, expires_at)) = found else {
                return Ok(None);
            };
            connection.execute(
                sql!("UPDATE staff_sessions SET idle_expires_at = $2 WHERE token_hash = $1"),
                &[&hash, &idle_until.min(expires_at)],
            )?;
            Ok(Some(session))
        })
    }

    /// Ends the console session `token` opens (signing out), recording it when
    /// there was one.
    pub fn end_console_session(&self, token: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let hash = token_hash(token);
        self.write(|connection| {
            let ended = connection.query_opt(
                sql!("DELETE FROM staff_sessions WHERE token_hash = $1 RETURNING staff_id"),
                &[&hash],
                |row| row.get::<i64>(0),
            )?;
            let Some(staff) = ended else {
                return Ok(false);
            };
            let member = connection.query_one(
                sql!(concat!(
                    "SELECT ",
                    member_columns!("s"),
                    " FROM staff s WHERE s.id = $1"
                )),
                &[&staff],
                |row| member_from(row, 0),
            )?;
            audit::record(
                connection,
                &member.actor(),
                &Change::new(AuditAction::ConsoleSignOut, format!("staff:{}", member.email)),
                now,
            )?;
            Ok(true)
        })
    }

    /// Removes console sessions and enrolment links that can no longer be used;
    /// how many.
    pub fn purge_console_sessions(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let at = unix(now);
        let purged = self.write(|connection| {
            Ok::<_, StoreError>(
                connection.execute(
                    sql!("DELETE FROM staff_sessions WHERE idle_expires_at <= $1 OR expires_at <= $1"),
                    &[&at],
                )? + connection.execute(
                    sql!("DELETE FROM staff_enrolments WHERE expires_at <= $1"),
                    &[&at],
                )?,
            )
        })?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::auth::totp;
    use crate::store::testing::{TestStore, each_engine, tester};

    fn email(text: &str) -> Email {
        Email::parse(text).unwrap()
    }

    fn add(store: &Store, who: &str, role: Role, now: OffsetDateTime) -> (StaffMember, String) {
        store
            .add_staff(
                &tester(),
                &email(who),
                &DisplayName::parse("Ann").unwrap(),
                role,
                now,
            )
            .unwrap()
    }

    /// Adds and enrols a member; their sign-in record.
    fn enrolled(store: &Store, who: &str, role: Role, now: OffsetDateTime) -> StaffSignIn {
        let (_, token) = add(store, who, role, now);
        let pending = store.pending_enrolment(&token, now).unwrap().unwrap();
        let step = totp::step_at(now) - 5;
        store
            .enrol_staff(&token, &pending.totp_secret, "a hash", step, now)
            .unwrap()
            .unwrap();
        store.staff_sign_in(&email(who)).unwrap().unwrap()
    }

    #[test]
    fn an_added_member_enrols_once_with_the_link() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let (member, token) = add(&store, "Ann@Shop.example", Role::Support, now);
            assert_eq!(member.email, "ann@shop.example");
            assert!(store.staff_sign_in(&email("ann@shop.example")).unwrap().is_none());
            let pending = store.pending_enrolment(&token, now).unwrap().unwrap();
            assert_eq!(pending.member, member);
            assert!(
                store
                    .enrol_staff(&token, "ANOTHERSECRET", "h", 1, now)
                    .unwrap()
                    .is_none()
            );
            let enrolled = store
                .enrol_staff(&token, &pending.totp_secret, "h", 1, now)
                .unwrap();
            assert_eq!(enrolled, Some(member.clone()));
            assert!(
                store
                    .enrol_staff(&token, &pending.totp_secret, "h2", 2, now)
                    .unwrap()
                    .is_none()
            );
            assert!(store.pending_enrolment(&token, now).unwrap().is_none());
            let record = store.staff_sign_in(&email("ann@shop.example")).unwrap().unwrap();
            assert_eq!(record.password_hash, "h");
            assert_eq!(record.totp_secret, pending.totp_secret);
            let taken = store.add_staff(
                &tester(),
                &email("ANN@shop.example"),
                &DisplayName::parse("Ann").unwrap(),
                Role::Owner,
                now,
            );
            assert!(
                matches!(taken, Err(StaffError::Taken(_))),
                "{}",
                store.engine_name()
            );
        }
    }

    #[test]
    fn an_enrolment_link_expires_after_a_day() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let (_, token) = add(&store, "ann@shop.example", Role::Support, now);
            let secret = store.pending_enrolment(&token, now).unwrap().unwrap().totp_secret;
            let late = now + ENROLMENT_LIFETIME;
            assert!(store.pending_enrolment(&token, late).unwrap().is_none());
            assert!(
                store
                    .enrol_staff(&token, &secret, "h", 1, late)
                    .unwrap()
                    .is_none()
            );
        }
    }

    #[test]
    fn an_enrolment_link_used_many_times_at_once_enrols_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let (_, token) = add(&store, "ann@shop.example", Role::Support, now);
            let secret = store.pending_enrolment(&token, now).unwrap().unwrap().totp_secret;
            const USES: usize = 8;
            let start = Barrier::new(USES);
            let winners = std::thread::scope(|scope| {
                let uses: Vec<_> = (0..USES)
                    .map(|i| {
                        let (store, start, token, secret) = (&store, &start, &token, &secret);
                        scope.spawn(move || {
                            start.wait();
                            store
                                .enrol_staff(token, secret, &format!("hash {i}"), 1, now)
                                .unwrap()
                                .is_some()
                        })
                    })
                    .collect();
                uses.into_iter()
                    .map(|u| u.join().unwrap())
                    .filter(|won| *won)
                    .count()
            });
            assert_eq!(winners, 1, "{}", store.engine_name());
        }
    }

    #[test]
    fn a_totp_step_is_accepted_once_and_never_an_older_one() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let record = enrolled(&store, "ann@shop.example", Role::Support, now);
            let step = totp::step_at(now);
            assert!(store.accept_totp_step(record.member.id, step).unwrap());
            assert!(!store.accept_totp_step(record.member.id, step).unwrap());
            assert!(!store.accept_totp_step(record.member.id, step - 1).unwrap());
            assert!(store.accept_totp_step(record.member.id, step + 1).unwrap());
        }
    }

    #[test]
    fn one_totp_step_offered_many_times_at_once_is_accepted_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let record = enrolled(&store, "ann@shop.example", Role::Support, now);
            let step = totp::step_at(now);
            const TRIES: usize = 10;
            let start = Barrier::new(TRIES);
            let accepted = std::thread::scope(|scope| {
                let tries: Vec<_> = (0..TRIES)
                    .map(|_| {
                        let (store, start, id) = (&store, &start, record.member.id);
                        scope.spawn(move || {
                            start.wait();
                            store.accept_totp_step(id, step).unwrap()
                        })
                    })
                    .collect();
                tries
                    .into_iter()
                    .map(|t| t.join().unwrap())
                    .filter(|won| *won)
                    .count()
            });
            assert_eq!(accepted, 1, "{}", store.engine_name());
        }
    }

    #[test]
    fn a_session_lasts_fifteen_idle_minutes_and_twelve_hours_at_most() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let record = enrolled(&store, "ann@shop.example", Role::Manager, now);
            let opened = store
                .open_console_session(&record.member, record.credentials_version, now)
                .unwrap()
                .unwrap();
            let session = store.console_session(&opened.token, now).unwrap().unwrap();
            assert_eq!(session.member, record.member);
            assert_eq!(session.csrf_token, opened.csrf_token);
            // Used every 14 minutes it lives on, up to 12 hours.
            let mut at = now;
            while at + Duration::minutes(14) < now + CONSOLE_ABSOLUTE {
                at += Duration::minutes(14);
                assert!(store.console_session(&opened.token, at).unwrap().is_some());
            }
            assert!(
                store
                    .console_session(&opened.token, now + CONSOLE_ABSOLUTE)
                    .unwrap()
                    .is_none()
            );
            let other = store
                .open_console_session(&record.member, record.credentials_version, now)
                .unwrap()
                .unwrap();
            assert!(
                store
                    .console_session(&other.token, now + CONSOLE_IDLE)
                    .unwrap()
                    .is_none()
            );
            assert!(store.console_session("not a token", now).unwrap().is_none());
        }
    }

    #[test]
    fn a_role_change_a_disable_and_a_reset_end_the_members_sessions() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let record = enrolled(&store, "ann@shop.example", Role::Manager, now);
            let ann = email("ann@shop.example");
            type Change = fn(&Store, &Email, OffsetDateTime);
            let changes: [Change; 3] = [
                |store, ann, now| {
                    store.set_staff_role(&tester(), ann, Role::Support, now).unwrap();
                },
                |store, ann, now| {
                    store.reset_staff(&tester(), ann, now).unwrap();
                },
                |store, ann, now| {
                    store.disable_staff(&tester(), ann, now).unwrap();
                },
            ];
            for change in changes {
                let version = store
                    .read(|c| {
                        c.query_value::<i64>(
                            sql!("SELECT credentials_version FROM staff WHERE id = $1"),
                            &[&record.member.id.0],
                        )
                    })
                    .unwrap();
                let opened = store.open_console_session(&record.member, version, now).unwrap();
                // After a reset the member has no password: no sign-in is possible,
                // yet a session opened in flight must still end.
                let opened = opened.unwrap();
                change(&store, &ann, now);
                assert!(
                    store.console_session(&opened.token, now).unwrap().is_none(),
                    "{}",
                    store.engine_name()
                );
                // A sign-in checked before the change cannot open a session after it.
                assert!(
                    store
                        .open_console_session(&record.member, version, now)
                        .unwrap()
                        .is_none()
                );
            }
            assert!(store.staff_sign_in(&ann).unwrap().is_none());
            let listed = store.list_staff().unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].member.role, Role::Support);
            assert!(!listed[0].enrolled);
            assert!(listed[0].disabled_at.is_some());
        }
    }

    #[test]
    fn a_reset_gives_a_new_link_and_the_old_credentials_stop_working() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            enrolled(&store, "bob@shop.example", Role::Owner, now);
            let before = enrolled(&store, "ann@shop.example", Role::Owner, now);
            let token = store
                .reset_staff(&tester(), &email("ann@shop.example"), now)
                .unwrap();
            assert!(store.staff_sign_in(&email("ann@shop.example")).unwrap().is_none());
            let pending = store.pending_enrolment(&token, now).unwrap().unwrap();
            assert_ne!(pending.totp_secret, before.totp_secret);
            let unknown = store.reset_staff(&tester(), &email("cat@shop.example"), now);
            assert!(matches!(unknown, Err(StaffError::Unknown(_))));
        }
    }

    #[test]
    fn only_the_hashes_of_tokens_are_stored() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let record = enrolled(&store, "ann@shop.example", Role::Owner, now);
            let opened = store
                .open_console_session(&record.member, record.credentials_version, now)
                .unwrap()
                .unwrap();
            let stored: String = store
                .read(|c| c.query_value(sql!("SELECT token_hash FROM staff_sessions"), &[]))
                .unwrap();
            assert_eq!(stored, token_hash(&opened.token));
            assert!(store.end_console_session(&opened.token, now).unwrap());
            assert!(!store.end_console_session(&opened.token, now).unwrap());
            assert!(store.console_session(&opened.token, now).unwrap().is_none());
        }
    }

    #[test]
    fn the_last_enrolled_owner_cannot_be_demoted_disabled_or_reset() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = enrolled(&store, "ann@shop.example", Role::Owner, now);
            // An owner who has not enrolled does not count.
            add(&store, "bob@shop.example", Role::Owner, now);
            let who = email("ann@shop.example");
            assert!(matches!(
                store.set_staff_role(&tester(), &who, Role::Manager, now),
                Err(StaffError::LastOwner(_))
            ));
            assert!(matches!(
                store.disable_staff(&tester(), &who, now),
                Err(StaffError::LastOwner(_))
            ));
            assert!(matches!(
                store.reset_staff(&tester(), &who, now),
                Err(StaffError::LastOwner(_))
            ));
            assert!(
                store.staff_sign_in(&who).unwrap().is_some(),
                "{}",
                store.engine_name()
            );
            // With a second enrolled owner, the first may go.
            enrolled(&store, "cat@shop.example", Role::Owner, now);
            store.set_staff_role(&tester(), &who, Role::Manager, now).unwrap();
            assert_eq!(store.staff_member(&who).unwrap().unwrap().role, Role::Manager);
            // Nobody changes their own role or disables themselves.
            let cat = store.staff_member(&email("cat@shop.example")).unwrap().unwrap();
            assert!(matches!(
                store.disable_staff(&cat.actor(), &email("cat@shop.example"), now),
                Err(StaffError::OwnAccount)
            ));
            let _ = ann;
        }
    }

    #[test]
    fn two_owners_demoting_each_other_at_once_leave_one_owner() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = enrolled(&store, "ann@shop.example", Role::Owner, now).member;
            let bob = enrolled(&store, "bob@shop.example", Role::Owner, now).member;
            for round in 0..4 {
                let start = Barrier::new(2);
                let outcomes: Vec<bool> = std::thread::scope(|scope| {
                    let changes: Vec<_> = [(&ann, &bob), (&bob, &ann)]
                        .into_iter()
                        .map(|(by, whom)| {
                            let (store, start) = (&store, &start);
                            scope.spawn(move || {
                                start.wait();
                                let whom = email(&whom.email);
                                match round % 2 {
                                    0 => store
                                        .set_staff_role(&by.actor(), &whom, Role::Manager, now)
                                        .is_ok(),
                                    _ => store.disable_staff(&by.actor(), &whom, now).is_ok(),
                                }
                            })
                        })
                        .collect();
                    changes.into_iter().map(|c| c.join().unwrap()).collect()
                });
                assert_eq!(
                    outcomes.iter().filter(|done| **done).count(),
                    1,
                    "{}",
                    store.engine_name()
                );
                let owners: Vec<_> = store
                    .list_staff()
                    .unwrap()
                    .into_iter()
                    .filter(|r| r.member.role == Role::Owner && r.disabled_at.is_none() && r.enrolled)
                    .collect();
                assert_eq!(owners.len(), 1, "{}", store.engine_name());
                // Back to two owners for the next round.
                for who in ["ann@shop.example", "bob@shop.example"] {
                    let _ = store.enable_staff(&tester(), &email(who), now);
                    let _ = store.set_staff_role(&tester(), &email(who), Role::Owner, now);
                }
            }
        }
    }

    #[test]
    fn a_disabled_member_is_enabled_again_and_signs_in_as_before() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            enrolled(&store, "boss@shop.example", Role::Owner, now);
            let ann = enrolled(&store, "ann@shop.example", Role::Support, now);
            let who = email("ann@shop.example");
            assert!(matches!(
                store.enable_staff(&tester(), &who, now),
                Err(StaffError::NotDisabled(_))
            ));
            store.disable_staff(&tester(), &who, now).unwrap();
            assert!(store.staff_sign_in(&who).unwrap().is_none());
            let record = store.enable_staff(&tester(), &who, now).unwrap();
            assert_eq!(record.state(), "enrolled", "{}", store.engine_name());
            let again = store.staff_sign_in(&who).unwrap().unwrap();
            assert_eq!(again.password_hash, ann.password_hash);
            let trail = store.audit_page(&Default::default(), None, 2).unwrap().entries;
            assert_eq!(trail[0].action, "staff.enable");
            assert_eq!(trail[0].actor, tester().to_string());
        }
    }

    #[test]
    fn a_console_sign_in_is_remembered_as_the_last_one() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
            let ann = enrolled(&store, "ann@shop.example", Role::Support, now);
            assert_eq!(
                store.staff_by_id(ann.member.id).unwrap().unwrap().last_signin_at,
                None
            );
            store
                .open_console_session(&ann.member, ann.credentials_version, now)
                .unwrap()
                .unwrap();
            let record = store.staff_by_id(ann.member.id).unwrap().unwrap();
            assert_eq!(record.last_signin_at, Some(now), "{}", store.engine_name());
            let page = store.staff_page(None, 20).unwrap();
            assert_eq!(page.entries, [record]);
            assert_eq!(page.older, None);
        }
    }
}
