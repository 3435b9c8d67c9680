//! The sender and receiver over a simulated network that drops, duplicates, reorders and
//! delays, with disconnects and crashes of either side. Seeds are printed so a failure can be
//! replayed.

#![allow(clippy::unwrap_used)]

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// A tiny deterministic PRNG (common has no randomness; tests bring their own).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, Clone)]
enum Up {
    Batch { first: u64, items: Vec<u64> },
}
#[derive(Debug, Clone)]
enum Down {
    Ack(u64),
    Resend(u64),
}

#[derive(Debug, Clone, Copy)]
struct Faults {
    drop: u64,
    duplicate: u64,
    max_delay: u64,
    disconnect: u64,
    agent_crash: u64,
    hub_crash: u64,
}

/// Returns the hub's applied log and the number of ticks it took.
fn run(seed: u64, total: u64, faults: Faults) -> (Vec<u64>, u64) {
    let mut rng = Rng(seed | 1);
    let scfg = SenderConfig {
        max_batch: 16,
        max_in_flight: 64,
        ack_timeout_ms: 40,
    };
    let rcfg = ReceiverConfig {
        resend_interval_ms: 10,
    };
    // Agent durable state: the outbox (seq -> payload) and what it pruned.
    let mut outbox: BTreeMap<u64, u64> = BTreeMap::new();
    let mut produced = 0u64;
    let mut sender = Sender::new(scfg, 0, 0);
    // Hub durable state: the applied log.
    let mut log: Vec<u64> = Vec::new();
    let mut receiver = Receiver::new(rcfg, 0);
    let mut up: Vec<(u64, Up)> = Vec::new();
    let mut down: Vec<(u64, Down)> = Vec::new();
    let mut link_up = false;
    let mut now = 0u64;
    let fault_ticks = 4_000;
    let mut calm_since = None;

    loop {
        now += 1;
        let faulty = now < fault_ticks;
        assert!(
            now < 200_000,
            "seed {seed}: not converged; log {} of {total}",
            log.len()
        );
        let f = if faulty {
            faults
        } else {
            Faults {
                drop: 0,
                duplicate: 0,
                max_delay: 3,
                disconnect: 0,
                agent_crash: 0,
                hub_crash: 0,
            }
        };

        // Production: one operator step = one outbox entry, committed before anything else.
        if produced < total && rng.chance(600) {
            produced += 1;
            outbox.insert(produced, produced * 7);
            sender.produced(produced);
        }
        // Faults.
        if rng.chance(f.agent_crash) {
            let pruned_to = outbox
                .keys()
                .next()
                .map(|first| first - 1)
                .unwrap_or(produced);
            sender = Sender::new(scfg, pruned_to, produced);
            link_up = false;
        }
        if rng.chance(f.hub_crash) {
            receiver = Receiver::new(rcfg, log.len() as u64);
            down.clear();
        }
        if link_up && rng.chance(f.disconnect) {
            link_up = false;
            sender.disconnected();
            up.clear();
            down.clear();
        }
        if !link_up && (rng.chance(100) || !faulty) {
            link_up = true;
            sender.connected(now);
        }

        // Agent sends.
        sender.handle_timeout(now);
        while let Some(range) = sender.poll_transmit(now) {
            let items: Vec<u64> = (range.first..=range.last).map(|s| outbox[&s]).collect();
            let msg = Up::Batch {
                first: range.first,
                items,
            };
            if !rng.chance(f.drop) {
                up.push((now + rng.below(f.max_delay), msg.clone()));
            }
            if rng.chance(f.duplicate) {
                up.push((now + rng.below(f.max_delay), msg));
            }
        }
        // Hub receives what has arrived (in arrival-time order: reordering by delay).
        up.sort_by_key(|(at, _)| *at);
        let arrived: Vec<Up> = {
            let split = up.partition_point(|(at, _)| *at <= now);
            up.drain(..split).map(|(_, m)| m).collect()
        };
        for Up::Batch { first, items } in arrived {
            let last = first + items.len() as u64 - 1;
            if let BatchVerdict::Apply { from, last } = receiver.on_batch(first, last, now) {
                for seq in from..=last {
                    let payload = items[(seq - first) as usize];
                    assert_eq!(payload, seq * 7, "seed {seed}: payload of {seq} corrupted");
                    assert_eq!(log.len() as u64 + 1, seq, "seed {seed}: out of order");
                    log.push(seq);
                }
                receiver.committed(last);
            }
        }
        while let Some(t) = receiver.poll_transmit() {
            let msg = match t {
                ReceiverTransmit::Ack(s) => Down::Ack(s),
                ReceiverTransmit::ResendRequest(s) => Down::Resend(s),
            };
            if link_up && !rng.chance(f.drop) {
                down.push((now + rng.below(f.max_delay), msg));
            }
        }
        // Agent receives acks and resend requests; an ack is the only thing that prunes.
        down.sort_by_key(|(at, _)| *at);
        let split = down.partition_point(|(at, _)| *at <= now);
        for (_, msg) in down.drain(..split).collect::<Vec<_>>() {
            match msg {
                Down::Ack(s) => sender.on_ack(s, now).unwrap(),
                Down::Resend(s) => sender.on_resend_request(s, now).unwrap(),
            }
        }
        if let Some(to) = sender.take_prune() {
            assert!(
                to <= log.len() as u64,
                "seed {seed}: pruned {to} before the hub applied it"
            );
            outbox.retain(|seq, _| *seq > to);
        }

        // Done when everything was produced, applied, acked and pruned, and stays so.
        if produced == total && outbox.is_empty() && !faulty {
            let since = *calm_since.get_or_insert(now);
            if now - since > 100 {
                return (log, now);
            }
        }
    }
}

fn assert_exactly_once_in_order(log: &[u64], total: u64, seed: u64) {
    let expected: Vec<u64> = (1..=total).collect();
    assert_eq!(log, &expected[..], "seed {seed}");
}

#[test]
fn a_clean_network_delivers_everything_once_in_order() {
    let faults = Faults {
        drop: 0,
        duplicate: 0,
        max_delay: 1,
        disconnect: 0,
        agent_crash: 0,
        hub_crash: 0,
    };
    let (log, _) = run(42, 500, faults);
    assert_exactly_once_in_order(&log, 500, 42);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn drops_duplicates_reordering_disconnects_and_crashes_never_lose_or_double_an_item(seed in any::<u64>()) {
        let faults = Faults { drop: 150, duplicate: 150, max_delay: 30, disconnect: 10, agent_crash: 3, hub_crash: 3 };
        let (log, _) = run(seed, 1_500, faults);
        assert_exactly_once_in_order(&log, 1_500, seed);
    }
}
