//! `GET /pipeline`: is it working? Per stage (waiting for payment, stock,
//! confirmation, shipment, email) the orders waiting, the oldest of them and the
//! throughput of the last minute; per consumer group its members, lag in records and
//! seconds, and records parked.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use orderflow_core::bus::{GroupLag, GroupMember};
use orderflow_core::read_model::generations::RebuildProgress;
use serde::Serialize;
use utoipa::ToSchema;

use crate::handlers::GROUPS;
use crate::http::error::ErrorBody;
use crate::http::{ApiError, AppState};
use crate::pipeline::{GroupSummary, Stage, group_summaries, stages};

/// The answer to `GET /pipeline`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pipeline {
    pub(crate) stages: Vec<StageBody>,
    /// False when not every open order or recent event could be examined (see
    /// docs/operations.md): the stages' counts are then lower bounds.
    pub(crate) complete: bool,
    pub(crate) groups: Vec<GroupBody>,
    /// The last read-model rebuild (`POST /projections/rebuild`, `orderflow projections
    /// rebuild`): `models`, `done` and `total` (positions), `startedAt`, `updatedAt`,
    /// `finishedAt` and `outcome` once over. Absent when none ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(crate) rebuild: Option<RebuildProgress>,
}

/// The orders waiting for one step.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageBody {
    /// `payment`, `stock`, `confirmation`, `shipment` or `email`.
    pub(crate) step: String,
    /// The consumer group that takes orders past it.
    pub(crate) group: String,
    /// Orders waiting for it.
    pub(crate) orders: u64,
    /// The longest waiting of them (by creation).
    pub(crate) oldest_order_id: Option<String>,
    /// Its age in seconds.
    pub(crate) oldest_age_seconds: Option<f64>,
    /// Orders that passed the step in the last minute.
    pub(crate) last_minute: u64,
}

/// A consumer group at a glance.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupBody {
    pub(crate) group: String,
    /// Whether a member is alive.
    pub(crate) live: bool,
    pub(crate) members: Vec<MemberBody>,
    /// Records not yet handled, over its partitions.
    pub(crate) lag: u64,
    /// The age in seconds of its oldest unhandled record.
    pub(crate) lag_seconds: f64,
    /// Records on the dead-letter topics of its topics.
    pub(crate) parked: u64,
}

/// A member of a consumer group.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberBody {
    pub(crate) id: String,
    /// The client's name (Kafka's `client.id`; the process on the embedded bus).
    pub(crate) client: String,
    pub(crate) host: String,
    pub(crate) alive: bool,
    /// Its last heartbeat, where the bus keeps one (the embedded bus).
    pub(crate) last_seen: Option<DateTime<Utc>>,
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds().max(0) as f64 / 1000.0
}

impl StageBody {
    fn new(stage: &Stage, now: DateTime<Utc>) -> Self {
        Self {
            step: stage.step.as_str().to_owned(),
            group: crate::pipeline::responsible(stage.step).name.to_owned(),
            orders: stage.orders,
            oldest_order_id: stage.oldest.as_ref().map(|(id, _)| id.clone()),
            oldest_age_seconds: stage.oldest.as_ref().map(|(_, at)| seconds(*at, now)),
            last_minute: stage.last_minute,
        }
    }
}

impl From<&GroupMember> for MemberBody {
    fn from(m: &GroupMember) -> Self {
        Self {
            id: m.id.clone(),
            client: m.client.clone(),
            host: m.host.clone(),
            alive: m.alive,
            last_seen: m.last_seen,
        }
    }
}

impl From<&GroupSummary> for GroupBody {
    fn from(s: &GroupSummary) -> Self {
        Self {
            group: s.group.clone(),
            live: s.members.iter().any(|m| m.alive),
            members: s.members.iter().map(MemberBody::from).collect(),
            lag: s.lag,
            lag_seconds: s.lag_seconds,
            parked: s.parked,
        }
    }
}

/// `GET /pipeline`.
#[utoipa::path(
    get,
    path = "/pipeline",
    tag = "operations",
    summary = "Is it working?",
    description = "Per stage (orders waiting for payment, stock, confirmation, shipment, \
        email): how many, the oldest one's id and age, and how many passed it in the last \
        minute; per consumer group (every service's, listed by the bus or not): its \
        members, lag in records and seconds, and records parked.",
    responses(
        (status = 200, description = "The pipeline.", body = Pipeline),
        (status = 503, description = "The event bus, the event store or the read models \
            are unavailable.", body = ErrorBody),
    ),
)]
pub async fn pipeline(State(app): State<AppState>) -> Result<Json<Pipeline>, ApiError> {
    Ok(Json(view(&app).await?))
}

/// What `GET /pipeline` answers (the console shows it too).
pub async fn view(app: &AppState) -> Result<Pipeline, ApiError> {
    let bus_failed = |e: orderflow_core::bus::BusError| ApiError::Internal(e.into());
    let now = Utc::now();
    let found = stages(&app.recorder, app.read_model.as_ref(), now).await?;
    let listed = app
        .groups
        .groups(app.bus.as_ref())
        .await
        .map_err(bus_failed)?;
    let mut groups: Vec<GroupLag> = listed.to_vec();
    for g in GROUPS {
        if !groups.iter().any(|l| l.group == g.name) {
            groups.push(GroupLag {
                group: g.name.to_owned(),
                partitions: vec![],
                members: vec![],
            });
        }
    }
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    let summaries = group_summaries(app.bus.as_ref(), &groups, now)
        .await
        .map_err(bus_failed)?;
    Ok(Pipeline {
        stages: found
            .stages
            .iter()
            .map(|s| StageBody::new(s, now))
            .collect(),
        complete: found.complete,
        groups: summaries.iter().map(GroupBody::from).collect(),
        rebuild: app
            .generations
            .progress()
            .await
            .map_err(ApiError::ReadModels)?,
    })
}
