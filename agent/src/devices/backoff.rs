//! Jittered exponential back-off between reconnect attempts.

use std::time::Duration;

use serde::Deserialize;

/// Back-off settings (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffConfig {
    /// First delay after a failure.
    pub initial_ms: u64,
    /// Upper bound of the delay.
    pub max_ms: u64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial_ms: 200,
            max_ms: 10_000,
        }
    }
}

impl BackoffConfig {
    /// Checks `initial_ms >= 1` and `max_ms >= initial_ms`.
    pub fn validate(&self, device: &'static str) -> Result<(), crate::devices::DeviceConfigError> {
        if self.initial_ms == 0 {
            return Err(crate::devices::DeviceConfigError::invalid(
                device,
                "backoff_initial_ms",
                "must be at least 1",
            ));
        }
        if self.max_ms < self.initial_ms {
            return Err(crate::devices::DeviceConfigError::invalid(
                device,
                "backoff_max_ms",
                format!(
                    "{} is below backoff_initial_ms {}",
                    self.max_ms, self.initial_ms
                ),
            ));
        }
        Ok(())
    }
}

/// Doubling delays with "equal jitter": each delay is uniformly drawn from `[d/2, d]`, so many
/// stations that lost the same device server do not retry in lock step.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    current_ms: u64,
}

impl Backoff {
    /// A back-off starting at `config.initial_ms`.
    pub fn new(config: BackoffConfig) -> Self {
        Self {
            config,
            current_ms: config.initial_ms.max(1),
        }
    }

    /// Back to the initial delay (after a successful connection).
    pub fn reset(&mut self) {
        self.current_ms = self.config.initial_ms.max(1);
    }

    /// The next delay to wait.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.current_ms.min(self.config.max_ms.max(1));
        let low = d / 2;
        let ms = if d > low {
            rand::random_range(low..=d)
        } else {
            d
        };
        self.current_ms = d.saturating_mul(2).min(self.config.max_ms.max(1));
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_with_jitter() {
        let mut b = Backoff::new(BackoffConfig {
            initial_ms: 100,
            max_ms: 400,
        });
        let d: Vec<u64> = (0..5).map(|_| b.next_delay().as_millis() as u64).collect();
        assert!((50..=100).contains(&d[0]), "{d:?}");
        assert!((100..=200).contains(&d[1]), "{d:?}");
        assert!((200..=400).contains(&d[2]), "{d:?}");
        assert!((200..=400).contains(&d[4]), "{d:?}");
        b.reset();
        assert!(b.next_delay().as_millis() <= 100);
    }
}
