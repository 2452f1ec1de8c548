//! Codes: creating them, checking them and redeeming them into credit or discounts.

use postgres::{GenericClient, Row, Transaction};
use time::OffsetDateTime;

use super::categories::insert_category_refs;
use super::discounts::insert_discount;
use super::{PostgresStore, StoreError, StoreFailure, instant, unix};
use crate::domain::{CategorySet, CodeRefusal, PromoCode, UserId};
use crate::store::codes::{CodeRecord, CreateCodeError, NewCode, RedeemError, Redeemed};
use crate::store::credits::insert_credit;
use crate::store::shared::codes::{GrantColumns, Reward, grant_from_columns};
use crate::store::sql::PostgresConnection;

impl From<postgres::Error> for RedeemError {
    fn from(error: postgres::Error) -> Self {
        RedeemError::Store(error.into())
    }
}

impl StoreFailure for RedeemError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            RedeemError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl From<postgres::Error> for CreateCodeError {
    fn from(error: postgres::Error) -> Self {
        CreateCodeError::Store(error.into())
    }
}

impl StoreFailure for CreateCodeError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CreateCodeError::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// A code's columns, its categories folded into one value (see
/// `CategorySet::from_bits`).
const CODE_COLUMNS: &str = "id, code, description, kind, amount_cents, percent_off, \
     (SELECT COALESCE(bit_or(1::BIGINT << (k.category_id::INT - 1)), 0) FROM code_categories k \
      WHERE k.code_id = codes.id), \
     valid_days, redeem_by, max_redemptions, redemptions, active";

fn code_from_row(row: &Row) -> Result<CodeRecord, StoreError> {
    let kind: &str = row.get(3);
    let percent = row
        .get::<_, Option<i64>>(5)
        .map(|percent| {
            u8::try_from(percent).map_err(|_| StoreError::Corrupt(format!("a code of {percent} % off")))
        })
        .transpose()?;
    let grant = grant_from_columns(
        kind,
        row.get(4),
        percent,
        CategorySet::from_bits(row.get(6)),
        row.get(7),
    )
    .ok_or_else(|| StoreError::Corrupt(format!("code kind {kind:?} without its value")))?;
    Ok(CodeRecord {
        id: row.get(0),
        code: row.get(1),
        description: row.get(2),
        grant,
        redeem_by: row.get::<_, Option<i64>>(8).map(instant).transpose()?,
        max_redemptions: row.get(9),
        redemptions: row.get(10),
        active: row.get(11),
    })
}

/// The code named `code`, active or not.
fn select_code(client: &mut impl GenericClient, code: &PromoCode) -> Result<Option<CodeRecord>, StoreError> {
    client
        .query_opt(
            &format!("SELECT {CODE_COLUMNS} FROM codes WHERE code = $1"),
            &[&code.as_str()],
        )?
        .as_ref()
        .map(code_from_row)
        .transpose()
}

/// Whether `user` may redeem `code` at `now`; the code's terms when so.
pub(crate) fn check_redeemable(
    client: &mut impl GenericClient,
    user: UserId,
    code: &PromoCode,
    now: OffsetDateTime,
) -> Result<CodeRecord, RedeemError> {
    let found = select_code(client, code)?;
    crate::store::shared::codes::check_redeemable(found, now, |record| {
        Ok(client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM code_redemptions WHERE code_id = $1 AND user_id = $2)",
                &[&record.id, &user.0],
            )?
            .get(0))
    })
}

/// Redeems inside the caller's transaction (checkout redeems a typed code this way,
/// so that a refused order un-redeems it by rolling back).
pub(crate) fn redeem_in(
    tx: &mut Transaction<'_>,
    user: UserId,
    code: &PromoCode,
    now: OffsetDateTime,
) -> Result<(CodeRecord, Redeemed), RedeemError> {
    let record = check_redeemable(tx, user, code, now)?;
    // The cap is enforced by the UPDATE itself, so it holds whatever the checks saw.
    let counted = tx.execute(
        "UPDATE codes SET redemptions = redemptions + 1
         WHERE id = $1 AND (max_redemptions IS NULL OR redemptions < max_redemptions)",
        &[&record.id],
    )?;
    if counted != 1 {
        return Err(CodeRefusal::Exhausted.into());
    }
    let redemption: i64 = tx
        .query_opt(
            "INSERT INTO code_redemptions (code_id, user_id, redeemed_at) VALUES ($1, $2, $3)
             ON CONFLICT (code_id, user_id) DO NOTHING RETURNING id",
            &[&record.id, &user.0, &unix(now)],
        )?
        .ok_or(CodeRefusal::AlreadyRedeemed)?
        .get(0);
    let reward = Reward::of(&record, redemption, now);
    let id = match &reward {
        Reward::Credit(credit) => {
            insert_credit(&mut PostgresConnection::unprepared(tx), user, credit, now)?.0
        }
        Reward::Discount { terms, description } => {
            insert_discount(tx, user, description, *terms, Some(redemption), now)?
        }
    };
    Ok((record, reward.redeemed(id)))
}

