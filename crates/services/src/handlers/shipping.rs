//! Shipping: dispatches confirmed orders.

use async_trait::async_trait;
use orderflow_domain::reactions::dispatch_intent;
use orderflow_domain::shipment::{Dispatch, Shipment};
use orderflow_domain::{Aggregate, Event, OrderId, streams};

use super::{cause_of, stable_id};
use crate::consumer::{Delivery, Group, Handler, Parked};
use crate::context::{Loaded, Recorder, ServiceError};
use orderflow_domain::Topic;

/// The consumer group, and the topics it reads.
pub const GROUP: Group = Group {
    name: "shipping",
    topics: &[Topic::Orders],
};

/// The tracking number of an order's shipment: the same on every attempt.
pub fn tracking_number(order_id: &OrderId) -> String {
    let stream = streams::shipment(order_id);
    format!(
        "TRK-{}",
        &stable_id(&stream).simple().to_string()[..12].to_uppercase()
    )
}

#[derive(Debug)]
pub struct ShippingService {
    pub recorder: Recorder,
}

#[async_trait]
impl Handler for ShippingService {
    fn group(&self) -> Group {
        GROUP
    }

    async fn parked(&self, parked: &Parked<'_>) -> Result<(), ServiceError> {
        super::step_failed::record(&self.recorder, GROUP, parked).await
    }

    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        let Some(order_id) = dispatch_intent(event) else {
            return Ok(());
        };
        let stream = streams::shipment(order_id);
        let tracking_number = tracking_number(order_id);
        let command = Dispatch {
            order_id: order_id.clone(),
            tracking_number,
        };
        let command = &command;
        let order_id = order_id.as_str();
        let cause = cause_of(delivery, "shipping");
        self.recorder
            .execute(
                order_id,
                &stream,
                cause,
                |shipment: Loaded<Shipment>, _| async move {
                    Ok(shipment.aggregate.decide(command.clone())?)
                },
            )
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests;
