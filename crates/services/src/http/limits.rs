//! How much one request may carry. Each is a setting (`orderflow run --help`,
//! docs/operations.md "Configuration"); a request past one is refused (`413` for the
//! body, `422` for the rest) before anything is written.

/// The API's request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body, in bytes (`413` past it).
    pub max_body_bytes: usize,
    /// The most lines (`items`) one order may have.
    pub max_order_lines: usize,
    /// The longest customer id or SKU a client may send, in characters; at most
    /// [`Limits::ID_LENGTH_CAP`]. Order ids are made by the API.
    pub max_id_length: usize,
    /// The longest shipping address, in characters.
    pub max_address_length: usize,
}

impl Limits {
    /// The defaults: a 64 KiB body, 100 lines, 64-character ids, 1,000-character
    /// addresses. An order at every limit (100 lines of 64-character SKUs, a 1,000
    /// character address) is under 20 KB of JSON, well inside the body limit.
    pub const DEFAULT: Limits = Limits {
        max_body_bytes: 64 * 1024,
        max_order_lines: 100,
        max_id_length: 64,
        max_address_length: 1_000,
    };

    /// The domain's own bound on identifiers (and the local part of the email address
    /// derived from a customer id): `max_id_length` can only be lower.
    pub const ID_LENGTH_CAP: usize = 64;

    /// Checks that every limit lets something through and that ids stay within the
    /// domain's bound; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("max-body-bytes", self.max_body_bytes),
            ("max-order-lines", self.max_order_lines),
            ("max-id-length", self.max_id_length),
            ("max-address-length", self.max_address_length),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("--{name} must be at least 1"));
        }
        if self.max_id_length > Self::ID_LENGTH_CAP {
            return Err(format!(
                "--max-id-length must be at most {} (the longest id the domain accepts)",
                Self::ID_LENGTH_CAP
            ));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
