//! The mailers: an RFC 5322 message per email, written as a `.eml` file by default or
//! sent over SMTP (lettre). Each message carries the email's stable `Message-ID`, so
//! sending the same email again after a crash is recognisable (and, for files,
//! overwrites itself).

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use orderflow_core::mail::{Email, MailError, Mailer};

const FROM: &str = "orderflow <orders@orderflow.local>";

fn message(email: &Email) -> Result<Message, MailError> {
    let err = |e: &dyn std::fmt::Display| MailError::Invalid(e.to_string());
    let from: Mailbox = FROM.parse().map_err(|e| err(&e))?;
    let to: Mailbox = email.to.parse().map_err(|e| err(&e))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(&email.subject)
        .message_id(Some(format!("<{}>", email.message_id)))
        .header(ContentType::TEXT_PLAIN)
        .body(email.body.clone())
        .map_err(|e| err(&e))
}

/// Writes one `<message-id>.eml` file per email into a folder.
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    pub fn new(dir: PathBuf) -> Result<Self, MailError> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| MailError::Unavailable(format!("{}: {e}", dir.display())))?;
        Ok(Self { dir })
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let bytes = message(email)?.formatted();
        let name: String = email
            .message_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.dir.join(format!("{name}.eml"));
        let tmp = self.dir.join(format!(".{name}.tmp"));
        // Write then rename: a crash leaves either no file or the whole message. Both
        // in one trip to the blocking pool (`tokio::fs` would take one trip each).
        tokio::task::spawn_blocking(move || {
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)
        })
        .await
        .map_err(|e| MailError::Unavailable(e.to_string()))?
        .map_err(|e| MailError::Unavailable(e.to_string()))
    }
}

/// Sends over plain SMTP, configured as `smtp://host[:port]`.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    pub fn from_url(url: &str) -> Result<Self, MailError> {
        let invalid = |why: &str| MailError::Invalid(format!("invalid SMTP URL {url:?}: {why}"));
        let rest = url.strip_prefix("smtp://").ok_or_else(|| {
            invalid("only plain smtp://host[:port] is supported (no TLS built in)")
        })?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| invalid("the port is not a number"))?,
            ),
            None => (rest, 25),
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .build();
        Ok(Self { transport })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        self.transport
            .send(message(email)?)
            .await
            .map(|_| ())
            .map_err(|e| {
                if e.is_permanent() {
                    MailError::Refused(e.to_string())
                } else {
                    MailError::Unavailable(e.to_string())
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_email_becomes_one_rfc5322_file_named_by_its_message_id() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(dir.path().join("mail")).unwrap();
        let email = Email {
            message_id: "order-received.o-1@orderflow".into(),
            to: "c-1@customers.orderflow.local".into(),
            subject: "We received your order o-1".into(),
            body: "Thank you.".into(),
        };
        mailer.send(&email).await.unwrap();
        mailer.send(&email).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1);
        let text =
            std::fs::read_to_string(dir.path().join("mail/order-received.o-1@orderflow.eml"))
                .unwrap();
        assert!(
            text.contains("Message-ID: <order-received.o-1@orderflow>"),
            "{text}"
        );
        assert!(text.contains("To: c-1@customers.orderflow.local"));
        assert!(text.contains("Subject: We received your order o-1"));
    }

    #[tokio::test]
    async fn an_address_that_is_not_one_is_a_permanent_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(dir.path().join("mail")).unwrap();
        for to in [
            "a:b@customers.orderflow.local",
            ".x@customers.orderflow.local",
            "a..b@x",
        ] {
            let email = Email {
                message_id: "order-received.o-1@orderflow".into(),
                to: to.into(),
                subject: "s".into(),
                body: "b".into(),
            };
            let err = mailer.send(&email).await.unwrap_err();
            assert!(!err.is_transient(), "{to}: {err}");
        }
    }
}
