//! A decision's recorded events against what the rules produce now, stream by stream:
//! each disagreement with its place (stream, version, position).

use std::collections::BTreeMap;

use orderflow_core::codec::to_json;
use orderflow_core::store::StoredEvent;
use orderflow_domain::{Event, streams};

use super::Disagreement;
use super::decisions::Outcome;

fn shown(event: &Event) -> String {
    format!("{} {}", event.type_name(), to_json(event))
}

/// Where the events of one decision differ from what the rules produce now, stream by
/// stream.
pub(super) fn compare(recorded: &[(StoredEvent, Event)], now: &Outcome) -> Vec<Disagreement> {
    let first = &recorded[0].0;
    // Per stream: the events recorded, and the events (shown) the rules produce now.
    type Side<'a> = (Vec<&'a (StoredEvent, Event)>, Vec<String>);
    let mut by_stream: BTreeMap<&str, Side<'_>> = BTreeMap::new();
    for r in recorded {
        by_stream.entry(&r.0.stream_id).or_default().0.push(r);
    }
    let produced: Vec<(String, String)> = match now {
        Outcome::Events(events) => events
            .iter()
            .map(|e| (streams::stream_of(e), shown(e)))
            .collect(),
        Outcome::Refused(e) => vec![(first.stream_id.clone(), format!("refused: {e}"))],
        Outcome::Otherwise(what) => {
            vec![(
                first.stream_id.clone(),
                format!("would have asked for {what}"),
            )]
        }
    };
    let mut missing = Vec::new();
    for (stream, text) in produced {
        match by_stream.get_mut(stream.as_str()) {
            Some(entry) => entry.1.push(text),
            None => missing.push((stream, text)),
        }
    }
    let mut out = Vec::new();
    let disagreement = |stream: &str, version, position, recorded, now| Disagreement {
        stream: stream.to_owned(),
        version,
        position,
        actor: first.actor.clone(),
        recorded,
        now,
    };
    for (stream, (events, now)) in &by_stream {
        let last = events.last().map_or(0, |(s, _)| s.version);
        for i in 0..events.len().max(now.len()) {
            let recorded = events.get(i).map(|(_, e)| shown(e));
            let produced = now.get(i);
            if recorded.as_ref() == produced {
                continue;
            }
            let (version, position) = events.get(i).map_or(
                (last + (i + 1 - events.len()) as u64, first.position),
                |(s, _)| (s.version, s.position),
            );
            let nothing = || "nothing".to_owned();
            out.push(disagreement(
                stream,
                version,
                position,
                recorded.unwrap_or_else(nothing),
                produced.cloned().unwrap_or_else(nothing),
            ));
        }
    }
    for (stream, now) in missing {
        out.push(disagreement(
            &stream,
            0,
            first.position,
            "nothing".to_owned(),
            now,
        ));
    }
    out
}
