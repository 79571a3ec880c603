//! What the registry's handlers share: Confluent's error shape for every failure (its
//! own errors and HTTP-level ones: 400, 404, 405, 413, 415), replies in its content
//! type, request bodies and query flags.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderflow_core::registry::{RegistryError, SchemaReference};
use serde::Deserialize;
use serde_json::{Value, json};

pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A failure, answered as Confluent answers it: `{"error_code", "message"}`.
#[derive(Debug)]
pub enum RegistryApiError {
    Registry(RegistryError),
    /// An HTTP-level failure: the status is also the error code.
    Http(StatusCode, String),
}

impl From<RegistryError> for RegistryApiError {
    fn from(e: RegistryError) -> Self {
        Self::Registry(e)
    }
}

impl IntoResponse for RegistryApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            RegistryApiError::Registry(RegistryError::Unavailable(e)) => {
                tracing::error!(error = %e, "schema registry storage failed");
                let message = "Error in the backend data store".to_owned();
                (StatusCode::INTERNAL_SERVER_ERROR, 50001, message)
            }
            RegistryApiError::Registry(e) => {
                let status = StatusCode::from_u16(e.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, e.error_code(), e.to_string())
            }
            RegistryApiError::Http(status, message) => {
                (status, u32::from(status.as_u16()), message)
            }
        };
        reply(status, json!({ "error_code": code, "message": message }))
    }
}

impl RegistryApiError {
    fn http(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or_default();
        Self::Http(status, format!("HTTP {} {reason}", status.as_u16()))
    }
}

pub type Answer = Result<Response, RegistryApiError>;

pub fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

pub fn ok(body: Value) -> Answer {
    Ok(reply(StatusCode::OK, body))
}

#[utoipa::path(
    get,
    path = "/",
    operation_id = "registry_reply_root",
    tag = "schema-registry",
    summary = "The registry's root",
    responses(
        (status = 200, description = "`{}`.", body = Object),
    ),
)]
pub async fn root() -> Answer {
    ok(json!({}))
}

pub async fn no_route() -> RegistryApiError {
    RegistryApiError::http(StatusCode::NOT_FOUND)
}

pub async fn wrong_method() -> RegistryApiError {
    RegistryApiError::http(StatusCode::METHOD_NOT_ALLOWED)
}

/// Query parameters: booleans read as Java reads them (`true` in any case is true,
/// anything else false), parameters the registry does not know ignored.
#[derive(Debug, Default)]
pub struct Flags(HashMap<String, String>);

impl Flags {
    pub fn flag(&self, name: &str) -> bool {
        self.0
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flags {
    type Rejection = RegistryApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|q| Flags(q.0))
            .map_err(|e: QueryRejection| {
                RegistryApiError::Http(StatusCode::BAD_REQUEST, e.body_text())
            })
    }
}

/// Path parameters, refused in Confluent's shape (axum's own rejection, for a segment
/// whose percent-encoding is not UTF-8 such as `%FF`, is plain text).
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = RegistryApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| {
                RegistryApiError::Http(StatusCode::BAD_REQUEST, e.body_text())
            })
    }
}

/// A request's JSON body: a JSON content type (or none), within the size limit.
#[derive(Debug)]
pub struct Json<T>(pub T);

fn json_content_type(parts: &Request) -> bool {
    let Some(essence) = crate::http::extract::essence(parts) else {
        return true;
    };
    matches!(
        essence.as_str(),
        "application/vnd.schemaregistry.v1+json"
            | "application/vnd.schemaregistry+json"
            | "application/json"
            | "application/octet-stream"
    )
}

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = RegistryApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(&req) {
            return Err(RegistryApiError::http(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    RegistryApiError::http(StatusCode::PAYLOAD_TOO_LARGE)
                }
                status => RegistryApiError::Http(status, e.body_text()),
            })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            RegistryApiError::Http(StatusCode::BAD_REQUEST, format!("Unreadable JSON: {e}"))
        })?;
        serde_json::from_value(value).map(Json).map_err(|e| {
            RegistryApiError::Http(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Unprocessable request: {e}"),
            )
        })
    }
}

/// The body of a registration, a lookup or a compatibility check.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaBody {
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<SchemaReference>,
}

impl SchemaBody {
    /// The Avro schema and its references; other schema types are not served.
    pub fn avro(self, subject: &str) -> Result<(String, Vec<SchemaReference>), RegistryError> {
        let invalid = |reason: &str| RegistryError::InvalidSchema {
            subject: subject.to_owned(),
            reason: reason.to_owned(),
        };
        match self.schema_type.as_deref() {
            None | Some("AVRO") => {}
            Some(other) => {
                return Err(invalid(&format!(
                    "Invalid schema type {other}: this registry serves AVRO only"
                )));
            }
        }
        match self.schema {
            Some(s) if !s.trim().is_empty() => Ok((s, self.references)),
            _ => Err(invalid("Empty schema")),
        }
    }
}

/// A schema's references as Confluent writes them, only when it has some.
pub fn with_references(mut body: Value, references: &[SchemaReference]) -> Value {
    if !references.is_empty() {
        body["references"] = json!(references);
    }
    body
}
