//! Rebuilding read models without downtime: `orderflow projections rebuild` makes them
//! again beside the live ones while orders are placed and read, and swaps them in. No
//! read fails or goes back in time, nothing is charged or mailed again, and the result
//! is what a deployment built afresh from the same history answers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::*;

const SKU: &str = "RB-1";
/// Orders placed before the rebuild starts: history for it to read.
const HISTORY: usize = 300;
/// Clients placing orders (and reading each back) throughout the rebuild.
const WRITERS: usize = 3;

fn rank(status: &str) -> u8 {
    match status {
        "PENDING" => 0,
        "CONFIRMED" => 1,
        _ => 2,
    }
}

async fn place_many(api: &Api, n: usize, from: usize) -> Res<Vec<String>> {
    futures::stream::iter(from..from + n)
        .map(|i| async move {
            let items = json!([item(SKU, 1, 3.25)]);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                api.place(&format!("c-{}", i % 7), items).await?.0,
            )
        })
        .buffer_unordered(16)
        .try_collect()
        .await
}

/// Every order final, analytics counting each, no group lagging.
async fn settled(api: &Api, ids: &[String]) -> TestResult {
    for id in ids {
        api.wait_status(id, "SHIPPED").await?;
    }
    eventually(|| async {
        let (_, s) = api.get("/analytics").await?;
        let counted: u64 = s["ordersByStatus"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0);
        let (_, consumers) = api.get("/consumers").await?;
        let idle = consumers["groups"]
            .as_array()
            .is_some_and(|gs| gs.iter().all(|g| g["lag"].as_u64() == Some(0)));
        Ok((counted == ids.len() as u64 && idle).then_some(()))
    })
    .await
}

/// What the read models answer about every order, customer, the stock and analytics.
async fn answers(api: &Api, ids: &[String]) -> Res<BTreeMap<String, Value>> {
    let mut paths: Vec<String> = ids.iter().map(|id| format!("/orders/{id}")).collect();
    paths.extend((0..7).map(|c| format!("/customers/c-{c}/orders")));
    paths.push(format!("/inventory/{SKU}"));
    paths.push("/analytics".into());
    let mut out = BTreeMap::new();
    for path in paths {
        let (status, mut body) = api.get(&path).await?;
        assert_eq!(status, 200, "{path}: {body}");
        // The read model's position differs between two deployments that agree.
        if let Some(o) = body.as_object_mut() {
            o.remove("position");
            o.remove("caughtUp");
        }
        out.insert(path, body);
    }
    Ok(out)
}

