//! Parked records (dead letters) as an operator acts on them: listed, read, replayed to
//! the topic they came from, or discarded.
//!
//! A record set aside sits on `<topic>.dlq` with why and where from in its headers
//! ([`headers`], written by [`letter`]). Its id is its place there,
//! `<dlq topic>:<partition>:<offset>` ([`ParkedId`]), stable for as long as the bus
//! retains it. What an operator does to it is recorded on the same topic, under the
//! same key, as an action record (no value; [`headers::ACTION`] and who, why and when):
//! both buses keep it with no table or topic of their own, and a parked record's state
//! is the last action naming it. Replaying publishes the original record (its key,
//! value and the relay's headers) back to its origin topic, marked with the group that
//! set it aside ([`headers::REPLAY_GROUP`]); handlers take it as any delivery, at least
//! once and idempotently.
//!
//! # Layout
//!
//! - `dead_letters/parked.rs`: a parked record as read back ([`Parked`]), its id and
//!   its state.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{BusError, EventBus, OutgoingRecord, Record, Topic, dead_letter_topic};

mod parked;

pub use parked::{Action, Parked, ParkedId, ParkedOrigin, ParkedState};

/// The headers of a parked record, of an action on one, and of a replayed record.
pub mod headers {
    /// Why it was set aside.
    pub const ERROR: &str = "error";
    /// The group that set it aside.
    pub const CONSUMER_GROUP: &str = "consumer-group";
    pub const ORIGINAL_TOPIC: &str = "original-topic";
    pub const ORIGINAL_PARTITION: &str = "original-partition";
    pub const ORIGINAL_OFFSET: &str = "original-offset";
    /// `transient` (failed for now until the retries gave up) or `permanent`.
    pub const FAILURE_KIND: &str = "failure-kind";
    /// When handling it first and last failed (RFC 3339), and how often it was tried.
    pub const FIRST_FAILURE: &str = "first-failure";
    pub const LAST_FAILURE: &str = "last-failure";
    pub const ATTEMPTS: &str = "attempts";
    /// On an action record: `replayed` or `discarded`, the id it names, who, why, when.
    pub const ACTION: &str = "dlq-action";
    pub const TARGET: &str = "dlq-target";
    pub const ACTOR: &str = "dlq-actor";
    pub const REASON: &str = "dlq-reason";
    pub const AT: &str = "dlq-at";
    /// On a replayed record: the parked record it came from, and the group it is for.
    pub const REPLAY_OF: &str = "replay-of";
    pub const REPLAY_GROUP: &str = "replay-group";

    /// Headers that belong to a record's stay on a dead-letter topic (or a replay of
    /// it), not to the record as the relay published it.
    pub(crate) const ADDED: [&str; 11] = [
        ERROR,
        CONSUMER_GROUP,
        ORIGINAL_TOPIC,
        ORIGINAL_PARTITION,
        ORIGINAL_OFFSET,
        FAILURE_KIND,
        FIRST_FAILURE,
        LAST_FAILURE,
        ATTEMPTS,
        REPLAY_OF,
        REPLAY_GROUP,
    ];
}

/// Parked records read at most per dead-letter topic.
pub const MAX_PER_TOPIC: usize = 10_000;

/// How many records of the dead-letter topic `dlq` wait for a decision: neither replayed
/// nor discarded (of its first [`MAX_PER_TOPIC`]). The action records that replays and
/// discards add to the topic are not counted.
pub async fn waiting(bus: &dyn EventBus, dlq: &str) -> Result<u64, BusError> {
    let records = bus.records(dlq, MAX_PER_TOPIC).await?;
    Ok(still_parked(records).len() as u64)
}

/// Of `records` of a dead-letter topic (the originals with their action records, such as
/// all the records of one key), the parked ones neither replayed nor discarded.
pub fn still_parked(records: Vec<Record>) -> Vec<Parked> {
    parked::read_back(records)
        .into_iter()
        .filter(|p| p.state == ParkedState::Parked)
        .collect()
}

/// How handling a record failed before it was set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure<'a> {
    pub group: &'a str,
    pub reason: &'a str,
    /// `transient` or `permanent`.
    pub kind: &'a str,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub attempts: u32,
}

