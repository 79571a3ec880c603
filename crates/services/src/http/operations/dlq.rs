//! The parked records (dead letters), for an operator: `GET /dlq`, `GET /dlq/{id}`,
//! `POST /dlq/{id}/replay`, `POST /dlq/replay` and `POST /dlq/{id}/discard`, on the bus
//! port's [`DeadLetters`]. An action is recorded with who took it: the fingerprint of
//! the bearer token (never the token), after the `actor` the body names, if any.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use orderflow_core::bus::dead_letters::{DeadLetterError, DeadLetters, Filter, ParkedId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::dead_letters::{detail, summary, token_actor};
use crate::http::error::ErrorBody;
use crate::http::extract::{Body, Params, PathParams};
use crate::http::{ApiError, AppState};

impl From<DeadLetterError> for ApiError {
    fn from(e: DeadLetterError) -> Self {
        match e {
            DeadLetterError::BadId(_) | DeadLetterError::UnknownTopic(_) => {
                ApiError::BadRequest(e.to_string())
            }
            DeadLetterError::NotFound(_) => ApiError::NotFound(e.to_string()),
            DeadLetterError::Discarded { .. } => ApiError::Conflict(e.to_string()),
            DeadLetterError::Bus(b) => ApiError::Internal(b.into()),
        }
    }
}

/// Which parked records `GET /dlq` lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this topic's: `orders` or `orders.dlq`.
    topic: Option<String>,
    /// Replayed and discarded ones too, with their state.
    #[serde(default)]
    all: bool,
}

/// Parked records, oldest first per dead-letter topic.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParkedList {
    /// Each: `id`, `state` (`parked`, `replayed`, `discarded`), `topic`, `key`,
    /// `group`, `reason`, `kind`, `origin` {`topic`, `partition`, `offset`},
    /// `firstFailure`, `lastFailure`, `attempts`, `replays`, and `action` {`actor`,
    /// `at`, `reason`} once acted on.
    #[schema(value_type = Vec<Object>)]
    parked: Vec<Value>,
}

/// One parked record: as listed, with its `timestamp`, `headers`, `valueHex`, and the
/// `event` it carries ({`type`, `value`}) or `decodeError`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct ParkedDetail(Value);

/// What `POST /dlq/replay` replays.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayAll {
    /// Only this topic's (`orders` or `orders.dlq`); every one when absent.
    topic: Option<String>,
    /// Who asks, recorded before the token's fingerprint.
    actor: Option<String>,
}

/// Who asks for `POST /dlq/{id}/replay`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayOne {
    actor: Option<String>,
}

/// Why a parked record is discarded, and who asks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Discard {
    reason: String,
    actor: Option<String>,
}

/// The ids `POST /dlq/replay` replayed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    replayed: Vec<String>,
}

/// A body that may be absent (or empty): its members as `T`, or `T`'s default.
fn optional<T: Default + serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::Unprocessable(e.to_string()))
}

fn parked_id(id: &str) -> Result<ParkedId, ApiError> {
    Ok(id.parse::<ParkedId>()?)
}

/// Who acts: the body's `actor`, and the bearer token's fingerprint.
pub(super) fn actor(headers: &HeaderMap, named: Option<String>) -> String {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| token_actor(t.trim()));
    match (named, token) {
        (Some(name), Some(token)) => format!("{name} ({token})"),
        (Some(name), None) => name,
        (None, Some(token)) => token,
        (None, None) => "anonymous (no token)".to_owned(),
    }
}

/// `GET /dlq`.
#[utoipa::path(
    get,
    path = "/dlq",
    tag = "operations",
    summary = "Parked records",
    description = "The records the services set aside on the dead-letter topics that wait \
        for a decision (`all=true`: replayed and discarded ones too).",
    params(ListQuery),
    responses(
        (status = 200, description = "The parked records.", body = ParkedList),
        (status = 400, description = "An unknown topic.", body = ErrorBody),
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    Params(query): Params<ListQuery>,
) -> Result<Json<ParkedList>, ApiError> {
    let filter = Filter {
        topic: query.topic,
        all: query.all,
    };
    let parked = DeadLetters::new(app.bus.clone()).list(&filter).await?;
    Ok(Json(ParkedList {
        parked: parked.iter().map(summary).collect(),
    }))
}

