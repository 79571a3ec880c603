//! The shipment of one order: dispatched once.

use crate::events::{Event, ShipmentDispatched};
use crate::values::OrderId;
use crate::{Aggregate, DomainError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shipment {
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    pub order_id: OrderId,
    pub tracking_number: String,
}

impl Aggregate for Shipment {
    type Command = Dispatch;

    fn decide(&self, command: Dispatch) -> Result<Vec<Event>, DomainError> {
        if self.tracking_number.is_some() {
            return Ok(vec![]);
        }
        Ok(vec![
            ShipmentDispatched {
                order_id: command.order_id,
                tracking_number: command.tracking_number,
            }
            .into(),
        ])
    }

    fn apply(&mut self, event: &Event) {
        if let Event::ShipmentDispatched(e) = event {
            self.tracking_number = Some(e.tracking_number.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{given, sample_order_id};

    fn dispatch() -> Dispatch {
        Dispatch {
            order_id: sample_order_id(),
            tracking_number: "TRK-1".into(),
        }
    }

    #[test]
    fn a_confirmed_order_is_dispatched_once() {
        let dispatched: Event = ShipmentDispatched {
            order_id: sample_order_id(),
            tracking_number: "TRK-1".into(),
        }
        .into();
        given::<Shipment>(&[])
            .when(dispatch())
            .then_expect(vec![dispatched.clone()]);
        given::<Shipment>(&[dispatched])
            .when(dispatch())
            .then_expect(vec![]);
    }
}
