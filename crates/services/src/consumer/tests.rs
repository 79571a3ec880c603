use std::sync::atomic::{AtomicUsize, Ordering};

use orderflow_core::bus::dead_letters::{self, DeadLetters, Filter};
use orderflow_core::bus::{EventBus, OutgoingRecord, StartFrom};
use orderflow_core::codec::{EventCodec, SCHEMA_FILES, frame};
use orderflow_core::registry::{InMemoryRegistry, RegistryError, SchemaRegistry};
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
    fn group(&self) -> Group {
        Group {
            name: "counter",
            topics: &[Topic::Orders],
        }
    }

    async fn handle(&self, _: &Event, _: &Delivery) -> Result<(), ServiceError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) == 0 {
            self.shutdown.cancel();
        }
        Ok(())
    }
}

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A bus in a temp dir, a codec, and an encoded `OrderCreated`.
struct Setup {
    _dir: tempfile::TempDir,
    bus: Arc<dyn EventBus>,
    codec: Arc<EventCodec>,
    order_created: Vec<u8>,
}

impl Setup {
    async fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let bus: Arc<dyn EventBus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db"))?);
        let codec = Arc::new(
            EventCodec::new(Arc::new(InMemoryRegistry::default()))
                .await?
                .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
        );
        let encoded = codec.encode_sealed(&sample_created()).await?;
        Ok(Self {
            _dir: dir,
            bus,
            codec,
            order_created: frame(encoded.schema_id, &encoded.payload),
        })
    }

    fn record(key: &str, value: Vec<u8>) -> OutgoingRecord {
        OutgoingRecord {
            topic: "orders".into(),
            key: key.into(),
            value,
            headers: vec![],
            timestamp: chrono::Utc::now(),
        }
    }

    /// Runs the consumer until the handler asks it to stop.
    async fn consume(&self, handler: &Arc<SlowCounter>) -> TestResult {
        let shutdown = handler.shutdown.clone();
        let consumer = run(
            self.bus.clone(),
            self.codec.clone(),
            handler.clone(),
            StartFrom::Earliest,
            shutdown,
        );
        stops(consumer).await??;
        Ok(())
    }
}

/// How long a consumer asked to stop may take: one that does not stop fails the test
/// instead of hanging it.
const STOPS_WITHIN: Duration = Duration::from_secs(30);

async fn stops<T>(consumer: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(STOPS_WITHIN, consumer)
        .await
        .map_err(|_| format!("the consumer did not stop within {STOPS_WITHIN:?}"))
}

#[tokio::test]
async fn shutdown_finishes_the_batch_in_flight_and_commits_it() -> TestResult {
    let setup = Setup::new().await?;
    let records = (0..20)
        .map(|i| Setup::record(&format!("order-{i}"), setup.order_created.clone()))
        .collect();
    setup.bus.publish(records).await?;

    let handler = Arc::new(SlowCounter::default());
    setup.consume(&handler).await?;

    assert_eq!(
        handler.seen.load(Ordering::SeqCst),
        20,
        "the whole batch was handled"
    );
    let groups = setup.bus.groups().await?;
    let counter = groups
        .iter()
        .find(|g| g.group == "counter")
        .ok_or("no group")?;
    assert_eq!(counter.total_lag(), 0, "and committed before stopping");
    Ok(())
}

#[tokio::test]
async fn an_unreadable_record_is_dead_lettered_with_its_reason() -> TestResult {
    let setup = Setup::new().await?;
    setup
        .bus
        .publish(vec![
            Setup::record("k", vec![0, 0, 0, 0, 99]),
            Setup::record("k", setup.order_created.clone()),
        ])
        .await?;
    let handler = Arc::new(SlowCounter::default());
    setup.consume(&handler).await?;
    assert_eq!(
        handler.seen.load(Ordering::SeqCst),
        1,
        "the good record after it was handled"
    );

    let mut dlq = setup
        .bus
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

/// A registry that is unreachable for its first `outages` schema lookups.
#[derive(Debug)]
struct FlakyRegistry {
    inner: InMemoryRegistry,
    outages: AtomicUsize,
}

#[async_trait]
impl SchemaRegistry for FlakyRegistry {
    async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        self.inner.register(subject, schema).await
    }

    async fn schema(&self, id: u32) -> Result<String, RegistryError> {
        let down = self
            .outages
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if down {
            return Err(RegistryError::Unavailable("registry is down".into()));
        }
        self.inner.schema(id).await
    }
}

