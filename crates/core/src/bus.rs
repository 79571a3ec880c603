//! The event bus port, shaped after Kafka: keyed records on partitioned topics,
//! consumer groups that commit offsets (the offset of the next record to read).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub mod dead_letters;
mod partitioner;

pub use partitioner::{murmur2, partition_for};

/// The topics of the pipeline ([`Topic::ALL`]), each named on the bus by [`Topic::name`].
pub use orderflow_domain::Topic;

/// Partitions per topic by default, as in the article's `orders` topic.
pub const DEFAULT_PARTITIONS: u32 = 12;

/// Retention by default: 7 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The dead-letter topic of a topic.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// A record to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingRecord {
    pub topic: String,
    /// The partitioning key (an order id): one key's records stay in order.
    pub key: String,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub timestamp: DateTime<Utc>,
}

/// A record as consumed.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub key: String,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub timestamp: DateTime<Utc>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// Where a group without committed offsets starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The oldest retained record.
    Earliest,
    /// Only records published after subscribing.
    Latest,
    /// The first record at or after this time.
    Timestamp(DateTime<Utc>),
}

/// A committed position: the group resumes `topic`/`partition` at `offset`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
}

impl Offset {
    /// The offsets to commit once these records are handled: per partition, one past the
    /// last record.
    pub fn after(records: &[Record]) -> Vec<Offset> {
        let mut next: std::collections::BTreeMap<(&str, u32), u64> = Default::default();
        for r in records {
            let e = next.entry((r.topic.as_str(), r.partition)).or_default();
            *e = (*e).max(r.offset + 1);
        }
        next.into_iter()
            .map(|((topic, partition), offset)| Offset {
                topic: topic.to_owned(),
                partition,
                offset,
            })
            .collect()
    }
}

/// One partition of a group: what it committed, where the log ends, and the gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: u32,
    pub committed: Option<u64>,
    pub end: u64,
    pub lag: u64,
    /// The timestamp of the oldest record the group has not handled (the one at its
    /// committed offset, or at the log's start without one), when `lag` > 0 and the bus
    /// could read it in time; how old it is, is how far behind the group is in time.
    pub oldest_unhandled: Option<DateTime<Utc>>,
}

/// A member of a consumer group, as the bus knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The bus's name for the member (a subscription on the embedded bus, the group
    /// coordinator's member id on Kafka).
    pub id: String,
    /// The client's own name (Kafka's `client.id`; the process on the embedded bus).
    pub client: String,
    pub host: String,
    /// Whether the member counts as alive: listed by the group coordinator on Kafka;
    /// holding a lease that is renewed, by a process that still runs, on the embedded
    /// bus.
    pub alive: bool,
    /// When the member was last heard from, where the bus keeps it (the embedded bus's
    /// heartbeat; Kafka lists live members only and says nothing of when).
    pub last_seen: Option<DateTime<Utc>>,
}

/// A consumer group: its members and its lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLag {
    pub group: String,
    pub partitions: Vec<PartitionLag>,
    pub members: Vec<GroupMember>,
}

impl GroupLag {
    pub fn total_lag(&self) -> u64 {
        self.partitions.iter().map(|p| p.lag).sum()
    }

    /// The timestamp of the oldest record the group has not handled, over its
    /// partitions.
    pub fn oldest_unhandled(&self) -> Option<DateTime<Utc>> {
        self.partitions
            .iter()
            .filter_map(|p| p.oldest_unhandled)
            .min()
    }

    /// How far behind the group is in time at `now`: the age of its oldest unhandled
    /// record, 0 when it has none (or its timestamp is in the future).
    pub fn lag_seconds(&self, now: DateTime<Utc>) -> f64 {
        self.oldest_unhandled().map_or(0.0, |t| {
            ((now - t).num_milliseconds().max(0) as f64) / 1000.0
        })
    }

    /// Whether some member of the group is alive.
    pub fn has_live_member(&self) -> bool {
        self.members.iter().any(|m| m.alive)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the event bus is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("unknown topic {0}")]
    UnknownTopic(String),
    #[error("invalid bus configuration: {0}")]
    Config(String),
    /// The consumer group has a live member, and what was asked needs it to have none:
    /// resetting its offsets, or another member joining on a bus that cannot share a
    /// group's partitions between members (the embedded bus). Not transient: stop the
    /// group's processes first. `reason` says who holds the group and what to do.
    #[error("{reason}")]
    GroupActive { group: String, reason: String },
    /// The bus's own storage is damaged (the embedded bus's SQLite file reports it):
    /// not transient, trying again cannot help. The file is a copy of the event store:
    /// stop orderflow and delete it, and it is made again at the next start.
    #[error("the event bus holds corrupt data: {0}")]
    Corrupt(String),
}

/// Where one partition's retained records begin, after retention deleted the older ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedStart {
    pub partition: u32,
    /// The offset of its first retained record; its end offset when none is retained.
    pub offset: u64,
    /// That record's store position (the relay's `position` header), if it has one.
    pub position: Option<u64>,
}

/// What retention left of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedLog {
    /// The topic's partitions (keys are placed by [`partition_for`] over them).
    pub partitions: u32,
    /// Each partition that ever had a record.
    pub starts: Vec<RetainedStart>,
}

