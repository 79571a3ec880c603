//! `orderflow verify`: the history a deployment recorded agrees with the code that
//! recorded it, and a store that no longer folds fails the check. (That verify catches
//! a changed rule is shown at the library level, `orderflow_services::verify`'s tests,
//! where a test can hand it other rules.)

use serde_json::Value;

use super::settled_orders;
use crate::support::*;

#[tokio::test]
async fn verify_agrees_with_the_history_this_build_recorded() -> TestResult {
    let deployment = Deployment::new()?;
    settled_orders(&deployment).await?;

    let text = deployment.command(&["verify"]).await?;
    let json = deployment.command(&["verify", "--json"]).await?;

    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&text.stderr)
    );
    assert!(stdout.starts_with("ok "), "{stdout}");
    assert!(json.status.success());
    let report: Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(report["agrees"], true);
    // Every event of the pipeline was recorded by a decision verify re-ran.
    assert_eq!(report["foldedOnly"], 0, "{report}");
    assert_eq!(report["redecided"], report["events"], "{report}");
    Ok(())
}

#[tokio::test]
async fn verify_fails_naming_an_event_that_no_longer_folds() -> TestResult {
    let deployment = Deployment::new()?;
    let (shipped, _) = settled_orders(&deployment).await?;
    let db = rusqlite::Connection::open(deployment.data_dir().join("events.db"))?;
    let damaged = db.execute(
        "UPDATE events SET payload = x'ffffff' WHERE event_type = 'OrderConfirmed' AND stream_id = ?1",
        [format!("order-{shipped}")],
    )?;
    assert_eq!(damaged, 1);
    drop(db);

    let out = deployment.command(&["verify"]).await?;

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("NO FOLD  order-{shipped} v2 "))),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not agree"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Orders racing for the last units of a SKU, every service of the pipeline deciding at
/// once on PostgreSQL: what they recorded is what the code decides on re-run, and
/// `replay-order` reads the same store.
#[tokio::test]
async fn verify_agrees_with_a_busy_history_on_postgres() -> TestResult {
    let db = fresh_postgres_database().await?;
    let store = ["--store", db.as_str(), "--db-max-connections", "4"];
    let deployment = Deployment::new()?;
    let mut app = deployment.start("run", &store).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("PG-1", 12).await?;
    let placed = (0..20).map(|i| {
        let api = &api;
        async move {
            api.place(&format!("c-{i}"), serde_json::json!([item("PG-1", 1, 3.0)]))
                .await
        }
    });
    let ids: Vec<String> = futures::future::try_join_all(placed)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for id in &ids {
        eventually(|| async {
            let (_, order) = api.get(&format!("/orders/{id}")).await?;
            let done = order["status"] == "SHIPPED" || order["status"] == "CANCELLED";
            Ok(done.then_some(()))
        })
        .await?;
    }
    app.terminate().await?;

    let verified = deployment
        .command(&["verify", "--json", "--store", &db])
        .await?;
    let replayed = deployment
        .command(&["replay-order", &ids[0], "--store", &db])
        .await?;

    let report: Value = serde_json::from_slice(&verified.stdout)?;
    assert!(verified.status.success(), "{report:#}");
    assert_eq!(report["foldedOnly"], 0, "{report:#}");
    let text = String::from_utf8_lossy(&replayed.stdout);
    assert!(replayed.status.success(), "{text}");
    assert!(
        text.starts_with('#') && text.contains("OrderCreated"),
        "{text}"
    );
    Ok(())
}
