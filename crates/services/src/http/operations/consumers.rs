//! `GET /consumers`: every consumer group with its committed offsets and lag, the
//! records set aside on each dead-letter topic, and the readers that follow the event
//! store by position (the relay and the projections).

use axum::Json;
use axum::extract::State;
use orderflow_core::bus::{GroupLag, PartitionLag, Topic, dead_letter_topic, dead_letters};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::ErrorBody;
use crate::http::{ApiError, AppState};

/// The answer to `GET /consumers`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Consumers {
    groups: Vec<Group>,
    dead_letters: Vec<DeadLetters>,
    store_readers: Vec<StoreReader>,
}

/// A consumer group of the bus.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    group: String,
    /// The sum of its partitions' lag.
    lag: u64,
    partitions: Vec<Partition>,
}

/// One partition a group consumes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Partition {
    topic: String,
    partition: u32,
    /// The group's committed offset (none before its first commit).
    committed: Option<u64>,
    /// The partition's end offset.
    end: u64,
    /// Records not yet consumed.
    lag: u64,
}

/// A dead-letter topic: the records on it, and how many of the parked ones wait for a
/// decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetters {
    topic: String,
    /// Every record on the topic: those set aside, and the records of their replays and
    /// discards.
    records: u64,
    /// The records set aside that were neither replayed nor discarded.
    waiting: u64,
}

/// A reader that follows the event store by global position.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreReader {
    /// `relay` or `projections`.
    #[schema(value_type = String)]
    name: &'static str,
    /// The position it has handled.
    position: u64,
    /// The event store's head position.
    head: u64,
    /// Events not yet handled.
    lag: u64,
}

impl StoreReader {
    fn new(name: &'static str, position: u64, head: u64) -> Self {
        Self {
            name,
            position,
            head,
            lag: head.saturating_sub(position),
        }
    }
}

impl From<&GroupLag> for Group {
    fn from(g: &GroupLag) -> Self {
        Self {
            group: g.group.clone(),
            lag: g.total_lag(),
            partitions: g.partitions.iter().map(Partition::from).collect(),
        }
    }
}

impl From<&PartitionLag> for Partition {
    fn from(p: &PartitionLag) -> Self {
        Self {
            topic: p.topic.clone(),
            partition: p.partition,
            committed: p.committed,
            end: p.end,
            lag: p.lag,
        }
    }
}

/// `GET /consumers`.
#[utoipa::path(
    get,
    path = "/consumers",
    tag = "operations",
    summary = "Consumer lag",
    description = "Every consumer group of the bus with its committed offsets and lag, the \
        records set aside on each dead-letter topic, and the readers that follow the event \
        store by position (the relay and the projections) with theirs.",
    responses(
        (status = 200, description = "The lag of every reader.", body = Consumers),
        (status = 503, description = "The event bus, the event store or the read models \
            are unavailable.", body = ErrorBody),
    ),
)]
pub async fn consumers(State(app): State<AppState>) -> Result<Json<Consumers>, ApiError> {
    let bus_failed = |e: orderflow_core::bus::BusError| ApiError::Internal(e.into());
    let groups = app.bus.groups().await.map_err(bus_failed)?;
    let head = app.recorder.head_position().await?;
    let relay = app
        .checkpoints
        .load(crate::relay::CHECKPOINT)
        .await?
        .unwrap_or(0);
    let projections = app
        .read_model
        .position()
        .await
        .map_err(ApiError::read_models)?;
    let mut dead_letters = Vec::new();
    for topic in Topic::ALL {
        let topic = dead_letter_topic(topic.name());
        let ends = app.bus.end_offsets(&topic).await.map_err(bus_failed)?;
        let records = ends.iter().map(|(_, end)| end).sum();
        let waiting = dead_letters::waiting(app.bus.as_ref(), &topic)
            .await
            .map_err(bus_failed)?;
        dead_letters.push(DeadLetters {
            topic,
            records,
            waiting,
        });
    }
    Ok(Json(Consumers {
        groups: groups.iter().map(Group::from).collect(),
        dead_letters,
        store_readers: vec![
            StoreReader::new("relay", relay, head),
            StoreReader::new("projections", projections, head),
        ],
    }))
}
