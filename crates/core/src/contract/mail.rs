//! Mailer scenarios: an email arrives whole with its stable `Message-ID`, sending it
//! again is recognisable, and each failure says whether trying again can help.

use std::sync::Arc;

use async_trait::async_trait;

use crate::mail::{Email, MailError, Mailer};

/// The other side of a mailer under test: where its emails arrive (a mail server, an
/// outbox folder).
#[async_trait]
pub trait MailSink: Send + Sync {
    /// Every message that arrived so far, as RFC 5322 text.
    async fn delivered(&self) -> Vec<String>;
    /// Takes the destination away (the server stops, the outbox folder is gone), so
    /// that whatever is sent next cannot arrive.
    async fn take_down(&self);
}

fn email(to: &str) -> Email {
    Email {
        message_id: "order-received.o-1@orderflow".into(),
        to: to.into(),
        subject: "We received your order o-1".into(),
        text: "Thank you for your order.".into(),
        html: "<p>Thank you for your <b>order</b>.</p>".into(),
    }
}

const TO: &str = "c-1@customers.orderflow.local";

pub async fn an_email_arrives_whole_with_its_message_id<M: Mailer, S: MailSink>(
    mailer: Arc<M>,
    sink: &S,
) {
    mailer.send(&email(TO)).await.unwrap();
    let delivered = sink.delivered().await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let text = &delivered[0];
    for line in [
        "Message-ID: <order-received.o-1@orderflow>",
        "To: c-1@customers.orderflow.local",
        "Subject: We received your order o-1",
        "MIME-Version: 1.0",
        "Thank you for your order.",
        "<p>Thank you for your <b>order</b>.</p>",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in {text}");
    }
    // A text part and an HTML part, the reader's choice.
    for part in [
        "Content-Type: multipart/alternative;",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: text/html; charset=utf-8",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(part)),
            "{part:?} in {text}"
        );
    }
}

pub async fn an_email_sent_again_carries_the_same_message_id<M: Mailer, S: MailSink>(
    mailer: Arc<M>,
    sink: &S,
) {
    mailer.send(&email(TO)).await.unwrap();
    mailer.send(&email(TO)).await.unwrap();
    let delivered = sink.delivered().await;
    assert!(matches!(delivered.len(), 1 | 2), "{delivered:?}");
    for text in &delivered {
        assert!(
            text.lines()
                .any(|l| l == "Message-ID: <order-received.o-1@orderflow>"),
            "{text}"
        );
    }
}

pub async fn an_address_that_is_not_one_is_a_permanent_failure_and_nothing_is_sent<
    M: Mailer,
    S: MailSink,
>(
    mailer: Arc<M>,
    sink: &S,
) {
    for to in [
        "a:b@customers.orderflow.local",
        ".x@customers.orderflow.local",
        "a..b@x",
    ] {
        let err = mailer.send(&email(to)).await.unwrap_err();
        assert!(matches!(err, MailError::Invalid(_)), "{to}: {err:?}");
        assert!(!err.is_transient(), "{to}: {err}");
    }
    assert_eq!(sink.delivered().await, Vec::<String>::new());
}

pub async fn a_destination_that_is_down_is_a_transient_failure<M: Mailer, S: MailSink>(
    mailer: Arc<M>,
    sink: &S,
) {
    sink.take_down().await;
    let err = mailer.send(&email(TO)).await.unwrap_err();
    assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
    assert!(err.is_transient(), "{err}");
}
