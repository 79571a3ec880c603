//! Upcasters: when a change is semantic rather than structural (a field renamed, a unit
//! changed, an event type renamed), an upcaster turns the old record into the current
//! shape as it is read. Aggregates, projections and consumers only ever see current
//! event types, and replaying history from the beginning goes through the upcasters.

use std::fmt;

use apache_avro::types::Value;
use orderflow_domain::EventType;

/// Turns records of an old shape into a current event type.
pub trait Upcaster: Send + Sync + fmt::Debug {
    /// The record name (as written) this upcaster reads.
    fn reads(&self) -> &'static str;
    /// The current event type it produces.
    fn produces(&self) -> EventType;
    /// Transforms the record, decoded with its writer's schema, into the current shape;
    /// fields it leaves out get their defaults from the current schema.
    fn upcast(&self, record: Value) -> Result<Value, String>;
}

/// The upcasters orderflow ships.
pub fn builtin() -> Vec<Box<dyn Upcaster>> {
    vec![Box::new(OrderPlacedToOrderCreated)]
}

/// `OrderPlaced` (the predecessor's event, `schemas/legacy/OrderPlaced.avsc`):
/// `customer` became `customerId`, `lines[].qty` became `items[].quantity`, and amounts
/// in cents (`priceCents`, `totalCents`) became decimal major units (`unitPrice`,
/// `totalAmount`); `placedAt` became `timestamp`.
#[derive(Debug)]
pub struct OrderPlacedToOrderCreated;

fn fields(value: Value) -> Result<Vec<(String, Value)>, String> {
    match value {
        Value::Record(fields) => Ok(fields),
        other => Err(format!("expected a record, found {other:?}")),
    }
}

fn take(fields: &mut Vec<(String, Value)>, name: &str) -> Result<Value, String> {
    let i = fields
        .iter()
        .position(|(n, _)| n == name)
        .ok_or_else(|| format!("field {name} is missing"))?;
    Ok(fields.swap_remove(i).1)
}

fn cents_to_major(value: Value) -> Result<Value, String> {
    match value {
        Value::Long(cents) => Ok(Value::Double(cents as f64 / 100.0)),
        other => Err(format!("expected cents as a long, found {other:?}")),
    }
}

impl Upcaster for OrderPlacedToOrderCreated {
    fn reads(&self) -> &'static str {
        "OrderPlaced"
    }

    fn produces(&self) -> EventType {
        EventType::OrderCreated
    }

    fn upcast(&self, record: Value) -> Result<Value, String> {
        let mut old = fields(record)?;
        let Value::Array(lines) = take(&mut old, "lines")? else {
            return Err("lines is not an array".into());
        };
        let items = lines
            .into_iter()
            .map(|line| {
                let mut line = fields(line)?;
                Ok(Value::Record(vec![
                    ("sku".into(), take(&mut line, "sku")?),
                    ("quantity".into(), take(&mut line, "qty")?),
                    (
                        "unitPrice".into(),
                        cents_to_major(take(&mut line, "priceCents")?)?,
                    ),
                ]))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Value::Record(vec![
            ("orderId".into(), take(&mut old, "orderId")?),
            ("customerId".into(), take(&mut old, "customer")?),
            ("items".into(), Value::Array(items)),
            (
                "totalAmount".into(),
                cents_to_major(take(&mut old, "totalCents")?)?,
            ),
            ("timestamp".into(), take(&mut old, "placedAt")?),
        ]))
    }
}
