//! The people who run the store: their roles and what each role may do (SPEC §8).

use std::fmt;

use super::actor::{Actor, StaffId};

/// A staff member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Support,
    Finance,
    Manager,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Support, Role::Finance, Role::Manager, Role::Owner];

    /// The role's name in commands, the database and pages: `support`, `finance`,
    /// `manager`, `owner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Support => "support",
            Role::Finance => "finance",
            Role::Manager => "manager",
            Role::Owner => "owner",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether this role may do what `permission` covers: SPEC §8's table, in one
    /// place.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            ViewCustomers => true,
            UnlockAndReset | GoodwillGrant => matches!(self, Support | Manager | Owner),
            ManageCredits | ManageCodes | Refund | Approve | Catalog => matches!(self, Manager | Owner),
            Reports | Audit => matches!(self, Finance | Manager | Owner),
            ManageStaff | Settings => self == Owner,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a console route needs (the rows of SPEC §8's roles table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Find customers; see their credits, ledgers, orders; see codes and orders.
    ViewCustomers,
    /// Unlock an account; send a password-reset link.
    UnlockAndReset,
    /// Grant goodwill credit (support within its limits; managers and owners
    /// without them, up to the approval threshold).
    GoodwillGrant,
    /// Grant, adjust and revoke any credit.
    ManageCredits,
    /// Create, deactivate and reactivate codes.
    ManageCodes,
    /// Refund an order, whole or in part.
    Refund,
    /// Approve or reject another person's request (four eyes).
    Approve,
    /// Reports and exports.
    Reports,
    /// The audit trail.
    Audit,
    /// Categories and products.
    Catalog,
    /// Staff accounts.
    ManageStaff,
    /// The store's settings: the approval threshold and the support limits.
    /// Not a row of SPEC §8's table: only an owner may loosen four eyes.
    Settings,
}

impl Permission {
    /// What a person is told a 403 was missing: "refund orders".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ViewCustomers => "see customers",
            Permission::UnlockAndReset => "unlock accounts and send reset links",
            Permission::GoodwillGrant => "grant goodwill credit",
            Permission::ManageCredits => "grant, adjust and revoke credit",
            Permission::ManageCodes => "create and switch codes",
            Permission::Refund => "refund orders",
            Permission::Approve => "approve requests",
            Permission::Reports => "see reports and download lists",
            Permission::Audit => "read the audit trail",
            Permission::Catalog => "change categories and products",
            Permission::ManageStaff => "manage staff accounts",
            Permission::Settings => "change the store's settings",
        }
    }
}

/// A signed-in staff member as the console knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: StaffId,
    pub email: String,
    pub name: String,
    pub role: Role,
}

impl StaffMember {
    /// The member as the actor of a change.
    pub fn actor(&self) -> Actor {
        Actor::Staff {
            id: self.id,
            email: self.email.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_table_of_the_spec_holds() {
        use Permission::*;
        let may = |role: Role| -> Vec<Permission> {
            [
                ViewCustomers,
                UnlockAndReset,
                GoodwillGrant,
                ManageCredits,
                ManageCodes,
                Refund,
                Approve,
                Reports,
                Audit,
                Catalog,
                ManageStaff,
                Settings,
            ]
            .into_iter()
            .filter(|permission| role.may(*permission))
            .collect()
        };
        assert_eq!(may(Role::Support), [ViewCustomers, UnlockAndReset, GoodwillGrant]);
        assert_eq!(may(Role::Finance), [ViewCustomers, Reports, Audit]);
        assert_eq!(
            may(Role::Manager),
            [
                ViewCustomers,
                UnlockAndReset,
                GoodwillGrant,
                ManageCredits,
                ManageCodes,
                Refund,
                Approve,
                Reports,
                Audit,
                Catalog
            ]
        );
        assert_eq!(may(Role::Owner).len(), 12);
    }

    #[test]
    fn roles_read_back_by_name_in_any_case() {
        for role in Role::ALL {
            assert_eq!(Role::parse(&role.as_str().to_uppercase()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
