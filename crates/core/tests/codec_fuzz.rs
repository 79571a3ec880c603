//! Random input to the Confluent wire format and the Avro decoder
//! (`EventCodec::decode_framed`): random bytes, frames of random bodies under every
//! registered schema id (current, history, legacy) and unknown ones, and valid encodings
//! of every event type truncated, mutated, spliced with huge length prefixes or padded.
//! Every input must decode to an event or to a `CodecError` (which a consumer parks on
//! the topic's dead-letter queue), never panic, and return within a generous bound.
//!
//! Deterministic: proptest with a fixed RNG seed and a fixed number of cases, no
//! failure persistence (a failure reproduces from the seed; inputs found are kept below
//! as named regression tests).

use std::sync::Arc;
use std::time::Duration;

use apache_avro::Schema;
use apache_avro::types::Value as Avro;
use apache_avro::writer::datum::GenericDatumWriter;
use orderflow_core::codec::{
    CodecError, HISTORY_FILES, LEGACY_FILES, MAX_DEPTH, subject, subject_of, topic_of_record,
};
use orderflow_core::registry::Registry;
use orderflow_core::{EventCodec, SchemaRegistry, frame};
use orderflow_domain::events::*;
use orderflow_domain::{
    Currency, CustomerId, Event, Money, OrderId, OrderLine, OrderLines, Quantity, Sku, StockLine,
    Timestamp,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

/// The seed every property here runs from.
const SEED: u64 = 0x0DE2_F10E_2026;
/// Cases per property.
const CASES: u32 = 1_500;
/// The bound on one decode: a stand-in for "never stalls", not a speed requirement.
const STALL: Duration = Duration::from_secs(5);

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(SEED),
        max_shrink_iters: 2_000,
        ..Config::default()
    })
}

/// A codec over a fresh registry with every schema registered, and the ids a record
/// may name: the current schemas, the history's and the legacy `OrderPlaced`.
struct Fixture {
    rt: tokio::runtime::Runtime,
    codec: Arc<EventCodec>,
    ids: Vec<u32>,
    v1_id: u32,
    legacy_id: u32,
}

impl Fixture {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let (codec, ids, v1_id, legacy_id) = rt.block_on(async {
            let registry = Arc::new(Registry::default());
            let codec = EventCodec::new(registry.clone()).await.expect("a codec");
            let mut ids: Vec<u32> = Event::TYPES
                .iter()
                .filter_map(|t| codec.schema_id(t))
                .collect();
            let (event_type, text) = HISTORY_FILES[0];
            let v1_id = registry
                .register(&subject_of(event_type), text)
                .await
                .expect("v1 registered");
            let (name, text) = LEGACY_FILES[0];
            let topic = topic_of_record(name).expect("the legacy type has an upcaster");
            let legacy_id = registry
                .register(&subject(topic, name), text)
                .await
                .expect("legacy registered");
            ids.extend([v1_id, legacy_id]);
            ids.sort_unstable();
            ids.dedup();
            (Arc::new(codec), ids, v1_id, legacy_id)
        });
        Self {
            rt,
            codec,
            ids,
            v1_id,
            legacy_id,
        }
    }

    /// Decodes `bytes` within the bound: the decoder's answer, or why it is not one.
    fn decode(&self, bytes: &[u8]) -> Result<Result<Event, CodecError>, String> {
        let codec = self.codec.clone();
        let bytes = bytes.to_vec();
        self.rt.block_on(async move {
            let task = tokio::spawn(async move { codec.decode_framed(&bytes).await });
            match tokio::time::timeout(STALL, task).await {
                Err(_) => Err(format!("no answer within {STALL:?}")),
                Ok(Err(join)) => Err(format!("the decoder panicked: {join}")),
                Ok(Ok(answer)) => Ok(answer),
            }
        })
    }

    /// The property: an event or a `CodecError`, in time, without a panic.
    fn check(&self, bytes: &[u8]) -> Result<(), TestCaseError> {
        match self.decode(bytes) {
            Ok(Ok(event)) => {
                // What decodes re-encodes (it is a valid event of a known type).
                self.codec
                    .encode(&event)
                    .map_err(|e| TestCaseError::fail(format!("decoded but not encodable: {e}")))?;
                Ok(())
            }
            Ok(Err(e)) => {
                // The error must have a message a dead letter can carry, and must not be
                // the registry's (which a consumer takes for an outage and retries).
                prop_assert!(!e.to_string().is_empty());
                prop_assert!(!matches!(e, CodecError::Registry(_)), "{}", e);
                Ok(())
            }
            Err(why) => Err(TestCaseError::fail(why)),
        }
    }

    fn run<S: Strategy>(&self, cases: u32, strategy: S, to_bytes: impl Fn(S::Value) -> Vec<u8>)
    where
        S::Value: std::fmt::Debug,
    {
        let outcome = runner(cases).run(&strategy, |input| self.check(&to_bytes(input)));
        if let Err(e) = outcome {
            panic!("{e}");
        }
    }
}

