use std::sync::Arc;

use orderflow_domain::events::*;
use orderflow_domain::testing::{sample_created, sample_order_id};
use orderflow_domain::{Event, Money, Quantity, Sku, StockLine, Topic};

use super::*;
use crate::keys::InMemoryKeyStore;
use crate::registry::InMemoryRegistry;

async fn codec() -> EventCodec {
    EventCodec::new(Arc::new(InMemoryRegistry::default()))
        .await
        .expect("codec")
        .with_keys(Arc::new(InMemoryKeyStore::default()))
}

/// An event as the codec writes it: its personal data sealed.
async fn sealed(codec: &EventCodec, mut event: Event) -> Event {
    codec.seal(&mut event).await.expect("sealed");
    event
}

/// One event of every type.
pub(crate) fn every_event() -> Vec<Event> {
    let order_id = sample_order_id();
    let sku = Sku::parse("SKU-1").unwrap();
    let items = vec![StockLine {
        sku: sku.clone(),
        quantity: Quantity::new(2).unwrap(),
    }];
    let amount = Money::from_minor(3998).unwrap();
    vec![
        sample_created(),
        OrderConfirmed {
            order_id: order_id.clone(),
        }
        .into(),
        OrderCancelled {
            order_id: order_id.clone(),
            reason: "why".into(),
        }
        .into(),
        OrderShipped {
            order_id: order_id.clone(),
            tracking_number: "T".into(),
        }
        .into(),
        PaymentReceived {
            order_id: order_id.clone(),
            amount,
            transaction_id: "tx".into(),
        }
        .into(),
        PaymentDeclined {
            order_id: order_id.clone(),
            amount,
            reason: "no".into(),
        }
        .into(),
        PaymentRefunded {
            order_id: order_id.clone(),
            amount,
            transaction_id: "rf".into(),
        }
        .into(),
        PaymentSkipped {
            order_id: order_id.clone(),
            amount,
            reason: "order cancelled before payment: changed my mind".into(),
        }
        .into(),
        StockLevelSet {
            sku: sku.clone(),
            available: 10,
        }
        .into(),
        StockAllocated {
            sku: sku.clone(),
            order_id: order_id.clone(),
            quantity: Quantity::new(2).unwrap(),
        }
        .into(),
        StockDeallocated {
            sku: sku.clone(),
            order_id: order_id.clone(),
            quantity: Quantity::new(2).unwrap(),
        }
        .into(),
        StockReserved {
            order_id: order_id.clone(),
            items: items.clone(),
        }
        .into(),
        StockUnavailable {
            order_id: order_id.clone(),
            reason: "unknown SKU".into(),
        }
        .into(),
        StockReleased {
            order_id: order_id.clone(),
            items: items.clone(),
        }
        .into(),
        StockShipped {
            sku: Sku::parse("SKU-1").unwrap(),
            order_id: order_id.clone(),
            quantity: Quantity::new(2).unwrap(),
        }
        .into(),
        StockFulfilled {
            order_id: order_id.clone(),
            items,
        }
        .into(),
        ShipmentDispatched {
            order_id: order_id.clone(),
            tracking_number: "T".into(),
        }
        .into(),
        NotificationSent {
            order_id: order_id.clone(),
            kind: NotificationKind::OrderShipped,
            recipient: "c@x".into(),
            message_id: "<m@x>".into(),
        }
        .into(),
        NotificationFailed {
            order_id: order_id.clone(),
            kind: NotificationKind::OrderReceived,
            recipient: "a:b@x".into(),
            reason: "the email cannot be built: invalid address".into(),
        }
        .into(),
        StepFailed {
            order_id,
            step: "payment".into(),
            event_type: "OrderCreated".into(),
            reason: "payment provider refused the request: card blocked".into(),
            topic: "orders".into(),
            partition: 7,
            offset: 1 << 40,
            at: orderflow_domain::Timestamp(1_700_000_000_000),
        }
        .into(),
        CustomerForgotten {
            customer_id: orderflow_domain::CustomerId::parse("c-1").unwrap(),
            reason: "erasure request #12".into(),
            by: "operator".into(),
            keys_destroyed: 1,
            at: orderflow_domain::Timestamp(1_700_000_000_000),
        }
        .into(),
    ]
}

#[tokio::test]
async fn every_event_type_round_trips_through_avro() {
    let codec = codec().await;
    let events = every_event();
    assert_eq!(events.len(), Event::TYPES.len());
    for event in events {
        let encoded = codec.encode(&sealed(&codec, event.clone()).await).unwrap();
        assert_eq!(encoded.event_type, event.type_name());
        let decoded = codec
            .decode(encoded.schema_id, &encoded.payload)
            .await
            .unwrap();
        assert_eq!(decoded, event);
        let framed = frame(encoded.schema_id, &encoded.payload);
        assert_eq!(codec.decode_framed(&framed).await.unwrap(), event);
    }
}

fn field_names(schema: &Schema) -> Vec<String> {
    let Schema::Record(record) = schema else {
        panic!("not a record")
    };
    record.fields.iter().map(|f| f.name.clone()).collect()
}

