//! The codes use cases' rules: how a code's grant is kept in its columns, which
//! redemptions are refused, and what a redemption puts into the account.

use time::{Duration, OffsetDateTime};

use crate::domain::{
    CategorySet, CodeGrant, CodeRefusal, CreditId, CreditKind, CreditSource, DiscountTerms, DiscountValue,
    Money,
};
use crate::store::codes::{CodeRecord, Redeemed};
use crate::store::credits::NewCredit;

/// A code's grant as the `codes` columns keep it (its categories in `code_categories`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GrantColumns {
    pub kind: &'static str,
    pub amount_cents: Option<i64>,
    pub percent_off: Option<u8>,
    pub categories: CategorySet,
    pub valid_days: Option<i64>,
}

impl GrantColumns {
    pub(crate) fn of(grant: CodeGrant) -> GrantColumns {
        let (amount_cents, percent_off, categories, valid_days) = match grant {
            CodeGrant::Credit {
                amount,
                categories,
                valid_for,
            } => (
                Some(amount.cents()),
                None,
                categories,
                valid_for.map(|d| d.whole_days()),
            ),
            CodeGrant::GiftCard { amount } => (Some(amount.cents()), None, CategorySet::EMPTY, None),
            CodeGrant::Discount(DiscountTerms { value, categories }) => match value {
                DiscountValue::Percent(percent) => (None, Some(percent), categories, None),
                DiscountValue::AmountOff(amount) => (Some(amount.cents()), None, categories, None),
            },
        };
        GrantColumns {
            kind: grant.kind(),
            amount_cents,
            percent_off,
            categories,
            valid_days,
        }
    }
}

/// A code's grant from its columns (`kind` as stored); `None` when the kind
/// lacks its value.
pub(crate) fn grant_from_columns(
    kind: &str,
    amount_cents: Option<i64>,
    percent_off: Option<u8>,
    categories: CategorySet,
    valid_days: Option<i64>,
) -> Option<CodeGrant> {
    Some(match (kind, amount_cents) {
        ("credit", Some(cents)) => CodeGrant::Credit {
            amount: Money::from_cents(cents),
            categories,
            valid_for: valid_days.map(Duration::days),
        },
        ("gift_card", Some(cents)) => CodeGrant::GiftCard {
            amount: Money::from_cents(cents),
        },
        ("discount", amount_cents) => CodeGrant::Discount(DiscountTerms {
            value: discount_value(percent_off, amount_cents)?,
            categories,
        }),
        _ => return None,
    })
}

/// A discount's value from its percentage and amount columns (one of them is
/// set); a percentage wins.
pub(crate) fn discount_value(
    percent_off: Option<u8>,
    amount_off_cents: Option<i64>,
) -> Option<DiscountValue> {
    match (percent_off, amount_off_cents) {
        (Some(percent), _) => Some(DiscountValue::Percent(percent)),
        (None, Some(cents)) => Some(DiscountValue::AmountOff(Money::from_cents(cents))),
        (None, None) => None,
    }
}

/// The code `found` under the typed name if an account may redeem it at `now`,
/// checked in this order: unknown or deactivated, past its deadline, already
/// redeemed by the account (asked of `already_redeemed` only then), fully claimed.
pub(crate) fn check_redeemable<E: From<CodeRefusal>>(
    found: Option<CodeRecord>,
    now: OffsetDateTime,
    already_redeemed: impl FnOnce(&CodeRecord) -> Result<bool, E>,
) -> Result<CodeRecord, E> {
    let record = found.filter(|record| record.active).ok_or(CodeRefusal::Unknown)?;
    if let Some(deadline) = record.redeem_by.filter(|deadline| *deadline <= now) {
        return Err(CodeRefusal::PastDeadline(crate::domain::format_last_day(deadline)).into());
    }
    if already_redeemed(&record)? {
        return Err(CodeRefusal::AlreadyRedeemed.into());
    }
    if record
        .max_redemptions
        .is_some_and(|cap| record.redemptions >= cap)
    {
        return Err(CodeRefusal::Exhausted.into());
    }
    Ok(record)
}

/// What redeeming a code puts into the account.
#[derive(Debug, Clone)]
pub(crate) enum Reward {
    /// A credit to insert (promotional or a gift card).
    Credit(NewCredit),
    /// A discount to save.
    Discount {
        terms: DiscountTerms,
        description: String,
    },
}

impl Reward {
    /// The reward of redeeming `record` at `now` as redemption `redemption`.
    pub(crate) fn of(record: &CodeRecord, redemption: i64, now: OffsetDateTime) -> Reward {
        let credit = |kind, source, amount, expires_at| {
            Reward::Credit(NewCredit {
                kind,
                source,
                description: record.description.clone(),
                amount,
                expires_at,
                code_redemption_id: Some(redemption),
            })
        };
        match record.grant {
            CodeGrant::Credit {
                amount, categories, ..
            } => credit(
                CreditKind::Promotional(categories),
                CreditSource::PromoCode,
                amount,
                record.grant.credit_expiry(now),
            ),
            CodeGrant::GiftCard { amount } => {
                credit(CreditKind::GiftCard, CreditSource::GiftCardCode, amount, None)
            }
            CodeGrant::Discount(terms) => Reward::Discount {
                terms,
                description: record.description.clone(),
            },
        }
    }

    /// What the redemption put into the account, once the reward is stored as
    /// row `id` (of `credits` or `discounts`).
    pub(crate) fn redeemed(self, id: i64) -> Redeemed {
        match self {
            Reward::Credit(NewCredit {
                kind: CreditKind::Promotional(categories),
                amount,
                expires_at,
                ..
            }) => Redeemed::Credit {
                credit: CreditId(id),
                amount,
                categories,
                expires_at,
            },
            Reward::Credit(NewCredit {
                kind: CreditKind::GiftCard,
                amount,
                ..
            }) => Redeemed::GiftCard {
                credit: CreditId(id),
                amount,
            },
            Reward::Discount { terms, description } => Redeemed::Discount {
                discount_id: id,
                terms,
                description,
            },
        }
    }
}
