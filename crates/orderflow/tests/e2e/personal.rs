//! Personal data (docs/schemas.md, "Personal data"): a shipping address is sealed under
//! its customer's key before it is stored, so no event, bus record or export holds it in
//! the clear, while every reader with the key store sees it.

use std::path::Path;

use serde_json::json;

use crate::support::*;

mod before_sealing;
mod postgres;

const ADDRESS: &str = "17 Cherry Tree Lane, London";

/// Whether any file directly in `dir` whose name starts with `prefix` holds `text`.
fn any_file_holds(dir: &Path, prefix: &str, text: &str) -> Res<bool> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let named = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(prefix));
        if named && path.is_file() {
            let bytes = std::fs::read(&path)?;
            if bytes.windows(text.len()).any(|w| w == text.as_bytes()) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[tokio::test]
async fn a_shipping_address_is_stored_published_and_exported_only_sealed_and_read_in_the_clear()
-> TestResult {
    let deployment = Deployment::new()?;
    let mut app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("SKU-P", 5).await?;
    let (status, placed) = api
        .send(
            reqwest::Method::POST,
            "/orders",
            Some(json!({
                "customerId": "c-private",
                "items": [item("SKU-P", 1, 3.5)],
                "shippingAddress": ADDRESS,
            })),
        )
        .await?;
    assert_eq!(status, 202, "{placed}");
    let order_id = placed["orderId"].as_str().ok_or("no orderId")?.to_owned();
    let order = api.wait_status(&order_id, "SHIPPED").await?;

    // Every reader with the keys sees the address.
    assert_eq!(order["shippingAddress"], ADDRESS);
    let history = api.history(&order_id).await?;
    let created = history
        .iter()
        .find(|e| e["type"] == "OrderCreated")
        .ok_or("no OrderCreated")?;
    assert_eq!(created["data"]["shippingAddress"], ADDRESS, "{created}");
    let data_dir = deployment.data_dir();
    eventually(|| async { Ok((mails(&data_dir).len() >= 2).then_some(())) }).await?;
    assert!(
        any_file_holds(&data_dir.join("mail"), "", ADDRESS)?,
        "the emails say where the order goes"
    );
    app.terminate().await?;

    // No event, bus record, read model or export holds it in the clear.
    assert!(
        data_dir.join("keys.db").is_file(),
        "the key store, a file of its own"
    );
    for file in ["events.db", "bus.db", "keys.db", "read.db"] {
        assert!(
            !any_file_holds(&data_dir, file, ADDRESS)?,
            "{file} (or its WAL) holds the address in the clear"
        );
    }
    let exported = export(&deployment, "export.avro").await?;
    assert!(std::fs::metadata(&exported)?.len() > 0);
    assert!(
        !any_file_holds(
            exported.parent().ok_or("no parent")?,
            "export.avro",
            ADDRESS
        )?,
        "the export holds the address in the clear"
    );
    Ok(())
}

const OTHER_ADDRESS: &str = "221B Baker Street, London";

/// Every file under `dir`, at any depth, that holds `text`.
fn files_holding(dir: &Path, text: &str) -> Res<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(files_holding(&path, text)?);
        } else if std::fs::read(&path)?
            .windows(text.len())
            .any(|w| w == text.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
    Ok(found)
}

/// The analytics, once it has counted both orders shipped (it reads the bus at its own
/// pace).
async fn both_shipped_counted(api: &Api) -> Res<serde_json::Value> {
    eventually(|| async {
        let (_, s) = api.get("/analytics").await?;
        Ok((s["ordersByStatus"] == json!({ "SHIPPED": 2 })).then_some(s))
    })
    .await
}

async fn place_with_address(api: &Api, customer: &str, address: &str) -> Res<String> {
    let (status, placed) = api
        .send(
            reqwest::Method::POST,
            "/orders",
            Some(json!({
                "customerId": customer,
                "items": [item("SKU-F", 2, 4.0)],
                "shippingAddress": address,
            })),
        )
        .await?;
    assert_eq!(status, 202, "{placed}");
    Ok(placed["orderId"].as_str().ok_or("no orderId")?.to_owned())
}

/// Two customers' orders, each with its address, shipped and emailed, and counted.
struct TwoShipped {
    gone: String,
    kept: String,
    analytics: serde_json::Value,
}

async fn two_shipped(deployment: &Deployment, api: &Api) -> Res<TwoShipped> {
    api.set_stock("SKU-F", 10).await?;
    let gone = place_with_address(api, "c-gone", ADDRESS).await?;
    let kept = place_with_address(api, "c-kept", OTHER_ADDRESS).await?;
    for order in [&gone, &kept] {
        api.wait_status(order, "SHIPPED").await?;
    }
    let data_dir = deployment.data_dir();
    eventually(|| async { Ok((mails(&data_dir).len() >= 4).then_some(())) }).await?;
    let analytics = both_shipped_counted(api).await?;
    Ok(TwoShipped {
        gone,
        kept,
        analytics,
    })
}

