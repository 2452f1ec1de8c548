//! The demo catalog, account and codes of SPEC §5 as data, with no SQL: what the
//! demo seeding writes into an empty store.

use time::{Duration, OffsetDateTime};

use crate::domain::{
    Categories, CodeGrant, CreditKind, CreditSource, DiscountTerms, DiscountValue, DisplayName, Email, Money,
    PromoCode,
};
use crate::store::codes::NewCode;
use crate::store::credits::NewCredit;

pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "check-my-balance";
pub const DEMO_NAME: &str = "Demo Shopper";

/// (category, format, title, creator, description, price in cents, featured)
pub(crate) type CatalogEntry = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    bool,
);

/// An invented catalog: every title, artist and author here is made up.
pub(crate) const CATALOG: &[CatalogEntry] = &[
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
pub(crate) fn demo_codes(categories: &Categories) -> Vec<NewCode> {
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

/// The demo's past order's track, the catalog's first $0.99 music track: its place
/// in [`CATALOG`] and its price.
pub(crate) fn past_track() -> (usize, Money) {
    const TRACK_CENTS: i64 = 99;
    CATALOG
        .iter()
        .position(|(category, _, _, _, _, price, _)| *category == "music" && *price == TRACK_CENTS)
        .map(|index| (index, Money::from_cents(TRACK_CENTS)))
        .expect("the catalog has a $0.99 track")
}

/// The demo account: who it is and when it opened.
pub(crate) struct DemoAccount {
    pub(crate) email: Email,
    pub(crate) name: DisplayName,
    pub(crate) created_at: OffsetDateTime,
}

pub(crate) fn demo_account(now: OffsetDateTime) -> DemoAccount {
    DemoAccount {
        email: Email::parse(DEMO_EMAIL).expect("a valid demo e-mail"),
        name: DisplayName::parse(DEMO_NAME).expect("a valid demo name"),
        created_at: now - Duration::days(45),
    }
}

/// The demo account's default card, added when the account opened: (brand, last four digits).
pub(crate) const DEMO_CARD: (&str, &str) = ("Visa", "4242");

/// A credit granted to the demo account.
pub(crate) struct DemoCredit {
    pub(crate) credit: NewCredit,
    pub(crate) granted_at: OffsetDateTime,
    /// This credit paid the whole past track order.
    pub(crate) pays_past_order: bool,
}

/// The demo account's credits, in the order they are granted.
pub(crate) fn demo_credits(categories: &Categories, now: OffsetDateTime) -> Vec<DemoCredit> {
    let promotional =
        |list: &str| CreditKind::Promotional(categories.parse_list(list).expect("demo categories"));
    let credit = |kind, description: &str, cents, expires_at, granted_at, pays_past_order| DemoCredit {
        credit: NewCredit {
            kind,
            source: CreditSource::Grant,
            description: description.to_owned(),
            amount: Money::from_cents(cents),
            expires_at,
            code_redemption_id: None,
        },
        granted_at,
        pays_past_order,
    };
    vec![
        credit(
            promotional("music,kindle"),
            "Welcome credit for Digital Music and Kindle",
            1000,
            Some(now + Duration::days(90)),
            now - Duration::days(2),
            false,
        ),
        credit(
            promotional("music"),
            "Digital Music credit",
            500,
            Some(now + Duration::days(30)),
            now - Duration::days(20),
            true,
        ),
        credit(
            promotional("video"),
            "Instant Video credit",
            350,
            None,
            now - Duration::days(10),
            false,
        ),
        credit(
            CreditKind::GiftCard,
            "Gift card",
            2500,
            None,
            now - Duration::days(30),
            false,
        ),
    ]
}

/// The demo's past order: the track of [`past_track`], paid entirely from the
/// credit that [`DemoCredit::pays_past_order`].
pub(crate) struct PastOrder {
    pub(crate) idempotency_key: &'static str,
    pub(crate) placed_at: OffsetDateTime,
}

pub(crate) fn past_order(now: OffsetDateTime) -> PastOrder {
    PastOrder {
        idempotency_key: "demo-past-order",
        placed_at: now - Duration::days(12),
    }
}

/// A discount saved to the demo account.
pub(crate) struct DemoDiscount {
    pub(crate) description: &'static str,
    pub(crate) terms: DiscountTerms,
    pub(crate) granted_at: OffsetDateTime,
}

pub(crate) fn demo_discount(categories: &Categories, now: OffsetDateTime) -> DemoDiscount {
    DemoDiscount {
        description: "20% off one Digital Music purchase",
        terms: DiscountTerms {
            value: DiscountValue::Percent(20),
            categories: categories.parse_list("music").expect("demo category"),
        },
        granted_at: now - Duration::days(5),
    }
}