#[test]
fn order_created_keeps_the_published_contract_and_only_adds_fields_with_defaults() {
    let v1 = Schema::parse_str(HISTORY_FILES[0].1).unwrap();
    assert_eq!(
        field_names(&v1),
        ["orderId", "customerId", "items", "totalAmount", "timestamp"]
    );
    let current = &SCHEMAS[0].1;
    assert_eq!(field_names(current)[..5], field_names(&v1)[..]);
    let Schema::Record(record) = current else {
        panic!("not a record")
    };
    assert!(record.fields[5..].iter().all(|f| f.default.is_some()));
}

/// An `OrderCreated` written by a v1 producer (the published contract), as bytes.
fn v1_bytes(v1: &Schema) -> Vec<u8> {
    let wire = wire::OrderCreatedV1 {
        order_id: "order-1".into(),
        customer_id: "c-1".into(),
        items: vec![wire::OrderItemV1 {
            sku: "SKU-1".into(),
            quantity: 2,
            unit_price: 19.99,
        }],
        total_amount: 39.98,
        timestamp: 1_700_000_000_000,
    };
    GenericDatumWriter::builder(v1)
        .build()
        .unwrap()
        .write_value_to_vec(apache_avro::to_value(&wire).unwrap())
        .unwrap()
}

#[tokio::test]
async fn v2_code_reads_order_created_written_with_v1() {
    let registry = Arc::new(InMemoryRegistry::default());
    let codec = EventCodec::new(registry.clone()).await.unwrap();
    let v1 = Schema::parse_str(HISTORY_FILES[0].1).unwrap();
    let v1_id = registry
        .register("orders-OrderCreated", HISTORY_FILES[0].1)
        .await
        .unwrap();
    assert_ne!(
        Some(v1_id),
        codec.schema_id("OrderCreated"),
        "v1 and v2 are different ids"
    );
    let Event::OrderCreated(decoded) = codec.decode(v1_id, &v1_bytes(&v1)).await.unwrap() else {
        panic!("not an OrderCreated")
    };
    let Event::OrderCreated(expected) = sample_created() else {
        unreachable!()
    };
    assert_eq!(decoded.lines, expected.lines);
    assert_eq!(decoded.currency.as_str(), "EUR", "the v2 default");
    assert_eq!(decoded.shipping_address, None);
}

#[tokio::test]
async fn a_v1_consumer_reads_order_created_written_with_v2() {
    let codec = codec().await;
    let encoded = codec
        .encode(&sealed(&codec, sample_created()).await)
        .unwrap();
    let v1 = Schema::parse_str(HISTORY_FILES[0].1).unwrap();
    let value = GenericDatumReader::builder(&SCHEMAS[0].1)
        .reader_schema(&v1)
        .build()
        .unwrap()
        .read_value(&mut encoded.payload.as_slice())
        .unwrap();
    let seen: wire::OrderCreatedV1 = apache_avro::from_value(&value).unwrap();
    assert_eq!(seen.order_id, "order-1");
    assert_eq!(seen.total_amount, 39.98);
    assert_eq!(seen.items[0].unit_price, 19.99);
    assert_eq!(seen.timestamp, 1_700_000_000_000);
}

#[tokio::test]
async fn a_wrong_magic_byte_or_short_record_is_a_framing_error() {
    let codec = codec().await;
    assert!(matches!(
        codec.decode_framed(&[1, 0, 0, 0, 1, 2]).await,
        Err(CodecError::Framing(_))
    ));
    assert!(matches!(
        codec.decode_framed(&[0, 0]).await,
        Err(CodecError::Framing(_))
    ));
}

#[tokio::test]
async fn an_unknown_schema_id_is_reported() {
    let codec = codec().await;
    assert!(matches!(
        codec.decode(9999, &[]).await,
        Err(CodecError::UnknownSchema(9999))
    ));
}

#[tokio::test]
async fn a_body_that_does_not_decode_is_malformed() {
    let codec = codec().await;
    let id = codec.schema_id("OrderCreated").unwrap();
    assert!(matches!(
        codec.decode(id, &[0xff, 0xff, 0xff]).await,
        Err(CodecError::Malformed { .. })
    ));
}

#[tokio::test]
async fn a_body_with_invalid_values_is_refused_by_the_domain() {
    let codec = codec().await;
    let id = codec.schema_id("OrderConfirmed").unwrap();
    // An empty string as order id: a valid Avro string, an invalid OrderId.
    assert!(matches!(
        codec.decode(id, &[0]).await,
        Err(CodecError::Invalid(_))
    ));
}

