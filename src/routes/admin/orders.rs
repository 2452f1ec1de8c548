//! `/admin/orders`: every customer's orders, filtered by day and customer, and
//! an order's page (what it cost and how it was paid, the credits it drew on,
//! its refunds so far).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use time::OffsetDateTime;

use super::console_page::{
    Desk, FormProblem, csv_download, day_range, every_page, filtered_href, moment, next_page_href, wants_csv,
};
use super::{ConsoleChrome, Staff, may};
use crate::domain::{CreditKind, Money, Permission};
use crate::error::AppError;
use crate::listing::Listing;
use crate::listing::rows::{ORDER_COLUMNS, order_cells};
use crate::routes::{PAGE_SIZE, blocking, render_with_status};
use crate::store::gift_cards::GiftCard;
use crate::store::orders::{CreditMovement, OrderDetails, OrderFilter, OrderSummary};

#[derive(Template)]
#[template(path = "admin/orders.html")]
struct OrdersPage {
    chrome: ConsoleChrome,
    /// The filters as typed.
    from: String,
    to: String,
    query: String,
    /// A filter that could not be read: the field and why.
    problem: Option<(&'static str, String)>,
    orders: Vec<OrderSummary>,
    next: Option<String>,
    paged: bool,
    /// The first page of these filters.
    first_href: String,
    /// These filters' orders as a CSV download.
    csv_href: String,
}

impl OrdersPage {
    fn when(&self, order: &OrderSummary) -> String {
        moment(order.placed_at)
    }

    fn error_at(&self, field: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .filter(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }
}

#[derive(serde::Deserialize)]
pub struct OrderSearch {
    from: Option<String>,
    to: Option<String>,
    q: Option<String>,
    before: Option<i64>,
    format: Option<String>,
}

/// The orders' filter from the days and text typed, or the field that could
/// not be read and why.
fn order_filter(from: &str, to: &str, text: &str) -> Result<OrderFilter, (&'static str, String)> {
    let (since, until) = day_range(from, to)?;
    Ok(OrderFilter {
        since,
        until,
        customer: Some(text.trim().to_owned()).filter(|text| !text.is_empty()),
    })
}

/// `GET /admin/orders?from=&to=&q=`: orders placed from the first day through
/// the last (UTC) by customers whose e-mail or name contains the text, newest
/// first, 20 a page.
pub async fn list(
    staff: Staff<may::ViewCustomers>,
    desk: Desk,
    query: web::Query<OrderSearch>,
) -> Result<HttpResponse, AppError> {
    let OrderSearch {
        from,
        to,
        q,
        before,
        format,
    } = query.into_inner();
    let (from, to, text) = (
        from.unwrap_or_default(),
        to.unwrap_or_default(),
        q.unwrap_or_default(),
    );
    let mut page = OrdersPage {
        chrome: ConsoleChrome::of(&staff),
        problem: None,
        orders: Vec::new(),
        next: None,
        paged: before.is_some(),
        first_href: filtered_href(
            "/admin/orders",
            &[
                ("from", Some(from.trim())),
                ("to", Some(to.trim())),
                ("q", Some(text.trim())),
            ],
        ),
        csv_href: filtered_href(
            "/admin/orders",
            &[
                ("from", Some(from.trim())),
                ("to", Some(to.trim())),
                ("q", Some(text.trim())),
                ("format", Some("csv")),
            ],
        ),
        from,
        to,
        query: text,
    };
    let filter = match order_filter(&page.from, &page.to, &page.query) {
        Ok(filter) => filter,
        Err(problem) => {
            page.problem = Some(problem);
            return render_with_status(&page, StatusCode::BAD_REQUEST);
        }
    };
    let store = desk.store;
    if wants_csv(&staff, format.as_deref())? {
        let orders =
            blocking(move || every_page(|before, size| store.orders_list_page(&filter, before, size)))
                .await?;
        let mut listing = Listing::new(ORDER_COLUMNS);
        for order in &orders {
            listing.push(order_cells(order));
        }
        return csv_download("orders", &listing, desk.clock.now().date());
    }
    let found = blocking(move || store.orders_list_page(&filter, before, PAGE_SIZE)).await?;
    page.next = found.older.map(|older| {
        next_page_href(
            "/admin/orders",
            &[
                ("from", Some(page.from.trim())),
                ("to", Some(page.to.trim())),
                ("q", Some(page.query.trim())),
            ],
            older,
        )
    });
    page.orders = found.entries;
    render_with_status(&page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "admin/order.html")]
struct OrderPage {
    chrome: ConsoleChrome,
    order: OrderDetails,
    /// What the last action on this page did.
    notice: Option<String>,
    /// A refused refund form, shown again beside its field.
    problem: Option<FormProblem>,
    may_refund: bool,
    /// The gift card the order bought, when it is one.
    gift_card: Option<GiftCard>,
}

impl OrderPage {
    fn when(&self, at: &OffsetDateTime) -> String {
        moment(*at)
    }

