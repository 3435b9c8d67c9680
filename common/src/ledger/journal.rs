//! The ledger's undo journal: while it runs, every change to the ledger's maps records the value it
//! replaced, so the changes since a mark can be undone exactly ([`Ledger::rollback_to`]) and the
//! keys that changed can be listed for persisting ([`Ledger::take_changes`]).
//!
//! The hub's repository runs one unit of work per commit round: a command the engine rejects is
//! rolled back to the mark taken before it, a failed commit rolls back the whole round, and a
//! successful one writes exactly the changed keys. The agent never starts the journal; then each
//! write costs one branch.

use super::key::{NodeSku, StockKey, Totals};
use super::Ledger;
use crate::domain::{Dec, LocationCode, LocationInfo, NodeId, OrderRef};
use std::collections::{BTreeMap, BTreeSet};

/// One replaced value.
#[derive(Debug, Clone)]
pub(super) enum Undo {
    Balance(StockKey, Option<Dec>),
    Total(NodeSku, Option<Totals>),
    OnHand(NodeSku, Option<Dec>),
    Pickable(NodeSku, Option<Dec>),
    Reservations(NodeSku, Option<BTreeMap<OrderRef, Dec>>),
    Held(NodeSku, Option<BTreeMap<u64, Dec>>),
    Location((NodeId, LocationCode), Option<LocationInfo>),
    Applied(NodeId, Option<u64>),
}

/// The journal. It is bookkeeping, not state: two ledgers with the same balances are equal
/// whatever their journals hold.
#[derive(Debug, Clone, Default)]
pub(super) struct Journal(Option<Vec<Undo>>);

impl PartialEq for Journal {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Journal {}

/// The keys a journal saw change, for writing them down (their current values are read from
/// the ledger).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerChanges {
    /// Balance lines.
    pub balances: BTreeSet<StockKey>,
    /// Running totals per (node, sku).
    pub totals: BTreeSet<(NodeId, crate::domain::Sku)>,
    /// Reservations per (node, sku).
    pub reservations: BTreeSet<(NodeId, crate::domain::Sku)>,
    /// Quantities held for approval per (node, sku).
    pub held: BTreeSet<(NodeId, crate::domain::Sku)>,
    /// Location master data.
    pub locations: BTreeSet<(NodeId, LocationCode)>,
    /// Nodes whose applied sequence moved.
    pub applied: BTreeSet<NodeId>,
    /// Every (node, sku) whose on hand, availability, reservations or holds may have changed.
    pub stock: BTreeSet<(NodeId, crate::domain::Sku)>,
}

impl LedgerChanges {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.stock.is_empty() && self.locations.is_empty() && self.applied.is_empty()
    }
}

fn set<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, value: Option<V>) {
    match value {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
    }
}

impl Ledger {
    /// Starts recording undo information (a no-op when it runs already).
    pub fn start_journal(&mut self) {
        if self.journal.0.is_none() {
            self.journal.0 = Some(Vec::new());
        }
    }

    /// A mark to roll back to; 0 when the journal does not run.
    pub fn journal_mark(&self) -> usize {
        self.journal.0.as_ref().map_or(0, Vec::len)
    }

    /// Undoes every change since `mark` (from [`Ledger::journal_mark`]).
    pub fn rollback_to(&mut self, mark: usize) {
        let Some(mut undo) = self.journal.0.take() else {
            return;
        };
        while undo.len() > mark {
            let Some(entry) = undo.pop() else { break };
            self.restore_entry(entry);
        }
        self.journal.0 = Some(undo);
    }

    fn restore_entry(&mut self, entry: Undo) {
        match entry {
            Undo::Balance(key, value) => {
                if value.is_some_and(|v| v.is_negative()) {
                    self.negative.insert(key.clone());
                } else {
                    self.negative.remove(&key);
                }
                set(&mut self.balances, key, value);
            }
            Undo::Total(ns, value) => set(&mut self.totals, ns, value),
            Undo::OnHand(ns, value) => set(&mut self.on_hand, ns, value),
            Undo::Pickable(ns, value) => set(&mut self.pickable_available, ns, value),
            Undo::Reservations(ns, value) => set(&mut self.reservations, ns, value),
            Undo::Held(ns, value) => set(&mut self.held, ns, value),
            Undo::Location(slot, value) => set(&mut self.locations, slot, value),
            Undo::Applied(node, value) => set(&mut self.applied, node, value),
        }
    }

