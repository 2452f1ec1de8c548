//! Every console route, asked as every role (SPEC §8's roles table): what the
//! role allows opens, and what it does not is a 403 that changes nothing. The
//! routes come from `storecredit::routes::admin::ROUTES`, so a new route is
//! walked without touching this file (unless it has a placeholder the map below
//! does not know, which fails with a message saying so).

use reqwest::StatusCode;
use storecredit::domain::{Actor, AdjustmentReason, CreditKind, CreditSource, Email, Money, Role};
use storecredit::routes::admin::{ConsoleRoute, ROUTES};
use storecredit::store::approvals::{GrantAuthority, GrantOutcome};
use storecredit::store::credits::NewCredit;

use crate::console::{StaffBrowser, staff_member};
use crate::helpers::{DEMO_EMAIL, TestApp, location, spawn_app};

/// The objects a route's `{id}` stands for, by the path before it.
struct Objects {
    /// `(path prefix, id)`: `/admin/customers/` → a customer's number…
    by_prefix: Vec<(&'static str, i64)>,
}

impl Objects {
    /// Real objects of the demo shopper: the account, a credit, an order, a
    /// grant waiting for approval; and one of the demo's codes.
    async fn of_the_demo(app: &TestApp) -> Objects {
        // An order for the demo shopper, so there is one to point at.
        app.sign_in_as_demo().await;
        let product = app.product_id("SafeKeep Backup");
        assert_eq!(app.buy(product, &[]).await.status(), StatusCode::SEE_OTHER);
        let (customer, credit, order, request, code) = app.with_store(|store| {
            let demo = store
                .user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap())
                .unwrap()
                .unwrap();
            let credit = store.credits_of(demo).unwrap()[0].id.0;
            let order = store.orders_of(demo).unwrap()[0].id;
            let big = NewCredit {
                kind: CreditKind::GiftCard,
                source: CreditSource::Grant,
                description: "A big apology".into(),
                amount: Money::from_cents(60_000),
                expires_at: None,
                code_redemption_id: None,
            };
            let asked = store
                .ask_grant(
                    &Actor::command(),
                    GrantAuthority::Full,
                    demo,
                    &big,
                    &AdjustmentReason::parse("a long outage").unwrap(),
                    time::OffsetDateTime::now_utc(),
                )
                .unwrap();
            let GrantOutcome::AwaitingApproval { request, .. } = asked else {
                panic!("a $600.00 grant waits for approval")
            };
            let code = store.list_codes().unwrap()[0].id;
            (demo.0, credit, order, request.0, code)
        });
        // A staff member for the owner's forms to act on, a department and a
        // product for the catalog's.
        crate::console::add_staff(app, "walked-over@shop.example", Role::Support);
        let (member, category) = app.with_store(|store| {
            let member = store
                .staff_member(&Email::parse("walked-over@shop.example").unwrap())
                .unwrap()
                .expect("the staff member just added");
            (
                member.id.0,
                store.categories().by_slug("software").unwrap().id().get(),
            )
        });
        Objects {
            by_prefix: vec![
                ("/admin/customers/", customer),
                ("/admin/credits/", credit),
                ("/admin/orders/", order),
                ("/admin/approvals/", request),
                ("/admin/codes/", code),
                ("/admin/staff/", member),
                ("/admin/categories/", category),
                ("/admin/products/", product),
            ],
        }
    }

    /// `route`'s path with its placeholder filled.
    fn path_of(&self, route: &ConsoleRoute) -> String {
        let Some(at) = route.path.find('{') else {
            return route.path.to_owned();
        };
        let (prefix, rest) = route.path.split_at(at);
        let end = rest.find('}').expect("a closed placeholder") + 1;
        let id = self
            .by_prefix
            .iter()
            .find(|(known, _)| prefix == *known)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| {
                panic!(
                    "{} {} has a placeholder this test cannot fill: create such an object in \
                     Objects::of_the_demo (tests/api/console_roles.rs) and add its prefix {prefix:?} \
                     to the map",
                    route.method, route.path
                )
            });
        format!("{prefix}{id}{}", &rest[end..])
    }
}

/// What could change: the audit trail's length and the demo shopper's balances.
async fn state(app: &TestApp) -> (usize, Vec<(String, String)>) {
    (
        app.sql_rows("SELECT id FROM audit_entries").len(),
        app.popup().await,
    )
}

async fn ask(staff: &StaffBrowser, route: &ConsoleRoute, path: &str) -> reqwest::Response {
    match route.method {
        "GET" => staff.get(path).await,
        "POST" => staff.post_console(path, &[]).await,
        other => panic!("a console route with the method {other}"),
    }
}

/// Sign-out last: it ends the session the walk goes on with.
fn in_walking_order() -> Vec<ConsoleRoute> {
    let mut routes = ROUTES.to_vec();
    routes.sort_by_key(|route| route.path.ends_with("/signout"));
    routes
}

#[actix_web::test]
async fn every_console_route_is_open_to_the_roles_it_allows_and_a_403_that_changes_nothing_to_the_others() {
    let Some(app) = spawn_app().await else { return };
    assert!(!ROUTES.is_empty());
    let objects = Objects::of_the_demo(&app).await;
    for role in Role::ALL {
        let staff = staff_member(&app, role).await;
        assert_eq!(staff.role, role);
        for route in in_walking_order() {
            let path = objects.path_of(&route);
            let allowed = route.permission.is_none_or(|permission| role.may(permission));
            let before = state(&app).await;
            let response = ask(&staff, &route, &path).await;
            let status = response.status();
            let to_sign_in = status == StatusCode::SEE_OTHER
                && location(&response).starts_with("/admin/signin?return_to=");
            let what = format!("{} {path} as {role}", route.method);
            if allowed {
                assert_ne!(status, StatusCode::FORBIDDEN, "{what} is allowed");
                assert!(!to_sign_in, "{what} is allowed, yet sent to sign in");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what} is not allowed");
                let body = response.text().await.unwrap();
                assert!(body.contains("Nothing was changed"), "{what}: {body}");
                assert_eq!(state(&app).await, before, "{what} changed something");
            }
        }
    }
}

/// A console POST carrying another session's token, or none, is refused before
/// anything changes: every POST route, as the owner (whom every route allows).
#[actix_web::test]
async fn every_console_form_refuses_a_foreign_or_missing_token_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let objects = Objects::of_the_demo(&app).await;
    let owner = staff_member(&app, Role::Owner).await;
    for route in in_walking_order()
        .into_iter()
        .filter(|route| route.method == "POST")
    {
        let path = objects.path_of(&route);
        for token in ["", "a-token-of-another-session"] {
            let before = state(&app).await;
            let response = owner
                .post_form(
                    &path,
                    &[("csrf_token", token), ("reason", "r"), ("amount", "1.00")],
                )
                .await;
            let what = format!("POST {path} with the token {token:?}");
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
            assert_eq!(state(&app).await, before, "{what} changed something");
        }
    }
}

#[test]
fn the_walk_knows_every_placeholder_of_the_console_routes() {
    let objects = Objects {
        by_prefix: vec![
            ("/admin/customers/", 1),
            ("/admin/credits/", 2),
            ("/admin/orders/", 3),
            ("/admin/approvals/", 4),
            ("/admin/codes/", 5),
            ("/admin/staff/", 5),
            ("/admin/categories/", 6),
            ("/admin/products/", 7),
        ],
    };
    for route in ROUTES {
        assert!(!objects.path_of(route).contains('{'), "{}", route.path);
    }
}
