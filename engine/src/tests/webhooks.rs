//! Webhook staging.

use super::*;
use crate::records::{DeadLetter, WebhookEvent};
use crate::settings::HookTarget;

fn hooked(events: Vec<String>) -> Hub {
    let mut s = settings();
    s.hooks = vec![
        HookTarget {
            url: "http://all.invalid".into(),
            events: Vec::new(),
        },
        HookTarget {
            url: "http://some.invalid".into(),
            events,
        },
    ];
    let mut hub = Hub::with(s);
    hub.register(N1);
    hub.ok(ApiCommand::PutItem(Box::new(item("MUG", "1"))));
    hub
}

#[test]
fn no_delivery_is_staged_without_receivers() {
    let mut hub = Hub::standard();
    hub.send(N1, vec![receive(PICK, "MUG", "3")]);
    assert!(hub.repo.committed_log().outbox.is_empty());
}

#[test]
fn a_change_is_staged_for_every_receiver_that_wants_it() {
    let mut hub = hooked(vec!["exception_raised".into()]);
    hub.send(N1, vec![receive(PICK, "MUG", "3")]);
    let log = hub.repo.committed_log();
    let staged: Vec<(&str, &str)> = log
        .outbox
        .values()
        .map(|d| (d.url.as_str(), d.event.name()))
        .collect();
    assert_eq!(staged, vec![("http://all.invalid", "inventory_changed")]);
    let Some(WebhookEvent::InventoryChanged { on_hand, .. }) =
        log.outbox.values().next().map(|d| d.event.clone())
    else {
        panic!("no inventory change");
    };
    assert_eq!(on_hand, dec("3"));
    drop(log);
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "9")])));
    let log = hub.repo.committed_log();
    let raised = log
        .outbox
        .values()
        .filter(|d| d.event.name() == "exception_raised")
        .count();
    assert_eq!(raised, 2, "the backorder goes to both receivers");
}

#[test]
fn a_finished_delivery_leaves_the_outbox_and_one_given_up_becomes_a_dead_letter() {
    let mut hub = hooked(Vec::new());
    hub.send(N1, vec![receive(PICK, "MUG", "3")]);
    let ids: Vec<u64> = hub.repo.committed_log().outbox.keys().copied().collect();
    assert_eq!(ids.len(), 2);
    hub.run(Command::WebhookFinished {
        id: ids[0],
        dead: None,
    });
    let letter = DeadLetter {
        attempts: 8,
        last_error: "503".into(),
        at_ms: hub.now.wall,
    };
    hub.run(Command::WebhookFinished {
        id: ids[1],
        dead: Some(letter),
    });
    let log = hub.repo.committed_log();
    assert!(log.outbox.is_empty());
    assert_eq!(log.dead.keys().copied().collect::<Vec<_>>(), vec![ids[1]]);
}

#[test]
fn a_failed_commit_stages_nothing_and_its_delivery_ids_are_used_again() {
    let mut hub = hooked(Vec::new());
    let events = hub.events(N1, vec![receive(PICK, "MUG", "3")]);
    hub.repo.fail_next_commit();
    assert!(!hub.batch(N1, events.clone()).committed);
    assert!(hub.repo.committed_log().outbox.is_empty());
    hub.batch(N1, events);
    let ids: Vec<u64> = hub.repo.committed_log().outbox.keys().copied().collect();
    assert_eq!(ids, vec![1, 2]);
}
