//! Avro encoding of events against the `.avsc` contract, with schema ids from the
//! registry. The contract's files, the subjects they are registered under, the wire
//! shapes, the bus framing and personal data (`personal.rs`: sealing and opening) are
//! each in a module of their own.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use orderflow_domain::{DomainError, Event, EventType, Personal};

use crate::keys::KeyStore;
use crate::registry::{RegistryError, SchemaRegistry};

mod depth;
mod framing;
mod personal;
mod schemas;
mod subject;
pub mod upcast;
pub mod wire;

pub use depth::MAX_DEPTH;
pub use framing::{frame, unframe};
use schemas::SCHEMAS;
pub use schemas::{HISTORY_FILES, LEGACY_FILES, SCHEMA_FILES};
pub use subject::{subject, subject_of, topic_of_record};

/// The schema id of a reader-only codec's types: never a registered id.
const READ_ONLY: u32 = u32::MAX;

/// The most apache-avro may allocate at once for one value it decodes (a string, the
/// items of an array), set for the whole process when the first codec is built.
/// apache-avro allocates what a length prefix declares before reading it, up to 512 MiB
/// by default: a 6-byte record declaring a 500 MB string reserved 500 MB of address
/// space, and a record of a registered writer schema with an array of `null`s (items
/// of zero bytes) made a 4-byte body fill 460 MB and take a second before it failed.
/// An event is a few KB (the API's limits bound every value a client sends), so 16 MiB
/// leaves room for any real record and refuses the rest as malformed at once.
pub const MAX_ALLOCATION_BYTES: usize = 16 * 1024 * 1024;

/// An encoded event: what the store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub event_type: &'static str,
    pub schema_id: u32,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("record is not in the Confluent wire format: {0}")]
    Framing(String),
    #[error("unknown schema id {0}")]
    UnknownSchema(u32),
    #[error("schema {id} describes {name}, which this service does not know")]
    UnknownType { id: u32, name: String },
    #[error("the body does not decode with schema {id}: {reason}")]
    Malformed { id: u32, reason: String },
    #[error("the event decodes but is invalid: {0}")]
    Invalid(#[from] DomainError),
    #[error("encoding {event_type} failed: {reason}")]
    Encode {
        event_type: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Registry(RegistryError),
    /// A bug: personal data reached the encoder in the clear (or erased) instead of
    /// sealed under its subject's key.
    #[error(
        "{event_type} carries personal data that was not sealed: it is never written in the clear"
    )]
    Unsealed { event_type: &'static str },
    /// A process wired without the key store was asked to write personal data: it never
    /// can, so the write is refused for good rather than retried.
    #[error(
        "this process has no key store to seal personal data with: it cannot write {event_type}'s personal data"
    )]
    NoKeyStore { event_type: &'static str },
    /// Sealing or opening personal data failed: the key store is unavailable (passes),
    /// or it has no key for the data (the wrong or a lost key store), or the data was
    /// altered.
    #[error(transparent)]
    Keys(#[from] crate::keys::seal::SealError),
}

impl CodecError {
    /// Whether trying again may succeed: the registry or the key store unavailable.
    pub fn is_transient(&self) -> bool {
        match self {
            CodecError::Registry(e) => e.is_transient(),
            CodecError::Keys(e) => e.is_transient(),
            _ => false,
        }
    }
}

struct TypeCodec {
    name: &'static str,
    schema: &'static Schema,
    id: u32,
    writer: GenericDatumWriter<'static>,
    reader: GenericDatumReader<'static>,
}

/// Encodes and decodes events. Writing uses the repository's schemas; reading resolves
/// the writer's schema (looked up by id) against them.
pub struct EventCodec {
    registry: Arc<dyn SchemaRegistry>,
    by_type: HashMap<&'static str, TypeCodec>,
    writers: RwLock<HashMap<u32, Arc<Schema>>>,
    upcasters: Vec<Box<dyn upcast::Upcaster>>,
    /// The keys of personal data: with them, decoding opens what is sealed and
    /// [`EventCodec::seal`] seals; without them, personal data stays sealed, as a
    /// foreign consumer sees it, and cannot be written.
    keys: Option<Arc<dyn KeyStore>>,
}

impl fmt::Debug for EventCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventCodec")
            .field("registry", &self.registry)
            .field("types", &self.by_type.len())
            .finish()
    }
}

impl EventCodec {
    /// Registers every schema of the repository (its history first) and readies the codec.
    pub async fn new(registry: Arc<dyn SchemaRegistry>) -> Result<Self, CodecError> {
        for (name, text) in HISTORY_FILES {
            registry
                .register(&subject_of(*name), text)
                .await
                .map_err(CodecError::Registry)?;
        }
        let mut types = Vec::new();
        for ((name, text), (_, schema)) in SCHEMA_FILES.iter().zip(SCHEMAS.iter()) {
            let id = registry
                .register(&subject_of(*name), text)
                .await
                .map_err(CodecError::Registry)?;
            types.push((name.name(), schema, id));
        }
        Self::build(registry, types)
    }