/// `GET /dlq/{id}`.
#[utoipa::path(
    get,
    path = "/dlq/{id}",
    tag = "operations",
    summary = "A parked record",
    description = "One parked record, in whatever state: the event decoded with the schema \
        registry where possible, its bytes as hex, why and where from it was set aside.",
    params(("id" = String, Path, description = "`<dlq topic>:<partition>:<offset>`.")),
    responses(
        (status = 200, description = "The parked record.", body = ParkedDetail),
        (status = 400, description = "Not a parked record's id.", body = ErrorBody),
        (status = 404, description = "No such parked record.", body = ErrorBody),
    ),
)]
pub async fn show(
    State(app): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<ParkedDetail>, ApiError> {
    let id = parked_id(&id)?;
    let parked = DeadLetters::new(app.bus.clone()).get(&id).await?;
    let codec = app.recorder.codec().clone();
    Ok(Json(ParkedDetail(detail(&parked, Some(&codec)).await)))
}

/// `POST /dlq/{id}/replay`.
#[utoipa::path(
    post,
    path = "/dlq/{id}/replay",
    tag = "operations",
    summary = "Replay a parked record",
    description = "Publishes the record back to its topic for the group that set it aside, \
        and records who did. Handlers take it as any delivery (at least once, \
        idempotently); replaying it again publishes it again.",
    params(("id" = String, Path, description = "`<dlq topic>:<partition>:<offset>`.")),
    request_body(content = ReplayOne, description = "Optional: who asks."),
    responses(
        (status = 200, description = "Replayed; the record as it now stands.", body = ParkedDetail),
        (status = 400, description = "Not a parked record's id.", body = ErrorBody),
        (status = 404, description = "No such parked record.", body = ErrorBody),
        (status = 409, description = "It was discarded.", body = ErrorBody),
    ),
)]
pub async fn replay(
    State(app): State<AppState>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    body: Bytes,
) -> Result<Json<ParkedDetail>, ApiError> {
    let id = parked_id(&id)?;
    let ReplayOne { actor: named } = optional(&body)?;
    let who = actor(&headers, named);
    let parked = DeadLetters::new(app.bus.clone()).replay(&id, &who).await?;
    Ok(Json(ParkedDetail(summary(&parked))))
}

/// `POST /dlq/replay`.
#[utoipa::path(
    post,
    path = "/dlq/replay",
    tag = "operations",
    summary = "Replay every parked record",
    description = "Replays every record still parked (of `topic`, or all), as \
        `POST /dlq/{id}/replay` does each.",
    request_body(content = ReplayAll, description = "Optional: a topic, and who asks."),
    responses(
        (status = 200, description = "The ids replayed.", body = Replayed),
        (status = 400, description = "An unknown topic.", body = ErrorBody),
    ),
)]
pub async fn replay_all(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Replayed>, ApiError> {
    let ReplayAll {
        topic,
        actor: named,
    } = optional(&body)?;
    let who = actor(&headers, named);
    let replayed = DeadLetters::new(app.bus.clone())
        .replay_all(topic.as_deref(), &who)
        .await?;
    Ok(Json(Replayed {
        replayed: replayed.iter().map(ToString::to_string).collect(),
    }))
}

/// `POST /dlq/{id}/discard`.
#[utoipa::path(
    post,
    path = "/dlq/{id}/discard",
    tag = "operations",
    summary = "Discard a parked record",
    description = "Gives the record up for good, recording who, why and when: it is \
        listed only with `all=true` and never replayed.",
    params(("id" = String, Path, description = "`<dlq topic>:<partition>:<offset>`.")),
    request_body(content = Discard, description = "Why (required), and who asks."),
    responses(
        (status = 200, description = "Discarded; the record as it now stands.", body = ParkedDetail),
        (status = 400, description = "Not a parked record's id.", body = ErrorBody),
        (status = 404, description = "No such parked record.", body = ErrorBody),
        (status = 422, description = "No reason given.", body = ErrorBody),
    ),
)]
pub async fn discard(
    State(app): State<AppState>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    Body(body): Body<Discard>,
) -> Result<Json<ParkedDetail>, ApiError> {
    let id = parked_id(&id)?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::Unprocessable(
            "reason: say why it is discarded".into(),
        ));
    }
    let who = actor(&headers, body.actor);
    let parked = DeadLetters::new(app.bus.clone())
        .discard(&id, &who, &body.reason)
        .await?;
    Ok(Json(ParkedDetail(summary(&parked))))
}
