//! Projections: the order and stock read models, built from the event store in global
//! order. Reading the store (rather than the partitioned bus) gives the read model a
//! single position, so a client can wait until it has caught up with its own write.
//! Each batch of summaries is committed together with the position it reached.

use orderflow_core::idle::IdlePause;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use orderflow_core::codec::EventCodec;
use orderflow_core::read_model::{
    OrderLineSummary, OrderSummary, ReadModel, ReadModelBatch, StockSummary,
};
use orderflow_core::store::{EventStore, StoredEvent};
use orderflow_domain::inventory::SkuStock;
use orderflow_domain::order::OrderStatus;
use orderflow_domain::{Aggregate, Event};
use tokio_util::sync::CancellationToken;

use crate::consumer::retry_transient;
use crate::context::ServiceError;

const BATCH: usize = 1000;

/// The order whose stored summary `event` changes: only the order's own events after
/// `OrderCreated` do.
fn changed_order(event: &Event) -> Option<&str> {
    match event {
        Event::OrderConfirmed(e) => Some(e.order_id.as_str()),
        Event::OrderCancelled(e) => Some(e.order_id.as_str()),
        Event::OrderShipped(e) => Some(e.order_id.as_str()),
        Event::NotificationFailed(e) => Some(e.order_id.as_str()),
        Event::StepFailed(e) => Some(e.order_id.as_str()),
        _ => None,
    }
}

/// Folds one event into the order summary it concerns.
pub fn project_order(
    summaries: &mut HashMap<String, OrderSummary>,
    stored: &StoredEvent,
    event: &Event,
) {
    let at = stored.occurred_at;
    if let Event::OrderCreated(e) = event {
        summaries.insert(
            e.order_id.to_string(),
            OrderSummary {
                order_id: e.order_id.to_string(),
                customer_id: e.customer_id.to_string(),
                status: OrderStatus::Pending.as_str().into(),
                items: e
                    .lines
                    .lines()
                    .iter()
                    .map(|l| OrderLineSummary {
                        sku: l.sku.to_string(),
                        quantity: l.quantity.get(),
                        unit_price_cents: l.unit_price.minor(),
                    })
                    .collect(),
                total_cents: e.lines.total().minor(),
                currency: e.currency.as_str().to_owned(),
                // Sealed, as decoded for the read models ([`decode`]).
                shipping_address: e.shipping_address.clone(),
                created_at: at,
                updated_at: at,
                cancel_reason: None,
                tracking_number: None,
                failures: Vec::new(),
            },
        );
        return;
    }
    let Some(summary) = changed_order(event).and_then(|id| summaries.get_mut(id)) else {
        return;
    };
    match event {
        Event::OrderConfirmed(_) => summary.status = OrderStatus::Confirmed.as_str().into(),
        Event::OrderCancelled(e) => {
            summary.status = OrderStatus::Cancelled.as_str().into();
            summary.cancel_reason = Some(e.reason.clone());
        }
        Event::OrderShipped(e) => {
            summary.status = OrderStatus::Shipped.as_str().into();
            summary.tracking_number = Some(e.tracking_number.clone());
        }
        Event::NotificationFailed(e) => summary.failures.push(format!(
            "the {} email to {} could not be sent: {}",
            e.kind.as_str(),
            e.recipient,
            e.reason
        )),
        Event::StepFailed(e) => summary.failures.push(format!(
            "the {} step on {} was given up on: {} (set aside from {} partition {} offset {})",
            e.step, e.event_type, e.reason, e.topic, e.partition, e.offset
        )),
        _ => return,
    }
    summary.updated_at = at;
}

/// Folds one event into a stock summary, with the same rules as the write side.
pub fn project_stock(summary: &mut StockSummary, event: &Event) {
    let mut stock = SkuStock {
        known: true,
        available: summary.available,
        reserved: summary.reserved,
    };
    stock.apply(event);
    summary.available = stock.available;
    summary.reserved = stock.reserved;
}

