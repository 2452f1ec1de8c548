//! `order list` and `order show`: orders, how they were paid, and their refunds.

use crate::config::DatabaseLocation;
use std::process::ExitCode;

use anyhow::Context;

use super::credits::{category_slugs, kind_name};
use super::{account, open_existing};
use crate::domain::Categories;
use crate::listing::rows::{ORDER_COLUMNS, order_cells};
use crate::listing::{Format, Listing, for_people, moment};
use crate::store::orders::CreditMovement;

pub(super) fn list(
    database: &DatabaseLocation,
    email: Option<&str>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let user = email.map(|email| account(&store, email)).transpose()?;
    let mut listing = Listing::new(ORDER_COLUMNS);
    for order in store.list_orders(user)? {
        listing.push(order_cells(&order));
    }
    listing.write(format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn show(database: &DatabaseLocation, id: i64) -> anyhow::Result<ExitCode> {
    let store = open_existing(database)?;
    let order = store
        .order_details(id)?
        .with_context(|| format!("there is no order {id}"))?;
    let receipt = &order.receipt;
    println!("Order                 {}", receipt.id);
    println!("Placed                {}", moment(receipt.placed_at));
    println!("Account               {} (account {})", order.email, order.user.0);
    match receipt.product_id {
        Some(product) => println!(
            "Product               {} ({}, product {product})",
            receipt.product_title, receipt.product_format
        ),
        None => println!(
            "Product               {} ({})",
            receipt.product_title, receipt.product_format
        ),
    }
    if let Some(gift) = store.gift_card(None, id, crate::clock::Clock::system().now())? {
        println!("Gift card for         {}", for_people(&gift.recipient_email));
        println!("Gift card state       {}", gift.state.describe());
    }
    println!("Price                 {:>12}", receipt.price.to_string());
    if let Some(promotion) = &receipt.promotion {
        println!("Promotion             {promotion}");
    }
    println!("Discount              {:>12}", receipt.discount.to_string());
    println!(
        "Promotional credit    {:>12}",
        receipt.promotional_credit.to_string()
    );
    println!("Gift card             {:>12}", receipt.gift_card.to_string());
    let card = receipt.card_label.as_deref().unwrap_or("no card");
    println!("Card                  {:>12}  {card}", receipt.card.to_string());
    let categories = store.categories();
    print_movements("Paid from credits", &order.draws, &categories);
    let paid = receipt.paid();
    match receipt.refunded_at {
        None if receipt.refunded.is_zero() => println!("Refunded              no"),
        None => println!(
            "Refunded              {:>12}  in part, of {paid}; {} left",
            receipt.refunded.to_string(),
            paid - receipt.refunded
        ),
        Some(at) => println!(
            "Refunded              {:>12}  in full, {}",
            receipt.refunded.to_string(),
            moment(at)
        ),
    }
    if !order.refunds.is_empty() {
        println!("Refunds");
        for refund in &order.refunds {
            let mut went = Vec::new();
            if !refund.card.is_zero() {
                went.push(format!(
                    "{} to {}",
                    refund.card,
                    refund.card_label.as_deref().unwrap_or("the card")
                ));
            }
            if !refund.withheld.is_zero() {
                went.push(format!("{} withheld (revoked credit)", refund.withheld));
            }
            let went = if went.is_empty() {
                String::new()
            } else {
                format!(" ({})", went.join(", "))
            };
            println!(
                "  refund {:<5} {:>12}  {} by {}: {}{went}",
                refund.id,
                refund.amount.to_string(),
                moment(refund.at),
                for_people(&refund.actor),
                for_people(&refund.reason),
            );
        }
        print_movements("Returned to credits", &order.returned, &categories);
        print_movements(
            "Returned as new credits (the credit paid from had expired, was raised or was revoked)",
            &order.new_credits,
            &categories,
        );
        if let Some((amount, label)) = &order.card_refund {
            println!("Refunded to card      {:>12}  {label}", amount.to_string());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_movements(title: &str, movements: &[CreditMovement], categories: &Categories) {
    if movements.is_empty() {
        return;
    }
    println!("{title}");
    for movement in movements {
        println!(
            "  credit {:<6} {:>12}  {} ({}: {})",
            movement.credit.0,
            movement.amount.to_string(),
            movement.description,
            kind_name(movement.kind),
            category_slugs(categories, movement.kind)
        );
    }
}
