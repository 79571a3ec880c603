use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Utc;
use orderflow_core::bus::{BusError, GroupLag, Offset, StartFrom, Subscription};
use orderflow_core::store::{
    AppendRequest, ExpectedVersion, InMemoryEventStore, NewEvent, StoreError,
};
use orderflow_sqlite::SqliteBus;
use tokio::sync::watch;
use uuid::Uuid;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// What the relay did, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Published records up to this global position.
    Published(u64),
    Flushed,
    Saved(u64),
}

#[derive(Debug, Clone, Default)]
struct Log(Arc<Mutex<Vec<Step>>>);

impl Log {
    fn push(&self, step: Step) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(step);
    }

    fn steps(&self) -> Vec<Step> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The embedded bus, logging publishes and flushes, and telling how far it published.
#[derive(Debug)]
struct LoggedBus {
    inner: SqliteBus,
    log: Log,
    published: watch::Sender<u64>,
}

#[async_trait]
impl EventBus for LoggedBus {
    async fn publish(&self, records: Vec<OutgoingRecord>) -> Result<(), BusError> {
        let last = records
            .iter()
            .filter_map(|r| r.headers.iter().find(|(k, _)| k == headers::POSITION))
            .filter_map(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
            .max()
            .unwrap_or(0);
        self.inner.publish(records).await?;
        self.log.push(Step::Published(last));
        self.published.send_replace(last);
        Ok(())
    }

    async fn flush(&self) -> Result<(), BusError> {
        self.inner.flush().await?;
        self.log.push(Step::Flushed);
        Ok(())
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[&str],
        start: StartFrom,
    ) -> Result<Box<dyn Subscription>, BusError> {
        self.inner.subscribe(group, topics, start).await
    }

    async fn groups(&self) -> Result<Vec<GroupLag>, BusError> {
        self.inner.groups().await
    }

    async fn end_offsets(&self, topic: &str) -> Result<Vec<(u32, u64)>, BusError> {
        self.inner.end_offsets(topic).await
    }

    async fn reset_offsets(
        &self,
        group: &str,
        topics: &[&str],
        to: StartFrom,
    ) -> Result<Vec<Offset>, BusError> {
        self.inner.reset_offsets(group, topics, to).await
    }
}

/// The store's checkpoints, logging saves and telling the last one.
#[derive(Debug)]
struct LoggedCheckpoints {
    inner: Arc<InMemoryEventStore>,
    log: Log,
    saved: watch::Sender<u64>,
}

#[async_trait]
impl Checkpoints for LoggedCheckpoints {
    async fn load(&self, name: &str) -> Result<Option<u64>, StoreError> {
        self.inner.load(name).await
    }

    async fn save(&self, name: &str, position: u64) -> Result<(), StoreError> {
        self.inner.save(name, position).await?;
        if name == CHECKPOINT {
            self.log.push(Step::Saved(position));
            self.saved.send_replace(position);
        }
        Ok(())
    }
}

fn order_created(stream: &str) -> AppendRequest {
    AppendRequest {
        stream_id: stream.into(),
        expected: ExpectedVersion::NoStream,
        events: vec![NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "OrderCreated".into(),
            schema_id: 1,
            payload: vec![0],
            occurred_at: Utc::now(),
            correlation_id: stream.into(),
            causation_id: None,
            actor: "test".into(),
            trace_context: None,
        }],
    }
}

/// Replays the log: a checkpoint may only name records published before a flush.
fn saves_beyond_a_flush(steps: &[Step]) -> Vec<u64> {
    let (mut published, mut flushed, mut unsafe_saves) = (0, 0, Vec::new());
    for step in steps {
        match *step {
            Step::Published(p) => published = published.max(p),
            Step::Flushed => flushed = published,
            Step::Saved(p) if p > flushed => unsafe_saves.push(p),
            Step::Saved(_) => {}
        }
    }
    unsafe_saves
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_saves_its_checkpoint_only_for_records_the_bus_has_flushed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(InMemoryEventStore::default());
    let log = Log::default();
    let (published, mut relayed) = watch::channel(0);
    let bus = Arc::new(LoggedBus {
        inner: SqliteBus::open(&dir.path().join("bus.db"))?,
        log: log.clone(),
        published,
    });
    let (saved, mut checkpointed) = watch::channel(0);
    let checkpoints = Arc::new(LoggedCheckpoints {
        inner: store.clone(),
        log: log.clone(),
        saved,
    });
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(run(store.clone(), checkpoints, bus, shutdown.clone()));

    // A checkpoint saved while the relay runs, then one on its way out.
    let append_three = |round: usize| {
        let store = store.clone();
        async move {
            let mut head = 0;
            for i in 0..3 {
                let stream = format!("order-{round}-{i}");
                head = store.append(vec![order_created(&stream)]).await?[0].position;
            }
            Ok::<_, StoreError>(head)
        }
    };
    let first = append_three(0).await?;
    // Bounded, so that a relay that never saves fails the test instead of hanging it.
    let bound = std::time::Duration::from_secs(10);
    tokio::time::timeout(bound, checkpointed.wait_for(|p| *p >= first)).await??;
    let head = append_three(1).await?;
    tokio::time::timeout(bound, relayed.wait_for(|p| *p >= head)).await??;
    shutdown.cancel();
    relay.await??;

    let steps = log.steps();
    assert!(steps.contains(&Step::Saved(head)), "{steps:?}");
    assert_eq!(saves_beyond_a_flush(&steps), Vec::<u64>::new(), "{steps:?}");
    Ok(())
}

