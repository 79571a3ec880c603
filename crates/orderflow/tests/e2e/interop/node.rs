//! The JavaScript client, `@confluentinc/schemaregistry` (`SchemaRegistryClient`,
//! `AvroSerializer`, `AvroDeserializer`, over `avsc`), on Node, against orderflow.

use serde_json::{Value, json};

use super::clients;
use super::proxy::Recorder;
use super::{
    Expectations, SUBJECT, address_reference, customer, read_each_others_events, same_schema,
    thing_v1, thing_v2,
};
use crate::support::*;

#[tokio::test]
async fn the_confluent_javascript_client_manages_schemas_in_orderflows_registry() -> TestResult {
    let node = clients::node().await?;
    let deployment = Deployment::new()?;
    let app = deployment.start("api", &[]).await?;
    let api = Api::of(&deployment, &app);
    let recorder = Recorder::start(&api.base).await?;
    let url = recorder.url.clone();
    let report = node.run(&recorder, &["flows", &url, SUBJECT], "").await?;
    let mut e = Expectations::new(report);
    let (v1, v2) = (thing_v1(), thing_v2());

    e.check("register v1", "a schema id", Value::is_u64);
    let v1_id = e.value("register v1").cloned().unwrap_or_default();
    e.check("getIdFullResponse v1", "version 1 with the id", |r| {
        r["id"] == v1_id && r["subject"] == SUBJECT && r["version"] == 1
    });
    e.check("getVersion v1", 1, |v| *v == 1);
    e.check("getId v1 with its keys reordered", "v1's id", |id| {
        *id == v1_id
    });
    e.check("testSubjectCompatibility v2", true, |c| *c == true);
    e.check("testCompatibility v2 with version 1", true, |c| *c == true);
    e.check("testSubjectCompatibility breaking", false, |c| *c == false);
    e.check("register v2", "a new schema id", |id| {
        id.is_u64() && *id != v1_id
    });
    let v2_id = e.value("register v2").cloned().unwrap_or_default();
    e.check("register v2 again", "the same id", |id| *id == v2_id);
    e.error("register breaking", 409, 40901);
    e.check("getLatestSchemaMetadata", "version 2", |r| {
        r["id"] == v2_id
            && r["subject"] == SUBJECT
            && r["version"] == 2
            && same_schema(&r["schema"], &v2)
    });
    e.check("getSchemaMetadata 1", "version 1", |r| {
        r["id"] == v1_id && r["version"] == 1 && same_schema(&r["schema"], &v1)
    });
    e.check("getAllSubjects", "the subject and orderflow's", |s| {
        let s = s.as_array().cloned().unwrap_or_default();
        s.contains(&json!(SUBJECT)) && s.contains(&json!("orders-OrderCreated"))
    });
    e.check("getAllVersions", "[1, 2]", |v| *v == json!([1, 2]));
    e.check("getBySubjectAndId v1 id", "v1", |s| {
        same_schema(&s["schema"], &v1)
    });
    e.check("getDefaultCompatibility", "BACKWARD_TRANSITIVE", |l| {
        *l == "BACKWARD_TRANSITIVE"
    });
    e.check("updateCompatibility FULL", "FULL", |l| *l == "FULL");
    e.check("getCompatibility", "FULL", |l| *l == "FULL");
    e.error("getId unregistered", 404, 40403);
    e.error("getLatestSchemaMetadata unknown subject", 404, 40401);
    e.error("getBySubjectAndId unknown id", 404, 40403);
    e.error("getSchemaMetadata unknown", 404, 40402);
    e.check("register referenced", "a schema id", Value::is_u64);
    let address_id = e.value("register referenced").cloned().unwrap_or_default();
    e.check("register with a reference", "another schema id", |id| {
        id.is_u64() && *id != address_id
    });
    let customer_id = e.value("register with a reference").cloned();
    let customer_id = customer_id.unwrap_or_default();
    e.check(
        "getBySubjectAndId with a reference",
        address_reference(),
        |s| s["references"] == address_reference(),
    );
    e.check("getIdFullResponse with a reference", "version 1", |r| {
        r["id"] == customer_id && r["subject"] == "interop-Customer" && r["version"] == 1
    });
    e.check(
        "serialize and deserialize with a reference",
        customer(),
        |c| *c == customer(),
    );
    e.error("deleteSubject referenced", 422, 42206);
    e.check("deleteSubjectVersion 2", 2, |v| *v == 2);
    e.check("getAllVersions after deleteSubjectVersion", "[1]", |v| {
        *v == json!([1])
    });
    e.check("getSchemaMetadata 2 including deleted", "version 2", |r| {
        r["id"] == v2_id && r["version"] == 2
    });
    e.check("deleteSubject", "[1]", |v| *v == json!([1]));
    e.check(
        "getAllSubjects after deleteSubject",
        "orderflow's only",
        |s| {
            let s = s.as_array().cloned().unwrap_or_default();
            !s.contains(&json!(SUBJECT)) && s.contains(&json!("orders-OrderCreated"))
        },
    );
    e.check(
        "getBySubjectAndId v1 id after deleteSubject",
        "v1 still",
        |s| same_schema(&s["schema"], &v1),
    );
    e.check("deleteSubject permanently", "[1, 2]", |v| {
        *v == json!([1, 2])
    });
    e.error("getBySubjectAndId v1 id after permanent delete", 404, 40403);
    e.verdict(&recorder)
}

#[tokio::test]
async fn the_confluent_javascript_client_and_orderflow_read_each_others_events() -> TestResult {
    let node = clients::node().await?;
    // The current schema (v3), registered (or found) under orders-OrderCreated and then
    // used as the subject's latest version, with the fields v2 added. A foreign producer
    // has no keys to seal an address with, so it sends none (docs/schemas.md).
    let order = json!({
        "orderId": "js-1", "customerId": "c-js",
        "items": [{ "sku": "SKU-JS", "quantity": 3, "unitPrice": 1.25 }],
        "totalAmount": 3.75, "timestamp": 1_700_000_000_001i64,
        "currency": "USD", "shippingAddress": null,
    });
    read_each_others_events(&node, "OrderCreated.avsc", order).await
}
