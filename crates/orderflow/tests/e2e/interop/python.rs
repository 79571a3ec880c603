//! The Python client, `confluent-kafka` (`SchemaRegistryClient`, `AvroSerializer`,
//! `AvroDeserializer`, and its `Consumer` on a deployment's topics on the shared Kafka
//! cluster), against orderflow.

use serde_json::{Value, json};

use super::clients;
use super::proxy::Recorder;
use super::{
    Expectations, SUBJECT, address_reference, customer, read_each_others_events, same_schema,
    thing_v1, thing_v2,
};
use crate::support::*;

#[tokio::test]
async fn the_confluent_python_client_manages_schemas_in_orderflows_registry() -> TestResult {
    let python = clients::python().await?;
    let deployment = Deployment::new()?;
    let app = deployment.start("api", &[]).await?;
    let api = Api::of(&deployment, &app);
    let recorder = Recorder::start(&api.base).await?;
    let url = recorder.url.clone();
    let report = python.run(&recorder, &["flows", &url, SUBJECT], "").await?;
    let mut e = Expectations::new(report);
    let (v1, v2) = (thing_v1(), thing_v2());

    e.check("register v1", "a schema id", Value::is_u64);
    let v1_id = e.value("register v1").cloned().unwrap_or_default();
    e.check("lookup_schema v1", "version 1 with the id", |r| {
        r["id"] == v1_id && r["subject"] == SUBJECT && r["version"] == 1
    });
    e.check("register v1 with its keys reordered", "v1's id", |id| {
        *id == v1_id
    });
    e.check("test_compatibility v2 with latest", true, |c| *c == true);
    e.check("test_compatibility v2 with version 1", true, |c| *c == true);
    e.check("test_compatibility v2 with latest, verbose", true, |c| {
        *c == true
    });
    e.check("test_compatibility breaking with latest", false, |c| {
        *c == false
    });
    e.check("test_compatibility_all_versions breaking", false, |c| {
        *c == false
    });
    e.check("register v2", "a new schema id", |id| {
        id.is_u64() && *id != v1_id
    });
    let v2_id = e.value("register v2").cloned().unwrap_or_default();
    e.check("register v2 again", "the same id", |id| *id == v2_id);
    e.error("register breaking", 409, 40901);
    e.check("get_latest_version", "version 2", |r| {
        r["id"] == v2_id
            && r["subject"] == SUBJECT
            && r["version"] == 2
            && same_schema(&r["schema"], &v2)
    });
    e.check("get_version 1", "version 1", |r| {
        r["id"] == v1_id && r["version"] == 1 && same_schema(&r["schema"], &v1)
    });
    e.check("get_subjects", "the subject and orderflow's", |s| {
        let s = s.as_array().cloned().unwrap_or_default();
        s.contains(&json!(SUBJECT)) && s.contains(&json!("orders-OrderCreated"))
    });
    e.check("get_versions", "[1, 2]", |v| *v == json!([1, 2]));
    e.check("get_schema v1 id", "v1", |s| {
        same_schema(&s["schema"], &v1) && s["schemaType"] == "AVRO"
    });
    e.check(
        "get_schema_versions v1 id",
        "[the subject's version 1]",
        |v| *v == json!([{ "subject": SUBJECT, "version": 1 }]),
    );
    e.check("get_subjects_by_schema_id v1 id", "[the subject]", |s| {
        *s == json!([SUBJECT])
    });
    e.check("get_schema_types", "AVRO among them", |t| {
        t.as_array().is_some_and(|t| t.contains(&json!("AVRO")))
    });
    e.check("get_compatibility global", "BACKWARD_TRANSITIVE", |l| {
        *l == "BACKWARD_TRANSITIVE"
    });
    e.check("set_compatibility FULL", "FULL", |r| {
        r["compatibility"] == "FULL"
    });
    e.check("get_compatibility", "FULL", |l| *l == "FULL");
    e.error("lookup_schema unregistered", 404, 40403);
    e.error("lookup_schema unknown subject", 404, 40401);
    e.error("get_latest_version unknown subject", 404, 40401);
    e.error("get_schema unknown id", 404, 40403);
    e.error("get_version unknown", 404, 40402);
    e.check("register referenced", "a schema id", Value::is_u64);
    let address_id = e.value("register referenced").cloned().unwrap_or_default();
    e.check("register with a reference", "another schema id", |id| {
        id.is_u64() && *id != address_id
    });
    let customer_id = e.value("register with a reference").cloned();
    let customer_id = customer_id.unwrap_or_default();
    e.check("get_schema with a reference", address_reference(), |r| {
        *r == address_reference()
    });
    e.check("get_referenced_by", "[the customer's id]", |ids| {
        *ids == json!([customer_id])
    });
    e.check("lookup_schema with a reference", "version 1", |r| {
        r["id"] == customer_id && r["subject"] == "interop-Customer" && r["version"] == 1
    });
    e.check(
        "serialize and deserialize with a reference",
        customer(),
        |c| *c == customer(),
    );
    e.error("delete_subject referenced", 422, 42206);
    e.check("delete_version 2", 2, |v| *v == 2);
    e.check("get_versions after delete_version", "[1]", |v| {
        *v == json!([1])
    });
    e.check("get_versions including deleted", "[1, 2]", |v| {
        *v == json!([1, 2])
    });
    e.check("delete_subject", "[1]", |v| *v == json!([1]));
    e.check(
        "get_subjects after delete_subject",
        "orderflow's only",
        |s| {
            let s = s.as_array().cloned().unwrap_or_default();
            !s.contains(&json!(SUBJECT)) && s.contains(&json!("orders-OrderCreated"))
        },
    );
    e.check("get_subjects including deleted", "the subject", |s| {
        s.as_array().is_some_and(|s| s.contains(&json!(SUBJECT)))
    });
    e.check("get_schema v1 id after delete_subject", "v1 still", |s| {
        same_schema(&s["schema"], &v1)
    });
    e.check("delete_subject permanently", "[1, 2]", |v| {
        *v == json!([1, 2])
    });
    e.error("get_schema v1 id after permanent delete", 404, 40403);
    e.check(
        "get_subjects including deleted after permanent delete",
        "not the subject",
        |s| s.as_array().is_some_and(|s| !s.contains(&json!(SUBJECT))),
    );
    e.verdict(&recorder)
}

