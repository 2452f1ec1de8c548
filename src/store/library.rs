//! "Your library" (SPEC §9): what an account bought and may download, and its
//! downloads, counted for the daily limit per item and listed in its activity.

use time::{Duration, OffsetDateTime};

use super::sql::{Connection, Row, instant, page_limit, sql, unix};
use super::{Page, Store, StoreError, StoreFailure};
use crate::domain::UserId;

/// How many downloads of one item an account may make in [`DOWNLOAD_WINDOW`].
pub const DAILY_DOWNLOADS: i64 = 20;

/// The window the daily limit counts downloads in: the last 24 hours.
pub const DOWNLOAD_WINDOW: Duration = Duration::hours(24);

/// One thing an account bought, as its library shows it: an order for a
/// product (a gift card's order has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryItem {
    pub order_id: i64,
    pub product_id: i64,
    pub title: String,
    pub creator: String,
    pub format: String,
    pub ordered_at: OffsetDateTime,
    /// The product's file, relative to the media folder, when it has one.
    pub media_file: Option<String>,
    /// The order was refunded in full: access has ended (a partial refund keeps it).
    pub refunded_in_full: bool,
    /// Downloads of it in the last 24 hours.
    pub downloads_today: i64,
}

impl LibraryItem {
    /// How many more downloads the daily limit allows now.
    pub fn downloads_left(&self) -> i64 {
        (DAILY_DOWNLOADS - self.downloads_today).max(0)
    }
}

/// One download, as the shopper's activity lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRecord {
    pub id: i64,
    pub order_id: i64,
    pub title: String,
    pub format: String,
    pub at: OffsetDateTime,
}

/// A download that was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Download {
    pub id: i64,
    /// Downloads of the item still allowed in the window after this one.
    pub left_today: i64,
}

