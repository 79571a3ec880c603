//! The registry's part of the OpenAPI document: its routes (from the handlers'
//! `#[utoipa::path]` attributes) and the shapes of Confluent's bodies. The handlers build
//! those bodies as JSON values, in Confluent's member names; the types here describe
//! them for the document only.
#![allow(dead_code)]

use utoipa::openapi::{Content, OpenApi as Document, Ref, Response};
use utoipa::{Modify, OpenApi, ToSchema};

use super::reply::CONTENT_TYPE;
use super::{config, reply, schemas, subjects};

#[derive(OpenApi)]
#[openapi(
    paths(
        reply::root,
        subjects::list,
        subjects::lookup,
        subjects::delete,
        subjects::versions,
        subjects::register,
        subjects::version,
        subjects::delete_version,
        subjects::raw_schema,
        subjects::referenced_by,
        schemas::types,
        schemas::by_id,
        schemas::raw_by_id,
        schemas::versions,
        schemas::subjects,
        config::compatibility_with_all,
        config::compatibility_with_version,
        config::global_level,
        config::set_global_level,
        config::subject_level,
        config::set_subject_level,
    ),
    components(schemas(RegistryError)),
    modifiers(&ConfluentShapes),
    tags((name = "schema-registry", description = "The embedded schema registry: \
        Confluent's Schema Registry REST API (AVRO only), under `/schema-registry`. Reads, \
        lookups and checks: shop; registering, soft deletes and a subject's level: \
        operator; the global level and permanent deletes: admin.")),
)]
pub struct RegistryDoc;

/// Every answer of the registry in its content type, with the guard's refusals.
struct ConfluentShapes;

impl Modify for ConfluentShapes {
    fn modify(&self, doc: &mut Document) {
        let error = |description: &str| {
            Response::builder()
                .description(description)
                .content(
                    CONTENT_TYPE,
                    Content::new(Some(Ref::from_schema_name("RegistryError"))),
                )
                .build()
        };
        for item in doc.paths.paths.values_mut() {
            for operation in crate::http::openapi::operations_of(item) {
                for response in operation.responses.responses.values_mut() {
                    if let utoipa::openapi::RefOr::T(response) = response
                        && let Some(content) = response.content.shift_remove("application/json")
                    {
                        response.content.insert(CONTENT_TYPE.to_owned(), content);
                    }
                }
                let responses = &mut operation.responses.responses;
                for (status, description) in [
                    ("401", "No bearer token, or an unknown one (`40101`)."),
                    ("403", "The token's role is not enough (`40301`)."),
                    ("500", "The registry's storage failed (`50001`)."),
                ] {
                    responses.insert(status.into(), error(description).into());
                }
            }
        }
    }
}

/// An error, in Confluent's shape.
#[derive(ToSchema)]
pub struct RegistryError {
    /// Confluent's code: `40401` no such subject, `40402` no such version, `40403` no
    /// such schema, `40404`/`40406` soft-deleted, `40405`/`40407` not soft-deleted,
    /// `40408` no subject-level level, `40901` incompatible, `42201` invalid schema,
    /// `42202` invalid version, `42203` invalid level, `42205` schema in use, `42206`
    /// referenced, `42208` invalid subject, `50001` storage; or the HTTP status (`404`
    /// no such route, `405`, `415`, `400` a bad query or path).
    error_code: u32,
    message: String,
}

/// A schema this one references by name.
#[derive(ToSchema)]
pub struct SchemaReference {
    /// The full name of the type, as the schema uses it.
    name: String,
    subject: String,
    version: u32,
}

/// The body of a registration, a lookup or a compatibility check.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRequest {
    /// The Avro schema, as JSON text.
    schema: String,
    /// `AVRO` (the default); no other type is served.
    schema_type: Option<String>,
    references: Option<Vec<SchemaReference>>,
}

/// A version of a subject.
#[derive(ToSchema)]
pub struct SubjectVersion {
    subject: String,
    version: u32,
    /// The schema's global id.
    id: u32,
    /// The Avro schema, as JSON text.
    schema: String,
    /// Present when the schema references others.
    #[schema(nullable = false)]
    references: Option<Vec<SchemaReference>>,
}

/// A subject and a version of it.
#[derive(ToSchema)]
pub struct SubjectAndVersion {
    subject: String,
    version: u32,
}

/// A registered schema's global id.
#[derive(ToSchema)]
pub struct Registered {
    id: u32,
}

/// A schema by its global id.
#[derive(ToSchema)]
pub struct SchemaById {
    /// The Avro schema, as JSON text.
    schema: String,
    /// Present when the schema references others.
    #[schema(nullable = false)]
    references: Option<Vec<SchemaReference>>,
}

/// The answer of a compatibility check.
#[derive(ToSchema)]
pub struct Compatibility {
    is_compatible: bool,
    /// Why not, with `?verbose=true`.
    #[schema(nullable = false)]
    messages: Option<Vec<String>>,
}

/// A compatibility level in force.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Level {
    /// `BACKWARD`, `BACKWARD_TRANSITIVE`, `FORWARD`, `FORWARD_TRANSITIVE`, `FULL`,
    /// `FULL_TRANSITIVE` or `NONE`.
    compatibility_level: String,
}

/// A compatibility level to set, or the one set.
#[derive(ToSchema)]
pub struct LevelSetting {
    /// `BACKWARD`, `BACKWARD_TRANSITIVE`, `FORWARD`, `FORWARD_TRANSITIVE`, `FULL`,
    /// `FULL_TRANSITIVE` or `NONE`.
    compatibility: String,
}
