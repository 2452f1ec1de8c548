//! Settings operators change while the store runs, kept in the `settings` table:
//! the four-eyes approval threshold and the support staff's goodwill limits.
//! Each is an amount, stored in cents, read inside the transaction that uses it
//! so a change and a grant are ordered.

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::sql::{Connection, sql};
use super::{Store, StoreError, StoreFailure};
use crate::domain::{Actor, Money};

/// The approval threshold when none is set: grants and upward adjustments above
/// $500.00 wait for a second person.
pub const DEFAULT_APPROVAL_THRESHOLD_CENTS: i64 = 50_000;

/// The most a support staff member may grant as goodwill at once, when not set.
pub const DEFAULT_SUPPORT_GRANT_LIMIT_CENTS: i64 = 2_500;

/// The most a support staff member may grant as goodwill in a day (UTC), when
/// not set.
pub const DEFAULT_SUPPORT_DAY_LIMIT_CENTS: i64 = 10_000;

/// A setting: an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    /// Grants and upward adjustments above it wait for a second person.
    ApprovalThreshold,
    /// The most one support goodwill grant may be.
    SupportGrantLimit,
    /// The most a support staff member may grant as goodwill in a day (UTC).
    SupportDayLimit,
}

impl Setting {
    pub const ALL: [Setting; 3] = [
        Setting::ApprovalThreshold,
        Setting::SupportGrantLimit,
        Setting::SupportDayLimit,
    ];

    /// Its name in the `settings` table, in commands and in the audit trail.
    pub fn name(self) -> &'static str {
        match self {
            Setting::ApprovalThreshold => "approval-threshold",
            Setting::SupportGrantLimit => "support-grant-limit",
            Setting::SupportDayLimit => "support-day-limit",
        }
    }

    /// Its value when none was set.
    pub fn default_value(self) -> Money {
        Money::from_cents(match self {
            Setting::ApprovalThreshold => DEFAULT_APPROVAL_THRESHOLD_CENTS,
            Setting::SupportGrantLimit => DEFAULT_SUPPORT_GRANT_LIMIT_CENTS,
            Setting::SupportDayLimit => DEFAULT_SUPPORT_DAY_LIMIT_CENTS,
        })
    }
}

/// Why settings were not changed; none was.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("the support grant limit ({grant}) cannot be above the support day limit ({day})")]
    GrantAboveDay { grant: Money, day: Money },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for SettingsError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            SettingsError::Store(error) => Some(error),
            SettingsError::GrantAboveDay { .. } => None,
        }
    }
}

/// `setting` as it stands, read inside the caller's transaction.
pub(crate) fn setting_in(connection: &mut dyn Connection, setting: Setting) -> Result<Money, StoreError> {
    let value: Option<String> = connection.query_opt(
        sql!("SELECT value FROM settings WHERE name = $1"),
        &[&setting.name()],
        |row| row.get(0),
    )?;
    match value {
        None => Ok(setting.default_value()),
        Some(cents) => cents
            .parse::<i64>()
            .ok()
            .filter(|cents| *cents >= 0)
            .map(Money::from_cents)
            .ok_or_else(|| StoreError::Corrupt(format!("a {} of {cents:?} cents", setting.name()))),
    }
}

/// The approval threshold in force, read inside the caller's transaction so a
/// change of it and a grant are ordered.
pub(crate) fn approval_threshold_in(connection: &mut dyn Connection) -> Result<Money, StoreError> {
    setting_in(connection, Setting::ApprovalThreshold)
}

impl Store {
    /// Grants and upward adjustments above this amount wait for a second person.
    pub fn approval_threshold(&self) -> Result<Money, StoreError> {
        self.read(approval_threshold_in)
    }

    /// Every setting with its value, in [`Setting::ALL`]'s order.
    pub fn settings(&self) -> Result<Vec<(Setting, Money)>, StoreError> {
        self.read_consistent(|connection| {
            Setting::ALL
                .into_iter()
                .map(|setting| Ok((setting, setting_in(connection, setting)?)))
                .collect()
        })
    }

