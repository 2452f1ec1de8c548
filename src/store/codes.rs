//! Codes: creating them, checking them, redeeming them into credit or discounts,
//! and switching them off and on.

use time::OffsetDateTime;

use super::audit::{self, AuditAction, Change};
use super::categories::{hidden_of, insert_category_refs};
use super::credits::insert_credit;
use super::discounts::insert_discount;
use super::sql::{Connection, Row, page_limit, sql, unix};
use super::{Page, Store, StoreError, StoreFailure};
use crate::domain::{
    Actor, Categories, CategorySet, CodeGrant, CodeKind, CodeRefusal, CreditId, DiscountTerms, DiscountValue,
    LastDay, Money, PromoCode, UserId,
};
use crate::store::rules::codes::{GrantColumns, Reward, grant_from_columns};

/// A code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub id: i64,
    pub code: String,
    pub description: String,
    pub grant: CodeGrant,
    pub redeem_by: Option<OffsetDateTime>,
    pub max_redemptions: Option<i64>,
    pub redemptions: i64,
    /// `false` once an operator has deactivated it: then it is refused like an
    /// unknown code.
    pub active: bool,
    /// A gift card a shopper bought for someone: its code is the recipient's
    /// alone, so staff see it masked.
    pub bought: bool,
}

/// Where a code stands now, for staff: switched off by an operator, past its
/// last day, redeemed as often as its cap allows, or redeemable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    Active,
    SwitchedOff,
    PastDeadline,
    UsedUp,
}

impl CodeState {
    pub const ALL: [CodeState; 4] = [
        CodeState::Active,
        CodeState::SwitchedOff,
        CodeState::PastDeadline,
        CodeState::UsedUp,
    ];

    /// Its name in a filter's address and in CSV: `active`, `off`, `expired`, `used_up`.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeState::Active => "active",
            CodeState::SwitchedOff => "off",
            CodeState::PastDeadline => "expired",
            CodeState::UsedUp => "used_up",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            CodeState::Active => "active",
            CodeState::SwitchedOff => "switched off",
            CodeState::PastDeadline => "past its deadline",
            CodeState::UsedUp => "used up",
        }
    }

    pub fn parse(name: &str) -> Option<CodeState> {
        CodeState::ALL
            .into_iter()
            .find(|state| state.as_str() == name.trim())
    }
}

impl CodeRecord {
    /// The code as staff see it: a bought gift card's masked but for its last
    /// four characters (`GC-****-****-****-4D53`), any other whole.
    pub fn shown(&self) -> String {
        if self.bought {
            let last: String = self
                .code
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("GC-****-****-****-{last}")
        } else {
            self.code.clone()
        }
    }
}

impl CodeRecord {
    /// Where the code stands at `now` (switched off first, then past its last
    /// day, then used up: the first reason a shopper would be refused).
    pub fn state(&self, now: OffsetDateTime) -> CodeState {
        if !self.active {
            CodeState::SwitchedOff
        } else if self.redeem_by.is_some_and(|deadline| deadline <= now) {
            CodeState::PastDeadline
        } else if self.max_redemptions.is_some_and(|cap| self.redemptions >= cap) {
            CodeState::UsedUp
        } else {
            CodeState::Active
        }
    }
}

impl CodeRecord {
    /// Why no one can redeem the code at `now` though it is switched on, if so.
    pub fn why_not_redeemable(&self, now: OffsetDateTime) -> Option<String> {
        match self.state(now) {
            CodeState::PastDeadline => self
                .redeem_by
                .map(|deadline| format!("its last day to redeem was {}", LastDay::of(deadline))),
            CodeState::UsedUp => self
                .max_redemptions
                .map(|cap| format!("it has been redeemed {} of {cap} times", self.redemptions)),
            CodeState::Active | CodeState::SwitchedOff => None,
        }
    }
}

/// Which codes to list; every field set narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeFilter {
    /// The code or its description contains this text, in any case.
    pub text: Option<String>,
    pub kind: Option<CodeKind>,
    /// In this state at the instant the list is read.
    pub state: Option<CodeState>,
}

impl CodeFilter {
    fn lets_through(&self, code: &CodeRecord, wanted: Option<&str>, now: OffsetDateTime) -> bool {
        wanted.is_none_or(|wanted| {
            (!code.bought && code.code.to_lowercase().contains(wanted))
                || code.description.to_lowercase().contains(wanted)
        }) && self.kind.is_none_or(|kind| code.grant.code_kind() == kind)
            && self.state.is_none_or(|state| code.state(now) == state)
    }
}

/// An account's redemption of a code, and what it gave (for staff following a
/// leaked code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRedemption {
    /// The redemption's number (the cursor of its page).
    pub id: i64,
    pub user: UserId,
    pub email: String,
    pub name: String,
    pub redeemed_at: OffsetDateTime,
    pub gave: RedemptionGave,
}

/// What one redemption put into the account, as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedemptionGave {
    /// A credit (promotional or gift card) and what is left of it.
    Credit {
        credit: CreditId,
        amount: Money,
        remaining: Money,
    },
    /// A discount, and the order that used it, if one has.
    Discount {
        discount_id: i64,
        used_by_order: Option<i64>,
    },
    /// Nothing found (the credit or discount is gone).
    Nothing,
}

/// The field of a code's terms a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeField {
    Code,
    Kind,
    Amount,
    Percent,
    Categories,
    ValidDays,
    RedeemBy,
    MaxRedemptions,
    Description,
}

