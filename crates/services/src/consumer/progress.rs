//! What may be committed: per partition, everything below the oldest record polled and
//! not yet handled. A record still retrying holds its partition's commit back (it is
//! delivered again after a crash); records after it, handled or not, are then delivered
//! again too, which idempotent handlers absorb.

use std::collections::{BTreeSet, HashMap};

use orderflow_core::bus::{Offset, Record};

/// Per partition: offsets polled and not yet handled, and the next offset.
#[derive(Debug, Default)]
struct Partition {
    in_flight: BTreeSet<u64>,
    next: u64,
}

#[derive(Debug, Default)]
pub(super) struct Progress {
    partitions: HashMap<(String, u32), Partition>,
    committed: HashMap<(String, u32), u64>,
}

impl Progress {
    pub(super) fn dispatched(&mut self, record: &Record) {
        let p = self
            .partitions
            .entry((record.topic.clone(), record.partition))
            .or_default();
        p.in_flight.insert(record.offset);
        p.next = p.next.max(record.offset + 1);
    }

    pub(super) fn handled(&mut self, topic: &str, partition: u32, offset: u64) {
        if let Some(p) = self.partitions.get_mut(&(topic.to_owned(), partition)) {
            p.in_flight.remove(&offset);
        }
    }

    /// Offsets that moved since the last commit.
    pub(super) fn to_commit(&self) -> Vec<Offset> {
        self.partitions
            .iter()
            .filter_map(|((topic, partition), p)| {
                let offset = p.in_flight.first().copied().unwrap_or(p.next);
                let key = (topic.clone(), *partition);
                (self.committed.get(&key) != Some(&offset)).then(|| Offset {
                    topic: topic.clone(),
                    partition: *partition,
                    offset,
                })
            })
            .collect()
    }

    pub(super) fn mark_committed(&mut self, offsets: &[Offset]) {
        for o in offsets {
            self.committed
                .insert((o.topic.clone(), o.partition), o.offset);
        }
    }
}
