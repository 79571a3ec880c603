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
//! - `registry/openapi.rs`: the registry's part of the OpenAPI document.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use orderflow_core::registry::Registry;

use super::routes::Routes;

pub use openapi::RegistryDoc;

mod config;
mod openapi;
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

/// The registry's routes, to be nested under `/schema-registry` (or served alone).
pub fn routes<S: Clone + Send + Sync + 'static>(registry: Arc<Registry>) -> Routes<S> {
    let subject = "/subjects/{subject}";
    let versions = "/subjects/{subject}/versions";
    let version = "/subjects/{subject}/versions/{version}";
    Routes::new()
        .get("/", reply::root)
        .get("/subjects", subjects::list)
        .post(subject, subjects::lookup)
        .delete(subject, subjects::delete)
        .get(versions, subjects::versions)
        .post(versions, subjects::register)
        .get(version, subjects::version)
        .delete(version, subjects::delete_version)
        .get(
            "/subjects/{subject}/versions/{version}/schema",
            subjects::raw_schema,
        )
        .get(
            "/subjects/{subject}/versions/{version}/referencedby",
            subjects::referenced_by,
        )
        .get("/schemas/types", schemas::types)
        .get("/schemas/ids/{id}", schemas::by_id)
        .get("/schemas/ids/{id}/schema", schemas::raw_by_id)
        .get("/schemas/ids/{id}/versions", schemas::versions)
        .get("/schemas/ids/{id}/subjects", schemas::subjects)
        .post(
            "/compatibility/subjects/{subject}/versions",
            config::compatibility_with_all,
        )
        .post(
            "/compatibility/subjects/{subject}/versions/{version}",
            config::compatibility_with_version,
        )
        .get("/config", config::global_level)
        .put("/config", config::set_global_level)
        .get("/config/{subject}", config::subject_level)
        .put("/config/{subject}", config::set_subject_level)
        .map(|router| {
            router
                .fallback(reply::no_route)
                .method_not_allowed_fallback(reply::wrong_method)
        })
        .with_state(registry)
}