/// Reads every known order again and again until told to stop; returns every
/// failure and every step back in time it saw.
async fn read_continuously(
    api: Api,
    ids: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> Res<(u64, Vec<String>)> {
    let mut seen: HashMap<String, u8> = HashMap::new();
    let (mut position, mut reads, mut problems) = (0u64, 0u64, Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let known = ids.lock().await.clone();
        for id in known.iter().rev().take(40) {
            let (status, body) = api.get(&format!("/orders/{id}")).await?;
            reads += 1;
            if status != 200 {
                problems.push(format!("GET /orders/{id}: {status} {body}"));
                continue;
            }
            let now = body["position"].as_u64().unwrap_or(0);
            if now < position {
                problems.push(format!("the read model went back from {position} to {now}"));
            }
            position = position.max(now);
            let r = rank(body["status"].as_str().unwrap_or_default());
            let before = seen.insert(id.clone(), r).unwrap_or(0);
            if r < before {
                problems.push(format!("{id} went back to {}", body["status"]));
            }
        }
        let (status, body) = api.get(&format!("/inventory/{SKU}")).await?;
        if status != 200 {
            problems.push(format!("GET /inventory: {status} {body}"));
        }
    }
    Ok((reads, problems))
}

#[tokio::test]
async fn read_models_rebuilt_under_load_answer_throughout_and_equal_a_fresh_build() -> TestResult {
    let deployment = Deployment::new()?;
    let mut run = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &run);
    api.set_stock(SKU, 100_000).await?;
    let first = place_many(&api, HISTORY, 0).await?;
    settled(&api, &first).await?;

    let ids = Arc::new(Mutex::new(first.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn(read_continuously(
        Api::of(&deployment, &run),
        ids.clone(),
        stop.clone(),
    ));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (api, ids, stop) = (Api::of(&deployment, &run), ids.clone(), stop.clone());
            tokio::spawn(async move {
                let mut problems = Vec::new();
                let mut i = HISTORY + w;
                while !stop.load(Ordering::Relaxed) {
                    let (id, position) = api
                        .place(&format!("c-{}", i % 7), json!([item(SKU, 1, 3.25)]))
                        .await?;
                    i += 1;
                    // Read your own write, during the rebuild as before it.
                    let (status, body) = api
                        .get(&format!("/orders/{id}?min_position={position}"))
                        .await?;
                    if status != 200 || body["caughtUp"] != true {
                        problems.push(format!("{id} read back: {status} {body}"));
                    }
                    ids.lock().await.push(id);
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(problems)
            })
        })
        .collect();

    let rebuilt = deployment.command(&["projections", "rebuild"]).await?;
    let said = String::from_utf8_lossy(&rebuilt.stdout);
    assert!(
        rebuilt.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    assert!(
        said.starts_with("rebuilt views (orders, customer-orders, stock) and analytics: "),
        "{said}"
    );
    // Orders keep coming after the swap, into the new generation.
    let swapped_at = ids.lock().await.len();
    eventually(|| async { Ok((ids.lock().await.len() >= swapped_at + 20).then_some(())) }).await?;
    stop.store(true, Ordering::Relaxed);
    let mut written = Vec::new();
    for writer in writers {
        written.extend(writer.await??);
    }
    let (reads, read) = reader.await??;
    assert!(written.is_empty(), "{written:?}");
    assert!(read.is_empty(), "{read:?}");
    assert!(reads > 0);

    let (_, pipeline) = api.get("/pipeline").await?;
    assert_eq!(pipeline["rebuild"]["outcome"], "swapped", "{pipeline}");
    assert_eq!(pipeline["rebuild"]["models"], json!(["views", "analytics"]));

    let all = ids.lock().await.clone();
    settled(&api, &all).await?;
    let after = answers(&api, &all).await?;
    // Nothing was charged or mailed again: two emails per order, as before the rebuild.
    assert_eq!(mails(&deployment.data_dir()).len(), 2 * all.len());
    assert!(run.terminate().await?.success());

    // A deployment built afresh from the same history answers the same.
    let file = deployment.dir.path().join("history.avro");
    let file = file.to_str().ok_or("path")?;
    let exported = deployment
        .command(&["events", "export", "--out", file])
        .await?;
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let fresh = Deployment::new()?;
    let imported = fresh.command(&["events", "import", "--in", file]).await?;
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let fresh_run = fresh.start("run", &[]).await?;
    let fresh_api = Api::of(&fresh, &fresh_run);
    settled(&fresh_api, &all).await?;
    assert_eq!(answers(&fresh_api, &all).await?, after);
    Ok(())
}

/// Over HTTP: an operator starts a rebuild of analytics alone and follows it; an unknown
/// read model is refused by name.
#[tokio::test]
async fn an_operator_rebuilds_over_http_and_follows_it() -> TestResult {
    let deployment = Deployment::new()?;
    let run = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &run);
    api.set_stock(SKU, 100).await?;
    let ids = place_many(&api, 20, 0).await?;
    settled(&api, &ids).await?;
    let before = answers(&api, &ids).await?;
    let (status, none) = api.get("/projections/rebuild").await?;
    assert_eq!(status, 404, "{none}");

    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/projections/rebuild",
            Some(json!({ "models": ["orders", "weather"] })),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("\"weather\""),
        "{body}"
    );

    let (status, started) = api
        .send(
            reqwest::Method::POST,
            "/projections/rebuild",
            Some(json!({ "models": ["analytics"] })),
        )
        .await?;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["models"], json!(["analytics"]));
    let done = eventually(|| async {
        let (_, p) = api.get("/projections/rebuild").await?;
        Ok((!p["outcome"].is_null()).then_some(p))
    })
    .await?;
    assert_eq!(done["outcome"], "swapped", "{done}");
    assert_eq!(done["done"], done["total"], "{done}");
    assert_eq!(answers(&api, &ids).await?, before);
    Ok(())
}
