//! The mail port: one email per notification, each with a stable `Message-ID`, so that
//! sending the same email again after a crash is recognisable.

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Stable per order and kind, without the angle brackets: `<kind>.<order>@orderflow`.
    pub message_id: String,
    pub to: String,
    pub subject: String,
    /// The plain text part.
    pub text: String,
    /// The HTML part: the same content, for mail readers that show HTML.
    pub html: String,
}

/// Why an email was not sent, and whether sending it again can help.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message cannot be written at all (an address that is not one): sending it
    /// again never helps.
    #[error("the email cannot be built: {0}")]
    Invalid(String),
    /// The mail server refused it for good (an SMTP 5xx answer).
    #[error("the mail server refused the email: {0}")]
    Refused(String),
    /// The server or the outbox cannot take it now: try again later.
    #[error("the mail server or outbox is unavailable: {0}")]
    Unavailable(String),
}

impl MailError {
    pub fn is_transient(&self) -> bool {
        matches!(self, MailError::Unavailable(_))
    }
}

#[async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    async fn send(&self, email: &Email) -> Result<(), MailError>;

    /// Removes the copies it keeps of the emails sent to `recipient` (a forgotten
    /// customer's); returns how many. A mailer that keeps none, such as one handing
    /// mail to an SMTP server, removes nothing: what was sent is the recipient's.
    async fn forget(&self, recipient: &str) -> Result<usize, MailError> {
        let _ = recipient;
        Ok(0)
    }
}
