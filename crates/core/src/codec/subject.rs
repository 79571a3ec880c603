//! Where each record type is published and registered: its topic, and its registry
//! subject (topic-record-name strategy).

use orderflow_domain::{EventType, Topic, topic_of_type};

use super::upcast;

/// The registry subject of a record type published to `topic` (topic-record-name
/// strategy).
pub fn subject(topic: Topic, record_name: &str) -> String {
    format!("{topic}-{record_name}")
}

/// The registry subject of an event type.
pub fn subject_of(event_type: EventType) -> String {
    subject(topic_of_type(event_type), event_type.name())
}

/// The topic records of this type are published to: an event type's, or for a type
/// that is no longer written, the topic of the event type its upcaster turns it into.
/// `None` for a type this build does not know.
pub fn topic_of_record(record_name: &str) -> Option<Topic> {
    let current = EventType::parse(record_name).or_else(|| {
        upcast::builtin()
            .iter()
            .find(|u| u.reads() == record_name)
            .map(|u| u.produces())
    })?;
    Some(topic_of_type(current))
}