// ---- Generators ----------------------------------------------------------------------

/// Text of any kind, control characters and non-ASCII included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 -]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
}

/// An identifier the domain may or may not accept (falls back to a valid one).
fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9][a-zA-Z0-9._-]{0,20}",
        1 => text(),
    ]
}

#[derive(Debug, Clone)]
struct Parts {
    kind: usize,
    order: String,
    sku: String,
    customer: String,
    text: String,
    text2: String,
    n: i64,
    lines: Vec<(String, i64, i64)>,
    address: Option<String>,
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        0..Event::TYPES.len(),
        (ident(), ident(), ident()),
        (text(), text()),
        any::<i64>(),
        prop::collection::vec((ident(), 1i64..1_000, 0i64..10_000_000), 1..5),
        proptest::option::of(text()),
    )
        .prop_map(
            |(kind, (order, sku, customer), (text, text2), n, lines, address)| Parts {
                kind,
                order,
                sku,
                customer,
                text,
                text2,
                n,
                lines,
                address,
            },
        )
}

/// An event of the type `p.kind` from the random parts, each value the domain refuses
/// replaced by a valid one.
fn event(p: &Parts) -> Event {
    let order_id =
        OrderId::parse(p.order.clone()).unwrap_or_else(|_| OrderId::parse("o-1").unwrap());
    let sku = Sku::parse(p.sku.clone()).unwrap_or_else(|_| Sku::parse("SKU-1").unwrap());
    let quantity =
        Quantity::new(p.n.rem_euclid(1_000) + 1).unwrap_or_else(|_| Quantity::new(1).unwrap());
    let amount = Money::from_minor(p.n.rem_euclid(100_000_000))
        .unwrap_or_else(|_| Money::from_minor(1).unwrap());
    let stock: Vec<StockLine> = p
        .lines
        .iter()
        .map(|(s, q, _)| StockLine {
            sku: Sku::parse(s.clone()).unwrap_or_else(|_| sku.clone()),
            quantity: Quantity::new(*q).unwrap_or(quantity),
        })
        .collect();
    let kind = match p.n.rem_euclid(3) {
        0 => NotificationKind::OrderReceived,
        1 => NotificationKind::OrderShipped,
        _ => NotificationKind::OrderCancelled,
    };
    let (text, text2) = (p.text.clone(), p.text2.clone());
    match Event::TYPES[p.kind] {
        "OrderCreated" => {
            let lines = p
                .lines
                .iter()
                .map(|(s, q, cents)| OrderLine {
                    sku: Sku::parse(s.clone()).unwrap_or_else(|_| sku.clone()),
                    quantity: Quantity::new(*q).unwrap_or(quantity),
                    unit_price: Money::from_minor(*cents).unwrap_or(amount),
                })
                .collect();
            let lines = OrderLines::new(lines).unwrap_or_else(|_| {
                OrderLines::new(vec![OrderLine {
                    sku: sku.clone(),
                    quantity,
                    unit_price: amount,
                }])
                .unwrap()
            });
            OrderCreated {
                order_id,
                customer_id: CustomerId::parse(p.customer.clone())
                    .unwrap_or_else(|_| CustomerId::parse("c-1").unwrap()),
                lines,
                timestamp: Timestamp(p.n),
                currency: Currency::parse(text.chars().take(3).collect::<String>().to_uppercase())
                    .unwrap_or_else(|_| Currency::default_currency()),
                shipping_address: p.address.clone(),
            }
            .into()
        }
        "OrderConfirmed" => OrderConfirmed { order_id }.into(),
        "OrderCancelled" => OrderCancelled {
            order_id,
            reason: text,
        }
        .into(),
        "OrderShipped" => OrderShipped {
            order_id,
            tracking_number: text,
        }
        .into(),
        "PaymentReceived" => PaymentReceived {
            order_id,
            amount,
            transaction_id: text,
        }
        .into(),
        "PaymentDeclined" => PaymentDeclined {
            order_id,
            amount,
            reason: text,
        }
        .into(),
        "PaymentRefunded" => PaymentRefunded {
            order_id,
            amount,
            transaction_id: text,
        }
        .into(),
        "PaymentSkipped" => PaymentSkipped {
            order_id,
            amount,
            reason: text,
        }
        .into(),
        "StockLevelSet" => StockLevelSet {
            sku,
            available: p.n.unsigned_abs() >> 1,
        }
        .into(),
        "StockAllocated" => StockAllocated {
            sku,
            order_id,
            quantity,
        }
        .into(),
        "StockDeallocated" => StockDeallocated {
            sku,
            order_id,
            quantity,
        }
        .into(),
        "StockReserved" => StockReserved {
            order_id,
            items: stock,
        }
        .into(),
        "StockUnavailable" => StockUnavailable {
            order_id,
            reason: text,
        }
        .into(),
        "StockReleased" => StockReleased {
            order_id,
            items: stock,
        }
        .into(),
        "StockShipped" => StockShipped {
            sku,
            order_id,
            quantity,
        }
        .into(),
        "StockFulfilled" => StockFulfilled {
            order_id,
            items: stock,
        }
        .into(),
        "ShipmentDispatched" => ShipmentDispatched {
            order_id,
            tracking_number: text,
        }
        .into(),
        "NotificationSent" => NotificationSent {
            order_id,
            kind,
            recipient: text,
            message_id: text2,
        }
        .into(),
        "NotificationFailed" => NotificationFailed {
            order_id,
            kind,
            recipient: text,
            reason: text2,
        }
        .into(),
        other => panic!("a type this test does not know yet: {other}"),
    }
}

