//! The orders use cases' rules: what an order draws, how a refund returns it.

use time::OffsetDateTime;

use crate::domain::{
    Allocation, CardSummary, Categories, CodeGrant, CodeRefusal, Credit, CreditId, CreditKind, CreditSource,
    DiscountTerms, LastDay, Money, allocate,
};
use crate::store::StoreError;
use crate::store::catalog::Product;
use crate::store::codes::{CodeRecord, Redeemed};
use crate::store::credits::NewCredit;
use crate::store::discounts::SavedDiscount;
use crate::store::orders::{
    CheckoutError, DrawnCredit, NewCreditWhy, OrderPlan, Promotion, REFUND_CREDIT_DAYS, Receipt,
    RefundCredit, RefundedTo,
};

impl Promotion {
    /// What an order for `product_id` with this promotion asks for, in the one
    /// form stored with the order: an idempotency key is bound to it.
    pub(crate) fn request(&self, product_id: i64) -> String {
        match self {
            Promotion::None => format!("product={product_id}"),
            Promotion::Code(code) => format!("product={product_id};code={}", code.as_str()),
            Promotion::SavedDiscount(id) => format!("product={product_id};discount={id}"),
        }
    }
}

/// What happened to a credit or gift card code typed at checkout: it pays (part
/// of) this order and is named as its promotion, or it only adds credit to the
/// account, which a note says with the reason. `will_be`: before the order is
/// placed (the summary) rather than after (the receipt).
pub(crate) fn describe_code(
    record: &CodeRecord,
    granted: CreditId,
    allocation: &Allocation,
    product: &Product,
    categories: &Categories,
    will_be: bool,
) -> (Option<String>, Option<String>) {
    if allocation.draws.iter().any(|draw| draw.credit == granted) {
        return (Some(format!("{}: {}", record.code, record.description)), None);
    }
    let why = match record.grant {
        CodeGrant::Credit {
            categories: valid, ..
        } if !valid.contains(product.category.id()) => format!(
            "it is for {}, not {}",
            categories.describe(valid),
            product.category.label()
        ),
        _ => "your other credit already covers it".to_owned(),
    };
    let (is, does) = if will_be {
        ("will be added to your account when you place this order", "does")
    } else {
        ("was added to your account", "did")
    };
    let note = format!(
        "{} {is} ({}). It {does} not pay for this order: {why}.",
        record.code, record.description
    );
    (None, Some(note))
}

/// The id a preview gives the credit a typed code would grant: it sorts as the
/// newest credit, as the real one will.
pub(crate) const WOULD_BE_GRANTED: CreditId = CreditId(i64::MAX);

/// The credit a code would grant, for the preview only.
pub(crate) fn credit_a_code_would_grant(grant: &CodeGrant, now: OffsetDateTime) -> Option<Credit> {
    let (kind, amount) = match *grant {
        CodeGrant::Credit {
            amount, categories, ..
        } => (CreditKind::Promotional(categories), amount),
        CodeGrant::GiftCard { amount } => (CreditKind::GiftCard, amount),
        CodeGrant::Discount(_) => return None,
    };
    Some(Credit {
        id: WOULD_BE_GRANTED,
        kind,
        original: amount,
        remaining: amount,
        expires_at: grant.credit_expiry(now),
        created_at: now,
    })
}

/// The saved discount an order asked for (`found`: the account's discount of
/// that id, if any), when it may pay for `product` now.
pub(crate) fn usable_saved_discount(
    found: Option<SavedDiscount>,
    product: &Product,
    categories: &Categories,
    now: OffsetDateTime,
) -> Result<SavedDiscount, CheckoutError> {
    let discount = found.ok_or(CheckoutError::UnknownDiscount)?;
    if !discount.is_usable(now) {
        return Err(CheckoutError::DiscountUnavailable);
    }
    check_fits(&discount.terms, product, categories)?;
    Ok(discount)
}

pub(crate) fn check_fits(
    terms: &DiscountTerms,
    product: &Product,
    categories: &Categories,
) -> Result<(), CheckoutError> {
    if terms.fits(product.category.id()) {
        Ok(())
    } else {
        Err(CodeRefusal::WrongCategory(categories.describe(terms.categories)).into())
    }
}

