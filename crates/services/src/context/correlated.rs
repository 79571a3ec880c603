//! Every event about one order, and the cache that lets a service read only what is new
//! about an order it has read before.

use std::fmt;
use std::sync::{Arc, Mutex};

use hashlink::LruCache;
use orderflow_core::store::StoredEvent;
use orderflow_domain::{Aggregate, Event};

use super::Loaded;

/// A recorded event with its decoded form.
pub type Decoded = (StoredEvent, Event);

/// Every event about one order (all its streams), in global order, from which the
/// aggregates of its streams are folded. Cheap to clone: the events are shared.
#[derive(Debug, Clone, Default)]
pub struct Correlated {
    events: Arc<Vec<Arc<Decoded>>>,
}

impl Correlated {
    /// Events in global order.
    pub(crate) fn from_sorted(events: Vec<Arc<Decoded>>) -> Self {
        debug_assert!(events.windows(2).all(|w| w[0].0.position < w[1].0.position));
        Self {
            events: Arc::new(events),
        }
    }

    /// The aggregate of one of the order's streams, as read.
    pub fn load<A: Aggregate>(&self, stream_id: &str) -> Loaded<A> {
        let of_stream = || self.events.iter().filter(|e| e.0.stream_id == stream_id);
        let last = of_stream().next_back().map(|e| &e.0);
        Loaded {
            aggregate: A::from_events(of_stream().map(|e| &e.1)),
            version: last.map_or(0, |s| s.version),
            position: last.map_or(0, |s| s.position),
        }
    }

    /// The events, in global order.
    pub fn events(&self) -> &[Arc<Decoded>] {
        &self.events
    }

    /// The global position of the last event (0 when there is none).
    pub fn last_position(&self) -> u64 {
        self.events.last().map_or(0, |e| e.0.position)
    }

    /// Whether an event at this position is among these.
    pub(crate) fn has(&self, position: u64) -> bool {
        self.events
            .binary_search_by_key(&position, |e| e.0.position)
            .is_ok()
    }
}

/// How many orders a recorder keeps read: enough for every order in flight in a backlog
/// of several thousand, at a few kilobytes each.
const CACHED_ORDERS: usize = 8_192;

/// The orders a service read last, each as of its last read: the next read of one asks
/// the store only for what it has not seen
/// ([`read_correlated_since`](orderflow_core::store::EventStore::read_correlated_since))
/// and decodes only that. Events are never changed or deleted, so what was read stays
/// true; what happened since is always read from the store, never assumed.
pub(crate) struct CorrelatedCache {
    orders: Mutex<LruCache<String, Correlated>>,
}

impl CorrelatedCache {
    pub(crate) fn new() -> Self {
        Self {
            orders: Mutex::new(LruCache::new(CACHED_ORDERS)),
        }
    }

    pub(crate) fn get(&self, correlation_id: &str) -> Option<Correlated> {
        self.lock().get(correlation_id).cloned()
    }

    /// Keeps a read, unless one that saw as much was kept meanwhile (reads of an order
    /// only grow: events are never deleted).
    pub(crate) fn put(&self, correlation_id: &str, read: &Correlated) {
        let mut orders = self.lock();
        if orders
            .peek(correlation_id)
            .is_none_or(|kept| kept.events.len() < read.events.len())
        {
            orders.insert(correlation_id.to_owned(), read.clone());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Correlated>> {
        self.orders.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for CorrelatedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorrelatedCache")
            .field("orders", &self.lock().len())
            .finish()
    }
}
