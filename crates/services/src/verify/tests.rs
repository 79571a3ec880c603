//! Verifying a history the real handlers recorded: with the current rules it agrees;
//! with a changed rule, verify names the stream and version the change would alter.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use orderflow_core::mail::{Email, MailError, Mailer};
use orderflow_core::payment::{PaymentProvider, ProviderError};
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::{AppendRequest, ExpectedVersion, InMemoryEventStore};
use orderflow_domain::inventory::{SetLevel, SkuStock};
use orderflow_domain::order::{Order, OrderCommand};
use orderflow_domain::payment::{ChargeOutcome, Payment, PaymentCommand};
use orderflow_domain::process::OrderFacts;
use orderflow_domain::{
    Aggregate, Currency, CustomerId, DomainError, Money, OrderId, OrderLine, OrderLines, Quantity,
    Sku, Timestamp,
};

use super::*;
use crate::consumer::{Delivery, Handler};
use crate::context::{Cause as Caused, Recorder};
use crate::handlers::inventory::InventoryService;
use crate::handlers::notification::NotificationService;
use crate::handlers::order_process::OrderProcess;
use crate::handlers::payment::PaymentService;
use crate::handlers::shipping::ShippingService;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A provider that approves every charge.
#[derive(Debug)]
struct Approves;

#[async_trait]
impl PaymentProvider for Approves {
    async fn charge(
        &self,
        _: &str,
        order: &OrderId,
        _: Money,
    ) -> Result<ChargeOutcome, ProviderError> {
        Ok(ChargeOutcome::Approved {
            transaction_id: format!("tx-{order}"),
        })
    }

    async fn refund(&self, _: &str, order: &OrderId, _: Money) -> Result<String, ProviderError> {
        Ok(format!("rf-{order}"))
    }

    async fn void(
        &self,
        _: &str,
        _: &OrderId,
        _: Money,
        reason: &str,
    ) -> Result<ChargeOutcome, ProviderError> {
        Ok(ChargeOutcome::Voided {
            reason: reason.to_owned(),
        })
    }
}

/// A mail server that takes every email.
#[derive(Debug)]
struct Takes;

#[async_trait]
impl Mailer for Takes {
    async fn send(&self, _: &Email) -> Result<(), MailError> {
        Ok(())
    }
}

fn api() -> Caused<'static> {
    Caused {
        causation_id: None,
        actor: "api",
        now: Utc::now(),
    }
}

async fn place(recorder: &Recorder, id: &str, sku: &str) -> Res<()> {
    let order_id = OrderId::parse(id)?;
    let events = Order::default().decide(OrderCommand::Place {
        order_id: order_id.clone(),
        customer_id: CustomerId::parse("c-1")?,
        lines: OrderLines::new(vec![OrderLine {
            sku: Sku::parse(sku)?,
            quantity: Quantity::new(2)?,
            unit_price: Money::from_major(19.99)?,
        }])?,
        currency: Currency::default_currency(),
        shipping_address: None,
        now: Timestamp(Utc::now().timestamp_millis()),
    })?;
    let stream = streams::order(&order_id);
    recorder
        .append(&stream, ExpectedVersion::NoStream, &events, api())
        .await?;
    Ok(())
}

/// A store in which the real handlers ran two orders to their end: `o-1` shipped,
/// `o-2` cancelled (its SKU is unknown), every event handled by every service in global
/// order, as the bus delivers them.
async fn history() -> Res<Recorder> {
    let store = Arc::new(InMemoryEventStore::default());
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let recorder = Recorder::new(store, codec);
    let sku = Sku::parse("SKU-1")?;
    let level = SkuStock::default().decide(SetLevel {
        sku: sku.clone(),
        available: 10,
    })?;
    recorder
        .append(
            &streams::sku(&sku),
            ExpectedVersion::NoStream,
            &level,
            api(),
        )
        .await?;
    place(&recorder, "o-1", "SKU-1").await?;
    place(&recorder, "o-2", "SKU-404").await?;
    let handlers: Vec<Box<dyn Handler>> = vec![
        Box::new(OrderProcess {
            recorder: recorder.clone(),
        }),
        Box::new(PaymentService {
            recorder: recorder.clone(),
            provider: Arc::new(Approves),
        }),
        Box::new(InventoryService::new(recorder.clone())),
        Box::new(ShippingService {
            recorder: recorder.clone(),
        }),
        Box::new(NotificationService {
            recorder: recorder.clone(),
            mailer: Arc::new(Takes),
        }),
    ];
    let mut after = 0;
    loop {
        let page = recorder.store.read_all(after, 100).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for stored in page {
            let event = recorder
                .codec
                .decode(stored.schema_id, &stored.payload)
                .await?;
            let delivery = Delivery {
                event_id: Some(stored.event_id),
                occurred_at: stored.occurred_at,
                origin: Default::default(),
            };
            for handler in &handlers {
                handler.handle(&event, &delivery).await?;
            }
        }
    }
    Ok(recorder)
}

