//! How an operator's search picks accounts, the same on both engines.

use crate::store::users::AccountSummary;

/// The accounts whose e-mail or name contains `search`, in any case (Unicode's,
/// not only ASCII's, so "élodie" finds "Élodie"); every account without one.
pub(crate) fn matching(accounts: Vec<AccountSummary>, search: Option<&str>) -> Vec<AccountSummary> {
    let Some(search) = search.map(str::trim).filter(|text| !text.is_empty()) else {
        return accounts;
    };
    let wanted = search.to_lowercase();
    accounts
        .into_iter()
        .filter(|account| {
            account.email.to_lowercase().contains(&wanted) || account.name.to_lowercase().contains(&wanted)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::UserId;

    fn account(id: i64, email: &str, name: &str) -> AccountSummary {
        AccountSummary {
            id: UserId(id),
            email: email.to_owned(),
            name: name.to_owned(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            default_card: None,
            credits: 0,
            orders: 0,
        }
    }

    #[test]
    fn a_search_matches_names_and_emails_in_any_case_beyond_ascii() {
        let accounts = || {
            vec![
                account(1, "elodie@example.com", "Élodie Ünïcode"),
                account(2, "ann@example.com", "Ann"),
            ]
        };
        let found = |search| -> Vec<i64> { matching(accounts(), search).iter().map(|a| a.id.0).collect() };
        assert_eq!(found(Some("élodie")), [1]);
        assert_eq!(found(Some("ÜNÏ")), [1]);
        assert_eq!(found(Some(" ANN@")), [2]);
        assert_eq!(found(Some("  ")), [1, 2]);
        assert_eq!(found(None), [1, 2]);
        assert!(found(Some("zed")).is_empty());
    }
}
