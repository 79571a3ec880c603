//! Who may call what: bearer tokens with roles, checked on every route of the API and
//! of the embedded schema registry, and the refusal of the requests a web page could
//! send cross-site without a CORS preflight.
//!
//! # Roles
//!
//! Each token has one [`Role`]; each role may do what the one below it may, and more:
//!
//! - `shop`: place orders and read them (an order, its history, a customer's orders),
//!   read stock, the API's OpenAPI document (`/openapi.json`), and read the schema
//!   registry (including lookups and compatibility checks, which change nothing);
//! - `operator`: also set stock, cancel orders, read consumer lag, analytics, the
//!   parked records (`/dlq`: list, show, replay and discard them) and the
//!   metrics (`GET /metrics`: they tell lag and business figures, so they are an
//!   operator's, as `/consumers` and `/analytics` are; a Prometheus scraper is given an
//!   operator token, which it sends as `Authorization: Bearer`), and write to the
//!   registry (register, soft-delete, a subject's compatibility level);
//! - `admin`: everything, also the registry's global compatibility level and permanent
//!   deletes.
//!
//! `GET /health` stays open, for probes. Any other route, unknown ones included, needs a
//! known token: `401` (with `WWW-Authenticate: Bearer`) without one or with an unknown
//! one, `403` when the token's role is not enough. The API answers them with its own
//! `{"error"}` body; the registry with Confluent's `{"error_code": 40101 | 40301,
//! "message"}`.
//!
//! # Cross-site requests
//!
//! A browser sends a "simple" request cross-site without asking first (no CORS
//! preflight): a `POST` whose content type is `text/plain`,
//! `application/x-www-form-urlencoded`, `multipart/form-data` or absent, with no header
//! of its own such as `Authorization`. This server grants no CORS preflight, so a request
//! that needs one never leaves a page of another site. Whatever the tokens, a `POST`,
//! `PUT`, `PATCH` or `DELETE` with one of those three content types is refused with
//! `415`, and a `POST` that has neither a JSON content type nor an `Authorization`
//! header is refused with `415` too: a bodiless `POST /orders/{id}/cancel` is sent with
//! `content-type: application/json` (its body may be empty) or with a token.
//!
//! # Layout
//!
//! - `auth/role.rs`: the roles.
//! - `auth/tokens.rs`: the configured tokens, as digests, checked in constant time.
//! - `auth/access.rs`: how the API is protected (open, loopback only, tokens).
//! - `auth/need.rs`: which role each route needs.
//! - `auth/request.rs`: the content type, the bearer token and the addressed name.
//! - `auth/refusal.rs`: refusals, in the API's shape or in the registry's.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

mod access;
mod need;
mod refusal;
mod request;
mod role;
mod tokens;

pub use access::Access;
pub use role::Role;
pub use tokens::{MIN_TOKEN_LENGTH, Tokens};

use need::{Need, api_need, registry_need, registry_path};
use refusal::Refusal;
pub use request::CONSOLE_COOKIE;
use request::{bearer, console_cookie, cross_site, loopback_host};

/// Which routes a router serves, for the rules and the shape of refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The API, with the registry nested under `/schema-registry`.
    Api,
    /// The schema registry alone, at the root.
    Registry,
}

/// The guard's state: the access rules and which routes they guard.
#[derive(Debug, Clone)]
pub struct Guard {
    pub access: Access,
    pub surface: Surface,
}

fn check(guard: &Guard, request: &Request) -> Result<(), Refusal> {
    if let Access::Loopback = &guard.access {
        loopback_host(request)?;
    }
    if let Access::Tokens(tokens) = &guard.access {
        let path = request.uri().path();
        let need = match guard.surface {
            Surface::Registry => registry_need(request.method(), path, request.uri().query()),
            Surface::Api => match registry_path(path) {
                Some(rest) => registry_need(request.method(), rest, request.uri().query()),
                None => api_need(request.method(), path),
            },
        };
        if let Need::Role(needed) = need {
            let role = bearer(request)
                .or_else(|| console_cookie(request))
                .and_then(|token| tokens.role_of(token))
                .ok_or_else(|| {
                    Refusal::Unauthenticated(
                        "a bearer token is needed (Authorization: Bearer TOKEN)".into(),
                    )
                })?;
            if role < needed {
                return Err(Refusal::Forbidden(format!(
                    "a {role} token may not do this; it needs the {needed} role"
                )));
            }
        }
    }
    cross_site(request)
}

/// The middleware: lets a request through only if `check` (tokens, roles, cross-site) does.
pub async fn guard(State(guard): State<Guard>, request: Request<Body>, next: Next) -> Response {
    match check(&guard, &request) {
        Ok(()) => next.run(request).await,
        // A console page asked without a token: the sign-in page, then back.
        Err(Refusal::Unauthenticated(_))
            if guard.surface == Surface::Api
                && request.method() == axum::http::Method::GET
                && request.uri().path().starts_with("/ui") =>
        {
            axum::response::Redirect::to("/ui/login").into_response()
        }
        Err(refusal) => {
            let registry = match guard.surface {
                Surface::Registry => true,
                Surface::Api => registry_path(request.uri().path()).is_some(),
            };
            if registry {
                refusal.registry()
            } else {
                refusal.api()
            }
        }
    }
}
