//! How a replayed order reads on a terminal, in a pipe and as JSON.

use chrono::TimeZone as _;
use orderflow_services::replay::Field;
use uuid::Uuid;

use super::*;

fn confirmed() -> Step {
    Step {
        position: 7,
        stream: "order-o-1".into(),
        version: 2,
        occurred_at: Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 1).unwrap(),
        recorded_at: Utc.with_ymd_and_hms(2026, 12, 6, 15, 0, 2).unwrap(),
        event_type: "OrderConfirmed".into(),
        event_id: Uuid::nil(),
        actor: "orders".into(),
        causation_id: Some(Uuid::max()),
        data: Ok(json!({ "orderId": "o-1" })),
        state: vec![
            Field {
                name: "status",
                value: "CONFIRMED".into(),
                changed: true,
            },
            Field {
                name: "customer",
                value: "c-1".into(),
                changed: false,
            },
        ],
    }
}

#[test]
fn a_step_shows_where_and_when_its_event_is_who_recorded_it_and_the_fields_it_changed() {
    let text = render(&[confirmed()], false);

    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "#7 2026-12-06T15:00:01.000Z  order-o-1 v2  OrderConfirmed"
    );
    assert_eq!(
        lines[1],
        format!(
            "    actor orders  event {}  caused by {}",
            Uuid::nil(),
            Uuid::max()
        )
    );
    assert_eq!(lines[2], "  * status    CONFIRMED");
    assert_eq!(lines[3], "    customer  c-1");
}

#[test]
fn only_a_terminal_gets_colour_and_then_only_on_changed_fields() {
    let plain = render(&[confirmed()], false);
    let coloured = render(&[confirmed()], true);

    assert!(!plain.contains('\u{1b}'), "{plain:?}");
    let lines: Vec<&str> = coloured.lines().collect();
    assert!(
        lines[2].starts_with("  \u{1b}[1;33m* status"),
        "{coloured:?}"
    );
    assert!(!lines[3].contains('\u{1b}'), "{coloured:?}");
}

#[test]
fn an_event_that_does_not_decode_says_why() {
    let mut step = confirmed();
    step.data = Err("unknown schema id 99".into());
    step.state.clear();

    let text = render(&[step.clone()], false);
    let json = steps_json(&[step]);

    assert!(
        text.contains("does not decode: unknown schema id 99"),
        "{text}"
    );
    assert_eq!(json[0]["decodeError"], "unknown schema id 99");
    assert_eq!(json[0]["data"], Value::Null);
}

#[test]
fn the_json_has_every_step_with_its_fields_and_what_changed() {
    let json = steps_json(&[confirmed()]);

    assert_eq!(json[0]["position"], 7);
    assert_eq!(json[0]["stream"], "order-o-1");
    assert_eq!(json[0]["type"], "OrderConfirmed");
    assert_eq!(json[0]["causationId"], Uuid::max().to_string());
    assert_eq!(json[0]["data"]["orderId"], "o-1");
    assert_eq!(
        json[0]["state"][0],
        json!({ "field": "status", "value": "CONFIRMED", "changed": true })
    );
    assert_eq!(json[0]["state"][1]["changed"], false);
}
