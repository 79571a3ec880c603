//! Subjects and their versions: register, look up, read, delete (softly, then for good).

use std::sync::Arc;

use axum::extract::State;
use orderflow_core::registry::{Registry, SubjectVersion, VersionRef};
use serde_json::{Value, json};

use super::openapi;
use super::reply::{Answer, Flags, Json, Path, SchemaBody, ok, with_references};

fn version_json(v: &SubjectVersion) -> Value {
    with_references(
        json!({ "subject": v.subject, "version": v.version, "id": v.id, "schema": v.schema }),
        &v.references,
    )
}

#[utoipa::path(
    get,
    path = "/subjects",
    operation_id = "registry_subjects_list",
    tag = "schema-registry",
    summary = "The subjects",
    params(
        ("deleted" = Option<bool>, Query, description = "`true`: include soft-deleted ones."),
    ),
    responses(
        (status = 200, description = "Their names.", body = Vec<String>),
    ),
)]
pub async fn list(State(r): State<Arc<Registry>>, flags: Flags) -> Answer {
    ok(json!(r.subjects(flags.flag("deleted")).await?))
}

#[utoipa::path(
    get,
    path = "/subjects/{subject}/versions",
    operation_id = "registry_subjects_versions",
    tag = "schema-registry",
    summary = "A subject's versions",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("deleted" = Option<bool>, Query, description = "`true`: include soft-deleted ones."),
    ),
    responses(
        (status = 200, description = "Their numbers.", body = Vec<u32>),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
    ),
)]
pub async fn versions(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    flags: Flags,
) -> Answer {
    let versions = r.versions(&subject, flags.flag("deleted")).await?;
    ok(json!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>()
    ))
}

#[utoipa::path(
    post,
    path = "/subjects/{subject}/versions",
    operation_id = "registry_subjects_register",
    tag = "schema-registry",
    summary = "Register a schema under a subject",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
    ),
    request_body = openapi::SchemaRequest,
    responses(
        (status = 200, description = "Its global id (the same id for a schema registered before).", body = openapi::Registered),
        (status = 409, description = "Incompatible with the subject's versions as its level says (`40901`).", body = openapi::RegistryError),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn register(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Json(body): Json<SchemaBody>,
) -> Answer {
    let (schema, references) = body.avro(&subject)?;
    let registered = r.register_version(&subject, &schema, &references).await?;
    ok(json!({ "id": registered.id }))
}

#[utoipa::path(
    post,
    path = "/subjects/{subject}",
    operation_id = "registry_subjects_lookup",
    tag = "schema-registry",
    summary = "Look a schema up in a subject",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("deleted" = Option<bool>, Query, description = "`true`: include soft-deleted ones."),
    ),
    request_body = openapi::SchemaRequest,
    responses(
        (status = 200, description = "The version that has this schema.", body = openapi::SubjectVersion),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn lookup(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    flags: Flags,
    Json(body): Json<SchemaBody>,
) -> Answer {
    let (schema, references) = body.avro(&subject)?;
    let found = r
        .lookup(&subject, &schema, &references, flags.flag("deleted"))
        .await?;
    ok(version_json(&found))
}

#[utoipa::path(
    get,
    path = "/subjects/{subject}/versions/{version}",
    operation_id = "registry_subjects_version",
    tag = "schema-registry",
    summary = "A version of a subject",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("version" = String, Path, description = "A version number, or `latest` (or `-1`)."),
        ("deleted" = Option<bool>, Query, description = "`true`: include soft-deleted ones."),
    ),
    responses(
        (status = 200, description = "The version.", body = openapi::SubjectVersion),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn version(
    State(r): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
    flags: Flags,
) -> Answer {
    let which: VersionRef = version.parse()?;
    ok(version_json(
        &r.version(&subject, which, flags.flag("deleted")).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/subjects/{subject}/versions/{version}/schema",
    operation_id = "registry_subjects_raw_schema",
    tag = "schema-registry",
    summary = "A version's schema alone",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("version" = String, Path, description = "A version number, or `latest` (or `-1`)."),
        ("deleted" = Option<bool>, Query, description = "`true`: include soft-deleted ones."),
    ),
    responses(
        (status = 200, description = "The Avro schema itself (JSON).", body = Object),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn raw_schema(
    State(r): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
    flags: Flags,
) -> Answer {
    let which: VersionRef = version.parse()?;
    let v = r.version(&subject, which, flags.flag("deleted")).await?;
    ok(serde_json::from_str(&v.schema).unwrap_or(Value::String(v.schema)))
}

/// The ids of the schemas that reference this version.
#[utoipa::path(
    get,
    path = "/subjects/{subject}/versions/{version}/referencedby",
    operation_id = "registry_subjects_referenced_by",
    tag = "schema-registry",
    summary = "The schemas that reference a version",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("version" = String, Path, description = "A version number, or `latest` (or `-1`)."),
    ),
    responses(
        (status = 200, description = "Their global ids.", body = Vec<u32>),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn referenced_by(
    State(r): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
) -> Answer {
    let which: VersionRef = version.parse()?;
    let target = r.version(&subject, which, false).await?;
    let mut ids = Vec::new();
    for v in r.referrers(&target.subject, target.version, false).await? {
        if !ids.contains(&v.id) {
            ids.push(v.id);
        }
    }
    ok(json!(ids))
}

#[utoipa::path(
    delete,
    path = "/subjects/{subject}",
    operation_id = "registry_subjects_delete",
    tag = "schema-registry",
    summary = "Delete a subject (softly, or for good)",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("permanent" = Option<bool>, Query, description = "`true`: delete for good what was soft-deleted (admin)."),
    ),
    responses(
        (status = 200, description = "The versions deleted.", body = Vec<u32>),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn delete(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    flags: Flags,
) -> Answer {
    ok(json!(
        r.delete_subject(&subject, flags.flag("permanent")).await?
    ))
}

#[utoipa::path(
    delete,
    path = "/subjects/{subject}/versions/{version}",
    operation_id = "registry_subjects_delete_version",
    tag = "schema-registry",
    summary = "Delete a version (softly, or for good)",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("version" = String, Path, description = "A version number, or `latest` (or `-1`)."),
        ("permanent" = Option<bool>, Query, description = "`true`: delete for good what was soft-deleted (admin)."),
    ),
    responses(
        (status = 200, description = "The version deleted.", body = u32),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn delete_version(
    State(r): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
    flags: Flags,
) -> Answer {
    let which: VersionRef = version.parse()?;
    ok(json!(
        r.delete_version(&subject, which, flags.flag("permanent"))
            .await?
    ))
}
