//! The inventory ledger: applies events to balances per (node, location, sku, lot, serial,
//! expiry, status), and keeps the reservation overlay that separates on hand from available.
//!
//! Rules that hold for every sequence of calls (property-tested in `tests.rs`):
//! - Each node's events are applied strictly in sequence: a repeat is `Duplicate`, a jump is
//!   `Gap`; neither changes anything.
//! - Physical events are facts: a balance may go negative. That is applied and flagged
//!   ([`Flag::NegativeBalance`]), never clamped, so the hub can raise a count task.
//! - Conservation: for every (node, sku), the sum of balances equals received + returned +
//!   transferred in + adjusted up − shipped − transferred out − adjusted down − written off −
//!   returned to vendor ([`Ledger::check_conservation`]).
//! - Available = on hand with status available in pickable locations − reserved. A reservation
//!   never takes more than is available ([`Ledger::reserve`]).
//! - Same events in the same per-node order give the same state, whatever the interleaving
//!   of different nodes.

mod cursor;
mod effects;
mod journal;
#[cfg(test)]
mod journal_tests;
mod key;
mod reserve;
mod stock;
#[cfg(test)]
mod tests;

pub use cursor::{decode_cursor, encode_cursor, CursorError, MAX_CURSOR_CHARS};
pub use journal::LedgerChanges;
pub use key::{StockKey, Totals};
pub use reserve::ReserveError;
pub use stock::Stock;

use crate::domain::{
    Dec, Event, EventBody, EventError, EventId, LocationCode, LocationInfo, NodeId, OrderRef,
    Place, Sku, StockRef, StockStatus,
};
use key::NodeSku;
use std::collections::{BTreeMap, BTreeSet};

/// Why an event was not applied. The ledger is unchanged in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// This event (or a later one of the same node) was applied already.
    #[error("event {seq} of node {node} was already applied (applied up to {applied})")]
    Duplicate {
        /// The node.
        node: NodeId,
        /// The event's sequence.
        seq: u64,
        /// The highest applied sequence of the node.
        applied: u64,
    },
    /// Events of this node are missing before this one.
    #[error("event {seq} of node {node} arrived before {expected}")]
    Gap {
        /// The node.
        node: NodeId,
        /// The event's sequence.
        seq: u64,
        /// The sequence expected next.
        expected: u64,
    },
    /// The event breaks a rule of the event model.
    #[error("event {seq} of node {node} is invalid: {source}")]
    Invalid {
        /// The node.
        node: NodeId,
        /// The event's sequence.
        seq: u64,
        /// What is wrong.
        source: EventError,
    },
    /// A balance or total would leave the representable range.
    #[error("event {seq} of node {node} would overflow a balance")]
    Overflow {
        /// The node.
        node: NodeId,
        /// The event's sequence.
        seq: u64,
    },
}

/// Something the caller must act on after an event was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    /// A balance went below zero (the event was applied anyway).
    NegativeBalance {
        /// The balance line.
        key: StockKey,
        /// Its new value.
        balance: Dec,
    },
    /// Physical events left less available than is reserved for orders.
    ReservedExceedsAvailable {
        /// The node.
        node: NodeId,
        /// The item.
        sku: Sku,
        /// Reserved quantity.
        reserved: Dec,
        /// Available before reservations (on hand, available, pickable).
        available: Dec,
    },
}

/// The change of one balance line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceChange {
    /// The line.
    pub key: StockKey,
    /// Before the event.
    pub before: Dec,
    /// After the event.
    pub after: Dec,
}

/// The outcome of an applied event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// Every balance line the event changed.
    pub changes: Vec<BalanceChange>,
    /// What needs attention.
    pub flags: Vec<Flag>,
    /// The new running totals of every (node, sku) the event moved, for persisting.
    pub totals: Vec<(NodeId, Sku, Totals)>,
}

/// Why the books do not balance (a bug: this must never happen).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{sku} at {node}: balances add up to {on_hand} but the totals say {expected}")]
pub struct ConservationError {
    /// The node.
    pub node: NodeId,
    /// The item.
    pub sku: Sku,
    /// Sum of balances.
    pub on_hand: Dec,
    /// What the totals say.
    pub expected: Dec,
}

