//! The OpenAPI 3 document of the whole HTTP API, served at `GET /openapi.json`: made by
//! `utoipa` from the handlers' `#[utoipa::path]` attributes and the answers' own types,
//! so a member added to an answer is in the document without a second edit; a test
//! checks it against the table of routes the router serves.

use axum::Json;
use axum::extract::State;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;
use super::routes::{Routes, nested};
use super::{AppState, analytics, inventory, operations, orders, registry};

/// Where the embedded registry is served.
pub const REGISTRY_PREFIX: &str = "/schema-registry";

/// The routes of the document.
pub fn routes(routes: Routes<AppState>) -> Routes<AppState> {
    routes.get("/openapi.json", openapi)
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    summary = "This API's OpenAPI document",
    description = "Lists the embedded schema registry's routes only when it is served.",
    responses((status = 200, description = "The OpenAPI 3 document.", body = Object)),
)]
pub async fn openapi(State(app): State<AppState>) -> Json<Document> {
    Json(document(app.registry.is_some()))
}

/// The document, with the embedded registry's routes under `/schema-registry` when
/// `with_registry`.
pub fn document(with_registry: bool) -> Document {
    let api = ApiDoc::openapi();
    if !with_registry {
        return api;
    }
    api.nest_with_path_composer(REGISTRY_PREFIX, registry::RegistryDoc::openapi(), nested)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "orderflow",
        description = "An online shop's order pipeline. Commands append events and answer \
            at once (`202` with the `position` of their last event); queries read the read \
            models, which may lag a little (pass that `position` as `min_position` to wait \
            for it), except `as_of` and `history`, which read the event store. Money is in \
            major units (`19.99`), times RFC 3339 in UTC. Every error of the API is \
            `{\"error\"}`; the schema registry's are Confluent's `{\"error_code\", \
            \"message\"}`. With tokens configured, every route but `GET /health` needs \
            `Authorization: Bearer TOKEN` of a role that is enough (shop < operator < \
            admin): `401` without a known one, `403` when its role is not enough.",
    ),
    paths(
        orders::place,
        orders::list::list,
        orders::get,
        orders::history,
        orders::cancel,
        orders::of_customer,
        inventory::get_stock,
        inventory::set_stock,
        operations::consumers::consumers,
        operations::replay::replay,
        operations::dlq::list,
        operations::dlq::show,
        operations::dlq::replay,
        operations::dlq::replay_all,
        operations::dlq::discard,
        operations::forget::forget,
        operations::pipeline::pipeline,
        operations::projections::start,
        operations::projections::progress,
        operations::health::health,
        analytics::analytics,
        openapi,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Guarded),
    tags(
        (name = "orders", description = "Place, cancel and read orders (role: shop; \
            cancel: operator)."),
        (name = "inventory", description = "Stock per SKU (read: shop; set: operator)."),
        (name = "operations", description = "Health (open), consumer lag and parked \
            records (operator), this document (shop)."),
        (name = "analytics", description = "Orders per status and revenue (operator)."),
    ),
)]
struct ApiDoc;

/// The bearer tokens, and the answers of the access guard on every guarded route.
struct Guarded;

impl Modify for Guarded {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        let error = |description: &str| -> RefOr<Response> {
            Response::builder()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                )
                .into()
        };
        let requirement = utoipa::openapi::security::SecurityRequirement::new::<
            &str,
            [&str; 0],
            &str,
        >("bearer", []);
        for item in doc.paths.paths.values_mut() {
            for operation in operations_of(item) {
                if operation.security.is_some() {
                    // Declared open (`GET /health`).
                    continue;
                }
                operation.security = Some(vec![requirement.clone()]);
                let responses = &mut operation.responses.responses;
                responses.insert(
                    "401".into(),
                    error("No bearer token, or an unknown one (with `WWW-Authenticate: Bearer`)."),
                );
                responses.insert("403".into(), error("The token's role is not enough."));
                responses.insert(
                    "500".into(),
                    error("Something behind the API failed (`internal error`; the log says what)."),
                );
            }
        }
    }
}

/// The operations of a path, whatever their method.
pub(crate) fn operations_of(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
        item.options.as_mut(),
    ]
    .into_iter()
    .flatten()
}