/// Inserts a code in the caller's transaction; `None` when the code exists already.
pub(crate) fn insert_code(
    tx: &mut Transaction<'_>,
    new: &NewCode,
    now: OffsetDateTime,
) -> Result<Option<i64>, StoreError> {
    let columns = GrantColumns::of(new.grant);
    let inserted = tx.query_opt(
        "INSERT INTO codes (code, kind, description, amount_cents, percent_off,
                            valid_days, redeem_by, max_redemptions, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (code) DO NOTHING RETURNING id",
        &[
            &new.code.as_str(),
            &columns.kind,
            &new.description,
            &columns.amount_cents,
            &columns.percent_off.map(i64::from),
            &columns.valid_days,
            &new.redeem_by.map(unix),
            &new.max_redemptions.map(i64::from),
            &unix(now),
        ],
    )?;
    let Some(row) = inserted else {
        return Ok(None);
    };
    let id: i64 = row.get(0);
    insert_category_refs(
        tx,
        "INSERT INTO code_categories (code_id, category_id) VALUES ($1, $2)",
        id,
        columns.categories,
    )?;
    Ok(Some(id))
}

impl PostgresStore {
    /// Claims a code for an account: once per account, never past its deadline or
    /// its cap, even when many shoppers redeem at the same instant (SERIALIZABLE:
    /// of redemptions that overlap, one commits and the others run again, seeing it).
    pub fn redeem_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<Redeemed, RedeemError> {
        self.transaction(|tx| redeem_in(tx, user, code, now).map(|(_, redeemed)| redeemed))
    }

    /// The code's terms if `user` could redeem it now, without redeeming it.
    pub fn redeemable_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<CodeRecord, RedeemError> {
        self.read_consistent(|tx| Ok(check_redeemable(tx, user, code, now)))?
    }

    pub fn create_code(&self, new: &NewCode, now: OffsetDateTime) -> Result<i64, CreateCodeError> {
        self.transaction(|tx| {
            insert_code(tx, new, now)?.ok_or_else(|| CreateCodeError::Taken(new.code.as_str().to_owned()))
        })
    }

    /// A code and its terms, active or not (for operators).
    pub fn code_named(&self, code: &PromoCode) -> Result<Option<CodeRecord>, StoreError> {
        self.read(|client| select_code(client, code))
    }

    /// Stops a code from being redeemed, from the next attempt on (a checkout
    /// redeeming it meanwhile is counted wholly before: the two transactions
    /// serialize). What it granted already stays. `None` for an unknown code,
    /// otherwise whether it was active until now.
    pub fn deactivate_code(&self, code: &PromoCode) -> Result<Option<bool>, StoreError> {
        self.write(|tx| {
            let was_active: Option<bool> = tx
                .query_opt("SELECT active FROM codes WHERE code = $1", &[&code.as_str()])?
                .map(|row| row.get(0));
            if was_active == Some(true) {
                tx.execute(
                    "UPDATE codes SET active = FALSE WHERE code = $1",
                    &[&code.as_str()],
                )?;
            }
            Ok(was_active)
        })
    }