    /// Sets the approval threshold, with its audit entry; the threshold before.
    pub fn set_approval_threshold(
        &self,
        actor: &Actor,
        threshold: Money,
        now: OffsetDateTime,
    ) -> Result<Money, StoreError> {
        match self.change_settings(actor, &[(Setting::ApprovalThreshold, threshold)], now) {
            Ok(changed) => Ok(changed.first().map_or(threshold, |(_, before, _)| *before)),
            Err(SettingsError::Store(error)) => Err(error),
            Err(refused) => Err(StoreError::Corrupt(refused.to_string())),
        }
    }

    /// Sets each `(setting, value)` in one transaction, with an audit entry
    /// (before and after) for each that changes: those that changed, with
    /// their value before and after. Refused, changing nothing, when the
    /// support grant limit would end above the day limit.
    pub fn change_settings(
        &self,
        actor: &Actor,
        values: &[(Setting, Money)],
        now: OffsetDateTime,
    ) -> Result<Vec<(Setting, Money, Money)>, SettingsError> {
        self.write(|connection| {
            let mut changed = Vec::new();
            for (setting, value) in values {
                let before = setting_in(connection, *setting)?;
                if before == *value {
                    continue;
                }
                connection.execute(
                    sql!(
                        "INSERT INTO settings (name, value) VALUES ($1, $2)
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                    ),
                    &[&setting.name(), &value.cents().to_string()],
                )?;
                audit::record(
                    connection,
                    actor,
                    &Change::new(AuditAction::SettingChange, format!("setting:{}", setting.name()))
                        .before(before.to_string())
                        .after(value.to_string()),
                    now,
                )?;
                changed.push((*setting, before, *value));
            }
            let grant = setting_in(connection, Setting::SupportGrantLimit)?;
            let day = setting_in(connection, Setting::SupportDayLimit)?;
            if grant > day {
                return Err(SettingsError::GrantAboveDay { grant, day });
            }
            Ok(changed)
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

    #[test]
    fn the_support_limits_start_at_25_and_100_and_only_changes_are_recorded() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            assert_eq!(
                store.settings().unwrap(),
                [
                    (Setting::ApprovalThreshold, Money::from_cents(50_000)),
                    (Setting::SupportGrantLimit, Money::from_cents(2_500)),
                    (Setting::SupportDayLimit, Money::from_cents(10_000)),
                ]
            );
            let changed = store
                .change_settings(
                    &tester(),
                    &[
                        (Setting::ApprovalThreshold, Money::from_cents(50_000)),
                        (Setting::SupportGrantLimit, Money::from_cents(3_000)),
                    ],
                    now,
                )
                .unwrap();
            assert_eq!(
                changed,
                [(
                    Setting::SupportGrantLimit,
                    Money::from_cents(2_500),
                    Money::from_cents(3_000)
                )],
                "{}",
                store.engine_name()
            );
            let page = store.audit_page(&Default::default(), None, 5).unwrap();
            assert_eq!(page.entries.len(), 1);
            assert_eq!(page.entries[0].subject, "setting:support-grant-limit");
            assert_eq!(page.entries[0].before.as_deref(), Some("$25.00"));
            assert_eq!(page.entries[0].after.as_deref(), Some("$30.00"));
        }
    }

    #[test]
    fn a_grant_limit_above_the_day_limit_is_refused_and_nothing_changes() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let refused = store.change_settings(
                &tester(),
                &[
                    (Setting::SupportDayLimit, Money::from_cents(2_000)),
                    (Setting::ApprovalThreshold, Money::from_cents(100)),
                ],
                now,
            );
            assert!(
                matches!(refused, Err(SettingsError::GrantAboveDay { .. })),
                "{}",
                store.engine_name()
            );
            assert_eq!(store.settings().unwrap()[0].1, Money::from_cents(50_000));
            assert!(
                store
                    .audit_page(&Default::default(), None, 5)
                    .unwrap()
                    .entries
                    .is_empty()
            );
        }
    }
}