/// The copy of `record` that sets it aside on its dead-letter topic: its key, value,
/// timestamp and headers, with why and where from.
pub fn letter(record: &Record, failure: &Failure<'_>) -> OutgoingRecord {
    let mut hs: Vec<(String, Vec<u8>)> = record
        .headers
        .iter()
        .filter(|(n, _)| !headers::ADDED.contains(&n.as_str()))
        .cloned()
        .collect();
    let mut add = |name: &str, value: String| hs.push((name.to_owned(), value.into_bytes()));
    add(headers::ERROR, failure.reason.to_owned());
    add(headers::CONSUMER_GROUP, failure.group.to_owned());
    add(headers::ORIGINAL_TOPIC, record.topic.clone());
    add(headers::ORIGINAL_PARTITION, record.partition.to_string());
    add(headers::ORIGINAL_OFFSET, record.offset.to_string());
    add(headers::FAILURE_KIND, failure.kind.to_owned());
    add(headers::FIRST_FAILURE, time(failure.first));
    add(headers::LAST_FAILURE, time(failure.last));
    add(headers::ATTEMPTS, failure.attempts.to_string());
    OutgoingRecord {
        topic: dead_letter_topic(&record.topic),
        key: record.key.clone(),
        value: record.value.clone(),
        headers: hs,
        timestamp: record.timestamp,
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What went wrong acting on parked records.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// Not an id of a parked record (`<dlq topic>:<partition>:<offset>`).
    #[error("{0}")]
    BadId(String),
    #[error("no parked record {0}")]
    NotFound(ParkedId),
    #[error("unknown topic {0}: give a topic of the pipeline (orders, payments, …) or its .dlq")]
    UnknownTopic(String),
    /// Replaying a discarded record: discarding is final.
    #[error("parked record {id} was discarded by {actor}; it is not replayed")]
    Discarded { id: ParkedId, actor: String },
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Which parked records to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// A pipeline topic or its dead-letter topic; every one when `None`.
    pub topic: Option<String>,
    /// Replayed and discarded ones too.
    pub all: bool,
}

/// The parked records of a bus, to act on (see the module doc).
#[derive(Debug, Clone)]
pub struct DeadLetters {
    bus: Arc<dyn EventBus>,
}

impl DeadLetters {
    pub fn new(bus: Arc<dyn EventBus>) -> Self {
        Self { bus }
    }

    /// The dead-letter topics `topic` names: its own (given as `orders` or
    /// `orders.dlq`), or every pipeline topic's.
    pub fn topics(topic: Option<&str>) -> Result<Vec<String>, DeadLetterError> {
        let all = Topic::ALL.iter().map(|t| dead_letter_topic(t.name()));
        match topic {
            None => Ok(all.collect()),
            Some(t) => {
                let dlq = if t.ends_with(".dlq") {
                    t.to_owned()
                } else {
                    dead_letter_topic(t)
                };
                all.into_iter()
                    .find(|d| *d == dlq)
                    .ok_or_else(|| DeadLetterError::UnknownTopic(t.to_owned()))
                    .map(|d| vec![d])
            }
        }
    }

    /// Parked records, oldest first per topic: those still parked, or all with `all`.
    pub async fn list(&self, filter: &Filter) -> Result<Vec<Parked>, DeadLetterError> {
        let mut out = Vec::new();
        for topic in Self::topics(filter.topic.as_deref())? {
            let records = self.bus.records(&topic, MAX_PER_TOPIC).await?;
            out.extend(
                parked::read_back(records)
                    .into_iter()
                    .filter(|p| filter.all || p.state == ParkedState::Parked),
            );
        }
        Ok(out)
    }

    /// One parked record, in whatever state.
    pub async fn get(&self, id: &ParkedId) -> Result<Parked, DeadLetterError> {
        if Self::topics(Some(&id.topic))? != [id.topic.clone()] {
            return Err(DeadLetterError::NotFound(id.clone()));
        }
        let records = self.bus.records(&id.topic, MAX_PER_TOPIC).await?;
        parked::read_back(records)
            .into_iter()
            .find(|p| p.id == *id)
            .ok_or_else(|| DeadLetterError::NotFound(id.clone()))
    }

    /// Publishes the parked record back to its origin topic for its group, then records
    /// that it was. Replaying it again publishes it again: handlers de-duplicate.
    pub async fn replay(&self, id: &ParkedId, actor: &str) -> Result<Parked, DeadLetterError> {
        let parked = self.get(id).await?;
        if let ParkedState::Discarded(a) = &parked.state {
            return Err(DeadLetterError::Discarded {
                id: id.clone(),
                actor: a.actor.clone(),
            });
        }
        self.bus.publish(vec![parked.replay()]).await?;
        self.act(&parked, "replayed", actor, None).await?;
        self.get(id).await
    }

    /// Replays every record still parked (on `topic`'s dead-letter topic, or all).
    pub async fn replay_all(
        &self,
        topic: Option<&str>,
        actor: &str,
    ) -> Result<Vec<ParkedId>, DeadLetterError> {
        let filter = Filter {
            topic: topic.map(str::to_owned),
            all: false,
        };
        let mut replayed = Vec::new();
        for parked in self.list(&filter).await? {
            self.bus.publish(vec![parked.replay()]).await?;
            self.act(&parked, "replayed", actor, None).await?;
            replayed.push(parked.id);
        }
        Ok(replayed)
    }

    /// Records that the parked record is given up on, by whom and why: it is listed no
    /// more (but with `all`) and never replayed.
    pub async fn discard(
        &self,
        id: &ParkedId,
        actor: &str,
        reason: &str,
    ) -> Result<Parked, DeadLetterError> {
        let parked = self.get(id).await?;
        self.act(&parked, "discarded", actor, Some(reason)).await?;
        self.get(id).await
    }

    async fn act(
        &self,
        parked: &Parked,
        action: &str,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<(), BusError> {
        let now = Utc::now();
        let mut hs = vec![
            (headers::ACTION.to_owned(), action.as_bytes().to_vec()),
            (
                headers::TARGET.to_owned(),
                parked.id.to_string().into_bytes(),
            ),
            (headers::ACTOR.to_owned(), actor.as_bytes().to_vec()),
            (headers::AT.to_owned(), time(now).into_bytes()),
        ];
        if let Some(reason) = reason {
            hs.push((headers::REASON.to_owned(), reason.as_bytes().to_vec()));
        }
        self.bus
            .publish(vec![OutgoingRecord {
                topic: parked.id.topic.clone(),
                key: parked.record.key.clone(),
                value: Vec::new(),
                headers: hs,
                timestamp: now,
            }])
            .await
    }
}
