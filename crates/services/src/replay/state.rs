//! The aggregate of any stream, folded with the current code, and its fields as a
//! person reads them (for `replay-order`'s steps and `verify`'s folds).

use chrono::DateTime;
use orderflow_domain::failed_steps::FailedSteps;
use orderflow_domain::inventory::{Reservation, SkuStock};
use orderflow_domain::notification::Notifications;
use orderflow_domain::order::Order;
use orderflow_domain::payment::Payment;
use orderflow_domain::shipment::Shipment;
use orderflow_domain::{Aggregate, Event, StockLine, Timestamp, streams};

/// The state of one stream's aggregate, whichever aggregate its category holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Order(Order),
    Payment(Payment),
    Reservation(Reservation),
    Sku(SkuStock),
    Shipment(Shipment),
    Notifications(Notifications),
    Steps(FailedSteps),
}

/// One field of an aggregate's state, after an event: its value and whether the event
/// changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub value: String,
    pub changed: bool,
}

impl State {
    /// The empty state of the aggregate a stream of this id holds, if its category is
    /// one of the pipeline's.
    pub fn of_stream(stream_id: &str) -> Option<State> {
        Some(match streams::category(stream_id) {
            streams::ORDER => State::Order(Order::default()),
            streams::PAYMENT => State::Payment(Payment::default()),
            streams::RESERVATION => State::Reservation(Reservation::default()),
            streams::SKU => State::Sku(SkuStock::default()),
            streams::SHIPMENT => State::Shipment(Shipment::default()),
            streams::NOTIFICATION => State::Notifications(Notifications::default()),
            streams::STEPS => State::Steps(FailedSteps::default()),
            _ => return None,
        })
    }

    pub fn apply(&mut self, event: &Event) {
        match self {
            State::Order(a) => a.apply(event),
            State::Payment(a) => a.apply(event),
            State::Reservation(a) => a.apply(event),
            State::Sku(a) => a.apply(event),
            State::Shipment(a) => a.apply(event),
            State::Notifications(a) => a.apply(event),
            State::Steps(a) => a.apply(event),
        }
    }

    /// The state's fields, named and shown, in a fixed order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let none = || "-".to_owned();
        match self {
            State::Order(Order { state: None }) => vec![("status", none())],
            State::Order(Order { state: Some(o) }) => vec![
                ("status", o.status.as_str().to_owned()),
                ("customer", o.customer_id.to_string()),
                ("lines", order_lines(o.lines.lines())),
                (
                    "total",
                    format!("{} {}", o.lines.total(), o.currency.as_str()),
                ),
                (
                    "shipping_address",
                    o.shipping_address
                        .as_ref()
                        .map_or_else(none, ToString::to_string),
                ),
                ("created_at", timestamp(o.created_at)),
                (
                    "cancel_reason",
                    o.cancel_reason.clone().unwrap_or_else(none),
                ),
                (
                    "tracking_number",
                    o.tracking_number.clone().unwrap_or_else(none),
                ),
            ],
            State::Payment(p) => {
                let (status, amount, transaction, reason) = match p {
                    Payment::NotCharged => ("NOT_CHARGED", None, None, None),
                    Payment::Received {
                        amount,
                        transaction_id,
                    } => ("RECEIVED", Some(*amount), Some(transaction_id), None),
                    Payment::Declined { reason } => ("DECLINED", None, None, Some(reason)),
                    Payment::Refunded { amount } => ("REFUNDED", Some(*amount), None, None),
                    Payment::Skipped { reason } => ("SKIPPED", None, None, Some(reason)),
                };
                vec![
                    ("status", status.to_owned()),
                    ("amount", amount.map_or_else(none, |a| a.to_string())),
                    ("transaction_id", transaction.cloned().unwrap_or_else(none)),
                    ("reason", reason.cloned().unwrap_or_else(none)),
                ]
            }
            State::Reservation(r) => {
                let (status, items, reason) = match r {
                    Reservation::NotRequested => ("NOT_REQUESTED", None, None),
                    Reservation::Reserved { items } => ("RESERVED", Some(items), None),
                    Reservation::Unavailable { reason } => ("UNAVAILABLE", None, Some(reason)),
                    Reservation::Released => ("RELEASED", None, None),
                    Reservation::Fulfilled => ("FULFILLED", None, None),
                };
                vec![
                    ("status", status.to_owned()),
                    ("items", items.map_or_else(none, |i| stock_lines(i))),
                    ("reason", reason.cloned().unwrap_or_else(none)),
                ]
            }
            State::Sku(s) => vec![
                ("known", s.known.to_string()),
                ("available", s.available.to_string()),
                ("reserved", s.reserved.to_string()),
            ],
            State::Shipment(s) => vec![(
                "tracking_number",
                s.tracking_number.clone().unwrap_or_else(none),
            )],
            State::Notifications(n) => vec![
                ("sent", kinds(n.sent.iter().map(|k| k.as_str()))),
                ("failed", kinds(n.failed.iter().map(|k| k.as_str()))),
            ],
            State::Steps(s) => vec![(
                "failed_steps",
                kinds(
                    s.recorded
                        .iter()
                        .map(|(step, topic, partition, offset)| {
                            format!("{step} ({topic}/{partition}@{offset})")
                        })
                        .collect::<Vec<_>>()
                        .iter()
                        .map(String::as_str),
                ),
            )],
        }
    }
}

/// The fields of `after`, each marked changed if `before` did not have it with that
/// value.
pub fn diff(before: &[(&'static str, String)], after: &[(&'static str, String)]) -> Vec<Field> {
    after
        .iter()
        .map(|(name, value)| Field {
            name,
            value: value.clone(),
            changed: !before.iter().any(|(n, v)| n == name && v == value),
        })
        .collect()
}

fn order_lines(lines: &[orderflow_domain::OrderLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{} x{} @ {}", l.sku, l.quantity.get(), l.unit_price))
        .collect::<Vec<_>>()
        .join(", ")
}

fn stock_lines(lines: &[StockLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{} x{}", l.sku, l.quantity.get()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kinds<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = names.collect();
    if all.is_empty() {
        "-".to_owned()
    } else {
        all.join(", ")
    }
}

fn timestamp(t: Timestamp) -> String {
    DateTime::from_timestamp_millis(t.0).map_or_else(|| t.0.to_string(), |d| d.to_rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderflow_domain::events::OrderConfirmed;
    use orderflow_domain::testing::{sample_created, sample_order_id};

    #[test]
    fn only_the_fields_an_event_changed_are_marked() {
        let mut order = State::of_stream("order-1").expect("an order stream");
        order.apply(&sample_created());
        let before = order.fields();
        order.apply(
            &OrderConfirmed {
                order_id: sample_order_id(),
            }
            .into(),
        );
        let fields = diff(&before, &order.fields());
        let changed: Vec<&str> = fields
            .iter()
            .filter(|f| f.changed)
            .map(|f| f.name)
            .collect();
        assert_eq!(changed, ["status"]);
        assert_eq!(fields[0].value, "CONFIRMED");
    }

    #[test]
    fn every_field_of_a_new_aggregate_is_new() {
        let empty = State::of_stream("order-1").expect("an order stream");
        let mut order = empty.clone();
        order.apply(&sample_created());
        let fields = diff(&empty.fields(), &order.fields());
        assert!(fields.iter().all(|f| f.changed), "{fields:?}");
    }

    #[test]
    fn a_stream_of_no_known_category_holds_no_aggregate() {
        assert_eq!(State::of_stream("basket-1"), None);
        assert!(matches!(State::of_stream("sku-SKU-1"), Some(State::Sku(_))));
    }
}