/// The breakdown lines of an allocation's draws on `credits`: each credit's kind,
/// last day and description, which `description` reads (a preview's would-be
/// credit has no row yet: its description is left empty for the caller).
pub(crate) fn drawn_credits(
    allocation: &Allocation,
    credits: &[Credit],
    mut description: impl FnMut(CreditId) -> Result<Option<String>, StoreError>,
) -> Result<Vec<DrawnCredit>, StoreError> {
    allocation
        .draws
        .iter()
        .filter_map(|draw| {
            credits
                .iter()
                .find(|credit| credit.id == draw.credit)
                .map(|c| (draw, c))
        })
        .map(|(draw, credit)| {
            Ok(DrawnCredit {
                gift_card: matches!(credit.kind, CreditKind::GiftCard),
                description: description(draw.credit)?.unwrap_or_default(),
                last_day: credit.expires_at.map(LastDay::of),
                amount: draw.amount,
            })
        })
        .collect()
}

/// A preview's promotion, checked but not used: what it takes off, how the
/// summary names it, and the typed code (checked, not redeemed) if there is one.
#[derive(Default)]
pub(crate) struct PreviewedPromotion {
    discount: Option<DiscountTerms>,
    label: Option<String>,
    code: Option<CodeRecord>,
}

impl PreviewedPromotion {
    /// One of the account's saved discounts, found usable for this order.
    pub(crate) fn saved(discount: SavedDiscount) -> PreviewedPromotion {
        PreviewedPromotion {
            discount: Some(discount.terms),
            label: Some(discount.description),
            code: None,
        }
    }

    /// A typed code the account could redeem: a discount code must fit the product.
    pub(crate) fn code(
        record: CodeRecord,
        product: &Product,
        categories: &Categories,
    ) -> Result<PreviewedPromotion, CheckoutError> {
        let discount = match record.grant {
            CodeGrant::Discount(terms) => {
                check_fits(&terms, product, categories)?;
                Some(terms)
            }
            _ => None,
        };
        Ok(PreviewedPromotion {
            discount,
            label: Some(format!("{}: {}", record.code, record.description)),
            code: Some(record),
        })
    }
}

/// What placing the order would do, from what the preview read: the account's
/// `credits` (a typed code's credit joins them as it would be granted), the
/// credits' descriptions through `description`, and the default `card`.
pub(crate) fn preview_plan(
    product: Product,
    mut credits: Vec<Credit>,
    promotion: PreviewedPromotion,
    categories: &Categories,
    now: OffsetDateTime,
    description: impl FnMut(CreditId) -> Result<Option<String>, StoreError>,
    card: Option<CardSummary>,
) -> Result<OrderPlan, StoreError> {
    if let Some(record) = &promotion.code {
        credits.extend(credit_a_code_would_grant(&record.grant, now));
    }
    let allocation = allocate(
        product.price,
        product.category.id(),
        promotion.discount.as_ref(),
        &credits,
        now,
    );
    let (label, code_note) = match &promotion.code {
        Some(record) if !matches!(record.grant, CodeGrant::Discount(_)) => {
            describe_code(record, WOULD_BE_GRANTED, &allocation, &product, categories, true)
        }
        _ => (promotion.label, None),
    };
    let mut drawn = drawn_credits(&allocation, &credits, description)?;
    for (line, draw) in drawn.iter_mut().zip(&allocation.draws) {
        if let Some(record) = promotion
            .code
            .as_ref()
            .filter(|_| draw.credit == WOULD_BE_GRANTED)
        {
            line.description = record.description.clone();
        }
    }
    Ok(OrderPlan {
        product,
        allocation,
        drawn,
        promotion: label,
        code_note,
        card,
    })
}

/// The order an idempotency key already placed, and what it asked for.
pub(crate) struct KeyedOrder {
    pub(crate) id: i64,
    /// `None` for a gift card.
    pub(crate) product_id: Option<i64>,
    /// `None` for orders placed before requests were stored.
    pub(crate) request: Option<String>,
}

impl KeyedOrder {
    pub(crate) fn asked_for(&self, product_id: Option<i64>, request: &str) -> bool {
        match &self.request {
            Some(stored) => stored == request,
            None => self.product_id == product_id,
        }
    }
}

/// An order's promotion once resolved inside its transaction.
#[derive(Default)]
pub(crate) struct AppliedPromotion {
    pub(crate) discount: Option<DiscountTerms>,
    /// The discount row this order uses up.
    pub(crate) discount_id: Option<i64>,
    pub(crate) label: Option<String>,
    /// A credit or gift card code redeemed for this order, and the credit it made.
    pub(crate) redeemed_code: Option<(CodeRecord, CreditId)>,
}

impl AppliedPromotion {
    /// One of the account's saved discounts, found usable for this order.
    pub(crate) fn saved(discount: SavedDiscount) -> AppliedPromotion {
        AppliedPromotion {
            discount: Some(discount.terms),
            discount_id: Some(discount.id),
            label: Some(discount.description),
            redeemed_code: None,
        }
    }