pub async fn run(
    store: Arc<dyn EventStore>,
    codec: Arc<EventCodec>,
    read_model: Arc<dyn ReadModel>,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let mut position = retry_transient(&shutdown, "projections", || async {
        Ok(read_model.position().await?)
    })
    .await?;
    tracing::info!(position, "projections started");
    // Orders shipped from now on are timed; those read again from before (a read model
    // made again from the store) are not.
    let live_since = chrono::Utc::now();
    // Appends in this process wake the projections at once; for other processes' they
    // look again after a pause that grows while there is nothing.
    let mut idle = IdlePause::default();
    while !shutdown.is_cancelled() {
        // Read again each time: a rebuild may have swapped in read models ahead of us.
        position = position.max(
            retry_transient(&shutdown, "projections", || async {
                Ok(read_model.position().await?)
            })
            .await?,
        );
        let events = retry_transient(&shutdown, "projections read", || async {
            Ok(store.read_all(position, BATCH).await?)
        })
        .await?;
        let Some(last) = events.last().map(|e| e.position) else {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = store.wait_for_append(position, idle.take()) => continue,
            }
        };
        idle.found();
        // Loading the summaries and storing the batch are retried together: a failure in
        // either (the database went away) must not stop the read models for good.
        retry_transient(&shutdown, "projections apply", || async {
            let batch = build_batch(&codec, &read_model, &events, last, live_since).await?;
            Ok(read_model.apply(batch).await?)
        })
        .await?;
        position = last;
    }
    tracing::info!(position, "projections stopped");
    Ok(())
}

/// The SKU whose stock summary an event changes.
fn sku_of(event: &Event) -> Option<&str> {
    match event {
        Event::StockLevelSet(e) => Some(e.sku.as_str()),
        Event::StockAllocated(e) => Some(e.sku.as_str()),
        Event::StockDeallocated(e) => Some(e.sku.as_str()),
        Event::StockShipped(e) => Some(e.sku.as_str()),
        _ => None,
    }
}

/// The order ids and SKUs of the stored summaries that `events` change. An order's summary
/// changes only with the order's own events; the payment, inventory, shipping and
/// notification events about it (most of its events) leave it alone, so they neither
/// load it nor write it back. Orders created in the batch have no stored summary yet.
fn summaries_to_load<'a>(
    events: impl Iterator<Item = &'a Event> + Clone,
) -> (Vec<String>, Vec<String>) {
    let created: HashSet<&str> = events
        .clone()
        .filter_map(|e| match e {
            Event::OrderCreated(c) => Some(c.order_id.as_str()),
            _ => None,
        })
        .collect();
    let order_ids = events
        .clone()
        .filter_map(changed_order)
        .filter(|id| !created.contains(id))
        .collect::<HashSet<_>>()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let skus = events
        .filter_map(sku_of)
        .collect::<HashSet<_>>()
        .into_iter()
        .map(str::to_owned)
        .collect();
    (order_ids, skus)
}

/// The events that decode, each beside its stored form, their personal data left sealed:
/// the read models keep it as the event store does, so that no copy of it there is in
/// the clear, and destroying its subject's key erases it everywhere at once.
pub(crate) async fn decode<'a>(
    codec: &EventCodec,
    events: &'a [StoredEvent],
) -> Vec<(&'a StoredEvent, Event)> {
    let mut decoded = Vec::with_capacity(events.len());
    for stored in events {
        match codec.decode_sealed(stored.schema_id, &stored.payload).await {
            Ok(event) => decoded.push((stored, event)),
            // The store only holds events we encoded; one that no longer decodes is
            // reported and skipped rather than stopping every read model.
            Err(e) => {
                tracing::error!(position = stored.position, error = %e, "projection skips an event")
            }
        }
    }
    decoded
}

async fn build_batch(
    codec: &EventCodec,
    read_model: &Arc<dyn ReadModel>,
    events: &[StoredEvent],
    last: u64,
    live_since: chrono::DateTime<chrono::Utc>,
) -> Result<ReadModelBatch, ServiceError> {
    let decoded = decode(codec, events).await;
    build_decoded(read_model, &decoded, last, Some(live_since)).await
}

