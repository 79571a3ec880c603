use std::sync::Mutex;

use async_trait::async_trait;
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::{Appended, InMemoryEventStore};
use orderflow_domain::Money;
use orderflow_domain::events::PaymentReceived;
use orderflow_domain::order::Order;
use orderflow_domain::testing::{sample_created, sample_order_id};

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A store that notes each correlated read (which kind, how many events it returned)
/// and, if asked, answers a read since a position with every event, as an adapter
/// whose positions can become visible out of order does.
#[derive(Debug)]
struct Watched {
    inner: InMemoryEventStore,
    answers_since_with_everything: bool,
    reads: Mutex<Vec<(&'static str, usize)>>,
}

impl Watched {
    fn noted(&self, kind: &'static str, events: Vec<StoredEvent>) -> Vec<StoredEvent> {
        self.reads.lock().unwrap().push((kind, events.len()));
        events
    }

    fn reads(&self) -> Vec<(&'static str, usize)> {
        std::mem::take(&mut *self.reads.lock().unwrap())
    }
}

#[async_trait]
impl EventStore for Watched {
    async fn append(&self, requests: Vec<AppendRequest>) -> Result<Vec<Appended>, StoreError> {
        self.inner.append(requests).await
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_stream(stream_id, query).await
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_all(after, limit).await
    }

    async fn read_correlated(&self, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.noted("whole", self.inner.read_correlated(id).await?))
    }

    async fn read_correlated_since(
        &self,
        id: &str,
        seen: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let events = if self.answers_since_with_everything {
            self.inner.read_correlated(id).await?
        } else {
            self.inner.read_correlated_since(id, seen).await?
        };
        Ok(self.noted("since", events))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        self.inner.head_position().await
    }
}

async fn recorder_over(
    answers_since_with_everything: bool,
) -> Result<(Recorder, Arc<Watched>), Box<dyn std::error::Error>> {
    let store = Arc::new(Watched {
        inner: InMemoryEventStore::default(),
        answers_since_with_everything,
        reads: Mutex::default(),
    });
    let codec = Arc::new(
        EventCodec::new(Arc::new(InMemoryRegistry::default()))
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    Ok((Recorder::new(store.clone(), codec), store))
}

fn cause() -> Cause<'static> {
    Cause {
        causation_id: None,
        actor: "test",
        now: Utc::now(),
    }
}

fn paid() -> Event {
    PaymentReceived {
        order_id: sample_order_id(),
        amount: Money::from_major(39.98).expect("valid amount"),
        transaction_id: "tx-1".into(),
    }
    .into()
}

fn positions(read: &Correlated) -> Vec<u64> {
    read.events().iter().map(|e| e.0.position).collect()
}

#[tokio::test]
async fn an_order_read_before_is_read_again_only_from_where_that_read_ended() -> TestResult {
    let (recorder, store) = recorder_over(false).await?;
    let order = sample_order_id();
    let created = recorder
        .append(
            &streams::order(&order),
            ExpectedVersion::NoStream,
            &[sample_created()],
            cause(),
        )
        .await?;
    let first = recorder.read_correlated(order.as_str()).await?;
    assert_eq!(store.reads(), [("whole", 1)]);

    let payment = recorder
        .append(
            &streams::payment(&order),
            ExpectedVersion::NoStream,
            &[paid()],
            cause(),
        )
        .await?;
    let second = recorder.read_correlated(order.as_str()).await?;
    assert_eq!(store.reads(), [("since", 1)], "only the new event is read");
    assert_eq!(positions(&first), [created]);
    assert_eq!(positions(&second), [created, payment]);
    assert_eq!(second.events()[1].1, paid());
    assert_eq!(second.load::<Order>(&streams::order(&order)).version, 1);

    let third = recorder.read_correlated(order.as_str()).await?;
    assert_eq!(store.reads(), [("since", 0)]);
    assert_eq!(positions(&third), [created, payment]);
    Ok(())
}

#[tokio::test]
async fn events_a_store_returns_again_are_merged_by_position_without_duplicates() -> TestResult {
    let (recorder, store) = recorder_over(true).await?;
    let order = sample_order_id();
    let created = recorder
        .append(
            &streams::order(&order),
            ExpectedVersion::NoStream,
            &[sample_created()],
            cause(),
        )
        .await?;
    recorder.read_correlated(order.as_str()).await?;
    let payment = recorder
        .append(
            &streams::payment(&order),
            ExpectedVersion::NoStream,
            &[paid()],
            cause(),
        )
        .await?;

    let read = recorder.read_correlated(order.as_str()).await?;
    assert_eq!(store.reads(), [("whole", 1), ("since", 2)]);
    assert_eq!(positions(&read), [created, payment]);
    Ok(())
}
