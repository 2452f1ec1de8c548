//! The balances of the popup (one per category, one for gift cards) and the rule
//! that computes them from credits.

use time::{Duration, OffsetDateTime};

use std::sync::Arc;

use super::category::{Categories, Category, CategoryId};
use super::credit::{Credit, CreditKind};
use super::date::LastDay;
use super::money::Money;

/// Credit ending within this long is pointed out under its balance (SPEC §7).
pub const EXPIRING_SOON: Duration = Duration::days(30);

/// The balances a shopper sees, one per category and one for gift cards, and
/// what in each ends soon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balances {
    categories: Arc<Categories>,
    /// Per category in display order, then gift cards.
    amounts: Vec<Money>,
    /// Per amount: the credit that ends first within [`EXPIRING_SOON`].
    expiring: Vec<Option<Expiring>>,
}

/// Credit that ends soon: what ends first and on which day (credits ending the
/// same day add up), and all that ends within [`EXPIRING_SOON`] by its latest day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiring {
    pub amount: Money,
    pub last_day: LastDay,
    /// Everything ending soon, `amount` included.
    pub total: Money,
    /// The last of their last days.
    pub by: LastDay,
    /// `last_day` is today.
    pub today: bool,
}

impl std::fmt::Display for Expiring {
    /// "$2.50 expires December 4, 2026", "$2.50 expires today, $8.00 in all by
    /// December 12, 2026".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.today {
            write!(f, "{} expires today", self.amount)?;
        } else {
            write!(f, "{} expires {}", self.amount, self.last_day)?;
        }
        if self.total != self.amount {
            write!(f, ", {} in all by {}", self.total, self.by)?;
        }
        Ok(())
    }
}

/// One row of the popup: what the shopper reads, the markup hook, the amount, and
/// what of it ends soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceLine<'a> {
    pub label: &'a str,
    pub hook: &'a str,
    pub amount: Money,
    pub expiring: Option<Expiring>,
}

/// The markup hook of the Gift Cards row (no category may take it).
pub const GIFT_CARDS_HOOK: &str = "gift-card";

/// What "ends soon" means at one moment, worked out once for all of an account's
/// credits: by the end of the 30th day after today (whole days, UTC); and what
/// ends by the end of today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Soon {
    until: OffsetDateTime,
    today_ends: OffsetDateTime,
}

impl From<OffsetDateTime> for Soon {
    fn from(now: OffsetDateTime) -> Soon {
        let today = now.to_offset(time::UtcOffset::UTC).date().midnight().assume_utc();
        Soon {
            until: today + EXPIRING_SOON + Duration::DAY,
            today_ends: today + Duration::DAY,
        }
    }
}

