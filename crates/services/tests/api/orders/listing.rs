//! `GET /orders` lists every order newest first, filtered, a page at a time; a
//! customer's orders come a page at a time too; a bad filter is a 400 naming it.

use chrono::{DateTime, Duration, Utc};
use orderflow_core::read_model::{OrderSummary, ReadModel, ReadModelBatch};
use serde_json::Value;

use crate::support::*;

/// Orders o-0 … o-9, one a minute from `start`, of customers c-0 and c-1 in turn, every
/// third one shipped and the rest pending (unchanged since they were created).
async fn with_orders(app: &TestApp, start: DateTime<Utc>) -> Res<()> {
    let orders = (0..10)
        .map(|i| {
            let at = start + Duration::minutes(i);
            OrderSummary {
                order_id: format!("o-{i}"),
                customer_id: format!("c-{}", i % 2),
                status: if i % 3 == 0 { "SHIPPED" } else { "PENDING" }.into(),
                items: vec![],
                total_cents: 100,
                currency: "EUR".into(),
                shipping_address: None,
                created_at: at,
                updated_at: at,
                cancel_reason: None,
                tracking_number: None,
                failures: vec![],
            }
        })
        .collect();
    app.read_model()
        .apply(ReadModelBatch {
            forgotten: Vec::new(),
            orders,
            stock: vec![],
            position: 1,
        })
        .await?;
    Ok(())
}

fn ids(body: &Value) -> Vec<String> {
    body["orders"]
        .as_array()
        .map(|os| {
            os.iter()
                .filter_map(|o| o["orderId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Follows `next` from `path` (which has a query) to the last page.
async fn every_page(app: &TestApp, path: &str) -> Res<Vec<Vec<String>>> {
    let mut pages = Vec::new();
    let mut answer = app.get(path).await?;
    loop {
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        pages.push(ids(&answer.body));
        let Some(next) = answer.body["next"].as_str() else {
            return Ok(pages);
        };
        answer = app.get(&format!("{path}&cursor={next}")).await?;
    }
}

#[tokio::test]
async fn orders_are_listed_newest_first_a_page_at_a_time() -> TestResult {
    let app = spawn_app().await?;
    with_orders(&app, Utc::now() - Duration::hours(1)).await?;
    let pages = every_page(&app, "/orders?limit=4").await?;
    assert_eq!(
        pages,
        [
            vec!["o-9", "o-8", "o-7", "o-6"],
            vec!["o-5", "o-4", "o-3", "o-2"],
            vec!["o-1", "o-0"],
        ]
    );
    Ok(())
}

#[tokio::test]
async fn filters_combine_status_customer_time_and_stuck() -> TestResult {
    let start = Utc::now() - Duration::hours(1);
    let app = spawn_app().await?;
    with_orders(&app, start).await?;
    let shipped_of_c1 = app.get("/orders?status=SHIPPED&customer=c-1").await?;
    assert_eq!(ids(&shipped_of_c1.body), ["o-9", "o-3"]);
    let from = (start + Duration::minutes(2)).to_rfc3339();
    let to = (start + Duration::minutes(5)).to_rfc3339();
    let window = app
        .get(&format!(
            "/orders?from={}&to={}",
            from.replace('+', "%2B"),
            to.replace('+', "%2B")
        ))
        .await?;
    assert_eq!(ids(&window.body), ["o-4", "o-3", "o-2"]);
    // Pending and unchanged for more than 55½ minutes: those created in the first five.
    let stuck = app.get(&format!("/orders?stuck={}", 55 * 60 + 30)).await?;
    assert_eq!(ids(&stuck.body), ["o-4", "o-2", "o-1"]);
    Ok(())
}

#[tokio::test]
async fn a_customers_orders_come_a_page_at_a_time() -> TestResult {
    let app = spawn_app().await?;
    with_orders(&app, Utc::now() - Duration::hours(1)).await?;
    let pages = every_page(&app, "/customers/c-0/orders?limit=2").await?;
    assert_eq!(pages, [vec!["o-8", "o-6"], vec!["o-4", "o-2"], vec!["o-0"]]);
    Ok(())
}

#[tokio::test]
async fn a_bad_filter_is_a_400_that_names_it() -> TestResult {
    let app = spawn_app().await?;
    for (path, named) in [
        ("/orders?status=LOST", "status"),
        ("/orders?limit=0", "limit"),
        ("/orders?limit=501", "limit"),
        ("/orders?cursor=yesterday", "cursor"),
        ("/orders?from=noon", "from"),
        ("/orders?stuck=-1", "stuck"),
        ("/customers/c-0/orders?limit=0", "limit"),
    ] {
        let answer = app.get(path).await?;
        assert_eq!(answer.status, 400, "{path}: {:?}", answer.body);
        let error = answer.body["error"].as_str().unwrap_or_default();
        assert!(error.contains(named), "{path}: {error}");
    }
    Ok(())
}