#[tokio::test]
async fn an_older_writer_schema_is_resolved_against_the_current_reader() {
    let registry = Arc::new(InMemoryRegistry::default());
    let codec = EventCodec::new(registry.clone()).await.unwrap();
    // A writer that knew OrderCancelled with an extra field the reader does not have.
    let old = r#"{"type":"record","name":"OrderCancelled","fields":[
        {"name":"orderId","type":"string"},{"name":"legacy","type":"int"},
        {"name":"reason","type":"string"}]}"#;
    // Registered after the current one here, so the rules must allow going back.
    registry
        .set_level(
            Some("orders-OrderCancelled"),
            crate::registry::CompatibilityLevel::None,
        )
        .await
        .unwrap();
    let old_id = registry
        .register("orders-OrderCancelled", old)
        .await
        .unwrap();
    let old_schema = Schema::parse_str(old).unwrap();
    let mut record = apache_avro::types::Record::new(&old_schema).unwrap();
    record.put("orderId", "order-1");
    record.put("legacy", 7);
    record.put("reason", "late");
    let body = GenericDatumWriter::builder(&old_schema)
        .build()
        .unwrap()
        .write_value_to_vec(record)
        .unwrap();
    let decoded = codec.decode(old_id, &body).await.unwrap();
    assert_eq!(
        decoded,
        OrderCancelled {
            order_id: sample_order_id(),
            reason: "late".into()
        }
        .into()
    );
}

#[tokio::test]
async fn a_legacy_order_placed_is_read_as_order_created_through_its_upcaster() {
    let registry = Arc::new(InMemoryRegistry::default());
    let codec = EventCodec::new(registry.clone()).await.unwrap();
    let (_, legacy_text) = LEGACY_FILES[0];
    let legacy_id = registry
        .register("orders-OrderPlaced", legacy_text)
        .await
        .unwrap();
    let legacy = Schema::parse_str(legacy_text).unwrap();
    let line = apache_avro::types::Value::Record(vec![
        ("sku".into(), "SKU-OLD".into()),
        ("qty".into(), apache_avro::types::Value::Int(3)),
        ("priceCents".into(), apache_avro::types::Value::Long(250)),
    ]);
    let record = apache_avro::types::Value::Record(vec![
        ("orderId".into(), "legacy-1".into()),
        ("customer".into(), "c-old".into()),
        ("lines".into(), apache_avro::types::Value::Array(vec![line])),
        ("totalCents".into(), apache_avro::types::Value::Long(750)),
        (
            "placedAt".into(),
            apache_avro::types::Value::Long(1_600_000_000_000),
        ),
    ]);
    let body = GenericDatumWriter::builder(&legacy)
        .build()
        .unwrap()
        .write_value_to_vec(record)
        .unwrap();
    let Event::OrderCreated(created) = codec.decode(legacy_id, &body).await.unwrap() else {
        panic!("not upcast to OrderCreated")
    };
    assert_eq!(created.order_id.as_str(), "legacy-1");
    assert_eq!(created.customer_id.as_str(), "c-old");
    assert_eq!(created.lines.lines()[0].quantity.get(), 3);
    assert_eq!(created.lines.lines()[0].unit_price.minor(), 250);
    assert_eq!(created.lines.total().minor(), 750);
    assert_eq!(created.timestamp.0, 1_600_000_000_000);
    assert_eq!(
        created.currency.as_str(),
        "EUR",
        "a default of the current schema"
    );
}

/// A writer schema whose defaults lead back to themselves (registered by some client)
/// is read without apache-avro resolving them, which would overflow the stack.
#[tokio::test]
async fn a_writer_schema_with_self_referring_defaults_is_read_safely() {
    let endless = r#"{"type":"record","name":"A","fields":[
        {"name":"b","type":{"type":"record","name":"B","fields":[
            {"name":"c","type":[{"type":"map","values":"int"},"B"],"default":{}}]}},
        {"name":"d","type":"B","default":{}}]}"#;
    let registry = Arc::new(InMemoryRegistry::default());
    let id = registry.register("t-A", endless).await.unwrap();
    let codec = EventCodec::new(registry).await.unwrap();
    let err = codec
        .decode_framed(&frame(id, &[0, 0, 0]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CodecError::UnknownType { ref name, .. } if name == "A"),
        "{err}"
    );
}

/// The registry subject of each event type names the topic the relay publishes it to:
/// consumers with the topic-record-name strategy look its schema up there.
#[tokio::test]
async fn each_event_type_is_registered_under_the_subject_of_its_topic()
-> Result<(), Box<dyn std::error::Error>> {
    let registry = Arc::new(InMemoryRegistry::default());
    let codec = EventCodec::new(registry.clone())
        .await?
        .with_keys(Arc::new(InMemoryKeyStore::default()));
    for event in every_event() {
        let encoded = codec.encode(&sealed(&codec, event.clone()).await)?;
        let name = event.type_name();
        let subject = format!("{}-{name}", orderflow_domain::topic_of(&event).name());
        let versions = registry.versions(&subject, false).await?;
        assert!(
            versions.iter().any(|v| v.id == encoded.schema_id),
            "{name} is written with schema {} but {subject} has {versions:?}",
            encoded.schema_id
        );
    }
    Ok(())
}

#[test]
fn a_legacy_type_goes_to_the_topic_of_the_type_it_is_read_as() {
    assert_eq!(topic_of_record("OrderPlaced"), Some(Topic::Orders));
    assert_eq!(
        topic_of_record("NotificationFailed"),
        Some(Topic::Notifications)
    );
    assert_eq!(topic_of_record("Refunded"), None);
}

mod personal;
