//! TEMPORARY (replaced on merge by the credits, discounts and categories modules).

use time::OffsetDateTime;

use super::StoreError;
use super::credits::NewCredit;
use super::sql::{Connection, Sql, sql, unix};
use crate::domain::{CategorySet, CreditId, CreditKind, DiscountTerms, DiscountValue, UserId};

pub(crate) fn insert_category_refs(
    connection: &mut dyn Connection,
    insert: &Sql,
    owner: i64,
    set: CategorySet,
) -> Result<(), StoreError> {
    for category in set.ids() {
        connection.execute(insert, &[&owner, &i64::from(category.get())])?;
    }
    Ok(())
}

pub(crate) fn insert_discount(
    connection: &mut dyn Connection,
    user: UserId,
    description: &str,
    terms: DiscountTerms,
    code_redemption_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    let (percent, amount) = match terms.value {
        DiscountValue::Percent(percent) => (Some(i64::from(percent)), None),
        DiscountValue::AmountOff(amount) => (None, Some(amount.cents())),
    };
    let id: i64 = connection.query_value(
        sql!(
            "INSERT INTO discounts (user_id, description, percent_off, amount_off_cents,
                                    code_redemption_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        ),
        &[
            &user.0,
            &description,
            &percent,
            &amount,
            &code_redemption_id,
            &unix(now),
        ],
    )?;
    insert_category_refs(
        connection,
        sql!("INSERT INTO discount_categories (discount_id, category_id) VALUES ($1, $2)"),
        id,
        terms.categories,
    )?;
    Ok(id)
}

pub(crate) fn insert_credit(
    connection: &mut dyn Connection,
    user: UserId,
    credit: &NewCredit,
    now: OffsetDateTime,
) -> Result<CreditId, StoreError> {
    let id = CreditId(connection.query_value(
        sql!(
            "INSERT INTO credits (user_id, kind, source, description, code_redemption_id,
                                  original_cents, remaining_cents, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id"
        ),
        &[
            &user.0,
            &credit.kind.as_str(),
            &credit.source.as_str(),
            &credit.description,
            &credit.code_redemption_id,
            &credit.amount.cents(),
            &credit.expires_at.map(unix),
            &unix(now),
        ],
    )?);
    if let CreditKind::Promotional(categories) = credit.kind {
        insert_category_refs(
            connection,
            sql!("INSERT INTO credit_categories (credit_id, category_id) VALUES ($1, $2)"),
            id.0,
            categories,
        )?;
    }
    connection.execute(
        sql!(
            "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, created_at)
             VALUES ($1, 'grant', $2, NULL, $3)"
        ),
        &[&id.0, &credit.amount.cents(), &unix(now)],
    )?;
    Ok(id)
}