#[tokio::test]
async fn the_confluent_python_client_and_orderflow_read_each_others_events() -> TestResult {
    let python = clients::python().await?;
    // The published v1 contract, auto-registered (or found) under orders-OrderCreated.
    let order = json!({
        "orderId": "py-1", "customerId": "c-py",
        "items": [{ "sku": "SKU-PY", "quantity": 3, "unitPrice": 2.5 }],
        "totalAmount": 7.5, "timestamp": 1_700_000_000_000i64,
    });
    read_each_others_events(&python, "history/OrderCreated.v1.avsc", order).await
}

/// A deployment on the shared Kafka cluster takes orders; confluent-kafka's `Consumer`
/// reads the deployment's `orders` topic from the beginning and decodes it with
/// `AvroDeserializer` on orderflow's own registry: each order's OrderCreated, keyed by
/// its id, with the order's fields.
#[tokio::test]
async fn the_confluent_python_consumer_reads_orderflows_orders_topic_on_kafka() -> TestResult {
    let python = clients::python().await?;
    let url = kafka_url();
    let deployment = Deployment::on_kafka(&url)?;
    let prefix = deployment
        .env
        .iter()
        .find(|(k, _)| k == "ORDERFLOW_TOPIC_PREFIX")
        .map(|(_, v)| v.clone())
        .ok_or("a Kafka deployment has a topic prefix")?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    let recorder = Recorder::start(&api.base).await?;
    api.set_stock("SKU-K", 10).await?;
    let mut orders = Vec::new();
    for (customer, quantity, price) in [("c-k1", 1, 1.5), ("c-k2", 2, 2.25), ("c-k3", 3, 10.0)] {
        let (id, _) = api
            .place(customer, json!([item("SKU-K", quantity, price)]))
            .await?;
        orders.push((id, customer, quantity, price));
    }

    let bootstrap = url.strip_prefix("kafka://").ok_or("a kafka:// URL")?;
    let topic = format!("{prefix}orders");
    let registry = recorder.url.clone();
    let mut args = vec!["consume", bootstrap, &topic, &registry];
    args.extend(orders.iter().map(|(id, ..)| id.as_str()));
    let out = python.run(&recorder, &args, "").await?;
    let records = out["records"].as_array().ok_or("no records")?;
    for (id, customer, quantity, price) in &orders {
        let created = records
            .iter()
            .find(|r| r["key"] == id.as_str() && r["schema"] == "OrderCreated")
            .ok_or_else(|| format!("no OrderCreated keyed {id} among {records:?}"))?;
        let order = &created["value"];
        assert_eq!(order["orderId"], id.as_str());
        assert_eq!(order["customerId"], *customer);
        assert_eq!(order["items"][0]["sku"], "SKU-K");
        assert_eq!(order["items"][0]["quantity"], *quantity);
        assert_eq!(order["items"][0]["unitPrice"], *price);
        assert_eq!(order["totalAmount"], f64::from(*quantity) * price);
        assert_eq!(order["currency"], "EUR");
    }
    Ok(())
}
