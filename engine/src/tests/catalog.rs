//! Master data: items, nodes, locations.

use super::*;
use stockpost_common::wire::DownlinkItem;

#[test]
fn a_new_item_is_stored_and_sent_to_every_registered_node() {
    let mut hub = Hub::new();
    hub.register(N1);
    hub.register(N2);
    let out = hub.api(ApiCommand::PutItem(Box::new(item("CUP", "2"))));
    assert!(matches!(out.reply(), Ok(Reply::Item(r)) if r.item.sku == sku("CUP")));
    for n in [N1, N2] {
        assert!(
            out.downlink(n)
                .iter()
                .any(|i| matches!(i, DownlinkItem::ItemUpsert(it) if it.sku == sku("CUP"))),
            "{n} got the item"
        );
    }
    assert!(hub.view().items.contains_key(&sku("CUP")));
    let audit = hub.repo.committed_log();
    assert!(audit.audit.values().any(|a| a.action == "item.put"));
}

#[test]
fn a_new_node_gets_every_item_and_its_locations_on_its_downlink() {
    let mut hub = Hub::standard();
    let out = hub.api(ApiCommand::PutNode(
        node(N2),
        master("west"),
        keep_or_issue(),
    ));
    assert!(matches!(out.reply(), Ok(Reply::Node(n, m, _)) if n == &node(N2) && m.name == "west"));
    assert!(out
        .downlink(N2)
        .iter()
        .any(|i| matches!(i, DownlinkItem::ItemUpsert(it) if it.sku == sku("MUG"))));
    assert!(hub.view().nodes.contains_key(&node(N2)));
}

#[test]
fn updating_a_registered_node_does_not_send_the_items_again() {
    let mut hub = Hub::standard();
    let mut m = master(N1);
    m.priority = 9;
    let out = hub.api(ApiCommand::PutNode(node(N1), m, keep_or_issue()));
    assert!(out.downlink(N1).is_empty());
    assert_eq!(hub.view().nodes.get(&node(N1)).map(|m| m.priority), Some(9));
}

#[test]
fn a_location_of_an_unregistered_node_is_refused_as_not_found_and_changes_nothing() {
    let mut hub = Hub::standard();
    let before = hub.fingerprint();
    let r = hub.refused(ApiCommand::PutLocation(
        node("GHOST"),
        loc(PICK),
        location(LocationKind::Pick, true),
    ));
    assert_eq!(r.kind, RejectKind::NotFound);
    assert_eq!(hub.fingerprint(), before);
}

#[test]
fn a_location_made_pickable_makes_its_stock_available_and_is_sent_to_the_node() {
    let mut hub = Hub::standard();
    hub.send(N1, vec![receive(DOCK, "MUG", "10")]);
    assert_eq!(
        hub.available(N1, "MUG"),
        dec("0"),
        "the dock is not pickable"
    );
    let out = hub.api(ApiCommand::PutLocation(
        node(N1),
        loc(DOCK),
        location(LocationKind::Reserve, true),
    ));
    assert!(matches!(out.reply(), Ok(Reply::Location(_, c, i)) if c == &loc(DOCK) && i.pickable));
    assert!(out
        .downlink(N1)
        .iter()
        .any(|i| matches!(i, DownlinkItem::LocationUpsert { code, .. } if code == &loc(DOCK))));
    assert_eq!(hub.available(N1, "MUG"), dec("10"));
}
