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

#[test]
fn an_order_refused_for_want_of_stock_is_not_reserved_later() {
    let unavailable: Event = StockUnavailable {
        order_id: sample_order_id(),
        reason: "insufficient stock for SKU A: requested 2, available 1".into(),
    }
    .into();
    let refused = given::<Reservation>(&[unavailable]);
    assert!(refused.state().is_requested());
    // Stock arrived since; the order is being cancelled, so it takes none of it.
    refused
        .when(reserve(vec![line("A", 2)], &[("A", 5)]))
        .then_expect(vec![]);
}
