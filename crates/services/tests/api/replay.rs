//! `POST /consumers/{group}/replay`: a stopped group is moved back to the beginning or
//! a moment; a group with a live member, an unknown group or a bad moment is refused.

use axum::http::Method;
use orderflow_core::bus::StartFrom;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_stopped_group_is_moved_back_and_a_running_one_is_refused() -> TestResult {
    let app = spawn_app().await?;
    app.place_with_key("k-1", &order()).await?;
    let app = &app;
    let replay = |group: &str, from: &str| {
        let body = json!({ "from": from }).to_string();
        let path = format!("/consumers/{group}/replay");
        async move {
            app.call(Method::POST, &path, None, Some(("application/json", body)))
                .await
        }
    };
    let moved = replay("payment", "beginning").await?;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["group"], "payment");
    assert!(
        moved.body["partitions"].as_u64() > Some(0),
        "{:?}",
        moved.body
    );

    let _member = app
        .state()
        .bus
        .subscribe("payment", &["orders"], StartFrom::Earliest)
        .await?;
    let refused = replay("payment", "2026-12-06T15:00:00Z").await?;
    assert_eq!(refused.status, 409, "{:?}", refused.body);

    assert_eq!(replay("weather", "beginning").await?.status, 404);
    let bad = replay("shipping", "noon").await?;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    assert!(bad.error().contains("beginning"), "{:?}", bad.body);
    Ok(())
}
