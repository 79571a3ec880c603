//! Compatibility levels (global and per subject) and compatibility checks.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use orderflow_core::registry::{Against, CompatibilityLevel, Registry, VersionRef};
use serde::Deserialize;
use serde_json::json;

use super::reply::{Answer, Flags, Json, Path, SchemaBody, ok, reply};

async fn check(
    r: &Registry,
    subject: &str,
    against: Against,
    flags: &Flags,
    body: SchemaBody,
) -> Answer {
    let (schema, references) = body.avro(subject)?;
    let messages = r
        .incompatibilities(subject, &schema, &references, against)
        .await?;
    let mut answer = json!({ "is_compatible": messages.is_empty() });
    if flags.flag("verbose") {
        answer["messages"] = json!(messages);
    }
    ok(answer)
}

/// Against the subject's versions as its level says.
pub async fn compatibility_with_all(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    flags: Flags,
    Json(body): Json<SchemaBody>,
) -> Answer {
    check(&r, &subject, Against::Level, &flags, body).await
}

/// Against one version (`latest` of an empty subject: compatible).
pub async fn compatibility_with_version(
    State(r): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
    flags: Flags,
    Json(body): Json<SchemaBody>,
) -> Answer {
    let which: VersionRef = version.parse()?;
    check(&r, &subject, Against::Version(which), &flags, body).await
}

#[derive(Debug, Deserialize)]
pub struct LevelBody {
    compatibility: String,
}

pub async fn global_level(State(r): State<Arc<Registry>>) -> Answer {
    ok(json!({ "compatibilityLevel": r.global_level().await?.as_str() }))
}

pub async fn set_global_level(
    State(r): State<Arc<Registry>>,
    Json(body): Json<LevelBody>,
) -> Answer {
    let level: CompatibilityLevel = body.compatibility.parse()?;
    r.set_level(None, level).await?;
    ok(json!({ "compatibility": level.as_str() }))
}

pub async fn subject_level(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    flags: Flags,
) -> Answer {
    match r.subject_level(&subject).await? {
        Some(level) => ok(json!({ "compatibilityLevel": level.as_str() })),
        None if flags.flag("defaultToGlobal") => global_level(State(r)).await,
        None => Ok(reply(
            StatusCode::NOT_FOUND,
            json!({
                "error_code": 40408,
                "message": format!("Subject '{subject}' does not have subject-level compatibility configured"),
            }),
        )),
    }
}

pub async fn set_subject_level(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Json(body): Json<LevelBody>,
) -> Answer {
    let level: CompatibilityLevel = body.compatibility.parse()?;
    r.set_level(Some(&subject), level).await?;
    ok(json!({ "compatibility": level.as_str() }))
}
