//! Interop with Confluent's official clients at their newest releases: the Python client
//! (`confluent-kafka`) and the JavaScript one (`@confluentinc/schemaregistry`). Each
//! drives orderflow's registry through its API, serialises an order that orderflow
//! decodes, and decodes the records orderflow put on the bus. The clients talk to the
//! registry through a recording proxy, so a failure shows the exact requests the
//! registry answered wrongly.
//!
//! What is right is what Confluent's own Schema Registry answers, not what orderflow's
//! answers today.

pub(crate) mod clients;
mod node;
mod proxy;
mod python;

use std::fmt::Display;
use std::sync::Arc;

use orderflow_core::EventCodec;
use orderflow_core::codec::to_json;
use orderflow_core::registry::Registry;
use orderflow_domain::Event;
use orderflow_sqlite::SqliteSchemaStore;
use serde_json::{Value, json};

use crate::support::*;
use clients::{Client, schemas_dir};
use proxy::Recorder;

/// The subject the registry flows work on (each test has a deployment of its own).
const SUBJECT: &str = "interop-Thing";

/// The record the registry flows register: v1, v2 (a field with a default: compatible),
/// and a breaking version (a field without one), as the scripts build them.
fn thing(extra: &[Value]) -> Value {
    let mut fields = vec![json!({ "name": "a", "type": "int" })];
    fields.extend_from_slice(extra);
    json!({ "type": "record", "name": "Thing", "namespace": "interop", "fields": fields })
}

fn thing_v1() -> Value {
    thing(&[])
}

fn thing_v2() -> Value {
    thing(&[json!({ "name": "b", "type": "string", "default": "x" })])
}

/// The reference of the flows' interop-Customer schema to interop-Address, and the
/// customer they serialise with it.
fn address_reference() -> Value {
    json!([{ "name": "interop.Address", "subject": "interop-Address", "version": 1 }])
}

fn customer() -> Value {
    json!({ "name": "Ada", "address": { "street": "1 Main St" } })
}

/// Whether `schema` (a schema string as the registry returns it) is `expected`.
fn same_schema(schema: &Value, expected: &Value) -> bool {
    schema
        .as_str()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .is_some_and(|s| &s == expected)
}

/// Checks a client's report of its calls (`{"steps": {name: {"ok"|"error": …}}}`)
/// against what Confluent's registry answers, collecting every mismatch.
struct Expectations {
    client: String,
    steps: Value,
    failures: Vec<String>,
}

impl Expectations {
    fn new(report: Value) -> Self {
        Self {
            client: report["client"].as_str().unwrap_or("?").to_owned(),
            steps: report["steps"].clone(),
            failures: Vec::new(),
        }
    }

    /// The value a step returned, if it succeeded.
    fn value(&self, step: &str) -> Option<&Value> {
        self.steps[step].get("ok")
    }

    /// The step succeeded with a value that passes.
    fn check(&mut self, step: &str, expected: impl Display, pass: impl FnOnce(&Value) -> bool) {
        if !self.value(step).is_some_and(pass) {
            self.failures.push(format!(
                "{step}: expected {expected}; got {}",
                self.steps[step]
            ));
        }
    }

    /// The step failed with Confluent's HTTP status and error code.
    fn error(&mut self, step: &str, status: u16, code: u32) {
        let error = &self.steps[step]["error"];
        if error["status"] != status || error["code"] != code {
            self.failures.push(format!(
                "{step}: expected the error {status} with error_code {code}; got {}",
                self.steps[step]
            ));
        }
    }

