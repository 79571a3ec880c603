//! Value objects built at the edges: once constructed they are valid.

use std::fmt;

use crate::DomainError;

mod personal;

pub use personal::Personal;

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses an identifier: 1 to 64 characters of letters, digits, `-`, `_`, `.` or `:`.
            pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
                let raw = raw.into();
                let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
                if raw.is_empty() || raw.len() > 64 || !raw.chars().all(valid_char) {
                    return Err(DomainError::InvalidValue {
                        what: $what,
                        reason: format!(
                            "{raw:?} must be 1 to 64 characters of letters, digits, '-', '_', '.' or ':'"
                        ),
                    });
                }
                Ok(Self(raw))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// Identifies an order; also the correlation id and the bus key of every event about it.
    OrderId, "orderId"
);
text_id!(
    /// Identifies a customer.
    CustomerId, "customerId"
);
text_id!(
    /// A stock-keeping unit.
    Sku, "sku"
);

impl CustomerId {
    /// A new customer id, which must also be one the shop can write to: the local part
    /// of `<id>@customers.orderflow.local`. See [`CustomerId::check_mailable`].
    pub fn parse_mailable(raw: impl Into<String>) -> Result<Self, DomainError> {
        let id = Self::parse(raw)?;
        id.check_mailable()?;
        Ok(id)
    }

    /// Whether the id is a dot-atom (RFC 5322), as the local part of an email address
    /// must be: no `:`, and no `.` first, last or twice in a row. Ids recorded before
    /// this rule may break it; their emails are then recorded as failed.
    pub fn check_mailable(&self) -> Result<(), DomainError> {
        let id = self.as_str();
        let atom_ok = !id.contains(':') && !id.starts_with('.') && !id.ends_with('.');
        if atom_ok && !id.contains("..") {
            return Ok(());
        }
        Err(DomainError::InvalidValue {
            what: "customerId",
            reason: format!(
                "{id:?} cannot be the local part of an email address: no ':', and no '.' \
                 first, last or twice in a row"
            ),
        })
    }
}

