//! The body of `POST /orders`, read member by member into a [`NewOrder`]: valid values
//! within the API's limits, or a `422` naming the member. Nothing here rounds: a price
//! is read from the JSON number's own text.
//!
//! Why the text: serde_json reads a decimal number into an `f64`, which has no exact
//! `19.99` and turns `1.0000001` into something a tolerance must guess about. Members
//! are kept as [`RawValue`]s (serde_json's `raw_value` feature, which axum's `Json`
//! already enables), and [`Money::parse_decimal`] turns the digits into cents exactly.
//! Not serde_json's `arbitrary_precision`: cargo features are unified, so it would change
//! how every crate of the build (axum, sqlx, apache-avro, the schema registry) holds
//! numbers, to fix one member. Not `rust_decimal`: a dependency for the pure domain, for
//! what is a scan of digits and an exponent.

use orderflow_domain::Personal;
use orderflow_domain::events::OrderCreated;
use orderflow_domain::{
    Currency, CustomerId, DomainError, Money, OrderLine, OrderLines, Quantity, Sku,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::http::extract::{Field, JsonObject};
use crate::http::{ApiError, Limits};

/// The members of the body, read one by one below.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Members<'a> {
    #[serde(borrow)]
    customer_id: &'a RawValue,
    #[serde(borrow)]
    items: &'a RawValue,
    /// ISO 4217; EUR when absent (or null).
    #[serde(borrow, default)]
    currency: Option<&'a RawValue>,
    #[serde(borrow, default)]
    shipping_address: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ItemMembers<'a> {
    #[serde(borrow)]
    sku: &'a RawValue,
    #[serde(borrow)]
    quantity: &'a RawValue,
    #[serde(borrow)]
    unit_price: &'a RawValue,
}

/// The body of `POST /orders`, as the OpenAPI document describes it (it is read by
/// [`NewOrder::read`], member by member).
#[derive(ToSchema)]
#[schema(description = "An order to place.")]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct OrderRequest {
    /// Who orders: 1 to `--max-id-length` (64) letters, digits, `-`, `_` and `.`,
    /// usable as an email's local part (no `.` first, last or twice in a row).
    customer_id: String,
    /// 1 to `--max-order-lines` (100) lines.
    items: Vec<OrderLineRequest>,
    /// ISO 4217 (three capital letters); `EUR` when absent or null.
    currency: Option<String>,
    /// At most `--max-address-length` (1,000) characters.
    shipping_address: Option<String>,
}

/// One line of [`OrderRequest`].
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct OrderLineRequest {
    /// The product: 1 to `--max-id-length` letters, digits, `-`, `_`, `.` and `:`.
    sku: String,
    /// At least 1.
    #[schema(minimum = 1, maximum = 1_000_000)]
    quantity: u32,
    /// In major units (`19.99`): 0 or more, whole cents (`1.0000001` is refused), at
    /// most 100,000,000,000.00; read from the number as written, never rounded.
    unit_price: f64,
}

/// A request to place an order, every value valid and within the limits. Only
/// [`NewOrder::read`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    customer_id: CustomerId,
    lines: OrderLines,
    currency: Currency,
    shipping_address: Option<String>,
}

impl NewOrder {
    pub fn read(body: &JsonObject, limits: &Limits) -> Result<Self, ApiError> {
        let members: Members = body.members()?;
        let customer_id = id(
            &Field::new("customerId", members.customer_id),
            limits,
            CustomerId::parse_mailable,
        )?;
        let items = Field::new("items", members.items).array()?;
        if items.len() > limits.max_order_lines {
            return Err(Field::new("items", members.items).invalid(format!(
                "{} lines, at most {} per order",
                items.len(),
                limits.max_order_lines
            )));
        }
        let lines = items
            .iter()
            .map(|item| line(item, limits))
            .collect::<Result<Vec<_>, _>>()?;
        let lines = OrderLines::new(lines)?;
        let currency = match members.currency {
            Some(raw) => {
                let field = Field::new("currency", raw);
                Currency::parse(field.string()?).map_err(|e| field.refused(e))?
            }
            None => Currency::default_currency(),
        };
        let shipping_address = members
            .shipping_address
            .map(|raw| address(&Field::new("shippingAddress", raw), limits))
            .transpose()?;
        Ok(Self {
            customer_id,
            lines,
            currency,
            shipping_address,
        })
    }

    pub fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }

    /// The parts of the `Place` command.
    pub fn into_parts(self) -> (CustomerId, OrderLines, Currency, Option<String>) {
        (
            self.customer_id,
            self.lines,
            self.currency,
            self.shipping_address,
        )
    }

    /// The first member in which this request differs from the order `placed` (made
    /// by an earlier request with the same `Idempotency-Key`), if any: the whole
    /// request is compared, so a retry is recognised only when it asks for the same.
    pub fn difference(&self, placed: &OrderCreated) -> Option<&'static str> {
        if self.customer_id != placed.customer_id {
            Some("customerId")
        } else if self.lines != placed.lines {
            Some("items")
        } else if self.currency != placed.currency {
            Some("currency")
        } else if self.shipping_address.as_deref()
            != placed.shipping_address.as_ref().and_then(Personal::text)
        {
            Some("shippingAddress")
        } else {
            None
        }
    }
}

fn line(item: &Field<'_>, limits: &Limits) -> Result<OrderLine, ApiError> {
    let members: ItemMembers = item.object()?;
    let sku = id(&item.child("sku", members.sku), limits, Sku::parse)?;
    let quantity = item.child("quantity", members.quantity);
    let quantity = Quantity::new(quantity.integer()?).map_err(|e| quantity.refused(e))?;
    let price = item.child("unitPrice", members.unit_price);
    let unit_price = Money::parse_decimal(price.number()?).map_err(|e| price.refused(e))?;
    Ok(OrderLine {
        sku,
        quantity,
        unit_price,
    })
}

/// An id a client chose (a customer id, a SKU): a string within the id length limit
/// that the domain accepts.
fn id<T>(
    field: &Field<'_>,
    limits: &Limits,
    parse: fn(String) -> Result<T, DomainError>,
) -> Result<T, ApiError> {
    let text = field.string()?;
    let length = text.chars().count();
    if length > limits.max_id_length {
        return Err(field.invalid(format!(
            "{length} characters, at most {}",
            limits.max_id_length
        )));
    }
    parse(text).map_err(|e| field.refused(e))
}

fn address(field: &Field<'_>, limits: &Limits) -> Result<String, ApiError> {
    let text = field.string()?;
    let length = text.chars().count();
    if length > limits.max_address_length {
        return Err(field.invalid(format!(
            "{length} characters, at most {}",
            limits.max_address_length
        )));
    }
    Ok(text)
}
