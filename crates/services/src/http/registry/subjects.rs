//! Subjects and their versions: register, look up, read, delete (softly, then for good).

use std::sync::Arc;

use axum::extract::State;
use orderflow_core::registry::{Registry, SubjectVersion, VersionRef};
use serde_json::{Value, json};

use super::reply::{Answer, Flags, Json, Path, SchemaBody, ok, with_references};

fn version_json(v: &SubjectVersion) -> Value {
    with_references(
        json!({ "subject": v.subject, "version": v.version, "id": v.id, "schema": v.schema }),
        &v.references,
    )
}

pub async fn list(State(r): State<Arc<Registry>>, flags: Flags) -> Answer {
    ok(json!(r.subjects(flags.flag("deleted")).await?))
}

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

pub async fn register(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Json(body): Json<SchemaBody>,
) -> Answer {
    let (schema, references) = body.avro(&subject)?;
    let registered = r.register_version(&subject, &schema, &references).await?;
    ok(json!({ "id": registered.id }))
}

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

pub async fn delete(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    flags: Flags,
) -> Answer {
    ok(json!(
        r.delete_subject(&subject, flags.flag("permanent")).await?
    ))
}

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