/// Forgets `c-gone` with the CLI (`store`: its `--store` setting, if any) while `api`
/// runs, and checks what every reader sees once the read models and the mail folder have
/// dropped their copies.
async fn forget_gone(
    deployment: &Deployment,
    store: &[&str],
    api: &Api,
    orders: &TwoShipped,
) -> TestResult {
    let forget = [
        "customers",
        "forget",
        "c-gone",
        "--reason",
        "erasure request #7",
    ];
    let said = stdout(&deployment.command(&[&forget[..], store].concat()).await?)?;
    assert!(said.contains("1 key(s) destroyed"), "{said}");

    let (gone, kept) = (&orders.gone, &orders.kept);
    let data_dir = deployment.data_dir();
    eventually(|| async {
        let (_, order) = api.get(&format!("/orders/{gone}")).await?;
        let dropped = order["shippingAddress"].is_null() && mails(&data_dir).len() == 2;
        Ok(dropped.then_some(()))
    })
    .await?;
    let (_, order) = api.get(&format!("/orders/{gone}")).await?;
    assert_eq!(order["status"], "SHIPPED", "every other fact stays");
    let (_, kept_order) = api.get(&format!("/orders/{kept}")).await?;
    assert_eq!(
        kept_order["shippingAddress"], OTHER_ADDRESS,
        "others untouched"
    );
    let history = api.history(gone).await?;
    assert_eq!(history[0]["data"]["shippingAddress"], "[erased]");
    assert!(
        api.history_types(gone)
            .await?
            .contains(&"OrderShipped".to_owned()),
        "the history is whole"
    );
    Ok(())
}

/// Rebuilds the read models from the first event, as the stopped deployment's operator
/// would.
async fn rebuild(deployment: &Deployment, store: &[&str]) -> TestResult {
    stdout(
        &deployment
            .command(&[&["projections", "rebuild"][..], store].concat())
            .await?,
    )?;
    Ok(())
}

/// Started again (after a rebuild), the deployment shows the forgotten order shipped
/// without its address, the other as it was, and the same analytics.
async fn adds_up_after_a_restart(
    deployment: &Deployment,
    store: &[&str],
    orders: &TwoShipped,
) -> TestResult {
    let app = deployment.start("run", store).await?;
    let api = Api::of(deployment, &app);
    let (_, order) = api.get(&format!("/orders/{}", orders.gone)).await?;
    assert_eq!(
        (order["status"].as_str(), order["shippingAddress"].is_null()),
        (Some("SHIPPED"), true)
    );
    let (_, kept_order) = api.get(&format!("/orders/{}", orders.kept)).await?;
    assert_eq!(kept_order["shippingAddress"], OTHER_ADDRESS);
    assert_eq!(api.get("/analytics").await?.1, orders.analytics);
    Ok(())
}

/// Exports the deployment's events to `name` beside its data dir; the file's path.
async fn export(deployment: &Deployment, name: &str) -> Res<std::path::PathBuf> {
    let file = deployment.data_dir().with_file_name(name);
    stdout(
        &deployment
            .command(&["events", "export", "--out", &file.display().to_string()])
            .await?,
    )?;
    Ok(file)
}

#[tokio::test]
async fn a_forgotten_customers_address_is_nowhere_in_the_data_dir_and_history_still_adds_up()
-> TestResult {
    let deployment = Deployment::new()?;
    let mut app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    let orders = two_shipped(&deployment, &api).await?;
    export(&deployment, "before.avro").await?;

    forget_gone(&deployment, &[], &api, &orders).await?;
    app.terminate().await?;
    rebuild(&deployment, &[]).await?;
    export(&deployment, "after.avro").await?;

    // Replayed step by step, and re-decided, from the first event.
    for (order, shows) in [(&orders.gone, "[erased]"), (&orders.kept, OTHER_ADDRESS)] {
        let text = stdout(&deployment.command(&["replay-order", order]).await?)?;
        assert!(text.contains(shows), "{text}");
        assert!(!text.contains(ADDRESS), "{text}");
    }
    let out = deployment.command(&["verify"]).await?;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Not in the data dir, the mail folder or either export.
    let data_dir = deployment.data_dir();
    let nowhere = files_holding(data_dir.parent().ok_or("no parent")?, ADDRESS)?;
    assert!(
        nowhere.is_empty(),
        "the forgotten address is in {nowhere:?}"
    );
    assert!(
        !files_holding(&data_dir, OTHER_ADDRESS)?.is_empty(),
        "the search finds what is there: the kept customer's emails"
    );
    adds_up_after_a_restart(&deployment, &[], &orders).await
}

#[tokio::test]
async fn a_lost_key_store_beside_sealed_data_is_refused_at_start_not_taken_for_forgetting()
-> TestResult {
    let deployment = Deployment::new()?;
    let mut app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("SKU-F", 10).await?;
    let order = place_with_address(&api, "c-1", ADDRESS).await?;
    api.wait_status(&order, "SHIPPED").await?;
    app.terminate().await?;

    let data_dir = deployment.data_dir();
    for file in ["keys.db", "keys.db-wal", "keys.db-shm"] {
        let _ = std::fs::remove_file(data_dir.join(file));
    }
    // Bounded: a build that starts anyway would otherwise run forever.
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        deployment.command(&["serve", "api", "--http", "127.0.0.1:0"]),
    )
    .await??;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "started without its keys");
    assert!(
        stderr.contains("keys.db") && stderr.contains("restore the key store"),
        "{stderr}"
    );
    assert!(
        !data_dir.join("keys.db").exists(),
        "no empty key store made"
    );
    Ok(())
}
