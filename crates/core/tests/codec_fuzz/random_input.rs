//! Random and damaged input: random bytes, random bodies under every registered schema
//! id and unknown ones, and valid encodings of every event type and of the older shapes
//! damaged. Each is an event or a `CodecError`.

use orderflow_core::frame;
use proptest::prelude::*;

use crate::CASES;
use crate::damage::{mutate, mutation};
use crate::events::{event, older, parts};
use crate::fixture::Fixture;
use crate::seeded::TestResult;

#[test]
fn random_bytes_are_an_event_or_a_codec_error() -> TestResult {
    let fixture = Fixture::new();
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        // The magic byte right, the rest random.
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
            b.insert(0, 0);
            b
        }),
    ];
    fixture.run(CASES, bytes, |b| b)
}

#[test]
fn random_bodies_under_every_registered_schema_id_are_an_event_or_a_codec_error() -> TestResult {
    let fixture = Fixture::new();
    let ids = fixture.ids.clone();
    let frames = (
        prop_oneof![
            6 => prop::sample::select(ids),
            1 => any::<u32>(),
        ],
        prop::collection::vec(any::<u8>(), 0..96),
    );
    fixture.run(CASES, frames, |(id, body)| frame(id, &body))
}

#[test]
fn damaged_encodings_of_every_event_type_are_an_event_or_a_codec_error() -> TestResult {
    let fixture = Fixture::new();
    let codec = fixture.codec.clone();
    fixture.run(CASES * 2, (parts(), mutation()), |(p, m)| {
        let encoded = codec.encode(&event(&p)).expect("a valid event encodes");
        frame(encoded.schema_id, &mutate(encoded.payload, &m))
    })
}

#[test]
fn damaged_encodings_of_older_shapes_are_an_event_or_a_codec_error() -> TestResult {
    let fixture = Fixture::new();
    let (v1, legacy) = (fixture.v1_id, fixture.legacy_id);
    fixture.run(
        CASES,
        (parts(), any::<bool>(), mutation()),
        |(p, old, m)| {
            let id = if old { legacy } else { v1 };
            frame(id, &mutate(older(&p, old), &m))
        },
    )
}
