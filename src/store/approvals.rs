//! Four eyes on big grants and upward adjustments (SPEC §8), and the support
//! staff's goodwill limits: asking for a grant or an adjustment, which applies
//! it at once or leaves it waiting as an approval request, and another person's
//! approval or rejection of that request.
//!
//! Every limit is checked inside the transaction that grants, so two asks at
//! once are counted one after the other (SQLite's one writer; PostgreSQL's
//! SERIALIZABLE retries the loser, which then sees the winner's row).

use time::{OffsetDateTime, Time, UtcOffset};

use super::audit::{self, AuditAction, Change};
use super::credits::{
    AdjustError, Adjusted, NewCredit, adjust_in, describe_new_credit, grant_in,
    refuse_raising_a_revoked_credit,
};
use super::settings::{Setting, approval_threshold_in, setting_in};
use super::sql::{Connection, Row, page_limit, sql, unix};
use super::{Page, Store, StoreError, StoreFailure};
use crate::domain::{
    Actor, Adjustment, AdjustmentReason, Categories, CategorySet, CreditId, CreditKind, CreditSource, Money,
    StaffId, UserId, format_last_day,
};

/// An approval request's number (the `approval_requests.id` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub i64);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// On whose authority a grant is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantAuthority {
    /// Support staff's goodwill: within the settings
    /// [`Setting::SupportGrantLimit`] and [`Setting::SupportDayLimit`].
    Goodwill,
    /// Managers, owners and operator commands: any amount, above the approval
    /// threshold only with a second person's approval.
    Full,
}

/// What asking for a grant did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantOutcome {
    /// The credit was granted.
    Granted(CreditId),
    /// Above the threshold: nothing reaches the shopper until another person
    /// approves the request.
    AwaitingApproval { request: RequestId, threshold: Money },
}

/// What asking for an adjustment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustOutcome {
    /// The credit was adjusted.
    Adjusted(Adjusted),
    /// An upward adjustment above the threshold: it waits for another person.
    AwaitingApproval { request: RequestId, threshold: Money },
}

/// Which support limit a goodwill grant went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportLimit {
    /// [`Setting::SupportGrantLimit`], for one grant.
    PerGrant,
    /// [`Setting::SupportDayLimit`], for one staff member's day (UTC).
    PerDay,
}

/// Why a grant was refused; nothing was granted or asked for.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{}", over_support_limit(*.limit, *.per, *.asked, *.granted_today))]
    OverSupportLimit {
        limit: Money,
        per: SupportLimit,
        asked: Money,
        /// What this staff member granted as goodwill earlier that day.
        granted_today: Money,
    },
    #[error("a credit must be worth more than $0.00")]
    NothingToGrant,
    #[error("a promotional credit needs at least one category")]
    NoCategory,
    #[error("the credit's last day has already passed")]
    AlreadyExpired,
    #[error("there is no customer {0}")]
    NoSuchCustomer(UserId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for GrantError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            GrantError::Store(error) => Some(error),
            _ => None,
        }
    }
}

fn over_support_limit(limit: Money, per: SupportLimit, asked: Money, granted_today: Money) -> String {
    match per {
        SupportLimit::PerGrant => format!(
            "a support grant is at most {limit}: {asked} is above it, so nothing was granted (a manager \
             can grant more)"
        ),
        SupportLimit::PerDay => format!(
            "support grants are at most {limit} a day each: you have granted {granted_today} today, so \
             {asked} more is above it and nothing was granted (a manager can grant more)"
        ),
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
}

impl RequestStatus {
    /// The value of the `status` column, and how people read it.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
        }
    }

    fn parse(column: &str) -> Result<RequestStatus, StoreError> {
        match column {
            "pending" => Ok(RequestStatus::Pending),
            "approved" => Ok(RequestStatus::Approved),
            "rejected" => Ok(RequestStatus::Rejected),
            other => Err(StoreError::Corrupt(format!(
                "an approval request status {other:?}"
            ))),
        }
    }
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedChange {
    /// A new credit (its source is always an operator's grant).
    Grant {
        kind: CreditKind,
        amount: Money,
        expires_at: Option<OffsetDateTime>,
        /// What the shopper will see as the credit's description.
        note: String,
    },
    /// Adding `added` to what remains of `credit`.
    Adjust { credit: CreditId, added: Money },
}

impl RequestedChange {
    /// The amount the request would give the shopper.
    pub fn amount(&self) -> Money {
        match self {
            RequestedChange::Grant { amount, .. } => *amount,
            RequestedChange::Adjust { added, .. } => *added,
        }
    }

    /// "grant $600.00 gift card, no expiry" or "add $600.00 to credit 4", for
    /// people reading the list and the audit trail.
    pub fn describe(&self, categories: &Categories) -> String {
        match self {
            RequestedChange::Grant {
                kind,
                amount,
                expires_at,
                note,
            } => format!(
                "grant {}",
                describe_new_credit(
                    categories,
                    &NewCredit {
                        kind: *kind,
                        source: CreditSource::Grant,
                        description: note.clone(),
                        amount: *amount,
                        expires_at: *expires_at,
                        code_redemption_id: None,
                    }
                )
            ),
            RequestedChange::Adjust { credit, added } => format!("add {added} to credit {}", credit.0),
        }
    }
}

