//! Parked records as the API (`/dlq`) and `orderflow dlq` show them: one JSON shape for
//! both, the event decoded with the registry where its schema is known and the raw
//! bytes as hex always; and who an action on them is recorded as.

use chrono::{DateTime, Utc};
use orderflow_core::EventCodec;
use orderflow_core::bus::dead_letters::{Parked, ParkedState};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// A parked record in a list: where it is, why, and its state.
pub fn summary(p: &Parked) -> Value {
    let action = p
        .state
        .action()
        .map(|a| json!({ "actor": a.actor, "at": a.at, "reason": a.reason }));
    json!({
        "id": p.id.to_string(),
        "state": p.state.name(),
        "topic": p.id.topic,
        "key": p.record.key,
        "group": p.group,
        "reason": p.reason,
        "kind": p.kind,
        "origin": {
            "topic": p.origin.topic,
            "partition": p.origin.partition,
            "offset": p.origin.offset,
        },
        "firstFailure": p.first_failure,
        "lastFailure": p.last_failure,
        "attempts": p.attempts,
        "replays": p.replays,
        "action": action,
    })
}

/// A parked record in full: [`summary`], the record's timestamp and headers, its value
/// as hex, and the event it carries when `codec` can decode it (or why not).
pub async fn detail(p: &Parked, codec: Option<&EventCodec>) -> Value {
    let mut v = summary(p);
    let headers: Map<String, Value> = p
        .record
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Value::String(String::from_utf8_lossy(v).into_owned()),
            )
        })
        .collect();
    v["timestamp"] = json!(p.record.timestamp);
    v["headers"] = Value::Object(headers);
    v["valueHex"] = Value::String(hex(&p.record.value));
    let decoded = match codec {
        Some(codec) => codec
            .decode_framed(&p.record.value)
            .await
            .map_err(|e| e.to_string()),
        None => Err("no schema registry to decode it with".to_owned()),
    };
    match decoded {
        Ok(event) => {
            v["event"] = json!({ "type": event.type_name(), "value": format!("{event:#?}") });
        }
        Err(why) => v["decodeError"] = Value::String(why),
    }
    v
}

/// Bytes as lowercase hex, two digits each.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who presents `token`, as an action records it: the token's SHA-256 fingerprint (its
/// first 12 hex digits), never the token.
pub fn token_actor(token: &str) -> String {
    format!(
        "token sha256:{}",
        &hex(&Sha256::digest(token.as_bytes()))[..12]
    )
}

/// When, to the second, for a table.
pub fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or("-".to_owned(), |t| {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    })
}

/// A state in a few words: `parked`, or the action with who and when.
pub fn state_line(state: &ParkedState) -> String {
    match state.action() {
        None => state.name().to_owned(),
        Some(a) => {
            let why = a
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            format!("{} by {} at {}{why}", state.name(), a.actor, when(a.at))
        }
    }
}
