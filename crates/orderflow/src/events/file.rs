//! The export file's records: one per event, its envelope and its writer schema beside
//! the Avro payload it was stored with.

use std::sync::LazyLock;

use anyhow::{Context, bail};
use apache_avro::Schema;
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use orderflow_core::store::StoredEvent;
use uuid::Uuid;

/// The record schema of an export file.
pub const RECORD_SCHEMA: &str = r#"{
  "type": "record",
  "name": "RecordedEvent",
  "namespace": "orderflow.export",
  "doc": "One event of an orderflow event store, as recorded: its envelope, and its payload (Avro binary, without framing) with the schema it was written with.",
  "fields": [
    {"name": "position", "type": "long", "doc": "Global position in the store, from 1."},
    {"name": "streamId", "type": "string"},
    {"name": "version", "type": "long", "doc": "Version within the stream, from 1."},
    {"name": "eventId", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "eventType", "type": "string"},
    {"name": "schemaId", "type": "int", "doc": "The writer schema's id in the exporting store's registry."},
    {"name": "schemaSubject", "type": "string", "doc": "The registry subject the writer schema is registered under."},
    {"name": "writerSchema", "type": "string", "doc": "The schema the payload was written with (Avro JSON)."},
    {"name": "payload", "type": "bytes"},
    {"name": "occurredAt", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "recordedAt", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "correlationId", "type": "string", "doc": "The order (or SKU) the event is about."},
    {"name": "causationId", "type": ["null", {"type": "string", "logicalType": "uuid"}], "default": null},
    {"name": "actor", "type": "string"},
    {"name": "traceContext", "type": ["null", "string"], "default": null, "doc": "The W3C traceparent it was recorded under."}
  ]
}"#;

pub static SCHEMA: LazyLock<Schema> =
    LazyLock::new(|| Schema::parse_str(RECORD_SCHEMA).expect("the export schema parses"));

/// The file's metadata key for every schema of the exporting registry (JSON: a list of
/// [`RegisteredSchema`] in id order), so an import into an empty registry gives each
/// schema the id it had.
pub const REGISTRY_KEY: &str = "orderflow.registry";

/// One version of a subject in the exporting registry.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegisteredSchema {
    pub id: u32,
    pub subject: String,
    pub version: u32,
    pub schema: String,
    /// `(name, subject, version)` of each schema it references.
    pub references: Vec<(String, String, u32)>,
}

/// An event with what its record adds: where its writer schema lives and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub event: StoredEvent,
    pub subject: String,
    pub writer_schema: String,
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(us: i64) -> anyhow::Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us).context("a time out of range")
}

impl Exported {
    pub fn to_value(&self) -> Value {
        let e = &self.event;
        let optional = |v: Option<Value>| match v {
            None => Value::Union(0, Box::new(Value::Null)),
            Some(v) => Value::Union(1, Box::new(v)),
        };
        Value::Record(vec![
            ("position".into(), Value::Long(e.position as i64)),
            ("streamId".into(), Value::String(e.stream_id.clone())),
            ("version".into(), Value::Long(e.version as i64)),
            ("eventId".into(), Value::Uuid(e.event_id)),
            ("eventType".into(), Value::String(e.event_type.clone())),
            ("schemaId".into(), Value::Int(e.schema_id as i32)),
            ("schemaSubject".into(), Value::String(self.subject.clone())),
            (
                "writerSchema".into(),
                Value::String(self.writer_schema.clone()),
            ),
            ("payload".into(), Value::Bytes(e.payload.clone())),
            (
                "occurredAt".into(),
                Value::TimestampMicros(micros(e.occurred_at)),
            ),
            (
                "recordedAt".into(),
                Value::TimestampMicros(micros(e.recorded_at)),
            ),
            (
                "correlationId".into(),
                Value::String(e.correlation_id.clone()),
            ),
            (
                "causationId".into(),
                optional(e.causation_id.map(Value::Uuid)),
            ),
            ("actor".into(), Value::String(e.actor.clone())),
            (
                "traceContext".into(),
                optional(e.trace_context.clone().map(Value::String)),
            ),
        ])
    }