impl Balances {
    /// The balance rule of SPEC §2: a category's balance is the remaining amount of
    /// every unexpired promotional credit valid for it, so a credit valid for several
    /// categories counts in each; the Gift Cards balance is unexpired gift-card credit
    /// only. The store counts the rows of its one query with [`Balances::count`].
    pub fn tally<'a>(
        categories: Arc<Categories>,
        credits: impl IntoIterator<Item = &'a Credit>,
        now: OffsetDateTime,
    ) -> Balances {
        let mut balances = Balances::none(categories);
        let soon = Soon::from(now);
        for credit in credits.into_iter().filter(|c| !c.is_expired(now)) {
            balances.count(credit.kind, credit.remaining, credit.expires_at, &soon);
        }
        balances
    }

    /// Every balance at zero.
    pub fn none(categories: Arc<Categories>) -> Balances {
        let lines = categories.len() + 1;
        Balances {
            categories,
            amounts: vec![Money::ZERO; lines],
            expiring: vec![None; lines],
        }
    }

    fn gift_cards_slot(&self) -> usize {
        self.categories.len()
    }

    /// Adds what is left of one unexpired credit to the balances it shows in, and
    /// notes it under them when it ends within [`EXPIRING_SOON`] of `now`.
    pub fn count(
        &mut self,
        kind: CreditKind,
        remaining: Money,
        expires_at: Option<OffsetDateTime>,
        soon: &Soon,
    ) {
        // A used-up credit has nothing left to lose.
        let soon = expires_at
            .filter(|ends| !remaining.is_zero() && *ends <= soon.until)
            .map(|ends| {
                let day = LastDay::of(ends);
                Expiring {
                    amount: remaining,
                    last_day: day,
                    total: remaining,
                    by: day,
                    today: ends <= soon.today_ends,
                }
            });
        match kind {
            CreditKind::GiftCard => self.add(self.gift_cards_slot(), remaining, soon),
            CreditKind::Promotional(categories) => {
                for id in categories.ids() {
                    // A category added since this store read the table shows
                    // once the table is read again.
                    if let Some(slot) = self.categories.slot_of(id) {
                        self.add(slot, remaining, soon);
                    }
                }
            }
        }
    }

    fn add(&mut self, slot: usize, remaining: Money, soon: Option<Expiring>) {
        self.amounts[slot] = self.amounts[slot] + remaining;
        self.note_expiring(slot, soon);
    }

    /// Keeps, per line, the credit that ends first (adding those ending that day)
    /// and the total ending soon.
    fn note_expiring(&mut self, line: usize, soon: Option<Expiring>) {
        let Some(soon) = soon else { return };
        let kept = &mut self.expiring[line];
        *kept = Some(match *kept {
            None => soon,
            Some(kept) => {
                let total = kept.total + soon.total;
                let by = kept.by.max(soon.by);
                if kept.last_day < soon.last_day {
                    Expiring { total, by, ..kept }
                } else if kept.last_day == soon.last_day {
                    Expiring {
                        amount: kept.amount + soon.amount,
                        total,
                        by,
                        ..kept
                    }
                } else {
                    Expiring { total, by, ..soon }
                }
            }
        });
    }

    /// The promotional balance of one category.
    pub fn of_category(&self, category: CategoryId) -> Money {
        self.categories
            .slot_of(category)
            .map_or(Money::ZERO, |slot| self.amounts[slot])
    }

    /// The gift-card balance.
    pub fn gift_cards(&self) -> Money {
        self.amounts[self.gift_cards_slot()]
    }

    /// The popup's rows, in its order (SPEC §1.5, §6): the categories by position,
    /// with Gift Cards after Instant Video.
    pub fn lines(&self) -> Vec<BalanceLine<'_>> {
        let line = |label, hook, slot: usize| BalanceLine {
            label,
            hook,
            amount: self.amounts[slot],
            expiring: self.expiring[slot],
        };
        // A hidden category's row shows only while it holds credit: money is
        // never hidden from its owner.
        let held = |slot: usize, category: &Category| {
            !category.is_hidden() || !self.amounts[slot].is_zero() || self.expiring[slot].is_some()
        };
        let before_gift_cards = self.categories.before_gift_cards();
        let mut lines = Vec::with_capacity(self.amounts.len());
        for (slot, category) in self.categories.iter().enumerate() {
            if slot == before_gift_cards {
                lines.push(line("Gift Cards", GIFT_CARDS_HOOK, self.gift_cards_slot()));
            }
            if held(slot, category) {
                lines.push(line(category.label(), category.slug(), slot));
            }
        }
        if before_gift_cards >= self.categories.len() {
            lines.push(line("Gift Cards", GIFT_CARDS_HOOK, self.gift_cards_slot()));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::category::{Category, CategorySet, seeded, set};
    use crate::domain::credit::CreditId;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

    fn tally(credits: &[Credit]) -> Balances {
        Balances::tally(Arc::new(seeded()), credits, NOW)
    }

    fn id(slug: &str) -> CategoryId {
        seeded().by_slug(slug).unwrap().id()
    }

    fn promo(cents: i64, categories: &str, expires_at: Option<OffsetDateTime>) -> Credit {
        Credit {
            id: CreditId(cents),
            kind: CreditKind::Promotional(set(categories)),
            original: Money::from_cents(cents),
            remaining: Money::from_cents(cents),
            expires_at,
            created_at: datetime!(2026-01-01 0:00 UTC),
        }
    }

    fn gift_card(cents: i64) -> Credit {
        Credit {
            kind: CreditKind::GiftCard,
            ..promo(cents, "music", None)
        }
    }

    #[test]
    fn no_credit_means_five_zero_balances() {
        let balances = tally(&[]);
        assert!(balances.lines().iter().all(|line| line.amount.is_zero()));
    }

    #[test]
    fn a_hidden_category_shows_in_the_popup_only_while_it_holds_credit() {
        let hidden: Vec<Category> = seeded()
            .iter()
            .map(|category| {
                let hide = matches!(category.slug(), "kindle" | "software");
                category.clone().hidden_if(hide)
            })
            .collect();
        let categories = Arc::new(Categories::new(hidden));
        let rows = |credits: &[Credit]| -> Vec<String> {
            Balances::tally(categories.clone(), credits, NOW)
                .lines()
                .iter()
                .map(|line| format!("{} {}", line.hook, line.amount))
                .collect()
        };
        assert_eq!(rows(&[]), ["music $0.00", "video $0.00", "gift-card $0.00"]);
        assert_eq!(
            rows(&[promo(250, "software", None)]),
            ["music $0.00", "video $0.00", "gift-card $0.00", "software $2.50"]
        );
    }

    #[test]
    fn a_credit_valid_for_two_categories_shows_in_both() {
        let balances = tally(&[promo(1000, "music,kindle", None)]);
        assert_eq!(balances.of_category(id("music")), Money::from_cents(1000));
        assert_eq!(balances.of_category(id("kindle")), Money::from_cents(1000));
        assert_eq!(balances.of_category(id("video")), Money::ZERO);
        assert_eq!(balances.gift_cards(), Money::ZERO);
    }

    #[test]
    fn spending_part_of_a_shared_credit_lowers_both_balances_alike() {
        let mut shared = promo(1000, "music,kindle", None);
        shared.remaining = Money::from_cents(600); // $4 spent on a Kindle book
        let balances = tally(&[shared]);
        assert_eq!(balances.of_category(id("music")), Money::from_cents(600));
        assert_eq!(balances.of_category(id("kindle")), Money::from_cents(600));
    }

    #[test]
    fn expired_credit_counts_nowhere() {
        let expired = promo(500, "music", Some(NOW));
        let live = promo(300, "music", Some(NOW + time::Duration::DAY));
        let balances = tally(&[expired, live]);
        assert_eq!(balances.of_category(id("music")), Money::from_cents(300));
    }

    #[test]
    fn gift_card_credit_shows_only_on_the_gift_card_line() {
        let balances = tally(&[gift_card(2500)]);
        assert_eq!(balances.gift_cards(), Money::from_cents(2500));
        for category in seeded().iter() {
            assert_eq!(balances.of_category(category.id()), Money::ZERO);
        }
    }

    #[test]
    fn credit_ending_within_thirty_days_is_pointed_out_under_each_balance_it_shows_in() {
        let mut soon = promo(250, "music,kindle", Some(datetime!(2026-12-05 0:00 UTC)));
        soon.remaining = Money::from_cents(250);
        let same_day = promo(100, "music", Some(datetime!(2026-12-05 0:00 UTC)));
        let later = promo(700, "music", Some(datetime!(2026-12-20 0:00 UTC)));
        let far = promo(900, "video", Some(NOW + time::Duration::days(31)));
        let balances = tally(&[later, soon, same_day, far]);
        let lines = balances.lines();
        let expiring = |hook: &str| {
            lines
                .iter()
                .find(|line| line.hook == hook)
                .and_then(|line| line.expiring)
                .map(|e| e.to_string())
        };
        assert_eq!(
            expiring("music").as_deref(),
            Some("$3.50 expires December 4, 2026, $10.50 in all by December 19, 2026")
        );
        assert_eq!(
            expiring("kindle").as_deref(),
            Some("$2.50 expires December 4, 2026")
        );
        assert_eq!(expiring("video"), None, "more than 30 days away");
        assert_eq!(expiring("software"), None);
    }

    #[test]
    fn the_thirtieth_day_counts_as_soon_and_the_last_day_today_says_so() {
        // NOW is November 27: the 30th day after is December 27.
        let thirtieth = promo(100, "software", Some(datetime!(2026-12-28 0:00 UTC)));
        let today = promo(200, "video", Some(datetime!(2026-11-28 0:00 UTC)));
        let balances = tally(&[thirtieth, today]);
        let lines = balances.lines();
        let shown: Vec<String> = lines
            .iter()
            .filter_map(|line| line.expiring.map(|e| format!("{} {e}", line.hook)))
            .collect();
        assert_eq!(
            shown,
            [
                "video $2.00 expires today",
                "software $1.00 expires December 27, 2026"
            ]
        );
    }

    #[test]
    fn the_demo_account_adds_up_to_the_spec_figures() {
        let mut music = promo(500, "music", Some(NOW + time::Duration::days(30)));
        music.remaining = Money::from_cents(401);
        let credits = [
            promo(1000, "music,kindle", Some(NOW + time::Duration::days(90))),
            music,
            promo(350, "video", None),
            gift_card(2500),
        ];
        let shown: Vec<String> = tally(&credits)
            .lines()
            .iter()
            .map(|line| format!("{} {}", line.hook, line.amount))
            .collect();
        assert_eq!(
            shown,
            [
                "music $14.01",
                "kindle $10.00",
                "video $3.50",
                "gift-card $25.00",
                "software $0.00"
            ]
        );
    }

    #[test]
    fn a_category_added_later_has_its_row_after_software() {
        let mut list: Vec<Category> = seeded().iter().cloned().collect();
        let audiobooks = CategoryId::new(5).unwrap();
        list.push(Category::new(
            audiobooks,
            "audiobooks".into(),
            "Audiobooks".into(),
            5,
        ));
        let categories = Arc::new(Categories::new(list));
        let both = CategorySet::EMPTY.with(audiobooks).with(id("music"));
        let credits = [
            Credit {
                kind: CreditKind::Promotional(both),
                ..promo(700, "music", None)
            },
            gift_card(100),
        ];
        let shown: Vec<String> = Balances::tally(categories, &credits, NOW)
            .lines()
            .iter()
            .map(|line| format!("{} {} {}", line.hook, line.label, line.amount))
            .collect();
        assert_eq!(
            shown,
            [
                "music Digital Music $7.00",
                "kindle Kindle $0.00",
                "video Instant Video $0.00",
                "gift-card Gift Cards $1.00",
                "software Software $0.00",
                "audiobooks Audiobooks $7.00"
            ]
        );
    }

    #[test]
    fn credit_in_a_category_this_store_does_not_know_yet_counts_nowhere() {
        let unknown = CategorySet::EMPTY.with(CategoryId::new(9).unwrap());
        let credit = Credit {
            kind: CreditKind::Promotional(unknown),
            ..promo(500, "music", None)
        };
        assert!(tally(&[credit]).lines().iter().all(|line| line.amount.is_zero()));
    }
}
