//! The agent's store: the only module that touches the embedded database (invariant 2).
//!
//! Trees and keys (all integers big-endian so scans are in order):
//! - `meta`: `head` (last outbox seq committed), `acked` (last seq acked by the hub and pruned),
//!   `down_applied` (last downlink seq applied), `bootstrapped` (1 once a hub snapshot seeded
//!   the store, see `crate::bootstrap`).
//! - `outbox`: seq → postcard `Event`; deleted only when the hub acks (invariant 4).
//! - `balances`: postcard `StockKey` → postcard `Dec` (the local stock view).
//! - `totals`: postcard `(NodeId, Sku)` → postcard `Totals`.
//! - `locations`: location code → postcard `LocationInfo`; `items`: sku → postcard `Item`.
//! - `gtins`: 14-digit GTIN → sku, the index of `items` by every pack level's GTIN, written in the
//!   same batch as the item (`crate::catalog`). A store made before the index existed has no meta
//!   `gtin_index`; the first load builds the index from `items` and sets it.
//! - `tasks`: task id → JSON `TaskRecord` (spec + progress); `stations`: station id → JSON
//!   `Station` (operator, current task and flow). Owned by the station runtime, written in the
//!   same batch as the step's events. JSON because these types use serde attributes postcard
//!   cannot carry, and they are small.
//! - `print_spool`, `sscc_counter`: owned by the printer driver.

use crate::config::AgentConfig;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use stockpost_common::domain::{Event, Gtin, Item, LocationCode, LocationInfo, NodeId, Sku};
use stockpost_common::ledger::{Ledger, StockKey, Totals};
use stockpost_common::tasks::{Station, TaskRecord};
use stockpost_store::{Backend, ScanOrder, Store, StoreConfig, StoreError, WriteBatch};

/// Every tree the agent uses.
pub const TREES: &[&str] = &[
    "meta",
    "outbox",
    "balances",
    "totals",
    "locations",
    "items",
    "gtins",
    "tasks",
    "stations",
    "print_spool",
    "sscc_counter",
];

const PAGE: usize = 5_000;

/// Most writes in one commit (the store's `max_batch_ops`); a bootstrap snapshot must fit.
pub const MAX_BATCH_OPS: usize = 200_000;

/// Why the agent's store failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentStoreError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored value does not decode: the store was written by an incompatible version or is
    /// damaged.
    #[error("stored value in tree {tree} does not decode: {reason}")]
    Decode {
        /// The tree.
        tree: &'static str,
        /// Why.
        reason: String,
    },
    /// An outbox entry the link needs is missing.
    #[error("outbox entry {seq} is missing (head {head}, acked {acked})")]
    MissingOutbox {
        /// The missing sequence.
        seq: u64,
        /// Head.
        head: u64,
        /// Acked.
        acked: u64,
    },
}

type Result<T> = std::result::Result<T, AgentStoreError>;

/// Everything loaded at start.
#[derive(Debug)]
pub struct Loaded {
    /// The local stock view.
    pub ledger: Ledger,
    /// Last committed outbox seq.
    pub head: u64,
    /// Last hub-acked seq.
    pub acked: u64,
    /// Last applied downlink seq.
    pub down_applied: u64,
    /// A hub snapshot seeded this store.
    pub bootstrapped: bool,
    /// Every stored task (open and finished).
    pub tasks: Vec<TaskRecord>,
    /// Stored station states by station id.
    pub stations: Vec<(String, Station)>,
}

/// The agent's store handle (cheap to clone).
#[derive(Debug, Clone)]
pub struct AgentStore {
    store: Arc<dyn Store>,
}

/// The key of a GTIN in the `gtins` tree: its 14 digits.
pub fn gtin_key(gtin: &Gtin) -> Vec<u8> {
    gtin.as_str().as_bytes().to_vec()
}

/// Adds the `gtins` index entries of `item` to `batch` (every pack level points to its SKU).
pub fn put_gtins(batch: &mut WriteBatch, item: &Item) {
    for g in &item.gtins {
        batch.put(
            "gtins",
            gtin_key(&g.gtin),
            item.sku.as_str().as_bytes().to_vec(),
        );
    }
}

/// Writes per commit while building the GTIN index of an older store.
const GTIN_INDEX_BATCH: usize = 20_000;

/// Encodes a u64 key.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn decode_u64(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

fn decode<T: serde::de::DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| AgentStoreError::Decode {
        tree,
        reason: e.to_string(),
    })
}

