//! A given/when/then harness for aggregates, in the shape of cqrs-es's `TestFramework`.

use crate::Personal;
use crate::events::{Event, OrderCreated};
use crate::values::{
    Currency, CustomerId, Money, OrderId, OrderLine, OrderLines, Quantity, Sku, Timestamp,
};
use crate::{Aggregate, DomainError};

#[derive(Debug)]
pub struct Given<A: Aggregate>(A);

#[derive(Debug)]
pub struct When(Result<Vec<Event>, DomainError>);

/// Starts a scenario from the events already recorded.
pub fn given<A: Aggregate>(events: &[Event]) -> Given<A> {
    Given(A::from_events(events))
}

impl<A: Aggregate> Given<A> {
    pub fn state(&self) -> &A {
        &self.0
    }

    pub fn when(self, command: A::Command) -> When {
        When(self.0.decide(command))
    }
}

impl When {
    #[track_caller]
    pub fn then_expect(self, expected: Vec<Event>) {
        assert_eq!(self.0, Ok(expected));
    }

    #[track_caller]
    pub fn then_expect_len(self, n: usize) {
        assert_eq!(self.0.map(|events| events.len()), Ok(n));
    }

    #[track_caller]
    pub fn then_expect_error(self, expected: DomainError) {
        assert_eq!(self.0, Err(expected));
    }
}

pub fn sample_order_id() -> OrderId {
    OrderId::parse("order-1").expect("valid id")
}

/// An `OrderCreated` for `order-1`: 2 × SKU-1 at 19.99.
pub fn sample_created() -> Event {
    OrderCreated {
        order_id: sample_order_id(),
        customer_id: CustomerId::parse("c-1").expect("valid id"),
        lines: OrderLines::new(vec![OrderLine {
            sku: Sku::parse("SKU-1").expect("valid sku"),
            quantity: Quantity::new(2).expect("valid quantity"),
            unit_price: Money::from_major(19.99).expect("valid price"),
        }])
        .expect("valid lines"),
        timestamp: Timestamp(1_700_000_000_000),
        currency: Currency::default_currency(),
        shipping_address: Some(Personal::clear(
            &CustomerId::parse("c-1").expect("valid id"),
            "1 Main St, Springfield",
        )),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::{Payment, PaymentCommand};
    use crate::shipment::{Dispatch, Shipment};

    fn dispatch() -> Dispatch {
        Dispatch {
            order_id: sample_order_id(),
            tracking_number: "TRK-1".into(),
        }
    }

    /// A command that records one event.
    fn one_event() -> When {
        given::<Shipment>(&[]).when(dispatch())
    }

    /// A command that is refused.
    fn refused() -> When {
        given::<Payment>(&[]).when(PaymentCommand::RecordRefund {
            order_id: sample_order_id(),
            transaction_id: "rf-1".into(),
        })
    }

    #[test]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn then_expect_fails_when_other_events_were_recorded() {
        one_event().then_expect(vec![]);
    }

    #[test]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn then_expect_fails_when_the_command_was_refused() {
        refused().then_expect(vec![]);
    }

    #[test]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn then_expect_len_fails_on_another_number_of_events() {
        one_event().then_expect_len(2);
    }

    #[test]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn then_expect_len_fails_when_the_command_was_refused() {
        refused().then_expect_len(0);
    }

    #[test]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn then_expect_error_fails_on_another_error() {
        refused().then_expect_error(DomainError::OrderNotFound);
    }

    #[test]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn then_expect_error_fails_when_the_command_was_carried_out() {
        one_event().then_expect_error(DomainError::NothingToRefund);
    }
}