/// A partitioned, durable log of records, consumed by groups.
#[async_trait]
pub trait EventBus: Send + Sync + fmt::Debug {
    /// Publishes records; when this returns every consumer can read them and they
    /// survive a crash of the publishing process. One key's records keep their order.
    async fn publish(&self, records: Vec<OutgoingRecord>) -> Result<(), BusError>;

    /// Makes every record published so far survive a crash of the machine too (power
    /// loss), as far as this bus can promise it. The relay calls it before it saves its
    /// checkpoint, so a checkpoint never claims records the bus could lose.
    async fn flush(&self) -> Result<(), BusError>;

    /// Joins `group` on `topics`. The group resumes from its committed offsets; a
    /// partition without one starts as `start` says. A bus that cannot share a group
    /// between members refuses a second live one with [`BusError::GroupActive`].
    async fn subscribe(
        &self,
        group: &str,
        topics: &[&str],
        start: StartFrom,
    ) -> Result<Box<dyn Subscription>, BusError>;

    /// Every known consumer group with its members, committed offsets and lag (in
    /// records, and the timestamp of each lagging partition's oldest unhandled record).
    async fn groups(&self) -> Result<Vec<GroupLag>, BusError>;

    /// The end offset (next offset to be written) of each partition of `topic` that has
    /// ever had a record.
    async fn end_offsets(&self, topic: &str) -> Result<Vec<(u32, u64)>, BusError>;

    /// What this bus is, as created: a new value when its storage was lost and started
    /// again empty. The relay compares it with the bus it last published to, and
    /// publishes the store again when they differ. `None`: this bus cannot tell.
    async fn identity(&self) -> Result<Option<String>, BusError> {
        Ok(None)
    }

    /// The highest store position among the records this bus still holds (their
    /// `position` header), dead-letter topics aside. The relay compares it with its
    /// checkpoint: a bus that is behind (restored from an older copy, or new and empty:
    /// `Some(0)`) gets the rest again. `None`: this bus cannot tell (or holds none and
    /// tells a lost bus by its [`identity`](Self::identity) instead).
    async fn published_up_to(&self) -> Result<Option<u64>, BusError> {
        Ok(None)
    }

    /// Whether the bus's own storage is sound, for `/health`: [`BusError::Corrupt`]
    /// once it is known to be damaged (by this check or by any earlier call). A bus
    /// whose storage lives elsewhere (Kafka's brokers) has nothing to check here.
    async fn check_integrity(&self) -> Result<(), BusError> {
        Ok(())
    }

    /// Moves a stopped group's committed offsets on `topics` to `to`, so that it
    /// replays from there when it starts again (Kafka's `--reset-offsets`). Returns the
    /// offsets committed. Refuses a group with active members, whose commits would undo
    /// the reset.
    async fn reset_offsets(
        &self,
        group: &str,
        topics: &[&str],
        to: StartFrom,
    ) -> Result<Vec<Offset>, BusError>;

    /// Like [`reset_offsets`](Self::reset_offsets), to offsets a consumer stored itself
    /// (with what it made of the records): each partition of `topics` named in `to` goes
    /// to its offset there (the earliest retained record, if that one is gone), every
    /// other one to its earliest retained record. Refuses a group with active members.
    async fn reset_offsets_to(
        &self,
        group: &str,
        topics: &[&str],
        to: &[Offset],
    ) -> Result<Vec<Offset>, BusError> {
        let _ = (topics, to);
        Err(BusError::Config(format!(
            "this bus cannot move group {group} to given offsets"
        )))
    }

    /// Where the retained records of each partition of `topic` begin: a consumer
    /// starting from the beginning finds nothing older on the bus, and gets what
    /// retention deleted from the event store instead.
    async fn retained(&self, topic: &str) -> Result<RetainedLog, BusError> {
        Err(BusError::Config(format!(
            "this bus cannot tell where the retained records of {topic} begin"
        )))
    }

    /// The records of `key` on `topic`, oldest first, at most `max`: its partition read
    /// from the log's start. For small topics, such as a dead-letter topic (what was
    /// parked of one order); a bus may stop reading a large one early.
    async fn records_of_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
    ) -> Result<Vec<Record>, BusError> {
        let _ = (key, max);
        Err(BusError::Config(format!(
            "this bus cannot read the records of a key on {topic}"
        )))
    }

    /// Every retained record of `topic`, partition by partition, each in offset order,
    /// at most `max`. For small topics, such as the dead-letter topics (see
    /// [`dead_letters`]); a bus may stop reading a large one early.
    async fn records(&self, topic: &str, max: usize) -> Result<Vec<Record>, BusError> {
        let _ = max;
        Err(BusError::Config(format!(
            "this bus cannot read the records of {topic}"
        )))
    }
}

/// A group member's view of its partitions.
#[async_trait]
pub trait Subscription: Send + fmt::Debug {
    /// Records after the ones already returned, waiting up to `wait` when none are there.
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Record>, BusError>;

    /// Commits offsets for the group (the next record to read per partition).
    async fn commit(&mut self, offsets: &[Offset]) -> Result<(), BusError>;
}
