//! The operator console in a real browser (headless chromium over WebDriver): find an
//! order by id, read its timeline with every service's events in order, move the slider
//! back to before its payment and see it PENDING; watch the payment stage's lag rise
//! while payment is stopped and fall once it is back, on a page that updates itself;
//! replay a parked payment and see its order complete; and a screenshot of every view
//! for docs/console/, made by these runs.

use fantoccini::Locator;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn in_a_browser_an_order_is_found_by_id_its_story_read_and_the_slider_moved_back()
-> TestResult {
    let deployment = Deployment::new()?;
    let run = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &run);
    api.set_stock("UI-1", 10).await?;
    let (id, _) = api.place("c-ui", json!([item("UI-1", 2, 12.5)])).await?;
    api.wait_status(&id, "SHIPPED").await?;
    // The whole story: both emails sent, and the shipped units let go of (inventory's
    // last step, which may come after the emails).
    let types = eventually(|| async {
        let types = api.history_types(&id).await?;
        let mailed = types.iter().filter(|t| *t == "NotificationSent").count();
        let fulfilled = types.iter().any(|t| t == "StockFulfilled");
        Ok((mailed == 2 && fulfilled).then_some(types))
    })
    .await?;

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&format!("{}/ui/orders", api.base)).await?;
    browser.screenshot("orders").await?;
    let search = c.find(Locator::Css("input[name=id]")).await?;
    search.send_keys(&id).await?;
    // Enter submits the search: the order's page opens.
    search.send_keys("\u{E007}").await?;
    c.wait().for_element(Locator::Id("timeline")).await?;
    let url = c.current_url().await?;
    assert!(url.path().ends_with(&format!("/ui/orders/{id}")), "{url}");

    // Every service's events, in the order they were recorded, each in its lane.
    let mut shown = Vec::new();
    let mut lanes = std::collections::BTreeSet::new();
    for row in c.find_all(Locator::Css("#timeline tbody tr")).await? {
        shown.push(row.attr("data-type").await?.unwrap_or_default());
        lanes.insert(row.attr("data-lane").await?.unwrap_or_default());
    }
    assert_eq!(shown, types);
    let expected: std::collections::BTreeSet<String> = [
        "api",
        "inventory",
        "notification",
        "orders",
        "payment",
        "shipping",
    ]
    .map(String::from)
    .into();
    assert_eq!(lanes, expected);
    let now = c.find(Locator::Id("now-status")).await?.text().await?;
    assert_eq!(now, "SHIPPED");
    // Its two emails, rendered as the customer got them, with the order's lines.
    let mails = c.find_all(Locator::Css("iframe.mail")).await?;
    assert_eq!(mails.len(), 2);
    let shown = mails[0].attr("srcdoc").await?.unwrap_or_default();
    assert!(
        shown.contains("UI-1") && shown.contains("25.00 EUR"),
        "{shown}"
    );
    browser.screenshot("order").await?;

    // The slider, moved back to the step before the payment: the order as it was then.
    let before_payment = types
        .iter()
        .position(|t| t == "PaymentReceived")
        .ok_or("no payment")?;
    c.execute(
        "const s = document.getElementById('step'); s.value = arguments[0]; \
         s.dispatchEvent(new Event('change'));",
        vec![json!(before_payment)],
    )
    .await?;
    let then = eventually(|| async {
        let url = c.current_url().await?;
        if !url.query().unwrap_or_default().contains("step=") {
            return Ok(None);
        }
        Ok(Some(
            c.find(Locator::Id("then-status")).await?.text().await?,
        ))
    })
    .await?;
    assert_eq!(then, "PENDING");

    // A subject with two versions, for the schemas view's diff.
    let (_, subjects) = api.get("/schema-registry/subjects").await?;
    let mut evolved = None;
    for subject in subjects.as_array().ok_or("no subjects")? {
        let subject = subject.as_str().ok_or("a subject")?;
        let (_, versions) = api
            .get(&format!("/schema-registry/subjects/{subject}/versions"))
            .await?;
        if versions.as_array().is_some_and(|v| v.len() >= 2) {
            evolved = Some(subject.to_owned());
        }
    }
    let subject = evolved.ok_or("no subject with two versions")?;
    let schemas = format!("/ui/schemas?subject={subject}&from=1&to=2");
    // Every group has its live member by now: no stage or group is shown red.
    eventually(|| async {
        c.goto(&format!("{}/ui", api.base)).await?;
        let red = c.find_all(Locator::Css("#groups tr.bad")).await?;
        Ok(red.is_empty().then_some(()))
    })
    .await?;
    for (name, path, shows) in [
        ("pipeline", "/ui", "stages"),
        ("consumers", "/ui/consumers", "consumer-groups"),
        ("schemas", schemas.as_str(), "diff"),
        ("events", "/ui/events", "events"),
    ] {
        c.goto(&format!("{}{path}", api.base)).await?;
        c.wait().for_element(Locator::Id(shows)).await?;
        browser.screenshot(name).await?;
    }
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn in_a_browser_a_forgotten_customers_address_shows_as_erased_and_is_nowhere_in_the_page()
-> TestResult {
    const ADDRESS: &str = "4 Privet Drive, Little Whinging";
    let deployment = Deployment::new()?;
    let run = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &run);
    api.set_stock("UI-2", 5).await?;
    let order = json!({
        "customerId": "c-ui-gone",
        "items": [item("UI-2", 1, 9.0)],
        "shippingAddress": ADDRESS,
    });
    let (status, placed) = api
        .send(reqwest::Method::POST, "/orders", Some(order))
        .await?;
    assert_eq!(status, 202, "{placed}");
    let id = placed["orderId"].as_str().ok_or("no orderId")?.to_owned();
    api.wait_status(&id, "SHIPPED").await?;

    let browser = Browser::start().await?;
    let c = &browser.client;
    let page = format!("{}/ui/orders/{id}", api.base);
    c.goto(&page).await?;
    let ship_to = c.wait().for_element(Locator::Id("now-ship-to")).await?;
    assert_eq!(ship_to.text().await?, ADDRESS);

    let forget = [
        "customers",
        "forget",
        "c-ui-gone",
        "--reason",
        "asked by mail",
    ];
    stdout(&deployment.command(&forget).await?)?;
    c.goto(&page).await?;
    let ship_to = c.wait().for_element(Locator::Id("now-ship-to")).await?;
    assert_eq!(ship_to.text().await?, "[erased]");
    assert_eq!(
        c.find(Locator::Id("now-status")).await?.text().await?,
        "SHIPPED"
    );
    // Not in the timeline's events or the emails either.
    let source = c.source().await?;
    assert!(
        !source.contains(ADDRESS),
        "the page still shows the address"
    );
    browser.close().await?;
    Ok(())
}

