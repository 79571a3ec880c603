//! The order process: confirms an order once it is paid and reserved, cancels it when
//! either fails, and marks it shipped once dispatched. Compensation (refund, release)
//! follows from `OrderCancelled` in payment and inventory.

use async_trait::async_trait;
use orderflow_domain::inventory::Reservation;
use orderflow_domain::order::Order;
use orderflow_domain::payment::Payment;
use orderflow_domain::process::{OrderFacts, next_command};
use orderflow_domain::reactions::process_trigger;
use orderflow_domain::shipment::Shipment;
use orderflow_domain::{Aggregate, Event, OrderId, streams};

use super::cause_of;
use crate::consumer::{Delivery, Group, Handler, Parked};
use crate::context::{Loaded, Recorder, ServiceError};
use orderflow_domain::Topic;

/// The consumer group, and the topics it reads.
pub const GROUP: Group = Group {
    name: "orders",
    topics: &[Topic::Payments, Topic::Inventory, Topic::Shipments],
};

#[derive(Debug)]
pub struct OrderProcess {
    pub recorder: Recorder,
}

impl OrderProcess {
    async fn advance(&self, order_id: &OrderId, delivery: &Delivery) -> Result<(), ServiceError> {
        let stream = streams::order(order_id);
        let cause = cause_of(delivery, "orders");
        self.recorder
            .execute(
                order_id.as_str(),
                &stream,
                cause,
                |order: Loaded<Order>, all| async move {
                    // One read gives every stream of the order.
                    let facts = OrderFacts {
                        order: order.aggregate.clone(),
                        payment: all.load::<Payment>(&streams::payment(order_id)).aggregate,
                        reservation: all
                            .load::<Reservation>(&streams::reservation(order_id))
                            .aggregate,
                        shipment: all.load::<Shipment>(&streams::shipment(order_id)).aggregate,
                    };
                    let Some(command) = next_command(&facts) else {
                        return Ok(vec![]);
                    };
                    Ok(order.aggregate.decide(command)?)
                },
            )
            .await
            .map(drop)
    }
}

#[async_trait]
impl Handler for OrderProcess {
    fn group(&self) -> Group {
        GROUP
    }

    async fn parked(&self, parked: &Parked<'_>) -> Result<(), ServiceError> {
        super::step_failed::record(&self.recorder, GROUP, parked).await
    }

    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        let Some(order_id) = process_trigger(event) else {
            return Ok(());
        };
        self.advance(order_id, delivery).await
    }
}

#[cfg(test)]
mod tests;