/// Encodings of the older shapes: `OrderCreated` v1 and the legacy `OrderPlaced`.
fn older(p: &Parts, legacy: bool) -> Vec<u8> {
    let (name, text) = if legacy {
        LEGACY_FILES[0]
    } else {
        (HISTORY_FILES[0].0.name(), HISTORY_FILES[0].1)
    };
    let schema = Schema::parse_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let s = |v: &str| Avro::String(v.to_owned());
    let value = if legacy {
        let lines = p
            .lines
            .iter()
            .map(|(sku, q, c)| {
                Avro::Record(vec![
                    ("sku".into(), s(sku)),
                    ("qty".into(), Avro::Int(*q as i32)),
                    ("priceCents".into(), Avro::Long(*c)),
                ])
            })
            .collect();
        Avro::Record(vec![
            ("orderId".into(), s(&p.order)),
            ("customer".into(), s(&p.customer)),
            ("lines".into(), Avro::Array(lines)),
            ("totalCents".into(), Avro::Long(p.n)),
            ("placedAt".into(), Avro::Long(p.n)),
        ])
    } else {
        let items = p
            .lines
            .iter()
            .map(|(sku, q, c)| {
                Avro::Record(vec![
                    ("sku".into(), s(sku)),
                    ("quantity".into(), Avro::Int(*q as i32)),
                    ("unitPrice".into(), Avro::Double(*c as f64 / 100.0)),
                ])
            })
            .collect();
        Avro::Record(vec![
            ("orderId".into(), s(&p.order)),
            ("customerId".into(), s(&p.customer)),
            ("items".into(), Avro::Array(items)),
            ("totalAmount".into(), Avro::Double(p.n as f64)),
            ("timestamp".into(), Avro::Long(p.n)),
        ])
    };
    GenericDatumWriter::builder(&schema)
        .build()
        .and_then(|w| w.write_value_to_vec(value))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// An Avro long (zig-zag varint), as lengths and counts are written.
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

/// What is done to a valid body.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    Truncate(prop::sample::Index),
    Flip(Vec<(prop::sample::Index, u8)>),
    Insert(prop::sample::Index, Vec<u8>),
    /// A declared length or count, huge or negative, spliced in (replacing a byte).
    Length(prop::sample::Index, i64),
    Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let huge = prop_oneof![
        Just(i64::MAX),
        Just(i64::MIN),
        Just(-1i64),
        Just(1i64 << 31),
        Just(1i64 << 40),
        (1i64 << 20)..(1i64 << 29),
        any::<i64>(),
    ];
    prop_oneof![
        1 => Just(Mutation::None),
        3 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        4 => prop::collection::vec((any::<prop::sample::Index>(), 1u8..), 1..4).prop_map(Mutation::Flip),
        2 => (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        3 => (any::<prop::sample::Index>(), huge).prop_map(|(i, n)| Mutation::Length(i, n)),
        1 => prop::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
    ]
}

fn mutate(mut body: Vec<u8>, m: &Mutation) -> Vec<u8> {
    if body.is_empty() {
        return body;
    }
    match m {
        Mutation::None => {}
        Mutation::Truncate(i) => body.truncate(i.index(body.len())),
        Mutation::Flip(flips) => {
            for (i, x) in flips {
                let at = i.index(body.len());
                body[at] ^= x;
            }
        }
        Mutation::Insert(i, bytes) => {
            let at = i.index(body.len() + 1);
            body.splice(at..at, bytes.iter().copied());
        }
        Mutation::Length(i, n) => {
            let at = i.index(body.len());
            body.splice(at..=at, varint(*n));
        }
        Mutation::Append(bytes) => body.extend_from_slice(bytes),
    }
    body
}

// ---- Properties ----------------------------------------------------------------------

#[test]
fn random_bytes_are_an_event_or_a_codec_error() {
    let fixture = Fixture::new();
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        // The magic byte right, the rest random.
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
            b.insert(0, 0);
            b
        }),
    ];
    fixture.run(CASES, bytes, |b| b);
}

