//! Does today's code agree with history? `orderflow verify` folds every stream with the
//! current code and re-runs each recorded decision, reporting every event the current
//! code would not have recorded (run it before deploying a new version).
//!
//! The whole store is read once, in global order. Each event is folded into its
//! stream's aggregate: a stream fails to fold where an event does not decode, belongs
//! to another stream, or skips a version. The events of one append (one decision: same
//! order, cause, actor and time) are checked together, against the state just before
//! the first of them:
//!
//! - **re-decided**: what a handler recorded from the event that caused it (order
//!   process, payment, inventory, shipping, notification: the command derived from the
//!   cause with `domain::reactions`, as the handler derives it), and what the API
//!   recorded for a request (`OrderCreated`, a customer's `OrderCancelled`,
//!   `StockLevelSet`; the request itself is not stored, so the command is rebuilt from
//!   the event and only the aggregate's rule is checked), and every `StepFailed`
//!   (why the step failed came from outside). Answers from outside are taken from the
//!   recorded event: the payment provider's (transaction id, decline or void reason),
//!   the mail server's (sent, or failed and why).
//! - **folded only**: events of an actor no decision of this build belongs to, and
//!   events whose cause is not in the store.
//!
//! For each stream a decision appended to, the events the rules produce now must equal
//! the ones recorded, in order, type and payload; ids and times are inputs taken from
//! the record. Limits: a decision that recorded nothing leaves no trace, so a rule that
//! would now record something where nothing was recorded is not found; a reservation
//! refused for want of stock is checked against the SKUs as they were just before it
//! (the handler may have read them a moment earlier).
//!
//! # Layout
//!
//! - `rules.rs`: the rules decisions are re-run with (the current code's by default).
//! - `compare.rs`: a decision's recorded events against the rules' now, stream by stream.
//! - `decisions.rs`: which decision recorded an event, and what the rules make of it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use orderflow_core::codec::{CodecError, EventCodec};
use orderflow_core::store::{EventStore, StoreError, StoredEvent};
use orderflow_domain::reactions::{
    dispatch_intent, notification_intent, payment_intent, process_trigger, reservation_intent,
};
use orderflow_domain::{Event, streams};
use uuid::Uuid;

mod compare;
mod decisions;
mod rules;

use crate::replay::State;
use compare::compare;
use decisions::{Cause, Expected, Folded, World};
pub use rules::{CurrentRules, Rules};

/// An event the current code would not have recorded, or one it would have recorded
/// that is not there.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    pub stream: String,
    /// The recorded event's version (or the version the missing one would have had).
    pub version: u64,
    /// The recorded event's global position (of the decision's first event when one is
    /// missing).
    pub position: u64,
    /// Who recorded the decision.
    pub actor: String,
    /// The event as recorded (its type and data), or `nothing`.
    pub recorded: String,
    /// What the current code produces in its place: an event, `nothing`, or why not.
    pub now: String,
}

/// An event that could not be folded into its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldFailure {
    pub stream: String,
    pub version: u64,
    pub position: u64,
    pub reason: String,
}

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub events: u64,
    pub streams: u64,
    /// Decisions re-run, and the events they recorded.
    pub decisions: u64,
    pub redecided: u64,
    /// Events folded, but recorded by no decision this build re-runs.
    pub folded_only: u64,
    pub disagreements: Vec<Disagreement>,
    pub fold_failures: Vec<FoldFailure>,
}

impl Report {
    pub fn agrees(&self) -> bool {
        self.disagreements.is_empty() && self.fold_failures.is_empty()
    }
}

/// How many events are read at a time.
const PAGE: usize = 1000;

/// Folds every stream of `store` and re-runs every recorded decision with `rules`.
pub async fn verify(
    store: &dyn EventStore,
    codec: &EventCodec,
    rules: &dyn Rules,
) -> Result<Report, StoreError> {
    let mut verifier = Verifier::new(rules);
    let mut after = 0;
    loop {
        let page = store.read_all(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for stored in page {
            let event = codec.decode(stored.schema_id, &stored.payload).await;
            verifier.feed(stored, event);
        }
    }
    Ok(verifier.finish())
}

/// The events of one append, and what the rules make of it.
struct Pending {
    key: (Option<Uuid>, String, DateTime<Utc>),
    expected: Expected,
    recorded: Vec<(StoredEvent, Event)>,
}

/// Verifies events fed in global order.
struct Verifier<'r> {
    rules: &'r dyn Rules,
    streams: HashMap<String, Folded>,
    causes: HashMap<Uuid, Cause>,
    pending: HashMap<String, Pending>,
    report: Report,
}

