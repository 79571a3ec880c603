//! Loading events recorded elsewhere (an export of another store) as they were: their
//! positions, stream versions, ids and both times kept, so that history, `as_of`
//! answers and every read model built from them are the same as the original's.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{StoreError, StoredEvent};

/// A store events can be imported into.
#[async_trait]
pub trait ImportEvents: Send + Sync + std::fmt::Debug {
    /// Writes `events` as recorded: each keeps its position, version, ids and times.
    /// They must be in position order, every position above the store's head, and each
    /// the next version of its stream; otherwise nothing of them is written
    /// ([`StoreError::ImportRefused`]). Appends afterwards continue above the highest
    /// position imported.
    async fn import(&self, events: Vec<StoredEvent>) -> Result<(), StoreError>;
}

/// Checks that `events` continue a store whose head is `head` and whose streams are at
/// the versions `version_of` gives, as [`ImportEvents::import`] requires.
pub fn check_import(
    head: u64,
    events: &[StoredEvent],
    mut version_of: impl FnMut(&str) -> Result<u64, StoreError>,
) -> Result<(), StoreError> {
    let mut last = head;
    let mut versions: HashMap<&str, u64> = HashMap::new();
    for event in events {
        if event.position <= last {
            return Err(StoreError::ImportRefused(format!(
                "event {} at position {} does not come after position {last}",
                event.event_id, event.position
            )));
        }
        last = event.position;
        let at = match versions.get(event.stream_id.as_str()) {
            Some(v) => *v,
            None => version_of(&event.stream_id)?,
        };
        if event.version != at + 1 {
            return Err(StoreError::ImportRefused(format!(
                "event {} is version {} of {}, which is at version {at}",
                event.event_id, event.version, event.stream_id
            )));
        }
        versions.insert(&event.stream_id, event.version);
    }
    Ok(())
}
