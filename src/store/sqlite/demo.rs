//! The demo catalog, account and codes (SPEC §5), seeded into an empty database.

use rusqlite::{Transaction, params};
use time::{Duration, OffsetDateTime};

use super::categories::load_categories;
use super::codes::{NewCode, insert_code};
use super::credits::{NewCredit, insert_credit, spend_credit};
use super::discounts::insert_discount;
use super::users::{CreateUserError, insert_user};
use super::{SqliteStore, StoreError, unix};
use crate::domain::{
    Categories, CodeGrant, CreditKind, CreditSource, DiscountTerms, DiscountValue, DisplayName, Email, Money,
    PromoCode,
};

pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "check-my-balance";
pub const DEMO_NAME: &str = "Demo Shopper";

/// (category, format, title, creator, description, price in cents, featured)
type CatalogEntry = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    bool,
);

/// An invented catalog: every title, artist and author here is made up.
const CATALOG: &[CatalogEntry] = &[
    (
        "music",
        "MP3 track",
        "Lanterns Over Harbor Street",
        "The Quiet Ferries",
        "A slow-building indie anthem about the last ferry home.",
        99,
        true,
    ),
    (
        "music",
        "MP3 album",
        "Salt & Static",
        "The Quiet Ferries",
        "Eleven songs recorded in a boathouse over one winter.",
        899,
        false,
    ),
    (
        "music",
        "MP3 track",
        "Northbound Night Train",
        "Mara Ellison",
        "Brushed drums, upright bass and a voice like warm tea.",
        129,
        false,
    ),
    (
        "music",
        "MP3 album",
        "Paper Planets",
        "Juniper Vale",
        "Bright synth-pop for long walks and short commutes.",
        949,
        true,
    ),
    (
        "music",
        "MP3 track",
        "Copper Rain",
        "Ollie Brandt Trio",
        "A jazz standard that never was, until now.",
        99,
        false,
    ),
    (
        "music",
        "MP3 album",
        "Field Recordings from a Small Town",
        "Wren & Thistle",
        "Folk duets recorded in kitchens, churches and one laundromat.",
        799,
        false,
    ),
    (
        "kindle",
        "Kindle edition",
        "The Cartographer's Daughter",
        "Helena Marsh",
        "A map with one island too many, and the woman who sails to it.",
        499,
        true,
    ),
    (
        "kindle",
        "Kindle edition",
        "Quiet Arithmetic",
        "Tomas Ridley",
        "Short stories about numbers that people keep to themselves.",
        299,
        false,
    ),
    (
        "kindle",
        "Kindle edition",
        "A Field Guide to Imaginary Birds",
        "P. L. Okafor",
        "Illustrated entries for forty birds nobody has seen.",
        699,
        false,
    ),
    (
        "kindle",
        "Kindle edition",
        "The Last Lighthouse Keeper",
        "Ines Calloway",
        "A mystery set on a rock in the North Atlantic.",
        399,
        false,
    ),
    (
        "kindle",
        "Kindle edition",
        "Debugging the Universe",
        "R. Sandoval",
        "A cheerful tour of the errors physicists learned the most from.",
        999,
        false,
    ),
    (
        "kindle",
        "Kindle edition",
        "Winter Soup, Summer Bread",
        "Margit Holm",
        "Ninety recipes that follow the seasons of a Nordic kitchen.",
        549,
        false,
    ),
    (
        "video",
        "HD movie rental",
        "Harbor Lights",
        "Dir. Sofia Lund",
        "Two rival fishing families and one very stubborn lighthouse.",
        399,
        true,
    ),
    (
        "video",
        "HD episode",
        "The Long Orbit, Episode 1",
        "Halcyon Pictures",
        "A cargo crew finds a signal where none should be.",
        299,
        false,
    ),
    (
        "video",
        "HD documentary",
        "Mountains Without Maps",
        "Dir. Arjun Mehta",
        "Climbers chart a range that satellites keep getting wrong.",
        499,
        false,
    ),
    (
        "video",
        "SD episode",
        "Kitchen Detectives, Episode 4",
        "Crumb & Co.",
        "Who took the last croissant? The pastry chef has an alibi.",
        199,
        false,
    ),
    (
        "video",
        "HD movie purchase",
        "The Ninth Lantern",
        "Dir. Miriam Okoro",
        "A heist across nine festivals of light.",
        1299,
        false,
    ),
    (
        "video",
        "HD movie rental",
        "Small Towns, Big Skies",
        "Dir. Lena Fischer",
        "Storm chasers and the diner that feeds them.",
        349,
        false,
    ),
    (
        "software",
        "Download",
        "PixelPress Photo Editor",
        "Brightfold Software",
        "Layers, masks and a very forgiving undo button.",
        2999,
        true,
    ),
    (
        "software",
        "Download",
        "TaxTidy 2026",
        "Ledgerly",
        "Guided tax returns for households and side businesses.",
        3999,
        false,
    ),
    (
        "software",
        "Download",
        "TypeQuest Typing Tutor",
        "Keystone Learning",
        "Learn touch typing through a fantasy adventure.",
        1499,
        false,
    ),
    (
        "software",
        "Download",
        "Budget Buddy Home Finance",
        "Ledgerly",
        "Envelopes, goals and a calm monthly summary.",
        1999,
        false,
    ),
    (
        "software",
        "Download",
        "StarChart Planetarium",
        "Night Owl Apps",
        "Tonight's sky from your back garden, in 3D.",
        999,
        false,
    ),
    (
        "software",
        "Download",
        "SafeKeep Backup",
        "Brightfold Software",
        "Set-and-forget backups to any drive you own.",
        2499,
        false,
    ),
];