    /// Passes when every check did; otherwise fails listing them with the requests the
    /// registry answered with an error status.
    fn verdict(self, recorder: &Recorder) -> TestResult {
        if self.failures.is_empty() {
            return Ok(());
        }
        // Printed as is (the test's error is printed escaped, on one line).
        eprintln!(
            "{}: {} call(s) did not get Confluent's answer:\n  {}\nRequests the registry \
             answered with an error status (some are meant to fail):\n{}",
            self.client,
            self.failures.len(),
            self.failures.join("\n  "),
            recorder.errors()
        );
        Err(format!(
            "{}: {} call(s) did not get Confluent's answer (listed above)",
            self.client,
            self.failures.len()
        )
        .into())
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(hex: &str) -> Res<Vec<u8>> {
    let hex = hex.trim();
    Ok((0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("?"), 16))
        .collect::<Result<_, _>>()?)
}

/// A record on the embedded bus.
struct BusRecord {
    topic: String,
    key: String,
    value: Vec<u8>,
}

/// Every record orderflow put on the embedded bus's topics (not the dead-letter ones),
/// in order.
fn records_on_the_bus(deployment: &Deployment) -> Res<Vec<BusRecord>> {
    let bus = rusqlite::Connection::open_with_flags(
        deployment.data_dir().join("bus.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut rows = bus.prepare(
        "SELECT topic, key, value FROM records WHERE topic NOT LIKE '%.dlq' ORDER BY seq",
    )?;
    let records = rows
        .query_map([], |r| {
            Ok(BusRecord {
                topic: r.get(0)?,
                key: r.get(1)?,
                value: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(records)
}

/// JSON values that are the same, numbers compared by value (a client may print the
/// double 2.0 as 2).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// The client serialises `order` as OrderCreated with the schema file `schema` (in
/// `schemas/`) and orderflow decodes it; the client decodes every record orderflow put
/// on the bus for an order placed through the API, as orderflow reads them.
async fn read_each_others_events(client: &Client, schema: &str, order: Value) -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    let recorder = Recorder::start(&api.base).await?;

    // Their bytes, our decoder.
    let schema = schemas_dir().join(schema).display().to_string();
    let url = recorder.url.clone();
    let serialized = client
        .run(
            &recorder,
            &["serialize", &url, &schema, &order.to_string()],
            "",
        )
        .await?;
    let framed = serialized["framed"]
        .as_object()
        .ok_or("nothing serialised")?;
    let registry = Registry::new(SqliteSchemaStore::open(
        &deployment.data_dir().join("events.db"),
    )?);
    let codec = EventCodec::new(Arc::new(registry)).await?;
    for (mode, hex) in framed {
        let bytes = from_hex(hex.as_str().ok_or("not hex")?)?;
        assert_eq!(bytes.first(), Some(&0), "{mode}: Confluent wire format");
        let Event::OrderCreated(decoded) = codec.decode_framed(&bytes).await? else {
            return Err(format!("{mode}: not an OrderCreated").into());
        };
        assert_eq!(decoded.order_id.as_str(), order["orderId"], "{mode}");
        assert_eq!(decoded.customer_id.as_str(), order["customerId"], "{mode}");
        assert_eq!(decoded.lines.total().to_major(), order["totalAmount"]);
        assert_eq!(decoded.lines.lines()[0].quantity.get(), 3, "{mode}");
        assert_eq!(decoded.timestamp.0, order["timestamp"], "{mode}");
        let currency = order["currency"].as_str().unwrap_or("EUR");
        assert_eq!(decoded.currency.as_str(), currency, "{mode}");
        let address = order["shippingAddress"].as_str();
        let decoded_address = decoded.shipping_address.as_ref().and_then(|a| a.text());
        assert_eq!(decoded_address, address, "{mode}");
    }

    // Our bytes, their decoder: every record on the bus, once the order's OrderCreated,
    // OrderConfirmed and OrderShipped are on the orders topic. Each must decode to what
    // orderflow itself reads from it.
    api.set_stock("SKU-I", 5).await?;
    let (order_id, _) = api
        .place("c-interop", json!([item("SKU-I", 2, 4.25)]))
        .await?;
    api.wait_status(&order_id, "SHIPPED").await?;
    let records = eventually(|| async {
        let records = records_on_the_bus(&deployment)?;
        let of_order = records
            .iter()
            .filter(|r| r.topic == "orders" && r.key == order_id)
            .count();
        Ok((of_order >= 3).then_some(records))
    })
    .await?;
    let lines: String = records
        .iter()
        .map(|r| format!("{} {}\n", r.topic, to_hex(&r.value)))
        .collect();
    let url = recorder.url.clone();
    let out = client
        .run(&recorder, &["deserialize", &url], &lines)
        .await?;
    let decoded = out["records"].as_array().ok_or("no records")?;
    assert_eq!(decoded.len(), records.len(), "every record decoded");
    let mut differences = Vec::new();
    for (record, theirs) in records.iter().zip(decoded) {
        let ours = to_json(&codec.decode_framed(&record.value).await?);
        if !same_json(theirs, &ours) {
            differences.push(format!("{}: {theirs} instead of {ours}", record.topic));
        }
    }
    assert!(
        differences.is_empty(),
        "the client read records differently from orderflow:\n{}",
        differences.join("\n")
    );
    let of_order: Vec<&Value> = decoded
        .iter()
        .filter(|r| r["orderId"] == order_id.as_str())
        .collect();
    let created = of_order
        .iter()
        .find(|r| r.get("customerId").is_some())
        .ok_or("no OrderCreated decoded")?;
    assert_eq!(created["customerId"], "c-interop");
    assert_eq!(created["totalAmount"], 8.5);
    assert_eq!(created["items"][0]["sku"], "SKU-I");
    assert_eq!(created["items"][0]["quantity"], 2);
    assert_eq!(created["items"][0]["unitPrice"], 4.25);
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["shippingAddress"], Value::Null);
    assert!(
        of_order.iter().any(|r| r.get("trackingNumber").is_some()),
        "OrderShipped decoded too: {of_order:?}"
    );
    let topics: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.topic.as_str()).collect();
    assert!(topics.len() >= 4, "records of several topics: {topics:?}");
    Ok(())
}
