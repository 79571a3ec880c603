use std::sync::atomic::{AtomicUsize, Ordering};

use orderflow_core::bus::{EventBus, OutgoingRecord, StartFrom};
use orderflow_core::codec::{EventCodec, frame};
use orderflow_core::registry::InMemoryRegistry;
use orderflow_domain::testing::sample_created;
use orderflow_sqlite::SqliteBus;

use super::*;

/// Counts events; the first one waits until shutdown has been asked for, so shutdown
/// lands while a batch is in flight.
#[derive(Debug, Default)]
struct SlowCounter {
    seen: AtomicUsize,
    shutdown: CancellationToken,
}

#[async_trait]
impl Handler for SlowCounter {
    fn group(&self) -> &'static str {
        "counter"
    }

    fn topics(&self) -> &'static [&'static str] {
        &["orders"]
    }

    async fn handle(&self, _: &Event, _: &Delivery) -> Result<(), ServiceError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) == 0 {
            self.shutdown.cancel();
        }
        Ok(())
    }
}

#[tokio::test]
async fn shutdown_finishes_the_batch_in_flight_and_commits_it()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bus: Arc<dyn EventBus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db"))?);
    let codec = Arc::new(EventCodec::new(Arc::new(InMemoryRegistry::default())).await?);
    let encoded = codec.encode(&sample_created())?;
    let records = (0..20)
        .map(|i| OutgoingRecord {
            topic: "orders".into(),
            key: format!("order-{i}"),
            value: frame(encoded.schema_id, &encoded.payload),
            headers: vec![],
            timestamp: chrono::Utc::now(),
        })
        .collect();
    bus.publish(records).await?;

    let handler = Arc::new(SlowCounter::default());
    let shutdown = handler.shutdown.clone();
    run(
        bus.clone(),
        codec,
        handler.clone(),
        StartFrom::Earliest,
        shutdown,
    )
    .await?;

    assert_eq!(
        handler.seen.load(Ordering::SeqCst),
        20,
        "the whole batch was handled"
    );
    let groups = bus.groups().await?;
    let counter = groups
        .iter()
        .find(|g| g.group == "counter")
        .ok_or("no group")?;
    assert_eq!(counter.total_lag(), 0, "and committed before stopping");
    Ok(())
}

#[tokio::test]
async fn an_unreadable_record_is_dead_lettered_with_its_reason()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bus: Arc<dyn EventBus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db"))?);
    let codec = Arc::new(EventCodec::new(Arc::new(InMemoryRegistry::default())).await?);
    let encoded = codec.encode(&sample_created())?;
    let record = |value: Vec<u8>| OutgoingRecord {
        topic: "orders".into(),
        key: "k".into(),
        value,
        headers: vec![],
        timestamp: chrono::Utc::now(),
    };
    bus.publish(vec![
        record(vec![0, 0, 0, 0, 99]),
        record(frame(encoded.schema_id, &encoded.payload)),
    ])
    .await?;
    let handler = Arc::new(SlowCounter::default());
    let shutdown = handler.shutdown.clone();
    run(
        bus.clone(),
        codec,
        handler.clone(),
        StartFrom::Earliest,
        shutdown,
    )
    .await?;
    assert_eq!(
        handler.seen.load(Ordering::SeqCst),
        1,
        "the good record after it was handled"
    );

    let mut dlq = bus
        .subscribe("reader", &["orders.dlq"], StartFrom::Earliest)
        .await?;
    let letters = dlq.poll(10, Duration::from_secs(5)).await?;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].value, [0, 0, 0, 0, 99]);
    let reason =
        String::from_utf8_lossy(letters[0].header(headers::ERROR).ok_or("no reason")?).into_owned();
    assert!(reason.contains("unknown schema id 99"), "{reason}");
    assert_eq!(letters[0].header(headers::ORIGINAL_OFFSET), Some(&b"0"[..]));
    Ok(())
}