impl CodeField {
    /// The command's flag: `--amount`.
    pub fn flag(self) -> &'static str {
        match self {
            CodeField::Code => "--code",
            CodeField::Kind => "--kind",
            CodeField::Amount => "--amount",
            CodeField::Percent => "--percent",
            CodeField::Categories => "--categories",
            CodeField::ValidDays => "--valid-days",
            CodeField::RedeemBy => "--redeem-by",
            CodeField::MaxRedemptions => "--max-redemptions",
            CodeField::Description => "--description",
        }
    }

    /// The console form's field name: `amount`.
    pub fn name(self) -> &'static str {
        match self {
            CodeField::Code => "code",
            CodeField::Kind => "kind",
            CodeField::Amount => "amount",
            CodeField::Percent => "percent",
            CodeField::Categories => "categories",
            CodeField::ValidDays => "valid_days",
            CodeField::RedeemBy => "redeem_by",
            CodeField::MaxRedemptions => "max_redemptions",
            CodeField::Description => "description",
        }
    }

    /// The console form's label: `Amount`.
    pub fn label(self) -> &'static str {
        match self {
            CodeField::Code => "Code",
            CodeField::Kind => "Kind",
            CodeField::Amount => "Amount",
            CodeField::Percent => "Percent off",
            CodeField::Categories => "Categories",
            CodeField::ValidDays => "Days the credit stays valid",
            CodeField::RedeemBy => "Last day to redeem",
            CodeField::MaxRedemptions => "Most redemptions in all",
            CodeField::Description => "Description",
        }
    }
}

/// Why typed terms make no code: the field at fault and what is wrong with it
/// (without the field's name, which the command and the console each write
/// their own way).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CodeProblem {
    pub field: CodeField,
    pub message: String,
}

/// A code's terms as an operator typed them, in a command's flags or the
/// console's form; empty text counts as not given.
#[derive(Debug, Clone, Copy, Default)]
pub struct TypedCode<'a> {
    pub code: &'a str,
    /// `credit`, `gift_card` (or `gift-card`), `discount`.
    pub kind: &'a str,
    pub amount: Option<&'a str>,
    pub percent: Option<&'a str>,
    /// Category slugs, comma-separated.
    pub categories: Option<&'a str>,
    pub valid_days: Option<&'a str>,
    /// The last day (`YYYY-MM-DD`, UTC).
    pub redeem_by: Option<&'a str>,
    pub max_redemptions: Option<&'a str>,
    pub description: &'a str,
}

/// The longest description a code takes.
const DESCRIPTION_CHARS: usize = 200;

/// A whole number in `range`, typed.
fn whole_number(typed: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
    let typed = typed.trim();
    if typed.is_empty() || !typed.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    typed.parse().ok().filter(|number| range.contains(number))
}

/// A code about to be created by an operator.
#[derive(Debug, Clone)]
pub struct NewCode {
    pub code: PromoCode,
    pub description: String,
    pub grant: CodeGrant,
    pub redeem_by: Option<OffsetDateTime>,
    pub max_redemptions: Option<u32>,
}

/// An account that redeemed a code, and when (for staff tracing a leaked code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub user: UserId,
    pub email: String,
    pub name: String,
    pub redeemed_at: OffsetDateTime,
}

/// What a redemption put into the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    Credit {
        credit: CreditId,
        amount: Money,
        categories: CategorySet,
        expires_at: Option<OffsetDateTime>,
    },
    GiftCard {
        credit: CreditId,
        amount: Money,
    },
    Discount {
        discount_id: i64,
        terms: DiscountTerms,
        description: String,
    },
}