/// The demo codes of SPEC §5: anyone may redeem each once.
fn demo_codes(categories: &Categories) -> Vec<NewCode> {
    let code = |code: &str, description: &str, grant| NewCode {
        code: PromoCode::parse(code).expect("a valid demo code"),
        description: description.to_owned(),
        grant,
        redeem_by: None,
        max_redemptions: None,
    };
    let categories = |list: &str| categories.parse_list(list).expect("demo categories");
    vec![
        code(
            "MUSIC-KINDLE-10",
            "$10.00 credit for Digital Music and Kindle",
            CodeGrant::Credit {
                amount: Money::from_cents(1000),
                categories: categories("music,kindle"),
                valid_for: Some(Duration::days(60)),
            },
        ),
        code(
            "VIDEO-5",
            "$5.00 Instant Video credit",
            CodeGrant::Credit {
                amount: Money::from_cents(500),
                categories: categories("video"),
                valid_for: None,
            },
        ),
        code(
            "GIFT-20",
            "$20.00 gift card",
            CodeGrant::GiftCard {
                amount: Money::from_cents(2000),
            },
        ),
        code(
            "ALBUM-20-OFF",
            "20% off one Digital Music purchase",
            CodeGrant::Discount(DiscountTerms {
                value: DiscountValue::Percent(20),
                categories: categories("music"),
            }),
        ),
    ]
}

impl SqliteStore {
    /// Seeds the demo catalog, account and codes when the database has no products
    /// and no accounts; returns whether it did. `password_hash` is the demo
    /// password's hash (hashing is the caller's job, off any async executor).
    pub fn seed_demo_if_empty(&self, password_hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.write(|tx| {
            let populated: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM users)",
                [],
                |row| row.get(0),
            )?;
            if populated {
                return Ok(false);
            }
            seed(tx, password_hash, now)?;
            Ok(true)
        })
    }
}

