//! The embedded schema registry, speaking Confluent's Schema Registry REST API, served
//! under `/schema-registry` (so a Confluent client is configured with
//! `http://<orderflow>/schema-registry`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use orderflow_core::registry::{
    CompatibilityLevel, Registry, RegistryError, SubjectVersion, VersionRef,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A registry error as Confluent reports it: `{"error_code", "message"}`.
#[derive(Debug)]
pub struct RegistryApiError(RegistryError);

impl From<RegistryError> for RegistryApiError {
    fn from(e: RegistryError) -> Self {
        Self(e)
    }
}

impl IntoResponse for RegistryApiError {
    fn into_response(self) -> Response {
        let code = self.0.error_code();
        let status = match code {
            40401..=40499 => StatusCode::NOT_FOUND,
            409 => StatusCode::CONFLICT,
            42201..=42299 => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match &self.0 {
            RegistryError::Unavailable(e) => {
                tracing::error!(error = %e, "schema registry storage failed");
                "Error in the backend data store".to_owned()
            }
            other => other.to_string(),
        };
        reply(status, json!({ "error_code": code, "message": message }))
    }
}

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Value) -> Result<Response, RegistryApiError> {
    Ok(reply(StatusCode::OK, body))
}

/// Reads a JSON body whatever its content type (clients send
/// `application/vnd.schemaregistry.v1+json`).
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, RegistryApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        RegistryApiError(RegistryError::InvalidSchema {
            subject: String::new(),
            reason: format!("the request body is not valid: {e}"),
        })
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaBody {
    schema: String,
    #[serde(default)]
    schema_type: Option<String>,
}

impl SchemaBody {
    fn avro(self, subject: &str) -> Result<String, RegistryApiError> {
        match self.schema_type.as_deref() {
            None | Some("AVRO") => Ok(self.schema),
            Some(other) => Err(RegistryApiError(RegistryError::InvalidSchema {
                subject: subject.to_owned(),
                reason: format!("schema type {other} is not supported; only AVRO"),
            })),
        }
    }
}

fn version_json(v: &SubjectVersion) -> Value {
    json!({ "subject": v.subject, "version": v.version, "id": v.id, "schema": v.schema })
}

pub fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}", post(lookup))
        .route("/subjects/{subject}/versions", get(versions).post(register))
        .route("/subjects/{subject}/versions/{version}", get(version))
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(raw_schema),
        )
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility),
        )
        .route("/config", get(global_config).put(set_global_config))
        .route(
            "/config/{subject}",
            get(subject_config).put(set_subject_config),
        )
}

async fn subjects(State(r): State<Arc<Registry>>) -> Result<Response, RegistryApiError> {
    ok(json!(r.subjects().await?))
}

async fn versions(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
) -> Result<Response, RegistryApiError> {
    let versions: Vec<u32> = r
        .versions(&subject)
        .await?
        .iter()
        .map(|v| v.version)
        .collect();
    ok(json!(versions))
}

async fn register(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    bytes: Bytes,
) -> Result<Response, RegistryApiError> {
    let schema = body::<SchemaBody>(&bytes)?.avro(&subject)?;
    let registered = r.register_version(&subject, &schema).await?;
    ok(json!({ "id": registered.id }))
}

async fn lookup(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    bytes: Bytes,
) -> Result<Response, RegistryApiError> {
    let schema = body::<SchemaBody>(&bytes)?.avro(&subject)?;
    ok(version_json(&r.lookup(&subject, &schema).await?))
}

async fn version(
    State(r): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
) -> Result<Response, RegistryApiError> {
    ok(version_json(&r.version(&subject, version.parse()?).await?))
}

async fn raw_schema(
    State(r): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
) -> Result<Response, RegistryApiError> {
    let v = r.version(&subject, version.parse()?).await?;
    Ok(reply(
        StatusCode::OK,
        serde_json::from_str(&v.schema).unwrap_or(Value::String(v.schema)),
    ))
}

async fn schema_by_id(
    State(r): State<Arc<Registry>>,
    Path(id): Path<u32>,
) -> Result<Response, RegistryApiError> {
    use orderflow_core::registry::SchemaRegistry;
    ok(json!({ "schema": r.schema(id).await? }))
}

#[derive(Debug, Deserialize)]
struct Verbose {
    #[serde(default)]
    verbose: bool,
}

async fn compatibility(
    State(r): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Query<Verbose>,
    bytes: Bytes,
) -> Result<Response, RegistryApiError> {
    let which: VersionRef = version.parse()?;
    let schema = body::<SchemaBody>(&bytes)?.avro(&subject)?;
    let messages = r.incompatibilities(&subject, &schema, Some(which)).await?;
    let mut answer = json!({ "is_compatible": messages.is_empty() });
    if q.verbose || !messages.is_empty() {
        answer["messages"] = json!(messages);
    }
    ok(answer)
}

#[derive(Debug, Deserialize)]
struct LevelBody {
    compatibility: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DefaultToGlobal {
    #[serde(default)]
    default_to_global: bool,
}

async fn global_config(State(r): State<Arc<Registry>>) -> Result<Response, RegistryApiError> {
    ok(json!({ "compatibilityLevel": r.global_level().await?.as_str() }))
}

async fn set_global_config(
    State(r): State<Arc<Registry>>,
    bytes: Bytes,
) -> Result<Response, RegistryApiError> {
    let level: CompatibilityLevel = body::<LevelBody>(&bytes)?.compatibility.parse()?;
    r.set_level(None, level).await?;
    ok(json!({ "compatibility": level.as_str() }))
}

async fn subject_config(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Query(q): Query<DefaultToGlobal>,
) -> Result<Response, RegistryApiError> {
    match r.subject_level(&subject).await? {
        Some(level) => ok(json!({ "compatibilityLevel": level.as_str() })),
        None if q.default_to_global => global_config(State(r)).await,
        None => Ok(reply(
            StatusCode::NOT_FOUND,
            json!({
                "error_code": 40408,
                "message": format!("Subject '{subject}' does not have subject-level compatibility configured"),
            }),
        )),
    }
}

async fn set_subject_config(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    bytes: Bytes,
) -> Result<Response, RegistryApiError> {
    let level: CompatibilityLevel = body::<LevelBody>(&bytes)?.compatibility.parse()?;
    r.set_level(Some(&subject), level).await?;
    ok(json!({ "compatibility": level.as_str() }))
}
