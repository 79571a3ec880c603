//! The consumer loop on Kafka: a record that cannot be decoded is set aside on
//! `<topic>.dlq` with the reason in its headers, and consumption goes on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use orderflow_core::bus::{EventBus, OutgoingRecord, StartFrom};
use orderflow_core::codec::{EventCodec, frame};
use orderflow_core::registry::InMemoryRegistry;
use orderflow_domain::testing::sample_created;
use orderflow_domain::{Event, Topic};
use orderflow_services::consumer::{self, Delivery, Group, Handler, headers};
use orderflow_services::context::ServiceError;
use tokio_util::sync::CancellationToken;

/// Counts events and asks for shutdown after the first.
#[derive(Debug, Default)]
struct StopAfterOne {
    seen: AtomicUsize,
    shutdown: CancellationToken,
}

#[async_trait::async_trait]
impl Handler for StopAfterOne {
    fn group(&self) -> Group {
        Group {
            name: "counter",
            topics: &[Topic::Orders],
        }
    }

    async fn handle(&self, _: &Event, _: &Delivery) -> Result<(), ServiceError> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        self.shutdown.cancel();
        Ok(())
    }
}

fn record(value: Vec<u8>) -> OutgoingRecord {
    OutgoingRecord {
        topic: "orders".into(),
        key: "k".into(),
        value,
        headers: vec![],
        timestamp: chrono::Utc::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_on_kafka_is_dead_lettered_and_consumption_goes_on()
-> Result<(), Box<dyn std::error::Error>> {
    let (bus, _topics) = crate::support::isolated_bus().await;
    let bus: Arc<dyn EventBus> = Arc::new(bus);
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let good = codec.encode_sealed(&sample_created()).await?;
    bus.publish(vec![
        record(vec![0, 0, 0, 0, 99]),
        record(frame(good.schema_id, &good.payload)),
    ])
    .await?;

    let handler = Arc::new(StopAfterOne::default());
    let run = consumer::run(
        bus.clone(),
        codec,
        handler.clone(),
        StartFrom::Earliest,
        handler.shutdown.clone(),
    );
    tokio::time::timeout(Duration::from_secs(60), run).await??;
    assert_eq!(
        handler.seen.load(Ordering::SeqCst),
        1,
        "the good record was handled"
    );

    let mut dlq = bus
        .subscribe("reader", &["orders.dlq"], StartFrom::Earliest)
        .await?;
    let mut letters = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while letters.is_empty() && tokio::time::Instant::now() < deadline {
        letters = dlq.poll(10, Duration::from_millis(200)).await?;
    }
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].value, [0, 0, 0, 0, 99]);
    let reason =
        String::from_utf8_lossy(letters[0].header(headers::ERROR).ok_or("no reason")?).into_owned();
    assert!(reason.contains("unknown schema id 99"), "{reason}");
    assert_eq!(letters[0].header(headers::ORIGINAL_OFFSET), Some(&b"0"[..]));
    Ok(())
}