/// Why a download was not counted (and must not be served).
#[derive(Debug, thiserror::Error)]
pub enum DownloadRefusal {
    /// No order of that account for a product with that id: someone else's, a
    /// gift card's, or none at all (the same answer for each).
    #[error("no such item in the account's library")]
    NotInLibrary,
    #[error("the order was refunded in full")]
    Refunded,
    /// [`DAILY_DOWNLOADS`] downloads in the window already; another is allowed
    /// at `until`.
    #[error("the daily download limit is reached until {until}")]
    DailyLimit { until: OffsetDateTime },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreFailure for DownloadRefusal {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            DownloadRefusal::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// A library item's columns, for a `WHERE` to follow; `$2` is the start of the
/// download window.
macro_rules! library_item_query {
    () => {
        "SELECT o.id, p.id, p.title, p.creator, p.format, o.placed_at, p.media_file, o.refunded_at,
                (SELECT CAST(COUNT(*) AS BIGINT) FROM downloads d
                 WHERE d.order_id = o.id AND d.downloaded_at > $2)
         FROM orders o JOIN products p ON p.id = o.product_id"
    };
}

fn library_item_from_row(row: &Row<'_>) -> Result<LibraryItem, StoreError> {
    Ok(LibraryItem {
        order_id: row.get(0)?,
        product_id: row.get(1)?,
        title: row.get(2)?,
        creator: row.get(3)?,
        format: row.get(4)?,
        ordered_at: row.instant(5)?,
        media_file: row.get(6)?,
        refunded_in_full: row.optional_instant(7)?.is_some(),
        downloads_today: row.get(8)?,
    })
}

/// The start of the window the daily limit counts in, at `now`.
fn window_start(now: OffsetDateTime) -> i64 {
    unix(now - DOWNLOAD_WINDOW)
}

impl Store {
    /// Up to `size` items of `user`'s library, newest order first, older than
    /// the order `before` (from the newest without it): the account's orders for
    /// a product that were not refunded in full, each with its downloads of the
    /// last 24 hours at `now`.
    pub fn library_page(
        &self,
        user: UserId,
        before: Option<i64>,
        size: usize,
        now: OffsetDateTime,
    ) -> Result<Page<LibraryItem>, StoreError> {
        self.read(|connection| {
            let rows = connection.query(
                sql!(concat!(
                    library_item_query!(),
                    " WHERE o.user_id = $1 AND o.refunded_at IS NULL AND o.id < $3
                     ORDER BY o.id DESC LIMIT $4"
                )),
                &[
                    &user.0,
                    &window_start(now),
                    &before.unwrap_or(i64::MAX),
                    &page_limit(size),
                ],
                library_item_from_row,
            )?;
            Ok(Page::of(rows, size, |item| item.order_id))
        })
    }

    /// Order `order_id` of `user`'s, when it is for a product, refunded or not
    /// (the download tells a refunded item from one that is not there); `None`
    /// for someone else's order, a gift card's, or none.
    pub fn library_item(
        &self,
        user: UserId,
        order_id: i64,
        now: OffsetDateTime,
    ) -> Result<Option<LibraryItem>, StoreError> {
        self.read(|connection| {
            connection.query_opt(
                sql!(concat!(
                    library_item_query!(),
                    " WHERE o.id = $3 AND o.user_id = $1"
                )),
                &[&user.0, &window_start(now), &order_id],
                library_item_from_row,
            )
        })
    }

    /// Counts one download of order `order_id` by `user` at `now`, in one
    /// transaction: the order must be the account's, for a product, not
    /// refunded in full, and downloaded fewer than [`DAILY_DOWNLOADS`] times in
    /// the last 24 hours. The order's row is locked first, so downloads of one
    /// item at once are counted in turn and never pass the limit together (on
    /// SQLite the one writer takes them in turn; on PostgreSQL each waits on the
    /// lock and then reads what the one before it wrote, where a serializable
    /// transaction would have made every loser of a burst start again).
    pub fn record_download(
        &self,
        user: UserId,
        order_id: i64,
        now: OffsetDateTime,
    ) -> Result<Download, DownloadRefusal> {
        self.write_hot(|connection| Ok(record_download_in(connection, user, order_id, now)))?
    }

    /// `user`'s `limit` most recent downloads, newest first.
    pub fn recent_downloads(&self, user: UserId, limit: usize) -> Result<Vec<DownloadRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|connection| {
            connection.query(
                sql!(
                    "SELECT d.id, d.order_id, p.title, p.format, d.downloaded_at
                     FROM downloads d JOIN orders o ON o.id = d.order_id
                     JOIN products p ON p.id = o.product_id
                     WHERE d.user_id = $1 ORDER BY d.id DESC LIMIT $2"
                ),
                &[&user.0, &limit],
                |row| {
                    Ok(DownloadRecord {
                        id: row.get(0)?,
                        order_id: row.get(1)?,
                        title: row.get(2)?,
                        format: row.get(3)?,
                        at: row.instant(4)?,
                    })
                },
            )
        })
    }
}