impl NewCode {
    /// The code typed terms describe, by the rules every way of creating a code
    /// shares (`storecredit code create`, the console): a credit code needs an
    /// amount and categories; a gift card an amount only (valid for everything,
    /// redeemable once unless a cap says otherwise); a discount a percentage or
    /// an amount, in the categories named or every category there is now. Money
    /// is read as `12.50`, `12` or `$12.50`; a last day to redeem must not have
    /// passed at `now`.
    pub fn read(
        typed: &TypedCode<'_>,
        categories: &Categories,
        now: OffsetDateTime,
    ) -> Result<NewCode, CodeProblem> {
        let problem = |field, message: String| CodeProblem { field, message };
        let given = |text: Option<&str>| -> Option<String> {
            text.map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        let code =
            PromoCode::parse(typed.code).map_err(|error| problem(CodeField::Code, error.to_string()))?;
        let kind = CodeKind::parse(typed.kind)
            .ok_or_else(|| problem(CodeField::Kind, "choose credit, gift card or discount".to_owned()))?;
        let (amount, percent) = (given(typed.amount), given(typed.percent));
        let positive = |typed: &str| -> Result<Money, CodeProblem> {
            let amount =
                Money::parse(typed).map_err(|error| problem(CodeField::Amount, error.to_string()))?;
            if amount.is_zero() {
                return Err(problem(CodeField::Amount, "must be more than $0.00".to_owned()));
            }
            Ok(amount)
        };
        let needs_amount = || {
            problem(
                CodeField::Amount,
                format!("a {} code needs an amount, such as 10.00", kind.label()),
            )
        };
        if percent.is_some() && kind != CodeKind::Discount {
            return Err(problem(
                CodeField::Percent,
                "only a discount code takes a percentage".to_owned(),
            ));
        }
        let named = given(typed.categories)
            .map(|list| {
                let set = categories
                    .parse_list(&list)
                    .map_err(|error| problem(CodeField::Categories, error.to_string()))?;
                if set.is_empty() {
                    return Err(problem(
                        CodeField::Categories,
                        format!(
                            "name at least one category: {}",
                            categories.slugs(categories.every())
                        ),
                    ));
                }
                Ok(set)
            })
            .transpose()?;
        let valid_days = given(typed.valid_days)
            .map(|days| {
                if kind != CodeKind::Credit {
                    return Err(problem(
                        CodeField::ValidDays,
                        "only a credit code's credit has days of validity".to_owned(),
                    ));
                }
                whole_number(&days, 1..=3650).ok_or_else(|| {
                    problem(
                        CodeField::ValidDays,
                        "a whole number of days from 1 to 3650".to_owned(),
                    )
                })
            })
            .transpose()?;
        let grant = match kind {
            CodeKind::Credit => CodeGrant::Credit {
                amount: positive(&amount.ok_or_else(needs_amount)?)?,
                categories: named.ok_or_else(|| {
                    problem(
                        CodeField::Categories,
                        "a credit code needs at least one category".to_owned(),
                    )
                })?,
                valid_for: valid_days.map(|days| time::Duration::days(days.into())),
            },
            CodeKind::GiftCard => {
                if named.is_some() {
                    return Err(problem(
                        CodeField::Categories,
                        "a gift card code is valid for everything: name no categories".to_owned(),
                    ));
                }
                CodeGrant::GiftCard {
                    amount: positive(&amount.ok_or_else(needs_amount)?)?,
                }
            }
            CodeKind::Discount => {
                let value = match (percent, amount) {
                    (Some(percent), None) => DiscountValue::Percent(
                        whole_number(&percent, 1..=100)
                            .and_then(|percent| u8::try_from(percent).ok())
                            .ok_or_else(|| {
                                problem(CodeField::Percent, "a whole number from 1 to 100".to_owned())
                            })?,
                    ),
                    (None, Some(amount)) => DiscountValue::AmountOff(positive(&amount)?),
                    (Some(_), Some(_)) => {
                        return Err(problem(
                            CodeField::Percent,
                            "a discount code takes a percentage or an amount, not both".to_owned(),
                        ));
                    }
                    (None, None) => {
                        return Err(problem(
                            CodeField::Percent,
                            "a discount code needs a percentage or an amount".to_owned(),
                        ));
                    }
                };
                CodeGrant::Discount(DiscountTerms {
                    value,
                    categories: named.unwrap_or_else(|| categories.every()),
                })
            }
        };
        let redeem_by = given(typed.redeem_by)
            .map(|day| {
                let ends = LastDay::parse(&day)
                    .map_err(|error| problem(CodeField::RedeemBy, error.to_string()))?
                    .ends_at();
                if ends <= now {
                    return Err(problem(
                        CodeField::RedeemBy,
                        "that day has already passed: no one could redeem the code".to_owned(),
                    ));
                }
                Ok(ends)
            })
            .transpose()?;
        let max_redemptions = given(typed.max_redemptions)
            .map(|cap| {
                whole_number(&cap, 1..=u32::MAX)
                    .ok_or_else(|| problem(CodeField::MaxRedemptions, "a whole number, 1 or more".to_owned()))
            })
            .transpose()?;
        let description = typed.description.trim();
        if description.is_empty() {
            return Err(problem(
                CodeField::Description,
                "say what the code gives (shoppers read it)".to_owned(),
            ));
        }
        if description.chars().count() > DESCRIPTION_CHARS {
            return Err(problem(
                CodeField::Description,
                format!("at most {DESCRIPTION_CHARS} characters"),
            ));
        }
        // A gift card is money to whoever holds the code: uncapped, everyone who
        // saw the code could claim it once each.
        let gift_card_cap = matches!(grant, CodeGrant::GiftCard { .. }).then_some(1);
        Ok(NewCode {
            code,
            description: description.to_owned(),
            grant,
            redeem_by,
            max_redemptions: max_redemptions.or(gift_card_cap),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error(transparent)]
    Refused(#[from] CodeRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for RedeemError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            RedeemError::Store(error) => Some(error),
            RedeemError::Refused(_) => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateCodeError {
    #[error("a code {0} already exists")]
    Taken(String),
    /// The categories named that staff have hidden from shoppers.
    #[error("{}", hidden_categories(.0))]
    HiddenCategory(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hidden_categories(labels: &[String]) -> String {
    match labels {
        [one] => format!("{one} is hidden from shoppers: show it again first, or choose another category"),
        many => format!(
            "{} are hidden from shoppers: show them again first, or choose other categories",
            many.join(" and ")
        ),
    }
}

impl StoreFailure for CreateCodeError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CreateCodeError::Store(error) => Some(error),
            CreateCodeError::Taken(_) | CreateCodeError::HiddenCategory(_) => None,
        }
    }
}

/// How many codes a filtered list reads at a time.
const CODE_CHUNK: usize = 500;

/// A code's columns, its categories folded into one value (see
/// `CategorySet::from_bits`; a code's category ids are distinct, so their sum is
/// their union).
macro_rules! code_columns {
    () => {
        "id, code, description, kind, amount_cents, percent_off, \
         (SELECT CAST(COALESCE(SUM(CAST(1 AS BIGINT) << CAST(k.category_id - 1 AS INTEGER)), 0) AS BIGINT) \
          FROM code_categories k WHERE k.code_id = codes.id), \
         valid_days, redeem_by, max_redemptions, redemptions, active, \
         EXISTS (SELECT 1 FROM gift_cards g WHERE g.code_id = codes.id)"
    };
}

fn code_from_row(row: &Row<'_>) -> Result<CodeRecord, StoreError> {
    let kind = row.text(3)?;
    let percent = row
        .get::<Option<i64>>(5)?
        .map(|percent| {
            u8::try_from(percent).map_err(|_| StoreError::Corrupt(format!("a code of {percent} % off")))
        })
        .transpose()?;
    let grant = grant_from_columns(
        kind,
        row.get(4)?,
        percent,
        CategorySet::from_bits(row.get(6)?),
        row.get(7)?,
    )
    .ok_or_else(|| StoreError::Corrupt(format!("code kind {kind:?} without its value")))?;
    Ok(CodeRecord {
        id: row.get(0)?,
        code: row.get(1)?,
        description: row.get(2)?,
        grant,
        redeem_by: row.optional_instant(8)?,
        max_redemptions: row.get(9)?,
        redemptions: row.get(10)?,
        active: row.get(11)?,
        bought: row.get(12)?,
    })
}

/// The code named `code`, active or not.
fn select_code(connection: &mut dyn Connection, code: &PromoCode) -> Result<Option<CodeRecord>, StoreError> {
    connection.query_opt(
        sql!(concat!("SELECT ", code_columns!(), " FROM codes WHERE code = $1")),
        &[&code.as_str()],
        code_from_row,
    )
}

/// Whether `user` may redeem `code` at `now`; the code's terms when so.
pub(crate) fn check_redeemable(
    connection: &mut dyn Connection,
    user: UserId,
    code: &PromoCode,
    now: OffsetDateTime,
) -> Result<CodeRecord, RedeemError> {
    let found = select_code(connection, code)?;
    let checked = crate::store::rules::codes::check_redeemable(found, now, |record| {
        Ok(connection.query_value::<bool>(
            sql!("SELECT EXISTS (SELECT 1 FROM code_redemptions WHERE code_id = $1 AND user_id = $2)"),
            &[&record.id, &user.0],
        )?)
    });
    // A gift card bought in the store: not redeemable before its delivery day
    // (nobody should hold its code yet), and once refunded its holder is told
    // so rather than left retyping it.
    let bought: Option<(i64, bool)> = connection.query_opt(
        sql!(
            "SELECT g.deliver_at, g.voided_at IS NOT NULL FROM gift_cards g JOIN codes c ON c.id = g.code_id
             WHERE c.code = $1"
        ),
        &[&code.as_str()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    match bought {
        Some((_, true)) => Err(CodeRefusal::Cancelled.into()),
        Some((deliver_at, false)) if deliver_at > unix(now) => Err(CodeRefusal::Unknown.into()),
        _ => checked,
    }
}

/// Redeems inside the caller's transaction (checkout redeems a typed code this way,
/// so that a refused order un-redeems it by rolling back).
pub(crate) fn redeem_in(
    tx: &mut dyn Connection,
    user: UserId,
    code: &PromoCode,
    now: OffsetDateTime,
) -> Result<(CodeRecord, Redeemed), RedeemError> {
    let record = check_redeemable(tx, user, code, now)?;
    // The cap is enforced by the UPDATE itself, so it holds whatever the checks saw.
    let counted = tx.execute(
        sql!(
            "UPDATE codes SET redemptions = redemptions + 1
             WHERE id = $1 AND (max_redemptions IS NULL OR redemptions < max_redemptions)"
        ),
        &[&record.id],
    )?;
    if counted != 1 {
        return Err(CodeRefusal::Exhausted.into());
    }
    let redemption: i64 = tx
        .query_opt(
            sql!(
                "INSERT INTO code_redemptions (code_id, user_id, redeemed_at) VALUES ($1, $2, $3)
                 ON CONFLICT (code_id, user_id) DO NOTHING RETURNING id"
            ),
            &[&record.id, &user.0, &unix(now)],
            |row| row.get(0),
        )?
        .ok_or(CodeRefusal::AlreadyRedeemed)?;
    let reward = Reward::of(&record, redemption, now);
    let id = match &reward {
        Reward::Credit(credit) => insert_credit(tx, user, credit, now)?.0,
        Reward::Discount { terms, description } => {
            insert_discount(tx, user, description, *terms, Some(redemption), now)?
        }
    };
    Ok((record, reward.redeemed(id)))
}

/// Inserts a code in the caller's transaction; `None` when the code exists already.
pub(crate) fn insert_code(
    tx: &mut dyn Connection,
    new: &NewCode,
    now: OffsetDateTime,
) -> Result<Option<i64>, StoreError> {
    let columns = GrantColumns::of(new.grant);
    let inserted: Option<i64> = tx.query_opt(
        sql!(
            "INSERT INTO codes (code, kind, description, amount_cents, percent_off,
                                valid_days, redeem_by, max_redemptions, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (code) DO NOTHING RETURNING id"
        ),
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
        |row| row.get(0),
    )?;
    let Some(id) = inserted else {
        return Ok(None);
    };
    insert_category_refs(
        tx,
        sql!("INSERT INTO code_categories (code_id, category_id) VALUES ($1, $2)"),
        id,
        columns.categories,
    )?;
    Ok(Some(id))
}

/// Switches a code off or on; `None` for an unknown code, otherwise whether it
/// was in the other state until now (so that the change was made).
fn set_code_active(
    tx: &mut dyn Connection,
    actor: &Actor,
    code: &PromoCode,
    active: bool,
    now: OffsetDateTime,
) -> Result<Option<bool>, StoreError> {
    // The code of a gift card refunded before redemption stays void: it reads
    // as active already, so nothing changes.
    let was: Option<bool> = tx.query_opt(
        sql!(
            "SELECT active OR EXISTS (SELECT 1 FROM gift_cards g WHERE g.code_id = codes.id AND g.voided_at IS NOT NULL)
             FROM codes WHERE code = $1"
        ),
        &[&code.as_str()],
        |row| row.get(0),
    )?;
    let changed = was.map(|was| was != active);
    if changed == Some(true) {
        tx.execute(
            sql!("UPDATE codes SET active = $2 WHERE code = $1"),
            &[&code.as_str(), &active],
        )?;
        let (action, before, after) = if active {
            (AuditAction::CodeReactivate, "inactive", "active")
        } else {
            (AuditAction::CodeDeactivate, "active", "inactive")
        };
        audit::record(
            tx,
            actor,
            &Change::new(action, format!("code:{}", code.as_str()))
                .before(before)
                .after(after),
            now,
        )?;
    }
    Ok(changed)
}

impl Store {
    /// Claims a code for an account: once per account, never past its deadline or
    /// its cap, even when many shoppers redeem at the same instant (SQLite's one
    /// writer takes them in turn; on PostgreSQL, of redemptions that overlap, one
    /// commits and the others run again, seeing it).
    pub fn redeem_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<Redeemed, RedeemError> {
        self.write(|tx| redeem_in(tx, user, code, now).map(|(_, redeemed)| redeemed))
    }

    /// The code's terms if `user` could redeem it now, without redeeming it.
    pub fn redeemable_code(
        &self,
        user: UserId,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<CodeRecord, RedeemError> {
        self.read_consistent(|connection| Ok(check_redeemable(connection, user, code, now)))?
    }

    /// Creates a code (staff or an operator command), with its audit entry, in
    /// one transaction.
    pub fn create_code(
        &self,
        actor: &Actor,
        new: &NewCode,
        now: OffsetDateTime,
    ) -> Result<i64, CreateCodeError> {
        let named = match &new.grant {
            CodeGrant::Credit { categories, .. } => *categories,
            CodeGrant::Discount(terms) => terms.categories,
            CodeGrant::GiftCard { .. } => CategorySet::EMPTY,
        };
        self.write(|tx| {
            let hidden = hidden_of(tx, named)?;
            if !hidden.is_empty() {
                return Err(CreateCodeError::HiddenCategory(hidden));
            }
            let id = insert_code(tx, new, now)?
                .ok_or_else(|| CreateCodeError::Taken(new.code.as_str().to_owned()))?;
            audit::record(
                tx,
                actor,
                &Change::new(AuditAction::CodeCreate, format!("code:{}", new.code.as_str()))
                    .after(new.grant.describe(&self.categories())),
                now,
            )?;
            Ok(id)
        })
    }

    /// A code and its terms, active or not (for operators).
    pub fn code_named(&self, code: &PromoCode) -> Result<Option<CodeRecord>, StoreError> {
        self.read(|connection| select_code(connection, code))
    }

    /// The accounts that redeemed a code, newest first: at most `limit`.
    pub fn code_redemptions(&self, code: &PromoCode, limit: usize) -> Result<Vec<Redemption>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(
                    "SELECT u.id, u.email, u.name, r.redeemed_at
                     FROM code_redemptions r
                     JOIN codes c ON c.id = r.code_id
                     JOIN users u ON u.id = r.user_id
                     WHERE c.code = $1
                     ORDER BY r.redeemed_at DESC, r.id DESC LIMIT $2"
                ),
                &[&code.as_str(), &i64::try_from(limit).unwrap_or(i64::MAX)],
                |row| {
                    Ok(Redemption {
                        user: UserId(row.get(0)?),
                        email: row.get(1)?,
                        name: row.get(2)?,
                        redeemed_at: row.instant(3)?,
                    })
                },
            )
        })
    }

    /// Stops a code from being redeemed, from the next attempt on (a checkout
    /// redeeming it meanwhile is counted wholly before: the two transactions
    /// serialize). What it granted already stays. `None` for an unknown code,
    /// otherwise whether it was active until now.
    pub fn deactivate_code(
        &self,
        actor: &Actor,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<Option<bool>, StoreError> {
        self.write(|tx| set_code_active(tx, actor, code, false, now))
    }

    /// Lets a deactivated code be redeemed again, within its deadline and cap as
    /// before. `None` for an unknown code, otherwise whether it was deactivated
    /// until now.
    pub fn reactivate_code(
        &self,
        actor: &Actor,
        code: &PromoCode,
        now: OffsetDateTime,
    ) -> Result<Option<bool>, StoreError> {
        self.write(|tx| set_code_active(tx, actor, code, true, now))
    }

    /// The code numbered `id`, active or not.
    pub fn code_by_id(&self, id: i64) -> Result<Option<CodeRecord>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(concat!("SELECT ", code_columns!(), " FROM codes WHERE id = $1")),
                &[&id],
                code_from_row,
            )
        })
    }