#[test]
fn random_bodies_under_every_registered_schema_id_are_an_event_or_a_codec_error() {
    let fixture = Fixture::new();
    let ids = fixture.ids.clone();
    let frames = (
        prop_oneof![
            6 => prop::sample::select(ids),
            1 => any::<u32>(),
        ],
        prop::collection::vec(any::<u8>(), 0..96),
    );
    fixture.run(CASES, frames, |(id, body)| frame(id, &body));
}

#[test]
fn damaged_encodings_of_every_event_type_are_an_event_or_a_codec_error() {
    let fixture = Fixture::new();
    let codec = fixture.codec.clone();
    fixture.run(CASES * 2, (parts(), mutation()), |(p, m)| {
        let encoded = codec.encode(&event(&p)).expect("a valid event encodes");
        frame(encoded.schema_id, &mutate(encoded.payload, &m))
    });
}

#[test]
fn damaged_encodings_of_older_shapes_are_an_event_or_a_codec_error() {
    let fixture = Fixture::new();
    let (v1, legacy) = (fixture.v1_id, fixture.legacy_id);
    fixture.run(
        CASES,
        (parts(), any::<bool>(), mutation()),
        |(p, old, m)| {
            let id = if old { legacy } else { v1 };
            frame(id, &mutate(older(&p, old), &m))
        },
    );
}

