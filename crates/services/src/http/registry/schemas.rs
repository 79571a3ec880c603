//! Schemas by their global id, and the schema types this registry serves.

use std::sync::Arc;

use axum::extract::State;
use orderflow_core::registry::{Registry, RegistryError, StoredSchema};
use serde_json::{Value, json};

use super::reply::{Answer, Flags, Path, ok, with_references};

pub async fn types() -> Answer {
    ok(json!(["AVRO"]))
}

async fn stored(r: &Registry, id: &str) -> Result<StoredSchema, RegistryError> {
    match id.parse::<u32>() {
        Ok(id) => r.schema_by_id(id).await,
        Err(_) => Err(RegistryError::SchemaNotRegistered(id.to_owned())),
    }
}

pub async fn by_id(State(r): State<Arc<Registry>>, Path(id): Path<String>) -> Answer {
    let s = stored(&r, &id).await?;
    ok(with_references(
        json!({ "schema": s.schema }),
        &s.references,
    ))
}

pub async fn raw_by_id(State(r): State<Arc<Registry>>, Path(id): Path<String>) -> Answer {
    let s = stored(&r, &id).await?;
    ok(serde_json::from_str(&s.schema).unwrap_or(Value::String(s.schema)))
}

/// The subject-versions registered with this schema.
pub async fn versions(
    State(r): State<Arc<Registry>>,
    Path(id): Path<String>,
    flags: Flags,
) -> Answer {
    let s = stored(&r, &id).await?;
    let versions = r.versions_of_id(s.id, flags.flag("deleted")).await?;
    let pairs: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "subject": v.subject, "version": v.version }))
        .collect();
    ok(json!(pairs))
}

pub async fn subjects(
    State(r): State<Arc<Registry>>,
    Path(id): Path<String>,
    flags: Flags,
) -> Answer {
    let s = stored(&r, &id).await?;
    let mut subjects: Vec<String> = r
        .versions_of_id(s.id, flags.flag("deleted"))
        .await?
        .into_iter()
        .map(|v| v.subject)
        .collect();
    subjects.dedup();
    ok(json!(subjects))
}
