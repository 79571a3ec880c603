//! How verify's report reads.

use orderflow_services::verify::{Disagreement, FoldFailure};

use super::*;

fn healthy() -> Report {
    Report {
        events: 12,
        streams: 7,
        decisions: 10,
        redecided: 12,
        folded_only: 0,
        disagreements: vec![],
        fold_failures: vec![],
    }
}

fn disagreeing() -> Report {
    Report {
        disagreements: vec![Disagreement {
            stream: "payment-o-1".into(),
            version: 1,
            position: 4,
            actor: "payment".into(),
            recorded: "PaymentReceived {\"amountCents\":3998}".into(),
            now: "PaymentReceived {\"amountCents\":3999}".into(),
        }],
        fold_failures: vec![FoldFailure {
            stream: "order-o-3".into(),
            version: 1,
            position: 40,
            reason: "OrderConfirmed does not decode: unknown schema id 99".into(),
        }],
        ..healthy()
    }
}

#[test]
fn a_history_that_agrees_is_one_line_of_counts() {
    assert_eq!(
        render(&healthy()),
        "ok 12 event(s) in 7 stream(s): 10 decision(s) re-run (12 event(s)), 0 event(s) folded only\n"
    );
}

#[test]
fn each_disagreement_shows_where_it_is_what_was_recorded_and_what_the_code_does_now() {
    let text = render(&disagreeing());

    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "DISAGREE payment-o-1 v1 (position 4, recorded by payment)"
    );
    assert_eq!(
        lines[1],
        "  recorded: PaymentReceived {\"amountCents\":3998}"
    );
    assert_eq!(
        lines[2],
        "  now:      PaymentReceived {\"amountCents\":3999}"
    );
    assert_eq!(
        lines[3],
        "NO FOLD  order-o-3 v1 (position 40): OrderConfirmed does not decode: unknown schema id 99"
    );
    assert!(lines[4].starts_with("FAILED 12 event(s)"), "{text}");
}

#[test]
fn the_json_report_lists_every_finding() {
    let json = report_json(&disagreeing());

    assert_eq!(json["agrees"], false);
    assert_eq!(json["disagreements"][0]["stream"], "payment-o-1");
    assert_eq!(json["disagreements"][0]["version"], 1);
    assert_eq!(json["foldFailures"][0]["stream"], "order-o-3");
    assert_eq!(report_json(&healthy())["agrees"], true);
}
