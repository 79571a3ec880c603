//! Errors name their real culprit.

use axum::body::Body;
use axum::http::{Method, Request};

use crate::support::*;

#[tokio::test]
async fn a_damaged_read_model_file_is_named_as_the_read_models_not_the_event_store() -> TestResult {
    let app = App::new().await?;
    // Damage the read models' file behind the API's back: its tables are gone.
    let read = rusqlite::Connection::open(app.data_dir().join("read.db"))?;
    read.execute_batch("DROP TABLE analytics_revenue; DROP TABLE stock_views;")?;
    for path in ["/analytics", "/inventory/SKU-1"] {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .body(Body::empty())?;
        let answer = app.send(request).await?;
        assert_eq!(answer.status, 503, "{path}: {:?}", answer.body);
        assert!(
            answer.error().contains("read models"),
            "{path}: {}",
            answer.error()
        );
        assert!(
            !answer.error().contains("event store"),
            "{}",
            answer.error()
        );
    }
    Ok(())
}
