//! A data dir that knows itself: the bus and the read models are copies of the event
//! store, made again when lost; a lost store beside its copies is refused, not served.

use std::path::Path;

use serde_json::json;

use crate::support::*;

/// Deletes a SQLite file with its write-ahead log.
fn delete_db(dir: &Path, name: &str) -> TestResult {
    for suffix in ["", "-wal", "-shm"] {
        match std::fs::remove_file(dir.join(format!("{name}{suffix}"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

async fn shipped(api: &Api, ids: &[String]) -> TestResult {
    for id in ids {
        api.wait_status(id, "SHIPPED").await?;
    }
    Ok(())
}

#[tokio::test]
async fn orders_published_to_a_bus_that_is_then_lost_still_flow() -> TestResult {
    let deployment = Deployment::new()?;
    // Only the API and the relay: orders are recorded and published, nobody handles them.
    let mut front = deployment.start("api,relay", &[]).await?;
    let api = Api::of(&deployment, &front);
    api.set_stock("L-1", 10).await?;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            api.place(&format!("c-{i}"), json!([item("L-1", 1, 2.0)]))
                .await?
                .0,
        );
    }
    let head = api.head().await?;
    eventually(|| async {
        let (_, c) = api.get("/consumers").await?;
        let relay = &c["storeReaders"][0];
        Ok((relay["position"].as_u64() >= Some(head)).then_some(()))
    })
    .await?;
    front.terminate().await?;

    delete_db(&deployment.data_dir(), "bus.db")?;
    let everything = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &everything);
    shipped(&api, &ids).await?;
    Ok(())
}

#[tokio::test]
async fn a_missing_event_store_beside_its_copies_is_refused_with_the_way_out() -> TestResult {
    let deployment = Deployment::new()?;
    let mut first = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &first);
    api.set_stock("M-1", 5).await?;
    let (old, _) = api.place("c-m", json!([item("M-1", 1, 3.0)])).await?;
    api.wait_status(&old, "SHIPPED").await?;
    first.terminate().await?;

    delete_db(&deployment.data_dir(), "events.db")?;
    // Bounded: a build that starts anyway would otherwise run forever.
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        deployment.command(&["serve", "api", "--http", "127.0.0.1:0"]),
    )
    .await??;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "started without its store");
    assert!(
        stderr.contains("events.db") && stderr.contains("--discard-derived-data"),
        "{stderr}"
    );

    let again = deployment.start("run", &["--discard-derived-data"]).await?;
    let api = Api::of(&deployment, &again);
    let (status, _) = api.get(&format!("/orders/{old}")).await?;
    assert_eq!(status, 404, "the old read models are gone with their store");
    api.set_stock("M-1", 5).await?;
    let (new, _) = api.place("c-m", json!([item("M-1", 1, 3.0)])).await?;
    api.wait_status(&new, "SHIPPED").await?;
    Ok(())
}

#[tokio::test]
async fn read_models_made_again_count_every_order_in_analytics() -> TestResult {
    let deployment = Deployment::new()?;
    let mut first = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &first);
    api.set_stock("R-1", 10).await?;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(api.place("c-r", json!([item("R-1", 1, 1.5)])).await?.0);
    }
    shipped(&api, &ids).await?;
    first.terminate().await?;

    delete_db(&deployment.data_dir(), "read.db")?;
    let again = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &again);
    shipped(&api, &ids).await?;
    eventually(|| async {
        let (_, s) = api.get("/analytics").await?;
        Ok((s["ordersByStatus"]["SHIPPED"].as_u64() == Some(3)).then_some(()))
    })
    .await?;
    Ok(())
}
