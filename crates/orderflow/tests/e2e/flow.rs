//! Orders through the whole pipeline, in one process (`orderflow run`).

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn an_order_in_stock_is_paid_shipped_and_emailed_twice() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("SKU-1", 10).await?;
    let (order_id, _) = api.place("c-1", json!([item("SKU-1", 2, 19.99)])).await?;

    let order = api.wait_status(&order_id, "SHIPPED").await?;
    assert_eq!(order["customerId"], "c-1");
    assert_eq!(order["totalAmount"], 39.98);
    assert!(
        order["trackingNumber"]
            .as_str()
            .is_some_and(|t| t.starts_with("TRK-"))
    );

    let types = eventually(|| async {
        let types = api.history_types(&order_id).await?;
        let emailed = types.iter().filter(|t| *t == "NotificationSent").count() == 2;
        let fulfilled = types.iter().any(|t| t == "StockFulfilled");
        Ok((emailed && fulfilled).then_some(types))
    })
    .await?;
    for expected in [
        "OrderCreated",
        "StockAllocated",
        "StockReserved",
        "PaymentReceived",
        "OrderConfirmed",
        "ShipmentDispatched",
        "OrderShipped",
        "StockShipped",
        "StockFulfilled",
    ] {
        assert_eq!(
            types.iter().filter(|t| *t == expected).count(),
            1,
            "{expected} in {types:?}"
        );
    }
    assert_eq!(types[0], "OrderCreated");

    let mails = mails(&deployment.data_dir());
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.contains(&format!("order-received.{order_id}@orderflow.local.eml")));
    assert!(mails.contains(&format!("order-shipped.{order_id}@orderflow.local.eml")));

    // The shipped units left the warehouse: no longer reserved, not available again.
    let head = api.head().await?;
    let (_, stock) = api
        .get(&format!("/inventory/SKU-1?min_position={head}"))
        .await?;
    assert_eq!(
        (stock["available"].as_u64(), stock["reserved"].as_u64()),
        (Some(8), Some(0))
    );
    Ok(())
}

#[tokio::test]
async fn an_order_for_unknown_stock_is_cancelled_and_never_left_charged() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    let (order_id, _) = api.place("c-2", json!([item("NOPE", 1, 5.00)])).await?;

    let order = api.wait_status(&order_id, "CANCELLED").await?;
    assert_eq!(order["cancelReason"], "stock unavailable: unknown SKU NOPE");
    // Payment skips it if the cancel came first; if it was charging meanwhile, it
    // refunds the charge.
    assert_never_left_charged(&api, &order_id, &deployment.data_dir()).await?;
    let types = api.history_types(&order_id).await?;
    assert!(types.contains(&"StockUnavailable".to_owned()), "{types:?}");
    assert!(!types.contains(&"OrderConfirmed".to_owned()));
    eventually(|| async {
        Ok(mails(&deployment.data_dir())
            .contains(&format!("order-cancelled.{order_id}@orderflow.local.eml"))
            .then_some(()))
    })
    .await
}

#[tokio::test]
async fn an_order_over_the_payment_limit_is_cancelled_and_its_stock_released() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment
        .start("run", &["--payment-decline-above", "100"])
        .await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("SKU-9", 5).await?;
    let (order_id, _) = api.place("c-3", json!([item("SKU-9", 2, 60.00)])).await?;

    let order = api.wait_status(&order_id, "CANCELLED").await?;
    assert_eq!(
        order["cancelReason"],
        "payment declined: amount 120.00 exceeds the limit of 100.00"
    );
    let types = eventually(|| async {
        let types = api.history_types(&order_id).await?;
        Ok(types.contains(&"StockReleased".to_owned()).then_some(types))
    })
    .await?;
    assert!(types.contains(&"StockReserved".to_owned()), "{types:?}");
    assert!(!types.contains(&"PaymentRefunded".to_owned()), "{types:?}");
    let head = api.head().await?;
    let (_, stock) = api
        .get(&format!("/inventory/SKU-9?min_position={head}"))
        .await?;
    assert_eq!(
        (stock["available"].as_u64(), stock["reserved"].as_u64()),
        (Some(5), Some(0))
    );
    Ok(())
}

#[tokio::test]
async fn two_orders_cannot_take_the_same_last_unit() -> TestResult {
    let deployment = Deployment::new()?;
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("LAST", 1).await?;
    let (a, _) = api.place("c-a", json!([item("LAST", 1, 1.00)])).await?;
    let (b, _) = api.place("c-b", json!([item("LAST", 1, 1.00)])).await?;
    let final_status = |id: String| {
        let api = api.clone();
        async move {
            eventually(|| async {
                let (_, o) = api.get(&format!("/orders/{id}")).await?;
                let s = o["status"].as_str().unwrap_or_default().to_owned();
                Ok((s == "SHIPPED" || s == "CANCELLED").then_some(s))
            })
            .await
        }
    };
    let mut statuses = vec![final_status(a).await?, final_status(b).await?];
    statuses.sort();
    assert_eq!(statuses, ["CANCELLED", "SHIPPED"]);
    Ok(())
}

#[tokio::test]
async fn a_restart_continues_where_it_stopped() -> TestResult {
    let deployment = Deployment::new()?;
    let mut first = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &first);
    api.set_stock("SKU-R", 100).await?;
    let (shipped, _) = api.place("c-r", json!([item("SKU-R", 1, 1.00)])).await?;
    api.wait_status(&shipped, "SHIPPED").await?;
    let status = first.terminate().await?;
    assert!(status.success(), "clean shutdown exits 0, got {status}");

    // Accepted while the pipeline is down (only the API runs), shipped after restart.
    let mut api_only = deployment.start("api", &[]).await?;
    let (later, _) = Api::of(&deployment, &api_only)
        .place("c-r", json!([item("SKU-R", 2, 1.00)]))
        .await?;
    api_only.terminate().await?;

    let second = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &second);
    api.wait_status(&later, "SHIPPED").await?;
    let (_, first_order) = api.get(&format!("/orders/{shipped}")).await?;
    assert_eq!(first_order["status"], "SHIPPED");
    eventually(|| async { Ok((mails(&deployment.data_dir()).len() == 4).then_some(())) }).await?;
    let (_, stock) = api
        .get(&format!(
            "/inventory/SKU-R?min_position={}",
            api.head().await?
        ))
        .await?;
    assert_eq!(stock["available"], 97);
    Ok(())
}
