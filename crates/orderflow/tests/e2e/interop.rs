//! Interop with the official Confluent Python client: it serialises an order against
//! orderflow's registry and orderflow decodes it; it decodes the records orderflow wrote.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use orderflow_core::EventCodec;
use orderflow_core::registry::Registry;
use orderflow_domain::Event;
use orderflow_sqlite::SqliteSchemaStore;
use serde_json::{Value, json};

use crate::support::*;

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// A Python with `confluent-kafka[avro,schemaregistry]`, installed from PyPI into a
/// virtualenv under the target dir on first use.
async fn confluent_python() -> Res<PathBuf> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".installed");
    if ready.exists() {
        return Ok(python);
    }
    let run = |program: PathBuf, args: Vec<String>| async move {
        let out = tokio::process::Command::new(&program)
            .args(&args)
            .output()
            .await?;
        if !out.status.success() {
            return Err(format!(
                "`{} {}` failed: {}\nThe interop test needs python3 with venv and pip, and PyPI.",
                program.display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Res::Ok(())
    };
    run(
        "python3".into(),
        vec!["-m".into(), "venv".into(), venv.display().to_string()],
    )
    .await?;
    let requirements = interop_dir().join("requirements.txt").display().to_string();
    run(
        python.clone(),
        vec![
            "-m".into(),
            "pip".into(),
            "install".into(),
            "-q".into(),
            "-r".into(),
            requirements,
        ],
    )
    .await?;
    std::fs::write(&ready, "")?;
    Ok(python)
}

async fn client(python: &Path, args: &[&str]) -> Res<String> {
    let out = tokio::process::Command::new(python)
        .arg(interop_dir().join("confluent_client.py"))
        .args(args)
        .output()
        .await?;
    if !out.status.success() {
        return Err(format!(
            "confluent client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

#[tokio::test]
async fn the_confluent_python_client_and_orderflow_read_each_others_events() -> TestResult {
    let python = confluent_python().await?;
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    let registry_url = format!("{}/schema-registry", api.base);

    // Their bytes, our decoder: the seed's OrderCreated schema, registered or looked up
    // by the Confluent serializer under orders-OrderCreated.
    let seed_schema = interop_dir().join("../../../../schemas/history/OrderCreated.v1.avsc");
    let order = json!({
        "orderId": "py-1", "customerId": "c-py",
        "items": [{ "sku": "SKU-PY", "quantity": 3, "unitPrice": 2.5 }],
        "totalAmount": 7.5, "timestamp": 1_700_000_000_000i64,
    });
    let hex = client(
        &python,
        &[
            "serialize",
            &registry_url,
            &seed_schema.display().to_string(),
            &order.to_string(),
        ],
    )
    .await?;
    let bytes: Vec<u8> = (0..hex.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex.trim()[i..i + 2], 16))
        .collect::<Result<_, _>>()?;
    assert_eq!(bytes[0], 0, "Confluent wire format");
    let registry = Registry::new(SqliteSchemaStore::open(
        &deployment.data_dir().join("events.db"),
    )?);
    let codec = EventCodec::new(Arc::new(registry)).await?;
    let Event::OrderCreated(decoded) = codec.decode_framed(&bytes).await? else {
        return Err("not an OrderCreated".into());
    };
    assert_eq!(decoded.order_id.as_str(), "py-1");
    assert_eq!(decoded.customer_id.as_str(), "c-py");
    assert_eq!(decoded.lines.total().to_major(), 7.5);
    assert_eq!(decoded.lines.lines()[0].quantity.get(), 3);
    assert_eq!(decoded.timestamp.0, 1_700_000_000_000);
    assert_eq!(decoded.currency.as_str(), "EUR");

    // Our bytes, their decoder: every record orderflow put on the orders topic.
    api.set_stock("SKU-I", 5).await?;
    let (order_id, _) = api
        .place("c-interop", json!([item("SKU-I", 2, 4.25)]))
        .await?;
    api.wait_status(&order_id, "SHIPPED").await?;
    let bus = deployment.data_dir().join("bus.db");
    let lines = eventually(|| async {
        let out = client(
            &python,
            &["deserialize", &registry_url, &bus.display().to_string()],
        )
        .await?;
        let records: Vec<Value> = out
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        let of_order = records
            .iter()
            .filter(|r| r["orderId"] == order_id.as_str())
            .count();
        Ok((of_order >= 3).then_some(records))
    })
    .await?;
    let created = lines
        .iter()
        .find(|r| r["orderId"] == order_id.as_str() && r.get("customerId").is_some())
        .ok_or("no OrderCreated decoded")?;
    assert_eq!(created["customerId"], "c-interop");
    assert_eq!(created["totalAmount"], 8.5);
    assert_eq!(created["items"][0]["unitPrice"], 4.25);
    assert_eq!(created["currency"], "EUR");
    assert!(
        lines
            .iter()
            .any(|r| r["orderId"] == order_id.as_str() && r.get("trackingNumber").is_some()),
        "OrderShipped decoded too"
    );
    Ok(())
}
