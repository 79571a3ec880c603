//! What a consumer holds between polling a record and handling it: room for a bounded
//! number of records (reserved before polling, given back as each is handled; polling
//! waits while there is none), and the keys whose record is being tried again off its
//! lane, each with the records of that key polled since, in order.
//!
//! A lane hands a key over here when its record fails for now, and goes on with other
//! keys; the key's later records wait here, behind it, until its record is handled or
//! set aside. The room fills only with records that cannot be handled yet: those queued
//! behind keys that keep failing.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use orderflow_core::bus::Record;
use tokio::sync::Semaphore;

#[derive(Debug)]
pub(super) struct Queues {
    /// A key is here while its record is tried again off its lane.
    retrying: Mutex<HashMap<String, VecDeque<Record>>>,
    /// How many keys `retrying` holds: lanes look at it alone while it is 0.
    retrying_keys: AtomicUsize,
    /// One permit per record the consumer may still take.
    room: Semaphore,
}

impl Queues {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            retrying: Mutex::default(),
            retrying_keys: AtomicUsize::new(0),
            room: Semaphore::new(limit),
        }
    }

    /// Reserves room for up to `max` records, waiting up to `wait` while there is none;
    /// returns how many (0 when it stayed full). Unused room is given back with
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

    /// The record back, for its lane to handle; or `None` when its key is being tried
    /// again off the lane, and the record now waits behind it.
    pub(super) fn unless_retrying(&self, key: &str, record: Record) -> Option<Record> {
        if self.retrying_keys.load(Ordering::Acquire) == 0 {
            return Some(record);
        }
        let mut retrying = self.lock();
        match retrying.get_mut(key) {
            Some(queue) => {
                queue.push_back(record);
                None
            }
            None => Some(record),
        }
    }

    /// The key's record is tried again off its lane from now on: its later records
    /// wait for it ([`Queues::unless_retrying`]).
    pub(super) fn retrying(&self, key: &str) {
        let mut retrying = self.lock();
        if retrying.insert(key.to_owned(), VecDeque::new()).is_none() {
            self.retrying_keys.fetch_add(1, Ordering::Release);
        }
    }

    /// The next record that waited behind the key; `None` when there is none, and then
    /// the key goes back to its lane.
    pub(super) fn next(&self, key: &str) -> Option<Record> {
        let mut retrying = self.lock();
        let record = retrying.get_mut(key).and_then(VecDeque::pop_front);
        if record.is_none() && retrying.remove(key).is_some() {
            self.retrying_keys.fetch_sub(1, Ordering::Release);
        }
        record
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Record>>> {
        self.retrying.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, offset: u64) -> Record {
        Record {
            topic: "orders".into(),
            partition: 0,
            offset,
            key: key.into(),
            value: vec![],
            headers: vec![],
            timestamp: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_key_tried_again_keeps_its_later_records_in_order_and_lets_others_pass() {
        let queues = Queues::new(10);
        queues.retrying("stuck");
        assert!(
            queues
                .unless_retrying("stuck", record("stuck", 1))
                .is_none()
        );
        assert!(
            queues
                .unless_retrying("other", record("other", 2))
                .is_some()
        );
        assert!(
            queues
                .unless_retrying("stuck", record("stuck", 3))
                .is_none()
        );
        let waited: Vec<u64> = std::iter::from_fn(|| queues.next("stuck"))
            .map(|r| r.offset)
            .collect();
        assert_eq!(waited, [1, 3]);
        let back = queues.unless_retrying("stuck", record("stuck", 4));
        assert!(
            back.is_some(),
            "once none waits, the key is its lane's again"
        );
    }

    #[tokio::test]
    async fn polling_gets_no_room_while_the_records_held_fill_it() {
        let queues = Queues::new(3);
        assert_eq!(queues.reserve(2, Duration::ZERO).await, 2);
        assert_eq!(queues.reserve(5, Duration::ZERO).await, 1);
        assert_eq!(queues.reserve(5, Duration::from_millis(10)).await, 0);
        queues.release(1);
        assert_eq!(queues.reserve(5, Duration::ZERO).await, 1);
    }
}
