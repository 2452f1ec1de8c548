//! Settings operators change while the store runs, kept in the `settings` table:
//! the four-eyes approval threshold.

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::sql::{Connection, sql};
use super::{Store, StoreError};
use crate::domain::{Actor, Money};

/// The approval threshold when none is set: grants and upward adjustments above
/// $500.00 wait for a second person.
pub const DEFAULT_APPROVAL_THRESHOLD_CENTS: i64 = 50_000;

const APPROVAL_THRESHOLD: &str = "approval-threshold";

/// The approval threshold in force, read inside the caller's transaction so a
/// change of it and a grant are ordered.
pub(crate) fn approval_threshold_in(connection: &mut dyn Connection) -> Result<Money, StoreError> {
    let value: Option<String> = connection.query_opt(
        sql!("SELECT value FROM settings WHERE name = $1"),
        &[&APPROVAL_THRESHOLD],
        |row| row.get(0),
    )?;
    match value {
        None => Ok(Money::from_cents(DEFAULT_APPROVAL_THRESHOLD_CENTS)),
        Some(cents) => cents
            .parse::<i64>()
            .ok()
            .filter(|cents| *cents >= 0)
            .map(Money::from_cents)
            .ok_or_else(|| StoreError::Corrupt(format!("an approval threshold of {cents:?} cents"))),
    }
}

impl Store {
    /// Grants and upward adjustments above this amount wait for a second person.
    pub fn approval_threshold(&self) -> Result<Money, StoreError> {
        self.read(approval_threshold_in)
    }

    /// Sets the approval threshold, with its audit entry; the threshold before.
    pub fn set_approval_threshold(
        &self,
        actor: &Actor,
        threshold: Money,
        now: OffsetDateTime,
    ) -> Result<Money, StoreError> {
        self.write(|connection| {
            let before = approval_threshold_in(connection)?;
            connection.execute(
                sql!(
                    "INSERT INTO settings (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                ),
                &[&APPROVAL_THRESHOLD, &threshold.cents().to_string()],
            )?;
            audit::record(
                connection,
                actor,
                &Change::new(
                    AuditAction::SettingChange,
                    format!("setting:{APPROVAL_THRESHOLD}"),
                )
                .before(before.to_string())
                .after(threshold.to_string()),
                now,
            )?;
            Ok(before)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestStore, each_engine, tester};

    #[test]
    fn the_threshold_starts_at_500_and_changes_when_set() {
        for TestStore { store, .. } in each_engine() {
            let default = Money::from_cents(DEFAULT_APPROVAL_THRESHOLD_CENTS);
            assert_eq!(store.approval_threshold().unwrap(), default);
            let now = OffsetDateTime::now_utc();
            let before = store
                .set_approval_threshold(&tester(), Money::from_cents(25_000), now)
                .unwrap();
            assert_eq!(before, default);
            assert_eq!(store.approval_threshold().unwrap(), Money::from_cents(25_000));
            let page = store.audit_page(&Default::default(), None, 5).unwrap();
            assert_eq!(page.entries[0].action, "setting.change");
            assert_eq!(page.entries[0].before.as_deref(), Some("$500.00"));
            assert_eq!(page.entries[0].after.as_deref(), Some("$250.00"));
        }
    }
}
