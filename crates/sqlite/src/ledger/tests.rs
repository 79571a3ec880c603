//! The simulated provider: once per idempotency key, as real providers are, and every
//! call on record.

use super::*;
use rusqlite::OptionalExtension;

type TestResult = Result<(), Box<dyn std::error::Error>>;

mod contract {
    orderflow_core::payment_provider_contract!(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let provider = super::provider(dir.path()).expect("open the ledger");
        (provider, dir)
    });
}

fn provider(dir: &Path) -> Result<SimulatedProvider, ProviderError> {
    SimulatedProvider::open(&dir.join("ledger.db"), SimulatedSettings::default())
}

fn order(id: &str) -> Result<OrderId, Box<dyn std::error::Error>> {
    Ok(OrderId::parse(id)?)
}

fn call(kind: &str, key: &str, replay: bool) -> Call {
    Call {
        kind: kind.into(),
        idempotency_key: key.into(),
        replay,
    }
}

#[tokio::test]
async fn charging_twice_under_one_key_charges_once_and_records_the_second_call_as_a_replay()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let p = provider(dir.path())?;
    let amount = Money::from_minor(500)?;
    let first = p.charge("k-1", &order("o-1")?, amount).await?;
    let second = p.charge("k-1", &order("o-1")?, amount).await?;
    assert_eq!(first, second);
    assert_eq!(p.charges("o-1")?, 1);
    assert_eq!(
        p.calls("o-1")?,
        [call("charge", "k-1", false), call("charge", "k-1", true)]
    );
    Ok(())
}

#[tokio::test]
async fn charging_an_order_again_under_another_key_charges_it_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = provider(dir.path())?;
    let amount = Money::from_minor(500)?;
    let first = p.charge("k-1", &order("o-1")?, amount).await?;
    let second = p.charge("k-2", &order("o-1")?, amount).await?;
    assert_ne!(first, second, "two charges, two transactions");
    assert_eq!(p.charges("o-1")?, 2);
    assert_eq!(
        p.calls("o-1")?,
        [call("charge", "k-1", false), call("charge", "k-2", false)]
    );
    Ok(())
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused_and_changes_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = provider(dir.path())?;
    let amount = Money::from_minor(500)?;
    p.charge("k-1", &order("o-1")?, amount).await?;
    let other_order = p.charge("k-1", &order("o-2")?, amount).await;
    assert!(
        matches!(other_order, Err(ProviderError::Refused(_))),
        "{other_order:?}"
    );
    let other_kind = p.refund("k-1", &order("o-1")?, amount).await;
    assert!(
        matches!(other_kind, Err(ProviderError::Refused(_))),
        "{other_kind:?}"
    );
    assert_eq!(p.charges("o-1")?, 1);
    assert_eq!(p.charges("o-2")?, 0);
    assert_eq!(p.calls("o-2")?, [call("charge", "k-1", true)]);
    Ok(())
}

#[tokio::test]
async fn a_voided_charge_is_never_made_afterwards() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = provider(dir.path())?;
    let amount = Money::from_minor(500)?;
    let voided = ChargeOutcome::Voided {
        reason: "order cancelled".into(),
    };
    assert_eq!(
        p.void("k-3", &order("o-3")?, amount, "order cancelled")
            .await?,
        voided
    );
    assert_eq!(p.charge("k-3", &order("o-3")?, amount).await?, voided);
    assert_eq!(p.charges("o-3")?, 0);
    assert_eq!(
        p.calls("o-3")?,
        [call("void", "k-3", false), call("charge", "k-3", true)]
    );
    Ok(())
}

#[tokio::test]
async fn voiding_a_charge_already_made_answers_with_that_charge() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = provider(dir.path())?;
    let amount = Money::from_minor(500)?;
    let charged = p.charge("k-4", &order("o-4")?, amount).await?;
    assert!(matches!(charged, ChargeOutcome::Approved { .. }));
    assert_eq!(
        p.void("k-4", &order("o-4")?, amount, "order cancelled")
            .await?,
        charged
    );
    assert_eq!(p.charges("o-4")?, 1);
    Ok(())
}

#[tokio::test]
async fn refunding_twice_under_one_key_refunds_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = provider(dir.path())?;
    let amount = Money::from_minor(500)?;
    p.charge("c-5", &order("o-5")?, amount).await?;
    let first = p.refund("r-5", &order("o-5")?, amount).await?;
    assert_eq!(p.refund("r-5", &order("o-5")?, amount).await?, first);
    assert_eq!(
        p.calls("o-5")?,
        [
            call("charge", "c-5", false),
            call("refund", "r-5", false),
            call("refund", "r-5", true)
        ]
    );
    Ok(())
}

#[tokio::test]
async fn an_order_over_the_limit_is_declined_with_the_reason() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = provider(dir.path())?;
    let outcome = p
        .charge("k-2", &order("o-2")?, Money::from_minor(1_000_001)?)
        .await?;
    assert_eq!(
        outcome,
        ChargeOutcome::Declined {
            reason: "amount 10000.01 exceeds the limit of 10000.00".into()
        }
    );
    assert_eq!(p.charges("o-2")?, 0);
    Ok(())
}

#[tokio::test]
async fn every_call_is_recorded_with_the_time_it_was_received() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = provider(dir.path())?;
    let before = Utc::now();
    p.charge("k-6", &order("o-6")?, Money::from_minor(500)?)
        .await?;
    let conn = Connection::open(dir.path().join("ledger.db"))?;
    let at: String = conn.query_row("SELECT received_at FROM calls", [], |r| r.get(0))?;
    let at = chrono::DateTime::parse_from_rfc3339(&at)?;
    assert!(before <= at && at <= Utc::now(), "{at}");
    Ok(())
}

#[tokio::test]
async fn the_ledger_keeps_each_entry_in_its_key_b_tree_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    provider(dir.path())?;
    let conn = Connection::open(dir.path().join("ledger.db"))?;
    // `wr` is 1 for a WITHOUT ROWID table; a missing table has no row at all.
    let without_rowid: Option<bool> = conn
        .query_row(
            "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = 'ledger'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    assert_eq!(without_rowid, Some(true), "ledger (None: no such table)");
    Ok(())
}
