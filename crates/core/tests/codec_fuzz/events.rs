//! Valid events of every type from random parts (each value the domain refuses replaced
//! by a valid one), and valid encodings of the older shapes of `OrderCreated`.

use apache_avro::Schema;
use apache_avro::types::Value as Avro;
use apache_avro::writer::datum::GenericDatumWriter;
use orderflow_core::codec::{HISTORY_FILES, LEGACY_FILES};
use orderflow_domain::events::*;
use orderflow_domain::{
    Currency, CustomerId, Event, Money, OrderId, OrderLine, OrderLines, Personal, Quantity, Sku,
    StockLine, Timestamp,
};
use proptest::prelude::*;

/// Text of any kind, control characters and non-ASCII included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 -]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
}

/// An identifier the domain may or may not accept (falls back to a valid one).
fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9][a-zA-Z0-9._-]{0,20}",
        1 => text(),
    ]
}

/// The random parts an event of any type is made of.
#[derive(Debug, Clone)]
pub struct Parts {
    kind: usize,
    order: String,
    sku: String,
    customer: String,
    text: String,
    text2: String,
    n: i64,
    lines: Vec<(String, i64, i64)>,
    address: Option<String>,
}

pub fn parts() -> impl Strategy<Value = Parts> {
    (
        0..Event::TYPES.len(),
        (ident(), ident(), ident()),
        (text(), text()),
        any::<i64>(),
        prop::collection::vec((ident(), 1i64..1_000, 0i64..10_000_000), 1..5),
        proptest::option::of(text()),
    )
        .prop_map(
            |(kind, (order, sku, customer), (text, text2), n, lines, address)| Parts {
                kind,
                order,
                sku,
                customer,
                text,
                text2,
                n,
                lines,
                address,
            },
        )
}

/// An event of the type `p.kind` from the random parts, each value the domain refuses
/// replaced by a valid one.
pub fn event(p: &Parts) -> Event {
    let order_id =
        OrderId::parse(p.order.clone()).unwrap_or_else(|_| OrderId::parse("o-1").unwrap());
    let sku = Sku::parse(p.sku.clone()).unwrap_or_else(|_| Sku::parse("SKU-1").unwrap());
    let quantity =
        Quantity::new(p.n.rem_euclid(1_000) + 1).unwrap_or_else(|_| Quantity::new(1).unwrap());
    let amount = Money::from_minor(p.n.rem_euclid(100_000_000))
        .unwrap_or_else(|_| Money::from_minor(1).unwrap());
    let stock: Vec<StockLine> = p
        .lines
        .iter()
        .map(|(s, q, _)| StockLine {
            sku: Sku::parse(s.clone()).unwrap_or_else(|_| sku.clone()),
            quantity: Quantity::new(*q).unwrap_or(quantity),
        })
        .collect();
    let kind = match p.n.rem_euclid(3) {
        0 => NotificationKind::OrderReceived,
        1 => NotificationKind::OrderShipped,
        _ => NotificationKind::OrderCancelled,
    };
    let (text, text2) = (p.text.clone(), p.text2.clone());
    match Event::TYPES[p.kind] {
        "OrderCreated" => {
            let lines = p
                .lines
                .iter()
                .map(|(s, q, cents)| OrderLine {
                    sku: Sku::parse(s.clone()).unwrap_or_else(|_| sku.clone()),
                    quantity: Quantity::new(*q).unwrap_or(quantity),
                    unit_price: Money::from_minor(*cents).unwrap_or(amount),
                })
                .collect();
            let lines = OrderLines::new(lines).unwrap_or_else(|_| {
                OrderLines::new(vec![OrderLine {
                    sku: sku.clone(),
                    quantity,
                    unit_price: amount,
                }])
                .unwrap()
            });
            OrderCreated {
                order_id,
                customer_id: CustomerId::parse(p.customer.clone())
                    .unwrap_or_else(|_| CustomerId::parse("c-1").unwrap()),
                lines,
                timestamp: Timestamp(p.n),
                currency: Currency::parse(text.chars().take(3).collect::<String>().to_uppercase())
                    .unwrap_or_else(|_| Currency::default_currency()),
                // Sealed as the codec writes it; this codec has no keys to open it with.
                shipping_address: p.address.as_ref().map(|a| {
                    Personal::Sealed(
                        [&orderflow_core::keys::seal::MAGIC[..], a.as_bytes()].concat(),
                    )
                }),
            }
            .into()
        }
        "OrderConfirmed" => OrderConfirmed { order_id }.into(),
        "OrderCancelled" => OrderCancelled {
            order_id,
            reason: text,
        }
        .into(),
        "OrderShipped" => OrderShipped {
            order_id,
            tracking_number: text,
        }
        .into(),
        "PaymentReceived" => PaymentReceived {
            order_id,
            amount,
            transaction_id: text,
        }
        .into(),
        "PaymentDeclined" => PaymentDeclined {
            order_id,
            amount,
            reason: text,
        }
        .into(),
        "PaymentRefunded" => PaymentRefunded {
            order_id,
            amount,
            transaction_id: text,
        }
        .into(),
        "PaymentSkipped" => PaymentSkipped {
            order_id,
            amount,
            reason: text,
        }
        .into(),
        "StockLevelSet" => StockLevelSet {
            sku,
            available: p.n.unsigned_abs() >> 1,
        }
        .into(),
        "StockAllocated" => StockAllocated {
            sku,
            order_id,
            quantity,
        }
        .into(),
        "StockDeallocated" => StockDeallocated {
            sku,
            order_id,
            quantity,
        }
        .into(),
        "StockReserved" => StockReserved {
            order_id,
            items: stock,
        }
        .into(),
        "StockUnavailable" => StockUnavailable {
            order_id,
            reason: text,
        }
        .into(),
        "StockReleased" => StockReleased {
            order_id,
            items: stock,
        }
        .into(),
        "StockShipped" => StockShipped {
            sku,
            order_id,
            quantity,
        }
        .into(),
        "StockFulfilled" => StockFulfilled {
            order_id,
            items: stock,
        }
        .into(),
        "ShipmentDispatched" => ShipmentDispatched {
            order_id,
            tracking_number: text,
        }
        .into(),
        "NotificationSent" => NotificationSent {
            order_id,
            kind,
            recipient: text,
            message_id: text2,
        }
        .into(),
        "NotificationFailed" => NotificationFailed {
            order_id,
            kind,
            recipient: text,
            reason: text2,
        }
        .into(),
        // Partitions and offsets as Kafka has them: an int32 and an int64, not negative.
        "StepFailed" => StepFailed {
            order_id,
            step: text.clone(),
            event_type: p.sku.clone(),
            reason: text2,
            topic: text,
            partition: (p.n as u32) & 0x7fff_ffff,
            offset: (p.n as u64) >> 1,
            at: Timestamp(p.n),
        }
        .into(),
        "CustomerForgotten" => CustomerForgotten {
            customer_id: CustomerId::parse(p.customer.clone())
                .unwrap_or_else(|_| CustomerId::parse("c-1").unwrap()),
            reason: text,
            by: text2,
            keys_destroyed: (p.n as u32) & 0x7fff_ffff,
            at: Timestamp(p.n),
        }
        .into(),
        other => panic!("a type this test does not know yet: {other}"),
    }
}