/// The payment row of the pipeline page's groups as it stands now (the page is not
/// loaded again: server-sent events keep it up to date): whether it is red, and its lag.
async fn payment_row(c: &fantoccini::Client) -> Res<Option<(bool, u64)>> {
    // Read in one step in the page: the tables are replaced as updates arrive.
    let row = c
        .execute(
            "const r = document.querySelector('#groups tr[data-group=payment]'); \
             return r ? [r.className, r.cells[2].textContent] : null;",
            vec![],
        )
        .await?;
    let Some(cells) = row.as_array() else {
        return Ok(None);
    };
    let (Some(class), Some(lag)) = (cells.first(), cells.get(1)) else {
        return Ok(None);
    };
    let red: bool = class.as_str().is_some_and(|c| c.contains("bad"));
    let lag = lag.as_str().ok_or("no lag")?.trim().parse()?;
    Ok(Some((red, lag)))
}

#[tokio::test]
async fn in_a_browser_a_stages_lag_rises_while_its_service_is_stopped_and_a_replayed_record_completes_its_order()
-> TestResult {
    let deployment = Deployment::new()?;
    let core = deployment.start(ALL_BUT_PAYMENT, &[]).await?;
    let api = Api::of(&deployment, &core);
    // A provider that is down: the payment is parked after a second of retries.
    let down = [
        "--payment-failure-rate",
        "1",
        "--give-up-after-seconds",
        "1",
    ];
    let mut payment = deployment.start("payment", &down).await?;
    api.set_stock("UI-2", 10).await?;
    let (parked, _) = api.place("c-ui", json!([item("UI-2", 1, 7.0)])).await?;

    let browser = Browser::start().await?;
    let c = &browser.client;
    let id = eventually(|| async {
        c.goto(&format!("{}/ui/dlq", api.base)).await?;
        for row in c.find_all(Locator::Css("#parked tbody tr")).await? {
            if row.text().await?.contains(&parked) {
                return Ok(row.attr("data-id").await?);
            }
        }
        Ok(None)
    })
    .await?;
    browser.screenshot("dlq").await?;

    // Payment stops: on the pipeline page, left open, its group turns red and its lag
    // rises as orders come in.
    c.goto(&format!("{}/ui", api.base)).await?;
    payment.terminate().await?;
    let (later, _) = api.place("c-ui", json!([item("UI-2", 1, 7.0)])).await?;
    eventually(|| async {
        let row = payment_row(c).await?;
        Ok(row.filter(|(red, lag)| *red && *lag > 0))
    })
    .await?;
    // It is back: the page shows it catching up, without being loaded again.
    let _payment = deployment.start("payment", &[]).await?;
    eventually(|| async {
        let row = payment_row(c).await?;
        Ok(row.filter(|(red, lag)| !*red && *lag == 0))
    })
    .await?;
    api.wait_status(&later, "SHIPPED").await?;

    // The cause is fixed: Replay on the dead-letters page sends the record back, and
    // the order completes.
    c.goto(&format!("{}/ui/dlq", api.base)).await?;
    let replay = c
        .find(Locator::Css(&format!(
            "button[data-action=replay][data-id=\"{id}\"]"
        )))
        .await?;
    replay.click().await?;
    api.wait_status(&parked, "SHIPPED").await?;
    c.goto(&format!("{}/ui/orders/{parked}", api.base)).await?;
    let status = c.find(Locator::Id("now-status")).await?.text().await?;
    assert_eq!(status, "SHIPPED");
    browser.close().await?;
    Ok(())
}