fn seed(tx: &Transaction, password_hash: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    let mut insert_product = tx.prepare_cached(
        "INSERT INTO products (category_id, format, title, creator, description, price_cents, featured)
         VALUES ((SELECT id FROM categories WHERE slug = ?1), ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut past_track = None;
    for (category, format, title, creator, description, price, featured) in CATALOG {
        insert_product.execute(params![
            category,
            format,
            title,
            creator,
            description,
            price,
            featured
        ])?;
        if past_track.is_none() && *category == "music" && *price == 99 {
            past_track = Some((tx.last_insert_rowid(), *price));
        }
    }
    let (track_id, track_price) = past_track.expect("the catalog has a $0.99 track");

    let categories = load_categories(tx)?;
    for code in demo_codes(&categories) {
        insert_code(tx, &code, now)?;
    }

    let email = Email::parse(DEMO_EMAIL).expect("a valid demo e-mail");
    let name = DisplayName::parse(DEMO_NAME).expect("a valid demo name");
    let user =
        insert_user(tx, &email, &name, password_hash, now - Duration::days(45)).map_err(|e| match e {
            CreateUserError::Store(e) => e,
            CreateUserError::EmailTaken => StoreError::Corrupt("demo account exists".into()),
        })?;
    tx.execute(
        "INSERT INTO payment_methods (user_id, brand, last4, is_default, created_at) VALUES (?1, 'Visa', '4242', 1, ?2)",
        params![user.0, unix(now - Duration::days(45))],
    )?;

    let promotional =
        |list: &str| CreditKind::Promotional(categories.parse_list(list).expect("demo categories"));
    let credit = |kind, source, description: &str, cents, expires_at| NewCredit {
        kind,
        source,
        description: description.to_owned(),
        amount: Money::from_cents(cents),
        expires_at,
        code_redemption_id: None,
    };
    insert_credit(
        tx,
        user,
        &credit(
            promotional("music,kindle"),
            CreditSource::Grant,
            "Welcome credit for Digital Music and Kindle",
            1000,
            Some(now + Duration::days(90)),
        ),
        now - Duration::days(2),
    )?;
    let music_credit = insert_credit(
        tx,
        user,
        &credit(
            promotional("music"),
            CreditSource::Grant,
            "Digital Music credit",
            500,
            Some(now + Duration::days(30)),
        ),
        now - Duration::days(20),
    )?;
    insert_credit(
        tx,
        user,
        &credit(
            promotional("video"),
            CreditSource::Grant,
            "Instant Video credit",
            350,
            None,
        ),
        now - Duration::days(10),
    )?;
    insert_credit(
        tx,
        user,
        &credit(CreditKind::GiftCard, CreditSource::Grant, "Gift card", 2500, None),
        now - Duration::days(30),
    )?;

    // The past track order, paid entirely from the $5.00 Digital Music credit.
    let placed_at = now - Duration::days(12);
    tx.execute(
        "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, promotional_credit_cents, placed_at)
         VALUES (?1, ?2, 'demo-past-order', ?3, ?3, ?4)",
        params![user.0, track_id, track_price, unix(placed_at)],
    )?;
    let order_id = tx.last_insert_rowid();
    spend_credit(
        tx,
        music_credit,
        Money::from_cents(track_price),
        order_id,
        placed_at,
    )?;

    insert_discount(
        tx,
        user,
        "20% off one Digital Music purchase",
        DiscountTerms {
            value: DiscountValue::Percent(20),
            categories: categories.parse_list("music").expect("demo category"),
        },
        None,
        now - Duration::days(5),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temporary_store;

    #[test]
    fn the_demo_account_shows_the_spec_balances() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        assert!(store.seed_demo_if_empty("hash", now).unwrap());
        let user = store
            .user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap())
            .unwrap()
            .unwrap();
        let balances = store.balances_for(user, now).unwrap();
        let amounts: Vec<String> = balances
            .lines()
            .iter()
            .map(|line| format!("{} {}", line.hook, line.amount))
            .collect();
        assert_eq!(
            amounts,
            [
                "music $14.01",
                "kindle $10.00",
                "video $3.50",
                "gift-card $25.00",
                "software $0.00"
            ]
        );
        assert!(store.verify_ledger().unwrap().is_empty());
    }

    #[test]
    fn seeding_twice_changes_nothing() {
        let (store, _folder) = temporary_store();
        let now = OffsetDateTime::now_utc();
        assert!(store.seed_demo_if_empty("hash", now).unwrap());
        assert!(!store.seed_demo_if_empty("hash", now).unwrap());
        assert_eq!(store.products_in(None).unwrap().len(), CATALOG.len());
    }

    #[test]
    fn every_category_has_at_least_five_products() {
        let (store, _folder) = temporary_store();
        store
            .seed_demo_if_empty("hash", OffsetDateTime::now_utc())
            .unwrap();
        for category in store.categories().iter() {
            assert!(
                store.products_in(Some(category.id())).unwrap().len() >= 5,
                "{category}"
            );
        }
    }
}