    fn kind(&self, movement: &CreditMovement) -> &'static str {
        match movement.kind {
            CreditKind::GiftCard => "gift card",
            CreditKind::Promotional(_) => "promotional credit",
        }
    }

    /// What the order came to after its discount.
    fn total(&self) -> Money {
        self.order
            .receipt
            .price
            .saturating_sub(self.order.receipt.discount)
    }

    fn is_refunded(&self) -> bool {
        self.order.receipt.refunded_at.is_some()
    }

    /// Some of the order has been refunded.
    fn has_refunds(&self) -> bool {
        !self.order.refunds.is_empty()
    }

    /// What is left to refund.
    fn left(&self) -> Money {
        self.order
            .receipt
            .paid()
            .saturating_sub(self.order.receipt.refunded)
    }

    /// The refund form's refusal about `field` (or the form as a whole with "").
    fn refund_error(&self, field: &str) -> Option<&str> {
        self.problem.as_ref().and_then(|problem| {
            if field.is_empty() {
                problem.of_form("refund")
            } else {
                problem.at("refund", field)
            }
        })
    }

    fn refund_typed(&self, field: &str) -> &str {
        self.problem
            .as_ref()
            .map_or("", |problem| problem.typed("refund", field))
    }
}

/// `GET /admin/orders/{id}`.
pub async fn show(
    staff: Staff<may::ViewCustomers>,
    desk: Desk,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    order_page(&staff, desk, id.into_inner(), None).await
}

/// The order page of `id` (404 for an unknown order); with status 422 when it
/// shows a refused refund form again.
pub async fn order_page<P>(
    staff: &Staff<P>,
    desk: Desk,
    id: i64,
    problem: Option<FormProblem>,
) -> Result<HttpResponse, AppError> {
    let (store, now) = (desk.store, desk.clock.now());
    let (order, gift_card) = blocking(move || {
        let order = store.order_details(id)?;
        let gift_card = match &order {
            Some(order) if order.receipt.product_id.is_none() => store.gift_card(None, id, now)?,
            _ => None,
        };
        Ok::<_, crate::store::StoreError>((order, gift_card))
    })
    .await?;
    let order = order.ok_or(AppError::NotFound)?;
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let shown_note = desk.waiting.is_some();
    let mut response = render_with_status(
        &OrderPage {
            chrome: ConsoleChrome::of(staff),
            order,
            notice: desk.waiting.map(|note| note.notice),
            problem,
            may_refund: staff.member.role.may(Permission::Refund),
            gift_card,
        },
        status,
    )?;
    if shown_note && let Err(error) = response.add_cookie(&desk.notes.removal()) {
        tracing::warn!(%error, "could not forget a console note once shown");
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn days_bound_the_orders_from_the_first_midnight_to_the_end_of_the_last_day() {
        let filter = order_filter("2026-12-01", " 2026-12-07 ", "  ann ").unwrap();
        assert_eq!(filter.since, Some(datetime!(2026-12-01 00:00 UTC)));
        assert_eq!(filter.until, Some(datetime!(2026-12-08 00:00 UTC)));
        assert_eq!(filter.customer.as_deref(), Some("ann"));
        assert_eq!(order_filter("", "", " ").unwrap(), OrderFilter::default());
    }

    #[test]
    fn a_day_that_cannot_be_read_names_its_field() {
        assert_eq!(order_filter("12/01/2026", "", "").unwrap_err().0, "from");
        assert_eq!(order_filter("", "2026-13-01", "").unwrap_err().0, "to");
        assert_eq!(order_filter("2026-12-07", "2026-12-01", "").unwrap_err().0, "to");
    }
}
