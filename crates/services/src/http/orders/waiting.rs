//! `waitingFor` of an order: the steps it still misses, and how the group responsible
//! for each stands.

use serde::Serialize;
use utoipa::ToSchema;

use crate::pipeline::{Parked, Waiting};

/// A step an order waits for. The step and its group come from the event store; the
/// rest from the bus, and is `null` when the bus cannot be read just now.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitingBody {
    /// `payment`, `stock`, `confirmation` (the order process: confirm or cancel the
    /// order, or mark it shipped), `shipment` or `email`.
    step: String,
    /// The consumer group that takes the order past this step.
    group: String,
    /// Whether that group has a live member: `false` means nothing is running it.
    live: Option<bool>,
    /// The group's lag in records, over its partitions.
    lag: Option<u64>,
    /// The age in seconds of the group's oldest unhandled record.
    lag_seconds: Option<f64>,
    /// The order's records this group set aside on a dead-letter topic, and why.
    parked: Option<Vec<ParkedBody>>,
}

/// A record of the order set aside on a dead-letter topic.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParkedBody {
    topic: String,
    offset: u64,
    reason: String,
}

impl From<&Waiting> for WaitingBody {
    fn from(w: &Waiting) -> Self {
        let on_bus = w.on_bus.as_ref();
        Self {
            step: w.step.as_str().to_owned(),
            group: w.group.to_owned(),
            live: on_bus.map(|b| b.status.live),
            lag: on_bus.map(|b| b.status.lag),
            lag_seconds: on_bus.map(|b| b.status.lag_seconds),
            parked: on_bus.map(|b| b.parked.iter().map(ParkedBody::from).collect()),
        }
    }
}

impl From<&Parked> for ParkedBody {
    fn from(p: &Parked) -> Self {
        Self {
            topic: p.topic.clone(),
            offset: p.offset,
            reason: p.reason.clone(),
        }
    }
}
