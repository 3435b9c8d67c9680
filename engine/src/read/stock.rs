//! The stock as readers see it: per (node, SKU) its balance lines, reservations, approval holds
//! and running totals, kept up to date from the ledger's changed keys after each commit (only
//! what a round touched is rebuilt), with listing in pages.
//!
//! A (node, SKU)'s reservations and holds are shown against its pickable available lines in
//! line order: reserved first, then held; what is left of a line is its `available`.

use imbl::OrdMap;
use std::ops::Bound;
use std::sync::Arc;
use stockpost_common::domain::{Dec, LocationCode, LocationInfo, NodeId, Place, Sku, StockStatus};
use stockpost_common::ledger::{Ledger, LedgerChanges, StockKey, Totals};

/// One balance line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLine {
    /// The line.
    pub key: StockKey,
    /// Its balance.
    pub on_hand: Dec,
}

/// Everything about one SKU at one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkuStock {
    /// Its non-zero lines, in key order.
    pub lines: Vec<StockLine>,
    /// Reserved for orders.
    pub reserved: Dec,
    /// Held back for adjustments waiting for approval.
    pub held: Dec,
    /// Its running totals.
    pub totals: Totals,
}

/// One row of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRow {
    /// The line.
    pub key: StockKey,
    /// Its balance.
    pub on_hand: Dec,
    /// The part of the reservations shown on it.
    pub reserved: Dec,
    /// The part of the approval holds shown on it.
    pub held: Dec,
    /// What is left to promise.
    pub available: Dec,
}

/// The stock of every node.
#[derive(Debug, Clone, Default)]
pub struct StockView {
    /// Per (node, SKU).
    pub skus: OrdMap<(NodeId, Sku), Arc<SkuStock>>,
    /// Location master data.
    pub locations: OrdMap<(NodeId, LocationCode), LocationInfo>,
    /// The highest applied sequence per node.
    pub applied: OrdMap<NodeId, u64>,
}

fn min(a: Dec, b: Dec) -> Dec {
    if a < b {
        a
    } else {
        b
    }
}

impl StockView {
    /// The whole view of `ledger`.
    pub fn of(ledger: &Ledger) -> Self {
        let mut view = StockView::default();
        for (node, seq) in ledger.applied_seqs() {
            view.applied.insert(node.clone(), seq);
        }
        for (node, code, info) in ledger.locations() {
            view.locations
                .insert((node.clone(), code.clone()), info.clone());
        }
        let mut lines: std::collections::BTreeMap<(NodeId, Sku), Vec<StockLine>> =
            Default::default();
        for (key, qty) in ledger.balances() {
            lines
                .entry((key.node.clone(), key.stock.sku.clone()))
                .or_default()
                .push(StockLine {
                    key: key.clone(),
                    on_hand: qty,
                });
        }
        let mut all: std::collections::BTreeSet<(NodeId, Sku)> = lines.keys().cloned().collect();
        all.extend(ledger.all_totals().map(|(n, s, _)| (n.clone(), s.clone())));
        for ns in all {
            let sku = SkuStock {
                lines: lines.remove(&ns).unwrap_or_default(),
                reserved: ledger.reserved(&ns.0, &ns.1),
                held: ledger.held_for_approval(&ns.0, &ns.1),
                totals: ledger.totals(&ns.0, &ns.1),
            };
            view.skus.insert(ns, Arc::new(sku));
        }
        view
    }

    /// Applies what a round changed (read from `ledger` after the round).
    pub fn update(&mut self, ledger: &Ledger, changes: &LedgerChanges) {
        for slot in &changes.locations {
            if let Some(info) = ledger.location(&slot.0, &slot.1) {
                self.locations.insert(slot.clone(), info.clone());
            }
        }
        for node in &changes.applied {
            self.applied.insert(node.clone(), ledger.applied_seq(node));
        }
        // One pass groups the changed lines by (node, SKU): a round that touches many SKUs must
        // not scan every changed line once per SKU.
        let mut touched: std::collections::BTreeMap<(&NodeId, &Sku), Vec<&StockKey>> =
            Default::default();
        for key in &changes.balances {
            touched
                .entry((&key.node, &key.stock.sku))
                .or_default()
                .push(key);
        }
        for ns in &changes.stock {
            let mut sku = self.skus.get(ns).map(|s| (**s).clone()).unwrap_or_default();
            let lines = touched.remove(&(&ns.0, &ns.1)).unwrap_or_default();
            for key in lines {
                let qty = ledger.balance(key);
                match sku.lines.binary_search_by(|l| l.key.cmp(key)) {
                    Ok(i) if qty.is_zero() => {
                        sku.lines.remove(i);
                    }
                    Ok(i) => sku.lines[i].on_hand = qty,
                    Err(i) if !qty.is_zero() => sku.lines.insert(
                        i,
                        StockLine {
                            key: key.clone(),
                            on_hand: qty,
                        },
                    ),
                    Err(_) => {}
                }
            }
            sku.reserved = ledger.reserved(&ns.0, &ns.1);
            sku.held = ledger.held_for_approval(&ns.0, &ns.1);
            sku.totals = ledger.totals(&ns.0, &ns.1);
            if sku == SkuStock::default() {
                self.skus.remove(ns);
            } else {
                self.skus.insert(ns.clone(), Arc::new(sku));
            }
        }
    }

    /// On hand of `sku` at `node`, in every place and status.
    pub fn on_hand(&self, node: &NodeId, sku: &Sku) -> Dec {
        self.skus
            .get(&(node.clone(), sku.clone()))
            .map(|s| {
                s.lines
                    .iter()
                    .fold(Dec::ZERO, |a, l| a.checked_add(l.on_hand).unwrap_or(a))
            })
            .unwrap_or(Dec::ZERO)
    }

