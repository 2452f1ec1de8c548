//! Outgoing mail (SPEC §9). Messages are written to the outbox by the use cases
//! (`store::outbox`), from the templates of [`messages`]; the [`sender`] of each
//! server (and `storecredit mail send`) delivers them through a [`Mailer`]: over
//! SMTP when a server is configured, otherwise as one `.eml` file per message in
//! a folder, so the demo and the tests need no mail server.

pub mod messages;
pub mod sender;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};

use crate::config::MailSettings;
use crate::store::outbox::ClaimedMail;

/// How long an SMTP server may take to answer, so one slow server cannot hold a
/// sender past its claim on a message.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

enum Delivery {
    Smtp(SmtpTransport),
    Folder(PathBuf),
}

/// A try that did not deliver a message.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct NotDelivered {
    pub reason: String,
    /// Trying again will not help (the server refused the address for good, or
    /// the message cannot be built).
    pub permanent: bool,
}

impl NotDelivered {
    fn permanent(reason: impl Into<String>) -> NotDelivered {
        NotDelivered {
            reason: reason.into(),
            permanent: true,
        }
    }

    fn for_now(reason: impl Into<String>) -> NotDelivered {
        NotDelivered {
            reason: reason.into(),
            permanent: false,
        }
    }
}

/// Delivers messages. Cheap to clone; `deliver` blocks, so call it off the
/// async workers.
#[derive(Clone)]
pub struct Mailer {
    delivery: Arc<Delivery>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Mailer> {
        let from: Mailbox = settings
            .from
            .parse()
            .with_context(|| format!("the sender {:?} is not a mail address", settings.from))?;
        let delivery = match &settings.smtp_url {
            // The URL may hold a password: it is never repeated in an error.
            Some(url) => Delivery::Smtp(
                SmtpTransport::from_url(url)
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "the SMTP URL could not be read (smtp://host or smtps://user:password@host:port)"
                        )
                    })?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            None => Delivery::Folder(settings.folder.clone()),
        };
        Ok(Mailer {
            delivery: Arc::new(delivery),
            from,
        })
    }

    /// Builds the message a claimed outbox row holds: text and HTML, its stable
    /// `Message-ID`, and for mail one may turn off the RFC 8058 one-click
    /// unsubscribe headers.
    pub fn build(&self, mail: &ClaimedMail) -> Result<Message, NotDelivered> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| NotDelivered::permanent("the recipient is not a mail address"))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(mail.message_id.clone()));
        if let Some(link) = &mail.list_unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{link}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| NotDelivered::permanent(format!("the message could not be built: {e}")))
    }

    /// Delivers one claimed message.
    pub fn deliver(&self, mail: &ClaimedMail) -> Result<(), NotDelivered> {
        let message = self.build(mail)?;
        match self.delivery.as_ref() {
            Delivery::Smtp(smtp) => smtp.send(&message).map(drop).map_err(|e| NotDelivered {
                permanent: e.is_permanent(),
                reason: format!("the SMTP server did not take the message: {e}"),
            }),
            Delivery::Folder(folder) => write_eml(folder, mail, &message.formatted())
                .map(drop)
                .map_err(|e| NotDelivered::for_now(format!("{e:#}"))),
        }
    }
}

/// Writes a message as `NNNNNN-kind-XXXXXXXX.eml` (its outbox number, its kind
/// and a random part, so a message sent twice after a crash shows as two
/// files): whole or not at all, through a temporary file renamed into place.
fn write_eml(folder: &std::path::Path, mail: &ClaimedMail, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create the mail folder {}", folder.display()))?;
    let name = format!("{:06}-{}-{:08x}.eml", mail.id, mail.kind, rand::random::<u32>());
    let mut file = tempfile::NamedTempFile::new_in(folder)
        .with_context(|| format!("cannot write a message to {}", folder.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("cannot write a message to {}", folder.display()))?;
    let path = folder.join(name);
    file.persist(&path)
        .with_context(|| format!("cannot write a message to {}", folder.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(id: i64) -> ClaimedMail {
        ClaimedMail {
            id,
            kind: "receipt".to_owned(),
            to: "ann@example.com".to_owned(),
            subject: "Your order".to_owned(),
            text: "A link: http://x/y".to_owned(),
            html: "<p>A link: <a href=\"http://x/y\">http://x/y</a></p>".to_owned(),
            message_id: "<receipt.abc@localhost>".to_owned(),
            list_unsubscribe: Some("http://x/mail/unsubscribe/t".to_owned()),
            attempts: 1,
        }
    }

    #[test]
    fn without_smtp_each_message_is_an_eml_file_with_both_parts_and_its_message_id() {
        let folder = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(&MailSettings {
            smtp_url: None,
            from: "storecredit <no-reply@localhost>".to_owned(),
            folder: folder.path().join("mail"),
            send: true,
        })
        .unwrap();
        mailer.deliver(&claimed(7)).unwrap();
        let files: Vec<_> = std::fs::read_dir(folder.path().join("mail")).unwrap().collect();
        assert_eq!(files.len(), 1);
        let path = files[0].as_ref().unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("000007-receipt-") && name.ends_with(".eml"),
            "{name}"
        );
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("To: ann@example.com"), "{text}");
        assert!(text.contains("Message-ID: <receipt.abc@localhost>"), "{text}");
        assert!(
            text.contains("text/plain") && text.contains("text/html"),
            "{text}"
        );
        assert!(
            text.contains("List-Unsubscribe: <http://x/mail/unsubscribe/t>"),
            "{text}"
        );
        assert!(
            text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_smtp_url_is_refused_without_repeating_its_password() {
        let refused = Mailer::new(&MailSettings {
            smtp_url: Some("smtp://user:hunter2@".to_owned()),
            from: "no-reply@localhost".to_owned(),
            folder: PathBuf::from("unused"),
            send: true,
        });
        let message = format!("{:#}", refused.err().expect("refused"));
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn a_recipient_that_is_no_address_is_refused_for_good() {
        let mailer = Mailer::new(&MailSettings {
            smtp_url: None,
            from: "no-reply@localhost".to_owned(),
            folder: PathBuf::from("unused"),
            send: true,
        })
        .unwrap();
        let bad = ClaimedMail {
            to: "ann@example.com\r\nBcc: eve@example.com".to_owned(),
            ..claimed(1)
        };
        assert!(mailer.deliver(&bad).unwrap_err().permanent);
    }
}
