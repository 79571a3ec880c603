//! Shipping: dispatches confirmed orders.

use async_trait::async_trait;
use orderflow_domain::shipment::{Dispatch, Shipment};
use orderflow_domain::{Aggregate, Event, streams};

use super::{cause_of, stable_id};
use crate::consumer::{Delivery, Group, Handler, Parked};
use crate::context::{Loaded, Recorder, ServiceError};
use orderflow_domain::Topic;

/// The consumer group, and the topics it reads.
pub const GROUP: Group = Group {
    name: "shipping",
    topics: &[Topic::Orders],
};

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
        let Event::OrderConfirmed(confirmed) = event else {
            return Ok(());
        };
        let stream = streams::shipment(&confirmed.order_id);
        let tracking_number = format!(
            "TRK-{}",
            &stable_id(&stream).simple().to_string()[..12].to_uppercase()
        );
        let order_id = confirmed.order_id.as_str();
        let cause = cause_of(delivery, "shipping");
        let tracking_number = &tracking_number;
        self.recorder
            .execute(
                order_id,
                &stream,
                cause,
                |shipment: Loaded<Shipment>, _| async move {
                    Ok(shipment.aggregate.decide(Dispatch {
                        order_id: confirmed.order_id.clone(),
                        tracking_number: tracking_number.clone(),
                    })?)
                },
            )
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests;