/// Encodings of the older shapes: `OrderCreated` v1 and the legacy `OrderPlaced`.
pub fn older(p: &Parts, legacy: bool) -> Vec<u8> {
    let (name, text) = if legacy {
        LEGACY_FILES[0]
    } else {
        (HISTORY_FILES[0].0.name(), HISTORY_FILES[0].1)
    };
    let schema = Schema::parse_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let s = |v: &str| Avro::String(v.to_owned());
    let value = if legacy {
        let lines = p.lines.iter().map(|(sku, q, c)| {
            record([
                ("sku", s(sku)),
                ("qty", Avro::Int(*q as i32)),
                ("priceCents", Avro::Long(*c)),
            ])
        });
        record([
            ("orderId", s(&p.order)),
            ("customer", s(&p.customer)),
            ("lines", Avro::Array(lines.collect())),
            ("totalCents", Avro::Long(p.n)),
            ("placedAt", Avro::Long(p.n)),
        ])
    } else {
        let items = p.lines.iter().map(|(sku, q, c)| {
            record([
                ("sku", s(sku)),
                ("quantity", Avro::Int(*q as i32)),
                ("unitPrice", Avro::Double(*c as f64 / 100.0)),
            ])
        });
        record([
            ("orderId", s(&p.order)),
            ("customerId", s(&p.customer)),
            ("items", Avro::Array(items.collect())),
            ("totalAmount", Avro::Double(p.n as f64)),
            ("timestamp", Avro::Long(p.n)),
        ])
    };
    GenericDatumWriter::builder(&schema)
        .build()
        .and_then(|w| w.write_value_to_vec(value))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// An Avro record of `fields`, in order.
fn record<const N: usize>(fields: [(&str, Avro); N]) -> Avro {
    Avro::Record(fields.map(|(name, value)| (name.to_owned(), value)).into())
}
