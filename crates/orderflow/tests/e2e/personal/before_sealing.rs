//! Addresses recorded in the clear before `OrderCreated` v3 sealed them: an export of
//! such a store, imported with `--seal`, holds them only sealed under their customers'
//! keys, so that forgetting reaches them too.

use std::sync::Arc;

use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use chrono::Utc;
use orderflow_core::registry::{Registry, SchemaRegistry};
use orderflow_core::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use orderflow_sqlite::{SqliteEventStore, SqliteSchemaStore};

use super::*;

const ORDER: &str = "0195f6a2-7c1e-7d3a-9a61-3c2b1f0e4d5a";

/// The event store a deployment from before v3 left in `data_dir`: one order, placed
/// by customer `c-old`, its address written in the clear by a v2 writer.
async fn store_from_before_sealing(data_dir: &Path) -> TestResult {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("events.db");
    let store = SqliteEventStore::open(&path)?;
    let registry = Registry::new(SqliteSchemaStore::open(&path)?);
    let v2_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/history/OrderCreated.v2.avsc"
    ))?;
    let id = Arc::new(registry)
        .register("orders-OrderCreated", &v2_text)
        .await?;
    let v2 = apache_avro::Schema::parse_str(&v2_text)?;
    let item = Value::Record(vec![
        ("sku".into(), Value::String("SKU-OLD".into())),
        ("quantity".into(), Value::Int(1)),
        ("unitPrice".into(), Value::Double(7.5)),
    ]);
    let record = Value::Record(vec![
        ("orderId".into(), Value::String(ORDER.into())),
        ("customerId".into(), Value::String("c-old".into())),
        ("items".into(), Value::Array(vec![item])),
        ("totalAmount".into(), Value::Double(7.5)),
        (
            "timestamp".into(),
            Value::Long(Utc::now().timestamp_millis()),
        ),
        ("currency".into(), Value::String("EUR".into())),
        (
            "shippingAddress".into(),
            Value::Union(1, Box::new(Value::String(ADDRESS.into()))),
        ),
    ]);
    store
        .append(vec![AppendRequest {
            stream_id: format!("order-{ORDER}"),
            expected: ExpectedVersion::NoStream,
            events: vec![NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: "OrderCreated".into(),
                schema_id: id,
                payload: GenericDatumWriter::builder(&v2)
                    .build()?
                    .write_value_to_vec(record)?,
                occurred_at: Utc::now(),
                correlation_id: ORDER.into(),
                causation_id: None,
                actor: "api".into(),
                trace_context: None,
            }],
        }])
        .await?;
    Ok(())
}

#[tokio::test]
async fn an_address_recorded_in_the_clear_before_v3_is_sealed_by_import_seal_and_then_forgotten()
-> TestResult {
    let old = Deployment::new()?;
    store_from_before_sealing(&old.data_dir()).await?;
    let file = old.data_dir().with_file_name("old.avro");
    let file = file.display().to_string();
    stdout(&old.command(&["events", "export", "--out", &file]).await?)?;

    // Imported as recorded, the address stays in the clear: what --seal is for.
    let as_recorded = Deployment::new()?;
    stdout(
        &as_recorded
            .command(&["events", "import", "--in", &file])
            .await?,
    )?;
    assert!(any_file_holds(
        &as_recorded.data_dir(),
        "events.db",
        ADDRESS
    )?);

    let sealed = Deployment::new()?;
    let said = stdout(
        &sealed
            .command(&["events", "import", "--in", &file, "--seal"])
            .await?,
    )?;
    assert!(
        said.contains("sealed the personal data of 1 events"),
        "{said}"
    );
    let data_dir = sealed.data_dir();
    assert!(!any_file_holds(&data_dir, "events.db", ADDRESS)?);
    assert!(data_dir.join("keys.db").is_file());

    // Read with the keys, the order is as it was; then its customer is forgotten.
    let mut app = sealed.start("run", &[]).await?;
    let api = Api::of(&sealed, &app);
    let history = api.history(ORDER).await?;
    assert_eq!(history[0]["data"]["shippingAddress"], ADDRESS);
    // Its SKU is unknown here: cancelled, paid back and both emails sent.
    let order = api.wait_status(ORDER, "CANCELLED").await?;
    assert_eq!(order["shippingAddress"], ADDRESS);
    eventually(|| async {
        let types = api.history_types(ORDER).await?;
        let emails = types.iter().filter(|t| *t == "NotificationSent").count();
        let paid_back = types
            .iter()
            .any(|t| t == "PaymentRefunded" || t == "PaymentSkipped");
        Ok((emails == 2 && paid_back).then_some(()))
    })
    .await?;
    let said = stdout(
        &sealed
            .command(&[
                "customers",
                "forget",
                "c-old",
                "--reason",
                "erasure request #3",
            ])
            .await?,
    )?;
    assert!(said.contains("1 key(s) destroyed"), "{said}");
    assert_eq!(
        api.history(ORDER).await?[0]["data"]["shippingAddress"],
        "[erased]"
    );
    eventually(|| async {
        let (_, order) = api.get(&format!("/orders/{ORDER}")).await?;
        let gone = order["shippingAddress"].is_null() && mails(&data_dir).is_empty();
        Ok(gone.then_some(()))
    })
    .await?;
    app.terminate().await?;
    let nowhere = files_holding(&data_dir, ADDRESS)?;
    assert!(nowhere.is_empty(), "the address is in {nowhere:?}");
    Ok(())
}
