//! The Avro codec on the hot path, against going through `apache_avro::types::Value`.

use std::sync::Arc;
use std::time::Instant;

/// Nanoseconds per call of `f`, over `n` calls; the first error stops the measurement
/// and is returned (a baseline that failed would measure nothing).
fn per_call(n: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let start = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(start.elapsed().as_nanos() as f64 / n.max(1) as f64)
}

/// Avro encoding and decoding of `OrderCreated` on the hot path (apache-avro's
/// schema-aware serde), against going through `apache_avro::types::Value`.
pub async fn codec(n: usize) -> anyhow::Result<()> {
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::writer::datum::GenericDatumWriter;
    use orderflow_core::codec::{SCHEMA_FILES, wire};
    use orderflow_core::registry::InMemoryRegistry;

    anyhow::ensure!(n > 0, "--codec-events must be at least 1");
    let codec = orderflow_core::EventCodec::new(Arc::new(InMemoryRegistry::default()))
        .await?
        .with_keys(Arc::new(orderflow_core::keys::InMemoryKeyStore::default()));
    // As the store gets it: the address sealed under the customer's key.
    let mut event = sample_order_created()?;
    codec.seal(&mut event).await?;
    let encoded = codec.encode(&event)?;
    let schema = apache_avro::Schema::parse_str(SCHEMA_FILES[0].1)?;
    let writer = GenericDatumWriter::builder(&schema).build()?;
    let reader = GenericDatumReader::builder(&schema).build()?;
    let wire_event = wire::to_wire(&event);

    let encode_direct = per_call(n, || {
        std::hint::black_box(codec.encode(&event)?);
        Ok(())
    })?;
    let encode_value = per_call(n, || {
        let value = apache_avro::to_value(&wire_event)?;
        std::hint::black_box(writer.write_value_to_vec(value)?);
        Ok(())
    })?;
    let decode_direct = {
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(codec.decode(encoded.schema_id, &encoded.payload).await?);
        }
        start.elapsed().as_nanos() as f64 / n.max(1) as f64
    };
    let decode_value = per_call(n, || {
        let value = reader.read_value(&mut encoded.payload.as_slice())?;
        std::hint::black_box(apache_avro::from_value::<wire::OrderCreatedV3>(&value)?);
        Ok(())
    })?;
    out!(
        "Avro codec, OrderCreated ({} bytes), {n} events",
        encoded.payload.len()
    );
    out!("  baseline encode through Value      {encode_value:>8.0} ns/event");
    out!(
        "  encode, schema-aware serde         {encode_direct:>8.0} ns/event  = {}",
        against(encode_value, encode_direct)
    );
    out!("  baseline decode through Value      {decode_value:>8.0} ns/event");
    out!(
        "  decode, schema-aware serde         {decode_direct:>8.0} ns/event  = {} (includes domain parsing)\n",
        against(decode_value, decode_direct)
    );
    Ok(())
}

/// How `ns` per call compares with the baseline's `baseline_ns`: "1.6x faster" or "1.3x
/// slower", never a "0.8x faster" that means slower.
fn against(baseline_ns: f64, ns: f64) -> String {
    if ns <= baseline_ns {
        format!("{:.1}x faster", baseline_ns / ns)
    } else {
        format!("{:.1}x slower", ns / baseline_ns)
    }
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
        shipping_address: Some(orderflow_domain::Personal::clear(
            &CustomerId::parse("customer-42")?,
            "1 Main St, Springfield",
        )),
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codec_slower_than_its_baseline_is_called_slower_not_a_fraction_faster() {
        assert_eq!(against(7236.0, 4582.0), "1.6x faster");
        assert_eq!(against(56732.0, 71334.0), "1.3x slower");
        assert_eq!(against(100.0, 100.0), "1.0x faster");
    }
}
