//! A credit: one pot of money an account may spend on some categories.

use time::OffsetDateTime;

use super::category::{CategoryId, CategorySet};
use super::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditId(pub i64);

/// What a credit may be spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditKind {
    /// Valid for a non-empty set of categories; shown in each of their balances.
    Promotional(CategorySet),
    /// Valid for every category; shown only in the Gift Cards balance.
    GiftCard,
}

impl CreditKind {
    /// The value of the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            CreditKind::Promotional(_) => "promotional",
            CreditKind::GiftCard => "gift_card",
        }
    }

    /// Whether credit of this kind may pay for something in `category`: a gift
    /// card pays for every category, including those added after it was bought.
    pub fn pays_for(self, category: CategoryId) -> bool {
        match self {
            CreditKind::Promotional(categories) => categories.contains(category),
            CreditKind::GiftCard => true,
        }
    }
}

/// Where a credit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditSource {
    PromoCode,
    GiftCardCode,
    Refund,
    Grant,
}

impl CreditSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CreditSource::PromoCode => "promo_code",
            CreditSource::GiftCardCode => "gift_card_code",
            CreditSource::Refund => "refund",
            CreditSource::Grant => "grant",
        }
    }

    pub fn parse(column: &str) -> Option<CreditSource> {
        [
            CreditSource::PromoCode,
            CreditSource::GiftCardCode,
            CreditSource::Refund,
            CreditSource::Grant,
        ]
        .into_iter()
        .find(|source| source.as_str() == column)
    }

    pub fn label(self) -> &'static str {
        match self {
            CreditSource::PromoCode => "Promotional code",
            CreditSource::GiftCardCode => "Gift card",
            CreditSource::Refund => "Refund",
            CreditSource::Grant => "Granted by customer service",
        }
    }
}

/// A credit as it stands at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub id: CreditId,
    pub kind: CreditKind,
    pub original: Money,
    pub remaining: Money,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl Credit {
    /// A credit is expired from its expiry instant on.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|expiry| expiry <= now)
    }

    /// Whether this credit can pay (part of) a purchase in `category` at `now`.
    pub fn can_pay_for(&self, category: CategoryId, now: OffsetDateTime) -> bool {
        !self.is_expired(now) && !self.remaining.is_zero() && self.kind.pays_for(category)
    }
}

/// Where a credit stands, as an operator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditStatus {
    /// Something remains and it can still be spent.
    Active,
    /// Nothing remains: it was spent.
    UsedUp,
    /// Something remains but its last day has passed.
    Expired,
    /// Nothing remains: an operator took the rest.
    Revoked,
}

impl CreditStatus {
    /// `emptied_by_operator`: the last change to the credit was an operator's
    /// adjustment (so a credit at zero was revoked, not spent).
    pub fn of(credit: &Credit, emptied_by_operator: bool, now: OffsetDateTime) -> CreditStatus {
        match (credit.remaining.is_zero(), emptied_by_operator) {
            (true, true) => CreditStatus::Revoked,
            (true, false) => CreditStatus::UsedUp,
            (false, _) if credit.is_expired(now) => CreditStatus::Expired,
            (false, _) => CreditStatus::Active,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CreditStatus::Active => "active",
            CreditStatus::UsedUp => "used up",
            CreditStatus::Expired => "expired",
            CreditStatus::Revoked => "revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::category::{seeded, set};
    use time::macros::datetime;

    fn id(slug: &str) -> CategoryId {
        seeded().by_slug(slug).unwrap().id()
    }

    fn credit(kind: CreditKind, expires_at: Option<OffsetDateTime>) -> Credit {
        Credit {
            id: CreditId(1),
            kind,
            original: Money::from_cents(1000),
            remaining: Money::from_cents(1000),
            expires_at,
            created_at: datetime!(2026-01-01 0:00 UTC),
        }
    }

    #[test]
    fn a_credit_expires_at_its_expiry_instant() {
        let expiry = datetime!(2026-06-01 0:00 UTC);
        let c = credit(CreditKind::GiftCard, Some(expiry));
        assert!(!c.is_expired(expiry - time::Duration::SECOND));
        assert!(c.is_expired(expiry));
    }

    #[test]
    fn a_promotional_credit_pays_only_for_its_categories() {
        let c = credit(CreditKind::Promotional(set("music,kindle")), None);
        let now = datetime!(2026-03-01 0:00 UTC);
        assert!(c.can_pay_for(id("kindle"), now));
        assert!(!c.can_pay_for(id("video"), now));
    }

    #[test]
    fn a_credit_at_zero_is_revoked_only_when_an_operator_emptied_it() {
        let now = datetime!(2026-03-01 0:00 UTC);
        let mut c = credit(CreditKind::GiftCard, Some(datetime!(2026-02-01 0:00 UTC)));
        assert_eq!(CreditStatus::of(&c, false, now), CreditStatus::Expired);
        assert_eq!(CreditStatus::of(&c, true, now), CreditStatus::Expired);
        c.remaining = Money::ZERO;
        assert_eq!(CreditStatus::of(&c, false, now), CreditStatus::UsedUp);
        assert_eq!(CreditStatus::of(&c, true, now), CreditStatus::Revoked);
        c.expires_at = None;
        c.remaining = Money::from_cents(1);
        assert_eq!(CreditStatus::of(&c, false, now), CreditStatus::Active);
    }

    #[test]
    fn a_gift_card_pays_for_everything() {
        let c = credit(CreditKind::GiftCard, None);
        let now = datetime!(2026-03-01 0:00 UTC);
        assert!(seeded().iter().all(|category| c.can_pay_for(category.id(), now)));
        let added_later = CategoryId::new(5).unwrap();
        assert!(c.can_pay_for(added_later, now));
    }
}