/// Runs the relay over `bus` until it has published up to `head`, then stops it.
async fn relay_until(
    store: &Arc<InMemoryEventStore>,
    bus: Arc<dyn EventBus>,
    head: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let shutdown = CancellationToken::new();
    let (saved, mut checkpointed) = watch::channel(0);
    let checkpoints = Arc::new(LoggedCheckpoints {
        inner: store.clone(),
        log: Log::default(),
        saved,
    });
    let relay = tokio::spawn(run(store.clone(), checkpoints, bus, shutdown.clone()));
    let bound = std::time::Duration::from_secs(10);
    tokio::time::timeout(bound, checkpointed.wait_for(|p| *p >= head)).await??;
    shutdown.cancel();
    relay.await??;
    Ok(())
}

async fn records_on(bus: &SqliteBus) -> Result<u64, BusError> {
    Ok(bus
        .end_offsets("orders")
        .await?
        .iter()
        .map(|(_, end)| end)
        .sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_that_lost_its_file_gets_the_whole_store_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(InMemoryEventStore::default());
    let mut head = 0;
    for i in 0..3 {
        head = store
            .append(vec![order_created(&format!("order-{i}"))])
            .await?[0]
            .position;
    }
    let bus_path = dir.path().join("bus.db");
    relay_until(&store, Arc::new(SqliteBus::open(&bus_path)?), head).await?;
    assert_eq!(records_on(&SqliteBus::open(&bus_path)?).await?, 3);

    // The bus file is lost; the relay's checkpoint (in the store) still says 3.
    for entry in std::fs::read_dir(dir.path())? {
        let path = entry?.path();
        if path.to_string_lossy().contains("bus.db") {
            std::fs::remove_file(path)?;
        }
    }
    let fresh = Arc::new(SqliteBus::open(&bus_path)?);
    head = store.append(vec![order_created("order-3")]).await?[0].position;
    relay_until(&store, fresh.clone(), head).await?;
    assert_eq!(
        records_on(&fresh).await?,
        4,
        "every stored event is on the new bus"
    );

    // The same bus again: the relay goes on from its checkpoint.
    let start = same_bus_or_start_over(fresh.as_ref(), store.as_ref(), head).await?;
    assert_eq!(start, head);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_restored_from_an_older_copy_gets_the_rest_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(InMemoryEventStore::default());
    let bus_path = dir.path().join("bus.db");
    let mut head = 0;
    for i in 0..3 {
        head = store
            .append(vec![order_created(&format!("order-{i}"))])
            .await?[0]
            .position;
    }
    relay_until(&store, Arc::new(SqliteBus::open(&bus_path)?), head).await?;
    let files = ["bus.db", "bus.db-wal", "bus.db-shm"];
    let backup = tempfile::tempdir()?;
    for name in files {
        if dir.path().join(name).exists() {
            std::fs::copy(dir.path().join(name), backup.path().join(name))?;
        }
    }
    for i in 3..5 {
        head = store
            .append(vec![order_created(&format!("order-{i}"))])
            .await?[0]
            .position;
    }
    relay_until(&store, Arc::new(SqliteBus::open(&bus_path)?), head).await?;

    // The bus comes back from the older copy: same identity, two records short.
    for name in files {
        let _ = std::fs::remove_file(dir.path().join(name));
        if backup.path().join(name).exists() {
            std::fs::copy(backup.path().join(name), dir.path().join(name))?;
        }
    }
    let restored = SqliteBus::open(&bus_path)?;
    assert_eq!(records_on(&restored).await?, 3);
    assert_eq!(restored.published_up_to().await?, Some(3));
    drop(restored);
    let start = same_bus_or_start_over(&SqliteBus::open(&bus_path)?, store.as_ref(), head).await?;
    assert_eq!(start, 3, "the relay goes back to what the bus holds");
    let bus = Arc::new(SqliteBus::open(&bus_path)?);
    relay_until(&store, bus.clone(), head).await?;
    assert_eq!(records_on(&bus).await?, 5);
    Ok(())
}

fn stored(event_type: &str) -> StoredEvent {
    StoredEvent {
        position: 1,
        stream_id: "order-1".into(),
        version: 1,
        recorded_at: Utc::now(),
        event_id: Uuid::now_v7(),
        event_type: event_type.into(),
        schema_id: 1,
        payload: vec![0],
        occurred_at: Utc::now(),
        correlation_id: "order-1".into(),
        causation_id: None,
        actor: "test".into(),
        trace_context: None,
    }
}

#[test]
fn each_stored_event_is_published_on_the_topic_of_its_type() -> TestResult {
    use orderflow_domain::{EventType, topic_of_type};
    for event_type in EventType::ALL {
        let record = to_record(&stored(event_type.name()))?;
        assert_eq!(
            record.topic,
            topic_of_type(*event_type).name(),
            "{event_type}"
        );
    }
    assert_eq!(to_record(&stored("OrderPlaced"))?.topic, "orders");
    Ok(())
}

#[test]
fn an_event_of_a_type_this_build_does_not_know_is_not_published_anywhere() {
    let refused = to_record(&stored("RefundIssued"));
    assert!(
        matches!(refused, Err(ServiceError::Codec(CodecError::UnknownType { ref name, .. })) if name == "RefundIssued"),
        "{refused:?}"
    );
}

#[test]
fn a_record_carries_its_events_trace_context_in_a_traceparent_header() -> TestResult {
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let traced = StoredEvent {
        trace_context: Some(traceparent.into()),
        ..stored("OrderPlaced")
    };
    let header = |record: &OutgoingRecord| {
        let found = record
            .headers
            .iter()
            .find(|(name, _)| name == "traceparent");
        found.map(|(_, value)| value.clone())
    };
    assert_eq!(
        header(&to_record(&traced)?),
        Some(traceparent.as_bytes().to_vec())
    );
    assert_eq!(header(&to_record(&stored("OrderPlaced"))?), None);
    Ok(())
}
