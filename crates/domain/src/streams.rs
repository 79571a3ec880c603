//! Which stream each event belongs to. Stream ids are `<category>-<id>`; the category
//! also names the bus topic the relay publishes the event to.

use crate::events::Event;
use crate::values::{OrderId, Sku};

pub const ORDER: &str = "order";
pub const PAYMENT: &str = "payment";
pub const RESERVATION: &str = "reservation";
pub const SKU: &str = "sku";
pub const SHIPMENT: &str = "shipment";
pub const NOTIFICATION: &str = "notification";

pub fn order(id: &OrderId) -> String {
    format!("{ORDER}-{id}")
}

pub fn payment(id: &OrderId) -> String {
    format!("{PAYMENT}-{id}")
}

pub fn reservation(id: &OrderId) -> String {
    format!("{RESERVATION}-{id}")
}

pub fn sku(sku: &Sku) -> String {
    format!("{SKU}-{sku}")
}

pub fn shipment(id: &OrderId) -> String {
    format!("{SHIPMENT}-{id}")
}

pub fn notification(id: &OrderId) -> String {
    format!("{NOTIFICATION}-{id}")
}

/// The category of a stream id (the part before the first `-`).
pub fn category(stream_id: &str) -> &str {
    stream_id.split_once('-').map_or(stream_id, |(c, _)| c)
}

/// The stream an event is appended to.
pub fn stream_of(event: &Event) -> String {
    match event {
        Event::OrderCreated(e) => order(&e.order_id),
        Event::OrderConfirmed(e) => order(&e.order_id),
        Event::OrderCancelled(e) => order(&e.order_id),
        Event::OrderShipped(e) => order(&e.order_id),
        Event::PaymentReceived(e) => payment(&e.order_id),
        Event::PaymentDeclined(e) => payment(&e.order_id),
        Event::PaymentRefunded(e) => payment(&e.order_id),
        Event::PaymentSkipped(e) => payment(&e.order_id),
        Event::StockLevelSet(e) => sku(&e.sku),
        Event::StockAllocated(e) => sku(&e.sku),
        Event::StockDeallocated(e) => sku(&e.sku),
        Event::StockReserved(e) => reservation(&e.order_id),
        Event::StockUnavailable(e) => reservation(&e.order_id),
        Event::StockReleased(e) => reservation(&e.order_id),
        Event::StockShipped(e) => sku(&e.sku),
        Event::StockFulfilled(e) => reservation(&e.order_id),
        Event::ShipmentDispatched(e) => shipment(&e.order_id),
        Event::NotificationSent(e) => notification(&e.order_id),
        Event::NotificationFailed(e) => notification(&e.order_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_category_is_the_part_before_the_first_dash() {
        let id = OrderId::parse("a-b-c").unwrap();
        assert_eq!(category(&order(&id)), ORDER);
        assert_eq!(category(&sku(&Sku::parse("SKU-1").unwrap())), SKU);
    }
}
