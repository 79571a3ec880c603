//! The newest records this process published, kept in memory in sequence order, so a
//! subscription in the same process reads what was just published without going back
//! to the file.
//!
//! Serving from memory is exact only over a run of sequence numbers with no hole: the
//! file has one writer at a time and a record's sequence number is taken under that
//! lock, so no other process can hold a number inside a run this process published
//! back to back. A publish that does not continue the run (another process published in
//! between) starts a new run; a subscription whose cursor is not inside the run reads
//! the file instead.

use std::collections::VecDeque;

use orderflow_core::bus::Record;

/// Records kept at most; older ones are read from the file.
const CAPACITY: usize = 16_384;

#[derive(Debug, Default)]
pub(super) struct Tail {
    /// `(seq, record)` with consecutive sequence numbers.
    records: VecDeque<(i64, Record)>,
}

impl Tail {
    /// Adds records just committed, with consecutive sequence numbers.
    pub(super) fn extend(&mut self, published: Vec<(i64, Record)>) {
        let continues = match (self.records.back(), published.first()) {
            (Some((last, _)), Some((first, _))) => *first == last + 1,
            _ => true,
        };
        if !continues {
            self.records.clear();
        }
        self.records.extend(published);
        let excess = self.records.len().saturating_sub(CAPACITY);
        self.records.drain(..excess);
    }

    /// Forgets everything (records may have been deleted from the file).
    pub(super) fn clear(&mut self) {
        self.records.clear();
    }

    /// Up to `max` records after sequence number `cursor` on one of `topics`, and the
    /// sequence number read up to; `None` when the run does not hold `cursor + 1`.
    pub(super) fn read_after(
        &self,
        cursor: i64,
        topics: &[String],
        max: usize,
    ) -> Option<(Vec<(i64, Record)>, i64)> {
        let (first, _) = self.records.front()?;
        let (last, _) = self.records.back()?;
        if !(*first..=*last).contains(&(cursor + 1)) {
            return None;
        }
        let mut out = Vec::new();
        let mut read_to = *last;
        for (seq, record) in self.records.range((cursor + 1 - first) as usize..) {
            if topics.contains(&record.topic) {
                out.push((*seq, record.clone()));
                if out.len() == max {
                    read_to = *seq;
                    break;
                }
            }
        }
        Some((out, read_to))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn record(topic: &str) -> Record {
        Record {
            topic: topic.into(),
            partition: 0,
            offset: 0,
            key: "k".into(),
            value: vec![],
            headers: vec![],
            timestamp: Utc::now(),
        }
    }

    fn run(seqs: std::ops::RangeInclusive<i64>, topic: &str) -> Vec<(i64, Record)> {
        seqs.map(|s| (s, record(topic))).collect()
    }

    fn seqs(read: &[(i64, Record)]) -> Vec<i64> {
        read.iter().map(|(s, _)| *s).collect()
    }

    #[test]
    fn reads_the_topics_asked_for_and_reports_how_far_it_looked() {
        let mut tail = Tail::default();
        tail.extend(run(1..=3, "orders"));
        tail.extend(run(4..=5, "payments"));
        let (read, to) = tail.read_after(1, &["orders".into()], 10).unwrap();
        assert_eq!((seqs(&read), to), (vec![2, 3], 5));
        let (read, to) = tail.read_after(0, &["orders".into()], 2).unwrap();
        assert_eq!((seqs(&read), to), (vec![1, 2], 2));
    }

    #[test]
    fn cannot_answer_for_a_cursor_outside_its_run() {
        let mut tail = Tail::default();
        assert!(tail.read_after(0, &["orders".into()], 10).is_none());
        tail.extend(run(5..=6, "orders"));
        assert!(
            tail.read_after(3, &["orders".into()], 10).is_none(),
            "4 may be another process's"
        );
        assert!(
            tail.read_after(6, &["orders".into()], 10).is_none(),
            "nothing newer held"
        );
    }

    #[test]
    fn a_publish_that_does_not_continue_the_run_starts_a_new_one() {
        let mut tail = Tail::default();
        tail.extend(run(1..=2, "orders"));
        // Another process published 3.
        tail.extend(run(4..=4, "orders"));
        assert!(tail.read_after(2, &["orders".into()], 10).is_none());
        let (read, _) = tail.read_after(3, &["orders".into()], 10).unwrap();
        assert_eq!(seqs(&read), [4]);
    }

    #[test]
    fn keeps_only_the_newest_records() {
        let mut tail = Tail::default();
        tail.extend(run(1..=(CAPACITY as i64 + 10), "orders"));
        assert!(tail.read_after(5, &["orders".into()], 1).is_none());
        let (read, _) = tail.read_after(10, &["orders".into()], 1).unwrap();
        assert_eq!(seqs(&read), [11]);
    }
}
