//! The credits use cases' rules, shared by both engines: reading a credit's kind
//! and a ledger event's kind from their columns, and what an operator's
//! adjustment or revocation may change.

use crate::domain::{Adjustment, CategorySet, CreditKind, Money};
use crate::store::credits::{AdjustError, Adjusted, LedgerEventKind};

/// A credit's kind from its `kind` column and its categories folded into bits;
/// `None` for a promotional credit valid for no category.
pub(crate) fn credit_kind(kind: &str, categories: i64) -> Option<CreditKind> {
    if kind == "gift_card" {
        return Some(CreditKind::GiftCard);
    }
    let categories = CategorySet::from_bits(categories);
    (!categories.is_empty()).then_some(CreditKind::Promotional(categories))
}

/// A ledger event's kind from the `credit_events.kind` column.
pub(crate) fn ledger_event_kind(column: &str) -> Option<LedgerEventKind> {
    Some(match column {
        "grant" => LedgerEventKind::Grant,
        "spend" => LedgerEventKind::Spend,
        "refund" => LedgerEventKind::Refund,
        "adjust" => LedgerEventKind::Adjust,
        _ => return None,
    })
}

/// The change, in cents, that `adjustment` makes to a credit standing at
/// `current`: refused when it would leave less than zero or more than the
/// credit was worth.
pub(crate) fn adjustment_change(current: &Adjusted, adjustment: Adjustment) -> Result<i64, AdjustError> {
    let after = current.before.cents() + adjustment.change_cents();
    match adjustment {
        Adjustment::Take(taken) if after < 0 => Err(AdjustError::BelowZero {
            credit: current.credit.0,
            remaining: current.before,
            taken,
        }),
        Adjustment::Add(added) if after > current.original.cents() => Err(AdjustError::AboveOriginal {
            credit: current.credit.0,
            original: current.original,
            remaining: current.before,
            added,
        }),
        _ => Ok(adjustment.change_cents()),
    }
}

/// The change, in cents, that revoking a credit standing at `current` makes:
/// all that remains, refused when nothing does.
pub(crate) fn revocation_change(current: &Adjusted) -> Result<i64, AdjustError> {
    if current.before.is_zero() {
        return Err(AdjustError::NothingLeft(current.credit.0));
    }
    Ok(-current.before.cents())
}

/// The credit at `current` after a change of `change_cents`.
pub(crate) fn after_change(current: Adjusted, change_cents: i64) -> Adjusted {
    Adjusted {
        after: Money::from_cents(current.before.cents() + change_cents),
        ..current
    }
}
