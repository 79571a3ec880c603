use std::sync::Mutex;

use chrono::Utc;
use orderflow_core::codec::EventCodec;
use orderflow_core::mail::Email;
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::{ExpectedVersion, InMemoryEventStore};
use orderflow_domain::events::NotificationKind;
use orderflow_domain::testing::sample_created;
use orderflow_domain::{CustomerId, Event, OrderId};

use super::*;
use crate::consumer::Delivery;
use crate::context::Cause;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Records what it is asked to send; fails the way it is told to.
#[derive(Debug, Default)]
struct Outbox {
    sent: Mutex<Vec<Email>>,
    down: bool,
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        if self.down {
            return Err(MailError::Unavailable("connection refused".into()));
        }
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(email.clone());
        Ok(())
    }
}

/// A notification service over a fresh store holding one order of `customer`.
async fn service_with_order(
    customer: &str,
    mailer: Arc<Outbox>,
) -> Result<(NotificationService, Event), Box<dyn std::error::Error>> {
    let store = Arc::new(InMemoryEventStore::default());
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let recorder = Recorder::new(store, codec);
    let mut created = sample_created();
    if let Event::OrderCreated(e) = &mut created {
        e.customer_id = CustomerId::parse(customer)?;
    }
    let stream = streams::stream_of(&created);
    let cause = Cause {
        causation_id: None,
        actor: "test",
        now: Utc::now(),
    };
    recorder
        .append(
            &stream,
            ExpectedVersion::NoStream,
            std::slice::from_ref(&created),
            cause,
        )
        .await?;
    Ok((NotificationService { recorder, mailer }, created))
}

fn delivery() -> Delivery {
    Delivery {
        event_id: None,
        occurred_at: Utc::now(),
        origin: Default::default(),
    }
}

#[tokio::test]
async fn an_email_to_an_id_that_is_no_address_is_recorded_as_failed_once_not_retried() -> TestResult
{
    let outbox = Arc::new(Outbox::default());
    // Recorded before the API checked ids as addresses.
    let (service, created) = service_with_order("a:b", outbox.clone()).await?;
    service.handle(&created, &delivery()).await?;
    service.handle(&created, &delivery()).await?;
    let order_id = created.correlation_key().to_owned();
    let history = service.recorder.read_correlated(&order_id).await?;
    let failed: Vec<String> = history
        .events()
        .iter()
        .filter_map(|d| match &d.1 {
            Event::NotificationFailed(f) => Some(f.reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "recorded once");
    assert!(failed[0].contains("local part"), "{failed:?}");
    assert!(outbox.sent.lock().map(|s| s.is_empty()).unwrap_or(false));
    Ok(())
}

#[tokio::test]
async fn an_email_that_cannot_go_out_now_is_tried_again() -> TestResult {
    let outbox = Arc::new(Outbox {
        down: true,
        ..Outbox::default()
    });
    let (service, created) = service_with_order("c-1", outbox).await?;
    let err = service.handle(&created, &delivery()).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_shipped_order_sends_its_customer_the_tracking_number() -> TestResult {
    let outbox = Arc::new(Outbox::default());
    let (service, created) = service_with_order("c-1", outbox.clone()).await?;
    let order_id = OrderId::parse(created.correlation_key())?;
    let shipped: Event = orderflow_domain::events::OrderShipped {
        order_id: order_id.clone(),
        tracking_number: "TRK-1".into(),
    }
    .into();
    service.handle(&shipped, &delivery()).await?;
    let sent = outbox.sent.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].message_id,
        message_id(NotificationKind::OrderShipped, &order_id)
    );
    assert_eq!(sent[0].to, "c-1@customers.orderflow.local");
    assert!(sent[0].text.contains("TRK-1"), "{:?}", sent[0].text);
    Ok(())
}

#[tokio::test]
async fn a_cancelled_order_sends_its_customer_the_reason_in_their_terms() -> TestResult {
    let outbox = Arc::new(Outbox::default());
    let (service, created) = service_with_order("c-1", outbox.clone()).await?;
    let order_id = OrderId::parse(created.correlation_key())?;
    let cancelled: Event = orderflow_domain::events::OrderCancelled {
        order_id: order_id.clone(),
        reason: "payment declined: amount 10000.02 exceeds the limit 10000.00".into(),
    }
    .into();
    service.handle(&cancelled, &delivery()).await?;
    let sent = outbox.sent.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].message_id,
        message_id(NotificationKind::OrderCancelled, &order_id)
    );
    assert!(
        sent[0].text.contains("Your payment was declined"),
        "{:?}",
        sent[0].text
    );
    assert!(!sent[0].text.contains("limit"), "{:?}", sent[0].text);
    Ok(())
}

#[test]
fn a_message_id_is_stable_per_order_and_kind_and_distinct_across_them() -> TestResult {
    let one = OrderId::parse("order-1")?;
    let two = OrderId::parse("order-2")?;
    let mut seen = std::collections::BTreeSet::new();
    for kind in NotificationKind::ALL {
        assert_eq!(message_id(kind, &one), message_id(kind, &one));
        assert!(
            message_id(kind, &one).contains('@'),
            "{}",
            message_id(kind, &one)
        );
        assert!(seen.insert(message_id(kind, &one)), "{kind:?} on order-1");
        assert!(seen.insert(message_id(kind, &two)), "{kind:?} on order-2");
    }
    Ok(())
}

#[tokio::test]
async fn notification_reads_orders_as_the_notification_group() -> TestResult {
    let (service, _) = service_with_order("c-1", Arc::new(Outbox::default())).await?;
    assert_eq!(service.group().name, "notification");
    assert_eq!(service.group().topic_names(), ["orders"]);
    Ok(())
}