    /// The keys changed since the journal started or was last settled (their current values
    /// are read from the ledger).
    pub fn pending_changes(&self) -> LedgerChanges {
        let mut out = LedgerChanges::default();
        let Some(undo) = self.journal.0.as_ref() else {
            return out;
        };
        // One event leaves several entries for the same (node, SKU) and node in a row: skip
        // those repeats before they reach the sets (a round holds thousands of entries).
        let mut last_stock: Option<&NodeSku> = None;
        let mut last_node: Option<&NodeId> = None;
        for entry in undo {
            match entry {
                Undo::Balance(key, _) => {
                    let repeat =
                        last_stock.is_some_and(|(n, s)| *n == key.node && *s == key.stock.sku);
                    if !repeat {
                        out.stock.insert((key.node.clone(), key.stock.sku.clone()));
                    }
                    out.balances.insert(key.clone());
                }
                Undo::Total(ns, _) => {
                    note_stock(&mut out.stock, &mut last_stock, ns);
                    out.totals.insert(ns.clone());
                }
                Undo::OnHand(ns, _) | Undo::Pickable(ns, _) => {
                    note_stock(&mut out.stock, &mut last_stock, ns);
                }
                Undo::Reservations(ns, _) => {
                    note_stock(&mut out.stock, &mut last_stock, ns);
                    out.reservations.insert(ns.clone());
                }
                Undo::Held(ns, _) => {
                    note_stock(&mut out.stock, &mut last_stock, ns);
                    out.held.insert(ns.clone());
                }
                Undo::Location(slot, _) => {
                    out.locations.insert(slot.clone());
                }
                Undo::Applied(node, _) => {
                    if last_node != Some(node) {
                        out.applied.insert(node.clone());
                        last_node = Some(node);
                    }
                }
            }
        }
        out
    }

    /// Forgets the recorded changes (they are durable now and can no longer be rolled back);
    /// the journal keeps running.
    pub fn settle_journal(&mut self) {
        if let Some(undo) = self.journal.0.as_mut() {
            undo.clear();
        }
    }

    /// [`Ledger::pending_changes`], then [`Ledger::settle_journal`].
    pub fn take_changes(&mut self) -> LedgerChanges {
        let out = self.pending_changes();
        self.settle_journal();
        out
    }

    fn note(&mut self, entry: impl FnOnce(&Ledger) -> Undo) {
        if self.journal.0.is_some() {
            let e = entry(self);
            if let Some(j) = self.journal.0.as_mut() {
                j.push(e);
            }
        }
    }

    /// Sets a balance line (zero removes it) and its negative flag.
    pub(super) fn put_balance(&mut self, key: StockKey, value: Dec) {
        self.note(|l| Undo::Balance(key.clone(), l.balances.get(&key).copied()));
        if value.is_negative() {
            self.negative.insert(key.clone());
        } else {
            self.negative.remove(&key);
        }
        if value.is_zero() {
            self.balances.remove(&key);
        } else {
            self.balances.insert(key, value);
        }
    }

    pub(super) fn put_total(&mut self, ns: NodeSku, value: Totals) {
        self.note(|l| Undo::Total(ns.clone(), l.totals.get(&ns).copied()));
        self.totals.insert(ns, value);
    }

    pub(super) fn put_on_hand(&mut self, ns: NodeSku, value: Dec) {
        self.note(|l| Undo::OnHand(ns.clone(), l.on_hand.get(&ns).copied()));
        set(&mut self.on_hand, ns, (!value.is_zero()).then_some(value));
    }

    pub(super) fn put_pickable(&mut self, ns: NodeSku, value: Dec) {
        self.note(|l| Undo::Pickable(ns.clone(), l.pickable_available.get(&ns).copied()));
        set(
            &mut self.pickable_available,
            ns,
            (!value.is_zero()).then_some(value),
        );
    }

    /// The reservations of one (node, sku), for changing (recorded first). Empty maps are
    /// dropped by [`Ledger::tidy_reservations`].
    pub(super) fn reservations_mut(&mut self, ns: &NodeSku) -> &mut BTreeMap<OrderRef, Dec> {
        self.note(|l| Undo::Reservations(ns.clone(), l.reservations.get(ns).cloned()));
        self.reservations.entry(ns.clone()).or_default()
    }

    pub(super) fn tidy_reservations(&mut self, ns: &NodeSku) {
        if self.reservations.get(ns).is_some_and(BTreeMap::is_empty) {
            self.reservations.remove(ns);
        }
    }

    /// The holds of one (node, sku), for changing (recorded first).
    pub(super) fn held_mut(&mut self, ns: &NodeSku) -> &mut BTreeMap<u64, Dec> {
        self.note(|l| Undo::Held(ns.clone(), l.held.get(ns).cloned()));
        self.held.entry(ns.clone()).or_default()
    }

    pub(super) fn tidy_held(&mut self, ns: &NodeSku) {
        if self.held.get(ns).is_some_and(BTreeMap::is_empty) {
            self.held.remove(ns);
        }
    }

    pub(super) fn put_location(&mut self, slot: (NodeId, LocationCode), info: LocationInfo) {
        self.note(|l| Undo::Location(slot.clone(), l.locations.get(&slot).cloned()));
        self.locations.insert(slot, info);
    }

    pub(super) fn put_applied(&mut self, node: &NodeId, seq: u64) {
        self.note(|l| Undo::Applied(node.clone(), l.applied.get(node).copied()));
        self.applied.insert(node.clone(), seq);
    }
}

/// Adds `ns` to `stock` unless it is the one added last.
fn note_stock<'a>(
    stock: &mut std::collections::BTreeSet<NodeSku>,
    last: &mut Option<&'a NodeSku>,
    ns: &'a NodeSku,
) {
    if *last != Some(ns) {
        stock.insert(ns.clone());
        *last = Some(ns);
    }
}