    /// A code typed at checkout, just redeemed into the account: a discount code
    /// must fit the product; a credit or gift card code's credit is there to spend.
    pub(crate) fn redeemed(
        record: CodeRecord,
        redeemed: Redeemed,
        product: &Product,
        categories: &Categories,
    ) -> Result<AppliedPromotion, CheckoutError> {
        match redeemed {
            Redeemed::Discount {
                discount_id, terms, ..
            } => {
                check_fits(&terms, product, categories)?;
                Ok(AppliedPromotion {
                    discount: Some(terms),
                    discount_id: Some(discount_id),
                    label: Some(format!("{}: {}", record.code, record.description)),
                    redeemed_code: None,
                })
            }
            Redeemed::Credit { credit, .. } | Redeemed::GiftCard { credit, .. } => Ok(AppliedPromotion {
                redeemed_code: Some((record, credit)),
                ..AppliedPromotion::default()
            }),
        }
    }
}

/// What an order records, decided from what its transaction read.
pub(crate) struct OrderTerms {
    pub(crate) allocation: Allocation,
    /// The card charged, when a remainder is left for it.
    pub(crate) card_label: Option<String>,
    pub(crate) promotion: Option<String>,
    pub(crate) code_note: Option<String>,
}

/// Splits the price between the promotion, the account's `credits` and the
/// default card (read through `default_card` only when a remainder is left,
/// which is refused without one).
pub(crate) fn order_terms(
    product: &Product,
    applied: &AppliedPromotion,
    credits: &[Credit],
    categories: &Categories,
    now: OffsetDateTime,
    default_card: impl FnOnce() -> Result<Option<CardSummary>, StoreError>,
) -> Result<OrderTerms, CheckoutError> {
    let allocation = allocate(
        product.price,
        product.category.id(),
        applied.discount.as_ref(),
        credits,
        now,
    );
    let card = if allocation.card.is_zero() {
        None
    } else {
        Some(default_card()?.ok_or(CheckoutError::NoPaymentMethod(allocation.card))?)
    };
    let (promotion, code_note) = match &applied.redeemed_code {
        Some((record, credit)) => describe_code(record, *credit, &allocation, product, categories, false),
        None => (applied.label.clone(), None),
    };
    Ok(OrderTerms {
        allocation,
        card_label: card.as_ref().map(CardSummary::label),
        promotion,
        code_note,
    })
}

/// Files one ledger event of an order (its `kind`, and the credit's) on its
/// receipt: a spend is a breakdown line, a refund or a refund's new credit says
/// where the money went.
pub(crate) fn file_ledger_event(
    receipt: &mut Receipt,
    event: &str,
    gift_card: bool,
    description: String,
    last_day: Option<LastDay>,
    amount: Money,
) {
    match event {
        "spend" => receipt.drawn.push(DrawnCredit {
            gift_card,
            description,
            last_day,
            amount,
        }),
        "refund" => receipt.refunded_to.push(RefundedTo::Credit {
            description,
            last_day,
            amount,
        }),
        "grant" => receipt
            .refunded_to
            .push(RefundedTo::NewCredit { last_day, amount }),
        _ => {}
    }
}

/// The description of a credit a refund of `order_id` grants in place of one
/// that had expired.
pub(crate) fn refund_credit_description(order_id: i64) -> String {
    format!("Refund of order {order_id}")
}

/// The credit a refund grants for `cents` the order took from `credit`, when
/// that credit has expired since (SPEC §6); `None` when the share goes back
/// into the credit itself.
pub(crate) fn replacement_credit(
    credit: &Credit,
    cents: i64,
    order_id: i64,
    now: OffsetDateTime,
) -> Option<Replacement> {
    if !credit.is_expired(now) {
        return None;
    }
    let expires_at = LastDay::days_after(now, REFUND_CREDIT_DAYS).ends_at();
    Some(Replacement {
        credit: NewCredit {
            kind: credit.kind,
            source: CreditSource::Refund,
            description: refund_credit_description(order_id),
            amount: Money::from_cents(cents),
            expires_at: Some(expires_at),
            code_redemption_id: None,
        },
        why: NewCreditWhy::Expired,
    })
}

