//! The sending side of a numbered stream.

/// Limits and timers of a sender. Every field is a bound the caller chooses explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Most items in one batch (one MQTT message).
    pub max_batch: u64,
    /// Most items sent but not yet acked.
    pub max_in_flight: u64,
    /// After this long without progress of the ack while items are in flight, resend from the
    /// last ack.
    pub ack_timeout_ms: u64,
}

impl SenderConfig {
    /// Checks that every bound is usable.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.max_batch == 0 {
            return Err("max_batch must be at least 1");
        }
        if self.max_in_flight < self.max_batch {
            return Err("max_in_flight must be at least max_batch");
        }
        if self.ack_timeout_ms == 0 {
            return Err("ack_timeout_ms must be above 0");
        }
        Ok(())
    }
}

/// A range of sequence numbers to read from the outbox and publish as one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendRange {
    /// First sequence, inclusive.
    pub first: u64,
    /// Last sequence, inclusive.
    pub last: u64,
}

impl SendRange {
    /// How many items.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never empty; here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The peer said something impossible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// An ack for items that were never produced.
    #[error("ack for sequence {acked}, but only {head} items exist")]
    AckBeyondHead {
        /// What the peer acked.
        acked: u64,
        /// The highest sequence produced.
        head: u64,
    },
    /// A resend request for items that were never produced.
    #[error("resend requested from {from}, but only {head} items exist")]
    ResendBeyondHead {
        /// The requested first sequence.
        from: u64,
        /// The highest sequence produced.
        head: u64,
    },
}

/// The sender of a numbered stream. See the module docs.
#[derive(Debug, Clone)]
pub struct Sender {
    cfg: SenderConfig,
    /// Highest sequence the peer acked (durable at the peer).
    acked: u64,
    /// Highest sequence produced (in the outbox).
    head: u64,
    /// Highest sequence sent on the current connection.
    sent: u64,
    connected: bool,
    /// When to give up waiting for the ack and resend.
    ack_deadline_ms: Option<u64>,
    /// Acked but not yet pruned from the outbox.
    prune_to: Option<u64>,
}

impl Sender {
    /// A sender whose peer has acked up to `acked` and whose outbox holds up to `head`
    /// (both read from the durable store at start).
    pub fn new(cfg: SenderConfig, acked: u64, head: u64) -> Self {
        Self {
            cfg,
            acked: acked.min(head),
            head,
            sent: acked.min(head),
            connected: false,
            ack_deadline_ms: None,
            prune_to: None,
        }
    }

    /// The transport is up: (re)send everything after the last ack.
    pub fn connected(&mut self, _now_ms: u64) {
        self.connected = true;
        self.sent = self.acked;
        self.ack_deadline_ms = None;
    }

