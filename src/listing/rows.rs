//! Rows the commands print and the console downloads alike: one definition of
//! each list's columns.

use super::Cell;
use crate::domain::{Categories, CodeGrant, DiscountValue, LastDay};
use crate::store::approvals::ApprovalRequest;
use crate::store::audit::AuditEntry;
use crate::store::codes::CodeRecord;
use crate::store::orders::OrderSummary;
use crate::store::users::AccountSummary;

/// A code's columns (`storecredit code list`, the console's download).
pub const CODE_COLUMNS: &[&str] = &[
    "code",
    "kind",
    "amount",
    "percent",
    "categories",
    "valid_days",
    "redemptions",
    "cap",
    "redeem_by",
    "active",
    "description",
];

/// A code's row, in [`CODE_COLUMNS`] order.
pub fn code_cells(code: &CodeRecord, categories: &Categories) -> Vec<Cell> {
    let (kind, amount, percent, categories, valid_days) = match code.grant {
        CodeGrant::Credit {
            amount,
            categories: valid,
            valid_for,
        } => (
            "credit",
            Cell::Money(amount),
            Cell::Nothing(""),
            categories.slugs(valid),
            valid_for.map_or(Cell::Nothing("no expiry"), |days| Cell::Count(days.whole_days())),
        ),
        CodeGrant::GiftCard { amount } => (
            "gift-card",
            Cell::Money(amount),
            Cell::Nothing(""),
            "all".to_owned(),
            Cell::Nothing("no expiry"),
        ),
        CodeGrant::Discount(terms) => {
            let (amount, percent) = match terms.value {
                DiscountValue::Percent(percent) => (Cell::Nothing(""), Cell::Percent(percent)),
                DiscountValue::AmountOff(amount) => (Cell::Money(amount), Cell::Nothing("")),
            };
            (
                "discount",
                amount,
                percent,
                categories.slugs(terms.categories),
                Cell::Nothing(""),
            )
        }
    };
    vec![
        Cell::text(code.shown()),
        Cell::text(kind),
        amount,
        percent,
        Cell::text(categories),
        valid_days,
        Cell::Count(code.redemptions),
        code.max_redemptions.map_or(Cell::Nothing("no cap"), Cell::Count),
        code.redeem_by
            .map_or(Cell::Nothing("no deadline"), |at| Cell::Day(LastDay::of(at))),
        Cell::Flag(code.active),
        Cell::text(code.description.clone()),
    ]
}

/// An audit entry's columns (`storecredit audit list`, the console's download).
pub const AUDIT_COLUMNS: &[&str] = &[
    "id", "at", "who", "action", "subject", "customer", "before", "after", "reason",
];

/// An audit entry's row, in [`AUDIT_COLUMNS`] order.
pub fn audit_cells(entry: &AuditEntry) -> Vec<Cell> {
    let text = |value: &Option<String>| {
        value
            .as_ref()
            .map_or(Cell::Nothing(""), |value| Cell::text(value.clone()))
    };
    vec![
        Cell::Count(entry.id),
        Cell::Instant(entry.at),
        Cell::text(entry.actor.clone()),
        Cell::text(entry.action.clone()),
        Cell::text(entry.subject.clone()),
        entry
            .customer
            .map_or(Cell::Nothing(""), |user| Cell::Count(user.0)),
        text(&entry.before),
        text(&entry.after),
        text(&entry.reason),
    ]
}

/// An order's columns (`storecredit order list`, the console's download).
pub const ORDER_COLUMNS: &[&str] = &[
    "id",
    "placed",
    "email",
    "product",
    "price",
    "discount",
    "promotional_credit",
    "gift_card",
    "card",
    "refunded",
    "refunded_amount",
];

/// An order's row, in [`ORDER_COLUMNS`] order.
pub fn order_cells(order: &OrderSummary) -> Vec<Cell> {
    vec![
        Cell::Count(order.id),
        Cell::Instant(order.placed_at),
        Cell::text(order.email.clone()),
        Cell::text(order.product_title.clone()),
        Cell::Money(order.price),
        Cell::Money(order.discount),
        Cell::Money(order.promotional_credit),
        Cell::Money(order.gift_card),
        Cell::Money(order.card),
        Cell::Flag(order.refunded_at.is_some()),
        Cell::Money(order.refunded),
    ]
}

/// An account's columns (`storecredit user list`, the console's download).
pub const ACCOUNT_COLUMNS: &[&str] = &["id", "email", "name", "created", "credits", "orders"];

/// An account's row, in [`ACCOUNT_COLUMNS`] order.
pub fn account_cells(account: &AccountSummary) -> Vec<Cell> {
    vec![
        Cell::Count(account.id.0),
        Cell::text(account.email.clone()),
        Cell::text(account.name.clone()),
        Cell::Instant(account.created_at),
        Cell::Count(account.credits),
        Cell::Count(account.orders),
    ]
}

/// An approval request's columns (`storecredit approval list`, the console's
/// download).
pub const APPROVAL_COLUMNS: &[&str] = &[
    "id",
    "status",
    "customer",
    "amount",
    "what",
    "reason",
    "requested_by",
    "requested_at",
    "decided_by",
    "decision_reason",
];

/// An approval request's row, in [`APPROVAL_COLUMNS`] order.
pub fn approval_cells(request: &ApprovalRequest, categories: &Categories) -> Vec<Cell> {
    vec![
        Cell::Count(request.id.0),
        Cell::text(request.status.as_str()),
        Cell::text(request.customer_email.clone()),
        Cell::Money(request.change.amount()),
        Cell::text(request.change.describe(categories)),
        Cell::text(request.reason.clone()),
        Cell::text(request.requested_by.clone()),
        Cell::Instant(request.requested_at),
        request
            .decision
            .as_ref()
            .map_or(Cell::Nothing(""), |decision| Cell::text(decision.by.clone())),
        request
            .decision
            .as_ref()
            .map_or(Cell::Nothing(""), |decision| Cell::text(decision.reason.clone())),
    ]
}
