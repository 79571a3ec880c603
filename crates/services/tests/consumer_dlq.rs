//! Random records through a consumer on the embedded bus: random bytes, frames of
//! random bodies under registered and unknown schema ids, damaged encodings, and the
//! records that once aborted or strained the decoder (a writer schema nesting thousands
//! of levels, a record that contains itself, a declared length of 500 MB). Each record
//! that decodes is handled; each that does not is parked on `orders.dlq` with its
//! reason; the consumer goes on, every record is accounted for, and it all ends within
//! a generous bound (a stand-in for "never stalls").
//!
//! Deterministic: the records come from proptest strategies drawn with a fixed seed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_core::bus::{EventBus, OutgoingRecord, StartFrom};
use orderflow_core::codec::{EventCodec, frame};
use orderflow_core::registry::{InMemoryRegistry, SchemaRegistry};
use orderflow_domain::testing::sample_created;
use orderflow_domain::{Event, Topic};
use orderflow_services::consumer::{self, Delivery, Group, Handler, headers};
use orderflow_services::context::ServiceError;
use orderflow_sqlite::SqliteBus;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use tokio_util::sync::CancellationToken;

const SEED: u64 = 0x0DE2_F10E_2026;
const RECORDS: usize = 150;
/// The bound on the whole run.
const STALL: Duration = Duration::from_secs(30);

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Debug, Default)]
struct Counter {
    seen: AtomicUsize,
}

#[async_trait]
impl Handler for Counter {
    fn group(&self) -> Group {
        Group {
            name: "fuzz",
            topics: &[Topic::Orders],
        }
    }

    async fn handle(&self, _: &Event, _: &Delivery) -> Result<(), ServiceError> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A zig-zag varint, as Avro writes lengths.
fn varint(n: i64) -> Vec<u8> {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    let mut out = Vec::new();
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// Writer schemas anyone could register: a chain of 2,000 record types, and a record
/// that contains itself, both named as an event.
async fn hostile_records(
    registry: &InMemoryRegistry,
) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error>> {
    let n = 2_000;
    let mut fields = vec![
        r#"{"name":"orderId","type":"string"}"#.to_owned(),
        r#"{"name":"f0","type":{"type":"record","name":"R0","fields":[{"name":"x","type":"int"}]}}"#
            .to_owned(),
    ];
    for i in 1..n {
        fields.push(format!(
            r#"{{"name":"f{i}","type":{{"type":"record","name":"R{i}","fields":[{{"name":"x","type":"R{}"}}]}}}}"#,
            i - 1
        ));
    }
    let chain = format!(
        r#"{{"type":"record","name":"OrderConfirmed","fields":[{}]}}"#,
        fields.join(",")
    );
    let chain_id = registry
        .register("elsewhere-OrderConfirmed", &chain)
        .await?;
    let list = r#"{"type":"record","name":"OrderConfirmed","fields":[
        {"name":"orderId","type":"string"},{"name":"next","type":["null","OrderConfirmed"]}]}"#;
    let list_id = registry.register("other-OrderConfirmed", list).await?;
    let cells: Vec<u8> = [2u8, b'o', 2]
        .iter()
        .copied()
        .cycle()
        .take(60_000)
        .collect();
    Ok(vec![
        frame(chain_id, &[vec![2, b'o'], vec![0; n]].concat()),
        frame(list_id, &[cells, vec![2, b'o', 0]].concat()),
        frame(chain_id - 1, &varint(500 << 20)),
    ])
}

fn records(ids: Vec<u32>, valid: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..40),
        2 => (prop::sample::select(ids), prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(id, body)| frame(id, &body)),
        3 => (prop::sample::select(valid), any::<prop::sample::Index>(), any::<u8>(), any::<bool>())
            .prop_map(|(mut v, at, x, cut)| {
                let i = 5 + at.index(v.len() - 5);
                if cut {
                    v.truncate(i);
                } else {
                    v[i] ^= x;
                }
                v
            }),
        1 => any::<u32>().prop_map(|id| frame(id, &[])),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_random_record_is_handled_or_dead_lettered_and_the_consumer_goes_on() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bus: Arc<dyn EventBus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db"))?);
    let registry = Arc::new(InMemoryRegistry::default());
    let codec = Arc::new(
        EventCodec::new(registry.clone())
            .await?
            .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default())),
    );
    let ids: Vec<u32> = Event::TYPES
        .iter()
        .filter_map(|t| codec.schema_id(t))
        .collect();
    let valid: Vec<Vec<u8>> = [sample_created()]
        .iter()
        .map(|e| {
            let encoded = codec.encode(&without_address(e)).expect("encodes");
            frame(encoded.schema_id, &encoded.payload)
        })
        .collect();

    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(SEED),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = records(ids, valid.clone());
    let mut values: Vec<Vec<u8>> = (0..RECORDS)
        .map(|_| strategy.new_tree(&mut runner).map(|t| t.current()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    values.extend(hostile_records(&registry).await?);
    values.extend(valid);

    // What the codec makes of each, on its own.
    let mut good = 0;
    let mut bad = Vec::new();
    for v in &values {
        match codec.decode_framed(v).await {
            Ok(_) => good += 1,
            Err(_) => bad.push(v.clone()),
        }
    }
    assert!(
        good > 0 && !bad.is_empty(),
        "{good} good, {} bad",
        bad.len()
    );

    let outgoing = values
        .iter()
        .enumerate()
        .map(|(i, v)| OutgoingRecord {
            topic: "orders".into(),
            key: format!("k{}", i % 7),
            value: v.clone(),
            headers: vec![],
            timestamp: chrono::Utc::now(),
        })
        .collect();
    bus.publish(outgoing).await?;

    let handler = Arc::new(Counter::default());
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(consumer::run(
        bus.clone(),
        codec,
        handler.clone(),
        StartFrom::Earliest,
        shutdown.clone(),
    ));
    let mut dlq = bus
        .subscribe("reader", &["orders.dlq"], StartFrom::Earliest)
        .await?;
    let mut letters = Vec::new();
    let done = tokio::time::timeout(STALL, async {
        while letters.len() < bad.len() || handler.seen.load(Ordering::SeqCst) < good {
            letters.extend(dlq.poll(100, Duration::from_millis(100)).await?);
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
    .await;
    shutdown.cancel();
    consumer.await??;
    assert!(
        done.is_ok(),
        "after {STALL:?}: {} of {good} handled, {} of {} dead-lettered",
        handler.seen.load(Ordering::SeqCst),
        letters.len(),
        bad.len()
    );
    done??;

    assert_eq!(handler.seen.load(Ordering::SeqCst), good);
    let mut parked: Vec<Vec<u8>> = letters.iter().map(|l| l.value.clone()).collect();
    parked.sort();
    bad.sort();
    assert_eq!(
        parked, bad,
        "exactly the records that do not decode are parked"
    );
    for letter in &letters {
        let reason = letter.header(headers::ERROR).ok_or("a reason")?;
        assert!(!reason.is_empty());
    }
    Ok(())
}

/// The event without its shipping address, which only a codec with keys may write.
fn without_address(event: &Event) -> Event {
    let mut event = event.clone();
    if let Event::OrderCreated(e) = &mut event {
        e.shipping_address = None;
    }
    event
}