/// The body of [`Store::record_download`]: a refusal writes nothing (the
/// transaction commits only the lock it took).
fn record_download_in(
    connection: &mut dyn Connection,
    user: UserId,
    order_id: i64,
    now: OffsetDateTime,
) -> Result<Download, DownloadRefusal> {
    let order = connection.query_opt(
        sql!(
            postgres: "SELECT product_id, refunded_at FROM orders WHERE id = $1 AND user_id = $2 FOR UPDATE",
            sqlite: "SELECT product_id, refunded_at FROM orders WHERE id = $1 AND user_id = $2",
        ),
        &[&order_id, &user.0],
        |row| Ok((row.get::<Option<i64>>(0)?, row.get::<Option<i64>>(1)?)),
    )?;
    match order {
        Some((Some(_), None)) => {}
        Some((Some(_), Some(_))) => return Err(DownloadRefusal::Refunded),
        Some((None, _)) | None => return Err(DownloadRefusal::NotInLibrary),
    }
    let (count, oldest) = connection.query_one(
        sql!(
            "SELECT CAST(COUNT(*) AS BIGINT), MIN(downloaded_at) FROM downloads
             WHERE order_id = $1 AND downloaded_at > $2"
        ),
        &[&order_id, &window_start(now)],
        |row| Ok((row.get::<i64>(0)?, row.get::<Option<i64>>(1)?)),
    )?;
    if count >= DAILY_DOWNLOADS {
        let oldest = instant(oldest.unwrap_or_else(|| unix(now)))?;
        return Err(DownloadRefusal::DailyLimit {
            until: oldest + DOWNLOAD_WINDOW,
        });
    }
    let id = connection.query_value(
        sql!(
            "INSERT INTO downloads (user_id, order_id, downloaded_at) VALUES ($1, $2, $3)
             RETURNING id"
        ),
        &[&user.0, &order_id, &unix(now)],
    )?;
    Ok(Download {
        id,
        left_today: DAILY_DOWNLOADS - count - 1,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;
    use crate::domain::{AdjustmentReason, Email, Money};
    use crate::store::orders::{Promotion, RefundRequest};
    use crate::store::testing::{TestStore, each_engine, new_account, tester};

    fn seed(store: &Store, now: OffsetDateTime) {
        assert!(store.seed_demo_if_empty("hash", now).unwrap());
    }

    fn demo_user(store: &Store) -> UserId {
        store
            .user_id_by_email(&Email::parse("demo@example.com").unwrap())
            .unwrap()
            .unwrap()
    }

    fn product_id(store: &Store, title: &str) -> i64 {
        store
            .products_in(None)
            .unwrap()
            .into_iter()
            .find(|product| product.title == title)
            .unwrap()
            .id
    }

    /// The demo shopper buys the track "Copper Rain" (paid with its credit).
    fn bought_track(store: &Store, key: &str, now: OffsetDateTime) -> (UserId, i64) {
        let demo = demo_user(store);
        let track = product_id(store, "Copper Rain");
        let placed = store
            .place_order(demo, track, &Promotion::None, key, now)
            .unwrap();
        (demo, placed.order_id)
    }

    #[test]
    fn the_library_lists_bought_products_newest_first_a_page_at_a_time() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let (demo, first) = bought_track(&store, "first", now);
            let (_, second) = bought_track(&store, "second", now);

            let page = store.library_page(demo, None, 2, now).unwrap();
            let older = store.library_page(demo, page.older, 2, now).unwrap();

            let ids: Vec<i64> = page.entries.iter().map(|item| item.order_id).collect();
            assert_eq!(ids, [second, first]);
            assert_eq!(page.entries[0].title, "Copper Rain");
            assert_eq!(page.entries[0].downloads_today, 0);
            assert_eq!(page.entries[0].downloads_left(), DAILY_DOWNLOADS);
            assert_eq!(page.older, Some(first));
            assert_eq!(older.entries.len(), 1, "the demo's past order");
            assert_eq!(older.older, None);
        }
    }

    #[test]
    fn an_order_refunded_in_full_leaves_the_library_and_its_downloads_are_refused() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let (demo, order) = bought_track(&store, "refunded", now);
            let reason = AdjustmentReason::parse("customer asked").unwrap();
            store
                .refund_order(&tester(), order, &RefundRequest::whole(reason), now)
                .unwrap();

            let listed = store.library_page(demo, None, 20, now).unwrap();
            let refused = store.record_download(demo, order, now);

            assert!(listed.entries.iter().all(|item| item.order_id != order));
            assert!(
                store
                    .library_item(demo, order, now)
                    .unwrap()
                    .unwrap()
                    .refunded_in_full
            );
            assert!(matches!(refused, Err(DownloadRefusal::Refunded)), "{refused:?}");
            assert!(store.recent_downloads(demo, 10).unwrap().is_empty());
        }
    }

    #[test]
    fn a_partly_refunded_order_stays_in_the_library_and_downloads() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let (demo, order) = bought_track(&store, "partly", now);
            let partly = RefundRequest {
                amount: Some(Money::from_cents(50)),
                reason: AdjustmentReason::parse("half a song skipped").unwrap(),
                revoked_share_to: None,
            };
            store.refund_order(&tester(), order, &partly, now).unwrap();

            let listed = store.library_page(demo, None, 20, now).unwrap();

            assert!(listed.entries.iter().any(|item| item.order_id == order));
            assert!(store.record_download(demo, order, now).is_ok());
        }
    }

    #[test]
    fn someone_elses_order_is_not_in_the_library_and_cannot_be_downloaded() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let (_, order) = bought_track(&store, "demo's", now);
            let bo = new_account(&store, "bo@example.com", "hash", now);

            let refused = store.record_download(bo, order, now);

            assert_eq!(store.library_item(bo, order, now).unwrap(), None);
            assert!(
                matches!(refused, Err(DownloadRefusal::NotInLibrary)),
                "{refused:?}"
            );
            assert!(matches!(
                store.record_download(bo, i64::MAX, now),
                Err(DownloadRefusal::NotInLibrary)
            ));
        }
    }

    #[test]
    fn downloads_are_counted_in_the_last_24_hours_and_listed_newest_first() {
        for TestStore { store, .. } in each_engine() {
            let start = OffsetDateTime::now_utc();
            seed(&store, start);
            let (demo, order) = bought_track(&store, "counted", start);

            let first = store.record_download(demo, order, start).unwrap();
            let second = store
                .record_download(demo, order, start + Duration::hours(1))
                .unwrap();
            let a_day_later = start + DOWNLOAD_WINDOW + Duration::minutes(1);

            assert_eq!(first.left_today, DAILY_DOWNLOADS - 1);
            assert_eq!(second.left_today, DAILY_DOWNLOADS - 2);
            let item = store
                .library_item(demo, order, start + Duration::hours(1))
                .unwrap()
                .unwrap();
            assert_eq!(item.downloads_today, 2);
            let later = store.library_item(demo, order, a_day_later).unwrap().unwrap();
            assert_eq!(later.downloads_today, 1, "the first is older than 24 hours");
            let listed = store.recent_downloads(demo, 10).unwrap();
            let ids: Vec<i64> = listed.iter().map(|download| download.id).collect();
            assert_eq!(ids, [second.id, first.id]);
            assert_eq!(listed[0].title, "Copper Rain");
            assert_eq!(listed[0].order_id, order);
        }
    }

    #[test]
    fn past_the_daily_limit_a_download_is_refused_until_the_oldest_is_a_day_old() {
        for TestStore { store, .. } in each_engine() {
            let start = OffsetDateTime::now_utc();
            seed(&store, start);
            let (demo, order) = bought_track(&store, "limited", start);
            for minute in 0..DAILY_DOWNLOADS {
                store
                    .record_download(demo, order, start + Duration::minutes(minute))
                    .unwrap();
            }
            let later = start + Duration::hours(2);

            let refused = store.record_download(demo, order, later);

            match refused {
                Err(DownloadRefusal::DailyLimit { until }) => {
                    assert_eq!(until.unix_timestamp(), (start + DOWNLOAD_WINDOW).unix_timestamp())
                }
                other => panic!("{other:?}"),
            }
            assert!(
                store
                    .record_download(demo, order, start + DOWNLOAD_WINDOW + Duration::seconds(1))
                    .is_ok()
            );
        }
    }

    #[test]
    fn thirty_downloads_at_once_count_exactly_twenty() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            seed(&store, now);
            let (demo, order) = bought_track(&store, "raced", now);
            let barrier = Arc::new(Barrier::new(30));

            let outcomes: Vec<Result<Download, DownloadRefusal>> = (0..30)
                .map(|_| {
                    let (store, barrier) = (store.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        store.record_download(demo, order, now)
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|thread| thread.join().unwrap())
                .collect();

            let counted = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
            let limited = outcomes
                .iter()
                .filter(|outcome| matches!(outcome, Err(DownloadRefusal::DailyLimit { .. })))
                .count();
            assert_eq!((counted, limited), (20, 10), "{outcomes:?}");
            assert_eq!(store.recent_downloads(demo, 100).unwrap().len(), 20);
        }
    }
}