#[test]
fn every_event_type_round_trips_whatever_its_values() {
    let fixture = Fixture::new();
    let codec = fixture.codec.clone();
    let outcome = runner(CASES).run(&parts(), |p| {
        let event = event(&p);
        let encoded = codec.encode(&event).expect("a valid event encodes");
        let decoded = fixture
            .decode(&frame(encoded.schema_id, &encoded.payload))
            .map_err(TestCaseError::fail)?
            .map_err(|e| TestCaseError::fail(format!("{event:?} does not decode: {e}")))?;
        prop_assert_eq!(decoded, event);
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

// ---- Regressions: inputs found, kept by name ------------------------------------------

/// How long a refused record may take at most here: far more than it does.
const QUICK: Duration = Duration::from_millis(500);

/// A 6-byte body declaring a 500 MB string (the first field of `OrderCreated`): apache-
/// avro allocated what was declared (up to its default 512 MiB) before finding the
/// body short. The codec caps what it may allocate at once (`MAX_ALLOCATION_BYTES`), so
/// the record is refused for the length itself.
#[test]
fn a_declared_length_past_the_allocation_cap_is_malformed_without_allocating_it() {
    let fixture = Fixture::new();
    for (id, n) in [
        (
            fixture.codec.schema_id("OrderCreated").unwrap(),
            500i64 << 20,
        ),
        (fixture.v1_id, 500 << 20),
        (fixture.legacy_id, 511 << 20),
    ] {
        let answer = fixture.decode(&frame(id, &varint(n))).expect("an answer");
        let Err(CodecError::Malformed { reason, .. }) = answer else {
            panic!("{n}: {answer:?}");
        };
        assert!(reason.contains("Unable to allocate"), "{reason}");
    }
}

/// A writer schema registered by anyone (the registry is open) whose record is named
/// as an event and holds an array of `null`s: items of zero bytes, so a 4-byte body
/// declaring 8 million of them filled 460 MB and took a second (debug build) before
/// failing. Capped, it is refused at once.
#[test]
fn a_huge_count_of_zero_byte_items_is_refused_at_once() {
    let fixture = Fixture::new();
    let registry = Arc::new(Registry::default());
    let (codec, id) = fixture.rt.block_on(async {
        let codec = EventCodec::new(registry.clone()).await.unwrap();
        let id = registry
            .register(
                "elsewhere-OrderCreated",
                r#"{"type":"record","name":"OrderCreated","fields":[
                    {"name":"pad","type":{"type":"array","items":"null"}}]}"#,
            )
            .await
            .unwrap();
        (codec, id)
    });
    for n in [8i64 << 20, i64::MAX, -(8 << 20)] {
        let started = std::time::Instant::now();
        let answer = fixture
            .rt
            .block_on(codec.decode_framed(&frame(id, &varint(n))));
        let Err(CodecError::Malformed { reason, .. }) = answer else {
            panic!("{n}: {answer:?}");
        };
        assert!(started.elapsed() < QUICK, "{n}: {:?}", started.elapsed());
        // A negative count is followed by a block size, which the body lacks.
        let why = if n < 0 { "fill" } else { "Unable to allocate" };
        assert!(reason.contains(why), "{n}: {reason}");
    }
}

/// A codec, and the id of `schema` registered under a subject of its own (the registry
/// is open: anyone may register a record named as an event).
fn registered_elsewhere(fixture: &Fixture, schema: &str) -> (EventCodec, u32) {
    fixture.rt.block_on(async {
        let registry = Arc::new(Registry::default());
        let codec = EventCodec::new(registry.clone()).await.unwrap();
        let id = registry
            .register("elsewhere-OrderConfirmed", schema)
            .await
            .unwrap_or_else(|e| panic!("{}", e.to_string().chars().take(200).collect::<String>()));
        (codec, id)
    })
}

/// Decodes on a tokio worker (a 2 MiB stack, as the consumers have).
fn decode_on_a_worker(
    fixture: &Fixture,
    codec: EventCodec,
    body: Vec<u8>,
    id: u32,
) -> Result<Event, CodecError> {
    fixture.rt.block_on(async move {
        tokio::spawn(async move { codec.decode_framed(&frame(id, &body)).await })
            .await
            .expect("no panic")
    })
}

/// `OrderConfirmed` with an extra field `deep` of type `nested` (what the reader skips).
fn confirmed_with(nested: &str) -> String {
    format!(
        r#"{{"type":"record","name":"OrderConfirmed","fields":[
            {{"name":"orderId","type":"string"}},{{"name":"deep","type":{nested}}}]}}"#
    )
}

