//! `/dlq`, the parked records, in process: listed, shown (the bytes as hex when they
//! cannot be decoded), replayed (one, or all of a topic) and discarded with who and
//! why, by an operator only; a bad id is `400` with its shape, an unknown one `404`.

use axum::http::Method;
use chrono::Utc;
use orderflow_core::bus::OutgoingRecord;
use orderflow_core::bus::dead_letters::{Failure, letter};
use serde_json::json;

use crate::support::*;

/// Publishes `value` under `key` to `orders` and parks it as a consumer of `group`
/// would; returns its id.
pub async fn park(api: &TestApp, key: &str, value: &[u8]) -> Res<String> {
    let bus = &api.state().bus;
    bus.publish(vec![OutgoingRecord {
        topic: "orders".into(),
        key: key.into(),
        value: value.to_vec(),
        headers: vec![],
        timestamp: Utc::now(),
    }])
    .await?;
    let published = bus.records("orders", 100).await?;
    let record = published
        .iter()
        .rfind(|r| r.key == key)
        .ok_or("not published")?;
    let now = Utc::now();
    let failure = Failure {
        group: "payment",
        reason: "unknown schema id 99",
        kind: "permanent",
        first: now,
        last: now,
        attempts: 1,
    };
    bus.publish(vec![letter(record, &failure)]).await?;
    let parked = bus.records("orders.dlq", 100).await?;
    let mine = parked.iter().rfind(|r| r.key == key).ok_or("not parked")?;
    Ok(format!("orders.dlq:{}:{}", mine.partition, mine.offset))
}

async fn operator_api() -> Res<TestApp> {
    TestApp::builder().with_tokens()?.spawn().await
}

#[tokio::test]
async fn an_operator_sees_a_parked_record_with_its_bytes_as_hex_and_discards_it() -> TestResult {
    let api = operator_api().await?;
    let id = park(&api, "o-1", &[0, 0, 0, 0, 99]).await?;

    let listed = api.call(Method::GET, "/dlq", Some(OPERATOR), None).await?;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body["parked"][0]["id"], json!(id));
    assert_eq!(listed.body["parked"][0]["state"], "parked");

    let shown = api
        .call(Method::GET, &format!("/dlq/{id}"), Some(OPERATOR), None)
        .await?;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    assert_eq!(shown.body["valueHex"], "0000000063");
    assert_eq!(shown.body["reason"], "unknown schema id 99");
    assert_eq!(shown.body["group"], "payment");
    assert_eq!(shown.body["origin"]["topic"], "orders");
    assert!(shown.body["decodeError"].is_string(), "{:?}", shown.body);

    let discard = format!("/dlq/{id}/discard");
    let body = json!({ "reason": "a test order", "actor": "ana" });
    let discarded = api.json(Method::POST, &discard, OPERATOR, body).await?;
    assert_eq!(discarded.status, 200, "{:?}", discarded.body);
    assert_eq!(discarded.body["state"], "discarded");
    let action = &discarded.body["action"];
    assert_eq!(action["reason"], "a test order");
    let actor = action["actor"].as_str().unwrap_or_default();
    assert!(
        actor.starts_with("ana (token sha256:") && !actor.contains(OPERATOR),
        "{actor}"
    );

    let waiting = api.call(Method::GET, "/dlq", Some(OPERATOR), None).await?;
    assert_eq!(waiting.body["parked"], json!([]));
    let all = api
        .call(Method::GET, "/dlq?all=true", Some(OPERATOR), None)
        .await?;
    assert_eq!(all.body["parked"][0]["state"], "discarded");
    let replay = format!("/dlq/{id}/replay");
    let refused = api
        .call(Method::POST, &replay, Some(OPERATOR), None)
        .await?;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    Ok(())
}

#[tokio::test]
async fn a_replay_sends_the_record_back_and_replaying_all_takes_the_rest() -> TestResult {
    let api = operator_api().await?;
    let first = park(&api, "o-1", b"one").await?;
    let second = park(&api, "o-2", b"two").await?;

    let replay = format!("/dlq/{first}/replay");
    let replayed = api
        .call(Method::POST, &replay, Some(OPERATOR), None)
        .await?;
    assert_eq!(replayed.status, 200, "{:?}", replayed.body);
    assert_eq!(replayed.body["state"], "replayed");
    assert_eq!(replayed.body["replays"], 1);

    let body = json!({ "topic": "orders" });
    let rest = api
        .json(Method::POST, "/dlq/replay", OPERATOR, body)
        .await?;
    assert_eq!(rest.status, 200, "{:?}", rest.body);
    assert_eq!(rest.body["replayed"], json!([second]));

    let on_orders = api.state().bus.records("orders", 100).await?;
    let values: Vec<&[u8]> = on_orders.iter().map(|r| r.value.as_slice()).collect();
    assert_eq!(values.len(), 4, "two published, two replayed: {values:?}");
    let none_left = api
        .call(Method::POST, "/dlq/replay", Some(OPERATOR), None)
        .await?;
    assert_eq!(none_left.body["replayed"], json!([]));
    Ok(())
}

#[tokio::test]
async fn a_bad_id_is_400_an_unknown_one_404_and_a_shop_token_is_refused() -> TestResult {
    let api = operator_api().await?;
    let bad = api
        .call(Method::GET, "/dlq/not-an-id", Some(OPERATOR), None)
        .await?;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert!(
        bad.error().contains("<dlq topic>:<partition>:<offset>"),
        "{}",
        bad.error()
    );
    let unknown = api
        .call(Method::GET, "/dlq/orders.dlq:0:99", Some(OPERATOR), None)
        .await?;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);
    let topic = api
        .call(Method::GET, "/dlq?topic=nope", Some(OPERATOR), None)
        .await?;
    assert_eq!(topic.status, 400, "{:?}", topic.body);
    let no_reason = api
        .json(
            Method::POST,
            "/dlq/orders.dlq:0:0/discard",
            OPERATOR,
            json!({}),
        )
        .await?;
    assert_eq!(no_reason.status, 422, "{:?}", no_reason.body);

    for (method, path) in [
        (Method::GET, "/dlq"),
        (Method::GET, "/dlq/orders.dlq:0:0"),
        (Method::POST, "/dlq/replay"),
        (Method::POST, "/dlq/orders.dlq:0:0/replay"),
        (Method::POST, "/dlq/orders.dlq:0:0/discard"),
    ] {
        let refused = api.call(method.clone(), path, Some(SHOP), None).await?;
        assert_eq!(refused.status, 403, "{method} {path}: {:?}", refused.body);
    }
    Ok(())
}
