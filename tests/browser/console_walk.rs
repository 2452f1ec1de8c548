//! Every page of the console in a real browser, found from the route table
//! (`storecredit::routes::admin::ROUTES`) so a page added later is walked too:
//! an owner (who may open every page) signs in through the sign-in page with a
//! TOTP code computed here; each page, with the sign-in and enrolment pages and
//! the console's "not found" page, passes axe at 1280 and 390 px, never scrolls
//! the page sideways on a phone, and is saved as
//! `target/screenshots/console-<page>-<width>.png`. Every page works from the
//! keyboard: Tab reaches the skip link first, which moves the focus to the
//! main content, and then every link and form control, each with a visible
//! focus ring.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use storecredit::auth::totp;
use storecredit::domain::{Actor, CodeGrant, DisplayName, Email, Money, PromoCode, Role};
use storecredit::routes::admin::ROUTES;

use crate::harness::{DEMO_EMAIL, JavaScript, Session, axe_source, notice};
use crate::support::off_the_runtime;

const OWNER_EMAIL: &str = "olive@shop.example";
const PASSWORD: &str = "violet-kestrel-maps-north";
const WIDTHS: [u32; 2] = [1280, 390];

/// The objects the walk opens a page of.
struct Objects {
    customer: i64,
    order: i64,
    credit: i64,
    approval: i64,
    code_id: i64,
    code: String,
    /// A staff member other than the owner walking, not yet enrolled.
    staff: i64,
    staff_enrolment: String,
    category: i64,
    product: i64,
}

/// What fills each placeholder of a console route: the route's path up to the
/// placeholder, the placeholder, and the value. A route whose placeholder is
/// not here fails the walk with its name: add a line (and make the object in
/// [`make_objects`]) when you add such a page.
fn fillings(o: &Objects) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("/admin/customers/", "{id}", o.customer.to_string()),
        ("/admin/orders/", "{id}", o.order.to_string()),
        ("/admin/credits/", "{id}", o.credit.to_string()),
        ("/admin/approvals/", "{id}", o.approval.to_string()),
        ("/admin/codes/", "{id}", o.code_id.to_string()),
        ("/admin/codes/", "{code}", o.code.clone()),
        ("/admin/staff/", "{id}", o.staff.to_string()),
        ("/admin/catalog/categories/", "{id}", o.category.to_string()),
        ("/admin/catalog/products/", "{id}", o.product.to_string()),
        ("/admin/categories/", "{id}", o.category.to_string()),
        ("/admin/products/", "{id}", o.product.to_string()),
    ]
}

/// `path` with each `{placeholder}` replaced from `fillings`, or why not.
fn fill(path: &str, fillings: &[(&str, &str, String)]) -> Result<String, String> {
    let mut filled = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .map(|end| start + end + 1)
            .ok_or_else(|| format!("GET {path}: an unclosed placeholder"))?;
        let prefix = &path[..path.len() - rest.len() + start];
        let placeholder = &rest[start..end];
        let (_, _, value) = fillings
            .iter()
            .find(|(before, name, _)| *before == prefix && *name == placeholder)
            .ok_or_else(|| {
                format!(
                    "the console walk cannot fill {placeholder} in GET {path}: add what fills it \
                     (after {prefix}) to `fillings` in tests/browser/console_walk.rs"
                )
            })?;
        filled.push_str(&rest[..start]);
        filled.push_str(value);
        rest = &rest[end..];
    }
    filled.push_str(rest);
    Ok(filled)
}

/// "customers-id" for `/admin/customers/{id}`, "dashboard" for `/admin`.
fn page_name(route: &str) -> String {
    let name = route
        .trim_start_matches("/admin")
        .trim_matches('/')
        .replace(['{', '}'], "")
        .replace('/', "-");
    if name.is_empty() {
        "dashboard".to_owned()
    } else {
        name
    }
}

/// Every console page a signed-in owner opens, as (name, address), from
/// [`ROUTES`]: each `GET` entry, its placeholders filled.
fn console_pages(objects: &Objects) -> Vec<(String, String)> {
    let fillings = fillings(objects);
    let (pages, unfillable): (Vec<_>, Vec<_>) = ROUTES
        .iter()
        .filter(|route| route.method == "GET")
        .map(|route| fill(route.path, &fillings).map(|path| (page_name(route.path), path)))
        .partition(Result::is_ok);
    let unfillable: Vec<String> = unfillable.into_iter().filter_map(Result::err).collect();
    assert!(unfillable.is_empty(), "{}", unfillable.join("\n"));
    pages.into_iter().filter_map(Result::ok).collect()
}

