//! The Avro codec on the hot path, against going through `apache_avro::types::Value`.

use std::sync::Arc;
use std::time::Instant;

/// Nanoseconds per call of `f`, over `n` calls.
fn per_call(n: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Avro encoding and decoding of `OrderCreated` on the hot path (apache-avro's
/// schema-aware serde), against going through `apache_avro::types::Value`.
pub async fn codec(n: usize) -> anyhow::Result<()> {
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::writer::datum::GenericDatumWriter;
    use orderflow_core::codec::{SCHEMA_FILES, wire};
    use orderflow_core::registry::InMemoryRegistry;

    let codec = orderflow_core::EventCodec::new(Arc::new(InMemoryRegistry::default())).await?;
    let event = sample_order_created()?;
    let encoded = codec.encode(&event)?;
    let schema = apache_avro::Schema::parse_str(SCHEMA_FILES[0].1)?;
    let writer = GenericDatumWriter::builder(&schema).build()?;
    let reader = GenericDatumReader::builder(&schema).build()?;
    let wire_event = wire::to_wire(&event);

    let encode_direct = per_call(n, || {
        std::hint::black_box(codec.encode(&event).ok());
    });
    let encode_value = per_call(n, || {
        let value = apache_avro::to_value(&wire_event).ok();
        std::hint::black_box(value.and_then(|v| writer.write_value_to_vec(v).ok()));
    });
    let mut decode_direct = 0.0;
    let mut failures = 0;
    {
        let start = Instant::now();
        for _ in 0..n {
            if codec
                .decode(encoded.schema_id, &encoded.payload)
                .await
                .is_err()
            {
                failures += 1;
            }
        }
        decode_direct += start.elapsed().as_nanos() as f64 / n as f64;
    }
    anyhow::ensure!(failures == 0, "{failures} decodes failed");
    let decode_value = per_call(n, || {
        let value = reader.read_value(&mut encoded.payload.as_slice()).ok();
        std::hint::black_box(
            value.and_then(|v| apache_avro::from_value::<wire::OrderCreatedV2>(&v).ok()),
        );
    });
    out!(
        "Avro codec, OrderCreated ({} bytes), {n} events",
        encoded.payload.len()
    );
    out!("  baseline encode through Value      {encode_value:>8.0} ns/event");
    out!(
        "  encode, schema-aware serde         {encode_direct:>8.0} ns/event  = {:.1}x faster",
        encode_value / encode_direct
    );
    out!("  baseline decode through Value      {decode_value:>8.0} ns/event");
    out!(
        "  decode, schema-aware serde         {decode_direct:>8.0} ns/event  = {:.1}x faster (includes domain parsing)\n",
        decode_value / decode_direct
    );
    Ok(())
}

fn sample_order_created() -> anyhow::Result<orderflow_domain::Event> {
    use orderflow_domain::*;
    let line = |sku: &str, q: i64, price: f64| -> anyhow::Result<OrderLine> {
        Ok(OrderLine {
            sku: Sku::parse(sku)?,
            quantity: Quantity::new(q)?,
            unit_price: Money::from_major(price)?,
        })
    };
    Ok(events::OrderCreated {
        order_id: OrderId::parse("0f8fad5b-d9cb-469f-a165-70867728950e")?,
        customer_id: CustomerId::parse("customer-42")?,
        lines: OrderLines::new(vec![line("SKU-1", 2, 19.99)?, line("SKU-2", 1, 5.0)?])?,
        timestamp: Timestamp(1_700_000_000_000),
        currency: Currency::default_currency(),
        shipping_address: Some("1 Main St, Springfield".into()),
    }
    .into())
}
