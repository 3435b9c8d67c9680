//! Item master data, read from the store on demand.
//!
//! The agent does not hold the item master in memory: a node may know 100,000 SKUs, and holding
//! them all made start-up and resident memory grow with the master (docs/benchmarks.md). Items
//! stay in the store's `items` tree, GTIN → SKU in its `gtins` tree, and [`ItemCatalog`] reads
//! them when a station needs one, through a small bounded cache of recently used items.
//!
//! Consistency with the writer: the writer changes items only through [`ItemCatalog::upsert`],
//! which adds the store writes to the group's batch and keeps the new item in a pending overlay
//! until the batch is committed. Reads look at the overlay first, then the cache, then the store,
//! so a step later in the same group sees the item a downlink earlier in the group changed, just
//! as the in-memory maps did. [`ItemCatalog::committed`] moves the overlay into the cache once
//! the commit returned; when a commit fails the writer reloads its state, which starts a new,
//! empty catalog. Every read and write happens under the writer's state lock, so the cache is
//! only ever filled from what the store committed or from the overlay the writer just committed.

use crate::store::{AgentStore, AgentStoreError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use stockpost_common::domain::{Gtin, Item, Sku};
use stockpost_store::WriteBatch;

/// How many items the cache keeps by default (a few hundred bytes each).
pub const DEFAULT_CACHE_ITEMS: usize = 1024;

/// A least-recently-used map with a fixed bound.
#[derive(Debug)]
struct Lru {
    capacity: usize,
    tick: u64,
    entries: HashMap<Sku, (Item, u64)>,
    /// Last use → SKU; the first entry is the least recently used.
    order: BTreeMap<u64, Sku>,
}

impl Lru {
    fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn get(&mut self, sku: &Sku) -> Option<Item> {
        let tick = self.next_tick();
        let (item, used) = self.entries.get_mut(sku)?;
        self.order.remove(used);
        *used = tick;
        self.order.insert(tick, sku.clone());
        Some(item.clone())
    }

    fn put(&mut self, item: Item) {
        let tick = self.next_tick();
        if let Some((_, used)) = self.entries.get(&item.sku) {
            self.order.remove(used);
        }
        self.order.insert(tick, item.sku.clone());
        self.entries.insert(item.sku.clone(), (item, tick));
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Items and the GTIN index, read from the store through a bounded cache, with the writer's
/// not yet committed upserts on top. See the module documentation.
#[derive(Debug)]
pub struct ItemCatalog {
    store: AgentStore,
    /// Items upserted by the writer's current group, not yet committed.
    pending: BTreeMap<Sku, Item>,
    /// GTIN index changes of the current group: `None` = removed.
    pending_gtins: BTreeMap<Gtin, Option<Sku>>,
    /// Recently used committed items. A mutex because lookups come through `&self` (the
    /// station view); it is only ever taken under the writer's state lock, so it never waits.
    cache: Mutex<Lru>,
}

impl ItemCatalog {
    /// A catalog over `store`'s `items` and `gtins` trees keeping at most `cache_items` items.
    pub fn new(store: AgentStore, cache_items: usize) -> Self {
        Self {
            store,
            pending: BTreeMap::new(),
            pending_gtins: BTreeMap::new(),
            cache: Mutex::new(Lru::new(cache_items)),
        }
    }

    fn cache(&self) -> MutexGuard<'_, Lru> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The item with `sku`, if the node knows it.
    pub fn get(&self, sku: &Sku) -> Result<Option<Item>, AgentStoreError> {
        if let Some(item) = self.pending.get(sku) {
            return Ok(Some(item.clone()));
        }
        if let Some(item) = self.cache().get(sku) {
            return Ok(Some(item));
        }
        let Some(item) = self.store.item(sku)? else {
            return Ok(None);
        };
        self.cache().put(item.clone());
        Ok(Some(item))
    }

    /// The SKU a GTIN belongs to (any pack level).
    pub fn sku_by_gtin(&self, gtin: &Gtin) -> Result<Option<Sku>, AgentStoreError> {
        match self.pending_gtins.get(gtin) {
            Some(sku) => Ok(sku.clone()),
            None => self.store.sku_by_gtin(gtin),
        }
    }

    /// The item a GTIN belongs to.
    pub fn by_gtin(&self, gtin: &Gtin) -> Result<Option<Item>, AgentStoreError> {
        match self.sku_by_gtin(gtin)? {
            Some(sku) => self.get(&sku),
            None => Ok(None),
        }
    }

    /// Adds or replaces `item`: its store writes (the item and its GTIN index entries) go into
    /// `batch`, and reads see it from now on. A GTIN the old version had and the new one does
    /// not is removed from the index when it still points to this item; a GTIN of the new
    /// version points to this item from now on.
    pub fn upsert(&mut self, item: Item, batch: &mut WriteBatch) -> Result<(), AgentStoreError> {
        if let Some(old) = self.get(&item.sku)? {
            for g in &old.gtins {
                if item.gtins.iter().any(|n| n.gtin == g.gtin) {
                    continue;
                }
                if self.sku_by_gtin(&g.gtin)?.as_ref() == Some(&item.sku) {
                    batch.delete("gtins", crate::store::gtin_key(&g.gtin));
                    self.pending_gtins.insert(g.gtin, None);
                }
            }
        }
        for g in &item.gtins {
            batch.put(
                "gtins",
                crate::store::gtin_key(&g.gtin),
                item.sku.as_str().as_bytes().to_vec(),
            );
            self.pending_gtins.insert(g.gtin, Some(item.sku.clone()));
        }
        batch.put(
            "items",
            item.sku.as_str().as_bytes().to_vec(),
            crate::store::encode("items", &item)?,
        );
        self.pending.insert(item.sku.clone(), item);
        Ok(())
    }

    /// The batch holding the pending upserts is durable: they become ordinary cached items.
    pub fn committed(&mut self) {
        self.pending_gtins.clear();
        let pending = std::mem::take(&mut self.pending);
        let mut cache = self.cache();
        for (_, item) in pending {
            cache.put(item);
        }
    }

    /// How many items the cache holds now (at most its bound).
    pub fn cached(&self) -> usize {
        self.cache().len()
    }

    /// How many upserts wait for their commit.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use stockpost_common::domain::{ItemGtin, PackLevel, Qty, Tracking};

    fn gtin(n: u64) -> Gtin {
        let body = format!("{n:013}");
        let check = stockpost_common::check_digit::gs1_check_digit(&body).unwrap();
        Gtin::new(&format!("{body}{check}")).unwrap()
    }

    fn item(sku: &str, gtins: &[u64]) -> Item {
        Item {
            sku: Sku::new(sku).unwrap(),
            description: format!("{sku} description"),
            gtins: gtins
                .iter()
                .map(|n| ItemGtin {
                    gtin: gtin(*n),
                    pack: PackLevel::Each,
                    qty_per_pack: Qty::from_str("1").unwrap(),
                })
                .collect(),
            tracking: Tracking::Lot,
            expiry_controlled: true,
            unit_weight_kg: None,
            weight_tolerance_pct: None,
        }
    }

    fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        store: AgentStore,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open_dir(dir.path()).unwrap();
        Fixture { _dir: dir, store }
    }

    fn upsert_and_commit(catalog: &mut ItemCatalog, store: &AgentStore, items: Vec<Item>) {
        let mut batch = WriteBatch::new();
        for i in items {
            catalog.upsert(i, &mut batch).unwrap();
        }
        store.commit(batch).unwrap();
        catalog.committed();
    }

    #[test]
    fn an_upserted_item_is_seen_before_and_after_its_commit_and_by_a_new_catalog() {
        let f = fixture();
        let mut catalog = ItemCatalog::new(f.store.clone(), 8);
        let mut batch = WriteBatch::new();
        catalog.upsert(item("A", &[1]), &mut batch).unwrap();
        assert_eq!(catalog.get(&sku("A")).unwrap(), Some(item("A", &[1])));
        assert_eq!(catalog.sku_by_gtin(&gtin(1)).unwrap(), Some(sku("A")));
        assert_eq!(
            ItemCatalog::new(f.store.clone(), 8).get(&sku("A")).unwrap(),
            None,
            "nothing reaches the store before the commit"
        );
        f.store.commit(batch).unwrap();
        catalog.committed();
        assert_eq!(catalog.pending(), 0);
        let fresh = ItemCatalog::new(f.store.clone(), 8);
        assert_eq!(fresh.by_gtin(&gtin(1)).unwrap(), Some(item("A", &[1])));
        assert_eq!(fresh.get(&sku("B")).unwrap(), None);
    }

    #[test]
    fn a_gtin_dropped_by_a_new_version_no_longer_finds_the_item() {
        let f = fixture();
        let mut catalog = ItemCatalog::new(f.store.clone(), 8);
        upsert_and_commit(&mut catalog, &f.store, vec![item("A", &[1, 2])]);
        upsert_and_commit(&mut catalog, &f.store, vec![item("A", &[2, 3])]);
        for c in [&catalog, &ItemCatalog::new(f.store.clone(), 8)] {
            assert_eq!(c.sku_by_gtin(&gtin(1)).unwrap(), None);
            assert_eq!(c.sku_by_gtin(&gtin(2)).unwrap(), Some(sku("A")));
            assert_eq!(c.by_gtin(&gtin(3)).unwrap(), Some(item("A", &[2, 3])));
        }
    }

    #[test]
    fn a_gtin_moved_to_another_item_stays_with_it_when_the_first_item_drops_it() {
        let f = fixture();
        let mut catalog = ItemCatalog::new(f.store.clone(), 8);
        upsert_and_commit(&mut catalog, &f.store, vec![item("A", &[1])]);
        // B takes GTIN 1 over, then A lets go of it in the same group.
        upsert_and_commit(
            &mut catalog,
            &f.store,
            vec![item("B", &[1]), item("A", &[5])],
        );
        for c in [&catalog, &ItemCatalog::new(f.store.clone(), 8)] {
            assert_eq!(c.sku_by_gtin(&gtin(1)).unwrap(), Some(sku("B")));
            assert_eq!(c.sku_by_gtin(&gtin(5)).unwrap(), Some(sku("A")));
        }
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bound_and_misses_read_the_store() {
        let f = fixture();
        let mut catalog = ItemCatalog::new(f.store.clone(), 4);
        let items: Vec<Item> = (0..20).map(|i| item(&format!("S{i:02}"), &[i])).collect();
        upsert_and_commit(&mut catalog, &f.store, items.clone());
        assert_eq!(catalog.cached(), 4);
        for i in &items {
            assert_eq!(catalog.get(&i.sku).unwrap().as_ref(), Some(i));
            assert!(catalog.cached() <= 4);
        }
    }

    #[test]
    fn the_least_recently_used_item_is_evicted_first() {
        let mut lru = Lru::new(2);
        lru.put(item("A", &[1]));
        lru.put(item("B", &[2]));
        assert!(lru.get(&sku("A")).is_some());
        lru.put(item("C", &[3]));
        assert!(lru.get(&sku("A")).is_some());
        assert!(lru.get(&sku("B")).is_none());
        assert!(lru.get(&sku("C")).is_some());
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn a_cached_item_is_replaced_by_its_committed_new_version() {
        let f = fixture();
        let mut catalog = ItemCatalog::new(f.store.clone(), 8);
        upsert_and_commit(&mut catalog, &f.store, vec![item("A", &[1])]);
        assert_eq!(catalog.get(&sku("A")).unwrap(), Some(item("A", &[1])));
        let mut renamed = item("A", &[1]);
        renamed.description = "renamed".into();
        upsert_and_commit(&mut catalog, &f.store, vec![renamed.clone()]);
        assert_eq!(catalog.get(&sku("A")).unwrap(), Some(renamed));
    }
}
