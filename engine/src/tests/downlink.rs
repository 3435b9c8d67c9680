//! The per-node downlink: sent after the commit, resent until acked, pruned on the ack.

use super::*;
use stockpost_common::wire::DownlinkItem;

fn head(hub: &Hub, n: &str) -> (u64, u64) {
    hub.view()
        .downlink
        .get(&node(n))
        .map_or((0, 0), |m| (m.head, m.acked))
}

fn first_seqs(out: &Outcome, n: &str) -> Vec<u64> {
    out.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Downlink {
                node: to,
                first_seq,
                ..
            } if to.as_str() == n => Some(*first_seq),
            _ => None,
        })
        .collect()
}

#[test]
fn an_ack_prunes_the_acked_items_and_advances_the_sender() {
    let mut hub = Hub::standard();
    let (h, acked) = head(&hub, N1);
    assert!(h >= 3 && acked == 0, "locations and the item wait: {h}");
    hub.run(Command::DownlinkAck {
        node: node(N1),
        applied_seq: h,
    });
    assert_eq!(head(&hub, N1), (h, h));
    assert!(hub.repo.books().downlink_items.is_empty());
    let out = hub.api(ApiCommand::PutItem(Box::new(item("CUP", "1"))));
    assert_eq!(
        first_seqs(&out, N1),
        vec![h + 1],
        "the sender goes on after the ack"
    );
}

#[test]
fn unacked_items_are_resent_after_the_ack_timeout() {
    let mut hub = Hub::standard();
    let (h, _) = head(&hub, N1);
    hub.advance(6_000);
    let out = hub.run(Command::Tick);
    assert_eq!(first_seqs(&out, N1), vec![1]);
    assert_eq!(out.downlink(N1).len() as u64, h);
}

#[test]
fn an_ack_beyond_the_head_prunes_nothing() {
    let mut hub = Hub::standard();
    let (h, _) = head(&hub, N1);
    let out = hub.run(Command::DownlinkAck {
        node: node(N1),
        applied_seq: h + 10,
    });
    assert!(out.effects.iter().any(|e| matches!(e, Effect::Notice(_))));
    assert_eq!(head(&hub, N1), (h, 0));
}

#[test]
fn an_ack_of_an_unregistered_node_is_ignored() {
    let mut hub = Hub::standard();
    let before = hub.fingerprint();
    hub.run(Command::DownlinkAck {
        node: node("GHOST"),
        applied_seq: 1,
    });
    assert_eq!(hub.fingerprint(), before);
}

#[test]
fn nothing_is_sent_while_the_link_is_down_and_everything_waiting_is_sent_when_it_is_up() {
    let mut hub = Hub::standard();
    hub.run(Command::Link { up: false });
    let (h, _) = head(&hub, N1);
    hub.run(Command::DownlinkAck {
        node: node(N1),
        applied_seq: h,
    });
    let out = hub.api(ApiCommand::PutItem(Box::new(item("CUP", "1"))));
    assert!(out.downlink(N1).is_empty());
    let up = hub.run(Command::Link { up: true });
    assert!(up
        .downlink(N1)
        .iter()
        .any(|i| matches!(i, DownlinkItem::ItemUpsert(it) if it.sku == sku("CUP"))));
}

#[test]
fn a_full_downlink_refuses_api_changes_as_busy_but_never_node_facts() {
    let mut s = settings();
    s.max_pending = 3;
    let mut hub = Hub::with(s);
    hub.register(N1);
    hub.ok(ApiCommand::PutItem(Box::new(item("MUG", "1"))));
    let before = hub.fingerprint();
    let r = hub.refused(ApiCommand::PutItem(Box::new(item("CUP", "1"))));
    assert_eq!(r.kind, RejectKind::Busy);
    assert_eq!(hub.fingerprint(), before);
    let out = hub.send(N1, vec![short_pick(PICK, "MUG", "1", "0", "SO-X")]);
    assert!(out.committed, "a node fact is applied with a full downlink");
    let (h, _) = head(&hub, N1);
    hub.run(Command::DownlinkAck {
        node: node(N1),
        applied_seq: h,
    });
    hub.ok(ApiCommand::PutItem(Box::new(item("CUP", "1"))));
}

#[test]
fn a_restarted_engine_sends_again_what_was_not_acked() {
    let mut hub = Hub::standard();
    let (h, _) = head(&hub, N1);
    let mut engine = Engine::new(settings());
    let now = hub.now;
    engine.start(hub.repo.uow(), now).expect("start");
    hub.engine = engine;
    let out = hub.run(Command::Link { up: true });
    assert_eq!(first_seqs(&out, N1), vec![1]);
    assert_eq!(out.downlink(N1).len() as u64, h);
}

#[test]
fn a_failed_commit_forgets_the_rounds_downlink_and_numbers_it_again() {
    let mut hub = Hub::standard();
    let (h, _) = head(&hub, N1);
    hub.repo.fail_next_commit();
    let failed = hub.api(ApiCommand::PutItem(Box::new(item("CUP", "1"))));
    assert!(!failed.committed && failed.effects.is_empty());
    assert_eq!(head(&hub, N1), (h, 0));
    let out = hub.api(ApiCommand::PutItem(Box::new(item("CUP", "1"))));
    assert_eq!(head(&hub, N1).0, h + 1, "the same number is used again");
    assert!(out
        .downlink(N1)
        .iter()
        .any(|i| matches!(i, DownlinkItem::ItemUpsert(it) if it.sku == sku("CUP"))));
}