    /// A codec that only reads, with other reader schemas (say, the `.avsc` files of a
    /// change under review), registering nothing. Every event goes through schema
    /// resolution. The schemas are kept for the life of the process, which suits the
    /// tools that use this.
    pub fn reader(
        registry: Arc<dyn SchemaRegistry>,
        schemas: &[(String, String)],
    ) -> Result<Self, CodecError> {
        let mut types = Vec::new();
        for (name, text) in schemas {
            let Some(name) = EventType::parse(name) else {
                return Err(CodecError::UnknownType {
                    id: 0,
                    name: name.clone(),
                });
            };
            let schema = Schema::parse_str(text).map_err(|e| CodecError::Malformed {
                id: 0,
                reason: format!("{name}: {e}"),
            })?;
            let schema: &'static Schema = Box::leak(Box::new(schema));
            types.push((name.name(), schema, READ_ONLY));
        }
        Self::build(registry, types)
    }

    fn build(
        registry: Arc<dyn SchemaRegistry>,
        types: Vec<(&'static str, &'static Schema, u32)>,
    ) -> Result<Self, CodecError> {
        // Process-wide, and kept from the first call on (apache-avro's rule).
        apache_avro::util::max_allocation_bytes(MAX_ALLOCATION_BYTES);
        let mut by_type = HashMap::new();
        let mut writers = HashMap::new();
        for (name, schema, id) in types {
            let build_err = |e: apache_avro::Error| CodecError::Encode {
                event_type: name,
                reason: e.to_string(),
            };
            let writer = GenericDatumWriter::builder(schema)
                .validate(false)
                .build()
                .map_err(build_err)?;
            let reader = GenericDatumReader::builder(schema)
                .build()
                .map_err(build_err)?;
            if id != READ_ONLY {
                writers.insert(id, Arc::new(schema.clone()));
            }
            by_type.insert(
                name,
                TypeCodec {
                    name,
                    schema,
                    id,
                    writer,
                    reader,
                },
            );
        }
        Ok(Self {
            registry,
            by_type,
            writers: RwLock::new(writers),
            upcasters: upcast::builtin(),
            keys: None,
        })
    }

    /// The schema id events of this type are written with.
    pub fn schema_id(&self, event_type: &str) -> Option<u32> {
        self.by_type.get(event_type).map(|t| t.id)
    }

    pub fn encode(&self, event: &Event) -> Result<Encoded, CodecError> {
        if event
            .personal()
            .iter()
            .any(|value| !matches!(value, Personal::Sealed(_)))
        {
            return Err(CodecError::Unsealed {
                event_type: event.type_name(),
            });
        }
        let codec = self
            .by_type
            .get(event.type_name())
            .filter(|c| c.id != READ_ONLY)
            .ok_or_else(|| CodecError::Encode {
                event_type: event.type_name(),
                reason: "this codec only reads".into(),
            })?;
        let payload = codec
            .writer
            .write_ser_to_vec(&wire::to_wire(event))
            .map_err(|e| CodecError::Encode {
                event_type: codec.name,
                reason: e.to_string(),
            })?;
        Ok(Encoded {
            event_type: codec.name,
            schema_id: codec.id,
            payload,
        })
    }

    /// Decodes an event body written with schema `schema_id`, its personal data opened
    /// (or read as erased) if this codec has the key store.
    pub async fn decode(&self, schema_id: u32, payload: &[u8]) -> Result<Event, CodecError> {
        let mut event = self.decode_sealed(schema_id, payload).await?;
        self.open_personal(&mut event).await?;
        Ok(event)
    }

    /// Decodes an event body as it is stored: its personal data left sealed, for a
    /// reader that keeps it (the read models) rather than shows it.
    pub async fn decode_sealed(&self, schema_id: u32, payload: &[u8]) -> Result<Event, CodecError> {
        let writer = self.writer_schema(schema_id).await?;
        let name = match writer.as_ref() {
            Schema::Record(r) => r.name.name().to_owned(),
            _ => String::new(),
        };
        let Some(codec) = self.by_type.get(name.as_str()) else {
            return self.upcast(schema_id, &writer, name, payload);
        };
        let malformed = |e: apache_avro::Error| CodecError::Malformed {
            id: schema_id,
            reason: e.to_string(),
        };
        let mut body = payload;
        let event = if codec.id == schema_id {
            // Hot path: written with our own schema, deserialise straight from the bytes.
            wire::from_wire(codec.name, Direct(&codec.reader, &mut body, schema_id))?
        } else {
            // Another writer's schema may nest deeper than apache-avro's decoder can go
            // on a worker's stack (ours are checked by a test).
            depth::check(&writer).map_err(|reason| CodecError::Malformed {
                id: schema_id,
                reason,
            })?;
            let value = GenericDatumReader::builder(&writer)
                .reader_schema(codec.schema)
                .build()
                .and_then(|r| r.read_value(&mut body))
                .map_err(malformed)?;
            wire::from_wire(codec.name, Resolved(value, schema_id))?
        };
        if !body.is_empty() {
            return Err(CodecError::Malformed {
                id: schema_id,
                reason: format!("{} bytes left after the record", body.len()),
            });
        }
        Ok(event)
    }

