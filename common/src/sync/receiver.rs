//! The receiving side of a numbered stream: strictly in order, exactly once.

/// Timers of a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// At most one resend request per this interval while a gap persists (a burst of
    /// out-of-order batches must not cause a burst of requests).
    pub resend_interval_ms: u64,
}

/// What to do with an incoming batch `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchVerdict {
    /// Apply items `from..=last` of the batch (those before `from` were applied already), commit
    /// them durably, then call [`Receiver::committed`].
    Apply {
        /// First sequence to apply.
        from: u64,
        /// Last sequence to apply.
        last: u64,
    },
    /// Everything in it was applied already; an ack is re-sent.
    Duplicate,
    /// It starts after a gap; nothing is applied and a resend is requested.
    Gap {
        /// The sequence expected next.
        expected: u64,
    },
}

/// What the receiver wants published to the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiverTransmit {
    /// Everything up to here is durably applied.
    Ack(u64),
    /// Please resend from here.
    ResendRequest(u64),
}

/// The receiver of a numbered stream. See the module docs.
#[derive(Debug, Clone)]
pub struct Receiver {
    cfg: ReceiverConfig,
    /// Highest sequence committed durably.
    committed: u64,
    /// Highest sequence handed out for applying (≥ committed; the batch in progress).
    accepted: u64,
    ack_due: bool,
    resend_due: bool,
    last_resend_ms: Option<u64>,
}

impl Receiver {
    /// A receiver that has durably applied up to `committed` (read from the store at start).
    pub fn new(cfg: ReceiverConfig, committed: u64) -> Self {
        Self {
            cfg,
            committed,
            accepted: committed,
            ack_due: false,
            resend_due: false,
            last_resend_ms: None,
        }
    }

    /// Judges an incoming batch holding sequences `first..=last`.
    pub fn on_batch(&mut self, first: u64, last: u64, now_ms: u64) -> BatchVerdict {
        if first == 0 || last < first {
            // Not a valid range: treat as nothing new, but tell the sender where we are.
            self.ack_due = true;
            return BatchVerdict::Duplicate;
        }
        if last <= self.accepted {
            self.ack_due = true;
            return BatchVerdict::Duplicate;
        }
        let expected = self.accepted + 1;
        if first > expected {
            self.request_resend(now_ms);
            return BatchVerdict::Gap { expected };
        }
        self.accepted = last;
        BatchVerdict::Apply {
            from: expected,
            last,
        }
    }

    fn request_resend(&mut self, now_ms: u64) {
        let quiet = self
            .last_resend_ms
            .is_none_or(|at| now_ms >= at.saturating_add(self.cfg.resend_interval_ms));
        if quiet {
            self.resend_due = true;
            self.last_resend_ms = Some(now_ms);
        }
    }

    /// The items up to `seq` are committed durably: an ack is due. Commits must be reported in
    /// order; acks go out as soon as the committed sequence advances, even while a later
    /// batch is still being applied.
    pub fn committed(&mut self, seq: u64) {
        if seq > self.committed && seq <= self.accepted {
            self.committed = seq;
            self.ack_due = true;
        }
    }

    /// The commit of the accepted items failed: forget them, so they are applied again when
    /// they come back.
    pub fn commit_failed(&mut self) {
        self.accepted = self.committed;
    }

    /// The next message for the sender, if any.
    pub fn poll_transmit(&mut self) -> Option<ReceiverTransmit> {
        if self.resend_due {
            self.resend_due = false;
            return Some(ReceiverTransmit::ResendRequest(self.accepted + 1));
        }
        if self.ack_due {
            self.ack_due = false;
            return Some(ReceiverTransmit::Ack(self.committed));
        }
        None
    }

    /// Highest sequence committed durably.
    pub fn committed_seq(&self) -> u64 {
        self.committed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rx(committed: u64) -> Receiver {
        Receiver::new(
            ReceiverConfig {
                resend_interval_ms: 100,
            },
            committed,
        )
    }

    #[test]
    fn an_in_order_batch_is_applied_and_acked_only_after_its_commit() {
        let mut r = rx(0);
        assert_eq!(
            r.on_batch(1, 5, 0),
            BatchVerdict::Apply { from: 1, last: 5 }
        );
        assert_eq!(r.poll_transmit(), None);
        r.committed(5);
        assert_eq!(r.poll_transmit(), Some(ReceiverTransmit::Ack(5)));
        assert_eq!(r.poll_transmit(), None);
    }

    #[test]
    fn an_overlapping_batch_applies_only_the_new_part() {
        let mut r = rx(3);
        assert_eq!(
            r.on_batch(2, 6, 0),
            BatchVerdict::Apply { from: 4, last: 6 }
        );
    }

    #[test]
    fn a_duplicate_batch_is_acked_again_without_applying() {
        let mut r = rx(5);
        assert_eq!(r.on_batch(1, 5, 0), BatchVerdict::Duplicate);
        assert_eq!(r.poll_transmit(), Some(ReceiverTransmit::Ack(5)));
    }

    #[test]
    fn a_gap_asks_for_a_resend_once_per_interval() {
        let mut r = rx(2);
        assert_eq!(r.on_batch(6, 8, 0), BatchVerdict::Gap { expected: 3 });
        assert_eq!(r.poll_transmit(), Some(ReceiverTransmit::ResendRequest(3)));
        assert_eq!(r.on_batch(9, 9, 50), BatchVerdict::Gap { expected: 3 });
        assert_eq!(r.poll_transmit(), None);
        assert_eq!(r.on_batch(9, 9, 100), BatchVerdict::Gap { expected: 3 });
        assert_eq!(r.poll_transmit(), Some(ReceiverTransmit::ResendRequest(3)));
    }

    #[test]
    fn a_failed_commit_lets_the_same_items_be_applied_again() {
        let mut r = rx(0);
        assert_eq!(
            r.on_batch(1, 4, 0),
            BatchVerdict::Apply { from: 1, last: 4 }
        );
        r.commit_failed();
        assert_eq!(r.poll_transmit(), None);
        assert_eq!(
            r.on_batch(1, 4, 1),
            BatchVerdict::Apply { from: 1, last: 4 }
        );
    }

    #[test]
    fn an_empty_or_zero_range_changes_nothing() {
        let mut r = rx(2);
        assert_eq!(r.on_batch(0, 0, 0), BatchVerdict::Duplicate);
        assert_eq!(r.on_batch(5, 4, 0), BatchVerdict::Duplicate);
        assert_eq!(r.committed_seq(), 2);
    }
}
