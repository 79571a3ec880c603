//! Where analytics resumes: the offsets its store committed with its counts, not the
//! group's. Before the group is joined, its committed offsets are made to agree with
//! the store's wherever they are ahead of them; where they are behind, the records in
//! between are skipped by the store. Offsets stored for another bus (a bus made again,
//! with its own identity, or one holding fewer records than they point past) are
//! forgotten first, and that bus is read from its start: the events seen are kept with
//! the counts, so the same events published again count once.

use std::collections::HashMap;
use std::time::Duration;

use orderflow_core::bus::{BusError, EventBus, Offset};
use orderflow_core::read_model::AnalyticsStore;
use tokio_util::sync::CancellationToken;

use super::GROUP;
use crate::context::ServiceError;

/// How long a reset waits for the group's members to leave: longer than Kafka's
/// default session timeout (45 s), after which a member killed without leaving is
/// dropped from the group.
const PATIENCE: Duration = Duration::from_secs(60);

type Partitions = HashMap<(String, u32), u64>;

fn by_partition(offsets: &[Offset]) -> Partitions {
    offsets
        .iter()
        .map(|o| ((o.topic.clone(), o.partition), o.offset))
        .collect()
}

/// What [`align`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aligned {
    /// The group's offsets were nowhere ahead of the store's.
    Already,
    /// The group was moved back to these offsets.
    Reset(Vec<Offset>),
}

/// Makes the analytics group's position on `bus` agree with its store's, before the
/// group is joined (see the module doc). A group that must move back while it has
/// live members (other analytics processes on Kafka, or one killed moments ago) waits
/// up to a minute for them to leave, then fails with what to do: a running member
/// would go on from offsets the store is behind, and the events in between would never
/// be counted.
pub async fn align(
    store: &dyn AnalyticsStore,
    bus: &dyn EventBus,
    shutdown: &CancellationToken,
) -> Result<Aligned, ServiceError> {
    align_within(store, bus, PATIENCE, shutdown).await
}

/// [`align`], waiting up to `patience` for live members to leave.
pub async fn align_within(
    store: &dyn AnalyticsStore,
    bus: &dyn EventBus,
    patience: Duration,
    shutdown: &CancellationToken,
) -> Result<Aligned, ServiceError> {
    let identity = bus.identity().await?;
    let topics = GROUP.topic_names();
    // Other members sharing the store (PostgreSQL) may move on while this reads: they
    // commit to the store before the bus, and each only grows, so the group's offsets
    // read before the store's are never ahead of them unless the store really is
    // behind, and the store's read before the bus's ends are never past them unless
    // they belong to another bus.
    let committed: Partitions = bus
        .groups()
        .await?
        .into_iter()
        .filter(|g| g.group == GROUP.name)
        .flat_map(|g| g.partitions)
        .filter_map(|p| Some(((p.topic, p.partition), p.committed?)))
        .collect();
    let mut stored = store.offsets().await?;
    let mut ends = Partitions::new();
    for topic in &topics {
        for (partition, end) in bus.end_offsets(topic).await? {
            ends.insert(((*topic).to_owned(), partition), end);
        }
    }
    let past_the_end = stored.next.iter().find(|o| {
        o.offset
            > ends
                .get(&(o.topic.clone(), o.partition))
                .copied()
                .unwrap_or(0)
    });
    if stored.bus != identity || past_the_end.is_some() {
        if !stored.next.is_empty() {
            tracing::warn!(stored = ?stored.bus, bus = ?identity, ?past_the_end,
                "analytics' offsets were stored for another bus: reading this one from its start (events seen are not counted again)");
        }
        store.start_on_bus(identity).await?;
        stored.next.clear();
    }
    let target = by_partition(&stored.next);
    let ahead: Vec<_> = committed
        .iter()
        .filter(|(partition, at)| **at > target.get(*partition).copied().unwrap_or(0))
        .collect();
    if ahead.is_empty() {
        return Ok(Aligned::Already);
    }
    tracing::info!(
        partitions = ahead.len(),
        "analytics' store is behind its group's offsets: moving the group back to the store's"
    );
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match bus
            .reset_offsets_to(GROUP.name, &topics, &stored.next)
            .await
        {
            Ok(offsets) => return Ok(Aligned::Reset(offsets)),
            Err(BusError::GroupActive { group, reason })
                if tokio::time::Instant::now() >= deadline =>
            {
                return Err(BusError::GroupActive {
                    group,
                    reason: format!(
                        "analytics' store is behind its group's committed offsets on {} \
                         partition(s) (its read models were made again, or restored from \
                         an older copy), so the group must move back to the store's offsets \
                         before it is joined, but it has live members ({reason}). Stop every \
                         analytics process, then start analytics again: it moves the group \
                         back itself. (Members sharing one store never need this.)",
                        ahead.len()
                    ),
                }
                .into());
            }
            Err(BusError::GroupActive { reason, .. }) => {
                tracing::warn!(%reason, "waiting for the analytics group's members to leave");
                tokio::select! {
                    _ = shutdown.cancelled() => return Err(BusError::GroupActive {
                        group: GROUP.name.into(),
                        reason: "stopped while waiting for the group's members to leave".into(),
                    }.into()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests;
