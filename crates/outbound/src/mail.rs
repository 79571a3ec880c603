//! The mailers: an RFC 5322 message per email (MIME, a text part and an HTML part), written as a `.eml` file by default or
//! sent over SMTP (lettre). Each message carries the email's stable `Message-ID`, so
//! sending the same email again after a crash is recognisable (and, for files,
//! overwrites itself).

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
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
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
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

    /// Deletes every `.eml` file whose `To:` header is `recipient`.
    async fn forget(&self, recipient: &str) -> Result<usize, MailError> {
        let dir = self.dir.clone();
        let to = format!("To: {recipient}");
        tokio::task::spawn_blocking(move || -> std::io::Result<usize> {
            let mut removed = 0;
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.extension().is_none_or(|x| x != "eml") {
                    continue;
                }
                let text = std::fs::read_to_string(&path)?;
                let headers = text.split("\r\n\r\n").next().unwrap_or_default();
                if headers.lines().any(|line| line.trim_end() == to) {
                    std::fs::remove_file(&path)?;
                    removed += 1;
                }
            }
            Ok(removed)
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
mod smtp_sink;
#[cfg(test)]
mod tests;
