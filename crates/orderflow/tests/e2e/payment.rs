//! Payment and cancelled orders: an order cancelled before payment gets to it is never
//! charged; one cancelled while its charge is in flight is charged, then refunded
//! (that race is shown deterministically in the payment handler's own tests, with the
//! charge held in flight).

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const PIPELINE: &str = "api,orders,inventory,shipping,projections,relay";

/// The lag of a group and of the relay, from `GET /consumers`.
async fn lags(api: &Api, group: &str) -> Res<(Option<u64>, Option<u64>)> {
    let (_, body) = api.get("/consumers").await?;
    let group = body["groups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["group"] == group))
        .and_then(|g| g["lag"].as_u64());
    let relay = body["storeReaders"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == "relay"))
        .and_then(|r| r["lag"].as_u64());
    Ok((group, relay))
}

/// The `data` of the order's events of one type.
async fn events_of(api: &Api, order_id: &str, event_type: &str) -> Res<Vec<Value>> {
    Ok(api
        .history(order_id)
        .await?
        .into_iter()
        .filter(|e| e["type"] == event_type)
        .map(|e| e["data"].clone())
        .collect())
}

#[tokio::test]
async fn orders_cancelled_while_payment_is_down_are_never_charged_and_end_cancelled() -> TestResult
{
    let deployment = Deployment::new()?;
    let core = deployment.start(PIPELINE, &[]).await?;
    let api = Api::of(&deployment, &core);
    api.set_stock("PS-1", 10).await?;
    // Payment is not running: one order the customer cancels, one cancelled for stock.
    let (by_customer, _) = api.place("c-ps", json!([item("PS-1", 1, 12.50)])).await?;
    let (status, body) = api
        .send(Method::POST, &format!("/orders/{by_customer}/cancel"), None)
        .await?;
    assert_eq!(status, 202, "{body}");
    let (for_stock, _) = api.place("c-ps", json!([item("NOPE", 1, 7.00)])).await?;
    api.wait_status(&by_customer, "CANCELLED").await?;
    api.wait_status(&for_stock, "CANCELLED").await?;
    // And one that is not cancelled, which payment must still charge.
    let (kept, _) = api.place("c-ps", json!([item("PS-1", 2, 3.00)])).await?;

    let _payment = deployment.start("payment", &[]).await?;
    api.wait_status(&kept, "SHIPPED").await?;
    for (id, reason) in [
        (&by_customer, "cancelled by the customer"),
        (&for_stock, "stock unavailable: unknown SKU NOPE"),
    ] {
        let skipped = eventually(|| async {
            let skipped = events_of(&api, id, "PaymentSkipped").await?;
            Ok((!skipped.is_empty()).then_some(skipped))
        })
        .await?;
        assert_eq!(skipped.len(), 1, "{id}: {skipped:?}");
        assert_eq!(
            skipped[0]["reason"],
            format!("order cancelled before payment: {reason}")
        );
    }
    // Payment has handled everything on the bus, the cancels too.
    eventually(|| async { Ok((lags(&api, "payment").await? == (Some(0), Some(0))).then_some(())) })
        .await?;

    // Nothing crashed: each order asked about once; the cancelled ones only voided.
    let provider = Provider::read(&deployment.data_dir())?;
    provider.assert_charged_once(std::slice::from_ref(&kept));
    provider.assert_asked_once(&[kept.clone(), by_customer.clone(), for_stock.clone()]);
    for id in [&by_customer, &for_stock] {
        let calls = provider.calls_of(id);
        assert_eq!(provider.charges_of(id), 0, "{id} was charged: {calls:?}");
        assert!(calls.iter().all(|c| c.kind == "void"), "{id}: {calls:?}");
        let types = api.history_types(id).await?;
        for never in ["PaymentReceived", "PaymentRefunded", "OrderConfirmed"] {
            assert!(!types.iter().any(|t| t == never), "{id}: {types:?}");
        }
        let (_, order) = api.get(&format!("/orders/{id}")).await?;
        assert_eq!(order["status"], "CANCELLED", "{order}");
    }
    Ok(())
}

#[tokio::test]
async fn an_order_cancelled_with_payment_running_is_never_left_charged() -> TestResult {
    let deployment = Deployment::new()?;
    // A slow provider, so that a cancel often lands while the charge is in flight.
    let app = deployment
        .start("run", &["--payment-latency-ms", "300"])
        .await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("PS-2", 10).await?;
    let (id, _) = api.place("c-ps", json!([item("PS-2", 1, 4.00)])).await?;
    let (status, body) = api
        .send(Method::POST, &format!("/orders/{id}/cancel"), None)
        .await?;
    assert_eq!(status, 202, "{body}");

    api.wait_status(&id, "CANCELLED").await?;
    // Either payment saw the cancel first (skipped, never charged), or the charge was
    // in flight (charged once, then refunded).
    assert_never_left_charged(&api, &id, &deployment.data_dir()).await?;
    // Nothing crashed: the charge (or its void), and any refund, each asked once.
    Provider::read(&deployment.data_dir())?.assert_asked_once(&[id]);
    Ok(())
}
