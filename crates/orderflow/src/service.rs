//! The services a process can run (`orderflow serve <services>`; `run` runs them all).

use clap::ValueEnum;

/// One service. Each has a line of help, shown by `orderflow serve --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Service {
    /// The HTTP API: orders, stock, queries, operations and the embedded schema registry.
    Api,
    /// The order process: confirms, cancels, marks shipped.
    Orders,
    /// Charges an order when it is created, refunds it when it is cancelled (through the
    /// payment provider).
    Payment,
    /// Reserves an order's stock, releases it on a cancel, lets it go once shipped.
    Inventory,
    /// Dispatches an order once it is confirmed.
    Shipping,
    /// Emails the customer when an order is received, shipped or cancelled.
    Notification,
    /// The order and stock read models.
    Projections,
    /// Orders per status and revenue per day, from the bus.
    Analytics,
    /// Publishes the event store to the bus.
    Relay,
}

impl Service {
    pub const ALL: [Service; 9] = [
        Service::Api,
        Service::Orders,
        Service::Payment,
        Service::Inventory,
        Service::Shipping,
        Service::Notification,
        Service::Projections,
        Service::Analytics,
        Service::Relay,
    ];

    /// The name `serve` takes it by.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_owned())
    }

    /// Names, comma-separated, as `serve` takes them.
    pub fn list(services: &[Service]) -> String {
        services
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn every_service_has_help_text() -> TestResult {
        for service in Service::value_variants() {
            let value = service.to_possible_value().ok_or("a hidden service")?;
            assert!(
                value.get_help().is_some_and(|h| !h.to_string().is_empty()),
                "{service:?} has no help"
            );
        }
        Ok(())
    }

    #[test]
    fn all_lists_every_service_once() -> TestResult {
        assert_eq!(Service::ALL.len(), Service::value_variants().len());
        for service in Service::value_variants() {
            assert!(Service::ALL.contains(service), "{service:?}");
        }
        Ok(())
    }
}
