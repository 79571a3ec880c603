//! The order process: what the order must do next, given what payment, inventory
//! and shipping have recorded about it. A pure policy; the order service runs it
//! whenever one of those facts arrives.

use crate::inventory::Reservation;
use crate::order::{Order, OrderCommand, OrderStatus};
use crate::payment::Payment;
use crate::shipment::Shipment;

/// Everything the order process looks at for one order.
#[derive(Debug, Clone, Default)]
pub struct OrderFacts {
    pub order: Order,
    pub payment: Payment,
    pub reservation: Reservation,
    pub shipment: Shipment,
}

/// The next command for the order, if any.
pub fn next_command(facts: &OrderFacts) -> Option<OrderCommand> {
    match facts.order.status()? {
        OrderStatus::Pending => {
            if let Payment::Declined { reason } = &facts.payment {
                return Some(OrderCommand::Cancel {
                    reason: format!("payment declined: {reason}"),
                });
            }
            if let Reservation::Unavailable { reason } = &facts.reservation {
                return Some(OrderCommand::Cancel {
                    reason: format!("stock unavailable: {reason}"),
                });
            }
            let paid = matches!(facts.payment, Payment::Received { .. });
            let reserved = matches!(facts.reservation, Reservation::Reserved { .. });
            (paid && reserved).then_some(OrderCommand::Confirm)
        }
        OrderStatus::Confirmed => facts
            .shipment
            .tracking_number
            .clone()
            .map(|tracking_number| OrderCommand::MarkShipped { tracking_number }),
        OrderStatus::Shipped | OrderStatus::Cancelled => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Aggregate;
    use crate::events::{Event, OrderConfirmed};
    use crate::testing::{sample_created, sample_order_id};

    fn facts(order_events: &[Event], payment: Payment, reservation: Reservation) -> OrderFacts {
        let mut order = Order::default();
        order_events.iter().for_each(|e| order.apply(e));
        OrderFacts {
            order,
            payment,
            reservation,
            shipment: Shipment::default(),
        }
    }

    fn paid() -> Payment {
        Payment::Received {
            amount: crate::Money::from_minor(100).unwrap(),
            transaction_id: "tx".into(),
        }
    }

    fn reserved() -> Reservation {
        Reservation::Reserved { items: vec![] }
    }

    #[test]
    fn a_paid_and_reserved_order_is_confirmed() {
        let f = facts(&[sample_created()], paid(), reserved());
        assert_eq!(next_command(&f), Some(OrderCommand::Confirm));
    }

    #[test]
    fn an_order_waits_while_either_answer_is_missing() {
        assert_eq!(
            next_command(&facts(&[sample_created()], paid(), Reservation::default())),
            None
        );
        assert_eq!(
            next_command(&facts(&[sample_created()], Payment::default(), reserved())),
            None
        );
    }

    #[test]
    fn a_declined_payment_cancels_the_order_with_the_reason() {
        let declined = Payment::Declined {
            reason: "over limit".into(),
        };
        let f = facts(&[sample_created()], declined, reserved());
        assert_eq!(
            next_command(&f),
            Some(OrderCommand::Cancel {
                reason: "payment declined: over limit".into()
            })
        );
    }

    #[test]
    fn missing_stock_cancels_the_order_with_the_reason() {
        let unavailable = Reservation::Unavailable {
            reason: "unknown SKU X".into(),
        };
        let f = facts(&[sample_created()], paid(), unavailable);
        assert_eq!(
            next_command(&f),
            Some(OrderCommand::Cancel {
                reason: "stock unavailable: unknown SKU X".into()
            })
        );
    }

    #[test]
    fn a_dispatched_confirmed_order_is_marked_shipped() {
        let confirmed: Event = OrderConfirmed {
            order_id: sample_order_id(),
        }
        .into();
        let mut f = facts(&[sample_created(), confirmed], paid(), reserved());
        assert_eq!(next_command(&f), None);
        f.shipment.tracking_number = Some("TRK".into());
        assert_eq!(
            next_command(&f),
            Some(OrderCommand::MarkShipped {
                tracking_number: "TRK".into()
            })
        );
    }

    #[test]
    fn nothing_happens_before_the_order_exists() {
        assert_eq!(next_command(&OrderFacts::default()), None);
    }
}
