//! A group that starts from the beginning after retention deleted the oldest records
//! gets their events from the event store first, then the retained records, each once.

use chrono::{DateTime, Utc};
use orderflow_core::store::{AppendRequest, ExpectedVersion, InMemoryEventStore, NewEvent};
use orderflow_domain::{OrderId, Personal};

use super::*;
use crate::relay::to_record;

/// Keeps the orders it is handed, in order, and whether each came from the store; stops
/// the consumer once it has `until` of them. Counts the addresses it was handed opened.
#[derive(Debug, Default)]
struct Collects {
    seen: Mutex<Vec<(String, bool)>>,
    opened: AtomicUsize,
    until: usize,
    shutdown: CancellationToken,
}

impl Collects {
    fn hear(&self, event: &Event, backfilled: bool) {
        let mut seen = lock(&self.seen);
        if let Event::OrderCreated(e) = event {
            seen.push((e.order_id.to_string(), backfilled));
            if !matches!(e.shipping_address, Some(Personal::Sealed(_))) {
                self.opened.fetch_add(1, Ordering::SeqCst);
            }
        }
        if seen.len() >= self.until {
            self.shutdown.cancel();
        }
    }
}

#[async_trait]
impl Handler for Collects {
    fn group(&self) -> Group {
        Group {
            name: "collects",
            topics: &[Topic::Orders],
        }
    }

    async fn handle(&self, event: &Event, _: &Delivery) -> Result<(), ServiceError> {
        self.hear(event, false);
        Ok(())
    }

    async fn backfill(&self, event: &Event, _: &Delivery) -> Result<(), ServiceError> {
        self.hear(event, true);
        Ok(())
    }
}

/// Records orders `ids` as created at `at`, and relays them to the bus.
async fn record_and_relay(
    store: &InMemoryEventStore,
    codec: &EventCodec,
    bus: &dyn EventBus,
    ids: std::ops::Range<usize>,
    at: DateTime<Utc>,
) -> TestResult {
    for i in ids {
        let mut event = sample_created();
        if let Event::OrderCreated(e) = &mut event {
            e.order_id = OrderId::parse(format!("order-{i}"))?;
        }
        let encoded = codec.encode_sealed(&event).await?;
        store
            .append(vec![AppendRequest {
                stream_id: format!("order-order-{i}"),
                expected: ExpectedVersion::NoStream,
                events: vec![NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: event.type_name().into(),
                    schema_id: encoded.schema_id,
                    payload: encoded.payload,
                    occurred_at: at,
                    correlation_id: format!("order-{i}"),
                    causation_id: None,
                    actor: "test".into(),
                    trace_context: None,
                }],
            }])
            .await?;
    }
    let head = store.head_position().await?;
    let all = store.read_all(0, head as usize).await?;
    let fresh: Vec<_> = all
        .iter()
        .filter(|e| e.occurred_at == at)
        .map(to_record)
        .collect::<Result<_, _>>()?;
    bus.publish(fresh).await?;
    Ok(())
}

#[tokio::test]
async fn a_group_starting_after_retention_gets_the_deleted_events_from_the_store_first()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let bus = SqliteBus::open_with(&dir.path().join("bus.db"), 12, Duration::from_secs(3600))?;
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let store = Arc::new(InMemoryEventStore::default());
    let two_hours_ago = Utc::now() - chrono::Duration::hours(2);
    record_and_relay(&store, &codec, &bus, 0..30, two_hours_ago).await?;
    assert_eq!(
        bus.enforce_retention().await?,
        30,
        "retention deletes them all"
    );
    record_and_relay(&store, &codec, &bus, 30..40, Utc::now()).await?;

    let handler = Arc::new(Collects {
        until: 40,
        ..Collects::default()
    });
    let bus: Arc<dyn EventBus> = Arc::new(bus);
    stops(run_from_history(
        bus.clone(),
        codec,
        handler.clone(),
        store,
        Retry::default(),
        handler.shutdown.clone(),
    ))
    .await??;

    let seen = lock(&handler.seen).clone();
    let from_store: Vec<&str> = seen.iter().filter(|s| s.1).map(|s| s.0.as_str()).collect();
    let from_bus: Vec<&str> = seen.iter().filter(|s| !s.1).map(|s| s.0.as_str()).collect();
    let expected = |range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|i| format!("order-{i}")).collect()
    };
    // The store's in its order, all before the bus's.
    assert_eq!(from_store, expected(0..30), "{seen:?}");
    assert!(seen[..30].iter().all(|s| s.1), "{seen:?}");
    let mut from_bus: Vec<String> = from_bus.into_iter().map(str::to_owned).collect();
    from_bus.sort_by_key(|id| id[6..].parse::<usize>().unwrap_or(0));
    assert_eq!(from_bus, expected(30..40));
    let groups = bus.groups().await?;
    let group = groups
        .iter()
        .find(|g| g.group == "collects")
        .ok_or("no group")?;
    assert_eq!(group.total_lag(), 0);
    // Need-to-know: the codec has the keys, but handlers get personal data sealed.
    assert_eq!(handler.opened.load(Ordering::SeqCst), 0);
    Ok(())
}