    /// Every code, by name in byte order (as the SQLite engine sorts them).
    pub fn list_codes(&self) -> Result<Vec<CodeRecord>, StoreError> {
        self.read(|client| {
            client
                .query(
                    &format!("SELECT {CODE_COLUMNS} FROM codes ORDER BY code COLLATE \"C\""),
                    &[],
                )?
                .iter()
                .map(code_from_row)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::domain::category::set;
    use crate::domain::{CodeGrant, CreditKind, DiscountTerms, DiscountValue, Money};
    use crate::store::postgres::credits::tests::{account, test_store};

    fn code(name: &str) -> PromoCode {
        PromoCode::parse(name).unwrap()
    }

    fn new_code(name: &str, grant: CodeGrant, max_redemptions: Option<u32>) -> NewCode {
        NewCode {
            code: code(name),
            description: format!("{name} for tests"),
            grant,
            redeem_by: None,
            max_redemptions,
        }
    }

    fn music_credit(cents: i64) -> CodeGrant {
        CodeGrant::Credit {
            amount: Money::from_cents(cents),
            categories: set("music"),
            valid_for: None,
        }
    }

    #[test]
    fn twenty_redeemers_at_once_of_a_code_capped_at_five_make_five_credits() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        store
            .create_code(&new_code("RUSH-5", music_credit(500), Some(5)), now)
            .unwrap();
        let shoppers: Vec<UserId> = (0..20)
            .map(|i| account(&store, &format!("rush{i}@example.com")))
            .collect();

        let redeemers: Vec<_> = shoppers
            .iter()
            .map(|&user| {
                let store = store.clone();
                std::thread::spawn(move || store.redeem_code(user, &code("RUSH-5"), now))
            })
            .collect();
        let outcomes: Vec<_> = redeemers.into_iter().map(|r| r.join().unwrap()).collect();

        let redeemed = outcomes.iter().filter(|o| o.is_ok()).count();
        let exhausted = outcomes
            .iter()
            .filter(|o| matches!(o, Err(RedeemError::Refused(CodeRefusal::Exhausted))))
            .count();
        assert_eq!((redeemed, exhausted), (5, 15), "{outcomes:?}");
        assert_eq!(store.code_named(&code("RUSH-5")).unwrap().unwrap().redemptions, 5);
        let with_credit = shoppers
            .iter()
            .filter(|&&user| !store.credits_of(user).unwrap().is_empty())
            .count();
        assert_eq!(with_credit, 5);
        assert!(store.verify_ledger().unwrap().is_empty());
    }

    #[test]
    fn one_account_redeeming_a_code_at_once_from_many_places_redeems_it_once() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        store
            .create_code(&new_code("ONCE", music_credit(300), None), now)
            .unwrap();
        let user = account(&store, "shopper@example.com");

        let redeemers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || store.redeem_code(user, &code("ONCE"), now))
            })
            .collect();
        let outcomes: Vec<_> = redeemers.into_iter().map(|r| r.join().unwrap()).collect();

        let already = outcomes
            .iter()
            .filter(|o| matches!(o, Err(RedeemError::Refused(CodeRefusal::AlreadyRedeemed))))
            .count();
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
        assert_eq!(already, 7, "{outcomes:?}");
        assert_eq!(store.credits_of(user).unwrap().len(), 1);
        assert_eq!(store.code_named(&code("ONCE")).unwrap().unwrap().redemptions, 1);
    }

    #[test]
    fn each_kind_of_code_puts_its_reward_into_the_account() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let now = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(); // 2026-01-01 00:00 UTC
        let user = account(&store, "shopper@example.com");
        let week = CodeGrant::Credit {
            amount: Money::from_cents(500),
            categories: set("music,video"),
            valid_for: Some(Duration::days(7)),
        };
        let gift = CodeGrant::GiftCard {
            amount: Money::from_cents(2000),
        };
        let discount = CodeGrant::Discount(DiscountTerms {
            value: DiscountValue::Percent(15),
            categories: set("kindle"),
        });
        for (name, grant) in [("WEEK", week), ("GIFT", gift), ("TAKE-15", discount)] {
            store.create_code(&new_code(name, grant, None), now).unwrap();
            assert_eq!(store.code_named(&code(name)).unwrap().unwrap().grant, grant);
        }

        let credit = store.redeem_code(user, &code("WEEK"), now).unwrap();
        let gift_card = store.redeem_code(user, &code("GIFT"), now).unwrap();
        let saved = store.redeem_code(user, &code("TAKE-15"), now).unwrap();

        let Redeemed::Credit {
            credit, expires_at, ..
        } = credit
        else {
            panic!("{credit:?}")
        };
        assert_eq!(expires_at, week.credit_expiry(now));
        assert!(matches!(gift_card, Redeemed::GiftCard { amount, .. } if amount == Money::from_cents(2000)));
        let Redeemed::Discount { discount_id, .. } = saved else {
            panic!("{saved:?}")
        };
        let credits = store.credits_of(user).unwrap();
        assert_eq!(credits.len(), 2);
        let promotional = credits.iter().find(|c| c.id == credit).unwrap();
        assert_eq!(promotional.kind, CreditKind::Promotional(set("music,video")));
        assert_eq!(promotional.expires_at, expires_at);
        let discounts = store.discounts_of(user).unwrap();
        assert_eq!(discounts.len(), 1);
        assert_eq!(discounts[0].id, discount_id);
        assert_eq!(
            discounts[0].terms,
            DiscountTerms {
                value: DiscountValue::Percent(15),
                categories: set("kindle"),
            }
        );
        assert!(discounts[0].is_usable(now));
        assert!(store.verify_ledger().unwrap().is_empty());
    }

    #[test]
    fn a_code_past_its_deadline_or_redeemed_already_is_refused_and_a_preview_redeems_nothing() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let user = account(&store, "shopper@example.com");
        store
            .create_code(
                &NewCode {
                    redeem_by: Some(now - Duration::hours(1)),
                    ..new_code("LATE", music_credit(100), None)
                },
                now,
            )
            .unwrap();
        store
            .create_code(&new_code("FINE", music_credit(100), None), now)
            .unwrap();

        let late = store.redeem_code(user, &code("LATE"), now);
        assert!(
            matches!(late, Err(RedeemError::Refused(CodeRefusal::PastDeadline(_)))),
            "{late:?}"
        );
        let previewed = store.redeemable_code(user, &code("FINE"), now).unwrap();
        assert_eq!(previewed.redemptions, 0);
        assert!(store.credits_of(user).unwrap().is_empty());
        store.redeem_code(user, &code("FINE"), now).unwrap();
        let again = store.redeemable_code(user, &code("FINE"), now);
        assert!(
            matches!(again, Err(RedeemError::Refused(CodeRefusal::AlreadyRedeemed))),
            "{again:?}"
        );
        let unknown = store.redeem_code(user, &code("NO-SUCH-CODE"), now);
        assert!(matches!(unknown, Err(RedeemError::Refused(CodeRefusal::Unknown))));
    }

    #[test]
    fn a_deactivated_code_is_refused_like_an_unknown_one() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let ann = account(&store, "ann@example.com");
        let gift = code("GIFT-20");
        store
            .create_code(
                &new_code(
                    "GIFT-20",
                    CodeGrant::GiftCard {
                        amount: Money::from_cents(2000),
                    },
                    None,
                ),
                now,
            )
            .unwrap();

        assert_eq!(store.deactivate_code(&gift).unwrap(), Some(true));
        assert_eq!(store.deactivate_code(&gift).unwrap(), Some(false));

        let redeemed = store.redeem_code(ann, &gift, now);
        assert!(
            matches!(redeemed, Err(RedeemError::Refused(CodeRefusal::Unknown))),
            "{redeemed:?}"
        );
        let previewed = store.redeemable_code(ann, &gift, now);
        assert!(matches!(
            previewed,
            Err(RedeemError::Refused(CodeRefusal::Unknown))
        ));
        let record = store.code_named(&gift).unwrap().unwrap();
        assert_eq!((record.active, record.redemptions), (false, 0));
        assert_eq!(store.deactivate_code(&code("NO-SUCH-CODE")).unwrap(), None);
    }

    #[test]
    fn a_code_is_created_once_and_codes_are_listed_in_byte_order() {
        let Some((_database, store)) = test_store() else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        for name in ["SAVE10", "SAVE-5", "ABC1"] {
            store
                .create_code(&new_code(name, music_credit(100), Some(3)), now)
                .unwrap();
        }

        let again = store.create_code(&new_code("SAVE10", music_credit(900), None), now);

        assert!(
            matches!(again, Err(CreateCodeError::Taken(ref taken)) if taken == "SAVE10"),
            "{again:?}"
        );
        let listed: Vec<String> = store.list_codes().unwrap().into_iter().map(|c| c.code).collect();
        assert_eq!(listed, ["ABC1", "SAVE-5", "SAVE10"]);
        let kept = store.code_named(&code("SAVE10")).unwrap().unwrap();
        assert_eq!((kept.grant, kept.max_redemptions), (music_credit(100), Some(3)));
    }
}
