//! "Why is this order waiting?": with payment not running, an order says it waits for
//! payment, whose group has no live member, on the API (`waitingFor`, `/pipeline`) and
//! on the command line (`order`, `status`); once payment runs, it waits for nothing.
//! And `consumers`, a line per group, each partition with `--partitions`.

use serde_json::{Value, json};

use crate::support::*;

fn steps(order: &Value) -> Vec<String> {
    order["waitingFor"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["step"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_order_waits_for_payment_while_its_group_has_no_live_member() -> TestResult {
    let deployment = Deployment::new()?;
    let core = deployment.start(ALL_BUT_PAYMENT, &[]).await?;
    let api = Api::of(&deployment, &core);
    api.set_stock("WF-1", 10).await?;
    let (order_id, _) = api.place("c-wf", json!([item("WF-1", 1, 5.00)])).await?;

    // Stock is reserved and the email sent; payment alone is missing.
    let order = eventually(|| async {
        let (code, body) = api.get(&format!("/orders/{order_id}")).await?;
        Ok((code == 200 && steps(&body) == ["payment"]).then_some(body))
    })
    .await?;
    let payment = &order["waitingFor"][0];
    assert_eq!(payment["group"], "payment", "{payment}");
    assert_eq!(payment["live"], false, "{payment}");
    assert_eq!(payment["parked"], json!([]), "{payment}");

    let out = deployment
        .command(&["order", &order_id, "--api", &api.base])
        .await?;
    let said = String::from_utf8(out.stdout)?;
    assert!(
        said.contains("waiting for payment: group payment has NO live member"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The API reads the groups at most every few seconds, so its first answer may
    // predate inventory's joining its group: wait until it lists inventory live.
    let pipeline = eventually(|| async {
        let out = deployment
            .command(&["status", "--api", &api.base, "--json"])
            .await?;
        let pipeline: Value = serde_json::from_slice(&out.stdout)?;
        let inventory_live = pipeline["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|g| g["group"] == "inventory" && g["live"] == true);
        Ok(inventory_live.then_some(pipeline))
    })
    .await?;
    let stage = pipeline["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "payment"))
        .ok_or_else(|| format!("no payment stage in {pipeline}"))?;
    assert_eq!(stage["orders"], 1, "{stage}");
    assert_eq!(stage["oldestOrderId"], order_id.as_str(), "{stage}");
    let group = pipeline["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["group"] == "payment"))
        .ok_or_else(|| format!("no payment group in {pipeline}"))?;
    assert_eq!(group["live"], false, "{group}");

    let _payment = deployment.start("payment", &[]).await?;
    api.wait_status(&order_id, "SHIPPED").await?;
    eventually(|| async {
        let (_, body) = api.get(&format!("/orders/{order_id}")).await?;
        Ok(steps(&body).is_empty().then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn consumers_prints_one_line_per_group_and_each_partition_on_request() -> TestResult {
    let deployment = Deployment::new()?;
    let core = deployment.start(ALL_BUT_PAYMENT, &[]).await?;
    let api = Api::of(&deployment, &core);
    api.set_stock("WF-2", 10).await?;
    let (order_id, _) = api.place("c-wf", json!([item("WF-2", 1, 5.00)])).await?;
    api.wait_status(&order_id, "PENDING").await?;

    let out = deployment.command(&["consumers"]).await?;
    let table = String::from_utf8(out.stdout)?;
    let line = |group: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(group))
            .map(str::to_owned)
    };
    let inventory = line("inventory").ok_or_else(|| format!("no inventory in:\n{table}"))?;
    assert!(inventory.contains("1 alive"), "{table}");
    assert!(line("payment").is_none(), "{table}");
    assert!(!table.contains("PARTITION"), "{table}");

    let out = deployment.command(&["consumers", "--partitions"]).await?;
    let detail = String::from_utf8(out.stdout)?;
    assert!(detail.contains("PARTITION"), "{detail}");
    let inventory_partitions = detail
        .lines()
        .filter(|l| l.starts_with("inventory") && l.contains(" orders "))
        .count();
    assert_eq!(inventory_partitions, 12, "{detail}");
    Ok(())
}
