//! Pure types and rules of the store: no I/O, no SQL, no HTTP.

pub mod account;
pub mod actor;
pub mod adjustment;
pub mod allocation;
pub mod balances;
pub mod card;
pub mod category;
pub mod code;
pub mod credit;
pub mod date;
pub mod money;
pub mod product;
pub mod return_to;
pub mod staff;

pub use account::{DisplayName, Email, NewPassword, UserId, WeakPassword};
pub use actor::{Actor, StaffId};
pub use adjustment::{Adjustment, AdjustmentReason};
pub use allocation::{Allocation, Draw, allocate};
pub use balances::{BalanceLine, Balances, Expiring, Soon};
pub use card::CardSummary;
pub use category::{
    Categories, Category, CategoryId, CategoryLabel, CategorySet, CategorySlug, MAX_CATEGORIES,
    UnknownCategory,
};
pub use code::{CodeGrant, CodeKind, CodeRefusal, DiscountTerms, DiscountValue, PromoCode};
pub use credit::{Credit, CreditId, CreditKind, CreditSource, CreditStatus};
pub use date::{LastDay, format_date, format_last_day};
pub use money::Money;
pub use product::{MalformedProductText, ProductText};
pub use return_to::LocalPath;
pub use staff::{Permission, Role, StaffMember};
