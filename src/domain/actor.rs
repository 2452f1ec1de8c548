//! Who makes a change: a staff member signed in to the console, or an operator
//! running a command. Every use case that changes what staff may change takes one,
//! and the audit trail and the ledger name it.

use std::fmt;

/// A staff member's number (the `staff.id` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaffId(pub i64);

/// Who asked for a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A staff member in the console, by their number and e-mail address.
    Staff { id: StaffId, email: String },
    /// An operator command, by the operating system's user that ran it.
    Command { user: String },
    /// Someone not (yet) signed in to the console, by the network address they
    /// came from: who a failed console sign-in is recorded against.
    Visitor { address: String },
}

impl Actor {
    /// The operator running this process, by the name of the process's effective
    /// user in the system's user database. Never from the environment (`USER`),
    /// which anyone can set: naming oneself someone else must not let an operator
    /// approve their own request.
    pub fn command() -> Actor {
        let user = uzers::get_effective_username()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("uid{}", uzers::get_effective_uid()));
        Actor::Command { user }
    }

    /// The staff member, when a person in the console asked.
    pub fn staff_id(&self) -> Option<StaffId> {
        match self {
            Actor::Staff { id, .. } => Some(*id),
            Actor::Command { .. } | Actor::Visitor { .. } => None,
        }
    }
}

/// `staff:<email>`, `cli:<user>` or `visitor:<address>`, as the audit trail and the ledger write it.
impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Staff { email, .. } => write!(f, "staff:{email}"),
            Actor::Command { user } => write!(f, "cli:{user}"),
            Actor::Visitor { address } => write!(f, "visitor:{address}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_written_with_their_kind_before_the_name() {
        let staff = Actor::Staff {
            id: StaffId(3),
            email: "ann@shop.example".to_owned(),
        };
        assert_eq!(staff.to_string(), "staff:ann@shop.example");
        let command = Actor::Command {
            user: "root".to_owned(),
        };
        assert_eq!(command.to_string(), "cli:root");
    }
}
