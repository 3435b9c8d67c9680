//! What the simulated operators did, kept beside the system as the oracle the final checks
//! compare the hub's books with: units received, shipped and counted away per node and SKU,
//! every carton, every short pick.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Units moved at one node for one SKU.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Moves {
    /// Received at the dock.
    pub received: u64,
    /// Shipped in cartons.
    pub shipped: u64,
    /// Found missing by a count (the count books them off).
    pub counted_away: u64,
}

impl Moves {
    /// What should be on hand.
    pub fn on_hand(&self) -> i128 {
        i128::from(self.received) - i128::from(self.shipped) - i128::from(self.counted_away)
    }
}

#[derive(Debug, Default)]
struct Inner {
    moves: BTreeMap<(String, String), Moves>,
    cartons: Vec<(String, String)>,
    shorts: BTreeMap<String, u64>,
}

/// The oracle. Cheap to share by reference between the operators' tasks.
#[derive(Debug, Default)]
pub struct Tally {
    inner: Mutex<Inner>,
    /// Cartons shipped so far (for the progress bar).
    pub shipped_cartons: AtomicU64,
    /// Check-weighings refused (out of tolerance) and weighed again.
    pub refused_weighings: AtomicU64,
}

impl Tally {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    fn add(&self, node: &str, sku: &str, f: impl FnOnce(&mut Moves)) {
        self.with(|i| f(i.moves.entry((node.into(), sku.into())).or_default()));
    }

    /// `qty` of `sku` received at `node`.
    pub fn received(&self, node: &str, sku: &str, qty: u64) {
        self.add(node, sku, |m| m.received += qty);
    }

    /// `carton` with `items` shipped from `node`.
    pub fn shipped(&self, node: &str, carton: &str, items: &[(String, u64)]) {
        for (sku, qty) in items {
            self.add(node, sku, |m| m.shipped += qty);
        }
        self.with(|i| i.cartons.push((node.into(), carton.into())));
        self.shipped_cartons.fetch_add(1, Ordering::Relaxed);
    }

    /// A count at `node` found `qty` of `sku` fewer than the book.
    pub fn counted_away(&self, node: &str, sku: &str, qty: u64) {
        self.add(node, sku, |m| m.counted_away += qty);
    }

    /// A short pick at `node`.
    pub fn short(&self, node: &str) {
        self.with(|i| *i.shorts.entry(node.into()).or_default() += 1);
    }

    /// Every (node, sku) with its moves.
    pub fn moves(&self) -> BTreeMap<(String, String), Moves> {
        self.with(|i| i.moves.clone())
    }

    /// Every shipped carton as (node, carton).
    pub fn cartons(&self) -> Vec<(String, String)> {
        self.with(|i| i.cartons.clone())
    }

    /// Short picks made, all nodes.
    pub fn shorts(&self) -> u64 {
        self.with(|i| i.shorts.values().sum())
    }

    /// Short picks made at `node`.
    pub fn shorts_at(&self, node: &str) -> u64 {
        self.with(|i| i.shorts.get(node).copied().unwrap_or(0))
    }
}
