//! How an order is paid, line by line, as the checkout summary and the receipt
//! show it (`templates/_paid_lines.html`).

use crate::domain::Money;
use crate::store::orders::DrawnCredit;

/// One line of a payment breakdown, with its `data-paid` hook (SPEC §2, §7).
#[derive(Debug, Clone)]
pub struct PaidLine {
    pub label: String,
    /// What the line is, in smaller print: a credit's description and last day.
    pub detail: Option<String>,
    pub hook: &'static str,
    pub amount: Money,
}

impl PaidLine {
    /// Taken off the price (shown with a minus sign), as opposed to the price
    /// itself and what the card pays.
    pub fn is_deduction(&self) -> bool {
        !matches!(self.hook, "price" | "card")
    }
}

/// A breakdown in the order payment is taken: the price, the discount, one line
/// per credit drawn on, and the card. Lines of $0.00 are left out.
pub fn breakdown(
    price: Money,
    discount: Money,
    drawn: &[DrawnCredit],
    card: Money,
    card_label: Option<&str>,
) -> Vec<PaidLine> {
    let mut lines = vec![PaidLine {
        label: "Price".to_owned(),
        detail: None,
        hook: "price",
        amount: price,
    }];
    if !discount.is_zero() {
        lines.push(PaidLine {
            label: "Discount".to_owned(),
            detail: None,
            hook: "discount",
            amount: discount,
        });
    }
    for credit in drawn.iter().filter(|credit| !credit.amount.is_zero()) {
        let until = credit
            .last_day
            .map_or_else(|| "no expiry".to_owned(), |day| format!("use by {day}"));
        let (label, hook) = if credit.gift_card {
            ("Gift card", "gift-card")
        } else {
            ("Promotional credit", "promotional-credit")
        };
        lines.push(PaidLine {
            label: label.to_owned(),
            detail: Some(format!("{} · {until}", credit.description)),
            hook,
            amount: credit.amount,
        });
    }
    if !card.is_zero() {
        lines.push(PaidLine {
            label: card_label.map_or_else(|| "Card".to_owned(), |label| format!("Charged to {label}")),
            detail: None,
            hook: "card",
            amount: card,
        });
    }
    lines
}
