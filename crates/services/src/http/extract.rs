//! Extractors whose rejections are `ApiError`s, so malformed requests get the API's own
//! JSON error body, and [`Field`], which reads a JSON body member by member so that
//! every refusal names the member.
//!
//! A JSON body is refused, in this order: `415` unless its content type is JSON
//! (`application/json` or `application/…+json`), `413` past
//! [`Limits::max_body_bytes`](super::Limits), `400` unless it parses as JSON, `422`
//! unless it is an object (an array of the fields in order is not one) or unless its
//! members are what the route takes.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use futures::StreamExt;
use orderflow_domain::DomainError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{ApiError, AppState};

/// A request body that is one JSON object, read whole (within the body limit) and
/// checked to parse; its members are read with [`JsonObject::members`].
#[derive(Debug)]
pub struct JsonObject(Bytes);

impl JsonObject {
    /// A body read by other means than the API's extractor (the benchmark's synchronous
    /// chain reads the same orders as the API).
    pub fn from_bytes(body: Bytes) -> Self {
        JsonObject(body)
    }

    /// The object's members as `T`, typically a struct of [`RawValue`]s with
    /// `deny_unknown_fields`: an unknown, missing or repeated member is `422`.
    pub fn members<'a, T: Deserialize<'a>>(&'a self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.0).map_err(|e| ApiError::Unprocessable(message(&e)))
    }
}

impl FromRequest<AppState> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.limits.max_body_bytes;
        check_content_type(&req)?;
        let too_large = || {
            ApiError::PayloadTooLarge(format!(
                "the body is larger than {limit} bytes, the most this API takes"
            ))
        };
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut chunks = req.into_body().into_data_stream();
        let mut body = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::debug!(error = %e, "request body unreadable");
                ApiError::BadRequest("the body could not be read".into())
            })?;
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let raw: &RawValue = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
        let kind = kind(raw);
        if kind != "an object" {
            return Err(ApiError::Unprocessable(format!(
                "the body must be a JSON object, not {kind}"
            )));
        }
        Ok(JsonObject(Bytes::from(body)))
    }
}

/// The essence of the request's content type (`text/plain` of `Text/Plain;
/// charset=utf-8`), if it has one.
pub fn essence(req: &Request) -> Option<String> {
    let value = req.headers().get(CONTENT_TYPE)?;
    Some(
        value
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// `415` unless the request says its body is JSON.
fn check_content_type(req: &Request) -> Result<(), ApiError> {
    let Some(essence) = essence(req) else {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be JSON, sent with content-type: application/json".into(),
        ));
    };
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        Ok(())
    } else {
        let shown: String = essence.chars().take(64).collect();
        Err(ApiError::UnsupportedMediaType(format!(
            "content-type {shown:?} is not JSON; send application/json"
        )))
    }
}

/// A JSON object body read into `T` (wrong shape: missing or unknown fields, wrong
/// types, is `422` naming the field).
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let JsonObject(bytes) = JsonObject::from_request(req, state).await?;
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::Unprocessable(e.body_text())),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// Query parameters, with a 400 naming the bad one.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e: QueryRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// Path parameters, with a 400 in the API's JSON shape naming the bad one (axum's own
/// rejection, for a segment whose percent-encoding is not UTF-8 such as `%FF`, is plain
/// text).
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|e: PathRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// One member of a JSON body, not read yet, and where it is (`customerId`,
/// `items[2].sku`): every refusal is a `422` that names it, as
/// `items[2]: invalid sku: …`.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    path: String,
    raw: &'a RawValue,
}

impl<'a> Field<'a> {
    pub fn new(path: impl Into<String>, raw: &'a RawValue) -> Self {
        Self {
            path: path.into(),
            raw,
        }
    }

    /// The member `name` of this one (an object's).
    pub fn child(&self, name: &str, raw: &'a RawValue) -> Field<'a> {
        Field::new(format!("{}.{name}", self.path), raw)
    }

    /// A `422` saying why this member is invalid.
    pub fn invalid(&self, reason: impl std::fmt::Display) -> ApiError {
        let message = match self.path.rsplit_once('.') {
            Some((parent, name)) => format!("{parent}: invalid {name}: {reason}"),
            None => format!("invalid {}: {reason}", self.path),
        };
        ApiError::Unprocessable(message)
    }

    /// A domain refusal of this member's value, as a `422` naming the member.
    pub fn refused(&self, e: DomainError) -> ApiError {
        match e {
            DomainError::InvalidValue { reason, .. } => self.invalid(reason),
            other => other.into(),
        }
    }

    pub fn string(&self) -> Result<String, ApiError> {
        match kind(self.raw) {
            "a string" => {
                serde_json::from_str(self.raw.get()).map_err(|e| self.invalid(message(&e)))
            }
            other => Err(self.invalid(format!("must be a string, not {other}"))),
        }
    }

    /// A whole number (`2`, not `2.0` or `"2"`).
    pub fn integer(&self) -> Result<i64, ApiError> {
        serde_json::from_str(self.raw.get()).map_err(|_| {
            let shown = match kind(self.raw) {
                "a number" => abbreviated(self.raw.get()),
                other => other.to_owned(),
            };
            self.invalid(format!("must be a whole number, not {shown}"))
        })
    }

    /// A number as written (`19.99`, `1e2`), for reading exactly.
    pub fn number(&self) -> Result<&'a str, ApiError> {
        match kind(self.raw) {
            "a number" => Ok(self.raw.get()),
            other => Err(self.invalid(format!("must be a number, not {other}"))),
        }
    }

    /// The elements of an array, each a field `path[i]`.
    pub fn array(&self) -> Result<Vec<Field<'a>>, ApiError> {
        match kind(self.raw) {
            "an array" => {
                let elements: Vec<&'a RawValue> =
                    serde_json::from_str(self.raw.get()).map_err(|e| self.invalid(message(&e)))?;
                Ok(elements
                    .into_iter()
                    .enumerate()
                    .map(|(i, raw)| Field::new(format!("{}[{i}]", self.path), raw))
                    .collect())
            }
            other => Err(self.invalid(format!("must be an array, not {other}"))),
        }
    }

    /// An object's members as `T` (see [`JsonObject::members`]); an unknown or missing
    /// member is refused as `path: unknown field …`.
    pub fn object<T: Deserialize<'a>>(&self) -> Result<T, ApiError> {
        match kind(self.raw) {
            "an object" => serde_json::from_str(self.raw.get())
                .map_err(|e| ApiError::Unprocessable(format!("{}: {}", self.path, message(&e)))),
            other => Err(self.invalid(format!("must be an object, not {other}"))),
        }
    }
}

/// What a JSON value is, for messages ("must be a string, not an array").
fn kind(raw: &RawValue) -> &'static str {
    match raw.get().trim_start().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A serde_json error without its line and column (within one member, they point into
/// the member, not the body).
fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&at).unwrap_or(&text).to_owned()
}

/// `text`, or its first 32 characters and an ellipsis.
fn abbreviated(text: &str) -> String {
    match text.char_indices().nth(32) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