    /// The transport is down: send nothing until it is back.
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.sent = self.acked;
        self.ack_deadline_ms = None;
    }

    /// New items were committed to the outbox, up to `head`.
    pub fn produced(&mut self, head: u64) {
        self.head = self.head.max(head);
    }

    /// The peer acked everything up to `seq`.
    pub fn on_ack(&mut self, seq: u64, now_ms: u64) -> Result<(), ProtocolError> {
        if seq > self.head {
            return Err(ProtocolError::AckBeyondHead {
                acked: seq,
                head: self.head,
            });
        }
        if seq > self.acked {
            self.acked = seq;
            self.prune_to = Some(seq);
            self.sent = self.sent.max(seq);
            self.ack_deadline_ms = if self.sent > self.acked {
                Some(now_ms.saturating_add(self.cfg.ack_timeout_ms))
            } else {
                None
            };
        }
        Ok(())
    }

    /// The peer is missing items from `from` on.
    pub fn on_resend_request(&mut self, from: u64, _now_ms: u64) -> Result<(), ProtocolError> {
        if from > self.head + 1 {
            return Err(ProtocolError::ResendBeyondHead {
                from,
                head: self.head,
            });
        }
        // The peer has everything before `from`, but only an ack makes that durable for us;
        // resend from the later of our ack and its request.
        let restart = from.saturating_sub(1).max(self.acked);
        self.sent = self.sent.min(restart);
        self.ack_deadline_ms = None;
        Ok(())
    }

    /// Time has passed: resend from the last ack when the ack is overdue.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if let Some(deadline) = self.ack_deadline_ms {
            if now_ms >= deadline {
                self.sent = self.acked;
                self.ack_deadline_ms = None;
            }
        }
    }

    /// The next batch to publish, if any.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Option<SendRange> {
        if !self.connected || self.sent >= self.head {
            return None;
        }
        let in_flight = self.sent - self.acked;
        if in_flight >= self.cfg.max_in_flight {
            return None;
        }
        let room = (self.cfg.max_in_flight - in_flight).min(self.cfg.max_batch);
        let first = self.sent + 1;
        let last = self.head.min(self.sent + room);
        self.sent = last;
        if self.ack_deadline_ms.is_none() {
            self.ack_deadline_ms = Some(now_ms.saturating_add(self.cfg.ack_timeout_ms));
        }
        Some(SendRange { first, last })
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.ack_deadline_ms
    }

    /// Outbox entries up to the returned sequence may now be deleted (acked by the peer).
    pub fn take_prune(&mut self) -> Option<u64> {
        self.prune_to.take()
    }

    /// Highest sequence acked by the peer.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Highest sequence produced.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// Items produced but not yet acked.
    pub fn pending(&self) -> u64 {
        self.head - self.acked
    }

    /// Whether the transport is up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SenderConfig {
        SenderConfig {
            max_batch: 10,
            max_in_flight: 30,
            ack_timeout_ms: 1000,
        }
    }

    #[test]
    fn nothing_is_sent_while_disconnected() {
        let mut s = Sender::new(cfg(), 0, 5);
        assert_eq!(s.poll_transmit(0), None);
        s.connected(0);
        assert_eq!(s.poll_transmit(0), Some(SendRange { first: 1, last: 5 }));
        assert_eq!(s.poll_transmit(0), None);
    }

    #[test]
    fn batches_are_bounded_and_the_in_flight_window_stops_sending() {
        let mut s = Sender::new(cfg(), 0, 100);
        s.connected(0);
        let batches: Vec<_> = std::iter::from_fn(|| s.poll_transmit(0)).collect();
        assert_eq!(
            batches,
            vec![
                SendRange { first: 1, last: 10 },
                SendRange {
                    first: 11,
                    last: 20
                },
                SendRange {
                    first: 21,
                    last: 30
                }
            ]
        );
        assert_eq!(s.on_ack(10, 5), Ok(()));
        assert_eq!(
            s.poll_transmit(5),
            Some(SendRange {
                first: 31,
                last: 40
            })
        );
    }

    #[test]
    fn an_ack_prunes_and_never_a_send() {
        let mut s = Sender::new(cfg(), 0, 3);
        s.connected(0);
        assert!(s.poll_transmit(0).is_some());
        assert_eq!(s.take_prune(), None);
        assert_eq!(s.on_ack(2, 1), Ok(()));
        assert_eq!(s.take_prune(), Some(2));
        assert_eq!(s.take_prune(), None);
        assert_eq!(s.pending(), 1);
    }

    #[test]
    fn a_reconnect_resends_from_the_last_ack() {
        let mut s = Sender::new(cfg(), 0, 8);
        s.connected(0);
        assert!(s.poll_transmit(0).is_some());
        assert_eq!(s.on_ack(3, 1), Ok(()));
        s.disconnected();
        s.connected(2);
        assert_eq!(s.poll_transmit(2), Some(SendRange { first: 4, last: 8 }));
    }

    #[test]
    fn an_overdue_ack_resends_from_the_last_ack() {
        let mut s = Sender::new(cfg(), 0, 4);
        s.connected(0);
        assert!(s.poll_transmit(0).is_some());
        assert_eq!(s.poll_timeout(), Some(1000));
        s.handle_timeout(999);
        assert_eq!(s.poll_transmit(999), None);
        s.handle_timeout(1000);
        assert_eq!(s.poll_transmit(1000), Some(SendRange { first: 1, last: 4 }));
    }

    #[test]
    fn a_resend_request_restarts_from_the_requested_sequence() {
        let mut s = Sender::new(cfg(), 2, 9);
        s.connected(0);
        assert_eq!(s.poll_transmit(0), Some(SendRange { first: 3, last: 9 }));
        assert_eq!(s.on_resend_request(6, 1), Ok(()));
        assert_eq!(s.poll_transmit(1), Some(SendRange { first: 6, last: 9 }));
    }

    #[test]
    fn an_ack_or_resend_request_beyond_what_exists_is_a_protocol_error() {
        let mut s = Sender::new(cfg(), 0, 4);
        assert_eq!(
            s.on_ack(5, 0),
            Err(ProtocolError::AckBeyondHead { acked: 5, head: 4 })
        );
        assert_eq!(
            s.on_resend_request(9, 0),
            Err(ProtocolError::ResendBeyondHead { from: 9, head: 4 })
        );
        assert_eq!(s.acked(), 0);
    }

    #[test]
    fn a_config_with_a_window_smaller_than_a_batch_is_refused() {
        let bad = SenderConfig {
            max_batch: 10,
            max_in_flight: 5,
            ack_timeout_ms: 1,
        };
        assert!(bad.validate().is_err());
        assert!(cfg().validate().is_ok());
    }
}
