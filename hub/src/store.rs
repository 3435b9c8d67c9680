//! The hub's store: the only module that touches the embedded database (invariant 2).
//!
//! Trees (integers big-endian; node ids cannot contain 0x00, so `node 0x00 seq` sorts by node
//! then sequence):
//! - `applied`: node → last applied seq (durable with the events it covers).
//! - `events`: `node 0x00 seq` → postcard `StoredEvent` (the authoritative ledger, append-only).
//! - `balances`, `totals`, `locations`: the current stock, as in the agent.
//! - `quarantine`: id → postcard `Quarantined` (messages and events that could not be applied).
//! - `meta`: counters such as the next quarantine id.

use crate::config::HubConfig;
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;
use stockpost_common::domain::{Event, LocationCode, LocationInfo, NodeId, Sku};
use stockpost_common::ledger::{Ledger, StockKey, Totals};
use stockpost_store::{Backend, ScanOrder, Store, StoreConfig, StoreError, WriteBatch};

/// Every tree the hub uses.
pub const TREES: &[&str] = &[
    "meta",
    "applied",
    "events",
    "balances",
    "totals",
    "locations",
    "quarantine",
    "items",
    "nodes",
    "orders",
    "reservations",
    "exceptions",
    "adjustments",
    "audit",
    "downlink",
    "down_head",
    "down_acked",
    "tasks",
    "inbound",
    "returns",
    "webhook_outbox",
    "webhook_dead",
    "kpi_events",
];

const PAGE: usize = 5_000;

/// An event as the hub keeps it: with the time it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The event as the node recorded it.
    pub event: Event,
    /// Hub clock when it was applied, Unix ms.
    pub received_at_ms: i64,
}

/// Something that could not be applied, kept for ops to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    /// The node it came from, if known.
    pub node: Option<String>,
    /// The sequence, if known.
    pub seq: Option<u64>,
    /// Why.
    pub reason: String,
    /// Hub clock, Unix ms.
    pub at_ms: i64,
    /// The raw bytes (bounded by the wire limits).
    pub raw: Vec<u8>,
}

/// Why the hub's store failed.
#[derive(Debug, thiserror::Error)]
pub enum HubStoreError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored value does not decode.
    #[error("stored value in tree {tree} does not decode: {reason}")]
    Decode {
        /// The tree.
        tree: &'static str,
        /// Why.
        reason: String,
    },
}

type Result<T> = std::result::Result<T, HubStoreError>;

/// Encodes a value for storing.
pub fn encode<T: Serialize>(tree: &'static str, value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| HubStoreError::Decode {
        tree,
        reason: e.to_string(),
    })
}

/// Decodes a stored value.
pub fn decode<T: serde::de::DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| HubStoreError::Decode {
        tree,
        reason: e.to_string(),
    })
}