    /// A page of the codes `filter` lets through (its state as at `now`),
    /// newest first: up to `size` codes older than the code `before`. Read a
    /// chunk at a time by id, only as far as the page needs; the text is
    /// matched here, so both engines fold case alike.
    pub fn codes_page(
        &self,
        filter: &CodeFilter,
        before: Option<i64>,
        size: usize,
        now: OffsetDateTime,
    ) -> Result<Page<CodeRecord>, StoreError> {
        let wanted = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_lowercase);
        self.read(|connection| {
            let mut found = Vec::new();
            let mut cursor = before.unwrap_or(i64::MAX);
            while found.len() <= size {
                let chunk = connection.query(
                    sql!(concat!(
                        "SELECT ",
                        code_columns!(),
                        " FROM codes WHERE id < $1 ORDER BY id DESC LIMIT $2"
                    )),
                    &[&cursor, &page_limit(CODE_CHUNK - 1)],
                    code_from_row,
                )?;
                let exhausted = chunk.len() < CODE_CHUNK;
                for code in chunk {
                    cursor = code.id;
                    if filter.lets_through(&code, wanted.as_deref(), now) {
                        found.push(code);
                        if found.len() > size {
                            break;
                        }
                    }
                }
                if exhausted {
                    break;
                }
            }
            Ok(Page::of(found, size, |code| code.id))
        })
    }

    /// A page of the redemptions of the code numbered `code`, newest first (up
    /// to `size` older than the redemption `before`), each with its account and
    /// what it gave: the credit with what remains of it, or the discount.
    pub fn code_redemptions_page(
        &self,
        code: i64,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<CodeRedemption>, StoreError> {
        self.read(|connection| {
            let rows = connection.query(
                sql!(
                    "SELECT r.id, u.id, u.email, u.name, r.redeemed_at,
                            c.id, c.original_cents, c.remaining_cents, d.id, d.used_by_order_id
                     FROM code_redemptions r
                     JOIN users u ON u.id = r.user_id
                     LEFT JOIN credits c ON c.code_redemption_id = r.id
                     LEFT JOIN discounts d ON d.code_redemption_id = r.id
                     WHERE r.code_id = $1 AND r.id < $2
                     ORDER BY r.id DESC LIMIT $3"
                ),
                &[&code, &before.unwrap_or(i64::MAX), &page_limit(size)],
                |row| {
                    let gave = match (row.get::<Option<i64>>(5)?, row.get::<Option<i64>>(8)?) {
                        (Some(credit), _) => RedemptionGave::Credit {
                            credit: CreditId(credit),
                            amount: Money::from_cents(row.get(6)?),
                            remaining: Money::from_cents(row.get(7)?),
                        },
                        (None, Some(discount_id)) => RedemptionGave::Discount {
                            discount_id,
                            used_by_order: row.get(9)?,
                        },
                        (None, None) => RedemptionGave::Nothing,
                    };
                    Ok(CodeRedemption {
                        id: row.get(0)?,
                        user: UserId(row.get(1)?),
                        email: row.get(2)?,
                        name: row.get(3)?,
                        redeemed_at: row.instant(4)?,
                        gave,
                    })
                },
            )?;
            Ok(Page::of(rows, size, |redemption| redemption.id))
        })
    }

    /// Every code, by name in byte order.
    pub fn list_codes(&self) -> Result<Vec<CodeRecord>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(concat!(
                    "SELECT ",
                    code_columns!(),
                    " FROM codes ORDER BY code COLLATE \"C\""
                )),
                &[],
                code_from_row,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::domain::category::set;
    use crate::domain::{CreditKind, DiscountValue};
    use crate::store::orders::{CheckoutError, Promotion};
    use crate::store::testing::{TestStore, each_engine, new_account, tester};

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
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store
                .create_code(&tester(), &new_code("RUSH-5", music_credit(500), Some(5)), now)
                .unwrap();
            let shoppers: Vec<UserId> = (0..20)
                .map(|i| new_account(&store, &format!("rush{i}@example.com"), "hash", now))
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
            assert_eq!(
                (redeemed, exhausted),
                (5, 15),
                "{}: {outcomes:?}",
                store.engine_name()
            );
            assert_eq!(store.code_named(&code("RUSH-5")).unwrap().unwrap().redemptions, 5);
            let with_credit = shoppers
                .iter()
                .filter(|&&user| !store.credits_of(user).unwrap().is_empty())
                .count();
            assert_eq!(with_credit, 5);
            assert!(store.verify_ledger().unwrap().is_empty());
        }
    }

    #[test]
    fn one_account_redeeming_a_code_at_once_from_many_places_redeems_it_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store
                .create_code(&tester(), &new_code("ONCE", music_credit(300), None), now)
                .unwrap();
            let user = new_account(&store, "shopper@example.com", "hash", now);

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
            assert_eq!(already, 7, "{}: {outcomes:?}", store.engine_name());
            assert_eq!(store.credits_of(user).unwrap().len(), 1);
            assert_eq!(store.code_named(&code("ONCE")).unwrap().unwrap().redemptions, 1);
        }
    }

    #[test]
    fn each_kind_of_code_puts_its_reward_into_the_account() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(); // 2026-01-01 00:00 UTC
            let user = new_account(&store, "shopper@example.com", "hash", now);
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
                store
                    .create_code(&tester(), &new_code(name, grant, None), now)
                    .unwrap();
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
            assert!(
                matches!(gift_card, Redeemed::GiftCard { amount, .. } if amount == Money::from_cents(2000))
            );
            let Redeemed::Discount { discount_id, .. } = saved else {
                panic!("{saved:?}")
            };
            let credits = store.credits_of(user).unwrap();
            assert_eq!(credits.len(), 2, "{}", store.engine_name());
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
    }

    #[test]
    fn a_code_past_its_deadline_or_redeemed_already_is_refused_and_a_preview_redeems_nothing() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let user = new_account(&store, "shopper@example.com", "hash", now);
            store
                .create_code(
                    &tester(),
                    &NewCode {
                        redeem_by: Some(now - Duration::hours(1)),
                        ..new_code("LATE", music_credit(100), None)
                    },
                    now,
                )
                .unwrap();
            store
                .create_code(&tester(), &new_code("FINE", music_credit(100), None), now)
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
    }

    #[test]
    fn a_deactivated_code_is_refused_like_an_unknown_one_everywhere() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store.seed_demo_if_empty("hash", now).unwrap();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let gift = code("gift-20");

            assert_eq!(
                store
                    .deactivate_code(&tester(), &gift, time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(true)
            );
            assert_eq!(
                store
                    .deactivate_code(&tester(), &gift, time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(false)
            );

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
            let product = store.products_in(None).unwrap()[0].id;
            let ordered = store.place_order(ann, product, &Promotion::Code(gift.clone()), "with-code", now);
            assert!(
                matches!(ordered, Err(CheckoutError::Refused(CodeRefusal::Unknown))),
                "{}: {ordered:?}",
                store.engine_name()
            );
            let record = store.code_named(&gift).unwrap().unwrap();
            assert_eq!((record.active, record.redemptions), (false, 0));
            assert_eq!(
                store
                    .deactivate_code(&tester(), &code("NO-SUCH-CODE"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                None
            );
        }
    }

    #[test]
    fn a_reactivated_code_is_redeemed_again_within_its_cap() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let (ann, bob) = (
                new_account(&store, "ann@example.com", "hash", now),
                new_account(&store, "bob@example.com", "hash", now),
            );
            store
                .create_code(&tester(), &new_code("BACK-1", music_credit(100), Some(1)), now)
                .unwrap();
            assert_eq!(
                store
                    .deactivate_code(&tester(), &code("BACK-1"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(true)
            );
            assert!(store.redeem_code(ann, &code("BACK-1"), now).is_err());

            assert_eq!(
                store
                    .reactivate_code(&tester(), &code("BACK-1"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(true)
            );
            assert_eq!(
                store
                    .reactivate_code(&tester(), &code("BACK-1"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                Some(false)
            );

            store.redeem_code(ann, &code("BACK-1"), now).unwrap();
            let second = store.redeem_code(bob, &code("BACK-1"), now);
            assert!(
                matches!(second, Err(RedeemError::Refused(CodeRefusal::Exhausted))),
                "{}: {second:?}",
                store.engine_name()
            );
            let record = store.code_named(&code("BACK-1")).unwrap().unwrap();
            assert_eq!((record.active, record.redemptions), (true, 1));
            assert_eq!(
                store
                    .reactivate_code(&tester(), &code("NO-SUCH-CODE"), time::OffsetDateTime::now_utc())
                    .unwrap(),
                None
            );
        }
    }

    #[test]
    fn operators_switching_a_code_at_once_switch_it_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store
                .create_code(&tester(), &new_code("FLIP", music_credit(100), None), now)
                .unwrap();
            let switch_all = |active: bool| -> Vec<Option<bool>> {
                let switches: Vec<_> = (0..8)
                    .map(|_| {
                        let store = store.clone();
                        std::thread::spawn(move || {
                            if active {
                                store
                                    .reactivate_code(
                                        &tester(),
                                        &code("FLIP"),
                                        time::OffsetDateTime::now_utc(),
                                    )
                                    .unwrap()
                            } else {
                                store
                                    .deactivate_code(
                                        &tester(),
                                        &code("FLIP"),
                                        time::OffsetDateTime::now_utc(),
                                    )
                                    .unwrap()
                            }
                        })
                    })
                    .collect();
                switches.into_iter().map(|s| s.join().unwrap()).collect()
            };

            for active in [false, true] {
                let outcomes = switch_all(active);
                let changed = outcomes.iter().filter(|o| **o == Some(true)).count();
                let already = outcomes.iter().filter(|o| **o == Some(false)).count();
                assert_eq!(
                    (changed, already),
                    (1, 7),
                    "{}: {outcomes:?}",
                    store.engine_name()
                );
                assert_eq!(store.code_named(&code("FLIP")).unwrap().unwrap().active, active);
            }
        }
    }

    #[test]
    fn a_code_is_created_once_and_codes_are_listed_in_byte_order() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            for name in ["SAVE10", "SAVE-5", "ABC1", "abc2"] {
                store
                    .create_code(&tester(), &new_code(name, music_credit(100), Some(3)), now)
                    .unwrap();
            }

            let again = store.create_code(&tester(), &new_code("SAVE10", music_credit(900), None), now);

            assert!(
                matches!(again, Err(CreateCodeError::Taken(ref taken)) if taken == "SAVE10"),
                "{again:?}"
            );
            let listed: Vec<String> = store.list_codes().unwrap().into_iter().map(|c| c.code).collect();
            assert_eq!(
                listed,
                ["ABC1", "ABC2", "SAVE-5", "SAVE10"],
                "{}",
                store.engine_name()
            );
            let kept = store.code_named(&code("SAVE10")).unwrap().unwrap();
            assert_eq!((kept.grant, kept.max_redemptions), (music_credit(100), Some(3)));
        }
    }

    #[test]
    fn codes_are_listed_newest_first_a_page_at_a_time_filtered_by_text_kind_and_state() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            for n in 0..5 {
                store
                    .create_code(
                        &tester(),
                        &new_code(&format!("SPRING-{n}"), music_credit(100), None),
                        now,
                    )
                    .unwrap();
            }
            let gift = CodeGrant::GiftCard {
                amount: Money::from_cents(2500),
            };
            store
                .create_code(&tester(), &new_code("GIFT-LEAK", gift, None), now)
                .unwrap();
            store
                .create_code(
                    &tester(),
                    &NewCode {
                        redeem_by: Some(now + Duration::hours(1)),
                        ..new_code("LATE-SPRING", music_credit(100), None)
                    },
                    now,
                )
                .unwrap();
            store.deactivate_code(&tester(), &code("SPRING-0"), now).unwrap();
            let names =
                |page: &Page<CodeRecord>| page.entries.iter().map(|c| c.code.clone()).collect::<Vec<_>>();

            let first = store.codes_page(&CodeFilter::default(), None, 3, now).unwrap();
            assert_eq!(names(&first), ["LATE-SPRING", "GIFT-LEAK", "SPRING-4"]);
            let second = store
                .codes_page(&CodeFilter::default(), first.older, 3, now)
                .unwrap();
            assert_eq!(names(&second), ["SPRING-3", "SPRING-2", "SPRING-1"]);
            let spring = CodeFilter {
                text: Some(" spring ".into()),
                ..CodeFilter::default()
            };
            assert_eq!(store.codes_page(&spring, None, 20, now).unwrap().entries.len(), 6);
            let described = CodeFilter {
                text: Some("GIFT-LEAK FOR".into()),
                ..CodeFilter::default()
            };
            assert_eq!(
                names(&store.codes_page(&described, None, 20, now).unwrap()),
                ["GIFT-LEAK"]
            );
            let gift_cards = CodeFilter {
                kind: Some(CodeKind::GiftCard),
                ..CodeFilter::default()
            };
            let gift_page = store.codes_page(&gift_cards, None, 20, now).unwrap();
            assert_eq!(names(&gift_page), ["GIFT-LEAK"]);
            assert_eq!(
                gift_page.entries[0].max_redemptions, None,
                "the store adds no cap itself"
            );
            let state = |state, at| {
                let filter = CodeFilter {
                    state: Some(state),
                    ..CodeFilter::default()
                };
                names(&store.codes_page(&filter, None, 20, at).unwrap())
            };
            assert_eq!(state(CodeState::SwitchedOff, now), ["SPRING-0"]);
            assert!(state(CodeState::PastDeadline, now).is_empty());
            assert_eq!(
                state(CodeState::PastDeadline, now + Duration::hours(2)),
                ["LATE-SPRING"]
            );
            assert_eq!(state(CodeState::Active, now).len(), 6, "{}", store.engine_name());
        }
    }

    #[test]
    fn a_used_up_code_is_listed_as_such_and_its_redeemers_show_what_they_got() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            store
                .create_code(&tester(), &new_code("TWICE", music_credit(500), Some(2)), now)
                .unwrap();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let bob = new_account(&store, "bob@example.com", "hash", now);
            store.redeem_code(ann, &code("TWICE"), now).unwrap();
            store
                .redeem_code(bob, &code("TWICE"), now + Duration::minutes(5))
                .unwrap();
            let id = store.code_named(&code("TWICE")).unwrap().unwrap().id;

            let record = store.code_by_id(id).unwrap().unwrap();
            assert_eq!(record.state(now), CodeState::UsedUp);
            assert_eq!(
                record.why_not_redeemable(now).as_deref(),
                Some("it has been redeemed 2 of 2 times")
            );
            let page = store.code_redemptions_page(id, None, 1).unwrap();
            assert_eq!(page.entries.len(), 1);
            let newest = &page.entries[0];
            assert_eq!((newest.user, newest.email.as_str()), (bob, "bob@example.com"));
            assert_eq!(
                newest.redeemed_at.unix_timestamp(),
                (now + Duration::minutes(5)).unix_timestamp()
            );
            assert!(matches!(
                newest.gave,
                RedemptionGave::Credit { amount, remaining, .. }
                    if amount == Money::from_cents(500) && remaining == Money::from_cents(500)
            ));
            let older = store.code_redemptions_page(id, page.older, 1).unwrap();
            assert_eq!(older.entries[0].user, ann);
            assert_eq!(older.older, None, "{}", store.engine_name());
        }
    }

    fn typed<'a>(kind: &'a str, amount: &'a str) -> TypedCode<'a> {
        TypedCode {
            code: "NEW-CODE",
            kind,
            amount: Some(amount),
            categories: Some("music"),
            description: "A code for tests",
            ..TypedCode::default()
        }
    }

    #[test]
    fn typed_terms_are_read_by_the_rules_every_way_of_creating_a_code_shares() {
        let Some(TestStore { store, .. }) = each_engine().into_iter().next() else {
            return;
        };
        let categories = store.categories();
        let now = OffsetDateTime::now_utc();
        let read = |typed: TypedCode<'_>| NewCode::read(&typed, &categories, now);
        for (amount, cents) in [("12.50", 1250), ("12", 1200), ("$12.50", 1250)] {
            let new = read(typed("credit", amount)).unwrap();
            assert!(
                matches!(new.grant, CodeGrant::Credit { amount, .. } if amount == Money::from_cents(cents)),
                "{amount}"
            );
        }
        let gift = read(TypedCode {
            categories: None,
            ..typed("gift-card", "25")
        })
        .unwrap();
        assert_eq!(
            gift.max_redemptions,
            Some(1),
            "a gift card is redeemed once unless capped"
        );
        for (bad, field) in [
            (typed("credit", "12,50"), CodeField::Amount),
            (typed("credit", "12.505"), CodeField::Amount),
            (typed("credit", "twelve"), CodeField::Amount),
            (typed("credit", "-5"), CodeField::Amount),
            (typed("credit", "0"), CodeField::Amount),
            (typed("voucher", "5"), CodeField::Kind),
            (
                TypedCode {
                    code: "no way",
                    ..typed("credit", "5")
                },
                CodeField::Code,
            ),
            (
                TypedCode {
                    categories: None,
                    ..typed("credit", "5")
                },
                CodeField::Categories,
            ),
            (typed("gift_card", "5"), CodeField::Categories),
            (
                TypedCode {
                    percent: Some("10"),
                    ..typed("discount", "5")
                },
                CodeField::Percent,
            ),
            (
                TypedCode {
                    percent: Some("101"),
                    amount: None,
                    ..typed("discount", "")
                },
                CodeField::Percent,
            ),
            (
                TypedCode {
                    redeem_by: Some("2020-01-01"),
                    ..typed("credit", "5")
                },
                CodeField::RedeemBy,
            ),
            (
                TypedCode {
                    max_redemptions: Some("0"),
                    ..typed("credit", "5")
                },
                CodeField::MaxRedemptions,
            ),
            (
                TypedCode {
                    valid_days: Some("5"),
                    categories: None,
                    ..typed("gift_card", "5")
                },
                CodeField::ValidDays,
            ),
            (
                TypedCode {
                    description: "  ",
                    ..typed("credit", "5")
                },
                CodeField::Description,
            ),
        ] {
            let refused = read(bad).unwrap_err();
            assert_eq!(refused.field, field, "{bad:?}: {refused}");
        }
    }
}
