//! An event store with checkpoints in memory, for tests and tools: the semantics of the
//! store contract, with nothing to open and nothing kept once the last handle is gone.
//! A clone is another handle to the same store.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use uuid::Uuid;

use super::{
    AppendRequest, Appended, Checkpoints, EventStore, StoreError, StoredEvent, StreamQuery,
};

#[derive(Debug, Default)]
struct State {
    /// In global order: an event's position is its index plus one.
    events: Vec<StoredEvent>,
    /// Each stream's events, as indexes into `events`, in version order.
    streams: HashMap<String, Vec<usize>>,
    ids: HashSet<Uuid>,
    checkpoints: HashMap<String, u64>,
}

impl State {
    fn version(&self, stream_id: &str) -> u64 {
        self.streams.get(stream_id).map_or(0, |s| s.len() as u64)
    }

    /// Refuses the append as a whole, or accepts it: each request's expectation holds
    /// after the requests before it, and no event id is stored or given twice.
    fn check(&self, requests: &[AppendRequest]) -> Result<(), StoreError> {
        let mut versions: HashMap<&str, u64> = HashMap::new();
        let mut ids = HashSet::new();
        for request in requests {
            let stream = request.stream_id.as_str();
            let actual = *versions
                .entry(stream)
                .or_insert_with(|| self.version(stream));
            if !request.expected.matches(actual) {
                return Err(StoreError::WrongExpectedVersion {
                    stream_id: stream.to_owned(),
                    expected: request.expected,
                    actual,
                });
            }
            for event in &request.events {
                if self.ids.contains(&event.event_id) || !ids.insert(event.event_id) {
                    return Err(StoreError::DuplicateEvent(event.event_id));
                }
            }
            versions.insert(stream, actual + request.events.len() as u64);
        }
        Ok(())
    }

    fn push(&mut self, request: AppendRequest, recorded_at: DateTime<Utc>) -> Appended {
        let stream = self.streams.entry(request.stream_id.clone()).or_default();
        let mut position = 0;
        for event in request.events {
            position = self.events.len() as u64 + 1;
            stream.push(self.events.len());
            self.ids.insert(event.event_id);
            self.events.push(StoredEvent {
                position,
                stream_id: request.stream_id.clone(),
                version: stream.len() as u64,
                recorded_at,
                event_id: event.event_id,
                event_type: event.event_type,
                schema_id: event.schema_id,
                payload: event.payload,
                occurred_at: event.occurred_at,
                correlation_id: event.correlation_id,
                causation_id: event.causation_id,
                actor: event.actor,
                trace_context: event.trace_context,
            });
        }
        Appended {
            version: stream.len() as u64,
            position,
        }
    }

    fn correlated(&self, correlation_id: &str, after: u64) -> Vec<StoredEvent> {
        let after = (after as usize).min(self.events.len());
        self.events[after..]
            .iter()
            .filter(|e| e.correlation_id == correlation_id)
            .cloned()
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct InMemoryEventStore {
    state: Arc<Mutex<State>>,
    /// The head position, for followers waiting for an append.
    head: Arc<watch::Sender<u64>>,
}

impl Default for InMemoryEventStore {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            head: Arc::new(watch::channel(0).0),
        }
    }
}

impl InMemoryEventStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventStore for InMemoryEventStore {
    async fn append(&self, requests: Vec<AppendRequest>) -> Result<Vec<Appended>, StoreError> {
        let mut state = self.state();
        state.check(&requests)?;
        let now = Utc::now();
        let appended = requests.into_iter().map(|r| state.push(r, now)).collect();
        self.head.send_replace(state.events.len() as u64);
        Ok(appended)
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let state = self.state();
        let stream = state.streams.get(stream_id).map_or(&[][..], Vec::as_slice);
        Ok(stream
            .iter()
            .map(|&i| &state.events[i])
            .filter(|e| e.version > query.after_version)
            .filter(|e| query.up_to_version.is_none_or(|v| e.version <= v))
            .filter(|e| query.until.is_none_or(|t| e.occurred_at <= t))
            .cloned()
            .collect())
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let state = self.state();
        let after = (after as usize).min(state.events.len());
        Ok(state.events[after..].iter().take(limit).cloned().collect())
    }

    async fn read_correlated(&self, correlation_id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.state().correlated(correlation_id, 0))
    }

    /// Positions become visible strictly in order here: only the events after `seen`.
    async fn read_correlated_since(
        &self,
        correlation_id: &str,
        seen: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.state().correlated(correlation_id, seen))
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        Ok(self.state().events.len() as u64)
    }

    async fn wait_for_append(&self, after: u64, timeout: Duration) {
        let mut head = self.head.subscribe();
        // Either the head moved past `after` (perhaps before the call) or time ran out.
        let _ = tokio::time::timeout(timeout, head.wait_for(|&h| h > after)).await;
    }
}

#[async_trait]
impl Checkpoints for InMemoryEventStore {
    async fn load(&self, name: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.state().checkpoints.get(name).copied())
    }

    async fn save(&self, name: &str, position: u64) -> Result<(), StoreError> {
        self.state().checkpoints.insert(name.to_owned(), position);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
