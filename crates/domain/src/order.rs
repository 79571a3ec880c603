//! The order aggregate: created, then confirmed or cancelled, then shipped.

use crate::events::{Event, OrderCancelled, OrderConfirmed, OrderCreated, OrderShipped};
use crate::values::{Currency, CustomerId, OrderId, OrderLines, Personal, Timestamp};
use crate::{Aggregate, DomainError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Shipped,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }
}

/// An order as its events left it; `None` before `OrderCreated`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Order {
    pub state: Option<OrderState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub lines: OrderLines,
    pub currency: Currency,
    pub shipping_address: Option<Personal>,
    pub status: OrderStatus,
    pub created_at: Timestamp,
    pub cancel_reason: Option<String>,
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    Place {
        order_id: OrderId,
        customer_id: CustomerId,
        lines: OrderLines,
        currency: Currency,
        shipping_address: Option<String>,
        now: Timestamp,
    },
    Confirm,
    Cancel {
        reason: String,
    },
    MarkShipped {
        tracking_number: String,
    },
}

impl Order {
    pub fn status(&self) -> Option<OrderStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    fn existing(&self) -> Result<&OrderState, DomainError> {
        self.state.as_ref().ok_or(DomainError::OrderNotFound)
    }
}

impl Aggregate for Order {
    type Command = OrderCommand;

    fn decide(&self, command: OrderCommand) -> Result<Vec<Event>, DomainError> {
        match command {
            OrderCommand::Place {
                order_id,
                customer_id,
                lines,
                currency,
                shipping_address,
                now,
            } => match &self.state {
                Some(_) => Err(DomainError::OrderAlreadyExists),
                None => Ok(vec![
                    OrderCreated {
                        shipping_address: shipping_address
                            .map(|address| Personal::clear(&customer_id, address)),
                        order_id,
                        customer_id,
                        lines,
                        timestamp: now,
                        currency,
                    }
                    .into(),
                ]),
            },
            OrderCommand::Confirm => {
                let order = self.existing()?;
                match order.status {
                    OrderStatus::Pending => Ok(vec![
                        OrderConfirmed {
                            order_id: order.order_id.clone(),
                        }
                        .into(),
                    ]),
                    OrderStatus::Confirmed | OrderStatus::Shipped => Ok(vec![]),
                    OrderStatus::Cancelled => Err(DomainError::OrderCancelled),
                }
            }
            OrderCommand::Cancel { reason } => {
                let order = self.existing()?;
                match order.status {
                    OrderStatus::Pending | OrderStatus::Confirmed => Ok(vec![
                        OrderCancelled {
                            order_id: order.order_id.clone(),
                            reason,
                        }
                        .into(),
                    ]),
                    OrderStatus::Cancelled => Ok(vec![]),
                    OrderStatus::Shipped => Err(DomainError::OrderAlreadyShipped),
                }
            }
            OrderCommand::MarkShipped { tracking_number } => {
                let order = self.existing()?;
                match order.status {
                    OrderStatus::Confirmed => Ok(vec![
                        OrderShipped {
                            order_id: order.order_id.clone(),
                            tracking_number,
                        }
                        .into(),
                    ]),
                    OrderStatus::Shipped => Ok(vec![]),
                    OrderStatus::Pending => Err(DomainError::OrderNotConfirmed),
                    OrderStatus::Cancelled => Err(DomainError::OrderCancelled),
                }
            }
        }
    }

