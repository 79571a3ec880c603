//! A codec over a fresh registry, the property every input must meet (an event or a
//! `CodecError`, in time, without a panic), and decoding under codecs whose registry
//! holds a writer schema registered by anyone.

use std::sync::Arc;

use orderflow_core::codec::{
    CodecError, HISTORY_FILES, LEGACY_FILES, subject, subject_of, topic_of_record,
};
use orderflow_core::registry::Registry;
use orderflow_core::{EventCodec, SchemaRegistry, frame};
use orderflow_domain::Event;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::SHRINK;
use crate::seeded::{self, STALL, TestResult};

/// What a decode answered: an event or a `CodecError`; `Err` when it panicked or did not
/// answer within [`STALL`].
pub type Answer = Result<Result<Event, CodecError>, String>;

/// A codec over a fresh registry with every schema registered, and the ids a record
/// may name: the current schemas, the history's and the legacy `OrderPlaced`.
pub struct Fixture {
    rt: tokio::runtime::Runtime,
    pub codec: Arc<EventCodec>,
    pub ids: Vec<u32>,
    pub v1_id: u32,
    pub legacy_id: u32,
}

impl Fixture {
    pub fn new() -> Self {
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

    /// Decodes `bytes` with the fixture's codec.
    pub fn decode(&self, bytes: &[u8]) -> Answer {
        self.decode_with(&self.codec, bytes)
    }

    /// Decodes `bytes` with `codec` on a tokio worker (a 2 MiB stack, as the consumers
    /// have), within the bound: the decoder's answer, or why it is not one.
    pub fn decode_with(&self, codec: &Arc<EventCodec>, bytes: &[u8]) -> Answer {
        let codec = codec.clone();
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

    /// A codec, and the id of `schema` registered under `subject`, a subject of its own
    /// (the registry is open: anyone may register a record named as an event).
    pub fn registered_elsewhere(&self, subject: &str, schema: &str) -> (Arc<EventCodec>, u32) {
        self.rt.block_on(async {
            let registry = Arc::new(Registry::default());
            let codec = EventCodec::new(registry.clone()).await.unwrap();
            let id = registry
                .register(subject, schema)
                .await
                .unwrap_or_else(|e| {
                    panic!("{}", e.to_string().chars().take(200).collect::<String>())
                });
            (Arc::new(codec), id)
        })
    }

    /// The property: an event or a `CodecError`, in time, without a panic.
    pub fn check(&self, bytes: &[u8]) -> Result<(), TestCaseError> {
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

    /// Checks the property on `cases` inputs made by `to_bytes` from `strategy`'s values.
    pub fn run<S: Strategy>(
        &self,
        cases: u32,
        strategy: S,
        to_bytes: impl Fn(S::Value) -> Vec<u8>,
    ) -> TestResult
    where
        S::Value: std::fmt::Debug,
    {
        seeded::check(cases, SHRINK, strategy, |input| {
            self.check(&to_bytes(input))
        })
    }

    /// Frames `body` under schema `id` and decodes it with `codec`: the reason it was
    /// refused as malformed; any other answer is an error naming `case`.
    pub fn refused(
        &self,
        codec: &Arc<EventCodec>,
        id: u32,
        body: &[u8],
        case: &str,
    ) -> Result<String, String> {
        match self.decode_with(codec, &frame(id, body)) {
            Ok(Err(CodecError::Malformed { reason, .. })) => Ok(reason),
            answer => Err(format!("{case}: {answer:?}")),
        }
    }
}
