//! Value objects built at the edges: once constructed they are valid.

use std::fmt;

use crate::DomainError;

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

    /// Converts a decimal amount in major units (the wire's `double`) to cents,
    /// refusing negative, non-finite and sub-cent amounts.
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
mod tests {
    use super::*;

    #[test]
    fn money_is_parsed_from_major_units_to_cents() {
        assert_eq!(Money::from_major(19.99).unwrap().minor(), 1999);
        assert_eq!(Money::from_major(0.0).unwrap().minor(), 0);
        assert_eq!(Money::from_major(19.99).unwrap().to_string(), "19.99");
    }

    #[test]
    fn money_refuses_negative_fractional_cents_and_nan() {
        assert!(Money::from_major(-1.0).is_err());
        assert!(Money::from_major(1.005).is_err());
        assert!(Money::from_major(f64::NAN).is_err());
        assert!(Money::from_major(1e300).is_err());
    }

    #[test]
    fn quantity_must_be_at_least_one() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-3).is_err());
        assert_eq!(Quantity::new(2).unwrap().get(), 2);
    }

    #[test]
    fn identifiers_refuse_empty_and_odd_characters() {
        assert!(Sku::parse("").is_err());
        assert!(Sku::parse("a b").is_err());
        assert!(Sku::parse("x".repeat(65)).is_err());
        assert_eq!(Sku::parse("SKU-1").unwrap().as_str(), "SKU-1");
    }

    #[test]
    fn an_order_needs_at_least_one_line_and_sums_its_total() {
        assert_eq!(OrderLines::new(vec![]), Err(DomainError::NoItems));
        let lines = OrderLines::new(vec![
            OrderLine {
                sku: Sku::parse("A").unwrap(),
                quantity: Quantity::new(2).unwrap(),
                unit_price: Money::from_major(19.99).unwrap(),
            },
            OrderLine {
                sku: Sku::parse("B").unwrap(),
                quantity: Quantity::new(1).unwrap(),
                unit_price: Money::from_major(0.02).unwrap(),
            },
        ])
        .unwrap();
        assert_eq!(lines.total().minor(), 4000);
    }
}
