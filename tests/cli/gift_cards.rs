//! Gift cards a shopper bought, as an operator meets them (issue 28): `order
//! show` says who the card is for and where it stands, `order refund` voids an
//! unredeemed card and names who redeemed one, and `code` cannot switch one.

use storecredit::domain::{CardSummary, DisplayName, Email, PromoCode};
use storecredit::store::Store;
use storecredit::store::gift_cards::{GiftCardFields, GiftCardPurchase};

use crate::commands::{fresh_database, stderr, stdout, storecredit};

/// A card of $25 bought for sam@example.com; its order and code.
fn bought(store: &Store) -> (i64, String) {
    let now = time::OffsetDateTime::now_utc();
    let buyer = store
        .create_user(
            &Email::parse("buyer@example.com").unwrap(),
            &DisplayName::parse("Bea Buyer").unwrap(),
            "a-hash",
            now,
        )
        .unwrap();
    let visa = CardSummary {
        brand: "Visa".into(),
        last4: "4242".into(),
    };
    store.set_default_card(buyer, &visa, now).unwrap();
    let fields = GiftCardFields {
        amount: "25",
        recipient_email: "sam@example.com",
        message: "",
        deliver_on: "",
    };
    let purchase = GiftCardPurchase::parse(&fields, now.date()).unwrap();
    let order = store
        .buy_gift_card(buyer, &purchase, "an-operator-test-key", now)
        .unwrap()
        .order_id;
    let code = store
        .list_codes()
        .unwrap()
        .into_iter()
        .find(|code| code.bought)
        .unwrap()
        .code;
    (order, code)
}

#[test]
fn a_bought_gift_card_is_refunded_whole_before_redemption_and_never_switched_by_code_commands() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();
    let (order, code) = bought(&store);

    let shown = storecredit(&db, &["order", "show", &order.to_string()], "");
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(
        stdout(&shown).contains("Gift card for         sam@example.com"),
        "{}",
        stdout(&shown)
    );
    let listed = storecredit(&db, &["code", "list"], "");
    assert!(!stdout(&listed).contains(&code), "masked: {}", stdout(&listed));

    for switch in ["deactivate", "reactivate"] {
        let refused = storecredit(&db, &["code", switch, &code], "");
        assert!(!refused.status.success(), "{switch}");
        assert!(
            stderr(&refused).contains("only by refunding its order"),
            "{}",
            stderr(&refused)
        );
    }
    let refunded = storecredit(
        &db,
        &["order", "refund", &order.to_string(), "--reason", "wrong address"],
        "",
    );
    assert!(refunded.status.success(), "{}", stderr(&refunded));
    let again = storecredit(&db, &["code", "reactivate", &code], "");
    assert!(!again.status.success());
    let sam = store
        .create_user(
            &Email::parse("sam@example.com").unwrap(),
            &DisplayName::parse("Sam").unwrap(),
            "a-hash",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let redeemed = store.redeem_code(
        sam,
        &PromoCode::parse(&code).unwrap(),
        time::OffsetDateTime::now_utc(),
    );
    assert!(redeemed.is_err(), "a refunded card stays void");
}

#[test]
fn a_redeemed_gift_cards_refund_is_refused_naming_who_holds_its_value() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();
    let (order, code) = bought(&store);
    let sam = store
        .create_user(
            &Email::parse("sam@example.com").unwrap(),
            &DisplayName::parse("Sam").unwrap(),
            "a-hash",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    store
        .redeem_code(
            sam,
            &PromoCode::parse(&code).unwrap(),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();

    let refused = storecredit(
        &db,
        &["order", "refund", &order.to_string(), "--reason", "changed mind"],
        "",
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("was redeemed by sam@example.com"),
        "{}",
        stderr(&refused)
    );
}
