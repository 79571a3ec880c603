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
    use crate::Aggregate;
    use crate::events::tests::one_of_each;
    use crate::inventory::{Reservation, SkuStock};
    use crate::notification::Notifications;
    use crate::order::Order;
    use crate::payment::Payment;
    use crate::shipment::Shipment;
    use crate::testing::{sample_created, sample_order_id};
    use crate::{DomainError, Event};

    #[test]
    fn the_category_is_the_part_before_the_first_dash() {
        let id = OrderId::parse("a-b-c").unwrap();
        assert_eq!(category(&order(&id)), ORDER);
        assert_eq!(category(&sku(&Sku::parse("SKU-1").unwrap())), SKU);
    }

    /// Stream ids are stored with every event, so their spelling cannot change.
    #[test]
    fn each_stream_is_named_by_its_category_and_id() -> Result<(), DomainError> {
        let id = OrderId::parse("o-7")?;
        assert_eq!(order(&id), "order-o-7");
        assert_eq!(payment(&id), "payment-o-7");
        assert_eq!(reservation(&id), "reservation-o-7");
        assert_eq!(shipment(&id), "shipment-o-7");
        assert_eq!(notification(&id), "notification-o-7");
        assert_eq!(sku(&Sku::parse("SKU-7")?), "sku-SKU-7");
        Ok(())
    }

    /// Whether folding `event` into an `A` changes it, from any of the histories a test
    /// can start from (nothing, an order, a SKU with units reserved).
    fn folds<A: Aggregate + PartialEq>(event: &Event) -> Result<bool, DomainError> {
        let sku_1 = Sku::parse("SKU-1")?;
        let level = crate::events::StockLevelSet {
            sku: sku_1.clone(),
            available: 5,
        };
        let allocated = crate::events::StockAllocated {
            sku: sku_1,
            order_id: sample_order_id(),
            quantity: crate::Quantity::new(2)?,
        };
        let histories = [
            vec![],
            vec![sample_created()],
            vec![level.into(), allocated.into()],
        ];
        Ok(histories.iter().any(|history| {
            let before = A::from_events(history);
            let after = A::from_events(history.iter().chain([event]));
            before != after
        }))
    }

    /// The streams of the aggregates whose state `event` changes: the streams they are
    /// loaded from, for `order-1` and `SKU-1`.
    fn streams_folding(event: &Event) -> Result<Vec<String>, DomainError> {
        let id = sample_order_id();
        let candidates = [
            (folds::<Order>(event)?, order(&id)),
            (folds::<Payment>(event)?, payment(&id)),
            (folds::<Reservation>(event)?, reservation(&id)),
            (folds::<SkuStock>(event)?, sku(&Sku::parse("SKU-1")?)),
            (folds::<Shipment>(event)?, shipment(&id)),
            (folds::<Notifications>(event)?, notification(&id)),
        ];
        Ok(candidates
            .into_iter()
            .filter_map(|(folded, stream)| folded.then_some(stream))
            .collect())
    }

    #[test]
    fn every_event_goes_to_the_stream_of_the_one_aggregate_that_folds_it() -> Result<(), DomainError>
    {
        for event in one_of_each()? {
            assert_eq!(
                streams_folding(&event)?,
                [stream_of(&event)],
                "{}",
                event.type_name()
            );
        }
        Ok(())
    }
}