/// An ISO 4217 currency code: three upper-case letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        if raw.len() == 3 && raw.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Self(raw))
        } else {
            Err(DomainError::InvalidValue {
                what: "currency",
                reason: format!("{raw:?} must be three upper-case letters (ISO 4217)"),
            })
        }
    }

    /// The currency of orders that do not name one (all orders before `OrderCreated` v2).
    pub fn default_currency() -> Self {
        Self("EUR".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A positive number of units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u32);

impl Quantity {
    /// The most units one line may ask for.
    pub const MAX: u32 = 1_000_000;

    pub fn new(n: i64) -> Result<Self, DomainError> {
        match u32::try_from(n) {
            Ok(q) if (1..=Self::MAX).contains(&q) => Ok(Self(q)),
            _ => Err(DomainError::InvalidValue {
                what: "quantity",
                reason: format!("{n} must be a whole number from 1 to {}", Self::MAX),
            }),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// An amount of money in minor units (cents); never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    /// Largest accepted amount: 10^13 minor units, far below where `f64` loses cents.
    const MAX_MINOR: i64 = 10_000_000_000_000;

    pub const ZERO: Money = Money(0);

    pub fn from_minor(minor: i64) -> Result<Self, DomainError> {
        if !(0..=Self::MAX_MINOR).contains(&minor) {
            return Err(DomainError::InvalidValue {
                what: "amount",
                reason: format!("{minor} minor units is out of range"),
            });
        }
        Ok(Self(minor))
    }

    /// Parses an amount in major units written in decimal (a JSON number's text, such
    /// as `19.99`, `5`, `1.5e1`) exactly: no binary floating point on the way, so an
    /// amount with a non-zero digit below the cent (`1.0000001`, `0.000000001`) or past
    /// the largest amount is refused, never rounded. Trailing zeros are no decimals
    /// (`1.500` is 1.50); `-0` is zero.
    pub fn parse_decimal(text: &str) -> Result<Self, DomainError> {
        let invalid = |reason: &str| DomainError::InvalidValue {
            what: "amount",
            reason: format!("{} {reason}", abbreviated(text)),
        };
        let decimal = Decimal::parse(text).ok_or_else(|| invalid("is not a decimal number"))?;
        if decimal.digits.is_empty() {
            return Ok(Self::ZERO);
        }
        if decimal.negative {
            return Err(invalid("must not be negative"));
        }
        // value = digits × 10^exponent, so cents = digits × 10^(exponent + 2).
        let shift = decimal.exponent + 2;
        let digits = if shift < 0 {
            let kept = decimal.digits.len() as i128 + shift;
            let kept = usize::try_from(kept).unwrap_or(0);
            let (whole, below) = decimal.digits.split_at(kept.min(decimal.digits.len()));
            if below.bytes().any(|d| d != b'0') {
                return Err(invalid("has more than two decimals"));
            }
            whole.to_owned()
        } else {
            let zeros = usize::try_from(shift).unwrap_or(usize::MAX);
            // 10^13 minor units has 14 digits: anything longer is too large.
            if zeros > 14 || decimal.digits.len() + zeros > 14 {
                return Err(invalid("is too large"));
            }
            format!("{}{}", decimal.digits, "0".repeat(zeros))
        };
        let minor: i64 = digits.parse().map_err(|_| invalid("is too large"))?;
        if minor > Self::MAX_MINOR {
            return Err(invalid("is too large"));
        }
        Ok(Self(minor))
    }

    /// Converts a decimal amount in major units (the wire's `double`) to cents,
    /// refusing negative, non-finite and sub-cent amounts. A `double` holds no exact
    /// decimal, so this allows a relative error of 10⁻⁶ of a cent; text from a client is
    /// read with [`Money::parse_decimal`] instead.
    pub fn from_major(major: f64) -> Result<Self, DomainError> {
        let invalid = |reason: &str| DomainError::InvalidValue {
            what: "amount",
            reason: format!("{major} {reason}"),
        };
        if !major.is_finite() {
            return Err(invalid("is not a number"));
        }
        if major < 0.0 {
            return Err(invalid("must not be negative"));
        }
        let cents = (major * 100.0).round();
        if (cents - major * 100.0).abs() > 1e-6 * cents.max(1.0) {
            return Err(invalid("has more than two decimals"));
        }
        if cents > Self::MAX_MINOR as f64 {
            return Err(invalid("is too large"));
        }
        Ok(Self(cents as i64))
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn to_major(self) -> f64 {
        self.0 as f64 / 100.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0
            .checked_add(other.0)
            .and_then(|m| Money::from_minor(m).ok())
    }

    pub fn checked_mul(self, quantity: Quantity) -> Option<Money> {
        self.0
            .checked_mul(i64::from(quantity.get()))
            .and_then(|m| Money::from_minor(m).ok())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// A decimal number as written (`-?DIGITS[.DIGITS][(e|E)[+-]DIGITS]`, JSON's grammar):
/// its significant digits (no leading zeros; empty for zero) times 10^`exponent`.
#[derive(Debug)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i128,
}

impl Decimal {
    fn parse(text: &str) -> Option<Self> {
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => (mantissa, Some(exponent)),
            None => (rest, None),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let leading_zero = whole.len() > 1 && whole.starts_with('0');
        let bad_fraction = mantissa.contains('.') && !all_digits(fraction);
        if !all_digits(whole) || leading_zero || bad_fraction {
            return None;
        }
        let exponent: i128 = match exponent {
            None => 0,
            Some(e) => {
                let (sign, magnitude) = match e.strip_prefix('-') {
                    Some(m) => (-1, m),
                    None => (1, e.strip_prefix('+').unwrap_or(e)),
                };
                if !all_digits(magnitude) {
                    return None;
                }
                // Past 10^12 an exponent only says "far too large" or "far below a
                // cent": saturate there rather than overflow.
                let magnitude = magnitude.trim_start_matches('0');
                let magnitude = match magnitude.len() {
                    0 => 0,
                    1..=12 => magnitude.parse().ok()?,
                    _ => 1_000_000_000_000,
                };
                sign * magnitude
            }
        };
        let digits = format!("{whole}{fraction}")
            .trim_start_matches('0')
            .to_owned();
        Some(Self {
            negative,
            digits,
            exponent: exponent - fraction.len() as i128,
        })
    }
}

/// `text`, or its first 32 characters and an ellipsis, for messages that quote input.
fn abbreviated(text: &str) -> String {
    match text.char_indices().nth(32) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Milliseconds since the Unix epoch; the domain never reads a clock, callers pass time in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub sku: Sku,
    pub quantity: Quantity,
    pub unit_price: Money,
}

/// A SKU and a number of units, as reserved or released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// The lines of an order: never empty, total within range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLines {
    lines: Vec<OrderLine>,
    total: Money,
}

impl OrderLines {
    pub fn new(lines: Vec<OrderLine>) -> Result<Self, DomainError> {
        if lines.is_empty() {
            return Err(DomainError::NoItems);
        }
        let mut total = Money::ZERO;
        for line in &lines {
            total = line
                .unit_price
                .checked_mul(line.quantity)
                .and_then(|amount| total.checked_add(amount))
                .ok_or(DomainError::InvalidValue {
                    what: "totalAmount",
                    reason: "the order total is too large".into(),
                })?;
        }
        Ok(Self { lines, total })
    }

    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }

    pub fn total(&self) -> Money {
        self.total
    }

    pub fn stock_lines(&self) -> Vec<StockLine> {
        self.lines
            .iter()
            .map(|l| StockLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
