//! Outgoing mail: over SMTP when a server is configured, otherwise one `.eml` file
//! per message in a folder, so the demo and the tests need no mail server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{FileTransport, Message, SmtpTransport, Transport};

use crate::config::MailSettings;

enum Delivery {
    Smtp(SmtpTransport),
    Folder(PathBuf),
}

/// Sends plain-text messages. Cheap to clone; `send` blocks, so call it off the
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
                    .build(),
            ),
            None => Delivery::Folder(settings.folder.clone()),
        };
        Ok(Mailer {
            delivery: Arc::new(delivery),
            from,
        })
    }

    /// Sends one plain-text message to `to`.
    pub fn send(&self, to: &str, subject: &str, body: String) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.parse().context("the recipient is not a mail address")?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        match self.delivery.as_ref() {
            Delivery::Smtp(smtp) => {
                smtp.send(&message)
                    .context("the SMTP server did not take the message")?;
            }
            Delivery::Folder(folder) => {
                std::fs::create_dir_all(folder)
                    .with_context(|| format!("cannot create the mail folder {}", folder.display()))?;
                FileTransport::new(folder)
                    .send(&message)
                    .with_context(|| format!("cannot write a message to {}", folder.display()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_smtp_each_message_is_an_eml_file() {
        let folder = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(&MailSettings {
            smtp_url: None,
            from: "storecredit <no-reply@localhost>".to_owned(),
            folder: folder.path().join("mail"),
        })
        .unwrap();
        mailer
            .send("ann@example.com", "Hello", "A link: http://x/y".to_owned())
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(folder.path().join("mail")).unwrap().collect();
        assert_eq!(files.len(), 1);
        let path = files[0].as_ref().unwrap().path();
        assert_eq!(path.extension().unwrap(), "eml");
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("To: ann@example.com"), "{text}");
        assert!(text.contains("A link: http://x/y"), "{text}");
    }

    #[test]
    fn a_bad_smtp_url_is_refused_without_repeating_its_password() {
        let refused = Mailer::new(&MailSettings {
            smtp_url: Some("smtp://user:hunter2@".to_owned()),
            from: "no-reply@localhost".to_owned(),
            folder: PathBuf::from("unused"),
        });
        let message = format!("{:#}", refused.err().expect("refused"));
        assert!(!message.contains("hunter2"), "{message}");
    }
}
