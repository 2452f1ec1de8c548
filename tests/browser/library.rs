//! "Your library" in a real Chromium: a shopper buys a track, opens the library
//! and downloads it through the page's own link.

use fantoccini::Locator;
use serde_json::json;
use storecredit::domain::Actor;

use crate::harness::{DEMO_EMAIL, DEMO_PASSWORD, JavaScript, Session};

const TRACK: &str = "Copper Rain";

#[actix_web::test]
async fn a_shopper_buys_a_track_and_downloads_it_from_the_library() {
    let Some(mut s) = Session::start("library-download", JavaScript::On).await else {
        return;
    };
    // The track's file, put in place as an operator would (the test does not
    // rely on the demo catalog's own files).
    let bytes: Vec<u8> = (0..2048u32).map(|i| (i * 13 % 251) as u8).collect();
    let store = s.store();
    let track = crate::support::off_the_runtime(|| store.products_in(None))
        .unwrap()
        .into_iter()
        .find(|product| product.title == TRACK)
        .expect("the demo track")
        .id;
    let name = format!("test/{track}-copper-rain.wav");
    std::fs::create_dir_all(s.media_folder().join("test")).unwrap();
    std::fs::write(s.media_folder().join(&name), &bytes).unwrap();
    crate::support::off_the_runtime(|| {
        store.set_product_media_file(&Actor::command(), track, &name, time::OffsetDateTime::now_utc())
    })
    .unwrap();

    s.goto("/signin").await;
    s.sign_in_here(DEMO_EMAIL, DEMO_PASSWORD).await;
    s.wait_for_path("/").await;
    s.goto(&format!("/products/{track}")).await;
    s.click("#buy-now").await;
    s.click("#place-order").await;
    s.find("#receipt-heading").await;
    s.client
        .find(Locator::LinkText("Your library"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait_for_path("/library").await;
    s.screenshot("your-library").await;

    let link = s.find("a[data-download]").await;
    let href = link.attr("href").await.unwrap().expect("a download href");
    assert!(href.contains("/download?expires="), "{href}");
    let fetched = s
        .client
        .execute(
            "return fetch(arguments[0]).then(async (response) => [
                 response.status,
                 response.headers.get('content-disposition'),
                 Array.from(new Uint8Array(await response.arrayBuffer())),
             ]);",
            vec![json!(href)],
        )
        .await
        .unwrap();

    assert_eq!(fetched[0], json!(200), "{href}");
    assert!(
        fetched[1].as_str().unwrap_or_default().starts_with("attachment;"),
        "{fetched:?}"
    );
    let served: Vec<u8> = fetched[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|byte| byte.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(served, bytes);
    s.goto("/library").await;
    assert!(
        s.text("main")
            .await
            .contains("19 of 20 downloads left in 24 hours")
    );
    assert!(s.text("#downloads-heading + table").await.contains(TRACK));
    s.screenshot("after-the-download").await;
    s.finish().await;
}
