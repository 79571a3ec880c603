use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::Utc;
use orderflow_core::codec::EventCodec;
use orderflow_core::registry::InMemoryRegistry;
use orderflow_core::store::{ExpectedVersion, InMemoryEventStore, StoreError, StreamQuery};
use orderflow_domain::events::{OrderCancelled, OrderConfirmed};
use orderflow_domain::order::Order;
use orderflow_domain::testing::{sample_created, sample_order_id};
use orderflow_domain::{Event, streams};

use super::*;
use crate::context::StreamAppend;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn cause() -> Cause<'static> {
    Cause {
        causation_id: None,
        actor: "test",
        now: Utc::now(),
    }
}

fn confirmed() -> Event {
    OrderConfirmed {
        order_id: sample_order_id(),
    }
    .into()
}

fn cancelled() -> Event {
    OrderCancelled {
        order_id: sample_order_id(),
        reason: "changed my mind".into(),
    }
    .into()
}

/// A recorder over an empty store, with the sample order created.
async fn recorder_with_an_order() -> Result<Recorder, Box<dyn std::error::Error>> {
    let codec = EventCodec::new(Arc::new(InMemoryRegistry::default()))
        .await?
        .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default()));
    let recorder = Recorder::new(Arc::new(InMemoryEventStore::default()), Arc::new(codec));
    let stream = streams::order(&sample_order_id());
    recorder
        .append(
            &stream,
            ExpectedVersion::NoStream,
            &[sample_created()],
            cause(),
        )
        .await?;
    Ok(recorder)
}

async fn order_stream(recorder: &Recorder) -> Result<Vec<Event>, ServiceError> {
    let stream = streams::order(&sample_order_id());
    let events = recorder.read(&stream, StreamQuery::all()).await?;
    Ok(events.into_iter().map(|(_, e)| e).collect())
}

/// Runs a command on the sample order whose decision always cancels it; `competes`
/// says, per attempt (counted from 0), whether another writer appends a confirmation
/// to the stream between the read and the append. Returns the outcome and the number
/// of attempts.
async fn cancel_against(
    recorder: &Recorder,
    competes: impl Fn(u32) -> bool,
) -> (Result<u64, ServiceError>, u32) {
    let attempts = AtomicU32::new(0);
    let order_id = sample_order_id();
    let stream = streams::order(&order_id);
    let outcome = recorder
        .execute(
            order_id.as_str(),
            &stream,
            cause(),
            |_: Loaded<Order>, _| {
                let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                let (recorder, stream) = (recorder, &stream);
                let competing = competes(attempt);
                async move {
                    if competing {
                        recorder
                            .append(stream, ExpectedVersion::Any, &[confirmed()], cause())
                            .await?;
                    }
                    Ok(vec![cancelled()])
                }
            },
        )
        .await;
    (outcome, attempts.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_command_that_lost_a_race_is_decided_again_on_a_fresh_read() -> TestResult {
    let recorder = recorder_with_an_order().await?;
    let (outcome, attempts) = cancel_against(&recorder, |attempt| attempt == 0).await;
    let position = outcome?;
    assert_eq!(attempts, 2, "decided once more after the conflict");
    assert_eq!(
        order_stream(&recorder).await?,
        [sample_created(), confirmed(), cancelled()],
        "the competing event is kept and the command appended after it"
    );
    assert_eq!(position, 3);
    Ok(())
}

#[tokio::test]
async fn a_command_that_keeps_losing_gives_up_after_its_retries_with_the_conflict() -> TestResult {
    let recorder = recorder_with_an_order().await?;
    let (outcome, attempts) = cancel_against(&recorder, |_| true).await;
    assert!(
        matches!(
            outcome,
            Err(ServiceError::Store(StoreError::WrongExpectedVersion { .. }))
        ),
        "{outcome:?}"
    );
    assert_eq!(attempts, CONFLICT_RETRIES + 1);
    assert!(!order_stream(&recorder).await?.contains(&cancelled()));
    Ok(())
}

#[tokio::test]
async fn a_command_with_nothing_to_do_appends_nothing_and_answers_the_stream_s_position()
-> TestResult {
    let recorder = recorder_with_an_order().await?;
    let order_id = sample_order_id();
    let stream = streams::order(&order_id);
    let position = recorder
        .execute(
            order_id.as_str(),
            &stream,
            cause(),
            |order: Loaded<Order>, _| async move {
                assert_eq!(
                    (order.version, order.expected()),
                    (1, ExpectedVersion::Exact(1))
                );
                Ok(vec![])
            },
        )
        .await?;
    assert_eq!(position, 1);
    assert_eq!(order_stream(&recorder).await?, [sample_created()]);
    Ok(())
}

#[tokio::test]
async fn an_event_listed_under_another_stream_is_refused() -> TestResult {
    let recorder = recorder_with_an_order().await?;
    let payment_stream = streams::payment(&sample_order_id());
    let refused = recorder
        .append(
            &payment_stream,
            ExpectedVersion::Any,
            &[cancelled()],
            cause(),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(ServiceError::WrongStream {
                event_type: "OrderCancelled",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(order_stream(&recorder).await?, [sample_created()]);
    Ok(())
}

#[test]
fn a_decision_with_an_event_for_a_stream_it_read_no_version_of_is_refused() {
    let payment_stream = streams::payment(&sample_order_id());
    let read = vec![(payment_stream, ExpectedVersion::NoStream)];
    let refused = StreamAppend::split(read, vec![cancelled()]);
    assert!(
        matches!(refused, Err(ServiceError::Unversioned { ref stream }) if *stream == streams::order(&sample_order_id())),
        "{refused:?}"
    );
}
