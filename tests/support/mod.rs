//! What every test suite shares: the demo account's credentials (the library's own
//! constants), the help page's address, reading a page's markup hooks, and a fresh
//! database on the suite's engine.
//! Each suite includes this file with `#[path]`; a suite uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod database;

pub use database::{Engine, FreshDatabase, off_the_runtime};
pub use storecredit::store::demo::{DEMO_EMAIL, DEMO_PASSWORD};

pub const HELP_PATH: &str = "/help/digital-music-credit";

/// The `value` of the input named `name` (our templates write `name` before `value`).
pub fn form_field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[start..];
    let value_at = rest.find("value=\"")? + "value=\"".len();
    let end = rest[value_at..].find('"')?;
    Some(rest[value_at..value_at + end].to_owned())
}

/// The text of the element carrying `attribute="value"`, e.g. `data-balance="music"`.
pub fn text_of(html: &str, attribute: &str, value: &str) -> Option<String> {
    let marker = format!("{attribute}=\"{value}\"");
    let start = html.find(&marker)?;
    let after_tag = start + html[start..].find('>')? + 1;
    let end = after_tag + html[after_tag..].find('<')?;
    Some(html[after_tag..end].trim().to_owned())
}

/// The demo account's five balances as the pop-up shows them (SPEC §5), as
/// `(data-balance, amount)`.
pub fn demo_balances() -> Vec<(String, String)> {
    [
        ("music", "$14.01"),
        ("kindle", "$10.00"),
        ("video", "$3.50"),
        ("gift-card", "$25.00"),
        ("software", "$0.00"),
    ]
    .iter()
    .map(|(hook, amount)| (hook.to_string(), amount.to_string()))
    .collect()
}
