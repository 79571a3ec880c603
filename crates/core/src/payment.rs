//! The payment-provider port.
//!
//! Every call carries an idempotency key the caller chooses, as real providers' APIs
//! do: a call under a key already answered is a replay, answered as the first time and
//! taking no money; a call under a new key is a new request, so an order charged under
//! two keys is charged twice. Payment derives its keys from the order, so that every
//! attempt at one step (after a crash, a redelivery, a conflict) asks under one key.

use async_trait::async_trait;
use orderflow_domain::payment::ChargeOutcome;
use orderflow_domain::{Money, OrderId};

/// Why the provider gave no answer (a declined charge is an answer, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider cannot be reached or failed inside: try again later, under the same
    /// idempotency key.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request itself (malformed, not allowed, a key reused
    /// for another request): asking again never helps.
    #[error("payment provider refused the request: {0}")]
    Refused(String),
}

impl ProviderError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Unavailable(_))
    }
}

#[async_trait]
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Charges `amount` for the order, once per `idempotency_key`: asked again under
    /// the key, answers as the first time.
    async fn charge(
        &self,
        idempotency_key: &str,
        order: &OrderId,
        amount: Money,
    ) -> Result<ChargeOutcome, ProviderError>;
    /// Refunds the order's charge, once per `idempotency_key`. Returns the refund's id.
    async fn refund(
        &self,
        idempotency_key: &str,
        order: &OrderId,
        amount: Money,
    ) -> Result<String, ProviderError>;
    /// Makes sure the charge under `idempotency_key` is never made: closes the key
    /// without taking money, so that a later `charge` under it answers `Voided` too.
    /// If a charge was already made under the key (by an attempt that could not record
    /// it), nothing is voided and that charge's answer is returned instead.
    async fn void(
        &self,
        idempotency_key: &str,
        order: &OrderId,
        amount: Money,
        reason: &str,
    ) -> Result<ChargeOutcome, ProviderError>;
}
