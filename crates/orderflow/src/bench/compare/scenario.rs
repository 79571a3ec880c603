//! The comparison's scenarios: what goes wrong, and when. Every fault lies in the middle
//! third of the run, so that each scenario shows the system before, during and after it.

use std::time::Duration;

use clap::ValueEnum;

use crate::faults::{Fault, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Nothing goes wrong.
    Healthy,
    /// Payment takes 300 ms longer per call for the first half of the fault, then 2 s.
    PaymentSlow,
    /// Notification is down for the middle third, then back.
    NotificationDown,
    /// 20 % of inventory's calls fail during the middle third.
    InventoryFlaky,
    /// The front (the order service, or orderflow's API) is killed with `kill -9` at a
    /// third of the run, and started again at once, as a supervisor would.
    Restart,
}

/// Something the bench does to a system at a moment of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The services' faults become these.
    Faults(Plan),
    /// The process stops (`kill -9` if `kill`).
    Stop { process: &'static str, kill: bool },
    /// The process starts again.
    Start { process: &'static str },
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::Healthy,
        Scenario::PaymentSlow,
        Scenario::NotificationDown,
        Scenario::InventoryFlaky,
        Scenario::Restart,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Healthy => "healthy",
            Scenario::PaymentSlow => "payment-slow",
            Scenario::NotificationDown => "notification-down",
            Scenario::InventoryFlaky => "inventory-flaky",
            Scenario::Restart => "restart",
        }
    }

    /// What the fault is, in a few words.
    pub fn fault(self) -> &'static str {
        match self {
            Scenario::Healthy => "none",
            Scenario::PaymentSlow => "payment +300 ms per call, then +2 s",
            Scenario::NotificationDown => "notification down",
            Scenario::InventoryFlaky => "20 % of inventory's calls fail",
            Scenario::Restart => "the front killed (kill -9) and started again",
        }
    }

    /// The middle third of a run of `length`: where the fault lies.
    pub fn window(length: Duration) -> (Duration, Duration) {
        (length / 3, length * 2 / 3)
    }

    /// What the bench does during a run of `length`, in time order.
    pub fn actions(self, length: Duration) -> Vec<(Duration, Action)> {
        let (from, to) = Self::window(length);
        let one = |service: &str, fault: Fault| Plan([(service.to_owned(), fault)].into());
        let healed = Action::Faults(Plan::default());
        match self {
            Scenario::Healthy => vec![],
            Scenario::PaymentSlow => vec![
                (
                    from,
                    Action::Faults(one(
                        "payment",
                        Fault {
                            delay_ms: 300,
                            fail_percent: 0,
                        },
                    )),
                ),
                (
                    (from + to) / 2,
                    Action::Faults(one(
                        "payment",
                        Fault {
                            delay_ms: 2000,
                            fail_percent: 0,
                        },
                    )),
                ),
                (to, healed),
            ],
            Scenario::NotificationDown => vec![
                (
                    from,
                    Action::Stop {
                        process: "notification",
                        kill: false,
                    },
                ),
                (
                    to,
                    Action::Start {
                        process: "notification",
                    },
                ),
            ],
            Scenario::InventoryFlaky => vec![
                (
                    from,
                    Action::Faults(one(
                        "inventory",
                        Fault {
                            delay_ms: 0,
                            fail_percent: 20,
                        },
                    )),
                ),
                (to, healed),
            ],
            Scenario::Restart => vec![
                (
                    from,
                    Action::Stop {
                        process: "front",
                        kill: true,
                    },
                ),
                (from, Action::Start { process: "front" }),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_lies_in_the_middle_third_and_is_undone_by_its_end() {
        let length = Duration::from_secs(30);
        let (from, to) = Scenario::window(length);
        assert_eq!(
            (from, to),
            (Duration::from_secs(10), Duration::from_secs(20))
        );
        for scenario in Scenario::ALL {
            let actions = scenario.actions(length);
            assert!(
                actions.iter().all(|(at, _)| (from..=to).contains(at)),
                "{scenario:?}"
            );
            assert!(
                actions.windows(2).all(|w| w[0].0 <= w[1].0),
                "{scenario:?} in time order"
            );
            // Whatever was stopped is started again, and the last plan has no fault.
            let stopped = actions
                .iter()
                .filter(|(_, a)| matches!(a, Action::Stop { .. }))
                .count();
            let started = actions
                .iter()
                .filter(|(_, a)| matches!(a, Action::Start { .. }))
                .count();
            assert_eq!(stopped, started, "{scenario:?}");
            let last_plan = actions.iter().rev().find_map(|(_, a)| match a {
                Action::Faults(plan) => Some(plan),
                _ => None,
            });
            assert!(
                last_plan.is_none_or(|plan| *plan == Plan::default()),
                "{scenario:?}"
            );
        }
    }
}