#[test]
fn the_walk_fills_each_placeholder_and_names_a_route_it_cannot() {
    let fillings = vec![
        ("/admin/customers/", "{id}", "7".to_owned()),
        ("/admin/codes/", "{code}", "SPRING".to_owned()),
    ];
    assert_eq!(
        fill("/admin/customers/{id}", &fillings).unwrap(),
        "/admin/customers/7"
    );
    assert_eq!(
        fill("/admin/codes/{code}/redemptions", &fillings).unwrap(),
        "/admin/codes/SPRING/redemptions"
    );
    assert_eq!(fill("/admin/orders", &fillings).unwrap(), "/admin/orders");
    let refused = fill("/admin/widgets/{id}", &fillings).unwrap_err();
    assert!(refused.contains("{id} in GET /admin/widgets/{id}"), "{refused}");
    assert_eq!(page_name("/admin"), "dashboard");
    assert_eq!(page_name("/admin/customers/{id}"), "customers-id");
}

/// A customer (the demo shopper) with an order and a credit, a grant waiting
/// for approval, a code, a second staff member, and the catalog's first product.
fn make_objects(s: &Session) -> (Objects, String) {
    let store = s.store();
    let now = time::OffsetDateTime::now_utc();
    off_the_runtime(|| {
        let (_, owner_token) = store
            .add_staff(
                &Actor::command(),
                &Email::parse(OWNER_EMAIL).unwrap(),
                &DisplayName::parse("Olive Owner").unwrap(),
                Role::Owner,
                now,
            )
            .expect("an owner");
        let (sam, sam_token) = store
            .add_staff(
                &Actor::command(),
                &Email::parse("sam@shop.example").unwrap(),
                &DisplayName::parse("Sam Support").unwrap(),
                Role::Support,
                now,
            )
            .expect("a support member");
        let demo = store
            .user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap())
            .unwrap()
            .expect("the demo shopper");
        let big = storecredit::store::credits::NewCredit {
            kind: storecredit::domain::CreditKind::GiftCard,
            source: storecredit::domain::CreditSource::Grant,
            description: "A big apology".into(),
            amount: Money::from_cents(60_000),
            expires_at: None,
            code_redemption_id: None,
        };
        let approval = match store
            .ask_grant(
                &Actor::command(),
                storecredit::store::approvals::GrantAuthority::Full,
                demo,
                &big,
                &storecredit::domain::AdjustmentReason::parse("a long outage").unwrap(),
                now,
            )
            .unwrap()
        {
            storecredit::store::approvals::GrantOutcome::AwaitingApproval { request, .. } => request.0,
            other => panic!("the grant should wait for approval: {other:?}"),
        };
        let code = "WALK-THE-DESK";
        let code_id = store
            .create_code(
                &Actor::command(),
                &storecredit::store::codes::NewCode {
                    code: PromoCode::parse(code).unwrap(),
                    description: "A gift card for the walk".into(),
                    grant: CodeGrant::GiftCard {
                        amount: Money::from_cents(1_000),
                    },
                    redeem_by: None,
                    max_redemptions: None,
                },
                now,
            )
            .expect("a code");
        let product = store
            .products_in(None)
            .unwrap()
            .into_iter()
            .next()
            .expect("a product");
        let objects = Objects {
            customer: demo.0,
            order: store
                .orders_of(demo)
                .unwrap()
                .first()
                .expect("an order of the demo shopper")
                .id,
            credit: store.credits_of(demo).unwrap()[0].id.0,
            approval,
            code_id,
            code: code.to_owned(),
            staff: sam.id.0,
            staff_enrolment: sam_token,
            category: product.category.id().get(),
            product: product.id,
        };
        (objects, owner_token)
    })
}

/// Enrols the owner on the enrolment page; returns their TOTP secret.
async fn enrol_the_owner(s: &Session, token: &str) -> String {
    s.goto(&format!("/admin/enrol/{token}")).await;
    let secret = s
        .find("[data-totp-secret]")
        .await
        .attr("data-totp-secret")
        .await
        .unwrap()
        .expect("the secret");
    let step = totp::step_at(time::OffsetDateTime::now_utc());
    s.fill("#password", PASSWORD).await;
    s.fill("#password_confirm", PASSWORD).await;
    s.fill("#totp", &totp::code_at_step(&secret, step).unwrap()).await;
    s.click("form[action^='/admin/enrol/'] button[type=submit]").await;
    s.find("form[action='/admin/signin']").await;
    secret
}

