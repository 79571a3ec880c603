//! How the API is protected: open, open on loopback only, or by tokens.

use std::sync::Arc;

use super::Tokens;

/// How the API is protected.
#[derive(Debug, Clone, Default)]
pub enum Access {
    /// No tokens: every route is open (the binary serves it so only when told to run
    /// unauthenticated off loopback). Cross-site simple requests are still refused.
    #[default]
    Open,
    /// No tokens, served on a loopback address: as [`Access::Open`], and a request
    /// addressed to a name that is not a loopback one (`Host: evil.example`) is refused
    /// with `403`. A web page whose own name an attacker made resolve to 127.0.0.1 (DNS
    /// rebinding) is same-origin with the API, so CORS does not stop it; its requests
    /// still carry its own name.
    Loopback,
    /// Every route but `GET /health` needs a token of a role that is enough.
    Tokens(Arc<Tokens>),
}

impl Access {
    /// `Open` when `tokens` is empty.
    pub fn with(tokens: Tokens) -> Self {
        if tokens.is_empty() {
            Access::Open
        } else {
            Access::Tokens(Arc::new(tokens))
        }
    }

    /// Whether there are no tokens.
    pub fn is_open(&self) -> bool {
        !matches!(self, Access::Tokens(_))
    }
}