/// The inventory ledger. See the module documentation for its rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ledger {
    balances: BTreeMap<StockKey, Dec>,
    totals: BTreeMap<NodeSku, Totals>,
    /// On hand in every place and status, per (node, sku): the sum of the balance lines, kept
    /// beside them so reading it does not scan every node's lines (the hub reads it per event).
    on_hand: BTreeMap<NodeSku, Dec>,
    /// On hand, available status, pickable location; per (node, sku).
    pickable_available: BTreeMap<NodeSku, Dec>,
    reservations: BTreeMap<NodeSku, BTreeMap<OrderRef, Dec>>,
    /// Quantities held back from availability while an adjustment waits for approval, per
    /// (node, sku) and adjustment id.
    held: BTreeMap<NodeSku, BTreeMap<u64, Dec>>,
    locations: BTreeMap<(NodeId, LocationCode), LocationInfo>,
    applied: BTreeMap<NodeId, u64>,
    negative: BTreeSet<StockKey>,
    journal: journal::Journal,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// The highest sequence applied (or quarantined) for `node`; 0 when none.
    pub fn applied_seq(&self, node: &NodeId) -> u64 {
        self.applied.get(node).copied().unwrap_or(0)
    }

    fn check_seq(&self, id: &EventId) -> Result<(), ApplyError> {
        let applied = self.applied_seq(&id.node);
        if id.seq <= applied {
            return Err(ApplyError::Duplicate {
                node: id.node.clone(),
                seq: id.seq,
                applied,
            });
        }
        if id.seq != applied + 1 {
            return Err(ApplyError::Gap {
                node: id.node.clone(),
                seq: id.seq,
                expected: applied + 1,
            });
        }
        Ok(())
    }

    /// Applies `event`. On error nothing changes.
    pub fn apply(&mut self, event: &Event) -> Result<Applied, ApplyError> {
        self.check_seq(&event.id)?;
        event.validate().map_err(|source| ApplyError::Invalid {
            node: event.id.node.clone(),
            seq: event.id.seq,
            source,
        })?;
        let overflow = || ApplyError::Overflow {
            node: event.id.node.clone(),
            seq: event.id.seq,
        };
        let fx = effects::effects_of(event);

        // Compute every new value before writing any, so an overflow leaves no trace.
        let mut new_balances: BTreeMap<StockKey, (Dec, Dec)> = BTreeMap::new();
        for (key, delta) in &fx.balances {
            let before = match new_balances.get(key) {
                Some((_, after)) => *after,
                None => self.balances.get(key).copied().unwrap_or(Dec::ZERO),
            };
            let after = before.checked_add(*delta).ok_or_else(overflow)?;
            let first_before = new_balances.get(key).map(|(b, _)| *b).unwrap_or(before);
            new_balances.insert(key.clone(), (first_before, after));
        }
        let mut new_totals: BTreeMap<NodeSku, Totals> = BTreeMap::new();
        for (stock, flow, qty) in &fx.flows {
            let ns = (event.id.node.clone(), stock.sku.clone());
            let mut totals = new_totals
                .get(&ns)
                .or_else(|| self.totals.get(&ns))
                .copied()
                .unwrap_or_default();
            let field = totals.field(*flow);
            *field = field.checked_add(*qty).ok_or_else(overflow)?;
            totals.expected_on_hand().ok_or_else(overflow)?;
            new_totals.insert(ns, totals);
        }
        let mut new_on_hand: BTreeMap<NodeSku, Dec> = BTreeMap::new();
        for (key, (before, after)) in &new_balances {
            let ns = (key.node.clone(), key.stock.sku.clone());
            let current = new_on_hand
                .get(&ns)
                .or_else(|| self.on_hand.get(&ns))
                .copied()
                .unwrap_or(Dec::ZERO);
            let delta = after.checked_sub(*before).ok_or_else(overflow)?;
            new_on_hand.insert(ns, current.checked_add(delta).ok_or_else(overflow)?);
        }
        let mut new_pickable: BTreeMap<NodeSku, Dec> = BTreeMap::new();
        for (key, (before, after)) in &new_balances {
            if self.counts_as_pickable(key) {
                let ns = (key.node.clone(), key.stock.sku.clone());
                let current = new_pickable
                    .get(&ns)
                    .or_else(|| self.pickable_available.get(&ns))
                    .copied()
                    .unwrap_or(Dec::ZERO);
                let delta = after.checked_sub(*before).ok_or_else(overflow)?;
                new_pickable.insert(ns, current.checked_add(delta).ok_or_else(overflow)?);
            }
        }

        // Write.
        let mut applied = Applied::default();
        for (key, (before, after)) in new_balances {
            if after.is_negative() {
                applied.flags.push(Flag::NegativeBalance {
                    key: key.clone(),
                    balance: after,
                });
            }
            self.put_balance(key.clone(), after);
            if before != after {
                applied.changes.push(BalanceChange { key, before, after });
            }
        }
        applied.totals = new_totals
            .iter()
            .map(|((node, sku), totals)| (node.clone(), sku.clone(), *totals))
            .collect();
        for (ns, totals) in new_totals {
            self.put_total(ns, totals);
        }
        for (ns, qty) in new_on_hand {
            self.put_on_hand(ns, qty);
        }
        let touched: Vec<NodeSku> = new_pickable.keys().cloned().collect();
        for (ns, qty) in new_pickable {
            self.put_pickable(ns, qty);
        }
        if let EventBody::Pick {
            stock, qty, order, ..
        } = &event.body
        {
            self.consume_reservation(&event.id.node, &stock.sku, order, qty.get());
        }
        for ns in touched {
            let reserved = self.reserved(&ns.0, &ns.1);
            let available = self.pickable_on_hand(&ns.0, &ns.1);
            if reserved > available && !reserved.is_zero() {
                applied.flags.push(Flag::ReservedExceedsAvailable {
                    node: ns.0,
                    sku: ns.1,
                    reserved,
                    available,
                });
            }
        }
        self.put_applied(&event.id.node, event.id.seq);
        Ok(applied)
    }

    /// Rebuilds a ledger from persisted parts: location master data, balance lines, running
    /// totals and the applied sequence of each node. Derived indexes (negative lines, pickable
    /// stock) are recomputed, so they can never disagree with the balances.
    pub fn restore(
        locations: impl IntoIterator<Item = (NodeId, LocationCode, LocationInfo)>,
        balances: impl IntoIterator<Item = (StockKey, Dec)>,
        totals: impl IntoIterator<Item = (NodeId, Sku, Totals)>,
        applied: impl IntoIterator<Item = (NodeId, u64)>,
    ) -> Self {
        // Each map is built in bulk from its sorted entries: full B-tree nodes, where inserting
        // the entries one by one in key order leaves every node about half empty (this is most
        // of what an agent holds in memory; docs/benchmarks.md).
        let mut ledger = Ledger {
            locations: locations
                .into_iter()
                .map(|(node, code, info)| ((node, code), info))
                .collect(),
            balances: balances
                .into_iter()
                .filter(|(_, qty)| !qty.is_zero())
                .collect(),
            totals: totals
                .into_iter()
                .map(|(node, sku, t)| ((node, sku), t))
                .collect(),
            ..Ledger::new()
        };
        ledger.negative = ledger
            .balances
            .iter()
            .filter(|(_, qty)| qty.is_negative())
            .map(|(key, _)| key.clone())
            .collect();
        let mut pickable: Vec<(NodeSku, Dec)> = ledger
            .balances
            .iter()
            .filter(|(key, _)| ledger.counts_as_pickable(key))
            .map(|(key, qty)| ((key.node.clone(), key.stock.sku.clone()), *qty))
            .collect();
        pickable.sort_by(|a, b| a.0.cmp(&b.0));
        let mut summed: Vec<(NodeSku, Dec)> = Vec::with_capacity(pickable.len());
        for (ns, qty) in pickable {
            match summed.last_mut() {
                Some((last, sum)) if *last == ns => *sum = sum.checked_add(qty).unwrap_or(*sum),
                _ => summed.push((ns, qty)),
            }
        }
        // Lines of one sku can cancel out; the indexes keep no zero entries, as `apply` does.
        ledger.pickable_available = summed
            .into_iter()
            .filter(|(_, qty)| !qty.is_zero())
            .collect();
        let mut lines: Vec<(NodeSku, Dec)> = ledger
            .balances
            .iter()
            .map(|(key, qty)| ((key.node.clone(), key.stock.sku.clone()), *qty))
            .collect();
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        let mut on_hand: Vec<(NodeSku, Dec)> = Vec::with_capacity(lines.len());
        for (ns, qty) in lines {
            match on_hand.last_mut() {
                Some((last, sum)) if *last == ns => *sum = sum.checked_add(qty).unwrap_or(*sum),
                _ => on_hand.push((ns, qty)),
            }
        }
        ledger.on_hand = on_hand
            .into_iter()
            .filter(|(_, qty)| !qty.is_zero())
            .collect();
        ledger.applied.extend(applied);
        ledger
    }

    /// Every node's applied sequence.
    pub fn applied_seqs(&self) -> impl Iterator<Item = (&NodeId, u64)> {
        self.applied.iter().map(|(n, s)| (n, *s))
    }

    /// Every (node, sku) with running totals.
    pub fn all_totals(&self) -> impl Iterator<Item = (&NodeId, &Sku, &Totals)> {
        self.totals.iter().map(|((n, s), t)| (n, s, t))
    }

    /// Every location with master data.
    pub fn locations(&self) -> impl Iterator<Item = (&NodeId, &LocationCode, &LocationInfo)> {
        self.locations.iter().map(|((n, c), i)| (n, c, i))
    }

    /// Records that event `id` was quarantined (it could not be applied) so the node's stream
    /// moves on. The same sequence rules as [`Ledger::apply`] hold.
    pub fn mark_quarantined(&mut self, id: &EventId) -> Result<(), ApplyError> {
        self.check_seq(id)?;
        self.put_applied(&id.node, id.seq);
        Ok(())
    }

    fn counts_as_pickable(&self, key: &StockKey) -> bool {
        if key.status != StockStatus::Available {
            return false;
        }
        match &key.place {
            Place::Location(code) => self
                .locations
                .get(&(key.node.clone(), code.clone()))
                .is_some_and(|info| info.pickable),
            Place::Container(_) => false,
        }
    }

    /// Sets master data of a location. Stock in a location without master data is never
    /// counted as available (it cannot be promised until someone says it may be picked).
    pub fn set_location(&mut self, node: &NodeId, code: &LocationCode, info: LocationInfo) {
        let slot = (node.clone(), code.clone());
        let was = self.locations.get(&slot).is_some_and(|i| i.pickable);
        let now = info.pickable;
        self.put_location(slot, info);
        if was == now {
            return;
        }
        let place = Place::Location(code.clone());
        // Only the lines at this location (a range of the key order), not every line.
        let lines: Vec<(Sku, Dec)> = self
            .balances_at(node, &place)
            .into_iter()
            .filter(|(k, _)| k.status == StockStatus::Available)
            .map(|(k, v)| (k.stock.sku.clone(), v))
            .collect();
        for (sku, qty) in lines {
            let ns = (node.clone(), sku);
            let current = self
                .pickable_available
                .get(&ns)
                .copied()
                .unwrap_or(Dec::ZERO);
            let next = if now {
                current.checked_add(qty)
            } else {
                current.checked_sub(qty)
            };
            // Each term is bounded, and so is their sum over one node's lines of one sku.
            let next = next.unwrap_or(current);
            self.put_pickable(ns, next);
        }
    }

    /// Master data of a location, if known.
    pub fn location(&self, node: &NodeId, code: &LocationCode) -> Option<&LocationInfo> {
        self.locations.get(&(node.clone(), code.clone()))
    }

    /// The balance of one line (zero when absent).
    pub fn balance(&self, key: &StockKey) -> Dec {
        self.balances.get(key).copied().unwrap_or(Dec::ZERO)
    }

    /// Every non-zero balance line, in key order.
    pub fn balances(&self) -> impl Iterator<Item = (&StockKey, Dec)> {
        self.balances.iter().map(|(k, v)| (k, *v))
    }

    /// The non-zero lines of `node` at `place`, in key order, without visiting other places'
    /// lines: they are one contiguous run of the balance map (keys order by node, then place),
    /// found from any key inside it.
    pub fn balances_at(&self, node: &NodeId, place: &Place) -> Vec<(&StockKey, Dec)> {
        let here = |k: &StockKey| &k.node == node && &k.place == place;
        let Ok(probe_sku) = Sku::new("0") else {
            // Unreachable ("0" is a valid SKU); the full scan gives the same answer.
            return self.balances().filter(|(k, _)| here(k)).collect();
        };
        let probe = StockKey {
            node: node.clone(),
            place: place.clone(),
            stock: StockRef::plain(probe_sku),
            status: StockStatus::Available,
        };
        let mut lines: Vec<(&StockKey, Dec)> = self
            .balances
            .range(..&probe)
            .rev()
            .take_while(|(k, _)| here(k))
            .map(|(k, v)| (k, *v))
            .collect();
        lines.reverse();
        lines.extend(
            self.balances
                .range(&probe..)
                .take_while(|(k, _)| here(k))
                .map(|(k, v)| (k, *v)),
        );
        lines
    }

    /// Lines that are currently negative.
    pub fn negative_balances(&self) -> impl Iterator<Item = &StockKey> {
        self.negative.iter()
    }

    /// Total on hand of `sku` at `node`, in every place and status.
    pub fn on_hand(&self, node: &NodeId, sku: &Sku) -> Dec {
        self.on_hand
            .get(&(node.clone(), sku.clone()))
            .copied()
            .unwrap_or(Dec::ZERO)
    }

    /// On hand of `sku` at `node` that is held (any status other than available).
    pub fn held(&self, node: &NodeId, sku: &Sku) -> Dec {
        self.sum_where(|k| &k.node == node && &k.stock.sku == sku && k.status.is_held())
    }

    fn sum_where(&self, keep: impl Fn(&StockKey) -> bool) -> Dec {
        self.balances
            .iter()
            .filter(|(k, _)| keep(k))
            .fold(Dec::ZERO, |acc, (_, v)| acc.checked_add(*v).unwrap_or(acc))
    }

    /// On hand with status available in pickable locations, before reservations.
    pub fn pickable_on_hand(&self, node: &NodeId, sku: &Sku) -> Dec {
        self.pickable_available
            .get(&(node.clone(), sku.clone()))
            .copied()
            .unwrap_or(Dec::ZERO)
    }

    /// The running totals of `sku` at `node`.
    pub fn totals(&self, node: &NodeId, sku: &Sku) -> Totals {
        self.totals
            .get(&(node.clone(), sku.clone()))
            .copied()
            .unwrap_or_default()
    }

    /// Checks that every (node, sku)'s balances add up to its totals.
    pub fn check_conservation(&self) -> Result<(), ConservationError> {
        let mut sums: BTreeMap<NodeSku, Dec> = BTreeMap::new();
        for (key, qty) in &self.balances {
            let slot = sums
                .entry((key.node.clone(), key.stock.sku.clone()))
                .or_insert(Dec::ZERO);
            *slot = slot.checked_add(*qty).unwrap_or(*slot);
        }
        let mut all: BTreeSet<&NodeSku> = sums.keys().collect();
        all.extend(self.totals.keys());
        for ns in all {
            let on_hand = sums.get(ns).copied().unwrap_or(Dec::ZERO);
            let expected = self
                .totals
                .get(ns)
                .and_then(Totals::expected_on_hand)
                .unwrap_or(Dec::ZERO);
            if on_hand != expected {
                return Err(ConservationError {
                    node: ns.0.clone(),
                    sku: ns.1.clone(),
                    on_hand,
                    expected,
                });
            }
        }
        Ok(())
    }
}
