//! Size limits enforced when encoding and decoding (architecture invariant 6: everything is
//! bounded, and the bound is configured and enforced).

use serde::{Deserialize, Serialize};

/// Default largest envelope, header included: 1 MiB. The MQTT broker's and clients' maximum
/// packet size must be at least this plus the topic and MQTT overhead.
pub const MAX_ENVELOPE_BYTES: usize = 1024 * 1024;

/// Default largest number of events in one uplink batch.
pub const MAX_EVENTS_PER_BATCH: usize = 1000;

/// Default largest number of items in one downlink message.
pub const MAX_DOWNLINK_ITEMS: usize = 1000;

/// The bounds a decoder (and an encoder) enforces.
///
/// Both ends should use the same limits: an encoder with larger limits than the decoder
/// produces envelopes the decoder rejects as too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest envelope in bytes, header included.
    pub max_envelope_bytes: usize,
    /// Most events in one `EventBatch`.
    pub max_events_per_batch: usize,
    /// Most items in one `Downlink`.
    pub max_downlink_items: usize,
}

impl Limits {
    /// The defaults: 1 MiB envelopes, 1000 events per batch, 1000 downlink items.
    pub const DEFAULT: Limits = Limits {
        max_envelope_bytes: MAX_ENVELOPE_BYTES,
        max_events_per_batch: MAX_EVENTS_PER_BATCH,
        max_downlink_items: MAX_DOWNLINK_ITEMS,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_in_a_config_default_each_missing_field_and_reject_unknown_ones(
    ) -> Result<(), serde_json::Error> {
        let limits: Limits = serde_json::from_str(r#"{"max_events_per_batch": 10}"#)?;
        assert_eq!(
            limits,
            Limits {
                max_events_per_batch: 10,
                ..Limits::DEFAULT
            }
        );
        assert_eq!(limits.max_envelope_bytes, 1024 * 1024);
        assert!(serde_json::from_str::<Limits>(r#"{"max_batch": 10}"#).is_err());
        Ok(())
    }
}
