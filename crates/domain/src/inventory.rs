//! Stock: per-SKU levels, and the reservation of one order's lines across SKUs.
//!
//! A reservation decides over several SKUs at once; the events it returns go to the
//! order's reservation stream and to each SKU's stream, appended atomically by the caller
//! with each stream's expected version, so two orders can never take the same unit.

use std::collections::BTreeMap;

use crate::events::{
    Event, StockAllocated, StockDeallocated, StockFulfilled, StockLevelSet, StockReleased,
    StockReserved, StockShipped, StockUnavailable,
};
use crate::values::{OrderId, Sku, StockLine};
use crate::{Aggregate, DomainError};

/// One SKU's stock; `known` is false until a level was ever set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkuStock {
    pub known: bool,
    pub available: u64,
    pub reserved: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetLevel {
    pub sku: Sku,
    pub available: u64,
}

impl Aggregate for SkuStock {
    type Command = SetLevel;

    fn decide(&self, command: SetLevel) -> Result<Vec<Event>, DomainError> {
        Ok(vec![
            StockLevelSet {
                sku: command.sku,
                available: command.available,
            }
            .into(),
        ])
    }

    fn apply(&mut self, event: &Event) {
        match event {
            Event::StockLevelSet(e) => {
                self.known = true;
                self.available = e.available;
            }
            Event::StockAllocated(e) => {
                let q = u64::from(e.quantity.get());
                self.available = self.available.saturating_sub(q);
                self.reserved += q;
            }
            Event::StockDeallocated(e) => {
                let q = u64::from(e.quantity.get());
                self.available += q;
                self.reserved = self.reserved.saturating_sub(q);
            }
            Event::StockShipped(e) => {
                self.reserved = self.reserved.saturating_sub(u64::from(e.quantity.get()));
            }
            _ => {}
        }
    }
}

/// The stock reservation of one order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Reservation {
    #[default]
    NotRequested,
    Reserved {
        items: Vec<StockLine>,
    },
    Unavailable {
        reason: String,
    },
    Released,
    /// Shipped: the reserved units left the warehouse.
    Fulfilled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReservationCommand {
    /// Reserve every line, given the current stock of the SKUs involved.
    Reserve {
        order_id: OrderId,
        items: Vec<StockLine>,
        stock: BTreeMap<Sku, SkuStock>,
    },
    /// Give reserved stock back (compensation for a cancelled order).
    Release { order_id: OrderId },
    /// The order shipped: its reserved units are no longer held.
    Fulfil { order_id: OrderId },
}

impl Reservation {
    pub fn is_requested(&self) -> bool {
        !matches!(self, Reservation::NotRequested)
    }

    /// Why the lines cannot be reserved, if they cannot.
    fn shortage(items: &[StockLine], stock: &BTreeMap<Sku, SkuStock>) -> Option<String> {
        let mut wanted: BTreeMap<&Sku, u64> = BTreeMap::new();
        for line in items {
            *wanted.entry(&line.sku).or_default() += u64::from(line.quantity.get());
        }
        wanted.into_iter().find_map(
            |(sku, requested)| match stock.get(sku).filter(|s| s.known) {
                None => Some(format!("unknown SKU {sku}")),
                Some(s) if s.available < requested => Some(format!(
                    "insufficient stock for SKU {sku}: requested {requested}, available {}",
                    s.available
                )),
                Some(_) => None,
            },
        )
    }
}

impl Aggregate for Reservation {
    type Command = ReservationCommand;

    fn decide(&self, command: ReservationCommand) -> Result<Vec<Event>, DomainError> {
        match command {
            ReservationCommand::Reserve {
                order_id,
                items,
                stock,
            } => {
                if self.is_requested() {
                    return Ok(vec![]);
                }
                if let Some(reason) = Self::shortage(&items, &stock) {
                    return Ok(vec![StockUnavailable { order_id, reason }.into()]);
                }
                let mut events: Vec<Event> = items
                    .iter()
                    .map(|line| {
                        StockAllocated {
                            sku: line.sku.clone(),
                            order_id: order_id.clone(),
                            quantity: line.quantity,
                        }
                        .into()
                    })
                    .collect();
                events.push(StockReserved { order_id, items }.into());
                Ok(events)
            }
            ReservationCommand::Release { order_id } => match self {
                Reservation::Reserved { items } => {
                    let mut events: Vec<Event> = items
                        .iter()
                        .map(|line| {
                            StockDeallocated {
                                sku: line.sku.clone(),
                                order_id: order_id.clone(),
                                quantity: line.quantity,
                            }
                            .into()
                        })
                        .collect();
                    events.push(
                        StockReleased {
                            order_id,
                            items: items.clone(),
                        }
                        .into(),
                    );
                    Ok(events)
                }
                _ => Ok(vec![]),
            },
            ReservationCommand::Fulfil { order_id } => match self {
                Reservation::Reserved { items } => {
                    let mut events: Vec<Event> = items
                        .iter()
                        .map(|line| {
                            StockShipped {
                                sku: line.sku.clone(),
                                order_id: order_id.clone(),
                                quantity: line.quantity,
                            }
                            .into()
                        })
                        .collect();
                    events.push(
                        StockFulfilled {
                            order_id,
                            items: items.clone(),
                        }
                        .into(),
                    );
                    Ok(events)
                }
                _ => Ok(vec![]),
            },
        }
    }

    fn apply(&mut self, event: &Event) {
        match event {
            Event::StockReserved(e) => {
                *self = Reservation::Reserved {
                    items: e.items.clone(),
                }
            }
            Event::StockUnavailable(e) => {
                *self = Reservation::Unavailable {
                    reason: e.reason.clone(),
                }
            }
            Event::StockReleased(_) => *self = Reservation::Released,
            Event::StockFulfilled(_) => *self = Reservation::Fulfilled,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