impl<'r> Verifier<'r> {
    pub fn new(rules: &'r dyn Rules) -> Self {
        Self {
            rules,
            streams: HashMap::new(),
            causes: HashMap::new(),
            pending: HashMap::new(),
            report: Report::default(),
        }
    }

    /// The next event in global order, decoded (or not).
    pub fn feed(&mut self, stored: StoredEvent, event: Result<Event, CodecError>) {
        self.report.events += 1;
        let folded = self
            .streams
            .entry(stored.stream_id.clone())
            .or_insert_with(|| Folded {
                version: 0,
                state: State::of_stream(&stored.stream_id),
            });
        let follows = folded.version + 1;
        folded.version = stored.version;
        let failure = |reason: String| FoldFailure {
            stream: stored.stream_id.clone(),
            version: stored.version,
            position: stored.position,
            reason,
        };
        if stored.version != follows {
            let reason = format!("version {} follows version {}", stored.version, follows - 1);
            self.report.fold_failures.push(failure(reason));
        }
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                let reason = format!("{} does not decode: {e}", stored.event_type);
                self.report.fold_failures.push(failure(reason));
                return;
            }
        };
        let belongs = streams::stream_of(&event);
        if belongs != stored.stream_id {
            let reason = format!("{} belongs to stream {belongs}", event.type_name());
            self.report.fold_failures.push(failure(reason));
            return;
        }
        let event_id = stored.event_id;
        self.join_decision(stored, &event);
        if let Some(f) = self.streams.get_mut(&belongs)
            && let Some(state) = &mut f.state
        {
            state.apply(&event);
        }
        self.keep_if_cause(event_id, &event);
    }

    /// Puts the event with the other events of its append, or starts a new decision
    /// (closing the order's one before), re-deciding it on the state just before.
    fn join_decision(&mut self, stored: StoredEvent, event: &Event) {
        let key = (
            stored.causation_id,
            stored.actor.clone(),
            stored.occurred_at,
        );
        let order = stored.correlation_id.clone();
        if let Some(pending) = self.pending.get_mut(&order)
            && pending.key == key
        {
            pending.recorded.push((stored, event.clone()));
            return;
        }
        if let Some(done) = self.pending.remove(&order) {
            self.close(done);
        }
        let world = World {
            streams: &self.streams,
            causes: &self.causes,
        };
        let expected = world.expected(self.rules, event, &stored);
        self.pending.insert(
            order,
            Pending {
                key,
                expected,
                recorded: vec![(stored, event.clone())],
            },
        );
    }

    /// Keeps an event that causes decisions (and, for the order process's triggers,
    /// the order's facts right after it).
    fn keep_if_cause(&mut self, id: Uuid, event: &Event) {
        let causes = payment_intent(event).is_some()
            || reservation_intent(event).is_some()
            || dispatch_intent(event).is_some()
            || notification_intent(event).is_some();
        let facts = process_trigger(event).map(|id| {
            World {
                streams: &self.streams,
                causes: &self.causes,
            }
            .facts(id)
        });
        if causes || facts.is_some() {
            let event = event.clone();
            self.causes.insert(id, Cause { event, facts });
        }
    }

    fn close(&mut self, done: Pending) {
        let candidates = match done.expected {
            Expected::FoldedOnly => {
                self.report.folded_only += done.recorded.len() as u64;
                return;
            }
            Expected::Candidates(candidates) => candidates,
        };
        self.report.decisions += 1;
        self.report.redecided += done.recorded.len() as u64;
        let mut found: Option<Vec<Disagreement>> = None;
        for candidate in &candidates {
            let disagreements = compare(&done.recorded, candidate);
            if disagreements.is_empty() {
                return;
            }
            found.get_or_insert(disagreements);
        }
        self.report.disagreements.extend(found.unwrap_or_default());
    }

    /// Closes the decisions still open, and reports.
    pub fn finish(mut self) -> Report {
        let mut open: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        open.sort_by_key(|p| p.recorded[0].0.position);
        for pending in open {
            self.close(pending);
        }
        self.report.streams = self.streams.len() as u64;
        self.report
            .disagreements
            .sort_by_key(|d| (d.position, d.stream.clone(), d.version));
        self.report
    }
}

#[cfg(test)]
mod tests;