    /// What can still be promised of `sku` at `node`.
    pub fn available(&self, node: &NodeId, sku: &Sku) -> Dec {
        self.skus
            .get(&(node.clone(), sku.clone()))
            .map(|s| {
                self.rows_of(s)
                    .iter()
                    .fold(Dec::ZERO, |a, r| a.checked_add(r.available).unwrap_or(a))
            })
            .unwrap_or(Dec::ZERO)
    }

    /// Every balance line of `node`, in key order.
    pub fn balances_of(&self, node: &NodeId) -> Vec<(StockKey, Dec)> {
        let mut out: Vec<(StockKey, Dec)> = self
            .skus_from(Some(node), None)
            .flat_map(|(_, s)| s.lines.iter().map(|l| (l.key.clone(), l.on_hand)))
            .collect();
        out.sort();
        out
    }

    /// The applied sequence of `node`.
    pub fn applied_seq(&self, node: &NodeId) -> u64 {
        self.applied.get(node).copied().unwrap_or(0)
    }

    /// Whether `key` counts towards what can be promised.
    pub fn is_pickable_available(&self, key: &StockKey) -> bool {
        key.status == StockStatus::Available
            && match &key.place {
                Place::Location(code) => self
                    .locations
                    .get(&(key.node.clone(), code.clone()))
                    .is_some_and(|i| i.pickable),
                Place::Container(_) => false,
            }
    }

    /// The rows of one (node, SKU), with reservations and holds split over its lines.
    pub fn rows_of(&self, sku: &SkuStock) -> Vec<StockRow> {
        let mut reserved_left = sku.reserved;
        let mut held_left = sku.held;
        sku.lines
            .iter()
            .map(|l| {
                let (reserved, held) =
                    if self.is_pickable_available(&l.key) && !l.on_hand.is_negative() {
                        let r = min(reserved_left, l.on_hand);
                        reserved_left = reserved_left.checked_sub(r).unwrap_or(Dec::ZERO);
                        let rest = l.on_hand.checked_sub(r).unwrap_or(Dec::ZERO);
                        let h = min(held_left, rest);
                        held_left = held_left.checked_sub(h).unwrap_or(Dec::ZERO);
                        (r, h)
                    } else {
                        (Dec::ZERO, Dec::ZERO)
                    };
                let available = if self.is_pickable_available(&l.key) && !l.on_hand.is_negative() {
                    l.on_hand
                        .checked_sub(reserved)
                        .and_then(|d| d.checked_sub(held))
                        .unwrap_or(Dec::ZERO)
                } else {
                    Dec::ZERO
                };
                StockRow {
                    key: l.key.clone(),
                    on_hand: l.on_hand,
                    reserved,
                    held,
                    available,
                }
            })
            .collect()
    }

    /// The (node, SKU) entries of `node` (all nodes when `None`), from the one holding `from`
    /// (inclusive) on.
    pub fn skus_from<'a>(
        &'a self,
        node: Option<&'a NodeId>,
        from: Option<(NodeId, Sku)>,
    ) -> impl Iterator<Item = (&'a (NodeId, Sku), &'a Arc<SkuStock>)> + 'a {
        let start = match from {
            Some(ns) => Bound::Included(ns),
            // "-" is the lowest SKU there can be (SKUs hold upper-case letters, digits and
            // "-_."), so this starts at the node's first entry.
            None => match (node, Sku::new("-")) {
                (Some(n), Ok(lowest)) => Bound::Included((n.clone(), lowest)),
                _ => Bound::Unbounded,
            },
        };
        self.skus
            .range((start, Bound::Unbounded))
            .take_while(move |((n, _), _)| node.is_none_or(|want| n == want))
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct StockFilter {
    /// Only this node.
    pub node: Option<NodeId>,
    /// Only this SKU.
    pub sku: Option<Sku>,
    /// Only this location.
    pub location: Option<LocationCode>,
    /// Only this status.
    pub status: Option<StockStatus>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockPage {
    /// The rows, in (node, SKU, line) order.
    pub rows: Vec<StockRow>,
    /// The last row's key when more rows may follow.
    pub next: Option<StockKey>,
}

/// Up to `limit` rows matching `filter` after `after` (exclusive).
pub fn stock_page(
    view: &StockView,
    filter: &StockFilter,
    after: Option<&StockKey>,
    limit: usize,
) -> StockPage {
    let from = after.map(|a| (a.node.clone(), a.stock.sku.clone()));
    let from = match (&filter.sku, &filter.node, from) {
        (Some(s), Some(n), None) => Some((n.clone(), s.clone())),
        (_, _, f) => f,
    };
    let mut rows = Vec::new();
    for ((_, sku), stock) in view.skus_from(filter.node.as_ref(), from) {
        if filter.sku.as_ref().is_some_and(|s| s != sku) {
            continue;
        }
        for row in view.rows_of(stock) {
            if after.is_some_and(|a| {
                (&row.key.node, &row.key.stock.sku, &row.key) <= (&a.node, &a.stock.sku, a)
            }) || filter.status.is_some_and(|s| s != row.key.status)
                || filter
                    .location
                    .as_ref()
                    .is_some_and(|l| !matches!(&row.key.place, Place::Location(c) if c == l))
            {
                continue;
            }
            if rows.len() == limit {
                let next = rows.last().map(|r: &StockRow| r.key.clone());
                return StockPage { rows, next };
            }
            rows.push(row);
        }
        if filter.sku.is_some() && filter.node.is_some() {
            break;
        }
    }
    StockPage { rows, next: None }
}