/// The batch that folds `decoded` (the events up to position `last`) into the summaries
/// `read_model` holds. Orders shipped by events recorded since `live_since` are timed in
/// the metrics; a rebuild (`None`) times none.
pub(crate) async fn build_decoded(
    read_model: &Arc<dyn ReadModel>,
    decoded: &[(&StoredEvent, Event)],
    last: u64,
    live_since: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<ReadModelBatch, ServiceError> {
    // Load every summary the batch changes in two queries, then fold in memory.
    let (order_ids, skus) = summaries_to_load(decoded.iter().map(|(_, e)| e));
    let mut orders: HashMap<String, OrderSummary> = read_model
        .orders(&order_ids)
        .await?
        .into_iter()
        .map(|v| (v.order_id.clone(), v))
        .collect();
    let mut stock: HashMap<String, StockSummary> = read_model
        .stocks(&skus)
        .await?
        .into_iter()
        .map(|v| (v.sku.clone(), v))
        .collect();
    for (stored, event) in decoded {
        project_order(&mut orders, stored, event);
        if let Event::OrderShipped(e) = event
            && live_since.is_some_and(|since| stored.recorded_at >= since)
            && let Some(order) = orders.get(e.order_id.as_str())
        {
            crate::metrics::shipped(order.created_at, stored.occurred_at);
        }
        if let Some(sku) = sku_of(event) {
            let summary = stock.entry(sku.to_owned()).or_insert_with(|| StockSummary {
                sku: sku.to_owned(),
                available: 0,
                reserved: 0,
            });
            project_stock(summary, event);
        }
    }
    let forgotten = decoded
        .iter()
        .filter_map(|(_, event)| match event {
            Event::CustomerForgotten(e) => Some(e.customer_id.to_string()),
            _ => None,
        })
        .collect();
    Ok(ReadModelBatch {
        orders: orders.into_values().collect(),
        stock: stock.into_values().collect(),
        forgotten,
        position: last,
    })
}

#[cfg(test)]
mod tests {
    use orderflow_domain::events::{OrderConfirmed, OrderShipped, PaymentReceived, StockAllocated};
    use orderflow_domain::testing::{sample_created, sample_order_id};
    use orderflow_domain::{Event, Money, OrderId, Quantity, Sku};

    use super::summaries_to_load;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn events_of_other_services_load_no_order_summary() -> TestResult {
        let events: Vec<Event> = vec![
            PaymentReceived {
                order_id: OrderId::parse("order-2")?,
                amount: Money::from_minor(100)?,
                transaction_id: "tx".into(),
            }
            .into(),
            StockAllocated {
                sku: Sku::parse("SKU-1")?,
                order_id: OrderId::parse("order-2")?,
                quantity: Quantity::new(1)?,
            }
            .into(),
            OrderConfirmed {
                order_id: OrderId::parse("order-3")?,
            }
            .into(),
        ];
        let (orders, skus) = summaries_to_load(events.iter());
        assert_eq!(orders, vec!["order-3".to_owned()]);
        assert_eq!(skus, vec!["SKU-1".to_owned()]);
        Ok(())
    }

    #[test]
    fn an_order_created_in_the_batch_is_not_loaded() -> TestResult {
        let events: Vec<Event> = vec![
            sample_created(),
            OrderShipped {
                order_id: sample_order_id(),
                tracking_number: "TRK".into(),
            }
            .into(),
        ];
        let (orders, _) = summaries_to_load(events.iter());
        assert!(orders.is_empty(), "{orders:?}");
        Ok(())
    }

    #[test]
    fn an_email_that_failed_for_good_shows_on_the_order_summary() {
        use std::collections::HashMap;

        use orderflow_domain::events::{NotificationFailed, NotificationKind};

        let stored = |event: &Event| orderflow_core::store::StoredEvent {
            position: 1,
            stream_id: orderflow_domain::streams::stream_of(event),
            version: 1,
            recorded_at: chrono::Utc::now(),
            event_id: uuid::Uuid::now_v7(),
            event_type: event.type_name().into(),
            schema_id: 1,
            payload: vec![],
            occurred_at: chrono::Utc::now(),
            correlation_id: event.correlation_key().into(),
            causation_id: None,
            actor: "test".into(),
            trace_context: None,
        };
        let failed: Event = NotificationFailed {
            order_id: sample_order_id(),
            kind: NotificationKind::OrderReceived,
            recipient: "a:b@customers.orderflow.local".into(),
            reason: "the email cannot be built: invalid address".into(),
        }
        .into();
        let mut summaries = HashMap::new();
        for event in [sample_created(), failed] {
            super::project_order(&mut summaries, &stored(&event), &event);
        }
        let summary = &summaries[sample_order_id().as_str()];
        assert_eq!(summary.failures.len(), 1, "{summary:?}");
        assert!(
            summary.failures[0].contains("invalid address"),
            "{summary:?}"
        );
    }
}