    fn apply(&mut self, event: &Event) {
        match (event, &mut self.state) {
            (Event::OrderCreated(e), None) => {
                self.state = Some(OrderState {
                    order_id: e.order_id.clone(),
                    customer_id: e.customer_id.clone(),
                    lines: e.lines.clone(),
                    currency: e.currency.clone(),
                    shipping_address: e.shipping_address.clone(),
                    status: OrderStatus::Pending,
                    created_at: e.timestamp,
                    cancel_reason: None,
                    tracking_number: None,
                })
            }
            (Event::OrderConfirmed(_), Some(s)) => s.status = OrderStatus::Confirmed,
            (Event::OrderCancelled(e), Some(s)) => {
                s.status = OrderStatus::Cancelled;
                s.cancel_reason = Some(e.reason.clone());
            }
            (Event::OrderShipped(e), Some(s)) => {
                s.status = OrderStatus::Shipped;
                s.tracking_number = Some(e.tracking_number.clone());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{given, sample_created, sample_order_id};

    fn confirmed() -> Event {
        OrderConfirmed {
            order_id: sample_order_id(),
        }
        .into()
    }

    fn cancelled() -> Event {
        OrderCancelled {
            order_id: sample_order_id(),
            reason: "payment declined".into(),
        }
        .into()
    }

    fn shipped() -> Event {
        OrderShipped {
            order_id: sample_order_id(),
            tracking_number: "T-1".into(),
        }
        .into()
    }

    #[test]
    fn placing_an_order_records_order_created() {
        let Event::OrderCreated(created) = sample_created() else {
            unreachable!()
        };
        given::<Order>(&[])
            .when(OrderCommand::Place {
                order_id: created.order_id.clone(),
                customer_id: created.customer_id.clone(),
                lines: created.lines.clone(),
                currency: created.currency.clone(),
                shipping_address: created
                    .shipping_address
                    .as_ref()
                    .and_then(|a| a.text().map(str::to_owned)),
                now: created.timestamp,
            })
            .then_expect(vec![created.into()]);
    }

    #[test]
    fn an_order_cannot_be_placed_twice() {
        let Event::OrderCreated(created) = sample_created() else {
            unreachable!()
        };
        given::<Order>(&[sample_created()])
            .when(OrderCommand::Place {
                order_id: created.order_id,
                customer_id: created.customer_id,
                lines: created.lines,
                currency: created.currency,
                shipping_address: created
                    .shipping_address
                    .and_then(|a| a.text().map(str::to_owned)),
                now: created.timestamp,
            })
            .then_expect_error(DomainError::OrderAlreadyExists);
    }

    #[test]
    fn a_pending_order_is_confirmed() {
        given::<Order>(&[sample_created()])
            .when(OrderCommand::Confirm)
            .then_expect(vec![confirmed()]);
    }

    #[test]
    fn confirming_twice_records_nothing_more() {
        given::<Order>(&[sample_created(), confirmed()])
            .when(OrderCommand::Confirm)
            .then_expect(vec![]);
    }

    #[test]
    fn a_cancelled_order_cannot_be_confirmed() {
        given::<Order>(&[sample_created(), cancelled()])
            .when(OrderCommand::Confirm)
            .then_expect_error(DomainError::OrderCancelled);
    }

    #[test]
    fn an_unknown_order_cannot_be_confirmed() {
        given::<Order>(&[])
            .when(OrderCommand::Confirm)
            .then_expect_error(DomainError::OrderNotFound);
    }

    #[test]
    fn a_pending_order_can_be_cancelled_with_a_reason() {
        given::<Order>(&[sample_created()])
            .when(OrderCommand::Cancel {
                reason: "payment declined".into(),
            })
            .then_expect(vec![cancelled()]);
    }

    #[test]
    fn a_confirmed_order_can_still_be_cancelled() {
        given::<Order>(&[sample_created(), confirmed()])
            .when(OrderCommand::Cancel {
                reason: "payment declined".into(),
            })
            .then_expect(vec![cancelled()]);
    }

    #[test]
    fn cancelling_twice_records_nothing_more() {
        given::<Order>(&[sample_created(), cancelled()])
            .when(OrderCommand::Cancel {
                reason: "again".into(),
            })
            .then_expect(vec![]);
    }

    #[test]
    fn a_shipped_order_cannot_be_cancelled() {
        given::<Order>(&[sample_created(), confirmed(), shipped()])
            .when(OrderCommand::Cancel {
                reason: "changed my mind".into(),
            })
            .then_expect_error(DomainError::OrderAlreadyShipped);
    }

    #[test]
    fn order_cannot_ship_before_payment_and_stock_confirm_it() {
        given::<Order>(&[sample_created()])
            .when(OrderCommand::MarkShipped {
                tracking_number: "T-1".into(),
            })
            .then_expect_error(DomainError::OrderNotConfirmed);
    }

    #[test]
    fn a_cancelled_order_cannot_ship() {
        given::<Order>(&[sample_created(), cancelled()])
            .when(OrderCommand::MarkShipped {
                tracking_number: "T-1".into(),
            })
            .then_expect_error(DomainError::OrderCancelled);
    }

    #[test]
    fn a_confirmed_order_ships_once() {
        given::<Order>(&[sample_created(), confirmed()])
            .when(OrderCommand::MarkShipped {
                tracking_number: "T-1".into(),
            })
            .then_expect(vec![shipped()]);
        given::<Order>(&[sample_created(), confirmed(), shipped()])
            .when(OrderCommand::MarkShipped {
                tracking_number: "T-1".into(),
            })
            .then_expect(vec![]);
    }

    /// The spellings the API shows (docs/api.md, `GET /orders/{id}`) and the read models store.
    #[test]
    fn statuses_are_spelled_as_the_api_shows_them() {
        for (status, spelling) in [
            (OrderStatus::Pending, "PENDING"),
            (OrderStatus::Confirmed, "CONFIRMED"),
            (OrderStatus::Shipped, "SHIPPED"),
            (OrderStatus::Cancelled, "CANCELLED"),
        ] {
            assert_eq!(status.as_str(), spelling);
        }
    }

    #[test]
    fn applying_events_derives_status_and_reason() {
        let mut order = Order::default();
        for e in [sample_created(), cancelled()] {
            order.apply(&e);
        }
        let state = order.state.unwrap();
        assert_eq!(state.status, OrderStatus::Cancelled);
        assert_eq!(state.cancel_reason.as_deref(), Some("payment declined"));
    }
}