/// The credit a refund grants for the `cents` of a share that no longer fit in
/// `credit` (an operator raised it since): the same kind and categories, valid as
/// long as `credit` is.
pub(crate) fn overflow_credit(credit: &Credit, cents: i64, order_id: i64) -> Replacement {
    Replacement {
        credit: NewCredit {
            kind: credit.kind,
            source: CreditSource::Refund,
            description: refund_credit_description(order_id),
            amount: Money::from_cents(cents),
            expires_at: credit.expires_at,
            code_redemption_id: None,
        },
        why: NewCreditWhy::NoRoom,
    }
}

/// The credit a refund grants, when the manager says so, for the `cents` of a share
/// paid from a credit revoked since: the same kind and categories, valid for
/// [`REFUND_CREDIT_DAYS`] days, as a replacement for an expired credit is. The
/// revoked credit itself stays revoked.
pub(crate) fn revoked_share_credit(
    credit: &Credit,
    cents: i64,
    order_id: i64,
    now: OffsetDateTime,
) -> Replacement {
    Replacement {
        credit: NewCredit {
            kind: credit.kind,
            source: CreditSource::Refund,
            description: refund_credit_description(order_id),
            amount: Money::from_cents(cents),
            expires_at: Some(LastDay::days_after(now, REFUND_CREDIT_DAYS).ends_at()),
            code_redemption_id: None,
        },
        why: NewCreditWhy::Revoked,
    }
}

/// Which part of each payment a refund covers. `paid` lists what each part of the
/// order paid, in the reverse order of payment (the card, then each credit, the
/// one drawn last first); refunds cover that sequence from its start, so one that
/// moves the order's refunded total from `before` to `after` covers exactly the
/// cents between them. The answer gives, per part, the cents this refund covers.
pub(crate) fn refund_slices(paid: &[i64], before: i64, after: i64) -> Vec<i64> {
    let mut start = 0;
    paid.iter()
        .map(|&cents| {
            let end = start + cents;
            let covered = (end.min(after) - start.max(before)).max(0);
            start = end;
            covered
        })
        .collect()
}

/// A credit a refund is about to grant in place of a share it could not return.
pub(crate) struct Replacement {
    pub(crate) credit: NewCredit,
    pub(crate) why: NewCreditWhy,
}

impl Replacement {
    /// The replacement as the refund reports it, once granted as `id`.
    pub(crate) fn granted(&self, id: CreditId) -> RefundCredit {
        RefundCredit {
            id,
            kind: self.credit.kind,
            amount: self.credit.amount,
            expires_at: self.credit.expires_at,
            why: self.why,
        }
    }
}

/// The description of the discount a refund released, when it is usable again:
/// one that has expired meanwhile is released all the same, but not reported.
pub(crate) fn restored_discount(
    released: Option<(String, Option<i64>)>,
    now: OffsetDateTime,
) -> Option<String> {
    released
        .filter(|(_, expires_at)| expires_at.is_none_or(|at| at > now.unix_timestamp()))
        .map(|(description, _)| description)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PromoCode;

    #[test]
    fn refunds_cover_the_payment_from_its_last_part_back() {
        // The card paid 300, a gift card 200, a promotional credit 500.
        let paid = [300, 200, 500];
        assert_eq!(refund_slices(&paid, 0, 100), [100, 0, 0]);
        assert_eq!(refund_slices(&paid, 100, 450), [200, 150, 0]);
        assert_eq!(refund_slices(&paid, 450, 1000), [0, 50, 500]);
        assert_eq!(refund_slices(&paid, 0, 1000), paid);
        assert_eq!(refund_slices(&[0, 400], 0, 400), [0, 400], "no card part");
        assert_eq!(refund_slices(&paid, 1000, 1000), [0, 0, 0]);
    }

    #[test]
    fn a_request_names_the_product_and_the_promotion() {
        let code = PromoCode::parse(" album-20-off ").unwrap();
        assert_eq!(Promotion::None.request(3), "product=3");
        assert_eq!(Promotion::Code(code).request(3), "product=3;code=ALBUM-20-OFF");
        assert_eq!(Promotion::SavedDiscount(7).request(3), "product=3;discount=7");
    }

    #[test]
    fn an_order_from_before_requests_were_stored_matches_by_product_alone() {
        let earlier = KeyedOrder {
            id: 1,
            product_id: Some(3),
            request: None,
        };
        assert!(earlier.asked_for(Some(3), "product=3;code=GIFT-20"));
        assert!(!earlier.asked_for(Some(4), "product=4"));
        let stored = KeyedOrder {
            request: Some("product=3".to_owned()),
            ..earlier
        };
        assert!(stored.asked_for(Some(3), "product=3"));
        assert!(!stored.asked_for(Some(3), "product=3;discount=7"));
    }
}
