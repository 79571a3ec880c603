//! Connecting securely: the event store on PostgreSQL and the bus on Kafka, each over
//! TLS with the server's certificate verified against a private CA.
//!
//! `scripts/test` makes a throwaway CA and a certificate for 127.0.0.1
//! (`ORDERFLOW_TEST_TLS_DIR`), and starts its PostgreSQL with TLS on
//! (`ORDERFLOW_TEST_DATABASE_TLS_CA`) and its Kafka cluster with TLS listeners
//! (`ORDERFLOW_TEST_KAFKA_TLS_URL`) using that certificate.

use std::path::PathBuf;

use serde_json::json;

use crate::support::*;

fn test_tls_file(var: &str, name: &str) -> Res<PathBuf> {
    let dir = std::env::var(var).map_err(|_| {
        format!(
            "{var} is not set: run ./scripts/test, which makes a test CA and starts \
             PostgreSQL with TLS"
        )
    })?;
    let path = PathBuf::from(dir);
    Ok(if name.is_empty() {
        path
    } else {
        path.join(name)
    })
}

/// The application name the processes' connections carry, to find them on the server.
fn tagged(url: &str, query: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{query}")
}

#[tokio::test]
async fn the_store_on_postgres_is_reached_over_tls_with_the_servers_certificate_verified()
-> TestResult {
    let ca = test_tls_file("ORDERFLOW_TEST_DATABASE_TLS_CA", "")?;
    let plain = fresh_postgres_database().await?;
    let name = format!("orderflow-tls-{}", uuid::Uuid::new_v4().simple());
    let secure = tagged(
        &plain,
        &format!(
            "sslmode=verify-full&sslrootcert={}&application_name={name}",
            ca.display()
        ),
    );
    let deployment = Deployment::new()?;
    let app = deployment
        .start("run", &["--store", &secure, "--db-max-connections", "2"])
        .await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("TLS-1", 5).await?;
    let (order, _) = api.place("c-tls", json!([item("TLS-1", 1, 2.0)])).await?;
    api.wait_status(&order, "SHIPPED").await?;

    let admin = sqlx::PgPool::connect(&plain).await?;
    let (connections, all_tls): (i64, Option<bool>) = sqlx::query_as(
        "SELECT count(*), bool_and(s.ssl) FROM pg_stat_activity a \
         JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.application_name = $1",
    )
    .bind(&name)
    .fetch_one(&admin)
    .await?;
    assert!(connections > 0, "no connection of the process was found");
    assert_eq!(all_tls, Some(true), "a connection was not encrypted");
    Ok(())
}

#[tokio::test]
async fn a_postgres_certificate_from_an_unknown_authority_is_refused() -> TestResult {
    let plain = fresh_postgres_database().await?;
    // No `sslrootcert`: the server's certificate is signed by the test CA, which only
    // that file makes known.
    let store = tagged(&plain, "sslmode=verify-full");
    let deployment = Deployment::new()?;
    let refused = tokio::time::timeout(
        PATIENCE,
        deployment.command(&["migrate", "--store", &store]),
    )
    .await??;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    Ok(())
}

#[tokio::test]
async fn the_bus_on_kafka_is_reached_over_tls_with_the_brokers_certificate_verified() -> TestResult
{
    let ca = test_tls_file("ORDERFLOW_TEST_TLS_DIR", "ca.pem")?;
    let mut deployment = Deployment::on_kafka(&kafka_tls_url())?;
    deployment.env.extend([
        ("ORDERFLOW_KAFKA_SECURITY_PROTOCOL".into(), "SSL".into()),
        (
            "ORDERFLOW_KAFKA_SSL_CA_LOCATION".into(),
            ca.display().to_string(),
        ),
    ]);
    let app = deployment.start("run", &[]).await?;
    let api = Api::of(&deployment, &app);
    api.set_stock("TLS-2", 5).await?;
    let (order, _) = api.place("c-tls", json!([item("TLS-2", 1, 2.0)])).await?;
    api.wait_status(&order, "SHIPPED").await?;
    Ok(())
}
