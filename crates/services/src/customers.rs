//! Customers as data subjects: forgetting one (GDPR Art. 17) by crypto-shredding. The
//! customer's keys are destroyed, which makes every copy of their personal data, in the
//! store, on the bus, in exports and backups, read as erased at once; then
//! `CustomerForgotten` records who did it, when and why, and tells the services that
//! keep copies in the clear (the read models, the mail folder) to drop them.
//!
//! The keys go first: if recording fails after that, the data is already gone, and
//! forgetting again (which destroys nothing more) records it.

use chrono::Utc;
use orderflow_core::keys::KeyStore;
use orderflow_core::store::ExpectedVersion;
use orderflow_domain::events::CustomerForgotten;
use orderflow_domain::{CustomerId, Timestamp, streams};

use crate::context::{Cause, Recorder, ServiceError};

/// What forgetting a customer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgetting {
    pub keys_destroyed: usize,
    pub at: chrono::DateTime<Utc>,
    /// The store position of `CustomerForgotten`.
    pub position: u64,
}

/// Forgets `customer` for `reason`, as `by` asks.
pub async fn forget(
    keys: &dyn KeyStore,
    recorder: &Recorder,
    customer: &CustomerId,
    reason: &str,
    by: &str,
) -> Result<Forgetting, ServiceError> {
    let at = Utc::now();
    let forgotten = keys.forget(customer.as_str(), at).await?;
    let event = CustomerForgotten {
        customer_id: customer.clone(),
        reason: reason.to_owned(),
        by: by.to_owned(),
        keys_destroyed: u32::try_from(forgotten.destroyed).unwrap_or(u32::MAX),
        at: Timestamp(at.timestamp_millis()),
    };
    let cause = Cause {
        causation_id: None,
        actor: by,
        now: at,
    };
    let position = recorder
        .append(
            &streams::customer(customer),
            ExpectedVersion::Any,
            &[event.into()],
            cause,
        )
        .await?;
    Ok(Forgetting {
        keys_destroyed: forgotten.destroyed,
        at,
        position,
    })
}
