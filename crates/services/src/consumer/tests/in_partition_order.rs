//! A handler that asks for partition order gets each partition's records one after
//! another, in offset order, whatever their keys.

use std::sync::Mutex;

use orderflow_core::bus::{DEFAULT_PARTITIONS, partition_for};

use super::*;

/// Notes the offsets it is handed; the first record is slow, so that records of other
/// keys behind it would overtake it on lanes of their own.
#[derive(Debug, Default)]
struct OffsetLog {
    offsets: Mutex<Vec<u64>>,
    expected: usize,
    shutdown: CancellationToken,
}

#[async_trait]
impl Handler for OffsetLog {
    fn group(&self) -> Group {
        Group {
            name: "ordered",
            topics: &[Topic::Orders],
        }
    }

    fn in_partition_order(&self) -> bool {
        true
    }

    async fn handle(&self, _: &Event, delivery: &Delivery) -> Result<(), ServiceError> {
        if delivery.origin.offset == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut offsets = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        offsets.push(delivery.origin.offset);
        if offsets.len() == self.expected {
            self.shutdown.cancel();
        }
        Ok(())
    }
}

#[tokio::test]
async fn records_of_one_partition_under_many_keys_are_handled_in_offset_order() -> TestResult {
    let setup = Setup::new().await?;
    let partition = partition_for(b"order-0", DEFAULT_PARTITIONS);
    let keys: Vec<String> = (0..)
        .map(|i| format!("order-{i}"))
        .filter(|k| partition_for(k.as_bytes(), DEFAULT_PARTITIONS) == partition)
        .take(10)
        .collect();
    let records = keys
        .iter()
        .map(|k| Setup::record(k, setup.order_created.clone()))
        .collect();
    setup.bus.publish(records).await?;

    let handler = Arc::new(OffsetLog {
        expected: keys.len(),
        ..OffsetLog::default()
    });
    let consumer = run(
        setup.bus.clone(),
        setup.codec.clone(),
        handler.clone(),
        StartFrom::Earliest,
        handler.shutdown.clone(),
    );
    stops(consumer).await??;

    let offsets = handler.offsets.lock().unwrap_or_else(|p| p.into_inner());
    assert_eq!(*offsets, (0..keys.len() as u64).collect::<Vec<_>>());
    Ok(())
}