/// `node 0x00 seq`.
pub fn event_key(node: &NodeId, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(node.as_str().len() + 9);
    key.extend_from_slice(node.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The hub's store handle (cheap to clone).
#[derive(Debug, Clone)]
pub struct HubStore {
    store: Arc<dyn Store>,
}

/// What the hub loads at start.
#[derive(Debug)]
pub struct Loaded {
    /// The authoritative ledger.
    pub ledger: Ledger,
    /// Next quarantine id.
    pub next_quarantine: u64,
}

impl HubStore {
    /// Opens the configured store under `data_dir/store`.
    pub fn open(config: &HubConfig) -> Result<(Self, Option<PathBuf>)> {
        let backend = if config.store.backend == "redb" {
            Backend::Redb
        } else {
            Backend::Sled
        };
        let mut sc = StoreConfig::new(backend, config.data_dir.join("store"));
        sc.sled.cache_bytes = config.store.cache_bytes;
        sc.redb.cache_bytes = usize::try_from(config.store.cache_bytes).unwrap_or(usize::MAX);
        // The ingest writer groups batches itself, in per-node order.
        sc.group_commit.enabled = false;
        sc.limits.max_value_bytes = 2 * 1024 * 1024;
        sc.limits.max_batch_ops = 1_000_000;
        let opened = stockpost_store::open_store_reporting(&sc, TREES)?;
        Ok((
            Self {
                store: Arc::from(opened.store),
            },
            opened.quarantined,
        ))
    }

    /// Commits durably.
    pub fn commit(&self, batch: WriteBatch) -> Result<()> {
        Ok(self.store.commit(batch)?)
    }

    fn for_each(&self, tree: &str, mut f: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> {
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

    /// Up to `limit` (at most one page) raw entries of `tree` from its first key.
    pub fn first_entries(&self, tree: &str, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self.store.scan_range(
            tree,
            Bound::Unbounded,
            Bound::Unbounded,
            limit.min(PAGE),
            ScanOrder::Ascending,
        )?)
    }

    /// Whether `tree` holds `key`.
    pub fn contains(&self, tree: &str, key: &[u8]) -> Result<bool> {
        Ok(self.store.get(tree, key)?.is_some())
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

    /// Loads the ledger.
    pub fn load(&self) -> Result<Loaded> {
        let mut locations = Vec::new();
        self.for_each("locations", |k, v| {
            let (node, code): (NodeId, LocationCode) = decode("locations", k)?;
            let info: LocationInfo = decode("locations", v)?;
            locations.push((node, code, info));
            Ok(())
        })?;
        let mut balances: Vec<(StockKey, stockpost_common::domain::Dec)> = Vec::new();
        self.for_each("balances", |k, v| {
            balances.push((decode("balances", k)?, decode("balances", v)?));
            Ok(())
        })?;
        let mut totals = Vec::new();
        self.for_each("totals", |k, v| {
            let (n, s): (NodeId, Sku) = decode("totals", k)?;
            let t: Totals = decode("totals", v)?;
            totals.push((n, s, t));
            Ok(())
        })?;
        let mut applied = Vec::new();
        self.for_each("applied", |k, v| {
            let node = std::str::from_utf8(k)
                .ok()
                .and_then(|n| NodeId::new(n).ok())
                .ok_or(HubStoreError::Decode {
                    tree: "applied",
                    reason: "key is not a node id".into(),
                })?;
            let seq = <[u8; 8]>::try_from(v)
                .map(u64::from_be_bytes)
                .map_err(|_| HubStoreError::Decode {
                    tree: "applied",
                    reason: "value is not a u64".into(),
                })?;
            applied.push((node, seq));
            Ok(())
        })?;
        let next_quarantine = self
            .store
            .get("meta", b"next_quarantine")?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1);
        Ok(Loaded {
            ledger: Ledger::restore(locations, balances, totals, applied),
            next_quarantine,
        })
    }

    /// Every row of `tree`, decoded with postcard.
    pub fn load_all<T: serde::de::DeserializeOwned>(
        &self,
        tree: &'static str,
    ) -> Result<Vec<(Vec<u8>, T)>> {
        let mut out = Vec::new();
        self.for_each(tree, |k, v| {
            out.push((k.to_vec(), decode(tree, v)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// Every row of `tree` whose value is a big-endian u64.
    pub fn load_u64s(&self, tree: &'static str) -> Result<Vec<(Vec<u8>, u64)>> {
        let mut out = Vec::new();
        self.for_each(tree, |k, v| {
            let n = <[u8; 8]>::try_from(v)
                .map(u64::from_be_bytes)
                .map_err(|_| HubStoreError::Decode {
                    tree,
                    reason: "value is not a u64".into(),
                })?;
            out.push((k.to_vec(), n));
            Ok(())
        })?;
        Ok(out)
    }

    /// A counter in `meta`.
    pub fn counter(&self, name: &str) -> Result<Option<u64>> {
        Ok(self
            .store
            .get("meta", name.as_bytes())?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(u64::from_be_bytes))
    }

    /// Calls `f` for every stored event, in (node, seq) order.
    pub fn for_each_event(&self, mut f: impl FnMut(StoredEvent)) -> Result<()> {
        self.for_each("events", |_, v| {
            f(decode("events", v)?);
            Ok(())
        })
    }

    /// Events of every node, in (node, seq) order, at most `limit`.
    pub fn all_events(&self, limit: usize) -> Result<Vec<StoredEvent>> {
        let rows = self.store.scan_range(
            "events",
            Bound::Unbounded,
            Bound::Unbounded,
            limit.min(self.store.limits().max_scan_items),
            ScanOrder::Ascending,
        )?;
        rows.iter().map(|(_, v)| decode("events", v)).collect()
    }

    /// Audit entries after id `after`, at most `limit`, as stored (JSON).
    pub fn audit(&self, after: u64, limit: usize) -> Result<Vec<(u64, serde_json::Value)>> {
        let start = after.saturating_add(1).to_be_bytes();
        let rows = self.store.scan_range(
            "audit",
            Bound::Included(start.as_slice()),
            Bound::Unbounded,
            limit.min(self.store.limits().max_scan_items),
            ScanOrder::Ascending,
        )?;
        rows.iter()
            .map(|(k, v)| {
                let id = <[u8; 8]>::try_from(k.as_slice())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                let value = serde_json::from_slice(v).map_err(|e| HubStoreError::Decode {
                    tree: "audit",
                    reason: e.to_string(),
                })?;
                Ok((id, value))
            })
            .collect()
    }

    /// Events of `node` after `after`, at most `limit`.
    pub fn events(&self, node: &NodeId, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let start = event_key(node, after.saturating_add(1));
        let end = event_key(node, u64::MAX);
        let rows = self.store.scan_range(
            "events",
            Bound::Included(start.as_slice()),
            Bound::Included(end.as_slice()),
            limit.min(self.store.limits().max_scan_items),
            ScanOrder::Ascending,
        )?;
        rows.iter().map(|(_, v)| decode("events", v)).collect()
    }

    /// Quarantined items, oldest first, at most `limit`.
    pub fn quarantined(&self, limit: usize) -> Result<Vec<(u64, Quarantined)>> {
        let rows = self.store.scan_range(
            "quarantine",
            Bound::Unbounded,
            Bound::Unbounded,
            limit.min(self.store.limits().max_scan_items),
            ScanOrder::Ascending,
        )?;
        rows.iter()
            .map(|(k, v)| {
                let id = <[u8; 8]>::try_from(k.as_slice())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                Ok((id, decode("quarantine", v)?))
            })
            .collect()
    }
}
