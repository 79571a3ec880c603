//! Records polled and not yet handled, queued per key. A key's records are handled one
//! at a time in the order they were polled, by a task of its own that lives while the
//! key has records; so a key whose record keeps failing holds back only that key's later
//! records, never another key's.
//!
//! The queues hold at most a fixed number of records together (room is reserved before
//! polling and given back as each record is handled): polling waits while they are full.
//! They fill only with records that cannot be handled yet, the ones queued behind keys
//! that keep failing; those wait until their key recovers or its record is set aside.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use orderflow_core::bus::Record;
use tokio::sync::Semaphore;

#[derive(Debug)]
pub(super) struct Queues {
    /// A key is here while a task handles its records.
    keys: Mutex<HashMap<String, VecDeque<Record>>>,
    /// One permit per record the queues may still take.
    room: Semaphore,
}

impl Queues {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            keys: Mutex::default(),
            room: Semaphore::new(limit),
        }
    }

    /// Reserves room for up to `max` records, waiting up to `wait` while there is none;
    /// returns how many (0 when the queues stayed full). Unused room is given back with
    /// [`Queues::release`].
    pub(super) async fn reserve(&self, max: usize, wait: Duration) -> usize {
        if self.room.available_permits() == 0 {
            match tokio::time::timeout(wait, self.room.acquire()).await {
                Ok(Ok(permit)) => drop(permit),
                _ => return 0,
            }
        }
        let n = self.room.available_permits().min(max);
        match self.room.try_acquire_many(n as u32) {
            Ok(permits) => {
                permits.forget();
                n
            }
            Err(_) => 0,
        }
    }

    /// Gives back room for `n` records: reserved and not used, or handled.
    pub(super) fn release(&self, n: usize) {
        self.room.add_permits(n);
    }

    /// Queues a record, in room reserved for it, behind the earlier ones queued under
    /// `key` (its own key, or its partition for a handler that asks for partition
    /// order). True when that key had none: the caller starts a task that takes them
    /// with [`Queues::next`].
    pub(super) fn push(&self, key: String, record: Record) -> bool {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        match keys.get_mut(&key) {
            Some(queue) => {
                queue.push_back(record);
                false
            }
            None => {
                keys.insert(key, VecDeque::from([record]));
                true
            }
        }
    }

    /// The key's next record; `None` when it has no more, and then the key is forgotten
    /// (its next record starts a new task).
    pub(super) fn next(&self, key: &str) -> Option<Record> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let record = keys.get_mut(key).and_then(VecDeque::pop_front);
        if record.is_none() {
            keys.remove(key);
        }
        record
    }
}
