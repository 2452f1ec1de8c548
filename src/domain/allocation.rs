//! Checkout allocation: which credit pays what part of a price (SPEC §2).

use std::cmp::Ordering;

use time::OffsetDateTime;

use super::category::CategoryId;
use super::code::DiscountTerms;
use super::credit::{Credit, CreditId, CreditKind};
use super::money::Money;

/// How one order's price is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub price: Money,
    pub discount: Money,
    /// Each credit drawn on, in the order it was used, with the amount taken.
    pub draws: Vec<Draw>,
    pub promotional_credit: Money,
    pub gift_card: Money,
    /// What is left for the default payment method.
    pub card: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    pub credit: CreditId,
    pub amount: Money,
}

/// Promotional credits first, soonest-expiring first and never-expiring last, ties
/// oldest first.
fn promotional_order(a: &Credit, b: &Credit) -> Ordering {
    let expiry = match (a.expires_at, b.expires_at) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    expiry.then(a.created_at.cmp(&b.created_at)).then(a.id.cmp(&b.id))
}

/// Gift cards oldest first.
fn gift_card_order(a: &Credit, b: &Credit) -> Ordering {
    a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))
}

/// Splits `price` for a product in `category`: the discount (if it fits the
/// category) comes off first, then promotional credits valid for the category,
/// then gift-card credit, and the card pays the rest. Expired, empty and
/// other-category credits pay nothing. Pure: the store applies the result.
pub fn allocate(
    price: Money,
    category: CategoryId,
    discount: Option<&DiscountTerms>,
    credits: &[Credit],
    now: OffsetDateTime,
) -> Allocation {
    let discount = discount
        .filter(|terms| terms.fits(category))
        .map_or(Money::ZERO, |terms| terms.value.off(price));
    let mut due = price - discount;

    let usable = |kind_matches: fn(&CreditKind) -> bool| {
        credits
            .iter()
            .filter(move |credit| kind_matches(&credit.kind) && credit.can_pay_for(category, now))
    };
    let mut promotional: Vec<&Credit> = usable(|kind| matches!(kind, CreditKind::Promotional(_))).collect();
    promotional.sort_by(|a, b| promotional_order(a, b));
    let mut gift_cards: Vec<&Credit> = usable(|kind| matches!(kind, CreditKind::GiftCard)).collect();
    gift_cards.sort_by(|a, b| gift_card_order(a, b));

    let mut draws = Vec::new();
    let mut draw_from = |pots: Vec<&Credit>, due: &mut Money| -> Money {
        let mut paid = Money::ZERO;
        for credit in pots {
            if due.is_zero() {
                break;
            }
            let amount = credit.remaining.min(*due);
            draws.push(Draw {
                credit: credit.id,
                amount,
            });
            *due = *due - amount;
            paid = paid + amount;
        }
        paid
    };
    let promotional_credit = draw_from(promotional, &mut due);
    let gift_card = draw_from(gift_cards, &mut due);

    Allocation {
        price,
        discount,
        draws,
        promotional_credit,
        gift_card,
        card: due,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::category::{CategorySet, seeded};
    use crate::domain::code::DiscountValue;
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

    fn credit(id: i64, kind: CreditKind, cents: i64, expires_in_days: Option<i64>, age_days: i64) -> Credit {
        Credit {
            id: CreditId(id),
            kind,
            original: Money::from_cents(cents),
            remaining: Money::from_cents(cents),
            expires_at: expires_in_days.map(|days| NOW + Duration::days(days)),
            created_at: NOW - Duration::days(age_days),
        }
    }

    fn promo(categories: &str) -> CreditKind {
        CreditKind::Promotional(crate::domain::category::set(categories))
    }

    fn id(slug: &str) -> CategoryId {
        seeded().by_slug(slug).unwrap().id()
    }

    fn any_category() -> impl Strategy<Value = CategoryId> {
        prop::sample::select(seeded().iter().map(|category| category.id()).collect::<Vec<_>>())
    }

    fn cents(c: i64) -> Money {
        Money::from_cents(c)
    }

    #[test]
    fn credit_pays_first_and_the_card_the_rest() {
        let credits = [credit(1, promo("kindle"), 300, None, 1)];
        let a = allocate(cents(499), id("kindle"), None, &credits, NOW);
        assert_eq!(a.promotional_credit, cents(300));
        assert_eq!(a.card, cents(199));
    }

    #[test]
    fn soonest_expiring_promotional_credit_is_used_first_and_never_expiring_last() {
        let credits = [
            credit(1, promo("music"), 100, None, 30),
            credit(2, promo("music"), 100, Some(60), 20),
            credit(3, promo("music"), 100, Some(10), 10),
        ];
        let a = allocate(cents(250), id("music"), None, &credits, NOW);
        let order: Vec<(i64, i64)> = a.draws.iter().map(|d| (d.credit.0, d.amount.cents())).collect();
        assert_eq!(order, [(3, 100), (2, 100), (1, 50)]);
    }

    #[test]
    fn equal_expiry_uses_the_oldest_first() {
        let credits = [
            credit(1, promo("music"), 100, Some(10), 1),
            credit(2, promo("music"), 100, Some(10), 5),
        ];
        let a = allocate(cents(100), id("music"), None, &credits, NOW);
        assert_eq!(a.draws[0].credit, CreditId(2));
    }

    #[test]
    fn gift_cards_follow_promotional_credit_oldest_first() {
        let credits = [
            credit(1, CreditKind::GiftCard, 500, None, 1),
            credit(2, CreditKind::GiftCard, 500, None, 9),
            credit(3, promo("video"), 200, None, 1),
        ];
        let a = allocate(cents(899), id("video"), None, &credits, NOW);
        let order: Vec<i64> = a.draws.iter().map(|d| d.credit.0).collect();
        assert_eq!(order, [3, 2, 1]);
        assert_eq!(
            (a.promotional_credit, a.gift_card, a.card),
            (cents(200), cents(699), cents(0))
        );
    }

    #[test]
    fn other_category_and_expired_credit_pay_nothing() {
        let credits = [
            credit(1, promo("video"), 1000, None, 1),
            credit(2, promo("music"), 1000, Some(0), 1),
        ];
        let a = allocate(cents(99), id("music"), None, &credits, NOW);
        assert!(a.draws.is_empty());
        assert_eq!(a.card, cents(99));
    }

    #[test]
    fn a_fitting_discount_comes_off_before_any_credit() {
        let terms = DiscountTerms {
            value: DiscountValue::Percent(20),
            categories: crate::domain::category::set("music"),
        };
        let credits = [credit(1, promo("music"), 10_000, None, 1)];
        let a = allocate(cents(899), id("music"), Some(&terms), &credits, NOW);
        assert_eq!(a.discount, cents(180));
        assert_eq!(a.promotional_credit, cents(719));
        assert_eq!(a.card, Money::ZERO);
    }

    #[test]
    fn a_discount_for_another_category_takes_nothing_off() {
        let terms = DiscountTerms {
            value: DiscountValue::Percent(20),
            categories: crate::domain::category::set("music"),
        };
        let a = allocate(cents(499), id("kindle"), Some(&terms), &[], NOW);
        assert_eq!(a.discount, Money::ZERO);
        assert_eq!(a.card, cents(499));
    }

    fn arbitrary_credit() -> impl Strategy<Value = Credit> {
        (
            1i64..1000,
            prop_oneof![Just(None), (1i64..=15).prop_map(Some)],
            0i64..5_000,
            proptest::option::of(-10i64..100),
            0i64..100,
        )
            .prop_map(|(id, bits, cents, expiry, age)| {
                let kind = match bits {
                    None => CreditKind::GiftCard,
                    Some(bits) => CreditKind::Promotional(CategorySet::from_bits(bits)),
                };
                credit(id, kind, cents.max(1), expiry, age)
            })
    }

    fn arbitrary_discount() -> impl Strategy<Value = Option<DiscountTerms>> {
        proptest::option::of(
            (
                prop_oneof![
                    (1u8..=100).prop_map(DiscountValue::Percent),
                    (1i64..20_000).prop_map(|c| DiscountValue::AmountOff(Money::from_cents(c)))
                ],
                1i64..=15,
            )
                .prop_map(|(value, bits)| DiscountTerms {
                    value,
                    categories: CategorySet::from_bits(bits),
                }),
        )
    }

    fn arbitrary_credits() -> impl Strategy<Value = Vec<Credit>> {
        proptest::collection::vec(arbitrary_credit(), 0..10).prop_map(|mut credits| {
            for (i, c) in credits.iter_mut().enumerate() {
                c.id = CreditId(i as i64 + 1); // ids are unique in a real account
                c.remaining = Money::from_cents(c.original.cents() * ((i as i64 * 37) % 101) / 100);
            }
            credits
        })
    }

    proptest! {
        #[test]
        fn the_parts_always_sum_to_the_price(
            price in 1i64..100_000,
            category in any_category(),
            discount in arbitrary_discount(),
            credits in arbitrary_credits(),
        ) {
            let a = allocate(cents(price), category, discount.as_ref(), &credits, NOW);
            prop_assert_eq!(a.discount + a.promotional_credit + a.gift_card + a.card, cents(price));
            let drawn: Money = a.draws.iter().map(|d| d.amount).sum();
            prop_assert_eq!(drawn, a.promotional_credit + a.gift_card);
        }

        #[test]
        fn no_credit_pays_more_than_it_holds_or_outside_its_rules(
            price in 1i64..100_000,
            category in any_category(),
            credits in arbitrary_credits(),
        ) {
            let a = allocate(cents(price), category, None, &credits, NOW);
            for draw in &a.draws {
                let credit = credits.iter().find(|c| c.id == draw.credit).unwrap();
                prop_assert!(!draw.amount.is_zero());
                prop_assert!(draw.amount <= credit.remaining);
                prop_assert!(!credit.is_expired(NOW));
                prop_assert!(credit.kind.pays_for(category));
            }
            // Each credit is drawn on at most once.
            let mut ids: Vec<_> = a.draws.iter().map(|d| d.credit).collect();
            ids.dedup();
            prop_assert_eq!(ids.len(), a.draws.len());
        }

        #[test]
        fn the_card_pays_only_when_usable_credit_runs_out(
            price in 1i64..100_000,
            category in any_category(),
            credits in arbitrary_credits(),
        ) {
            let a = allocate(cents(price), category, None, &credits, NOW);
            let usable: Money = credits.iter().filter(|c| c.can_pay_for(category, NOW)).map(|c| c.remaining).sum();
            prop_assert_eq!(a.card, cents(price).saturating_sub(usable));
        }

        #[test]
        fn the_order_of_use_is_the_rules(
            price in 1i64..100_000,
            category in any_category(),
            credits in arbitrary_credits(),
        ) {
            let a = allocate(cents(price), category, None, &credits, NOW);
            let used: Vec<&Credit> = a.draws.iter()
                .map(|d| credits.iter().find(|c| c.id == d.credit).unwrap())
                .collect();
            for pair in used.windows(2) {
                let (first, next) = (pair[0], pair[1]);
                match (first.kind, next.kind) {
                    (CreditKind::GiftCard, CreditKind::Promotional(_)) => prop_assert!(false, "gift card before promotional"),
                    (CreditKind::Promotional(_), CreditKind::Promotional(_)) => prop_assert!(promotional_order(first, next) != Ordering::Greater),
                    (CreditKind::GiftCard, CreditKind::GiftCard) => prop_assert!(gift_card_order(first, next) != Ordering::Greater),
                    _ => {}
                }
            }
            // Every credit but the last one drawn is emptied.
            if let Some((_, earlier)) = a.draws.split_last() {
                for draw in earlier {
                    let credit = credits.iter().find(|c| c.id == draw.credit).unwrap();
                    prop_assert_eq!(draw.amount, credit.remaining);
                }
            }
        }
    }
}