#[tokio::test]
async fn a_record_waits_out_a_registry_outage_and_is_then_handled() -> TestResult {
    let setup = Setup::new().await?;
    let registry = Arc::new(FlakyRegistry {
        inner: InMemoryRegistry::default(),
        outages: AtomicUsize::new(0),
    });
    // The writer registers its schemas; the reader must look the writer's id up.
    let writer = EventCodec::new(registry.clone())
        .await?
        .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default()));
    let encoded = writer.encode_sealed(&sample_created()).await?;
    let schemas: Vec<(String, String)> = SCHEMA_FILES
        .iter()
        .map(|(event_type, text)| (event_type.to_string(), (*text).to_owned()))
        .collect();
    let reader = Arc::new(EventCodec::reader(registry.clone(), &schemas)?);
    registry.outages.store(3, Ordering::SeqCst);
    setup
        .bus
        .publish(vec![
            Setup::record("k", frame(encoded.schema_id, &encoded.payload)),
            Setup::record("k", frame(encoded.schema_id, &encoded.payload)),
        ])
        .await?;

    let handler = Arc::new(SlowCounter::default());
    let consumer = run(
        setup.bus.clone(),
        reader,
        handler.clone(),
        StartFrom::Earliest,
        handler.shutdown.clone(),
    );
    tokio::time::timeout(Duration::from_secs(60), consumer).await??;

    assert_eq!(registry.outages.load(Ordering::SeqCst), 0, "it did go down");
    assert_eq!(handler.seen.load(Ordering::SeqCst), 2, "both were handled");
    let mut dlq = setup
        .bus
        .subscribe("reader", &["orders.dlq"], StartFrom::Earliest)
        .await?;
    assert!(
        dlq.poll(10, Duration::from_millis(100)).await?.is_empty(),
        "nothing was dead-lettered"
    );
    Ok(())
}

/// Fails every record of key `bad` (for good, or for now), handles the others.
#[derive(Debug)]
struct FailsOneKey {
    transient: bool,
    handled: AtomicUsize,
    shutdown: CancellationToken,
}

#[async_trait]
impl Handler for FailsOneKey {
    fn group(&self) -> Group {
        Group {
            name: "picky",
            topics: &[Topic::Orders],
        }
    }

    async fn handle(&self, event: &Event, _: &Delivery) -> Result<(), ServiceError> {
        if let Event::OrderCreated(e) = event
            && e.customer_id.as_str() == "bad"
        {
            let reason = "550 mailbox unavailable".to_owned();
            return Err(ServiceError::Mail(if self.transient {
                orderflow_core::mail::MailError::Unavailable(reason)
            } else {
                orderflow_core::mail::MailError::Refused(reason)
            }));
        }
        if self.handled.fetch_add(1, Ordering::SeqCst) + 1 == 2 {
            self.shutdown.cancel();
        }
        Ok(())
    }
}

