//! A parked record as read back from its dead-letter topic: its id, what its headers
//! say of the failure, and its state after the actions recorded on it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::{DeadLetterError, headers};
use crate::bus::{OutgoingRecord, Record};

/// A parked record's id: its place on its dead-letter topic, printed
/// `<dlq topic>:<partition>:<offset>` (e.g. `orders.dlq:3:17`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParkedId {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
}

impl fmt::Display for ParkedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.topic, self.partition, self.offset)
    }
}

impl FromStr for ParkedId {
    type Err = DeadLetterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            DeadLetterError::BadId(format!(
                "{s:?} is not a parked record's id: <dlq topic>:<partition>:<offset>, \
                 e.g. orders.dlq:3:17"
            ))
        };
        let mut parts = s.rsplitn(3, ':');
        let (Some(offset), Some(partition), Some(topic)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if !topic.ends_with(".dlq") {
            return Err(bad());
        }
        Ok(Self {
            topic: topic.to_owned(),
            partition: partition.parse().map_err(|_| bad())?,
            offset: offset.parse().map_err(|_| bad())?,
        })
    }
}

/// Where a parked record was read before it was set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedOrigin {
    pub topic: String,
    pub partition: Option<u32>,
    pub offset: Option<u64>,
}

/// Who did something to a parked record, when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub actor: String,
    pub at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// Where a parked record stands: still parked, or the last action on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParkedState {
    Parked,
    Replayed(Action),
    Discarded(Action),
}

impl ParkedState {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Parked => "parked",
            Self::Replayed(_) => "replayed",
            Self::Discarded(_) => "discarded",
        }
    }

    pub fn action(&self) -> Option<&Action> {
        match self {
            Self::Parked => None,
            Self::Replayed(a) | Self::Discarded(a) => Some(a),
        }
    }
}

/// A parked record: the record on its dead-letter topic and what its headers say.
/// Headers a record parked before they existed lacks are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parked {
    pub id: ParkedId,
    /// The record as it sits on the dead-letter topic (the original key, value and
    /// timestamp).
    pub record: Record,
    pub group: Option<String>,
    pub reason: String,
    pub kind: Option<String>,
    pub origin: ParkedOrigin,
    pub first_failure: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
    pub attempts: Option<u32>,
    pub state: ParkedState,
    /// How often it was replayed.
    pub replays: u32,
}

impl Parked {
    fn of(record: Record) -> Self {
        let text = |name| {
            record
                .header(name)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let number = |name| text(name).and_then(|v| v.parse::<u64>().ok());
        let time = |name| {
            text(name)
                .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let id = ParkedId {
            topic: record.topic.clone(),
            partition: record.partition,
            offset: record.offset,
        };
        let origin = ParkedOrigin {
            topic: text(headers::ORIGINAL_TOPIC).unwrap_or_else(|| {
                id.topic
                    .strip_suffix(".dlq")
                    .unwrap_or(&id.topic)
                    .to_owned()
            }),
            partition: number(headers::ORIGINAL_PARTITION).and_then(|p| p.try_into().ok()),
            offset: number(headers::ORIGINAL_OFFSET),
        };
        Self {
            group: text(headers::CONSUMER_GROUP),
            reason: text(headers::ERROR).unwrap_or_default(),
            kind: text(headers::FAILURE_KIND),
            first_failure: time(headers::FIRST_FAILURE),
            last_failure: time(headers::LAST_FAILURE),
            attempts: number(headers::ATTEMPTS).and_then(|a| a.try_into().ok()),
            state: ParkedState::Parked,
            replays: 0,
            origin,
            id,
            record,
        }
    }

    /// The headers the record had on its origin topic.
    pub fn original_headers(&self) -> Vec<(String, Vec<u8>)> {
        self.record
            .headers
            .iter()
            .filter(|(n, _)| !headers::ADDED.contains(&n.as_str()))
            .cloned()
            .collect()
    }

    /// The record to publish back to its origin topic, for its group.
    pub fn replay(&self) -> OutgoingRecord {
        let mut hs = self.original_headers();
        hs.push((
            headers::REPLAY_OF.to_owned(),
            self.id.to_string().into_bytes(),
        ));
        if let Some(group) = &self.group {
            hs.push((headers::REPLAY_GROUP.to_owned(), group.as_bytes().to_vec()));
        }
        OutgoingRecord {
            topic: self.origin.topic.clone(),
            key: self.record.key.clone(),
            value: self.record.value.clone(),
            headers: hs,
            timestamp: self.record.timestamp,
        }
    }
}

/// The parked records of one dead-letter topic's records, in their order, each in the
/// state its last action left it (discarding is final).
pub(super) fn read_back(records: Vec<Record>) -> Vec<Parked> {
    let mut parked: Vec<Parked> = Vec::new();
    let mut actions = Vec::new();
    for r in records {
        if r.header(headers::ACTION).is_some() {
            actions.push(r);
        } else {
            parked.push(Parked::of(r));
        }
    }
    for a in actions {
        let text = |name| {
            a.header(name)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let Some(target) = text(headers::TARGET).and_then(|t| t.parse::<ParkedId>().ok()) else {
            continue;
        };
        let Some(p) = parked.iter_mut().find(|p| p.id == target) else {
            continue;
        };
        let action = Action {
            actor: text(headers::ACTOR).unwrap_or_default(),
            at: text(headers::AT)
                .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
                .map(|t| t.with_timezone(&Utc)),
            reason: text(headers::REASON),
        };
        if matches!(p.state, ParkedState::Discarded(_)) {
            continue;
        }
        match text(headers::ACTION).as_deref() {
            Some("replayed") => {
                p.replays += 1;
                p.state = ParkedState::Replayed(action);
            }
            Some("discarded") => p.state = ParkedState::Discarded(action),
            _ => {}
        }
    }
    parked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_prints_as_it_parses() -> Result<(), DeadLetterError> {
        let id: ParkedId = "shop.orders.dlq:3:17".parse()?;
        assert_eq!(
            id,
            ParkedId {
                topic: "shop.orders.dlq".into(),
                partition: 3,
                offset: 17
            }
        );
        assert_eq!(id.to_string(), "shop.orders.dlq:3:17");
        Ok(())
    }

    #[test]
    fn an_id_that_is_not_a_dead_letter_place_is_refused_with_the_shape() {
        for bad in [
            "orders:1:2",
            "orders.dlq:x:2",
            "orders.dlq:1",
            "",
            "orders.dlq:1:-2",
        ] {
            let e = bad.parse::<ParkedId>().unwrap_err();
            assert!(
                e.to_string().contains("<dlq topic>:<partition>:<offset>"),
                "{bad}: {e}"
            );
        }
    }
}
