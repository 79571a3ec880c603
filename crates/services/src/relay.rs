//! The relay: publishes the event store to the bus in global order, checkpointed. There
//! is no dual write: services only append to the store, so orders are accepted while the
//! bus or the relay is down, and flow once it is back. Publishing is at least once (a
//! crash between publish and checkpoint publishes a batch again); consumers are
//! idempotent.

use orderflow_core::idle::IdlePause;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orderflow_core::bus::{EventBus, OutgoingRecord};
use orderflow_core::codec::{CodecError, frame, topic_of_record};
use orderflow_core::store::{Checkpoints, EventStore, StoredEvent};
use tokio_util::sync::CancellationToken;

use crate::consumer::{headers, retry_transient};
use crate::context::ServiceError;

pub const CHECKPOINT: &str = "relay";
/// Which bus the relay's checkpoint is about (see [`EventBus::identity`]).
pub const BUS_CHECKPOINT: &str = "relay.bus";
const BATCH: usize = 1000;
/// Longest time between checkpoint saves while events keep coming.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The bus record for a stored event: keyed by its correlation id (the order), in the
/// Confluent wire format, with the envelope in headers. An event of a type this build
/// does not know (written by a newer one) has no topic here: the relay stops at it
/// rather than publish it where its consumers would not look.
pub fn to_record(event: &StoredEvent) -> Result<OutgoingRecord, ServiceError> {
    let topic = topic_of_record(&event.event_type).ok_or_else(|| CodecError::UnknownType {
        id: event.schema_id,
        name: event.event_type.clone(),
    })?;
    let mut headers = vec![
        (
            headers::EVENT_ID.into(),
            event.event_id.to_string().into_bytes(),
        ),
        (
            headers::EVENT_TYPE.into(),
            event.event_type.clone().into_bytes(),
        ),
        (
            headers::STREAM_ID.into(),
            event.stream_id.clone().into_bytes(),
        ),
        (
            headers::POSITION.into(),
            event.position.to_string().into_bytes(),
        ),
    ];
    if let Some(traceparent) = &event.trace_context {
        headers.push((
            orderflow_core::trace_context::HEADER.into(),
            traceparent.clone().into_bytes(),
        ));
    }
    Ok(OutgoingRecord {
        topic: topic.name().to_owned(),
        key: event.correlation_id.clone(),
        value: frame(event.schema_id, &event.payload),
        headers,
        timestamp: event.occurred_at,
    })
}

pub async fn run(
    store: Arc<dyn EventStore>,
    checkpoints: Arc<dyn Checkpoints>,
    bus: Arc<dyn EventBus>,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let mut position = retry_transient(&shutdown, "relay", || async {
        let position = checkpoints.load(CHECKPOINT).await?.unwrap_or(0);
        same_bus_or_start_over(bus.as_ref(), checkpoints.as_ref(), position).await
    })
    .await?;
    tracing::info!(position, "relay started");
    let mut saved = position;
    let mut last_save = Instant::now();
    // Appends in this process wake the relay at once; for other processes' it looks
    // again after a pause that grows while there is nothing.
    let mut idle = IdlePause::default();
    while !shutdown.is_cancelled() {
        let events = retry_transient(&shutdown, "relay read", || async {
            Ok(store.read_all(position, BATCH).await?)
        })
        .await?;
        // The checkpoint is saved at most every CHECKPOINT_EVERY, busy or idle (an idle
        // relay looks again within 100 ms), keeping its fsync off the hot path: saved on
        // every quiet moment it would queue before the next append. A crash
        // republishes at most that much, which consumers absorb. The bus is flushed
        // first: a checkpoint must not claim records a power loss could take from it.
        if saved < position && last_save.elapsed() >= CHECKPOINT_EVERY {
            retry_transient(&shutdown, "relay checkpoint", || {
                save_flushed(bus.as_ref(), checkpoints.as_ref(), position)
            })
            .await?;
            (saved, last_save) = (position, Instant::now());
        }
        let Some(last) = events.last().map(|e| e.position) else {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = store.wait_for_append(position, idle.take()) => continue,
            }
        };
        idle.found();
        let records = events
            .iter()
            .map(to_record)
            .collect::<Result<Vec<OutgoingRecord>, _>>()?;
        retry_transient(&shutdown, "relay publish", || async {
            bus.publish(records.clone())
                .await
                .map_err(ServiceError::from)
        })
        .await?;
        tracing::debug!(
            from = position + 1,
            to = last,
            count = events.len(),
            "relayed"
        );
        position = last;
    }
    if saved < position
        && let Err(e) = save_flushed(bus.as_ref(), checkpoints.as_ref(), position).await
    {
        // Not fatal: the relay republishes from the last saved checkpoint, which
        // idempotent consumers absorb.
        tracing::warn!(position, error = %e, "relay could not save its checkpoint on the way out");
    }
    tracing::info!(position, "relay stopped");
    Ok(())
}

/// A number that stands for a bus identity in a checkpoint (which holds positions).
/// FNV-1a: the stamp is kept across builds, so it must not depend on the standard
/// library's hasher, whose algorithm may change between Rust releases. Shifted to fit
/// a checkpoint column (a signed 64-bit integer).
fn identity_stamp(identity: &str) -> u64 {
    let hash = identity.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    hash >> 2
}

/// Where to start publishing: the checkpoint, unless the bus is not the one it was
/// saved for (its storage was lost, truncated or replaced, so its records are gone):
/// then the bus is a copy to make again, from the beginning of the store. Consumers,
/// starting over on the new bus too, are idempotent.
async fn same_bus_or_start_over(
    bus: &dyn EventBus,
    checkpoints: &dyn Checkpoints,
    position: u64,
) -> Result<u64, ServiceError> {
    let position = match bus.published_up_to().await? {
        Some(held) if held < position => {
            tracing::warn!(
                checkpoint = position,
                held,
                "the bus holds records only up to an earlier position (restored from an \
                 older copy?): publishing the rest again"
            );
            checkpoints.save(CHECKPOINT, held).await?;
            held
        }
        _ => position,
    };
    let Some(identity) = bus.identity().await? else {
        return Ok(position);
    };
    let stamp = identity_stamp(&identity);
    let start = match checkpoints.load(BUS_CHECKPOINT).await? {
        Some(known) if known == stamp => return Ok(position),
        Some(_) if position > 0 => {
            tracing::warn!(
                checkpoint = position,
                "the bus is not the one the relay published to (its storage was lost or \
                 replaced): publishing the store to it again from the beginning"
            );
            // The position first: a crash between the two saves must not leave the new
            // bus's stamp beside the old position.
            checkpoints.save(CHECKPOINT, 0).await?;
            0
        }
        // The first start with a bus that can tell (or with an empty store).
        _ => position,
    };
    checkpoints.save(BUS_CHECKPOINT, stamp).await?;
    Ok(start)
}

/// Flushes the bus, then saves the checkpoint.
async fn save_flushed(
    bus: &dyn EventBus,
    checkpoints: &dyn Checkpoints,
    position: u64,
) -> Result<(), ServiceError> {
    bus.flush().await.map_err(ServiceError::from)?;
    Ok(checkpoints.save(CHECKPOINT, position).await?)
}

#[cfg(test)]
mod tests;
