//! Forgetting on PostgreSQL: no table, index or TOAST file of the database holds an
//! address in the clear, nor, once forgotten, the customer's key.

use super::*;

/// Every table, index and TOAST file of the database whose bytes on disk hold `bytes`.
async fn relations_holding(db: &sqlx::PgPool, bytes: &[u8]) -> Res<Vec<String>> {
    sqlx::query("CHECKPOINT").execute(db).await?;
    let relations: Vec<String> = sqlx::query_scalar(
        "SELECT c.oid::regclass::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 't', 'i', 'm') AND c.relpersistence = 'p' \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(db)
    .await?;
    let mut holding = Vec::new();
    for relation in relations {
        let holds: bool = sqlx::query_scalar(
            "SELECT position($1 IN pg_read_binary_file(pg_relation_filepath($2::regclass))) > 0",
        )
        .bind(bytes)
        .bind(&relation)
        .fetch_one(db)
        .await?;
        if holds {
            holding.push(relation);
        }
    }
    Ok(holding)
}

async fn key_of(db: &sqlx::PgPool, customer: &str) -> Res<Vec<u8>> {
    Ok(
        sqlx::query_scalar("SELECT key FROM subject_keys WHERE subject = $1 AND key IS NOT NULL")
            .bind(customer)
            .fetch_one(db)
            .await?,
    )
}

#[tokio::test]
async fn on_postgres_a_forgotten_customers_address_and_key_are_in_no_table_and_history_adds_up()
-> TestResult {
    let url = fresh_postgres_database().await?;
    let store = ["--store", url.as_str()];
    let deployment = Deployment::new()?;
    let mut app = deployment
        .start(
            "run",
            &[&store[..], &["--db-max-connections", "4"]].concat(),
        )
        .await?;
    let api = Api::of(&deployment, &app);
    let orders = two_shipped(&deployment, &api).await?;
    let db = sqlx::PgPool::connect(&url).await?;
    let destroyed = key_of(&db, "c-gone").await?;
    let kept_key = key_of(&db, "c-kept").await?;
    assert_eq!(
        relations_holding(&db, &destroyed).await?,
        ["subject_keys"],
        "the search reads the tables' files"
    );

    forget_gone(&deployment, &store, &api, &orders).await?;
    app.terminate().await?;
    rebuild(&deployment, &store).await?;

    // Neither address was ever stored in the clear; the forgotten customer's key is gone
    // from every file of the database, the other's is where it was.
    for address in [ADDRESS, OTHER_ADDRESS] {
        let holding = relations_holding(&db, address.as_bytes()).await?;
        assert!(holding.is_empty(), "{address} in {holding:?}");
    }
    let holding = relations_holding(&db, &destroyed).await?;
    assert!(holding.is_empty(), "the destroyed key is in {holding:?}");
    assert_eq!(relations_holding(&db, &kept_key).await?, ["subject_keys"]);
    let data_dir = deployment.data_dir();
    let nowhere = files_holding(data_dir.parent().ok_or("no parent")?, ADDRESS)?;
    assert!(
        nowhere.is_empty(),
        "the forgotten address is in {nowhere:?}"
    );
    db.close().await;
    adds_up_after_a_restart(&deployment, &store, &orders).await
}
