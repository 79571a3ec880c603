//! The embedded schema registry, speaking Confluent's Schema Registry REST API, served
//! under `/schema-registry` (so a Confluent client is configured with
//! `http://<orderflow>/schema-registry`). Every answer, errors included, is what
//! Confluent's registry answers: the same routes, query parameters, bodies, HTTP
//! statuses and `{"error_code", "message"}` errors.
//!
//! # Layout
//!
//! - `registry/reply.rs`: the error type, replies, request bodies and query flags.
//! - `registry/subjects.rs`: subjects and their versions: register, look up, read, delete.
//! - `registry/schemas.rs`: schemas by global id, and the schema types served.
//! - `registry/config.rs`: compatibility levels and compatibility checks.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use orderflow_core::registry::Registry;

mod config;
mod reply;
mod schemas;
mod subjects;

/// An error answered in Confluent's shape (`{"error_code", "message"}`, in its content
/// type), for refusals made before a route is reached.
pub(super) fn error(status: StatusCode, code: u32, message: &str) -> Response {
    reply::reply(
        status,
        serde_json::json!({ "error_code": code, "message": message }),
    )
}

/// The registry's routes, to be nested under `/schema-registry`.
pub fn routes<S: Clone + Send + Sync + 'static>(registry: Arc<Registry>) -> Router<S> {
    Router::new()
        .route("/", get(reply::root))
        .route("/subjects", get(subjects::list))
        .route(
            "/subjects/{subject}",
            post(subjects::lookup).delete(subjects::delete),
        )
        .route(
            "/subjects/{subject}/versions",
            get(subjects::versions).post(subjects::register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(subjects::version).delete(subjects::delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(subjects::raw_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(subjects::referenced_by),
        )
        .route("/schemas/types", get(schemas::types))
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/schema", get(schemas::raw_by_id))
        .route("/schemas/ids/{id}/versions", get(schemas::versions))
        .route("/schemas/ids/{id}/subjects", get(schemas::subjects))
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(config::compatibility_with_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(config::compatibility_with_version),
        )
        .route(
            "/config",
            get(config::global_level).put(config::set_global_level),
        )
        .route(
            "/config/{subject}",
            get(config::subject_level).put(config::set_subject_level),
        )
        .fallback(reply::no_route)
        .method_not_allowed_fallback(reply::wrong_method)
        .with_state(registry)
}
