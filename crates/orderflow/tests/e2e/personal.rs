//! Personal data (docs/schemas.md, "Personal data"): a shipping address is sealed under
//! its customer's key before it is stored, so no event, bus record or export holds it in
//! the clear, while every reader with the key store sees it.

use std::path::Path;

use serde_json::json;

use crate::support::*;

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

    // No event, bus record or export holds it in the clear.
    assert!(
        data_dir.join("keys.db").is_file(),
        "the key store, a file of its own"
    );
    for file in ["events.db", "bus.db", "keys.db"] {
        assert!(
            !any_file_holds(&data_dir, file, ADDRESS)?,
            "{file} (or its WAL) holds the address in the clear"
        );
    }
    let export = deployment.data_dir().with_file_name("export.avro");
    let out = deployment
        .command(&["events", "export", "--out", &export.display().to_string()])
        .await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = std::fs::read(&export)?;
    assert!(!exported.is_empty());
    assert!(
        !exported
            .windows(ADDRESS.len())
            .any(|w| w == ADDRESS.as_bytes()),
        "the export holds the address in the clear"
    );
    Ok(())
}
