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

/// How the order process begins the reason of a cancellation it decides.
pub const PAYMENT_DECLINED: &str = "payment declined";
pub const STOCK_UNAVAILABLE: &str = "stock unavailable";

/// A cancellation's reason as the customer is told it: the recorded reason is for the
/// shop (a provider's words, limits, SKUs) and stays in the order's history.
pub fn reason_for_the_customer(reason: &str) -> &'static str {
    if reason.starts_with(PAYMENT_DECLINED) {
        "Your payment was declined, so no money was taken. You are welcome to place the \
         order again with another card."
    } else if reason.starts_with(STOCK_UNAVAILABLE) {
        "Some of the items are no longer in stock. Anything you paid is refunded in full."
    } else {
        "It was cancelled at your request or by our staff. Anything you paid is refunded \
         in full."
    }
}

/// The next command for the order, if any.
pub fn next_command(facts: &OrderFacts) -> Option<OrderCommand> {
    match facts.order.status()? {
        OrderStatus::Pending => {
            if let Payment::Declined { reason } = &facts.payment {
                return Some(OrderCommand::Cancel {
                    reason: format!("{PAYMENT_DECLINED}: {reason}"),
                });
            }
            if let Reservation::Unavailable { reason } = &facts.reservation {
                return Some(OrderCommand::Cancel {
                    reason: format!("{STOCK_UNAVAILABLE}: {reason}"),
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

    #[test]
    fn the_customer_is_told_why_in_their_terms_not_the_shops() {
        let told = |reason: &str| super::reason_for_the_customer(reason);
        let declined = told("payment declined: amount 10000.02 exceeds the limit 10000.00");
        assert!(declined.contains("payment was declined"), "{declined}");
        assert!(!declined.contains("limit"), "{declined}");
        let stock = told("stock unavailable: unknown SKU X");
        assert!(stock.contains("no longer in stock"), "{stock}");
        assert!(!stock.contains("SKU"), "{stock}");
        assert!(told("changed my mind").contains("refunded"));
    }
}
