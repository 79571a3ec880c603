//! The handler hears of each record of its that is set aside, with where it was read.

use super::*;

/// Refuses the events of customer `bad` for good, or for now; keeps what it hears of
/// the records set aside.
#[derive(Debug, Default)]
struct Refuses {
    transient: bool,
    parked: Mutex<Vec<(String, &'static str, String, u64)>>,
}

#[async_trait]
impl Handler for Refuses {
    fn group(&self) -> Group {
        Group {
            name: "refuses",
            topics: &[Topic::Orders],
        }
    }

    async fn handle(&self, event: &Event, _: &Delivery) -> Result<(), ServiceError> {
        match event {
            Event::OrderCreated(e) if e.customer_id.as_str() == "bad" => {
                let reason = "card blocked".to_owned();
                Err(ServiceError::Payment(if self.transient {
                    orderflow_core::payment::ProviderError::Unavailable(reason)
                } else {
                    orderflow_core::payment::ProviderError::Refused(reason)
                }))
            }
            _ => Ok(()),
        }
    }

    async fn parked(&self, parked: &Parked<'_>) -> Result<(), ServiceError> {
        let heard = (
            parked.reason.to_owned(),
            parked.event.type_name(),
            parked.delivery.origin.topic.clone(),
            parked.delivery.origin.offset,
        );
        self.parked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(heard);
        Ok(())
    }
}

/// Publishes an unreadable record, then a bad and a good order under one key; consumes
/// until both orders are past; returns what the handler heard.
async fn parked_records(
    handler: Arc<Refuses>,
    retry: Retry,
) -> Res<Vec<(String, &'static str, String, u64)>> {
    let setup = Setup::new().await?;
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
            Setup::record("k", vec![0, 0, 0, 0, 99]),
            Setup::record("k", customer("bad")?),
            Setup::record("k", customer("good")?),
        ])
        .await?;
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(run_with(
        setup.bus.clone(),
        setup.codec.clone(),
        handler.clone(),
        StartFrom::Earliest,
        retry,
        shutdown.clone(),
    ));
    let deadline = tokio::time::Instant::now() + STOPS_WITHIN;
    while setup
        .bus
        .groups()
        .await?
        .iter()
        .find(|g| g.group == "refuses")
        .is_none_or(|g| g.total_lag() > 0)
    {
        if tokio::time::Instant::now() > deadline {
            return Err("the records were not all committed".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    stops(consumer).await???;
    let heard = handler.parked.lock().map_err(|e| e.to_string())?.clone();
    Ok(heard)
}

#[tokio::test]
async fn a_record_refused_for_good_is_told_to_its_handler_with_its_origin() -> TestResult {
    let heard = parked_records(Arc::new(Refuses::default()), Retry::default()).await?;
    assert_eq!(
        heard.len(),
        1,
        "the refused order only, not the unreadable record"
    );
    let (reason, event_type, topic, offset) = &heard[0];
    assert!(reason.contains("card blocked"), "{reason}");
    assert_eq!(
        (*event_type, topic.as_str(), *offset),
        ("OrderCreated", "orders", 1)
    );
    Ok(())
}

#[tokio::test]
async fn a_record_given_up_on_is_told_to_its_handler_too() -> TestResult {
    let handler = Arc::new(Refuses {
        transient: true,
        ..Refuses::default()
    });
    let retry = Retry {
        give_up_after: Duration::from_millis(200),
    };
    let heard = parked_records(handler, retry).await?;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0].0.contains("gave up after"), "{}", heard[0].0);
    assert_eq!(heard[0].3, 1);
    Ok(())
}

#[tokio::test]
async fn records_set_aside_errors_and_retries_are_counted_by_group_and_topic() -> TestResult {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let handler = Arc::new(Refuses {
        transient: true,
        ..Refuses::default()
    });
    let retry = Retry {
        give_up_after: Duration::from_millis(200),
    };
    parked_records(handler, retry).await?;
    // A snapshot drains the recorder: one for every count.
    let taken = snapshotter.snapshot().into_vec();
    let counter = |name: &str, kind: Option<&str>| {
        taken
            .iter()
            .filter(|(key, ..)| {
                let labels: Vec<_> = key.key().labels().map(|l| (l.key(), l.value())).collect();
                key.key().name() == name
                    && labels.contains(&("group", "refuses"))
                    && labels.contains(&("topic", "orders"))
                    && kind.is_none_or(|k| labels.contains(&("kind", k)))
            })
            .map(|(.., value)| match value {
                DebugValue::Counter(n) => *n,
                _ => 0,
            })
            .sum::<u64>()
    };
    use crate::metrics::{HANDLER_ERRORS, RECORDS_HANDLED, RECORDS_PARKED, RETRIES};
    // The unreadable record and the order given up on.
    assert_eq!(counter(RECORDS_PARKED, None), 2);
    assert_eq!(counter(RECORDS_HANDLED, None), 1, "the good order");
    let transient = counter(HANDLER_ERRORS, Some("transient"));
    assert!(transient >= 2, "{transient} transient errors");
    assert_eq!(
        counter(RETRIES, None),
        transient - 1,
        "each failure but the last is tried again"
    );
    Ok(())
}
