use super::*;

mod contract {
    orderflow_core::read_model_contract!(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let model = super::SqliteReadModel::open(&dir.path().join("read.db")).expect("open");
        (model, dir)
    });
}

#[tokio::test]
async fn the_position_survives_reopening() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("read.db");
    SqliteReadModel::open(&path)?
        .apply(ReadModelBatch {
            forgotten: Vec::new(),
            position: 42,
            ..ReadModelBatch::default()
        })
        .await?;
    assert_eq!(SqliteReadModel::open(&path)?.position().await?, 42);
    Ok(())
}

fn order(status: &str) -> OrderSummary {
    let at = chrono::DateTime::from_timestamp_micros(1_700_000_000_000_000).expect("time");
    OrderSummary {
        order_id: "o-1".into(),
        customer_id: "c-1".into(),
        status: status.into(),
        items: vec![OrderLineSummary {
            sku: "SKU-1".into(),
            quantity: 2,
            unit_price_cents: 1999,
        }],
        total_cents: 3998,
        currency: "EUR".into(),
        shipping_address: None,
        created_at: at,
        updated_at: at,
        cancel_reason: None,
        tracking_number: None,
        failures: vec![],
    }
}

async fn apply_order(
    model: &SqliteReadModel,
    summary: OrderSummary,
    position: u64,
) -> Result<(), StoreError> {
    model
        .apply(ReadModelBatch {
            forgotten: Vec::new(),
            orders: vec![summary],
            position,
            ..ReadModelBatch::default()
        })
        .await
}

#[tokio::test]
async fn keyed_view_tables_keep_their_rows_in_the_key_b_tree_alone() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("read.db");
    SqliteReadModel::open(&path)?;
    let conn = Connection::open(&path).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
    for table in [
        "order_views",
        "stock_views",
        "analytics_seen_events",
        "analytics_order_status",
        "analytics_revenue",
    ] {
        // `wr` is 1 for a WITHOUT ROWID table; a missing table has no row at all.
        let without_rowid: Option<bool> = conn
            .query_row(
                "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        assert_eq!(without_rowid, Some(true), "{table} (None: no such table)");
    }
    Ok(())
}

/// Read models written by versions whose tables had rowids (and were updated with
/// `INSERT OR REPLACE`) go on working: the tables are not recreated, and the upserts
/// work on them.
#[tokio::test]
async fn a_read_model_from_before_without_rowid_tables_is_still_updated() -> Result<(), StoreError>
{
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("read.db");
    let old = SCHEMA.replace(" WITHOUT ROWID", "");
    Connection::open(&path)
        .and_then(|c| c.execute_batch(&old))
        .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
    let model = SqliteReadModel::open(&path)?;
    apply_order(&model, order("PENDING"), 1).await?;
    let mut shipped = order("SHIPPED");
    shipped.tracking_number = Some("TRK-1".into());
    // A column added after the first layout: a file from before gets it.
    shipped.failures = vec!["the ORDER_SHIPPED email could not be sent".into()];
    apply_order(&model, shipped.clone(), 2).await?;
    assert_eq!(model.order("o-1").await?, Some(shipped.clone()));
    assert_eq!(model.customer_orders("c-1").await?, vec![shipped]);
    assert_eq!(model.position().await?, 2);
    Ok(())
}

mod generations_contract {
    orderflow_core::read_model_generations_contract!(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("read.db");
        let live = super::SqliteReadModel::open(&path).expect("open");
        let generations = super::SqliteGenerations::new(live.clone(), &path);
        (generations, live, dir)
    });
}
