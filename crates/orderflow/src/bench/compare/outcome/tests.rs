use super::*;

fn attempt(order_id: &str, intended_ms: u64, done_ms: u64, accepted: bool) -> Attempt {
    Attempt {
        order_id: order_id.to_owned(),
        intended: Duration::from_millis(intended_ms),
        done: Duration::from_millis(done_ms),
        accepted,
    }
}

fn at(start: DateTime<Utc>, ms: i64) -> Option<DateTime<Utc>> {
    Some(start + chrono::Duration::milliseconds(ms))
}

fn done(start: DateTime<Utc>, shipped_ms: i64, emailed_ms: i64) -> Recorded {
    Recorded {
        shipped_at: at(start, shipped_ms),
        emails: [("OrderReceived", 1), ("OrderShipped", 1)].into(),
        last_email_at: at(start, emailed_ms),
        charges: 1,
        ..Recorded::default()
    }
}

#[test]
fn the_figures_count_what_the_records_say_became_of_each_attempt() {
    let start = Utc::now();
    let attempts = [
        attempt("a", 0, 10, true),
        attempt("b", 1000, 1400, true),
        // Accepted, never shipped.
        attempt("c", 1500, 1510, true),
        // Refused, but charged and never refunded.
        attempt("d", 1600, 2600, false),
    ];
    let mut c = Recorded {
        emails: [("OrderReceived", 2)].into(),
        charges: 2,
        ..Recorded::default()
    };
    c.last_email_at = at(start, 1600);
    let recorded = HashMap::from([
        ("a".to_owned(), done(start, 50, 60)),
        ("b".to_owned(), done(start, 1500, 2500)),
        ("c".to_owned(), c),
        (
            "d".to_owned(),
            Recorded {
                charges: 1,
                ..Recorded::default()
            },
        ),
    ]);
    let fault_end = Duration::from_millis(2000);
    let f = figures(&attempts, &recorded, start, fault_end);
    assert_eq!((f.attempted, f.accepted), (4, 3));
    assert_eq!(f.accept_p50_ms, Some(10.0));
    assert_eq!(f.accept_p99_ms, Some(400.0));
    assert_eq!(f.shipped, 2);
    assert_eq!(f.shipped_p50_ms, Some(50.0));
    assert_eq!(f.shipped_p99_ms, Some(500.0));
    assert_eq!(f.lost, 1, "c was accepted and never shipped");
    assert_eq!(f.duplicate_charges, 1, "c was charged twice");
    assert_eq!(f.emails_twice, 1, "c's first email was sent twice");
    assert_eq!(f.emails_missing, 1, "c is not done");
    assert_eq!(f.charged_not_accepted, 1, "d");
    assert_eq!(
        f.drain_ms, 500.0,
        "b's last email came 500 ms after the fault"
    );
    assert_eq!(f.per_second.len(), 2);
    assert_eq!(
        (f.per_second[1].attempted, f.per_second[1].accepted),
        (3, 2)
    );
}

#[test]
fn an_order_is_done_once_shipped_or_cancelled_and_every_email_of_it_is_sent() {
    let start = Utc::now();
    assert!(done(start, 1, 2).complete());
    let mut unsent = done(start, 1, 2);
    unsent.emails.remove("OrderShipped");
    assert!(!unsent.complete());
    let cancelled = Recorded {
        cancelled: true,
        emails: [("OrderReceived", 1), ("OrderCancelled", 1)].into(),
        ..Recorded::default()
    };
    assert!(cancelled.complete());
    assert!(!Recorded::default().complete());
}

#[test]
fn quantiles_are_the_values_at_their_rank() {
    let values: Vec<f64> = (1..=1000).map(f64::from).collect();
    assert_eq!(quantile(&values, 0.5), Some(500.0));
    assert_eq!(quantile(&values, 0.99), Some(990.0));
    assert_eq!(quantile(&values, 0.999), Some(999.0));
    assert_eq!(quantile(&[], 0.5), None);
}
