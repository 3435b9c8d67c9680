//! Node batches: applied exactly once, in order, acked only after the commit.

use super::*;
use crate::repo::Counter;
use stockpost_common::sync::ReceiverTransmit;

#[test]
fn a_batch_is_applied_in_order_and_acked_after_its_commit() {
    let mut hub = Hub::standard();
    let out = hub.send(
        N1,
        vec![receive(PICK, "MUG", "10"), adjust(PICK, "MUG", "-3")],
    );
    assert!(out.committed);
    assert_eq!(out.transmits(N1), vec![ReceiverTransmit::Ack(2)]);
    assert_eq!(hub.on_hand(N1, "MUG"), dec("7"));
    assert_eq!(hub.stock().applied_seq(&node(N1)), 2);
    let log = hub.repo.committed_log();
    let seqs: Vec<u64> = log.events.keys().map(|(_, s)| *s).collect();
    assert_eq!(seqs, vec![1, 2]);
}

#[test]
fn a_duplicate_batch_is_acked_again_without_being_applied_twice() {
    let mut hub = Hub::standard();
    let events = hub.events(N1, vec![receive(PICK, "MUG", "10")]);
    hub.batch(N1, events.clone());
    let before = hub.fingerprint();
    let again = hub.batch(N1, events);
    assert_eq!(again.transmits(N1), vec![ReceiverTransmit::Ack(1)]);
    assert_eq!(hub.on_hand(N1, "MUG"), dec("10"));
    assert_eq!(hub.fingerprint(), before, "nothing was applied again");
    assert_eq!(hub.engine.live().stats.duplicate_batches, 1);
}

#[test]
fn a_batch_after_a_gap_is_not_applied_and_a_resend_is_requested() {
    let mut hub = Hub::standard();
    let events = hub.events(
        N1,
        vec![
            receive(PICK, "MUG", "1"),
            receive(PICK, "MUG", "2"),
            receive(PICK, "MUG", "4"),
        ],
    );
    hub.batch(N1, events[..1].to_vec());
    let gap = hub.batch(N1, events[2..].to_vec());
    assert_eq!(gap.transmits(N1), vec![ReceiverTransmit::ResendRequest(2)]);
    assert_eq!(hub.on_hand(N1, "MUG"), dec("1"), "seq 3 waits for seq 2");
    let resent = hub.batch(N1, events[1..].to_vec());
    assert_eq!(resent.transmits(N1), vec![ReceiverTransmit::Ack(3)]);
    assert_eq!(hub.on_hand(N1, "MUG"), dec("7"));
}

#[test]
fn a_batch_overlapping_what_was_applied_applies_only_its_new_part() {
    let mut hub = Hub::standard();
    let events = hub.events(
        N1,
        vec![receive(PICK, "MUG", "1"), receive(PICK, "MUG", "2")],
    );
    hub.batch(N1, events[..1].to_vec());
    let out = hub.batch(N1, events);
    assert_eq!(out.transmits(N1), vec![ReceiverTransmit::Ack(2)]);
    assert_eq!(hub.on_hand(N1, "MUG"), dec("3"));
}

#[test]
fn different_events_under_applied_sequence_numbers_raise_one_sequence_reused_and_are_not_applied() {
    let mut hub = Hub::standard();
    hub.send(N1, vec![receive(PICK, "MUG", "10")]);
    let wiped = vec![event(N1, 1, receive(PICK, "MUG", "5"))];
    hub.batch(N1, wiped.clone());
    hub.batch(N1, wiped);
    assert_eq!(
        hub.on_hand(N1, "MUG"),
        dec("10"),
        "the reused number is not applied"
    );
    let reused = hub.exceptions_of(ExceptionCode::SequenceReused);
    assert_eq!(reused.len(), 1, "one exception however often it arrives");
    assert_eq!(reused[0].1.exception.node, Some(node(N1)));
    assert_eq!(hub.engine.live().stats.sequence_reused_batches, 2);
}

#[test]
fn an_event_the_ledger_refuses_is_quarantined_and_the_stream_moves_on() {
    let mut hub = Hub::standard();
    let out = hub.send(
        N1,
        vec![adjust(PICK, "MUG", "0"), receive(PICK, "MUG", "4")],
    );
    assert_eq!(out.transmits(N1), vec![ReceiverTransmit::Ack(2)]);
    assert_eq!(hub.on_hand(N1, "MUG"), dec("4"));
    let view = hub.view();
    let records: Vec<_> = view.quarantine.values().collect();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].kind,
        crate::records::QuarantineKind::InvalidEvent
    );
    assert_eq!(records[0].seq, Some(1));
    assert_eq!(hub.exceptions_of(ExceptionCode::PoisonMessage).len(), 1);
}

#[test]
fn a_failed_commit_keeps_nothing_of_the_batch_and_its_resend_is_applied_once() {
    let mut hub = Hub::new();
    hub.register(N1);
    hub.ok(ApiCommand::PutItem(Box::new(item("VASE", "50"))));
    let before = hub.fingerprint();
    let events = hub.events(
        N1,
        vec![receive(PICK, "VASE", "1"), adjust(PICK, "VASE", "5")],
    );
    hub.repo.fail_next_commit();
    let failed = hub.batch(N1, events.clone());
    assert!(!failed.committed);
    assert!(failed.effects.is_empty(), "no ack for what was not stored");
    assert_eq!(
        hub.fingerprint(),
        before,
        "the books are as before the round"
    );
    let out = hub.batch(N1, events);
    assert_eq!(out.transmits(N1), vec![ReceiverTransmit::Ack(2)]);
    assert_eq!(hub.on_hand(N1, "VASE"), dec("6"));
    let view = hub.view();
    assert_eq!(
        view.adjustments.keys().copied().collect::<Vec<_>>(),
        vec![1],
        "the failed round's adjustment id is handed out again"
    );
    let counters = hub.repo.books().counters.snapshot();
    assert_eq!(counters.get(&Counter::Adjustment).map(|v| **v), Some(2));
}

#[test]
fn an_empty_batch_changes_nothing() {
    let mut hub = Hub::standard();
    let before = hub.fingerprint();
    let out = hub.batch(N1, Vec::new());
    assert!(matches!(out.reply(), Ok(Reply::Done)));
    assert_eq!(hub.fingerprint(), before);
}

#[test]
fn a_status_message_shows_a_registered_node_and_ignores_an_unknown_one() {
    let mut hub = Hub::standard();
    let status = |n: &str, online| Command::NodeStatus {
        node: node(n),
        online,
        head: 7,
        pending: 2,
    };
    hub.run(status(N1, true));
    let live = hub.engine.live().nodes.get(&node(N1)).cloned();
    assert!(live
        .as_ref()
        .is_some_and(|l| l.online && l.reported_head == 7));
    let out = hub.run(status("GHOST", true));
    assert!(out.effects.iter().any(|e| matches!(e, Effect::Notice(_))));
    assert!(!hub.engine.live().nodes.contains_key(&node("GHOST")));
    hub.run(status(N1, false));
    assert!(hub
        .engine
        .live()
        .nodes
        .get(&node(N1))
        .is_some_and(|l| !l.online));
}

#[test]
fn the_link_state_is_kept_in_the_live_view() {
    let mut hub = Hub::standard();
    assert!(hub.engine.live().link_up);
    hub.run(Command::Link { up: false });
    assert!(!hub.engine.live().link_up);
}
