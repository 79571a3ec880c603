//! Logs an operator can use: a handler's failure names the group, the record's place on
//! the bus, the kind of failure, the order and its trace.

use std::process::Stdio;

use orderflow_core::EventBus;
use orderflow_core::bus::OutgoingRecord;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn a_record_set_aside_is_logged_in_json_with_its_group_place_kind_order_and_trace()
-> TestResult {
    let deployment = Deployment::new()?;
    let ready_file = deployment.dir.path().join("ready.json");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args([
            "serve",
            "payment",
            "--http",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .arg("--data-dir")
        .arg(deployment.data_dir())
        .arg("--ready-file")
        .arg(&ready_file)
        .env("ORDERFLOW_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    ready(&ready_file, &mut child).await?;
    let bus = orderflow_sqlite::SqliteBus::open(&deployment.data_dir().join("bus.db"))?;
    bus.publish(vec![OutgoingRecord {
        topic: "orders".into(),
        key: "order-poison".into(),
        value: b"not avro at all".to_vec(),
        headers: vec![(
            "traceparent".into(),
            format!("00-{TRACE_ID}-00f067aa0ba902b7-01").into_bytes(),
        )],
        timestamp: chrono::Utc::now(),
    }])
    .await?;

    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await? {
            let object: Value = serde_json::from_str(&line)?;
            if object["fields"]["message"] == "dead-lettering a record" {
                return Ok(object);
            }
            seen.push(line);
        }
        Err::<_, Box<dyn std::error::Error + Send + Sync>>("the process ended first".into())
    })
    .await;
    let set_aside = found.map_err(|_| format!("no record set aside in the log: {seen:?}"))??;
    let fields = &set_aside["fields"];
    assert_eq!(fields["group"], "payment", "{set_aside}");
    assert_eq!(fields["topic"], "orders", "{set_aside}");
    assert!(fields["partition"].is_u64(), "{set_aside}");
    assert_eq!(fields["offset"], 0, "{set_aside}");
    assert_eq!(fields["kind"], "permanent", "{set_aside}");
    assert_eq!(fields["order_id"], "order-poison", "{set_aside}");
    assert_eq!(fields["trace_id"], TRACE_ID, "{set_aside}");
    Ok(())
}
