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
//! - `tasks`: task id → JSON `TaskRecord` (spec + progress); `stations`: station id → JSON
//!   `Station` (operator, current task and flow). Owned by the station runtime, written in the
//!   same batch as the step's events. JSON because these types use serde attributes postcard
//!   cannot carry, and they are small.
//! - `print_spool`, `sscc_counter`: owned by the printer driver.

use crate::config::AgentConfig;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;
use stockpost_common::domain::{Event, Item, LocationCode, LocationInfo, NodeId, Sku};
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
    /// Item master data.
    pub items: Vec<Item>,
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
        let mut sc = StoreConfig::new(backend, config.data_dir.join("store"));
        sc.sled.cache_bytes = config.store.cache_bytes;
        sc.redb.cache_bytes = usize::try_from(config.store.cache_bytes).unwrap_or(usize::MAX);
        // The step writer groups commits itself (it must keep outbox order), so the store's
        // own group committer would only add a thread hop.
        sc.group_commit.enabled = false;
        sc.limits.max_value_bytes = 256 * 1024;
        sc.limits.max_batch_ops = MAX_BATCH_OPS;
        let opened = stockpost_store::open_store_reporting(&sc, TREES)?;
        Ok((
            Self {
                store: Arc::from(opened.store),
            },
            opened.quarantined,
        ))
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

    /// Loads everything the agent keeps in memory.
    pub fn load(&self, node: &NodeId) -> Result<Loaded> {
        let head = self.meta("head")?;
        let acked = self.meta("acked")?;
        let down_applied = self.meta("down_applied")?;
        let bootstrapped = self.meta("bootstrapped")? != 0;
        let mut locations = Vec::new();
        self.for_each("locations", |k, v| {
            let code = std::str::from_utf8(k)
                .ok()
                .and_then(|c| LocationCode::new(c).ok())
                .ok_or(AgentStoreError::Decode {
                    tree: "locations",
                    reason: "key is not a location code".into(),
                })?;
            let info: LocationInfo = decode("locations", v)?;
            locations.push((node.clone(), code, info));
            Ok(())
        })?;
        let mut balances = Vec::new();
        self.for_each("balances", |k, v| {
            let key: StockKey = decode("balances", k)?;
            balances.push((key, decode("balances", v)?));
            Ok(())
        })?;
        let mut totals = Vec::new();
        self.for_each("totals", |k, v| {
            let (n, s): (NodeId, Sku) = decode("totals", k)?;
            let t: Totals = decode("totals", v)?;
            totals.push((n, s, t));
            Ok(())
        })?;
        let mut items = Vec::new();
        self.for_each("items", |_, v| {
            items.push(decode("items", v)?);
            Ok(())
        })?;
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
        let ledger = Ledger::restore(locations, balances, totals, [(node.clone(), head)]);
        Ok(Loaded {
            ledger,
            head,
            acked,
            down_applied,
            bootstrapped,
            items,
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
        let mut n = 0u64;
        self.for_each("outbox", |_, _| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }
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
    /// The hub's open tasks for this node.
    pub tasks: Vec<stockpost_common::tasks::TaskSpec>,
    /// The last uplink sequence the hub applied: the next step gets `applied_seq + 1`.
    pub applied_seq: u64,
    /// The downlink head the snapshot covers: the downlink resumes after it.
    pub downlink_seq: u64,
}

impl Seed {
    /// How many store writes seeding takes.
    pub fn writes(&self) -> usize {
        self.items.len()
            + self.locations.len()
            + self.balances.len()
            + self.totals.len()
            + self.tasks.len()
            + 4
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
    for spec in &seed.tasks {
        let record = TaskRecord::open(spec.clone());
        batch.put(
            "tasks",
            record.spec.id.as_str().as_bytes().to_vec(),
            encode_json("tasks", &record)?,
        );
    }
    put_meta(batch, "head", seed.applied_seq);
    put_meta(batch, "acked", seed.applied_seq);
    put_meta(batch, "down_applied", seed.downlink_seq);
    put_meta(batch, "bootstrapped", 1);
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
