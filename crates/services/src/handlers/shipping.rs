//! Shipping: dispatches confirmed orders.

use async_trait::async_trait;
use orderflow_domain::shipment::{Dispatch, Shipment};
use orderflow_domain::{Aggregate, Event, streams};

use super::{cause_of, stable_id};
use crate::consumer::{Delivery, Group, Handler};
use crate::context::{Recorder, ServiceError, retry_on_conflict};
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

    async fn handle(&self, event: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        let Event::OrderConfirmed(confirmed) = event else {
            return Ok(());
        };
        let stream = streams::shipment(&confirmed.order_id);
        let tracking_number = format!(
            "TRK-{}",
            &stable_id(&stream).simple().to_string()[..12].to_uppercase()
        );
        retry_on_conflict(|| async {
            let shipment = self.recorder.load::<Shipment>(&stream).await?;
            let events = shipment.state.decide(Dispatch {
                order_id: confirmed.order_id.clone(),
                tracking_number: tracking_number.clone(),
            })?;
            self.recorder
                .record(
                    &events,
                    &[(&stream, shipment.version)],
                    cause_of(delivery, "shipping"),
                )
                .await
                .map(drop)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
