//! Sign-ins from browsers an account has not been used with: the message that
//! tells its owner (SPEC §9 "Being locked out by someone else").

use time::OffsetDateTime;

use super::outbox;
use super::{Store, StoreError};
use crate::domain::UserId;
use crate::mail::messages;

impl Store {
    /// Queues the "new sign-in" message to `user`: when, and the browser
    /// (`user_agent` as the client sent it; the message makes it safe to show).
    /// One transaction; the outbox sends it.
    pub fn note_new_device(
        &self,
        user: UserId,
        user_agent: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|connection| {
            let recipient = outbox::recipient_in(connection, user)?;
            let origin = outbox::site_origin_in(connection)?;
            let mail = messages::new_device(&recipient, &origin, user_agent, now)?;
            outbox::enqueue(connection, &mail, now)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{TestStore, each_engine, new_account};

    #[test]
    fn a_new_device_leaves_one_message_to_the_account_in_the_outbox() {
        for TestStore { store, .. } in each_engine() {
            let now = OffsetDateTime::now_utc();
            let ann = new_account(&store, "ann@example.com", "a-hash", now);
            store.set_site_origin("https://shop.example", now).unwrap();
            store.note_new_device(ann, "Firefox/128.0", now).unwrap();

            let page = store.mail_page(false, None, 20).unwrap();
            assert_eq!(page.entries.len(), 1, "{}", store.engine_name());
            let summary = &page.entries[0];
            assert_eq!(
                (summary.kind.as_str(), summary.to.as_str()),
                ("new-device", "ann@example.com")
            );
            let stored = store.mail_message(summary.id).unwrap().unwrap();
            assert_eq!(stored.user, Some(ann));
            assert!(stored.text.contains("Firefox/128.0"), "{}", stored.text);
            assert!(stored.text.contains("https://shop.example/password/forgot"));
        }
    }
}
