//! Export and import: a deployment's history leaves as an Avro container file any Avro
//! tool reads, and goes into an empty PostgreSQL store, after which every answer about
//! every order, and analytics, is what the SQLite deployment gave.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::support::*;

/// Orders placed; stock for fewer, so that some are cancelled.
const ORDERS: usize = 240;
const STOCK: u64 = 200;

/// Everything the API says about the deployment's orders and analytics.
#[derive(Debug, PartialEq)]
struct Answers {
    orders: BTreeMap<String, Value>,
    histories: BTreeMap<String, Vec<Value>>,
    as_of: BTreeMap<String, Value>,
    customers: BTreeMap<String, Value>,
    analytics: Value,
}

async fn answers(api: &Api, ids: &[String]) -> Res<Answers> {
    let mut answers = Answers {
        orders: BTreeMap::new(),
        histories: BTreeMap::new(),
        as_of: BTreeMap::new(),
        customers: BTreeMap::new(),
        analytics: api.get("/analytics").await?.1,
    };
    for id in ids {
        let history = api.history(id).await?;
        // The order as it was after its second event.
        let then = history[1]["occurredAt"].as_str().ok_or("no occurredAt")?;
        let as_of = format!("/orders/{id}?as_of={}", then.replace('+', "%2B"));
        answers.as_of.insert(id.clone(), api.get(&as_of).await?.1);
        answers
            .orders
            .insert(id.clone(), api.get(&format!("/orders/{id}")).await?.1);
        answers.histories.insert(id.clone(), history);
    }
    for c in 0..10 {
        let path = format!("/customers/c-{c}/orders");
        answers
            .customers
            .insert(path.clone(), api.get(&path).await?.1);
    }
    Ok(answers)
}

/// Waits until every order is final, analytics has counted each, and nothing lags.
async fn settled(api: &Api, ids: &[String]) -> TestResult {
    for id in ids {
        eventually(|| async {
            let (_, order) = api.get(&format!("/orders/{id}")).await?;
            Ok(matches!(order["status"].as_str(), Some("SHIPPED" | "CANCELLED")).then_some(()))
        })
        .await?;
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
        Ok((counted == ORDERS as u64 && idle).then_some(()))
    })
    .await
}

#[tokio::test]
async fn a_sqlite_store_moved_to_postgres_by_export_and_import_answers_the_same() -> TestResult {
    let source = Deployment::new()?;
    let mut run = source.start("run", &[]).await?;
    let api = Api::of(&source, &run);
    api.set_stock("EX-1", STOCK).await?;
    let ids: Vec<String> = futures::stream::iter(0..ORDERS)
        .map(|i| {
            let api = &api;
            async move {
                let items = json!([item("EX-1", 1, 2.5)]);
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                    api.place(&format!("c-{}", i % 10), items).await?.0,
                )
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await?;
    settled(&api, &ids).await?;
    let before = answers(&api, &ids).await?;
    assert!(run.terminate().await?.success());

    let file = source.dir.path().join("history.avro");
    let file = file.to_str().ok_or("path")?;
    let exported = source.command(&["events", "export", "--out", file]).await?;
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let said = String::from_utf8_lossy(&exported.stdout);
    assert!(said.starts_with("exported "), "{said}");

    let db = fresh_postgres_database().await?;
    let target = Deployment::new()?;
    let import = ["events", "import", "--in", file, "--store", db.as_str()];
    let imported = target.command(&import).await?;
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    // A second import would double everything: refused.
    let again = target.command(&import).await?;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let store = ["--store", db.as_str(), "--db-max-connections", "4"];
    let moved = target.start("run", &store).await?;
    let api = Api::of(&target, &moved);
    settled(&api, &ids).await?;
    let after = answers(&api, &ids).await?;
    assert_eq!(after.histories, before.histories);
    assert_eq!(after.as_of, before.as_of);
    assert_eq!(after.orders, before.orders);
    assert_eq!(after.customers, before.customers);
    assert_eq!(after.analytics, before.analytics);
    // Nobody was charged or mailed again: the new deployment's mail folder is empty.
    assert!(mails(&target.data_dir()).is_empty());
    Ok(())
}

/// Reads the file with fastavro, and each payload with the writer schema beside it.
const READ_WITH_FASTAVRO: &str = r#"
import io, json, sys, fastavro
counts = {}
with open(sys.argv[1], "rb") as f:
    for r in fastavro.reader(f):
        schema = fastavro.parse_schema(json.loads(r["writerSchema"]))
        event = fastavro.schemaless_reader(io.BytesIO(r["payload"]), schema)
        assert isinstance(event, dict) and r["position"] > 0, r
        counts[r["eventType"]] = counts.get(r["eventType"], 0) + 1
print(json.dumps(counts))
"#;

#[tokio::test]
async fn an_export_chosen_by_type_is_read_by_fastavro_payloads_and_all() -> TestResult {
    let deployment = Deployment::new()?;
    let mut run = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &run);
    api.set_stock("EX-1", 10).await?;
    for c in 0..3 {
        let (id, _) = api
            .place(&format!("c-{c}"), json!([item("EX-1", 1, 2.5)]))
            .await?;
        api.wait_status(&id, "SHIPPED").await?;
    }
    assert!(run.terminate().await?.success());
    let out = deployment.dir.path().join("created.avro");
    let out = out.to_str().ok_or("path")?;
    let exported = deployment
        .command(&["events", "export", "--type", "OrderCreated", "--out", out])
        .await?;
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );

    let python = crate::interop::clients::python().await?;
    let read = tokio::process::Command::new(&python.program)
        .args(["-c", READ_WITH_FASTAVRO, out])
        .output()
        .await?;
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let counts: Value = serde_json::from_slice(&read.stdout)?;
    assert_eq!(counts, json!({ "OrderCreated": 3 }));
    Ok(())
}