/// Who decided a request, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `staff:<email>` or `cli:<user>`.
    pub by: String,
    pub by_staff: Option<StaffId>,
    pub at: OffsetDateTime,
    pub reason: String,
}

/// A grant or an adjustment waiting for (or given) a second person's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub id: RequestId,
    pub customer: UserId,
    /// The customer's e-mail address, for the lists.
    pub customer_email: String,
    pub change: RequestedChange,
    /// Why the requester asked.
    pub reason: String,
    /// `staff:<email>` or `cli:<user>`.
    pub requested_by: String,
    pub requested_by_staff: Option<StaffId>,
    pub requested_at: OffsetDateTime,
    pub status: RequestStatus,
    /// Set once approved or rejected.
    pub decision: Option<Decision>,
    /// The credit a grant made once approved (an adjustment's credit is in
    /// [`RequestedChange::Adjust`]).
    pub granted: Option<CreditId>,
}

/// Why an approval or a rejection was refused; nothing was changed and the
/// request stays as it was.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("there is no approval request {0}")]
    NotFound(RequestId),
    #[error("request {0} is your own: another manager or owner must approve or reject it (four eyes)")]
    OwnRequest(RequestId),
    #[error("request {request} was already {} by {by}", .status.as_str())]
    AlreadyDecided {
        request: RequestId,
        status: RequestStatus,
        by: String,
    },
    #[error(
        "request {request} cannot be applied as it stands: {why}; it is still pending (reject it with a \
         reason, or approve it once it fits again)"
    )]
    NoLongerFits { request: RequestId, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for ApprovalError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            ApprovalError::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// A request's columns, in the order [`request_from_row`] reads them.
macro_rules! request_columns {
    () => {
        "r.id, r.kind, r.user_id, u.email, r.credit_id, r.amount_cents, r.credit_kind, r.category_mask,
         r.expires_at, r.note, r.reason, r.requested_by, r.requested_by_staff, r.requested_at, r.status,
         r.decided_by, r.decided_by_staff, r.decided_at, r.decision_reason"
    };
}

fn request_from_row(row: &Row) -> Result<ApprovalRequest, StoreError> {
    let credit = row.get::<Option<i64>>(4)?.map(CreditId);
    let amount = Money::from_cents(row.get(5)?);
    let (change, granted) = match row.text(1)? {
        "grant" => {
            let kind = match row.get::<Option<String>>(6)?.as_deref() {
                Some("gift_card") => CreditKind::GiftCard,
                Some("promotional") => CreditKind::Promotional(CategorySet::from_bits(row.get(7)?)),
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "a grant request of credit kind {other:?}"
                    )));
                }
            };
            let change = RequestedChange::Grant {
                kind,
                amount,
                expires_at: row.optional_instant(8)?,
                note: row.get::<Option<String>>(9)?.unwrap_or_default(),
            };
            (change, credit)
        }
        "adjust" => {
            let credit = credit
                .ok_or_else(|| StoreError::Corrupt("an adjustment request for no credit".to_owned()))?;
            (
                RequestedChange::Adjust {
                    credit,
                    added: amount,
                },
                None,
            )
        }
        other => {
            return Err(StoreError::Corrupt(format!(
                "an approval request of kind {other:?}"
            )));
        }
    };
    let status = RequestStatus::parse(row.text(14)?)?;
    let decision = match row.optional_instant(17)? {
        Some(at) => Some(Decision {
            by: row.get::<Option<String>>(15)?.unwrap_or_default(),
            by_staff: row.get::<Option<i64>>(16)?.map(StaffId),
            at,
            reason: row.get::<Option<String>>(18)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(ApprovalRequest {
        id: RequestId(row.get(0)?),
        customer: UserId(row.get(2)?),
        customer_email: row.get(3)?,
        change,
        reason: row.get(10)?,
        requested_by: row.get(11)?,
        requested_by_staff: row.get::<Option<i64>>(12)?.map(StaffId),
        requested_at: row.instant(13)?,
        status,
        decision,
        granted,
    })
}

fn select_request(
    connection: &mut dyn Connection,
    id: RequestId,
) -> Result<Option<ApprovalRequest>, StoreError> {
    connection.query_opt(
        sql!(concat!(
            "SELECT ",
            request_columns!(),
            " FROM approval_requests r JOIN users u ON u.id = r.user_id WHERE r.id = $1"
        )),
        &[&id.0],
        request_from_row,
    )
}

/// Whether `actor` is the one who asked: the same actor, or the same staff
/// member under another address.
fn is_requester(request: &ApprovalRequest, actor: &Actor) -> bool {
    request.requested_by == actor.to_string()
        || (request.requested_by_staff.is_some() && request.requested_by_staff == actor.staff_id())
}

/// The start and end (unix seconds) of the UTC day holding `now`.
fn utc_day(now: OffsetDateTime) -> (i64, i64) {
    let start = now.to_offset(UtcOffset::UTC).replace_time(Time::MIDNIGHT);
    (unix(start), unix(start + time::Duration::days(1)))
}

/// Writes a new pending request and its audit entry, inside the caller's
/// transaction.
#[allow(clippy::too_many_arguments)]
fn insert_request(
    connection: &mut dyn Connection,
    categories: &Categories,
    actor: &Actor,
    user: UserId,
    change: &RequestedChange,
    reason: &AdjustmentReason,
    threshold: Money,
    now: OffsetDateTime,
) -> Result<RequestId, StoreError> {
    let (kind, credit, credit_kind, mask, expires_at, note) = match change {
        RequestedChange::Grant {
            kind,
            expires_at,
            note,
            ..
        } => (
            "grant",
            None,
            Some(kind.as_str()),
            match kind {
                CreditKind::Promotional(set) => set.bits(),
                CreditKind::GiftCard => 0,
            },
            expires_at.map(unix),
            Some(note.clone()),
        ),
        RequestedChange::Adjust { credit, .. } => ("adjust", Some(credit.0), None, 0, None, None),
    };
    let id = RequestId(connection.query_value(
        sql!(
            "INSERT INTO approval_requests (kind, user_id, credit_id, amount_cents, credit_kind,
                 category_mask, expires_at, note, reason, requested_by, requested_by_staff, requested_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id"
        ),
        &[
            &kind,
            &user.0,
            &credit,
            &change.amount().cents(),
            &credit_kind,
            &mask,
            &expires_at,
            &note,
            &reason.as_str(),
            &actor.to_string(),
            &actor.staff_id().map(|id| id.0),
            &unix(now),
        ],
    )?);
    audit::record(
        connection,
        actor,
        &Change::new(AuditAction::ApprovalRequest, format!("approval:{id}"))
            .customer(user)
            .before(format!("above the {threshold} approval threshold"))
            .after(format!("pending: {}", change.describe(categories)))
            .reason(reason.as_str()),
        now,
    )?;
    Ok(id)
}

/// What `actor` granted as goodwill in `now`'s UTC day, inside the caller's
/// transaction.
fn goodwill_today(
    connection: &mut dyn Connection,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Money, StoreError> {
    let (start, end) = utc_day(now);
    let cents: i64 = connection.query_value(
        sql!(
            "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM goodwill_grants
             WHERE (granted_by = $1 OR (CAST($2 AS BIGINT) IS NOT NULL AND granted_by_staff = $2))
               AND granted_at >= $3 AND granted_at < $4"
        ),
        &[&actor.to_string(), &actor.staff_id().map(|id| id.0), &start, &end],
    )?;
    Ok(Money::from_cents(cents))
}

/// Whether the credit is revoked (emptied by an operator's last adjustment) or
/// past its last day: an approved raise is not put onto either.
fn unfit_for_raise(
    connection: &mut dyn Connection,
    credit: CreditId,
    now: OffsetDateTime,
) -> Result<Option<String>, StoreError> {
    let found: Option<(i64, Option<i64>, Option<bool>)> = connection.query_opt(
        sql!(
            "SELECT c.remaining_cents, c.expires_at,
                    (SELECT e.kind FROM credit_events e WHERE e.credit_id = c.id
                     ORDER BY e.id DESC LIMIT 1) = 'adjust'
             FROM credits c WHERE c.id = $1"
        ),
        &[&credit.0],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    Ok(match found {
        None => Some(format!("there is no credit {}", credit.0)),
        Some((0, _, Some(true))) => Some(format!(
            "credit {} has been revoked since; a revoked credit stays revoked (grant a new credit instead)",
            credit.0
        )),
        Some((_, Some(expires), _)) if expires <= unix(now) => Some(format!(
            "credit {} has expired since (grant a new credit instead)",
            credit.0
        )),
        Some(_) => None,
    })
}

impl Store {
    /// Asks for a grant on `authority`: a goodwill grant over a support limit is
    /// refused; a grant above the approval threshold waits as a request; any
    /// other is granted at once (with its ledger event and audit entry). The
    /// limits and the threshold are read in the same transaction as the grant.
    pub fn ask_grant(
        &self,
        actor: &Actor,
        authority: GrantAuthority,
        user: UserId,
        credit: &NewCredit,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<GrantOutcome, GrantError> {
        if credit.amount.is_zero() {
            return Err(GrantError::NothingToGrant);
        }
        if matches!(credit.kind, CreditKind::Promotional(set) if set.is_empty()) {
            return Err(GrantError::NoCategory);
        }
        if credit.expires_at.is_some_and(|expires| expires <= now) {
            return Err(GrantError::AlreadyExpired);
        }
        let categories = self.categories();
        self.write(|tx| {
            let exists: Option<i64> =
                tx.query_opt(sql!("SELECT id FROM users WHERE id = $1"), &[&user.0], |row| {
                    row.get(0)
                })?;
            if exists.is_none() {
                return Err(GrantError::NoSuchCustomer(user));
            }
            if authority == GrantAuthority::Goodwill {
                let grant_limit = setting_in(tx, Setting::SupportGrantLimit)?;
                if credit.amount > grant_limit {
                    return Err(GrantError::OverSupportLimit {
                        limit: grant_limit,
                        per: SupportLimit::PerGrant,
                        asked: credit.amount,
                        granted_today: Money::ZERO,
                    });
                }
                let granted_today = goodwill_today(tx, actor, now)?;
                let day_limit = setting_in(tx, Setting::SupportDayLimit)?;
                if granted_today + credit.amount > day_limit {
                    return Err(GrantError::OverSupportLimit {
                        limit: day_limit,
                        per: SupportLimit::PerDay,
                        asked: credit.amount,
                        granted_today,
                    });
                }
            }
            let threshold = approval_threshold_in(tx)?;
            let outcome = if credit.amount > threshold {
                let change = RequestedChange::Grant {
                    kind: credit.kind,
                    amount: credit.amount,
                    expires_at: credit.expires_at,
                    note: credit.description.clone(),
                };
                let request = insert_request(tx, &categories, actor, user, &change, reason, threshold, now)?;
                GrantOutcome::AwaitingApproval { request, threshold }
            } else {
                let grant = NewCredit {
                    source: CreditSource::Grant,
                    code_redemption_id: None,
                    ..credit.clone()
                };
                GrantOutcome::Granted(grant_in(
                    tx,
                    &categories,
                    actor,
                    user,
                    &grant,
                    reason.as_str(),
                    now,
                )?)
            };
            if authority == GrantAuthority::Goodwill {
                let (credit_id, request_id) = match outcome {
                    GrantOutcome::Granted(id) => (Some(id.0), None),
                    GrantOutcome::AwaitingApproval { request, .. } => (None, Some(request.0)),
                };
                tx.execute(
                    sql!(
                        "INSERT INTO goodwill_grants (granted_by, granted_by_staff, user_id, amount_cents,
                                                      granted_at, credit_id, request_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    ),
                    &[
                        &actor.to_string(),
                        &actor.staff_id().map(|id| id.0),
                        &user.0,
                        &credit.amount.cents(),
                        &unix(now),
                        &credit_id,
                        &request_id,
                    ],
                )?;
            }
            Ok(outcome)
        })
    }

    /// Asks for an adjustment: an upward one above the approval threshold waits
    /// as a request (checked first to fit the credit as it stands); a downward
    /// or smaller one is applied at once, as [`Store::adjust_credit`] does.
    pub fn ask_adjust(
        &self,
        actor: &Actor,
        credit: CreditId,
        adjustment: Adjustment,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<AdjustOutcome, AdjustError> {
        let categories = self.categories();
        self.write(|tx| {
            let threshold = approval_threshold_in(tx)?;
            match adjustment {
                Adjustment::Add(added) if added > threshold => {
                    // Refused now if it could not be applied now: a request
                    // that cannot fit helps no one.
                    refuse_raising_a_revoked_credit(tx, credit)?;
                    let (user, original, remaining): (i64, i64, i64) = tx
                        .query_opt(
                            sql!(
                                "SELECT user_id, original_cents, remaining_cents FROM credits WHERE id = $1"
                            ),
                            &[&credit.0],
                            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                        )?
                        .ok_or(AdjustError::NotFound(credit.0))?;
                    if remaining + added.cents() > original {
                        return Err(AdjustError::AboveOriginal {
                            credit: credit.0,
                            original: Money::from_cents(original),
                            remaining: Money::from_cents(remaining),
                            added,
                        });
                    }
                    let change = RequestedChange::Adjust { credit, added };
                    let request = insert_request(
                        tx,
                        &categories,
                        actor,
                        UserId(user),
                        &change,
                        reason,
                        threshold,
                        now,
                    )?;
                    Ok(AdjustOutcome::AwaitingApproval { request, threshold })
                }
                _ => Ok(AdjustOutcome::Adjusted(adjust_in(
                    tx,
                    actor,
                    credit,
                    adjustment,
                    reason.as_str(),
                    now,
                )?)),
            }
        })
    }

    /// Approves a pending request and applies it, in one transaction: never by
    /// the one who asked; of two approvals at once, one applies it and the other
    /// is told it was approved already. A request that no longer fits (its
    /// credit raised, revoked or expired since, or a grant's last day passed) is
    /// refused with nothing written and stays pending: whether to drop it is a
    /// person's decision, made with a reason by rejecting it.
    pub fn approve_request(
        &self,
        actor: &Actor,
        id: RequestId,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let categories = self.categories();
        self.write(|tx| {
            let request = decide(tx, actor, id, RequestStatus::Approved, reason, now)?;
            let applied_reason = format!(
                "approved request {id} (asked by {}: {}): {}",
                request.requested_by,
                request.reason,
                reason.as_str()
            );
            let no_longer_fits = |why: String| ApprovalError::NoLongerFits { request: id, why };
            let outcome = match &request.change {
                RequestedChange::Grant {
                    kind,
                    amount,
                    expires_at,
                    note,
                } => {
                    if let Some(expires) = expires_at.filter(|expires| *expires <= now) {
                        return Err(no_longer_fits(format!(
                            "the credit's last day ({}) has passed",
                            format_last_day(expires)
                        )));
                    }
                    let credit = NewCredit {
                        kind: *kind,
                        source: CreditSource::Grant,
                        description: note.clone(),
                        amount: *amount,
                        expires_at: *expires_at,
                        code_redemption_id: None,
                    };
                    let granted = grant_in(
                        tx,
                        &categories,
                        actor,
                        request.customer,
                        &credit,
                        &applied_reason,
                        now,
                    )?;
                    tx.execute(
                        sql!("UPDATE approval_requests SET credit_id = $2 WHERE id = $1"),
                        &[&id.0, &granted.0],
                    )?;
                    format!("approved: granted as credit {}", granted.0)
                }
                RequestedChange::Adjust { credit, added } => {
                    if let Some(why) = unfit_for_raise(tx, *credit, now)? {
                        return Err(no_longer_fits(why));
                    }
                    let adjusted =
                        adjust_in(tx, actor, *credit, Adjustment::Add(*added), &applied_reason, now)
                            .map_err(|error| match error {
                                AdjustError::Store(error) => ApprovalError::Store(error),
                                refused => no_longer_fits(refused.to_string()),
                            })?;
                    format!(
                        "approved: credit {} raised from {} to {}",
                        credit.0, adjusted.before, adjusted.after
                    )
                }
            };
            audit::record(
                tx,
                actor,
                &Change::new(AuditAction::ApprovalApprove, format!("approval:{id}"))
                    .customer(request.customer)
                    .before(format!("pending: {}", request.change.describe(&categories)))
                    .after(outcome)
                    .reason(reason.as_str()),
                now,
            )?;
            select_request(tx, id)?.ok_or(ApprovalError::NotFound(id))
        })
    }

    /// Rejects a pending request: nothing reaches the shopper. Never by the one
    /// who asked.
    pub fn reject_request(
        &self,
        actor: &Actor,
        id: RequestId,
        reason: &AdjustmentReason,
        now: OffsetDateTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let categories = self.categories();
        self.write(|tx| {
            let request = decide(tx, actor, id, RequestStatus::Rejected, reason, now)?;
            audit::record(
                tx,
                actor,
                &Change::new(AuditAction::ApprovalReject, format!("approval:{id}"))
                    .customer(request.customer)
                    .before(format!("pending: {}", request.change.describe(&categories)))
                    .after("rejected: nothing granted")
                    .reason(reason.as_str()),
                now,
            )?;
            Ok(request)
        })
    }

    /// Every pending request, oldest first (the queue to work through).
    pub fn pending_requests(&self) -> Result<Vec<ApprovalRequest>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(concat!(
                    "SELECT ",
                    request_columns!(),
                    " FROM approval_requests r JOIN users u ON u.id = r.user_id
                     WHERE r.status = 'pending' ORDER BY r.id"
                )),
                &[],
                request_from_row,
            )
        })
    }

    /// One request, whatever its status.
    pub fn approval_request(&self, id: RequestId) -> Result<Option<ApprovalRequest>, StoreError> {
        self.read(|connection| select_request(connection, id))
    }

    /// A page of every request, newest first, older than request `before` when
    /// given.
    pub fn approval_requests_page(
        &self,
        before: Option<i64>,
        size: usize,
    ) -> Result<Page<ApprovalRequest>, StoreError> {
        self.read(|connection| {
            let rows = connection.query(
                sql!(concat!(
                    "SELECT ",
                    request_columns!(),
                    " FROM approval_requests r JOIN users u ON u.id = r.user_id
                     WHERE r.id < $1 ORDER BY r.id DESC LIMIT $2"
                )),
                &[&before.unwrap_or(i64::MAX), &page_limit(size)],
                request_from_row,
            )?;
            Ok(Page::of(rows, size, |request| request.id.0))
        })
    }

    /// A customer's requests, newest first.
    pub fn requests_of(&self, user: UserId) -> Result<Vec<ApprovalRequest>, StoreError> {
        self.read(|connection| {
            connection.query(
                sql!(concat!(
                    "SELECT ",
                    request_columns!(),
                    " FROM approval_requests r JOIN users u ON u.id = r.user_id
                     WHERE r.user_id = $1 ORDER BY r.id DESC"
                )),
                &[&user.0],
                request_from_row,
            )
        })
    }
}

/// Marks a pending request decided, FIRST in the transaction, so of two
/// deciders at once exactly one changes the row (the other waits for it, and
/// PostgreSQL runs it again, to find it decided); then refuses the requester
/// (which undoes the mark). The request as it now stands.
fn decide(
    tx: &mut dyn Connection,
    actor: &Actor,
    id: RequestId,
    status: RequestStatus,
    reason: &AdjustmentReason,
    now: OffsetDateTime,
) -> Result<ApprovalRequest, ApprovalError> {
    let changed = tx.execute(
        sql!(
            "UPDATE approval_requests
             SET status = $2, decided_by = $3, decided_by_staff = $4, decided_at = $5, decision_reason = $6
             WHERE id = $1 AND status = 'pending'"
        ),
        &[
            &id.0,
            &status.as_str(),
            &actor.to_string(),
            &actor.staff_id().map(|staff| staff.0),
            &unix(now),
            &reason.as_str(),
        ],
    )?;
    let request = select_request(tx, id)?.ok_or(ApprovalError::NotFound(id))?;
    if is_requester(&request, actor) {
        return Err(ApprovalError::OwnRequest(id));
    }
    if changed != 1 {
        return Err(ApprovalError::AlreadyDecided {
            request: id,
            status: request.status,
            by: request.decision.map(|decision| decision.by).unwrap_or_default(),
        });
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Balances;
    use crate::store::audit::AuditFilter;
    use crate::store::testing::{TestStore, each_engine, new_account};

    fn cli(user: &str) -> Actor {
        Actor::Command {
            user: user.to_owned(),
        }
    }

    fn staff(id: i64, email: &str) -> Actor {
        Actor::Staff {
            id: StaffId(id),
            email: email.to_owned(),
        }
    }

    fn gift(cents: i64) -> NewCredit {
        NewCredit {
            kind: CreditKind::GiftCard,
            source: CreditSource::Grant,
            description: "Sorry about the delay".into(),
            amount: Money::from_cents(cents),
            expires_at: None,
            code_redemption_id: None,
        }
    }

    fn reason(text: &str) -> AdjustmentReason {
        AdjustmentReason::parse(text).unwrap()
    }

    fn gift_balance(store: &Store, user: UserId) -> Money {
        let balances: Balances = store.balances_for(user, OffsetDateTime::now_utc()).unwrap();
        balances
            .lines()
            .into_iter()
            .find(|line| line.label == "Gift Cards")
            .unwrap()
            .amount
    }

    fn waiting(outcome: GrantOutcome) -> RequestId {
        match outcome {
            GrantOutcome::AwaitingApproval { request, .. } => request,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn actions_by(store: &Store, actor: &Actor) -> Vec<String> {
        let filter = AuditFilter {
            actor: Some(actor.to_string()),
            ..AuditFilter::default()
        };
        let mut actions: Vec<String> = store
            .audit_page(&filter, None, 100)
            .unwrap()
            .entries
            .into_iter()
            .map(|entry| format!("{} {}", entry.action, entry.subject))
            .collect();
        actions.reverse();
        actions
    }

    #[test]
    fn a_600_grant_waits_and_only_another_persons_approval_applies_it() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let manager = staff(1, "mia@shop.example");
            let owner = staff(2, "olga@shop.example");

            let request = waiting(
                store
                    .ask_grant(
                        &manager,
                        GrantAuthority::Full,
                        ann,
                        &gift(60_000),
                        &reason("lost parcel"),
                        now,
                    )
                    .unwrap(),
            );
            assert_eq!(gift_balance(&store, ann), Money::ZERO);
            assert_eq!(store.pending_requests().unwrap().len(), 1);

            let own = store.approve_request(&manager, request, &reason("fine"), now);
            assert!(matches!(own, Err(ApprovalError::OwnRequest(_))), "{own:?}");
            // The same staff member under a new address is still the requester.
            let renamed = staff(1, "mia.new@shop.example");
            assert!(matches!(
                store.approve_request(&renamed, request, &reason("fine"), now),
                Err(ApprovalError::OwnRequest(_))
            ));
            assert_eq!(gift_balance(&store, ann), Money::ZERO);

            let approved = store
                .approve_request(&owner, request, &reason("checked the parcel"), now)
                .unwrap();
            assert_eq!(approved.status, RequestStatus::Approved);
            assert_eq!(approved.decision.as_ref().unwrap().by, "staff:olga@shop.example");
            assert!(approved.granted.is_some());
            assert_eq!(gift_balance(&store, ann), Money::from_cents(60_000));
            assert!(store.pending_requests().unwrap().is_empty());

            let again = store.approve_request(&staff(3, "sid@shop.example"), request, &reason("x"), now);
            assert!(
                matches!(
                    again,
                    Err(ApprovalError::AlreadyDecided {
                        status: RequestStatus::Approved,
                        ..
                    })
                ),
                "{again:?}"
            );
            assert_eq!(gift_balance(&store, ann), Money::from_cents(60_000));

            assert_eq!(
                actions_by(&store, &manager),
                [format!("approval.request approval:{request}")]
            );
            let credit = approved.granted.unwrap().0;
            assert_eq!(
                actions_by(&store, &owner),
                [
                    format!("credit.grant credit:{credit}"),
                    format!("approval.approve approval:{request}")
                ]
            );
            assert!(matches!(
                store.verify_audit().unwrap(),
                crate::store::audit::AuditVerdict::Whole { .. }
            ));
        }
    }

    #[test]
    fn a_grant_at_the_threshold_is_granted_at_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let outcome = store
                .ask_grant(
                    &cli("root"),
                    GrantAuthority::Full,
                    ann,
                    &gift(50_000),
                    &reason("x"),
                    now,
                )
                .unwrap();
            assert!(matches!(outcome, GrantOutcome::Granted(_)));
            assert_eq!(gift_balance(&store, ann), Money::from_cents(50_000));
        }
    }

    #[test]
    fn the_same_operator_cannot_approve_their_own_command_but_another_can() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let request = waiting(
                store
                    .ask_grant(
                        &cli("root"),
                        GrantAuthority::Full,
                        ann,
                        &gift(60_000),
                        &reason("x"),
                        now,
                    )
                    .unwrap(),
            );
            let own = store.reject_request(&cli("root"), request, &reason("x"), now);
            assert!(matches!(own, Err(ApprovalError::OwnRequest(_))));
            store
                .approve_request(&cli("alice"), request, &reason("ok"), now)
                .unwrap();
            assert_eq!(gift_balance(&store, ann), Money::from_cents(60_000));
        }
    }

    #[test]
    fn a_rejected_request_leaves_the_balances_alone() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let manager = staff(1, "mia@shop.example");
            let owner = staff(2, "olga@shop.example");
            let request = waiting(
                store
                    .ask_grant(
                        &manager,
                        GrantAuthority::Full,
                        ann,
                        &gift(60_000),
                        &reason("x"),
                        now,
                    )
                    .unwrap(),
            );
            let rejected = store
                .reject_request(&owner, request, &reason("no order on file"), now)
                .unwrap();
            assert_eq!(rejected.status, RequestStatus::Rejected);
            assert_eq!(gift_balance(&store, ann), Money::ZERO);
            assert!(matches!(
                store.approve_request(&staff(3, "sid@shop.example"), request, &reason("x"), now),
                Err(ApprovalError::AlreadyDecided {
                    status: RequestStatus::Rejected,
                    ..
                })
            ));
            assert_eq!(gift_balance(&store, ann), Money::ZERO);
            let entry = &store
                .audit_page(&AuditFilter::default(), None, 1)
                .unwrap()
                .entries[0];
            assert_eq!(entry.action, "approval.reject");
            assert_eq!(entry.actor, "staff:olga@shop.example");
            assert_eq!(entry.reason.as_deref(), Some("no order on file"));
            assert_eq!(store.requests_of(ann).unwrap()[0].status, RequestStatus::Rejected);
        }
    }

    #[test]
    fn two_approvals_at_once_apply_the_grant_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let request = waiting(
                store
                    .ask_grant(
                        &cli("root"),
                        GrantAuthority::Full,
                        ann,
                        &gift(60_000),
                        &reason("x"),
                        now,
                    )
                    .unwrap(),
            );
            let results: Vec<Result<ApprovalRequest, ApprovalError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..6)
                    .map(|n| {
                        let store = store.clone();
                        scope.spawn(move || {
                            store.approve_request(&cli(&format!("approver{n}")), request, &reason("ok"), now)
                        })
                    })
                    .collect();
                handles.into_iter().map(|handle| handle.join().unwrap()).collect()
            });
            assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);
            assert!(
                results
                    .iter()
                    .all(|result| matches!(result, Ok(_) | Err(ApprovalError::AlreadyDecided { .. })))
            );
            assert_eq!(gift_balance(&store, ann), Money::from_cents(60_000));
            assert_eq!(store.credits_of(ann).unwrap().len(), 1);
        }
    }

    #[test]
    fn a_support_grant_above_25_is_refused_saying_the_limit() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let error = store
                .ask_grant(
                    &staff(5, "sam@shop.example"),
                    GrantAuthority::Goodwill,
                    ann,
                    &gift(2_501),
                    &reason("x"),
                    now,
                )
                .unwrap_err();
            assert!(error.to_string().contains("$25.00"), "{error}");
            assert!(matches!(
                error,
                GrantError::OverSupportLimit {
                    per: SupportLimit::PerGrant,
                    ..
                }
            ));
            assert_eq!(gift_balance(&store, ann), Money::ZERO);
            assert!(
                store
                    .audit_page(&AuditFilter::default(), None, 5)
                    .unwrap()
                    .entries
                    .is_empty()
            );
        }
    }

    #[test]
    fn support_grants_stop_at_100_a_day_and_start_again_the_next_day() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc().replace_time(Time::from_hms(12, 0, 0).unwrap());
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let sam = staff(5, "sam@shop.example");
            for _ in 0..4 {
                store
                    .ask_grant(
                        &sam,
                        GrantAuthority::Goodwill,
                        ann,
                        &gift(2_500),
                        &reason("x"),
                        now,
                    )
                    .unwrap();
            }
            let error = store
                .ask_grant(&sam, GrantAuthority::Goodwill, ann, &gift(1), &reason("x"), now)
                .unwrap_err();
            assert!(error.to_string().contains("$100.00 a day"), "{error}");
            assert!(error.to_string().contains("$100.00 today"), "{error}");
            // Another support person has their own day.
            store
                .ask_grant(
                    &staff(6, "sue@shop.example"),
                    GrantAuthority::Goodwill,
                    ann,
                    &gift(2_500),
                    &reason("x"),
                    now,
                )
                .unwrap();
            let tomorrow = now + time::Duration::days(1);
            store
                .ask_grant(
                    &sam,
                    GrantAuthority::Goodwill,
                    ann,
                    &gift(2_500),
                    &reason("x"),
                    tomorrow,
                )
                .unwrap();
            assert_eq!(gift_balance(&store, ann), Money::from_cents(15_000));
            let sams = actions_by(&store, &sam);
            assert_eq!(sams.len(), 5, "{sams:?}");
            assert!(
                sams.iter()
                    .all(|action| action.starts_with("credit.grant credit:"))
            );
        }
    }

    #[test]
    fn ten_goodwill_grants_at_once_never_pass_100_that_day() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let sam = staff(5, "sam@shop.example");
            let results: Vec<Result<GrantOutcome, GrantError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..10)
                    .map(|_| {
                        let store = store.clone();
                        let sam = sam.clone();
                        scope.spawn(move || {
                            store.ask_grant(
                                &sam,
                                GrantAuthority::Goodwill,
                                ann,
                                &gift(2_500),
                                &reason("x"),
                                now,
                            )
                        })
                    })
                    .collect();
                handles.into_iter().map(|handle| handle.join().unwrap()).collect()
            });
            assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 4);
            assert!(results.iter().all(|result| matches!(
                result,
                Ok(GrantOutcome::Granted(_)) | Err(GrantError::OverSupportLimit { .. })
            )));
            assert_eq!(gift_balance(&store, ann), Money::from_cents(10_000));
        }
    }

    #[test]
    fn a_lower_threshold_takes_effect_at_once() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let asked = |cents| {
                store
                    .ask_grant(
                        &cli("root"),
                        GrantAuthority::Full,
                        ann,
                        &gift(cents),
                        &reason("x"),
                        now,
                    )
                    .unwrap()
            };
            assert!(matches!(asked(30_000), GrantOutcome::Granted(_)));
            store
                .set_approval_threshold(&cli("boss"), Money::from_cents(25_000), now)
                .unwrap();
            match asked(30_000) {
                GrantOutcome::AwaitingApproval { threshold, .. } => {
                    assert_eq!(threshold, Money::from_cents(25_000))
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(
                actions_by(&store, &cli("boss")),
                ["setting.change setting:approval-threshold"]
            );
        }
    }

    #[test]
    fn an_upward_adjustment_above_the_threshold_waits_and_a_downward_one_does_not() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let root = cli("root");
            let credit = store
                .grant_credit(&root, ann, &gift(100_000), &reason("x"), now)
                .unwrap();
            let down = store
                .ask_adjust(
                    &root,
                    credit,
                    Adjustment::Take(Money::from_cents(80_000)),
                    &reason("typo"),
                    now,
                )
                .unwrap();
            assert!(matches!(down, AdjustOutcome::Adjusted(_)));
            assert_eq!(gift_balance(&store, ann), Money::from_cents(20_000));

            let up = store
                .ask_adjust(
                    &root,
                    credit,
                    Adjustment::Add(Money::from_cents(60_000)),
                    &reason("undo"),
                    now,
                )
                .unwrap();
            let AdjustOutcome::AwaitingApproval { request, .. } = up else {
                panic!("{up:?}")
            };
            assert_eq!(gift_balance(&store, ann), Money::from_cents(20_000));
            let small_up = store
                .ask_adjust(
                    &root,
                    credit,
                    Adjustment::Add(Money::from_cents(10_000)),
                    &reason("undo"),
                    now,
                )
                .unwrap();
            assert!(matches!(small_up, AdjustOutcome::Adjusted(_)));

            store
                .approve_request(&cli("alice"), request, &reason("ok"), now)
                .unwrap();
            assert_eq!(gift_balance(&store, ann), Money::from_cents(90_000));
            assert_eq!(
                actions_by(&store, &cli("alice")),
                [
                    format!("credit.adjust credit:{}", credit.0),
                    format!("approval.approve approval:{request}")
                ]
            );
        }
    }

    #[test]
    fn an_approved_raise_is_not_put_onto_a_credit_revoked_since() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            let root = cli("root");
            let credit = store
                .grant_credit(&root, ann, &gift(100_000), &reason("x"), now)
                .unwrap();
            store
                .ask_adjust(
                    &root,
                    credit,
                    Adjustment::Take(Money::from_cents(70_000)),
                    &reason("x"),
                    now,
                )
                .unwrap();
            let AdjustOutcome::AwaitingApproval { request, .. } = store
                .ask_adjust(
                    &root,
                    credit,
                    Adjustment::Add(Money::from_cents(60_000)),
                    &reason("x"),
                    now,
                )
                .unwrap()
            else {
                panic!("expected a request")
            };
            store.revoke_credit(&root, credit, &reason("fraud"), now).unwrap();

            let error = store
                .approve_request(&cli("alice"), request, &reason("ok"), now)
                .unwrap_err();
            assert!(matches!(error, ApprovalError::NoLongerFits { .. }), "{error:?}");
            assert!(error.to_string().contains("revoked"), "{error}");
            assert_eq!(gift_balance(&store, ann), Money::ZERO);
            assert_eq!(
                store.approval_request(request).unwrap().unwrap().status,
                RequestStatus::Pending
            );
            store
                .reject_request(&cli("alice"), request, &reason("revoked"), now)
                .unwrap();
        }
    }

    #[test]
    fn requests_page_newest_first() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "hash", now);
            for _ in 0..3 {
                store
                    .ask_grant(
                        &cli("root"),
                        GrantAuthority::Full,
                        ann,
                        &gift(60_000),
                        &reason("x"),
                        now,
                    )
                    .unwrap();
            }
            let page = store.approval_requests_page(None, 2).unwrap();
            assert_eq!(page.entries.len(), 2);
            assert_eq!(page.entries[0].id, RequestId(3));
            assert_eq!(page.entries[0].customer_email, "ann@example.com");
            assert_eq!(page.older, Some(2));
            let rest = store.approval_requests_page(page.older, 2).unwrap();
            assert_eq!(rest.entries.len(), 1);
            assert_eq!(rest.older, None);
        }
    }
}
