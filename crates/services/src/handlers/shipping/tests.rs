//! Shipping's consumer group and topics: the names operators see and the topics it
//! must read.

use std::sync::Arc;

use orderflow_core::codec::EventCodec;
use orderflow_core::registry::InMemoryRegistry;
use orderflow_sqlite::SqliteEventStore;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn shipping_reads_orders_as_the_shipping_group() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteEventStore::open(&dir.path().join("events.db"))?);
    let codec = Arc::new(EventCodec::new(Arc::new(InMemoryRegistry::default())).await?);
    let shipping = ShippingService {
        recorder: Recorder::new(store, codec),
    };
    assert_eq!(shipping.group(), "shipping");
    assert_eq!(shipping.topics(), ["orders"]);
    Ok(())
}
