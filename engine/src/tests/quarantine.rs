//! The quarantine: bounded, by digest, with one exception per incident.

use super::*;
use crate::records::QuarantineKind;
use crate::settings::QuarantineLimits;
use sha2::{Digest as _, Sha256};

fn poison(n: Option<&str>, payload: &[u8]) -> Command {
    Command::Poison {
        node: n.map(node),
        seq: Some(4),
        reason: "does not decode".into(),
        payload: payload.to_vec(),
    }
}

fn limited(per_node: u64, total: u64) -> Hub {
    let mut s = settings();
    s.quarantine = QuarantineLimits { per_node, total };
    let mut hub = Hub::with(s);
    hub.register(N1);
    hub
}

#[test]
fn a_poison_message_keeps_its_digest_and_first_bytes_not_the_payload() {
    let mut hub = Hub::standard();
    let payload = vec![0xAB; 1_000];
    hub.run(poison(Some(N1), &payload));
    let view = hub.view();
    let r = view.quarantine.get(&1).cloned().expect("record 1");
    assert_eq!(r.kind, QuarantineKind::Poison);
    assert_eq!(r.head.len(), crate::quarantine::HEAD_BYTES);
    assert_eq!(r.len, 1_000);
    let digest: [u8; 32] = Sha256::digest(&payload).into();
    assert_eq!(r.digest, digest);
    assert_eq!(
        (r.node.clone(), r.seq, r.count),
        (Some(node(N1)), Some(4), 1)
    );
    let ex = hub.exceptions_of(ExceptionCode::PoisonMessage);
    assert_eq!(ex.len(), 1);
    assert_eq!(r.exception, Some(ex[0].0));
}

#[test]
fn an_identical_payload_only_counts_up() {
    let mut hub = Hub::standard();
    hub.run(poison(Some(N1), b"garbage"));
    hub.advance(10);
    hub.run(poison(Some(N1), b"garbage"));
    let view = hub.view();
    assert_eq!(view.quarantine.len(), 1);
    let r = view.quarantine.get(&1).cloned().expect("record 1");
    assert_eq!(r.count, 2);
    assert_eq!(r.last_seen_ms, r.first_seen_ms + 10);
    assert_eq!(hub.exceptions_of(ExceptionCode::PoisonMessage).len(), 1);
}

#[test]
fn one_open_poison_message_covers_a_nodes_incidents_until_resolved() {
    // Current rule (quarantine.rs): one open `poison_message` per node, not one per record.
    let mut hub = Hub::standard();
    hub.run(poison(Some(N1), b"one"));
    hub.run(poison(Some(N1), b"two"));
    let ex = hub.exceptions_of(ExceptionCode::PoisonMessage);
    assert_eq!(ex.len(), 1);
    hub.ok(ApiCommand::ResolveException {
        id: ex[0].0,
        note: None,
    });
    hub.run(poison(Some(N1), b"three"));
    assert_eq!(hub.exceptions_of(ExceptionCode::PoisonMessage).len(), 2);
}

#[test]
fn each_poison_message_naming_no_node_raises_its_own_exception() {
    let mut hub = Hub::standard();
    hub.run(poison(None, b"one"));
    hub.run(poison(None, b"two"));
    assert_eq!(hub.exceptions_of(ExceptionCode::PoisonMessage).len(), 2);
    assert!(hub.view().quarantine.values().all(|r| r.node.is_none()));
}

#[test]
fn the_per_node_cap_drops_the_oldest_record_and_counts_the_drop() {
    let mut hub = limited(2, 100);
    for p in [&b"a"[..], b"b", b"c"] {
        hub.run(poison(Some(N1), p));
    }
    hub.run(poison(None, b"elsewhere"));
    let view = hub.view();
    let ids: Vec<u64> = view.quarantine.keys().copied().collect();
    assert_eq!(
        ids,
        vec![2, 3, 4],
        "the oldest of N1 went; the no-node record is apart"
    );
    assert_eq!(hub.engine.live().stats.quarantine_dropped, 1);
}

#[test]
fn the_total_cap_drops_the_oldest_record_of_any_node() {
    let mut hub = limited(10, 2);
    hub.register(N2);
    hub.run(poison(Some(N1), b"a"));
    hub.run(poison(Some(N2), b"b"));
    hub.run(poison(None, b"c"));
    let ids: Vec<u64> = hub.view().quarantine.keys().copied().collect();
    assert_eq!(ids, vec![2, 3]);
    assert_eq!(hub.engine.live().stats.quarantine_dropped, 1);
}

#[test]
fn events_of_an_unregistered_node_are_quarantined_once_and_not_applied() {
    let mut hub = Hub::standard();
    let before_stock = format!("{:?}", hub.repo.books().ledger());
    let events = hub.events("GHOST", vec![receive(PICK, "MUG", "5")]);
    let first = hub.batch("GHOST", events.clone());
    let second = hub.batch("GHOST", events.clone());
    assert!(first.transmits("GHOST").is_empty() && second.transmits("GHOST").is_empty());
    assert_eq!(format!("{:?}", hub.repo.books().ledger()), before_stock);
    let view = hub.view();
    assert_eq!(view.quarantine.len(), 1);
    let r = view.quarantine.values().next().cloned().expect("record");
    assert_eq!((r.kind, r.count), (QuarantineKind::UnknownNode, 2));
    assert_eq!(hub.exceptions_of(ExceptionCode::UnknownNode).len(), 1);
    assert_eq!(hub.engine.live().stats.unknown_node_batches, 2);
    hub.register("GHOST");
    let out = hub.batch("GHOST", events);
    assert_eq!(
        out.transmits("GHOST"),
        vec![stockpost_common::sync::ReceiverTransmit::Ack(1)]
    );
    assert_eq!(hub.on_hand("GHOST", "MUG"), dec("5"));
}
