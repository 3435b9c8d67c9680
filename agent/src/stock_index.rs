//! Where this node's non-zero balance lines of each SKU are: the lookup the station flows make
//! on scans (`LocalView::stock_of`). Lines by place need no index: they are one contiguous run
//! of the ledger's balance map (`Ledger::balances_at`).
//!
//! Kept compact because it holds an entry per balance line: each SKU maps to a sorted `Vec` of
//! what the SKU does not already say (a `BTreeSet<StockKey>` per SKU and per place allocated a
//! whole B-tree node, about 1.6 KiB, for the usual one or two lines: 64 MiB for 20,000 lines,
//! docs/benchmarks.md). Quantities are not kept here: the ledger has them.

use std::collections::BTreeMap;
use stockpost_common::domain::{Date, Lot, Place, Serial, Sku, StockRef, StockStatus};
use stockpost_common::ledger::StockKey;

/// A line of one SKU: where, its lot, serial and expiry, and its status.
type OfSku = (
    Place,
    Option<Lot>,
    Option<Serial>,
    Option<Date>,
    StockStatus,
);

/// Non-zero balance lines of one node by SKU.
#[derive(Debug, Default)]
pub struct StockIndex {
    by_sku: BTreeMap<Sku, Vec<OfSku>>,
}

fn of_sku(key: &StockKey) -> OfSku {
    (
        key.place.clone(),
        key.stock.lot.clone(),
        key.stock.serial.clone(),
        key.stock.expiry,
        key.status,
    )
}

fn insert_sorted<T: Ord>(lines: &mut Vec<T>, line: T) {
    if let Err(at) = lines.binary_search(&line) {
        lines.insert(at, line);
    }
}

fn remove_sorted<T: Ord>(lines: &mut Vec<T>, line: &T) {
    if let Ok(at) = lines.binary_search(line) {
        lines.remove(at);
    }
}

impl StockIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `lines` (the non-zero lines of one node), built in bulk: full B-tree nodes
    /// and exactly sized `Vec`s, with no copy of the lines on the way.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a StockKey>) -> Self {
        let mut keys: Vec<&StockKey> = lines.into_iter().collect();
        keys.sort_by(|a, b| {
            (&a.stock.sku, &a.place, &a.stock, a.status).cmp(&(
                &b.stock.sku,
                &b.place,
                &b.stock,
                b.status,
            ))
        });
        keys.dedup();
        let mut groups: Vec<(Sku, Vec<OfSku>)> = Vec::new();
        let mut keys = keys.into_iter().peekable();
        while let Some(first) = keys.next() {
            let mut group = vec![of_sku(first)];
            while let Some(next) = keys.next_if(|k| k.stock.sku == first.stock.sku) {
                group.push(of_sku(next));
            }
            group.shrink_to_fit();
            groups.push((first.stock.sku.clone(), group));
        }
        Self {
            by_sku: groups.into_iter().collect(),
        }
    }

    /// Records that `key` is now non-zero (`present`) or zero (not present).
    pub fn set(&mut self, key: &StockKey, present: bool) {
        let line = of_sku(key);
        if present {
            match self.by_sku.get_mut(&key.stock.sku) {
                Some(lines) => insert_sorted(lines, line),
                None => {
                    self.by_sku.insert(key.stock.sku.clone(), vec![line]);
                }
            }
        } else if let Some(lines) = self.by_sku.get_mut(&key.stock.sku) {
            remove_sorted(lines, &line);
            if lines.is_empty() {
                self.by_sku.remove(&key.stock.sku);
            }
        }
    }

    /// The lines of `sku`, in order: place, stock and status.
    pub fn of_sku<'a>(
        &'a self,
        sku: &'a Sku,
    ) -> impl Iterator<Item = (&'a Place, StockRef, StockStatus)> + 'a {
        self.by_sku.get(sku).into_iter().flatten().map(
            move |(place, lot, serial, expiry, status)| {
                (
                    place,
                    StockRef {
                        sku: sku.clone(),
                        lot: lot.clone(),
                        serial: serial.clone(),
                        expiry: *expiry,
                    },
                    *status,
                )
            },
        )
    }

    /// How many SKUs are in stock.
    pub fn skus(&self) -> usize {
        self.by_sku.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use stockpost_common::domain::{ContainerId, LocationCode, NodeId};

    fn key(place: Place, sku: &str, lot: Option<&str>, status: StockStatus) -> StockKey {
        StockKey {
            node: NodeId::new("N1").unwrap(),
            place,
            stock: StockRef {
                sku: Sku::new(sku).unwrap(),
                lot: lot.map(|l| Lot::new(l).unwrap()),
                serial: None,
                expiry: None,
            },
            status,
        }
    }

    fn loc(code: &str) -> Place {
        Place::Location(LocationCode::new(code).unwrap())
    }

    fn lines_of(index: &StockIndex, sku: &str) -> Vec<(Place, StockRef, StockStatus)> {
        let sku = Sku::new(sku).unwrap();
        index
            .of_sku(&sku)
            .map(|(p, s, st)| (p.clone(), s, st))
            .collect()
    }

    #[test]
    fn the_lines_of_a_sku_are_found_until_they_are_zero() {
        let mut index = StockIndex::new();
        let a = key(loc("A-01"), "SKU-1", Some("L1"), StockStatus::Available);
        let b = key(loc("A-01"), "SKU-2", None, StockStatus::Available);
        let c = key(loc("B-01"), "SKU-1", Some("L2"), StockStatus::Available);
        for k in [&c, &a, &b] {
            index.set(k, true);
        }
        assert_eq!(
            lines_of(&index, "SKU-1"),
            vec![
                (a.place.clone(), a.stock.clone(), a.status),
                (c.place.clone(), c.stock.clone(), c.status)
            ]
        );
        index.set(&a, false);
        index.set(&b, false);
        assert_eq!(lines_of(&index, "SKU-1").len(), 1);
        assert!(lines_of(&index, "SKU-2").is_empty());
        assert_eq!(index.skus(), 1, "a SKU with no lines left leaves the index");
    }

    #[test]
    fn an_index_built_in_bulk_equals_one_built_line_by_line() {
        let keys = vec![
            key(loc("B-01"), "SKU-2", None, StockStatus::Available),
            key(loc("A-01"), "SKU-1", Some("L2"), StockStatus::Damaged),
            key(loc("A-01"), "SKU-1", Some("L1"), StockStatus::Available),
            key(loc("A-01"), "SKU-2", None, StockStatus::Available),
            key(loc("A-01"), "SKU-2", None, StockStatus::Available),
        ];
        let mut one_by_one = StockIndex::new();
        for k in &keys {
            one_by_one.set(k, true);
        }
        let bulk = StockIndex::from_lines(&keys);
        assert_eq!(bulk.by_sku, one_by_one.by_sku);
    }

    #[test]
    fn setting_a_line_twice_keeps_one_entry_and_removing_an_absent_line_changes_nothing() {
        let mut index = StockIndex::new();
        let tote = Place::Container(ContainerId::new("TOTE-1").unwrap());
        let held = key(tote.clone(), "SKU-9", None, StockStatus::Quarantine);
        index.set(&held, true);
        index.set(&held, true);
        assert_eq!(lines_of(&index, "SKU-9").len(), 1);
        let other = key(tote, "SKU-9", None, StockStatus::Available);
        index.set(&other, false);
        assert_eq!(lines_of(&index, "SKU-9").len(), 1);
    }
}
