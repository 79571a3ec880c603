//! Avro Java's answers to reader/writer pairs, in the shape of `compat/*.json`, and the
//! checker's answer in the same shape, so the two compare with `==`.

use apache_avro::Schema;
use orderflow_core::registry::{Incompatibility, reader_writer_incompatibilities};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One incompatibility, as Avro Java's `Incompatibility` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    #[serde(rename = "type")]
    pub kind: String,
    pub location: String,
    pub message: String,
}

/// A pair and Avro Java's answer (the expected one); `ours` when the checker differs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    pub name: String,
    pub reader: Value,
    pub writer: Value,
    pub compatible: bool,
    pub incompatibilities: Vec<Found>,
    /// Why Avro Java refuses to parse the pair, if it does: the registry must refuse it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// Why Avro Java's check throws, if it does: Confluent's registry then answers
    /// incompatible, and the checker must find an incompatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ours: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Cases {
    pub cases: Vec<Case>,
}

/// What the registry's checker finds reading `writer`'s data with `reader`.
#[allow(dead_code)]
pub fn incompatibilities(reader: &Schema, writer: &Schema) -> Vec<Found> {
    found(reader_writer_incompatibilities(reader, writer))
}

/// The checker's incompatibilities in the shape of Avro Java's.
pub fn found(incompatibilities: Vec<Incompatibility>) -> Vec<Found> {
    incompatibilities
        .into_iter()
        .map(|i| Found {
            kind: i.kind.as_str().to_owned(),
            location: i.location,
            message: i.message,
        })
        .collect()
}