/// Publishes good, bad, good orders; consumes until both good ones are handled; returns
/// the bad one as it was set aside.
async fn set_aside(
    setup: &Setup,
    handler: Arc<FailsOneKey>,
    retry: Retry,
) -> Res<dead_letters::Parked> {
    let customer = |c: &str| -> Res<Vec<u8>> {
        let mut created = sample_created();
        if let Event::OrderCreated(e) = &mut created {
            e.customer_id = orderflow_domain::CustomerId::parse(c)?;
            e.shipping_address = None;
        }
        let encoded = setup.codec.encode(&created)?;
        Ok(frame(encoded.schema_id, &encoded.payload))
    };
    setup
        .bus
        .publish(vec![
            Setup::record("k1", customer("good")?),
            Setup::record("k2", customer("bad")?),
            Setup::record("k2", customer("good")?),
        ])
        .await?;
    let shutdown = handler.shutdown.clone();
    stops(run_with(
        setup.bus.clone(),
        setup.codec.clone(),
        handler,
        StartFrom::Earliest,
        retry,
        shutdown,
    ))
    .await??;
    let mut dlq = setup
        .bus
        .subscribe("reader", &["orders.dlq"], StartFrom::Earliest)
        .await?;
    let letters = dlq.poll(10, Duration::from_secs(5)).await?;
    assert_eq!(
        letters.len(),
        1,
        "the bad record, and only it, is set aside"
    );
    let parked = DeadLetters::new(setup.bus.clone())
        .list(&Filter::default())
        .await?;
    Ok(parked.into_iter().next().ok_or("not listed")?)
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::test]
async fn a_record_that_fails_for_good_is_set_aside_and_the_same_key_goes_on() -> TestResult {
    let setup = Setup::new().await?;
    let handler = Arc::new(FailsOneKey {
        transient: false,
        handled: AtomicUsize::new(0),
        shutdown: CancellationToken::new(),
    });
    let parked = set_aside(&setup, handler, Retry::default()).await?;
    let reason = &parked.reason;
    assert!(
        reason.contains("refused") && reason.contains("550"),
        "{reason}"
    );
    assert_eq!(parked.kind.as_deref(), Some("permanent"));
    assert_eq!(parked.attempts, Some(1), "never tried again");
    assert_eq!(parked.first_failure, parked.last_failure);
    Ok(())
}

#[tokio::test]
async fn a_record_that_keeps_failing_for_now_is_set_aside_once_retries_run_out() -> TestResult {
    let setup = Setup::new().await?;
    let handler = Arc::new(FailsOneKey {
        transient: true,
        handled: AtomicUsize::new(0),
        shutdown: CancellationToken::new(),
    });
    let retry = Retry {
        give_up_after: Duration::from_millis(300),
    };
    let parked = set_aside(&setup, handler, retry).await?;
    let reason = &parked.reason;
    assert!(
        reason.contains("gave up after") && reason.contains("unavailable"),
        "{reason}"
    );
    assert_eq!(parked.kind.as_deref(), Some("transient"));
    assert!(
        parked.attempts > Some(1),
        "tried again: {:?}",
        parked.attempts
    );
    assert!(parked.first_failure < parked.last_failure, "{parked:?}");
    Ok(())
}

/// Fails with damaged storage on the first record.
#[derive(Debug, Default)]
struct OnDamagedStorage {
    seen: AtomicUsize,
}

#[async_trait]
impl Handler for OnDamagedStorage {
    fn group(&self) -> Group {
        Group {
            name: "damaged",
            topics: &[Topic::Orders],
        }
    }

    async fn handle(&self, _: &Event, _: &Delivery) -> Result<(), ServiceError> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        Err(ServiceError::Store(
            orderflow_core::store::StoreError::Corrupt("database disk image is malformed".into()),
        ))
    }
}

#[tokio::test]
async fn damaged_storage_stops_the_consumer_with_the_error_instead_of_retrying() -> TestResult {
    let setup = Setup::new().await?;
    setup
        .bus
        .publish(vec![
            Setup::record("k", setup.order_created.clone()),
            Setup::record("k", setup.order_created.clone()),
        ])
        .await?;
    let handler = Arc::new(OnDamagedStorage::default());
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        run(
            setup.bus.clone(),
            setup.codec.clone(),
            handler.clone(),
            StartFrom::Earliest,
            CancellationToken::new(),
        ),
    )
    .await?;
    let err = outcome.err().ok_or("the consumer went on")?;
    assert!(err.is_fatal(), "{err}");
    assert_eq!(
        handler.seen.load(Ordering::SeqCst),
        1,
        "no retry, no next record"
    );
    let groups = setup.bus.groups().await?;
    let lag = groups
        .iter()
        .find(|g| g.group == "damaged")
        .map_or(2, |g| g.total_lag());
    assert_eq!(
        lag, 2,
        "nothing committed: the records wait for a repaired store"
    );
    Ok(())
}

mod backfill;
mod in_partition_order;
mod parked;
mod replayed;
mod stuck_key;
mod unreadable;