    /// Reads a record of a type that is no longer current through its upcaster.
    fn upcast(
        &self,
        schema_id: u32,
        writer: &Schema,
        name: String,
        payload: &[u8],
    ) -> Result<Event, CodecError> {
        let upcaster = self.upcasters.iter().find(|u| u.reads() == name);
        let target = upcaster.and_then(|u| self.by_type.get(u.produces().name()));
        let (Some(upcaster), Some(target)) = (upcaster, target) else {
            return Err(CodecError::UnknownType {
                id: schema_id,
                name,
            });
        };
        let malformed = |reason: String| CodecError::Malformed {
            id: schema_id,
            reason,
        };
        depth::check(writer).map_err(&malformed)?;
        let mut body = payload;
        let old = GenericDatumReader::builder(writer)
            .build()
            .and_then(|r| r.read_value(&mut body))
            .map_err(|e| malformed(e.to_string()))?;
        if !body.is_empty() {
            return Err(malformed(format!(
                "{} bytes left after the record",
                body.len()
            )));
        }
        let current = upcaster
            .upcast(old)
            .and_then(|v| v.resolve(target.schema).map_err(|e| e.to_string()))
            .map_err(|e| malformed(format!("upcasting {name} to {}: {e}", target.name)))?;
        wire::from_wire(target.name, Resolved(current, schema_id))
    }

    /// Decodes a record in the Confluent wire format.
    pub async fn decode_framed(&self, bytes: &[u8]) -> Result<Event, CodecError> {
        let (id, body) = unframe(bytes)?;
        self.decode(id, body).await
    }

    /// Decodes a record in the Confluent wire format, its personal data left sealed
    /// (see [`EventCodec::decode_sealed`]).
    pub async fn decode_framed_sealed(&self, bytes: &[u8]) -> Result<Event, CodecError> {
        let (id, body) = unframe(bytes)?;
        self.decode_sealed(id, body).await
    }

    async fn writer_schema(&self, id: u32) -> Result<Arc<Schema>, CodecError> {
        if let Some(s) = self
            .writers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            return Ok(s.clone());
        }
        let text = self.registry.schema(id).await.map_err(|e| match e {
            RegistryError::SchemaNotFound(id) => CodecError::UnknownSchema(id),
            other => CodecError::Registry(other),
        })?;
        // Parsed as the registry parses (a writer's defaults can otherwise make
        // apache-avro recurse without end).
        let parsed =
            crate::registry::normalise("", &text, &[]).map_err(|e| CodecError::Malformed {
                id,
                reason: format!("registered schema does not parse: {e}"),
            })?;
        let schema = Arc::new(parsed.0.schema);
        self.writers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, schema.clone());
        Ok(schema)
    }
}

struct Direct<'a, 'b>(&'a GenericDatumReader<'static>, &'a mut &'b [u8], u32);

impl wire::WireSource for Direct<'_, '_> {
    fn read<T: serde::de::DeserializeOwned>(self) -> Result<T, CodecError> {
        self.0
            .read_deser(self.1)
            .map_err(|e| CodecError::Malformed {
                id: self.2,
                reason: e.to_string(),
            })
    }
}

struct Resolved(apache_avro::types::Value, u32);

impl wire::WireSource for Resolved {
    fn read<T: serde::de::DeserializeOwned>(self) -> Result<T, CodecError> {
        apache_avro::from_value(&self.0).map_err(|e| CodecError::Malformed {
            id: self.1,
            reason: e.to_string(),
        })
    }
}

/// The event as JSON, in its wire shape (for the audit trail).
pub fn to_json(event: &Event) -> serde_json::Value {
    let mut json = serde_json::to_value(wire::to_wire(event)).unwrap_or(serde_json::Value::Null);
    // Personal data as a reader with the keys sees it: the text, or `[erased]`; sealed,
    // the bytes, as a foreign consumer without the keys sees them.
    if let Event::OrderCreated(e) = event {
        match &e.shipping_address {
            Some(Personal::Clear { text, .. }) => json["shippingAddress"] = text.as_str().into(),
            Some(Personal::Erased) => json["shippingAddress"] = "[erased]".into(),
            Some(Personal::Sealed(_)) | None => {}
        }
    }
    json
}

#[cfg(test)]
mod tests;