/// Signs the owner in through the sign-in page, with the next step's code (the
/// enrolment used this one's).
async fn sign_in_the_owner(s: &Session, secret: &str) {
    s.goto("/admin/signin").await;
    s.fill("#email", OWNER_EMAIL).await;
    s.fill("#password", PASSWORD).await;
    let step = totp::step_at(time::OffsetDateTime::now_utc()) + 1;
    s.fill("#totp", &totp::code_at_step(secret, step).unwrap()).await;
    s.click("form[action='/admin/signin'] button[type=submit]").await;
    s.wait_for_path("/admin").await;
}

async fn script<T: serde::de::DeserializeOwned>(s: &Session, source: &str) -> T {
    serde_json::from_value(s.client.execute(source, vec![]).await.unwrap()).unwrap()
}

/// What a GET of `path` answers, asked from the page (with its cookies): the
/// status (0 for a redirect) and the content type.
async fn answer_to(s: &Session, path: &str) -> (u16, String) {
    let answer = s
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], { credentials: 'same-origin', redirect: 'manual' })
               .then(r => done([r.status, r.headers.get('content-type') || '']))
               .catch(e => done([0, 'fetch failed: ' + e]));",
            vec![serde_json::json!(path)],
        )
        .await
        .unwrap();
    serde_json::from_value(answer).unwrap()
}

/// Opens `path` at `width` (expecting `status`), runs axe, checks the page does
/// not scroll sideways, and saves it as `console-<name>-<width>`. Returns what
/// is wrong, one line each.
async fn look_at(s: &Session, axe: &str, name: &str, path: &str, status: u16, width: u32) -> Vec<String> {
    let mut problems = Vec::new();
    let (answered, kind) = answer_to(s, path).await;
    if answered != status {
        return vec![format!("{path}: answered {answered}, expected {status}")];
    }
    if !kind.starts_with("text/html") {
        notice(&format!(
            "the console walk skips {path}: it answers {kind}, not a page"
        ));
        return problems;
    }
    s.goto(path).await;
    let here = s.path().await;
    if here != path {
        problems.push(format!("{path} at {width} px: ended on {here}"));
    }
    problems.extend(
        s.every_accessibility_violation(axe)
            .await
            .into_iter()
            .map(|violation| format!("{path} at {width} px: {violation}")),
    );
    let (scroll_width, inner_width): (i64, i64) = script(
        s,
        "return [document.scrollingElement.scrollWidth, window.innerWidth];",
    )
    .await;
    if scroll_width > inner_width {
        problems.push(format!(
            "{path} at {width} px scrolls sideways: {scroll_width} px wide in a {inner_width} px window"
        ));
    }
    s.screenshot_page(&format!("console-{name}-{width}")).await;
    problems
}

#[actix_web::test]
async fn every_console_page_passes_axe_fits_a_phone_and_is_photographed() {
    let Some(axe) = axe_source() else { return };
    let Some(s) = Session::start("console-walk", JavaScript::On).await else {
        return;
    };
    let (objects, owner_token) = make_objects(&s);
    let secret = enrol_the_owner(&s, &owner_token).await;

    let signed_out = [
        ("signin".to_owned(), "/admin/signin".to_owned()),
        (
            "enrol".to_owned(),
            format!("/admin/enrol/{}", objects.staff_enrolment),
        ),
    ];
    let mut problems = Vec::new();
    for width in WIDTHS {
        s.set_viewport_width(width).await;
        for (name, path) in &signed_out {
            problems.extend(look_at(&s, &axe, name, path, 200, width).await);
        }
    }

    sign_in_the_owner(&s, &secret).await;
    let pages = console_pages(&objects);
    assert!(
        pages.iter().any(|(_, path)| path == "/admin/customers"),
        "the walk found no pages"
    );
    let mut walked = Vec::new();
    for width in WIDTHS {
        s.set_viewport_width(width).await;
        for (name, path) in &pages {
            problems.extend(look_at(&s, &axe, name, path, 200, width).await);
            walked.push(format!("console-{name}-{width}.png"));
        }
        problems.extend(look_at(&s, &axe, "not-found", "/admin/no-such-page", 404, width).await);
    }
    notice(&format!(
        "console walk: {} pages at {WIDTHS:?} px: {}",
        pages.len(),
        walked.join(" ")
    ));
    assert!(
        problems.is_empty(),
        "the console walk found:\n{}",
        problems.join("\n")
    );
    s.finish().await;
}