fn decode_json<T: serde::de::DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| AgentStoreError::Decode {
        tree,
        reason: e.to_string(),
    })
}

/// Encodes a value as JSON (the `tasks` and `stations` trees).
pub fn encode_json<T: serde::Serialize>(tree: &'static str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| AgentStoreError::Decode {
        tree,
        reason: e.to_string(),
    })
}

/// Encodes a value for storing (postcard never fails on our types; an error is reported).
pub fn encode<T: serde::Serialize>(tree: &'static str, value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| AgentStoreError::Decode {
        tree,
        reason: e.to_string(),
    })
}

impl AgentStore {
    /// Opens the configured store under `data_dir/store`; a corrupt store is moved aside
    /// (returned) and the node starts empty.
    pub fn open(config: &AgentConfig) -> Result<(Self, Option<PathBuf>)> {
        let backend = if config.store.backend == "redb" {
            Backend::Redb
        } else {
            Backend::Sled
        };
        let sc = store_config(
            backend,
            &config.data_dir.join("store"),
            config.store.cache_bytes,
        );
        let opened = stockpost_store::open_store_reporting(&sc, TREES)?;
        Ok((
            Self {
                store: Arc::from(opened.store),
            },
            opened.quarantined,
        ))
    }

    /// Opens (or creates) a redb store in `dir` with the agent's trees and limits (tests).
    pub fn open_dir(dir: &Path) -> Result<Self> {
        let sc = store_config(Backend::Redb, dir, 16 * 1024 * 1024);
        Ok(Self {
            store: Arc::from(stockpost_store::open_store(&sc, TREES)?),
        })
    }

