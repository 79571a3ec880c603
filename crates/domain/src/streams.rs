//! Which stream each event belongs to, and which bus topic the relay publishes it to.
//! Stream ids are `<category>-<id>`; a topic carries the events of one part of the
//! pipeline (the `reservation` and `sku` streams both go to `inventory`).

use std::fmt;

use crate::events::{Event, EventType};
use crate::values::{CustomerId, OrderId, Sku};

pub const ORDER: &str = "order";
pub const PAYMENT: &str = "payment";
pub const RESERVATION: &str = "reservation";
pub const SKU: &str = "sku";
pub const SHIPMENT: &str = "shipment";
pub const NOTIFICATION: &str = "notification";
pub const STEPS: &str = "steps";
pub const CUSTOMER: &str = "customer";

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

/// The steps about an order that were given up on.
pub fn steps(id: &OrderId) -> String {
    format!("{STEPS}-{id}")
}

/// What was done about a customer as a data subject.
pub fn customer(id: &CustomerId) -> String {
    format!("{CUSTOMER}-{id}")
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
        Event::StepFailed(e) => steps(&e.order_id),
        Event::CustomerForgotten(e) => customer(&e.customer_id),
    }
}

/// A topic of the bus. Every event type is published to exactly one ([`topic_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Orders,
    Payments,
    Inventory,
    Shipments,
    Notifications,
}

impl Topic {
    /// Every topic of the pipeline: what the bus provisions.
    pub const ALL: [Topic; 5] = [
        Topic::Orders,
        Topic::Payments,
        Topic::Inventory,
        Topic::Shipments,
        Topic::Notifications,
    ];

    /// The topic's name on the bus.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Orders => "orders",
            Topic::Payments => "payments",
            Topic::Inventory => "inventory",
            Topic::Shipments => "shipments",
            Topic::Notifications => "notifications",
        }
    }

    /// The topic of this name, if it is one of the pipeline's.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The topic an event is published to.
pub fn topic_of(event: &Event) -> Topic {
    topic_of_type(event.event_type())
}

/// The topic events of a type are published to. Exhaustive: a new event type does not
/// compile until it has a topic.
pub fn topic_of_type(event_type: EventType) -> Topic {
    use EventType as T;
    match event_type {
        T::OrderCreated | T::OrderConfirmed | T::OrderCancelled | T::OrderShipped => Topic::Orders,
        T::PaymentReceived | T::PaymentDeclined | T::PaymentRefunded | T::PaymentSkipped => {
            Topic::Payments
        }
        T::StockLevelSet
        | T::StockAllocated
        | T::StockDeallocated
        | T::StockReserved
        | T::StockUnavailable
        | T::StockReleased
        | T::StockShipped
        | T::StockFulfilled => Topic::Inventory,
        T::ShipmentDispatched => Topic::Shipments,
        T::NotificationSent | T::NotificationFailed => Topic::Notifications,
        // With the order's own facts: a step of its process did not happen.
        T::StepFailed => Topic::Orders,
        // Where every service that keeps a customer's personal data reads.
        T::CustomerForgotten => Topic::Orders,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Aggregate;
    use crate::events::tests::one_of_each;
    use crate::failed_steps::FailedSteps;
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
        assert_eq!(steps(&id), "steps-o-7");
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
            (folds::<FailedSteps>(event)?, steps(&id)),
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
            if matches!(event, Event::CustomerForgotten(_)) {
                // A record of what was done, folded by no aggregate: its effect is the
                // keys it destroyed.
                assert!(streams_folding(&event)?.is_empty());
                continue;
            }
            assert_eq!(
                streams_folding(&event)?,
                [stream_of(&event)],
                "{}",
                event.type_name()
            );
        }
        Ok(())
    }

    /// Topic names are what producers and consumers outside orderflow subscribe to, and
    /// part of every registry subject: they cannot change.
    #[test]
    fn each_topic_keeps_its_name_on_the_bus() {
        let names = Topic::ALL.map(Topic::name);
        assert_eq!(
            names,
            [
                "orders",
                "payments",
                "inventory",
                "shipments",
                "notifications"
            ]
        );
        for topic in Topic::ALL {
            assert_eq!(Topic::parse(topic.name()), Some(topic));
        }
        assert_eq!(Topic::parse("orders.dlq"), None);
    }

    #[test]
    fn every_event_type_goes_to_the_topic_of_its_part_of_the_pipeline() -> Result<(), DomainError> {
        let prefixes = [
            ("Order", Topic::Orders),
            ("Payment", Topic::Payments),
            ("Stock", Topic::Inventory),
            ("Shipment", Topic::Shipments),
            ("Notification", Topic::Notifications),
            ("Step", Topic::Orders),
            ("Customer", Topic::Orders),
        ];
        for event in one_of_each()? {
            let name = event.type_name();
            let expected = prefixes
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
                .map(|(_, topic)| *topic);
            assert_eq!(Some(topic_of(&event)), expected, "{name}");
        }
        Ok(())
    }

    /// One stream's events keep their order on the bus only if they share a topic.
    #[test]
    fn the_events_of_one_stream_category_share_a_topic() -> Result<(), DomainError> {
        let mut seen: std::collections::HashMap<String, Topic> = Default::default();
        for event in one_of_each()? {
            let stream = stream_of(&event);
            let topic = *seen
                .entry(category(&stream).to_owned())
                .or_insert(topic_of(&event));
            assert_eq!(topic_of(&event), topic, "{}", event.type_name());
        }
        Ok(())
    }

    #[test]
    fn every_event_type_is_named_and_parsed_back() {
        assert_eq!(EventType::ALL.len(), Event::TYPES.len());
        for (t, name) in EventType::ALL.iter().zip(Event::TYPES) {
            assert_eq!(t.name(), *name);
            assert_eq!(EventType::parse(name), Some(*t));
        }
        assert_eq!(EventType::parse("OrderPlaced"), None);
    }
}
