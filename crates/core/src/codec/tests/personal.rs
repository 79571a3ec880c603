//! Personal data through the codec: declared in the schemas, sealed before it is
//! written, opened when read with the keys, erased once its subject is forgotten.

use std::sync::Arc;

use chrono::Utc;
use orderflow_domain::testing::sample_created;
use orderflow_domain::{Event, Personal};

use super::{codec, sealed};
use crate::codec::{CodecError, EventCodec, HISTORY_FILES, SCHEMA_FILES};
use crate::keys::seal::SealError;
use crate::keys::{InMemoryKeyStore, KeyStore};
use crate::registry::{InMemoryRegistry, SchemaRegistry};

const ADDRESS: &str = "1 Main St, Springfield";

fn address(event: &Event) -> Option<&Personal> {
    match event {
        Event::OrderCreated(e) => e.shipping_address.as_ref(),
        _ => None,
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A codec with keys of its own, and one on the same registry without any.
async fn with_and_without_keys() -> (EventCodec, EventCodec, Arc<InMemoryKeyStore>) {
    let registry = Arc::new(InMemoryRegistry::default());
    let keys = Arc::new(InMemoryKeyStore::default());
    let with = EventCodec::new(registry.clone())
        .await
        .unwrap()
        .with_keys(keys.clone());
    let without = EventCodec::new(registry).await.unwrap();
    (with, without, keys)
}

#[tokio::test]
async fn an_address_is_written_sealed_and_read_back_in_the_clear() {
    let codec = codec().await;
    let encoded = codec
        .encode(&sealed(&codec, sample_created()).await)
        .unwrap();
    assert!(!contains(&encoded.payload, ADDRESS), "no plaintext written");
    let decoded = codec
        .decode(encoded.schema_id, &encoded.payload)
        .await
        .unwrap();
    assert_eq!(decoded, sample_created());
}

#[tokio::test]
async fn personal_data_in_the_clear_is_never_encoded() {
    let codec = codec().await;
    assert!(matches!(
        codec.encode(&sample_created()),
        Err(CodecError::Unsealed {
            event_type: "OrderCreated"
        })
    ));
}

#[tokio::test]
async fn once_the_customer_is_forgotten_the_address_reads_as_erased_and_the_rest_as_before() {
    let (codec, _, keys) = with_and_without_keys().await;
    let encoded = codec
        .encode(&sealed(&codec, sample_created()).await)
        .unwrap();
    keys.forget("c-1", Utc::now()).await.unwrap();
    let decoded = codec
        .decode(encoded.schema_id, &encoded.payload)
        .await
        .unwrap();
    assert_eq!(address(&decoded), Some(&Personal::Erased));
    let (Event::OrderCreated(decoded), Event::OrderCreated(original)) = (decoded, sample_created())
    else {
        unreachable!()
    };
    assert_eq!(
        (
            decoded.order_id,
            decoded.customer_id,
            decoded.lines,
            decoded.timestamp
        ),
        (
            original.order_id,
            original.customer_id,
            original.lines,
            original.timestamp
        )
    );
}

#[tokio::test]
async fn a_reader_without_the_keys_reads_every_other_field_and_the_address_sealed() {
    let (codec, foreign, _) = with_and_without_keys().await;
    let encoded = codec
        .encode(&sealed(&codec, sample_created()).await)
        .unwrap();
    let decoded = foreign
        .decode(encoded.schema_id, &encoded.payload)
        .await
        .unwrap();
    assert!(matches!(address(&decoded), Some(Personal::Sealed(_))));
    let json = crate::codec::to_json(&decoded);
    assert_eq!(json["customerId"], "c-1");
    assert_eq!(json["totalAmount"], 39.98);
    assert!(json["shippingAddress"].is_array(), "bytes: {json}");
}

#[tokio::test]
async fn decoded_as_stored_the_address_stays_sealed_even_with_the_keys() {
    let codec = codec().await;
    let stored = sealed(&codec, sample_created()).await;
    let encoded = codec.encode(&stored).unwrap();
    let decoded = codec
        .decode_sealed(encoded.schema_id, &encoded.payload)
        .await
        .unwrap();
    assert_eq!(decoded, stored, "the very bytes that were written");
}

#[tokio::test]
async fn a_process_without_the_key_store_refuses_for_good_to_write_personal_data() {
    let (_, without, _) = with_and_without_keys().await;
    let refused = without.encode_sealed(&sample_created()).await;
    assert!(
        matches!(
            refused,
            Err(CodecError::NoKeyStore {
                event_type: "OrderCreated"
            })
        ),
        "{refused:?}"
    );
    assert!(!refused.is_err_and(|e| e.is_transient()), "never retried");
}

#[tokio::test]
async fn a_key_store_that_never_had_the_key_is_an_error_not_an_erasure() {
    let (codec, _, _) = with_and_without_keys().await;
    let encoded = codec
        .encode(&sealed(&codec, sample_created()).await)
        .unwrap();
    let (other, _, _) = with_and_without_keys().await;
    let id = other
        .schema_id("OrderCreated")
        .expect("the same schemas in the same order get the same ids");
    assert_eq!(id, encoded.schema_id);
    let read = other.decode(id, &encoded.payload).await;
    assert!(
        matches!(read, Err(CodecError::Keys(SealError::MissingKey { .. }))),
        "{read:?}"
    );
}

#[tokio::test]
async fn an_address_a_v2_writer_wrote_in_the_clear_reads_as_the_customers() {
    let registry = Arc::new(InMemoryRegistry::default());
    let codec = EventCodec::new(registry.clone())
        .await
        .unwrap()
        .with_keys(Arc::new(InMemoryKeyStore::default()));
    let v2_text = HISTORY_FILES[1].1;
    let v2 = apache_avro::Schema::parse_str(v2_text).unwrap();
    let v2_id = registry
        .register("orders-OrderCreated", v2_text)
        .await
        .unwrap();
    #[derive(serde::Serialize)]
    #[serde(rename = "OrderCreated", rename_all = "camelCase")]
    struct OrderCreatedV2 {
        order_id: &'static str,
        customer_id: &'static str,
        items: Vec<crate::codec::wire::OrderItemV1>,
        total_amount: f64,
        timestamp: i64,
        currency: &'static str,
        shipping_address: Option<&'static str>,
    }
    let record = OrderCreatedV2 {
        order_id: "order-1",
        customer_id: "c-1",
        items: vec![crate::codec::wire::OrderItemV1 {
            sku: "SKU-1".into(),
            quantity: 2,
            unit_price: 19.99,
        }],
        total_amount: 39.98,
        timestamp: 1_700_000_000_000,
        currency: "EUR",
        shipping_address: Some(ADDRESS),
    };
    let bytes = apache_avro::writer::datum::GenericDatumWriter::builder(&v2)
        .build()
        .unwrap()
        .write_value_to_vec(apache_avro::to_value(&record).unwrap())
        .unwrap();
    let decoded = codec.decode(v2_id, &bytes).await.unwrap();
    assert_eq!(decoded, sample_created());
}

/// Field names that suggest personal data: each such field must say whether it is.
const SUGGESTIVE: [&str; 8] = [
    "address",
    "email",
    "mail",
    "name",
    "phone",
    "recipient",
    "customer",
    "birth",
];

#[test]
fn every_field_whose_name_suggests_personal_data_says_whether_it_is() {
    for (event_type, text) in SCHEMA_FILES {
        let schema: serde_json::Value = serde_json::from_str(text).unwrap();
        for field in schema["fields"].as_array().unwrap() {
            let name = field["name"].as_str().unwrap().to_lowercase();
            let pii = &field["pii"];
            if SUGGESTIVE.iter().any(|s| name.contains(s)) {
                assert!(
                    pii.is_boolean(),
                    "{}.{name} may hold personal data: add \"pii\": true (sealed under the \
                     customer's key) or \"pii\": false, with a doc saying why",
                    event_type.name()
                );
            }
            if pii == true {
                assert!(
                    field["type"] == "bytes"
                        || field["type"] == serde_json::json!(["null", "bytes"]),
                    "{}.{name} is personal, so sealed: its type must be bytes",
                    event_type.name()
                );
            }
        }
    }
}

#[test]
fn the_fields_marked_personal_are_the_ones_the_domain_seals() {
    let mut marked = Vec::new();
    for (event_type, text) in SCHEMA_FILES {
        let schema: serde_json::Value = serde_json::from_str(text).unwrap();
        for field in schema["fields"].as_array().unwrap() {
            if field["pii"] == true {
                marked.push(format!(
                    "{}.{}",
                    event_type.name(),
                    field["name"].as_str().unwrap()
                ));
            }
        }
    }
    let mut sealed_by_domain = Vec::new();
    for event in super::every_event() {
        if !event.personal().is_empty() {
            sealed_by_domain.push(format!("{}.shippingAddress", event.type_name()));
        }
    }
    assert_eq!(marked, sealed_by_domain);
}
