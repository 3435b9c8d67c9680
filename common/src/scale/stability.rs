//! Deciding when a weight is "stable": the protocol's own flag, N equal consecutive frames when a
//! protocol (or a misbehaving device) has no usable flag, or both.

use rust_decimal::Decimal;

use super::reading::{WeightReading, WeightUnit};

/// The rule a [`Stability`] tracker applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StabilityRule {
    /// Stable when the protocol's stability flag says so (and the reading is usable).
    Flag,
    /// Stable after this many equal consecutive usable readings (flag ignored).
    ConsecutiveEqual(u32),
    /// Flag set on this many equal consecutive usable readings.
    FlagAndConsecutiveEqual(u32),
}

/// Tracks consecutive readings and answers "is it stable now?".
#[derive(Debug, Clone)]
pub struct Stability {
    rule: StabilityRule,
    last: Option<(Decimal, WeightUnit)>,
    run: u32,
}

impl Stability {
    /// A tracker with the given rule. A count of 0 is treated as 1.
    pub fn new(rule: StabilityRule) -> Self {
        Self {
            rule,
            last: None,
            run: 0,
        }
    }

    /// The rule for a protocol: its flag when it has one, else `n` equal consecutive frames.
    pub fn for_protocol(protocol: super::ScaleProtocol, n: u32) -> Self {
        if protocol.has_stability_flag() {
            Self::new(StabilityRule::Flag)
        } else {
            Self::new(StabilityRule::ConsecutiveEqual(n))
        }
    }

    /// Forgets the run (after a reconnect, tare, zero …).
    pub fn reset(&mut self) {
        self.last = None;
        self.run = 0;
    }

    /// Feeds the next reading; returns whether the weight counts as stable now.
    pub fn observe(&mut self, reading: &WeightReading) -> bool {
        let counts_flag = matches!(self.rule, StabilityRule::FlagAndConsecutiveEqual(_));
        let eligible = reading.is_usable() && (!counts_flag || reading.stable);
        match (eligible, reading.value) {
            (true, Some(v)) => {
                let same = self
                    .last
                    .as_ref()
                    .is_some_and(|(lv, lu)| *lv == v && *lu == reading.unit);
                self.run = if same { self.run.saturating_add(1) } else { 1 };
                self.last = Some((v, reading.unit.clone()));
            }
            _ => self.reset(),
        }
        match self.rule {
            StabilityRule::Flag => reading.stable && reading.is_usable(),
            StabilityRule::ConsecutiveEqual(n) | StabilityRule::FlagAndConsecutiveEqual(n) => {
                self.run >= n.max(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::reading::ScaleCondition;

    fn r(v: i64, stable: bool) -> WeightReading {
        WeightReading {
            value: Some(Decimal::new(v, 3)),
            unit: WeightUnit::Kg,
            stable,
            net: None,
            condition: ScaleCondition::Ok,
            tare: None,
        }
    }

    #[test]
    fn the_flag_rule_follows_the_protocol_flag() {
        let mut s = Stability::new(StabilityRule::Flag);
        assert!(!s.observe(&r(1000, false)));
        assert!(s.observe(&r(1000, true)));
        let mut over = r(0, true);
        over.value = None;
        over.condition = ScaleCondition::Overload;
        assert!(!s.observe(&over));
    }

    #[test]
    fn three_equal_frames_are_needed_when_the_protocol_has_no_flag() {
        let mut s = Stability::new(StabilityRule::ConsecutiveEqual(3));
        assert!(!s.observe(&r(1000, false)));
        assert!(!s.observe(&r(1000, false)));
        assert!(s.observe(&r(1000, false)));
        assert!(!s.observe(&r(1001, false)));
        assert!(!s.observe(&r(1001, false)));
        assert!(s.observe(&r(1001, false)));
    }

    #[test]
    fn equal_values_with_different_scale_count_as_equal() {
        let mut s = Stability::new(StabilityRule::ConsecutiveEqual(2));
        s.observe(&r(1000, false));
        let mut same = r(0, false);
        same.value = Some(Decimal::new(10, 1));
        assert!(s.observe(&same));
    }

    #[test]
    fn flag_and_consecutive_needs_the_flag_on_every_frame() {
        let mut s = Stability::new(StabilityRule::FlagAndConsecutiveEqual(2));
        assert!(!s.observe(&r(500, true)));
        assert!(!s.observe(&r(500, false)));
        assert!(!s.observe(&r(500, true)));
        assert!(s.observe(&r(500, true)));
    }

    #[test]
    fn an_error_frame_breaks_the_run() {
        let mut s = Stability::new(StabilityRule::ConsecutiveEqual(2));
        s.observe(&r(1000, true));
        let mut err = r(0, false);
        err.value = None;
        err.condition = ScaleCondition::Underload;
        assert!(!s.observe(&err));
        assert!(!s.observe(&r(1000, true)));
        assert!(s.observe(&r(1000, true)));
    }
}