    pub fn from_value(value: Value) -> anyhow::Result<Self> {
        let Value::Record(fields) = value else {
            bail!("not a record");
        };
        let mut fields: std::collections::HashMap<String, Value> = fields.into_iter().collect();
        let mut take = |name: &str| {
            let value = fields
                .remove(name)
                .with_context(|| format!("a record without {name}"))?;
            Ok::<_, anyhow::Error>(match value {
                Value::Union(_, inner) => *inner,
                other => other,
            })
        };
        let long = |v: Value| match v {
            Value::Long(n) | Value::TimestampMicros(n) => Ok(n),
            other => bail!("{other:?} is not a long"),
        };
        let string = |v: Value| match v {
            Value::String(s) => Ok(s),
            other => bail!("{other:?} is not a string"),
        };
        let uuid = |v: Value| match v {
            Value::Uuid(u) => Ok(u),
            Value::String(s) => Ok(Uuid::parse_str(&s)?),
            other => bail!("{other:?} is not a UUID"),
        };
        let optional = |v: Value| match v {
            Value::Null => None,
            other => Some(other),
        };
        let event = StoredEvent {
            position: u64::try_from(long(take("position")?)?)?,
            stream_id: string(take("streamId")?)?,
            version: u64::try_from(long(take("version")?)?)?,
            event_id: uuid(take("eventId")?)?,
            event_type: string(take("eventType")?)?,
            schema_id: match take("schemaId")? {
                Value::Int(n) => u32::try_from(n)?,
                other => bail!("{other:?} is not a schema id"),
            },
            payload: match take("payload")? {
                Value::Bytes(b) => b,
                other => bail!("{other:?} is not a payload"),
            },
            occurred_at: from_micros(long(take("occurredAt")?)?)?,
            recorded_at: from_micros(long(take("recordedAt")?)?)?,
            correlation_id: string(take("correlationId")?)?,
            causation_id: optional(take("causationId")?).map(uuid).transpose()?,
            actor: string(take("actor")?)?,
            trace_context: optional(take("traceContext")?).map(string).transpose()?,
        };
        Ok(Exported {
            event,
            subject: string(take("schemaSubject")?)?,
            writer_schema: string(take("writerSchema")?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exported(causation: Option<Uuid>, trace: Option<&str>) -> Exported {
        let at = DateTime::from_timestamp_micros(1_767_225_600_123_456).unwrap_or_default();
        Exported {
            event: StoredEvent {
                position: 42,
                stream_id: "order-1".into(),
                version: 3,
                recorded_at: at,
                event_id: Uuid::new_v4(),
                event_type: "OrderCreated".into(),
                schema_id: 7,
                payload: vec![0, 1, 2, 255],
                occurred_at: at - chrono::Duration::milliseconds(5),
                correlation_id: "1".into(),
                causation_id: causation,
                actor: "api".into(),
                trace_context: trace.map(str::to_owned),
            },
            subject: "orders-OrderCreated".into(),
            writer_schema: r#"{"type":"record","name":"OrderCreated","fields":[]}"#.into(),
        }
    }

    #[test]
    fn an_event_survives_a_file_whole() -> anyhow::Result<()> {
        let events = [
            exported(None, None),
            exported(
                Some(Uuid::new_v4()),
                Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ),
        ];
        let mut writer = apache_avro::Writer::new(&SCHEMA, Vec::new())?;
        for e in &events {
            writer.append_value(e.to_value())?;
        }
        let bytes = writer.into_inner()?;
        let read: Vec<Exported> = apache_avro::Reader::new(&bytes[..])?
            .map(|v| Exported::from_value(v?))
            .collect::<anyhow::Result<_>>()?;
        assert_eq!(read, events);
        Ok(())
    }
}
