//! Shipping over a real (SQLite) store: a confirmed order is dispatched once, under a
//! tracking number of its own; and its consumer group and topics, the names operators
//! see and the topics it must read.

use std::sync::Arc;

use orderflow_core::codec::EventCodec;
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::InMemoryEventStore;
use orderflow_core::store::StreamQuery;
use orderflow_domain::OrderId;
use orderflow_domain::events::OrderConfirmed;

use super::*;
use crate::consumer::Delivery;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn shipping() -> Result<ShippingService, Box<dyn std::error::Error>> {
    let store = Arc::new(InMemoryEventStore::default());
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    Ok(ShippingService {
        recorder: Recorder::new(store, codec),
    })
}

/// The tracking numbers dispatched for `order_id`.
async fn dispatched(
    shipping: &ShippingService,
    order_id: &OrderId,
) -> Result<Vec<String>, ServiceError> {
    let stream = streams::shipment(order_id);
    let events = shipping.recorder.read(&stream, StreamQuery::all()).await?;
    Ok(events
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::ShipmentDispatched(d) => Some(d.tracking_number),
            _ => None,
        })
        .collect())
}

#[tokio::test]
async fn a_confirmed_order_is_dispatched_once_under_its_own_tracking_number() -> TestResult {
    let shipping = shipping().await?;
    let delivery = Delivery {
        event_id: None,
        occurred_at: chrono::Utc::now(),
        origin: Default::default(),
    };
    let (one, two) = (OrderId::parse("order-1")?, OrderId::parse("order-2")?);
    for order_id in [&one, &one, &two] {
        let confirmed: Event = OrderConfirmed {
            order_id: order_id.clone(),
        }
        .into();
        shipping.handle(&confirmed, &delivery).await?;
    }
    let (first, second) = (
        dispatched(&shipping, &one).await?,
        dispatched(&shipping, &two).await?,
    );
    assert_eq!(first.len(), 1, "once, though confirmed twice: {first:?}");
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(first, second, "each order its own tracking number");
    Ok(())
}

#[tokio::test]
async fn shipping_reads_orders_as_the_shipping_group() -> TestResult {
    let shipping = shipping().await?;
    assert_eq!(shipping.group().name, "shipping");
    assert_eq!(shipping.group().topic_names(), ["orders"]);
    Ok(())
}
