//! The one error type of the API: clients get a status and a message that names the
//! problem; internal details are logged, never sent.

use axum::Json;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use orderflow_core::store::StoreError;
use orderflow_domain::DomainError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::context::ServiceError;

/// The body of every error answer of the API (the registry's are Confluent's).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What was wrong, for a person to read.
    error: String,
}

#[derive(Debug)]
pub enum ApiError {
    /// The request cannot be read (bad JSON, bad header).
    BadRequest(String),
    /// The request is well-formed but its content is invalid.
    Unprocessable(String),
    /// The body is larger than the API takes.
    PayloadTooLarge(String),
    /// The body is not in a format the API reads (not JSON).
    UnsupportedMediaType(String),
    /// No bearer token, or an unknown one (`401`, with `WWW-Authenticate: Bearer`).
    Unauthorized(String),
    /// A known token whose role may not do this (`403`).
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    /// The read models (orders, stock, analytics) failed; the detail is logged.
    ReadModels(StoreError),
    /// Something behind the API failed; the detail is logged.
    Internal(ServiceError),
}

impl ApiError {
    /// A failure of the read models, named as theirs (not the event store's).
    pub fn read_models(e: StoreError) -> Self {
        ApiError::ReadModels(e)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => d.into(),
            other => ApiError::Internal(other),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidValue { .. } | DomainError::NoItems => {
                ApiError::Unprocessable(e.to_string())
            }
            DomainError::OrderNotFound => ApiError::NotFound(e.to_string()),
            DomainError::OrderAlreadyExists
            | DomainError::OrderCancelled
            | DomainError::OrderAlreadyShipped
            | DomainError::OrderNotConfirmed
            | DomainError::NothingToRefund => ApiError::Conflict(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized(m) => {
                let mut response =
                    (StatusCode::UNAUTHORIZED, Json(ErrorBody { error: m })).into_response();
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::Unprocessable(m) => (StatusCode::UNPROCESSABLE_ENTITY, m),
            ApiError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m),
            ApiError::UnsupportedMediaType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m),
            ApiError::ReadModels(e) => {
                tracing::error!(error = %e, "reading the read models failed");
                match e {
                    StoreError::Corrupt(_) => damaged("read models are"),
                    _ => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the read models are temporarily unavailable; retry later".to_owned(),
                    ),
                }
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                let unavailable = |what: &str| {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("the {what} is temporarily unavailable; retry later"),
                    )
                };
                match e {
                    ServiceError::Store(StoreError::Corrupt(_)) => damaged("event store is"),
                    ServiceError::Bus(orderflow_core::bus::BusError::Corrupt(_)) => {
                        damaged("event bus is")
                    }
                    ServiceError::Store(StoreError::Unavailable(_)) => unavailable("event store"),
                    ServiceError::Bus(orderflow_core::bus::BusError::Unavailable(_)) => {
                        unavailable("event bus")
                    }
                    _ => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal error".to_owned(),
                    ),
                }
            }
        };
        (status, Json(ErrorBody { error: message })).into_response()
    }
}

/// A damaged file is not worth retrying: `/health` names it and what to do.
fn damaged(what: &str) -> (StatusCode, String) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the {what} damaged; GET /health says which file and what to do"),
    )
}
