//! What the pipeline is doing, for operators: which consumer group is responsible for
//! each step an order can wait for, how those groups stand (members, lag, records
//! parked), why one order is waiting (`order_waiting_for`), and how many orders wait at
//! each stage (`pipeline/stages.rs`).
//!
//! Reading the groups can cost the bus some work (on Kafka: a group listing, offsets,
//! and a record per lagging partition), so [`GroupsView`] keeps the last answer for
//! [`GroupsView::FRESH`] and asks again only after that; so it does for the number of
//! parked records waiting for a decision on each dead-letter topic, and an order's
//! parked records are read only from a dead-letter topic where some wait.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use orderflow_core::bus::{
    BusError, EventBus, GroupLag, GroupMember, dead_letter_topic, dead_letters,
};
use orderflow_domain::inventory::Reservation;
use orderflow_domain::notification::Notifications;
use orderflow_domain::order::Order;
use orderflow_domain::payment::Payment;
use orderflow_domain::process::OrderFacts;
use orderflow_domain::shipment::Shipment;
use orderflow_domain::waiting::{Step, waiting_for};
use orderflow_domain::{OrderId, Topic, streams};

use crate::consumer::Group;
use crate::context::{Recorder, ServiceError};
use crate::handlers;

mod stages;

pub use stages::{EXAMINED, RECENT, Stage, Stages, stages};

/// The consumer group that takes an order past `step`.
pub fn responsible(step: Step) -> Group {
    match step {
        Step::Payment => handlers::payment::GROUP,
        Step::Stock => handlers::inventory::GROUP,
        Step::Confirmation => handlers::order_process::GROUP,
        Step::Shipment => handlers::shipping::GROUP,
        Step::Email => handlers::notification::GROUP,
    }
}

/// The bus's consumer groups, read at most once per [`GroupsView::FRESH`].
#[derive(Debug, Default)]
pub struct GroupsView {
    last: Kept<Vec<GroupLag>>,
    parked: Kept<BTreeMap<String, u64>>,
}

/// An answer and when it was read.
type Kept<T> = tokio::sync::Mutex<Option<(Instant, Arc<T>)>>;

impl GroupsView {
    /// How long an answer is used again: on Kafka a read of the groups costs a client
    /// per group for its offsets and a reader for the lagging partitions, which an API
    /// polled for orders in flight should not pay every second.
    pub const FRESH: Duration = Duration::from_secs(5);

    /// The groups as the bus last told, asking it again when that was over
    /// [`FRESH`](Self::FRESH) ago (one caller asks; the others wait for its answer).
    pub async fn groups(&self, bus: &dyn EventBus) -> Result<Arc<Vec<GroupLag>>, BusError> {
        let mut last = self.last.lock().await;
        if let Some((at, groups)) = &*last
            && at.elapsed() < Self::FRESH
        {
            return Ok(groups.clone());
        }
        let groups = Arc::new(bus.groups().await?);
        *last = Some((Instant::now(), groups.clone()));
        Ok(groups)
    }

    /// The parked records waiting for a decision on each dead-letter topic of the
    /// pipeline (neither replayed nor discarded), as last read, read again
    /// like [`groups`](Self::groups): an order's parked records are looked for only on a
    /// dead-letter topic that holds some.
    pub async fn parked(&self, bus: &dyn EventBus) -> Result<Arc<BTreeMap<String, u64>>, BusError> {
        let mut last = self.parked.lock().await;
        if let Some((at, parked)) = &*last
            && at.elapsed() < Self::FRESH
        {
            return Ok(parked.clone());
        }
        let mut counts = BTreeMap::new();
        for topic in Topic::ALL {
            let dlq = dead_letter_topic(topic.name());
            let waiting = dead_letters::waiting(bus, &dlq).await?;
            counts.insert(dlq, waiting);
        }
        let parked = Arc::new(counts);
        *last = Some((Instant::now(), parked.clone()));
        Ok(parked)
    }
}

/// A group as an operator needs it at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStatus {
    pub group: String,
    /// Whether a member of the group is alive (none listed: no).
    pub live: bool,
    /// Records not yet handled, over its partitions.
    pub lag: u64,
    /// The age of its oldest unhandled record.
    pub lag_seconds: f64,
}

impl GroupStatus {
    /// `name`'s status among `groups`; a group the bus does not list has no member and
    /// no lag it knows of.
    pub fn of(groups: &[GroupLag], name: &str, now: DateTime<Utc>) -> Self {
        match groups.iter().find(|g| g.group == name) {
            Some(g) => Self {
                group: g.group.clone(),
                live: g.has_live_member(),
                lag: g.total_lag(),
                lag_seconds: g.lag_seconds(now),
            },
            None => Self {
                group: name.to_owned(),
                live: false,
                lag: 0,
                lag_seconds: 0.0,
            },
        }
    }
}

/// A consumer group in one line: its members, lag, and the records parked on the
/// dead-letter topics of its topics.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    pub group: String,
    pub members: Vec<GroupMember>,
    pub lag: u64,
    pub lag_seconds: f64,
    /// Records on the dead-letter topics of the topics it reads (set aside by any
    /// group reading them) that wait for a decision: neither replayed nor discarded.
    pub parked: u64,
}

