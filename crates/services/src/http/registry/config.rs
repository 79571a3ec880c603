//! Compatibility levels (global and per subject) and compatibility checks.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use orderflow_core::registry::{Against, CompatibilityLevel, Registry, VersionRef};
use serde::Deserialize;
use serde_json::json;

use super::openapi;
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
#[utoipa::path(
    post,
    path = "/compatibility/subjects/{subject}/versions",
    operation_id = "registry_config_compatibility_with_all",
    tag = "schema-registry",
    summary = "Check a schema against a subject",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("verbose" = Option<bool>, Query, description = "`true`: say why not in `messages`."),
    ),
    request_body = openapi::SchemaRequest,
    responses(
        (status = 200, description = "Whether it is compatible with the subject's versions as its level says.", body = openapi::Compatibility),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn compatibility_with_all(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    flags: Flags,
    Json(body): Json<SchemaBody>,
) -> Answer {
    check(&r, &subject, Against::Level, &flags, body).await
}

/// Against one version (`latest` of an empty subject: compatible).
#[utoipa::path(
    post,
    path = "/compatibility/subjects/{subject}/versions/{version}",
    operation_id = "registry_config_compatibility_with_version",
    tag = "schema-registry",
    summary = "Check a schema against one version",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("version" = String, Path, description = "A version number, or `latest` (or `-1`)."),
        ("verbose" = Option<bool>, Query, description = "`true`: say why not in `messages`."),
    ),
    request_body = openapi::SchemaRequest,
    responses(
        (status = 200, description = "Whether it is compatible with that version (`latest` of an empty subject: yes).", body = openapi::Compatibility),
        (status = 404, description = "No such subject, version or schema.", body = openapi::RegistryError),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/config",
    operation_id = "registry_config_global_level",
    tag = "schema-registry",
    summary = "The global compatibility level",
    responses(
        (status = 200, description = "The level.", body = openapi::Level),
    ),
)]
pub async fn global_level(State(r): State<Arc<Registry>>) -> Answer {
    ok(json!({ "compatibilityLevel": r.global_level().await?.as_str() }))
}

#[utoipa::path(
    put,
    path = "/config",
    operation_id = "registry_config_set_global_level",
    tag = "schema-registry",
    summary = "Set the global compatibility level (admin)",
    request_body = openapi::LevelSetting,
    responses(
        (status = 200, description = "The level set.", body = openapi::LevelSetting),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn set_global_level(
    State(r): State<Arc<Registry>>,
    Json(body): Json<LevelBody>,
) -> Answer {
    let level: CompatibilityLevel = body.compatibility.parse()?;
    r.set_level(None, level).await?;
    ok(json!({ "compatibility": level.as_str() }))
}

#[utoipa::path(
    get,
    path = "/config/{subject}",
    operation_id = "registry_config_subject_level",
    tag = "schema-registry",
    summary = "A subject's compatibility level",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
        ("defaultToGlobal" = Option<bool>, Query, description = "`true`: the global level when the subject has none."),
    ),
    responses(
        (status = 200, description = "The level.", body = openapi::Level),
        (status = 404, description = "The subject has no level of its own (`40408`).", body = openapi::RegistryError),
    ),
)]
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

#[utoipa::path(
    put,
    path = "/config/{subject}",
    operation_id = "registry_config_set_subject_level",
    tag = "schema-registry",
    summary = "Set a subject's compatibility level",
    params(
        ("subject" = String, Path, description = "The subject (a topic's `-value` or `-key`, or a record's name)."),
    ),
    request_body = openapi::LevelSetting,
    responses(
        (status = 200, description = "The level set.", body = openapi::LevelSetting),
        (status = 422, description = "An invalid schema, version or level.", body = openapi::RegistryError),
    ),
)]
pub async fn set_subject_level(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Json(body): Json<LevelBody>,
) -> Answer {
    let level: CompatibilityLevel = body.compatibility.parse()?;
    r.set_level(Some(&subject), level).await?;
    ok(json!({ "compatibility": level.as_str() }))
}
