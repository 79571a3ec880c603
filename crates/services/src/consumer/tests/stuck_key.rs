//! One key whose record keeps failing for now holds back that key alone.

use std::sync::atomic::AtomicBool;

use orderflow_core::bus::GroupLag;
use orderflow_domain::{CustomerId, DomainError, OrderId};

use super::*;

/// Fails every record of customer `stuck` for now until released; records the customer
/// (the record's key) and order (its place among the key's records) of the others.
#[derive(Debug, Default)]
struct StuckUntilReleased {
    released: AtomicBool,
    attempts: AtomicUsize,
    handled: Mutex<Vec<(String, u64)>>,
}

impl StuckUntilReleased {
    fn handled(&self) -> Vec<(String, u64)> {
        self.handled
            .lock()
            .map_or_else(|e| e.into_inner().clone(), |h| h.clone())
    }

    fn handled_of(&self, key: &str) -> Vec<u64> {
        let handled = self.handled();
        handled
            .into_iter()
            .filter(|(k, _)| k == key)
            .map(|(_, n)| n)
            .collect()
    }
}

#[async_trait]
impl Handler for StuckUntilReleased {
    fn group(&self) -> Group {
        Group {
            name: "patient",
            topics: &[Topic::Orders],
        }
    }

    async fn handle(&self, event: &Event, _: &Delivery) -> Result<(), ServiceError> {
        let Event::OrderCreated(e) = event else {
            return Ok(());
        };
        let key = e.customer_id.as_str();
        if key == "stuck" && !self.released.load(Ordering::SeqCst) {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            return Err(ServiceError::Mail(
                orderflow_core::mail::MailError::Unavailable("connection refused".into()),
            ));
        }
        let n = e.order_id.as_str().trim_start_matches("o-");
        let n = n.parse().map_err(|_| DomainError::InvalidValue {
            what: "test order number",
            reason: n.to_owned(),
        })?;
        self.handled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((key.to_owned(), n));
        Ok(())
    }
}

/// How long a test waits for a condition before it fails.
const WITHIN: Duration = Duration::from_secs(60);

/// Waits until `condition` holds, failing after [`WITHIN`].
async fn until(what: &str, mut condition: impl AsyncFnMut() -> Res<bool>) -> TestResult {
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !condition().await? {
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{what}: not within {WITHIN:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn lag_of(bus: &Arc<dyn EventBus>, group: &str) -> Res<Option<GroupLag>> {
    Ok(bus.groups().await?.into_iter().find(|g| g.group == group))
}

const OTHER_KEYS: usize = 1000;
const RECORDS_PER_KEY: usize = 5;
/// Records of the stuck key behind its first.
const STUCK_LATER: usize = 10;

#[tokio::test]
async fn a_key_that_keeps_failing_for_now_holds_back_no_other_key() -> TestResult {
    let setup = Setup::new().await?;
    let order = |key: &str, n: usize| -> Res<OutgoingRecord> {
        let mut created = sample_created();
        if let Event::OrderCreated(e) = &mut created {
            e.customer_id = CustomerId::parse(key)?;
            e.shipping_address = None;
            e.order_id = OrderId::parse(format!("o-{n}"))?;
        }
        let encoded = setup.codec.encode(&created)?;
        Ok(Setup::record(
            key,
            frame(encoded.schema_id, &encoded.payload),
        ))
    };
    // The stuck key's first record comes first; its later ones are spread among
    // thousands of other keys' records, more than the consumer may hold at once.
    let others = OTHER_KEYS * RECORDS_PER_KEY;
    let mut records = vec![order("stuck", 0)?];
    let mut stuck_order = vec![0];
    for i in 0..others {
        records.push(order(&format!("k{}", i % OTHER_KEYS), i)?);
        if i % (others / STUCK_LATER) == 0 {
            let n = others + stuck_order.len();
            records.push(order("stuck", n)?);
            stuck_order.push(n);
        }
    }
    let stuck_order: Vec<u64> = stuck_order.into_iter().map(|n| n as u64).collect();
    assert!(
        others > MAX_BUFFERED,
        "more than the consumer holds at once"
    );
    setup.bus.publish(records).await?;

    let handler = Arc::new(StuckUntilReleased::default());
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(run(
        setup.bus.clone(),
        setup.codec.clone(),
        handler.clone(),
        StartFrom::Earliest,
        shutdown.clone(),
    ));

    until("every other key's records handled", async || {
        Ok(handler.handled().len() == others)
    })
    .await?;
    assert!(
        handler.handled_of("stuck").is_empty(),
        "the stuck key is still failing"
    );
    assert!(handler.attempts.load(Ordering::SeqCst) > 0);
    for k in ["k0", "k1", "k999"] {
        let seen = handler.handled_of(k);
        assert!(seen.is_sorted(), "{k}'s records in order: {seen:?}");
    }
    // Committed everywhere but in the stuck record's partition, there up to it.
    until("offsets committed up to the stuck record", async || {
        let Some(lag) = lag_of(&setup.bus, "patient").await? else {
            return Ok(false);
        };
        let behind: Vec<_> = lag.partitions.iter().filter(|p| p.lag > 0).collect();
        Ok(behind.len() == 1 && behind[0].committed == Some(0))
    })
    .await?;

    handler.released.store(true, Ordering::SeqCst);
    until("the stuck key's records handled", async || {
        Ok(handler.handled_of("stuck").len() == stuck_order.len())
    })
    .await?;
    assert_eq!(
        handler.handled_of("stuck"),
        stuck_order,
        "in the order they were published"
    );
    until("everything committed", async || {
        Ok(lag_of(&setup.bus, "patient")
            .await?
            .is_some_and(|g| g.total_lag() == 0))
    })
    .await?;
    shutdown.cancel();
    stops(consumer).await???;
    Ok(())
}
