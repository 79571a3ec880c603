use super::*;
use crate::testing::{sample_created, sample_order_id};

/// One event of every type, each about `order-1` and, where it names one, `SKU-1`.
pub(crate) fn one_of_each() -> Result<Vec<Event>, crate::DomainError> {
    let order_id = sample_order_id();
    let sku = Sku::parse("SKU-1")?;
    let quantity = Quantity::new(2)?;
    let amount = Money::from_minor(3998)?;
    let items = vec![StockLine {
        sku: sku.clone(),
        quantity,
    }];
    let text = |s: &str| s.to_owned();
    Ok(vec![
        sample_created(),
        OrderConfirmed {
            order_id: order_id.clone(),
        }
        .into(),
        OrderCancelled {
            order_id: order_id.clone(),
            reason: text("changed my mind"),
        }
        .into(),
        OrderShipped {
            order_id: order_id.clone(),
            tracking_number: text("T-1"),
        }
        .into(),
        PaymentReceived {
            order_id: order_id.clone(),
            amount,
            transaction_id: text("tx-1"),
        }
        .into(),
        PaymentDeclined {
            order_id: order_id.clone(),
            amount,
            reason: text("over limit"),
        }
        .into(),
        PaymentRefunded {
            order_id: order_id.clone(),
            amount,
            transaction_id: text("rf-1"),
        }
        .into(),
        PaymentSkipped {
            order_id: order_id.clone(),
            amount,
            reason: text("order cancelled before payment"),
        }
        .into(),
        StockLevelSet {
            sku: sku.clone(),
            available: 5,
        }
        .into(),
        StockAllocated {
            sku: sku.clone(),
            order_id: order_id.clone(),
            quantity,
        }
        .into(),
        StockDeallocated {
            sku: sku.clone(),
            order_id: order_id.clone(),
            quantity,
        }
        .into(),
        StockReserved {
            order_id: order_id.clone(),
            items: items.clone(),
        }
        .into(),
        StockUnavailable {
            order_id: order_id.clone(),
            reason: text("unknown SKU SKU-1"),
        }
        .into(),
        StockReleased {
            order_id: order_id.clone(),
            items: items.clone(),
        }
        .into(),
        StockShipped {
            sku,
            order_id: order_id.clone(),
            quantity,
        }
        .into(),
        StockFulfilled {
            order_id: order_id.clone(),
            items,
        }
        .into(),
        ShipmentDispatched {
            order_id: order_id.clone(),
            tracking_number: text("T-1"),
        }
        .into(),
        NotificationSent {
            order_id: order_id.clone(),
            kind: NotificationKind::OrderReceived,
            recipient: text("c-1@customers.orderflow.local"),
            message_id: text("<m-1@orderflow.local>"),
        }
        .into(),
        NotificationFailed {
            order_id: order_id.clone(),
            kind: NotificationKind::OrderShipped,
            recipient: text("c-1@customers.orderflow.local"),
            reason: text("mailbox unavailable"),
        }
        .into(),
        StepFailed {
            order_id,
            step: text("payment"),
            event_type: text("OrderCreated"),
            reason: text("payment provider refused the request: card blocked"),
            topic: text("orders"),
            partition: 3,
            offset: 41,
            at: crate::Timestamp(1_700_000_000_000),
        }
        .into(),
        CustomerForgotten {
            customer_id: crate::CustomerId::parse("c-1")?,
            reason: text("erasure request #12"),
            by: text("operator"),
            keys_destroyed: 1,
            at: crate::Timestamp(1_700_000_000_000),
        }
        .into(),
    ])
}

#[test]
fn the_sample_events_cover_every_event_type() -> Result<(), crate::DomainError> {
    let types: Vec<&str> = one_of_each()?.iter().map(Event::type_name).collect();
    assert_eq!(types, Event::TYPES);
    Ok(())
}

#[test]
fn every_event_about_an_order_is_keyed_by_the_order() -> Result<(), crate::DomainError> {
    for event in one_of_each()? {
        if matches!(event, Event::StockLevelSet(_) | Event::CustomerForgotten(_)) {
            continue;
        }
        let name = event.type_name();
        assert_eq!(event.correlation_key(), "order-1", "{name}");
        assert_eq!(event.order_id(), Some("order-1"), "{name}");
    }
    Ok(())
}

#[test]
fn a_stock_level_change_is_keyed_by_its_sku_and_is_about_no_order() -> Result<(), crate::DomainError>
{
    let set: Event = StockLevelSet {
        sku: Sku::parse("SKU-7")?,
        available: 3,
    }
    .into();
    assert_eq!(set.correlation_key(), "SKU-7");
    assert_eq!(set.order_id(), None);
    Ok(())
}

/// The spellings are the symbols of the `NotificationKind` enum of
/// `schemas/NotificationSent.avsc` and `schemas/NotificationFailed.avsc`.
#[test]
fn notification_kinds_are_spelled_as_the_schemas_enum_symbols() {
    let spelled = [
        (NotificationKind::OrderReceived, "ORDER_RECEIVED"),
        (NotificationKind::OrderShipped, "ORDER_SHIPPED"),
        (NotificationKind::OrderCancelled, "ORDER_CANCELLED"),
    ];
    assert_eq!(spelled.len(), NotificationKind::ALL.len());
    for (kind, spelling) in spelled {
        assert_eq!(kind.as_str(), spelling);
    }
}

#[test]
fn a_notification_kind_is_read_back_from_its_spelling_and_from_nothing_else() {
    for kind in NotificationKind::ALL {
        assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
    }
    for other in [
        "",
        "order_received",
        "ORDER-SHIPPED",
        "ORDER_CANCELED",
        "xyzzy",
    ] {
        assert_eq!(NotificationKind::parse(other), None, "{other:?}");
    }
}

#[test]
fn forgetting_a_customer_is_keyed_by_the_customer_and_is_about_no_order()
-> Result<(), crate::DomainError> {
    let forgotten = one_of_each()?
        .into_iter()
        .find(|e| matches!(e, Event::CustomerForgotten(_)))
        .expect("one of each");
    assert_eq!(forgotten.correlation_key(), "c-1");
    assert_eq!(forgotten.order_id(), None);
    assert_eq!(crate::streams::stream_of(&forgotten), "customer-c-1");
    Ok(())
}