/// What the focused element is: its walk key (`data-kb`), whether a focus ring
/// shows, and a description; `None` when nothing is focused.
const FOCUSED: &str = "const e = document.activeElement;
     if (!e || e === document.body || e === document.documentElement) return null;
     const style = getComputedStyle(e);
     const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
       || style.boxShadow !== 'none';
     return [e.getAttribute('data-kb'), ring,
       e.tagName.toLowerCase() + (e.className ? '.' + e.className.replace(/ /g, '.') : '') + ' '
         + (e.getAttribute('href') || e.name || e.id)];";

/// Marks every element that the keyboard must reach with a `data-kb` key (the
/// radio buttons of a group share one: Tab stops on one of them) and returns
/// (key, description) for each.
const REACHABLE: &str = "const wanted = [...document.querySelectorAll(
       'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex=\"-1\"])')]
       .filter(e => !e.disabled && e.getClientRects().length > 0
         && getComputedStyle(e).visibility !== 'hidden');
     return wanted.map((e, i) => {
       const key = e.type === 'radio' ? 'radio ' + (e.form ? e.form.id : '') + ' ' + e.name : String(i);
       e.setAttribute('data-kb', key);
       return [key, (e.closest('nav') ? 'nav ' : '') + e.tagName.toLowerCase() + ' '
         + (e.getAttribute('href') || e.name || e.id || e.textContent.trim().slice(0, 40))];
     });";

/// Presses `key` on the keyboard, as a person does (not typed into the focused
/// element: a file input would take the key for a file name).
async fn press(s: &Session, key: Key) {
    let value: char = key.into();
    let keys = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    s.client.perform_actions(keys).await.unwrap();
}

/// Tabs through `path` from the top; returns what is wrong, one line each.
async fn tab_through(s: &Session, path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    s.goto(path).await;
    let wanted: Vec<(String, String)> = script(s, REACHABLE).await;
    let mut reached = std::collections::HashSet::new();
    let mut first = None;
    for step in 0..wanted.len() * 2 + 20 {
        press(s, Key::Tab).await;
        let Some((key, ring, what)) = script::<Option<(Option<String>, bool, String)>>(s, FOCUSED).await
        else {
            break;
        };
        if step == 0 && !what.starts_with("a.skip-link ") {
            problems.push(format!("{path}: the first Tab reaches {what}, not the skip link"));
        }
        if !ring {
            problems.push(format!("{path}: {what} shows no focus ring"));
        }
        if key.is_some() && key == first {
            break;
        }
        if first.is_none() {
            first = key.clone();
        }
        reached.extend(key);
    }
    for (key, what) in &wanted {
        if !reached.contains(key) {
            problems.push(format!("{path}: Tab never reaches {what}"));
        }
    }

    s.goto(path).await;
    press(s, Key::Tab).await;
    press(s, Key::Enter).await;
    let (focused, hash): (String, String) =
        script(s, "return [document.activeElement.id, location.hash];").await;
    if (focused.as_str(), hash.as_str()) != ("main", "#main") {
        problems.push(format!(
            "{path}: the skip link left the focus on '{focused}' at '{hash}', not on the main content"
        ));
    }
    problems
}

#[actix_web::test]
async fn every_console_page_works_from_the_keyboard() {
    let Some(s) = Session::start("console-keyboard", JavaScript::On).await else {
        return;
    };
    let (objects, owner_token) = make_objects(&s);
    let secret = enrol_the_owner(&s, &owner_token).await;
    let mut problems = tab_through(&s, "/admin/signin").await;
    sign_in_the_owner(&s, &secret).await;
    for (_, path) in console_pages(&objects) {
        let (status, kind) = answer_to(&s, &path).await;
        if status == 200 && kind.starts_with("text/html") {
            problems.extend(tab_through(&s, &path).await);
        }
    }
    assert!(problems.is_empty(), "from the keyboard:\n{}", problems.join("\n"));
    s.finish().await;
}