    /// Wraps an already open store (tests).
    pub fn from_store(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The underlying store (for the device spool).
    pub fn raw(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Commits `batch` durably.
    pub fn commit(&self, batch: WriteBatch) -> Result<()> {
        Ok(self.store.commit(batch)?)
    }

    fn meta(&self, key: &str) -> Result<u64> {
        Ok(self
            .store
            .get("meta", key.as_bytes())?
            .as_deref()
            .and_then(decode_u64)
            .unwrap_or(0))
    }

    /// Visits every entry of `tree` in key order, page by page.
    pub fn for_each(
        &self,
        tree: &str,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut after: Option<Vec<u8>> = None;
        loop {
            let start = match &after {
                Some(k) => Bound::Excluded(k.as_slice()),
                None => Bound::Unbounded,
            };
            let page =
                self.store
                    .scan_range(tree, start, Bound::Unbounded, PAGE, ScanOrder::Ascending)?;
            for (k, v) in &page {
                f(k, v)?;
            }
            if page.len() < PAGE {
                return Ok(());
            }
            after = page.last().map(|(k, _)| k.clone());
        }
    }

    /// Every entry of `tree` in key order, decoded by `f`, read page by page as the iterator is
    /// consumed. The first error ends it and is left in `failed`.
    pub fn entries<'a, T: 'a>(
        &'a self,
        tree: &'a str,
        failed: &'a mut Option<AgentStoreError>,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<T> + 'a,
    ) -> impl Iterator<Item = T> + 'a {
        let mut page: std::vec::IntoIter<stockpost_store::KvPair> = Vec::new().into_iter();
        let mut after: Option<Vec<u8>> = None;
        let mut done = false;
        std::iter::from_fn(move || loop {
            if let Some((k, v)) = page.next() {
                if page.len() == 0 {
                    after = Some(k.clone());
                }
                match f(&k, &v) {
                    Ok(item) => return Some(item),
                    Err(e) => {
                        *failed = Some(e);
                        done = true;
                        page = Vec::new().into_iter();
                        return None;
                    }
                }
            }
            if done {
                return None;
            }
            let start = match &after {
                Some(k) => Bound::Excluded(k.as_slice()),
                None => Bound::Unbounded,
            };
            match self
                .store
                .scan_range(tree, start, Bound::Unbounded, PAGE, ScanOrder::Ascending)
            {
                Ok(rows) => {
                    done = rows.len() < PAGE;
                    if rows.is_empty() {
                        return None;
                    }
                    page = rows.into_iter();
                }
                Err(e) => {
                    *failed = Some(e.into());
                    done = true;
                    return None;
                }
            }
        })
    }

    /// The item with `sku`, if stored.
    pub fn item(&self, sku: &Sku) -> Result<Option<Item>> {
        self.store
            .get("items", sku.as_str().as_bytes())?
            .map(|v| decode("items", &v))
            .transpose()
    }

    /// The SKU the `gtins` index gives for `gtin`.
    pub fn sku_by_gtin(&self, gtin: &Gtin) -> Result<Option<Sku>> {
        let Some(v) = self.store.get("gtins", &gtin_key(gtin))? else {
            return Ok(None);
        };
        std::str::from_utf8(&v)
            .ok()
            .and_then(|s| Sku::new(s).ok())
            .map(Some)
            .ok_or(AgentStoreError::Decode {
                tree: "gtins",
                reason: "value is not a SKU".into(),
            })
    }

    /// How many entries `tree` holds (scans it).
    pub fn count(&self, tree: &str) -> Result<u64> {
        let mut n = 0u64;
        self.for_each(tree, |_, _| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    /// Builds the `gtins` index from `items` when the store predates it (meta `gtin_index`
    /// unset), in commits of a bounded size, and then sets the mark. Items are indexed in SKU
    /// order, so a GTIN two items claim points to the later SKU, as the in-memory map built
    /// from a full load did. Idempotent: an interrupted build is simply done again.
    pub fn ensure_gtin_index(&self) -> Result<()> {
        if self.meta("gtin_index")? != 0 {
            return Ok(());
        }
        let mut batch = WriteBatch::new();
        let mut indexed = 0u64;
        self.for_each("items", |_, v| {
            let item: Item = decode("items", v)?;
            put_gtins(&mut batch, &item);
            indexed += 1;
            if batch.len() >= GTIN_INDEX_BATCH {
                self.commit(std::mem::take(&mut batch))?;
            }
            Ok(())
        })?;
        put_meta(&mut batch, "gtin_index", 1);
        self.commit(batch)?;
        if indexed > 0 {
            tracing::info!(items = indexed, "built the GTIN index of an older store");
        }
        Ok(())
    }

    /// Loads what the agent keeps in memory: the stock view, tasks and stations (items stay in
    /// the store, see `crate::catalog`).
    pub fn load(&self, node: &NodeId) -> Result<Loaded> {
        self.ensure_gtin_index()?;
        let head = self.meta("head")?;
        let acked = self.meta("acked")?;
        let down_applied = self.meta("down_applied")?;
        let bootstrapped = self.meta("bootstrapped")? != 0;
        // The ledger is built straight from the store's pages: no copy of the whole view is
        // held beside it while it is built (that doubled the memory at start).
        let (mut locations_failed, mut balances_failed, mut totals_failed) = (None, None, None);
        let locations = self.entries("locations", &mut locations_failed, |k, v| {
            let code = std::str::from_utf8(k)
                .ok()
                .and_then(|c| LocationCode::new(c).ok())
                .ok_or(AgentStoreError::Decode {
                    tree: "locations",
                    reason: "key is not a location code".into(),
                })?;
            let info: LocationInfo = decode("locations", v)?;
            Ok((node.clone(), code, info))
        });
        // Decoding gives every key its own copy of the node id; the ledger's keys share `node`'s
        // (ids are reference counted), one allocation instead of one per line and total.
        let balances = self.entries("balances", &mut balances_failed, |k, v| {
            let mut key: StockKey = decode("balances", k)?;
            if &key.node == node {
                key.node = node.clone();
            }
            Ok((key, decode("balances", v)?))
        });
        let totals = self.entries("totals", &mut totals_failed, |k, v| {
            let (mut n, s): (NodeId, Sku) = decode("totals", k)?;
            if &n == node {
                n = node.clone();
            }
            let t: Totals = decode("totals", v)?;
            Ok((n, s, t))
        });
        let ledger = Ledger::restore(locations, balances, totals, [(node.clone(), head)]);
        if let Some(e) = locations_failed.or(balances_failed).or(totals_failed) {
            return Err(e);
        }
        let mut tasks = Vec::new();
        self.for_each("tasks", |_, v| {
            tasks.push(decode_json("tasks", v)?);
            Ok(())
        })?;
        let mut stations = Vec::new();
        self.for_each("stations", |k, v| {
            let id = String::from_utf8_lossy(k).into_owned();
            stations.push((id, decode_json("stations", v)?));
            Ok(())
        })?;
        Ok(Loaded {
            ledger,
            head,
            acked,
            down_applied,
            bootstrapped,
            tasks,
            stations,
        })
    }

    /// Reads outbox entries `first..=last` (all must exist).
    pub fn read_outbox(&self, first: u64, last: u64) -> Result<Vec<Event>> {
        let from = seq_key(first);
        let to = seq_key(last);
        let limit = usize::try_from(last.saturating_sub(first) + 1).unwrap_or(usize::MAX);
        let rows = self.store.scan_range(
            "outbox",
            Bound::Included(&from[..]),
            Bound::Included(&to[..]),
            limit.min(self.store.limits().max_scan_items),
            ScanOrder::Ascending,
        )?;
        let mut events = Vec::with_capacity(rows.len());
        for (expected, (k, v)) in (first..).zip(rows.iter()) {
            if decode_u64(k) != Some(expected) {
                return Err(AgentStoreError::MissingOutbox {
                    seq: expected,
                    head: last,
                    acked: first.saturating_sub(1),
                });
            }
            events.push(decode("outbox", v)?);
        }
        Ok(events)
    }

    /// How many entries the outbox holds (for status; scans the tree).
    pub fn outbox_len(&self) -> Result<u64> {
        self.count("outbox")
    }
}

/// The store settings the agent uses.
fn store_config(backend: Backend, path: &Path, cache_bytes: u64) -> StoreConfig {
    let mut sc = StoreConfig::new(backend, path);
    sc.sled.cache_bytes = cache_bytes;
    sc.redb.cache_bytes = usize::try_from(cache_bytes).unwrap_or(usize::MAX);
    // The step writer groups commits itself (it must keep outbox order), so the store's
    // own group committer would only add a thread hop.
    sc.group_commit.enabled = false;
    sc.limits.max_value_bytes = 256 * 1024;
    sc.limits.max_batch_ops = MAX_BATCH_OPS;
    sc
}

/// What a hub snapshot seeds into a fresh store (validated by `crate::bootstrap`).
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// Item master data.
    pub items: Vec<Item>,
    /// This node's locations.
    pub locations: Vec<(LocationCode, LocationInfo)>,
    /// This node's balance lines as the hub sees them (the new local view).
    pub balances: Vec<(StockKey, stockpost_common::domain::Dec)>,
    /// This node's running totals per SKU.
    pub totals: Vec<(Sku, Totals)>,
    /// This node's open tasks as the hub knows them (its own and those the node made), with
    /// their progress.
    pub tasks: Vec<TaskRecord>,
    /// The last uplink sequence the hub applied: the next step gets `applied_seq + 1`.
    pub applied_seq: u64,
    /// The downlink head the snapshot covers: the downlink resumes after it.
    pub downlink_seq: u64,
}

impl Seed {
    /// How many store writes seeding takes.
    pub fn writes(&self) -> usize {
        self.items.len()
            + self.items.iter().map(|i| i.gtins.len()).sum::<usize>()
            + self.locations.len()
            + self.balances.len()
            + self.totals.len()
            + self.tasks.len()
            + 5
    }
}

/// Adds everything `seed` holds for `node` to `batch`, with the sequence marks (`head` and
/// `acked` = the hub's applied sequence, `down_applied` = its downlink head) and the
/// `bootstrapped` mark. The caller commits it as one durable batch.
pub fn seed_batch(batch: &mut WriteBatch, node: &NodeId, seed: &Seed) -> Result<()> {
    for item in &seed.items {
        batch.put(
            "items",
            item.sku.as_str().as_bytes().to_vec(),
            encode("items", item)?,
        );
        put_gtins(batch, item);
    }
    for (code, info) in &seed.locations {
        batch.put(
            "locations",
            code.as_str().as_bytes().to_vec(),
            encode("locations", info)?,
        );
    }
    for (key, qty) in &seed.balances {
        if qty.is_zero() || &key.node != node {
            continue;
        }
        batch.put(
            "balances",
            encode("balances", key)?,
            encode("balances", qty)?,
        );
    }
    for (sku, totals) in &seed.totals {
        batch.put(
            "totals",
            encode("totals", &(node, sku))?,
            encode("totals", totals)?,
        );
    }
    for record in &seed.tasks {
        batch.put(
            "tasks",
            record.spec.id.as_str().as_bytes().to_vec(),
            encode_json("tasks", record)?,
        );
    }
    put_meta(batch, "head", seed.applied_seq);
    put_meta(batch, "acked", seed.applied_seq);
    put_meta(batch, "down_applied", seed.downlink_seq);
    put_meta(batch, "bootstrapped", 1);
    put_meta(batch, "gtin_index", 1);
    Ok(())
}

/// Adds the meta `key` = `value` to `batch`.
pub fn put_meta(batch: &mut WriteBatch, key: &str, value: u64) {
    batch.put(
        "meta",
        key.as_bytes().to_vec(),
        value.to_be_bytes().to_vec(),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::catalog::ItemCatalog;
    use std::str::FromStr;
    use stockpost_common::domain::{ItemGtin, LocationKind, PackLevel, Qty, Tracking};

    fn node() -> NodeId {
        NodeId::new("DC-1").unwrap()
    }

    fn item(i: u32) -> Item {
        let body = format!("{:013}", 4_000_000_000_000u64 + u64::from(i));
        let check = stockpost_common::check_digit::gs1_check_digit(&body).unwrap();
        Item {
            sku: Sku::new(format!("SKU-{i:05}")).unwrap(),
            description: format!("item {i}"),
            gtins: vec![ItemGtin {
                gtin: Gtin::new(&format!("{body}{check}")).unwrap(),
                pack: PackLevel::Each,
                qty_per_pack: Qty::from_str("1").unwrap(),
            }],
            tracking: Tracking::None,
            expiry_controlled: false,
            unit_weight_kg: None,
            weight_tolerance_pct: None,
        }
    }

    fn location(i: usize) -> (LocationCode, LocationInfo) {
        (
            LocationCode::new(format!("A-{i:05}")).unwrap(),
            LocationInfo {
                kind: LocationKind::Reserve,
                pickable: true,
                capacity: None,
            },
        )
    }

    #[test]
    fn a_tree_longer_than_one_page_is_read_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open_dir(dir.path()).unwrap();
        let mut batch = WriteBatch::new();
        let n = PAGE * 2 + 7;
        for i in 0..n {
            let (code, info) = location(i);
            batch.put(
                "locations",
                code.as_str().as_bytes().to_vec(),
                encode("locations", &info).unwrap(),
            );
        }
        store.commit(batch).unwrap();
        let loaded = store.load(&node()).unwrap();
        let codes: Vec<LocationCode> = loaded
            .ledger
            .locations()
            .map(|(_, c, _)| c.clone())
            .collect();
        assert_eq!(codes, (0..n).map(|i| location(i).0).collect::<Vec<_>>());
    }

    #[test]
    fn a_value_that_does_not_decode_fails_the_load_and_names_its_tree() {
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open_dir(dir.path()).unwrap();
        let mut batch = WriteBatch::new();
        batch.put("totals", vec![1, 2, 3], vec![0xff]);
        store.commit(batch).unwrap();
        match store.load(&node()) {
            Err(AgentStoreError::Decode { tree, .. }) => assert_eq!(tree, "totals"),
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[test]
    fn a_store_written_before_the_gtin_index_gets_it_built_on_its_first_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open_dir(dir.path()).unwrap();
        // Items as an older agent wrote them: no `gtins` entries, no `gtin_index` mark.
        let items: Vec<Item> = (0..50).map(item).collect();
        let mut batch = WriteBatch::new();
        for i in &items {
            batch.put(
                "items",
                i.sku.as_str().as_bytes().to_vec(),
                encode("items", i).unwrap(),
            );
        }
        store.commit(batch).unwrap();
        assert_eq!(store.count("gtins").unwrap(), 0);
        store.load(&node()).unwrap();
        assert_eq!(store.count("gtins").unwrap(), 50);
        let catalog = ItemCatalog::new(store.clone(), 4);
        for i in &items {
            assert_eq!(catalog.by_gtin(&i.gtins[0].gtin).unwrap().as_ref(), Some(i));
        }
        // Built once: a later load finds the mark and writes nothing.
        store.load(&node()).unwrap();
        assert_eq!(store.count("gtins").unwrap(), 50);
    }

    #[test]
    fn a_seed_indexes_the_gtins_of_its_items() {
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open_dir(dir.path()).unwrap();
        let seed = Seed {
            items: (0..3).map(item).collect(),
            ..Seed::default()
        };
        let mut batch = WriteBatch::new();
        seed_batch(&mut batch, &node(), &seed).unwrap();
        assert_eq!(batch.len(), seed.writes());
        store.commit(batch).unwrap();
        assert_eq!(
            store.sku_by_gtin(&seed.items[2].gtins[0].gtin).unwrap(),
            Some(seed.items[2].sku.clone())
        );
    }
}
