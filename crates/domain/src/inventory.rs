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
mod tests {
    use super::*;
    use crate::testing::{given, sample_order_id};
    use crate::values::Quantity;

    fn sku(s: &str) -> Sku {
        Sku::parse(s).unwrap()
    }

    fn line(s: &str, q: i64) -> StockLine {
        StockLine {
            sku: sku(s),
            quantity: Quantity::new(q).unwrap(),
        }
    }

    fn stock(levels: &[(&str, u64)]) -> BTreeMap<Sku, SkuStock> {
        levels
            .iter()
            .map(|(s, available)| {
                let mut level = SkuStock::default();
                level.apply(
                    &StockLevelSet {
                        sku: sku(s),
                        available: *available,
                    }
                    .into(),
                );
                (sku(s), level)
            })
            .collect()
    }

    fn reserve(items: Vec<StockLine>, levels: &[(&str, u64)]) -> ReservationCommand {
        ReservationCommand::Reserve {
            order_id: sample_order_id(),
            items,
            stock: stock(levels),
        }
    }

    fn reserved(items: Vec<StockLine>) -> Event {
        StockReserved {
            order_id: sample_order_id(),
            items,
        }
        .into()
    }

    fn allocated(s: &str, q: i64) -> Event {
        StockAllocated {
            sku: sku(s),
            order_id: sample_order_id(),
            quantity: Quantity::new(q).unwrap(),
        }
        .into()
    }

    fn shipped(s: &str, q: i64) -> Event {
        StockShipped {
            sku: sku(s),
            order_id: sample_order_id(),
            quantity: Quantity::new(q).unwrap(),
        }
        .into()
    }

    #[test]
    fn every_line_in_stock_is_allocated_and_the_order_reserved() {
        let items = vec![line("A", 2), line("B", 1)];
        given::<Reservation>(&[])
            .when(reserve(items.clone(), &[("A", 5), ("B", 1)]))
            .then_expect(vec![allocated("A", 2), allocated("B", 1), reserved(items)]);
    }

    #[test]
    fn an_unknown_sku_makes_the_stock_unavailable() {
        given::<Reservation>(&[])
            .when(reserve(vec![line("A", 1), line("NOPE", 1)], &[("A", 5)]))
            .then_expect(vec![
                StockUnavailable {
                    order_id: sample_order_id(),
                    reason: "unknown SKU NOPE".into(),
                }
                .into(),
            ]);
    }

    #[test]
    fn not_enough_stock_counts_every_line_of_the_same_sku() {
        given::<Reservation>(&[])
            .when(reserve(vec![line("A", 2), line("A", 2)], &[("A", 3)]))
            .then_expect(vec![
                StockUnavailable {
                    order_id: sample_order_id(),
                    reason: "insufficient stock for SKU A: requested 4, available 3".into(),
                }
                .into(),
            ]);
    }

    #[test]
    fn an_order_is_reserved_only_once() {
        given::<Reservation>(&[reserved(vec![line("A", 1)])])
            .when(reserve(vec![line("A", 1)], &[("A", 5)]))
            .then_expect(vec![]);
    }

    #[test]
    fn releasing_gives_every_reserved_unit_back_once() {
        let items = vec![line("A", 2)];
        let released: Event = StockReleased {
            order_id: sample_order_id(),
            items: items.clone(),
        }
        .into();
        let release = || ReservationCommand::Release {
            order_id: sample_order_id(),
        };
        given::<Reservation>(&[reserved(items.clone())])
            .when(release())
            .then_expect(vec![
                StockDeallocated {
                    sku: sku("A"),
                    order_id: sample_order_id(),
                    quantity: Quantity::new(2).unwrap(),
                }
                .into(),
                released.clone(),
            ]);
        given::<Reservation>(&[reserved(items), released])
            .when(release())
            .then_expect(vec![]);
    }

    #[test]
    fn nothing_is_released_when_nothing_was_reserved() {
        given::<Reservation>(&[])
            .when(ReservationCommand::Release {
                order_id: sample_order_id(),
            })
            .then_expect(vec![]);
    }

    #[test]
    fn allocation_moves_units_from_available_to_reserved_and_back() {
        let mut level = stock(&[("A", 5)]).remove(&sku("A")).unwrap();
        level.apply(&allocated("A", 2));
        assert_eq!((level.available, level.reserved), (3, 2));
        level.apply(
            &StockDeallocated {
                sku: sku("A"),
                order_id: sample_order_id(),
                quantity: Quantity::new(2).unwrap(),
            }
            .into(),
        );
        assert_eq!((level.available, level.reserved), (5, 0));
    }

    #[test]
    fn shipping_lets_the_reserved_units_go_once() {
        let items = vec![line("A", 2)];
        let fulfilled: Event = StockFulfilled {
            order_id: sample_order_id(),
            items: items.clone(),
        }
        .into();
        let fulfil = || ReservationCommand::Fulfil {
            order_id: sample_order_id(),
        };
        given::<Reservation>(&[reserved(items.clone())])
            .when(fulfil())
            .then_expect(vec![shipped("A", 2), fulfilled.clone()]);
        given::<Reservation>(&[reserved(items.clone()), fulfilled.clone()])
            .when(fulfil())
            .then_expect(vec![]);
        given::<Reservation>(&[reserved(items), fulfilled])
            .when(ReservationCommand::Release {
                order_id: sample_order_id(),
            })
            .then_expect(vec![]);
    }

    #[test]
    fn nothing_is_fulfilled_when_nothing_was_reserved() {
        given::<Reservation>(&[])
            .when(ReservationCommand::Fulfil {
                order_id: sample_order_id(),
            })
            .then_expect(vec![]);
    }

    #[test]
    fn shipped_units_leave_the_reserved_count_and_not_the_available_one() {
        let mut level = stock(&[("A", 5)]).remove(&sku("A")).unwrap();
        level.apply(&allocated("A", 2));
        level.apply(&shipped("A", 2));
        assert_eq!((level.available, level.reserved), (3, 0));
    }

    #[test]
    fn setting_a_level_records_it() {
        given::<SkuStock>(&[])
            .when(SetLevel {
                sku: sku("A"),
                available: 7,
            })
            .then_expect(vec![
                StockLevelSet {
                    sku: sku("A"),
                    available: 7,
                }
                .into(),
            ]);
    }
}
