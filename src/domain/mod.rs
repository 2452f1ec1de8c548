//! Pure types and rules of the store: no I/O, no SQL, no HTTP.

pub mod account;
pub mod balances;
pub mod category;
pub mod credit;
pub mod money;
pub mod return_to;

pub use account::{DisplayName, Email, NewPassword, UserId};
pub use balances::{BalanceLine, Balances};
pub use category::{Category, CategorySet};
pub use credit::{Credit, CreditId, CreditKind, CreditSource};
pub use money::Money;
pub use return_to::LocalPath;