/// A type `levels` complex types deep of one shape, ending in `int`, and a value of it
/// that goes all the way down, encoded.
fn nested(shape: usize, levels: usize) -> (String, Vec<u8>) {
    let (mut schema, mut body) = ("\"int\"".to_owned(), vec![0u8]);
    for level in 0..levels {
        match shape {
            0 => {
                schema = format!(
                    r#"{{"type":"record","name":"N{level}","fields":[{{"name":"x","type":{schema}}}]}}"#
                );
            }
            1 => {
                schema = format!(r#"{{"type":"array","items":{schema}}}"#);
                body = [vec![2], body, vec![0]].concat();
            }
            2 => {
                schema = format!(r#"{{"type":"map","values":{schema}}}"#);
                body = [vec![2, 2, b'k'], body, vec![0]].concat();
            }
            _ => {
                // A union may not hold a union: alternate with arrays.
                if level % 2 == 0 {
                    schema = format!(r#"["null",{schema}]"#);
                    body.insert(0, 2);
                } else {
                    schema = format!(r#"{{"type":"array","items":{schema}}}"#);
                    body = [vec![2], body, vec![0]].concat();
                }
            }
        }
    }
    (schema, body)
}

/// Writer schemas nested to the limit still decode on a worker's stack; one level more
/// is a dead letter. (Without the guard, 40 nested records overflowed the stack of a
/// debug build.)
#[test]
fn writer_schemas_nested_to_the_limit_decode_and_deeper_ones_are_refused() {
    let fixture = Fixture::new();
    for shape in 0..4 {
        // The top record is one level.
        for (levels, decodes) in [(MAX_DEPTH - 1, true), (MAX_DEPTH, false), (36, false)] {
            let (schema, deep) = nested(shape, levels);
            let (codec, id) = registered_elsewhere(&fixture, &confirmed_with(&schema));
            let body = [vec![2, b'o'], deep].concat();
            let answer = decode_on_a_worker(&fixture, codec, body, id);
            if decodes {
                assert!(answer.is_ok(), "shape {shape}, {levels}: {answer:?}");
            } else {
                let Err(CodecError::Malformed { reason, .. }) = &answer else {
                    panic!("shape {shape}, {levels}: {answer:?}");
                };
                assert!(reason.contains("nests more than"), "{reason}");
            }
        }
    }
}

/// A record type defined in one field is the type of the next: 5,000 levels in 500 KB
/// of schema, and a body of 5,002 bytes that goes all the way down. apache-avro's
/// decoder overflowed the stack (from 40 levels on, debug build), which aborted the
/// process: a consumer would die on the record at every restart.
#[test]
fn a_writer_schema_nesting_thousands_of_levels_through_references_is_a_dead_letter() {
    let fixture = Fixture::new();
    let n = 5_000;
    let mut fields = vec![
        r#"{"name":"orderId","type":"string"}"#.to_owned(),
        r#"{"name":"f0","type":{"type":"record","name":"R0","fields":[{"name":"x","type":"int"}]}}"#.to_owned(),
    ];
    for i in 1..n {
        fields.push(format!(
            r#"{{"name":"f{i}","type":{{"type":"record","name":"R{i}","fields":[{{"name":"x","type":"R{}"}}]}}}}"#,
            i - 1
        ));
    }
    let schema = format!(
        r#"{{"type":"record","name":"OrderConfirmed","fields":[{}]}}"#,
        fields.join(",")
    );
    let (codec, id) = registered_elsewhere(&fixture, &schema);
    let body = [vec![2, b'o'], vec![0; n]].concat();
    let answer = decode_on_a_worker(&fixture, codec, body, id);
    let Err(CodecError::Malformed { reason, .. }) = &answer else {
        panic!("{answer:?}");
    };
    assert!(reason.contains("nests more than"), "{reason}");
}

/// A record that contains itself nests as deep as its data: a linked list of 100,000
/// cells is 100,000 bytes.
#[test]
fn a_writer_schema_that_contains_itself_is_a_dead_letter() {
    let fixture = Fixture::new();
    let schema = r#"{"type":"record","name":"OrderConfirmed","fields":[
        {"name":"orderId","type":"string"},
        {"name":"next","type":["null","OrderConfirmed"]}]}"#;
    let (codec, id) = registered_elsewhere(&fixture, schema);
    let cell = [2u8, b'o', 2];
    let body: Vec<u8> = cell
        .iter()
        .copied()
        .cycle()
        .take(300_000)
        .chain([2, b'o', 0])
        .collect();
    let answer = decode_on_a_worker(&fixture, codec, body, id);
    let Err(CodecError::Malformed { reason, .. }) = &answer else {
        panic!("{answer:?}");
    };
    assert!(reason.contains("contains itself"), "{reason}");
}
