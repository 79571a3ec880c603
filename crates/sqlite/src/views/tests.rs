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
        .apply(ViewBatch {
            position: 42,
            ..ViewBatch::default()
        })
        .await?;
    assert_eq!(SqliteReadModel::open(&path)?.position().await?, 42);
    Ok(())
}