async fn verified(recorder: &Recorder, rules: &dyn Rules) -> Res<Report> {
    Ok(verify(recorder.store.as_ref(), &recorder.codec, rules).await?)
}

#[tokio::test]
async fn a_history_the_current_code_recorded_agrees_with_it_decision_by_decision() -> Res<()> {
    let recorder = history().await?;

    let report = verified(&recorder, &CurrentRules).await?;

    assert!(report.agrees(), "{report:#?}");
    assert_eq!(report.events, recorder.store.head_position().await?);
    // Every event the pipeline recorded was recorded by a decision verify re-runs.
    assert_eq!(report.folded_only, 0, "{report:#?}");
    assert_eq!(report.redecided, report.events);
    assert!(report.decisions >= 15, "{report:#?}");
    Ok(())
}

/// Payment charges a cent more than the order's total.
struct ChargesACentMore;

impl Rules for ChargesACentMore {
    fn payment(&self, state: &Payment, command: PaymentCommand) -> Result<Vec<Event>, DomainError> {
        let command = match command {
            PaymentCommand::RecordCharge {
                order_id,
                amount,
                outcome,
            } => {
                let amount = Money::from_minor(amount.minor() + 1)?;
                PaymentCommand::RecordCharge {
                    order_id,
                    amount,
                    outcome,
                }
            }
            other => other,
        };
        state.decide(command)
    }
}

#[tokio::test]
async fn a_changed_rule_is_reported_at_each_event_it_would_have_recorded_otherwise() -> Res<()> {
    let recorder = history().await?;

    let report = verified(&recorder, &ChargesACentMore).await?;

    let places: Vec<(&str, u64)> = report
        .disagreements
        .iter()
        .map(|d| (d.stream.as_str(), d.version))
        .collect();
    assert_eq!(
        places,
        [("payment-o-1", 1), ("payment-o-2", 1)],
        "{report:#?}"
    );
    let first = &report.disagreements[0];
    assert_eq!(first.actor, "payment");
    assert!(first.recorded.starts_with("PaymentReceived"), "{first:?}");
    assert!(first.recorded.contains("\"amountCents\":3998"), "{first:?}");
    assert!(first.now.contains("\"amountCents\":3999"), "{first:?}");
    assert!(report.fold_failures.is_empty());
    Ok(())
}

/// The order process never confirms an order.
struct NeverConfirms;

impl Rules for NeverConfirms {
    fn next_order_command(&self, facts: &OrderFacts) -> Option<OrderCommand> {
        orderflow_domain::process::next_command(facts).filter(|c| *c != OrderCommand::Confirm)
    }
}

#[tokio::test]
async fn a_decision_the_current_code_would_not_take_is_reported_as_now_nothing() -> Res<()> {
    let recorder = history().await?;

    let report = verified(&recorder, &NeverConfirms).await?;

    let [confirmed] = report.disagreements.as_slice() else {
        panic!("one disagreement expected: {report:#?}");
    };
    assert_eq!(
        (confirmed.stream.as_str(), confirmed.version),
        ("order-o-1", 2)
    );
    assert!(
        confirmed.recorded.starts_with("OrderConfirmed"),
        "{confirmed:?}"
    );
    assert_eq!(confirmed.now, "nothing");
    Ok(())
}

#[tokio::test]
async fn an_event_that_does_not_decode_is_reported_as_its_stream_failing_to_fold() -> Res<()> {
    let recorder = history().await?;
    let mut garbage = recorder
        .envelopes(
            &[orderflow_domain::events::OrderConfirmed {
                order_id: OrderId::parse("o-3")?,
            }
            .into()],
            api(),
        )
        .await?;
    garbage[0].payload = vec![0xff; 3];
    recorder
        .store
        .append(vec![AppendRequest {
            stream_id: "order-o-3".into(),
            expected: ExpectedVersion::Any,
            events: garbage,
        }])
        .await?;

    let report = verified(&recorder, &CurrentRules).await?;

    assert!(!report.agrees());
    let [failure] = report.fold_failures.as_slice() else {
        panic!("one fold failure expected: {report:#?}");
    };
    assert_eq!((failure.stream.as_str(), failure.version), ("order-o-3", 1));
    assert!(failure.reason.contains("does not decode"), "{failure:?}");
    Ok(())
}

mod races;
