//! How long a follower that has caught up (a bus poll, the relay, the projections) waits
//! before it looks again for what other processes wrote. Work done in the same process
//! wakes it at once; only other processes' writes depend on this pause. It starts short,
//! for latency while records keep coming, and doubles after every look that found
//! nothing, so an idle pipeline does not spin on its files.

use std::time::Duration;

/// The pause before the next look, growing while looks find nothing.
#[derive(Debug, Clone)]
pub struct IdlePause {
    first: Duration,
    max: Duration,
    quiet: u32,
}

impl IdlePause {
    /// Pauses from `first`, doubling up to `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            quiet: 0,
        }
    }

    /// The pause to take now; the one after it is longer unless [`Self::found`] is
    /// called in between.
    pub fn take(&mut self) -> Duration {
        let pause = self
            .first
            .saturating_mul(1 << self.quiet.min(16))
            .min(self.max);
        self.quiet = self.quiet.saturating_add(1);
        pause
    }

    /// Something was found: the next pause is short again.
    pub fn found(&mut self) {
        self.quiet = 0;
    }
}

/// What the embedded bus and the store followers use: 10 ms, up to 100 ms.
impl Default for IdlePause {
    fn default() -> Self {
        Self::new(Duration::from_millis(10), Duration::from_millis(100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(pause: &mut IdlePause, n: usize) -> Vec<u128> {
        (0..n).map(|_| pause.take().as_millis()).collect()
    }

    #[test]
    fn pauses_double_while_nothing_is_found_up_to_the_bound() {
        let mut pause = IdlePause::default();
        assert_eq!(millis(&mut pause, 7), [10, 20, 40, 80, 100, 100, 100]);
    }

    #[test]
    fn finding_something_makes_the_next_pause_short_again() {
        let mut pause = IdlePause::default();
        millis(&mut pause, 5);
        pause.found();
        assert_eq!(millis(&mut pause, 2), [10, 20]);
    }
}
