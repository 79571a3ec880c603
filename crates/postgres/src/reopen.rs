//! The contract's checkpoint scenario opens a store again, as a restarted process would.

use orderflow_core::contract::store::Reopen;
use orderflow_core::store::StoreError;
use sqlx::ConnectOptions;

use crate::{PgEventStore, PoolSettings};

#[async_trait::async_trait]
impl Reopen for PgEventStore {
    /// Closes this store's connections and connects again, to the same server as the
    /// same user, in the same schema.
    async fn reopen(self) -> Result<Self, StoreError> {
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(Box::new(e));
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(self.pool())
            .await
            .map_err(unavailable)?;
        let url = self.pool().connect_options().to_url_lossy();
        self.pool().close().await;
        let settings = PoolSettings {
            schema: Some(schema),
            ..PoolSettings::default()
        };
        PgEventStore::connect(url.as_str(), &settings).await
    }
}