/// One [`GroupSummary`] per group of `groups`.
pub async fn group_summaries(
    bus: &dyn EventBus,
    groups: &[GroupLag],
    now: DateTime<Utc>,
) -> Result<Vec<GroupSummary>, BusError> {
    let topics: BTreeSet<&str> = groups
        .iter()
        .flat_map(|g| g.partitions.iter().map(|p| p.topic.as_str()))
        .collect();
    let mut parked: BTreeMap<&str, u64> = BTreeMap::new();
    for topic in topics {
        parked.insert(
            topic,
            dead_letters::waiting(bus, &dead_letter_topic(topic)).await?,
        );
    }
    Ok(groups
        .iter()
        .map(|g| {
            let read: BTreeSet<&str> = g.partitions.iter().map(|p| p.topic.as_str()).collect();
            GroupSummary {
                group: g.group.clone(),
                members: g.members.clone(),
                lag: g.total_lag(),
                lag_seconds: g.lag_seconds(now),
                parked: read
                    .iter()
                    .map(|t| parked.get(t).copied().unwrap_or(0))
                    .sum(),
            }
        })
        .collect())
}

/// A record of an order that a group set aside on a dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    /// The dead-letter topic.
    pub topic: String,
    pub offset: u64,
    /// Why the group set it aside.
    pub reason: String,
}

/// A step an order waits for, and how the group responsible for it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub step: Step,
    /// The group responsible for the step.
    pub group: &'static str,
    /// What the bus says of that group and of the order's records it parked; none when
    /// the bus cannot be read just now (the steps come from the event store alone, so an
    /// order is still answered while the bus is down).
    pub on_bus: Option<OnBus>,
}

/// How a group stands on the bus, and the records of one order it parked.
#[derive(Debug, Clone, PartialEq)]
pub struct OnBus {
    pub status: GroupStatus,
    /// The order's records this group parked, oldest first.
    pub parked: Vec<Parked>,
}

/// How many parked records of one order are read per dead-letter topic.
const PARKED_PER_TOPIC: usize = 100;

/// The steps `order_id` still misses (empty once it is final, or unknown), each with
/// its group's status and what that group parked of the order. The groups are read
/// (through `view`) only when the order waits for something; when the bus cannot be
/// read, the steps come without them rather than the order not at all.
pub async fn order_waiting_for(
    recorder: &Recorder,
    bus: &dyn EventBus,
    view: &GroupsView,
    order_id: &OrderId,
) -> Result<Vec<Waiting>, ServiceError> {
    let (steps, _) = order_steps(recorder, order_id).await?;
    if steps.is_empty() {
        return Ok(vec![]);
    }
    let mut on_bus = match steps_on_bus(bus, view, &steps, order_id).await {
        Ok(on_bus) => on_bus.into_iter().map(Some).collect(),
        Err(e) => {
            tracing::warn!(error = %e, order_id = %order_id,
                "the bus cannot be read; the order's waitingFor is answered without its groups");
            vec![None; steps.len()]
        }
    };
    Ok(steps
        .into_iter()
        .zip(on_bus.drain(..))
        .map(|(step, on_bus)| Waiting {
            step,
            group: responsible(step).name,
            on_bus,
        })
        .collect())
}

/// For each of `steps`, how its group stands and what it parked of `order_id`.
async fn steps_on_bus(
    bus: &dyn EventBus,
    view: &GroupsView,
    steps: &[Step],
    order_id: &OrderId,
) -> Result<Vec<OnBus>, BusError> {
    let groups = view.groups(bus).await?;
    let dead_letters = view.parked(bus).await?;
    let now = Utc::now();
    let mut out = Vec::new();
    for step in steps {
        let group = responsible(*step);
        out.push(OnBus {
            status: GroupStatus::of(&groups, group.name, now),
            parked: parked(bus, &dead_letters, group, order_id).await?,
        });
    }
    Ok(out)
}

/// The steps `order_id` still misses, and when its first event was recorded (none
/// before the order exists), from its events in the store.
pub async fn order_steps(
    recorder: &Recorder,
    order_id: &OrderId,
) -> Result<(Vec<Step>, Option<DateTime<Utc>>), ServiceError> {
    let all = recorder.read_correlated(order_id.as_str()).await?;
    let facts = OrderFacts {
        order: all.load::<Order>(&streams::order(order_id)).aggregate,
        payment: all.load::<Payment>(&streams::payment(order_id)).aggregate,
        reservation: all
            .load::<Reservation>(&streams::reservation(order_id))
            .aggregate,
        shipment: all.load::<Shipment>(&streams::shipment(order_id)).aggregate,
    };
    let emails = all
        .load::<Notifications>(&streams::notification(order_id))
        .aggregate;
    let first = all.events().first().map(|e| e.0.recorded_at);
    Ok((waiting_for(&facts, &emails), first))
}

/// The records of `order_id` that `group` set aside, from its topics' dead-letter
/// topics that hold any (`dead_letters`: records per dead-letter topic).
async fn parked(
    bus: &dyn EventBus,
    dead_letters: &BTreeMap<String, u64>,
    group: Group,
    order_id: &OrderId,
) -> Result<Vec<Parked>, BusError> {
    let mut out = Vec::new();
    for topic in group.topics {
        let dlq = dead_letter_topic(topic.name());
        if dead_letters.get(&dlq).is_none_or(|n| *n == 0) {
            continue;
        }
        // The key's records hold the replays and discards of its parked ones too.
        let records = bus
            .records_of_key(&dlq, order_id.as_str(), PARKED_PER_TOPIC)
            .await?;
        for p in dead_letters::still_parked(records) {
            if p.group.as_deref() != Some(group.name) {
                continue;
            }
            out.push(Parked {
                topic: dlq.clone(),
                offset: p.id.offset,
                reason: p.reason,
            });
        }
    }
    Ok(out)
}
