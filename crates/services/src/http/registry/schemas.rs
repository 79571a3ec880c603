//! Schemas by their global id, and the schema types this registry serves.

use std::sync::Arc;

use axum::extract::State;
use orderflow_core::registry::{Registry, RegistryError, StoredSchema};
use serde_json::{Value, json};

use super::openapi;
use super::reply::{Answer, Flags, Path, ok, with_references};

#[utoipa::path(
    get,
    path = "/schemas/types",
    operation_id = "registry_schemas_types",
    tag = "schema-registry",
    summary = "The schema types served",
    responses(
        (status = 200, description = "`[\"AVRO\"]`.", body = Vec<String>),
    ),
)]
pub async fn types() -> Answer {
    ok(json!(["AVRO"]))
}

async fn stored(r: &Registry, id: &str) -> Result<StoredSchema, RegistryError> {
    match id.parse::<u32>() {
        Ok(id) => r.schema_by_id(id).await,
        Err(_) => Err(RegistryError::SchemaNotRegistered(id.to_owned())),
    }
}

#[utoipa::path(
    get,
    path = "/schemas/ids/{id}",
    operation_id = "registry_schemas_by_id",
    tag = "schema-registry",
    summary = "A schema by its global id",
    params(
        ("id" = u32, Path, description = "The schema's global id."),
    ),
    responses(
        (status = 200, description = "The schema.", body = openapi::SchemaById),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
    ),
)]
pub async fn by_id(State(r): State<Arc<Registry>>, Path(id): Path<String>) -> Answer {
    let s = stored(&r, &id).await?;
    ok(with_references(
        json!({ "schema": s.schema }),
        &s.references,
    ))
}

#[utoipa::path(
    get,
    path = "/schemas/ids/{id}/schema",
    operation_id = "registry_schemas_raw_by_id",
    tag = "schema-registry",
    summary = "A schema by its global id, alone",
    params(
        ("id" = u32, Path, description = "The schema's global id."),
    ),
    responses(
        (status = 200, description = "The Avro schema itself (JSON).", body = Object),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
    ),
)]
pub async fn raw_by_id(State(r): State<Arc<Registry>>, Path(id): Path<String>) -> Answer {
    let s = stored(&r, &id).await?;
    ok(serde_json::from_str(&s.schema).unwrap_or(Value::String(s.schema)))
}

/// The subject-versions registered with this schema.
#[utoipa::path(
    get,
    path = "/schemas/ids/{id}/versions",
    operation_id = "registry_schemas_versions",
    tag = "schema-registry",
    summary = "The subject-versions of a schema",
    params(
        ("id" = u32, Path, description = "The schema's global id."),
        ("deleted" = Option<bool>, Query, description = "`true`: include soft-deleted ones."),
    ),
    responses(
        (status = 200, description = "Each subject and version registered with it.", body = Vec<openapi::SubjectAndVersion>),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/schemas/ids/{id}/subjects",
    operation_id = "registry_schemas_subjects",
    tag = "schema-registry",
    summary = "The subjects of a schema",
    params(
        ("id" = u32, Path, description = "The schema's global id."),
        ("deleted" = Option<bool>, Query, description = "`true`: include soft-deleted ones."),
    ),
    responses(
        (status = 200, description = "Their names.", body = Vec<String>),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
    ),
)]
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
