//! A record that cannot be read is set aside, and the handler is told where it was.

use std::sync::Mutex;

use super::*;

/// Notes where the unreadable records it is told about were; stops at the first.
#[derive(Debug, Default)]
struct UnreadableLog {
    origins: Mutex<Vec<Origin>>,
    shutdown: CancellationToken,
}

#[async_trait]
impl Handler for UnreadableLog {
    fn group(&self) -> Group {
        Group {
            name: "unreadable",
            topics: &[Topic::Orders],
        }
    }

    async fn handle(&self, _: &Event, _: &Delivery) -> Result<(), ServiceError> {
        Ok(())
    }

    async fn unreadable(&self, origin: &Origin) -> Result<(), ServiceError> {
        lock(&self.origins).push(origin.clone());
        self.shutdown.cancel();
        Ok(())
    }
}

#[tokio::test]
async fn the_handler_is_told_where_an_unreadable_record_set_aside_was() -> TestResult {
    let setup = Setup::new().await?;
    setup
        .bus
        .publish(vec![
            Setup::record("k", setup.order_created.clone()),
            Setup::record("k", vec![0, 0, 0, 0, 99]),
        ])
        .await?;
    let handler = Arc::new(UnreadableLog::default());
    let consumer = run(
        setup.bus.clone(),
        setup.codec.clone(),
        handler.clone(),
        StartFrom::Earliest,
        handler.shutdown.clone(),
    );
    stops(consumer).await??;

    let origins = lock(&handler.origins).clone();
    assert_eq!(origins.len(), 1, "{origins:?}");
    assert_eq!(
        (origins[0].topic.as_str(), origins[0].offset),
        ("orders", 1)
    );
    Ok(())
}
