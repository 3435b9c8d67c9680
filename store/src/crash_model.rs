//! The workload and the checks of the kill -9 crash harness, shared by the child binary
//! (`stockpost-store-crash-child`) and the parent test (`tests/crash.rs`). Not part of the API.
//!
//! The child runs one or more writer *lanes* (one thread each; with several lanes they commit
//! through the group committer). Commit `seq` (1, 2, 3, … in order) of lane `l` has the id
//! `l << 48 | seq` and is one batch that:
//! - puts key `id` (big-endian u64) into each data tree selected by `mask_for(id)`, with a value
//!   that encodes the mask, the id and a payload derived from both;
//! - deletes the lane's commit `seq - KEEP` from each of its trees;
//! - sets `meta/last-<l>` to `seq`.
//!
//! So after any crash the store must hold, for each lane, exactly commits `last-KEEP+1 ..= last`,
//! each in all of its trees, and `last` must be at least the highest seq the lane acknowledged.

use std::ops::Bound;
use std::path::Path;

use crate::{Backend, Limits, ScanOrder, Store, StoreConfig, WriteBatch};

/// Data trees, then the meta tree.
pub const TREES: [&str; 5] = ["t0", "t1", "t2", "t3", "meta"];
/// Number of data trees (the first entries of [`TREES`]).
pub const DATA_TREES: usize = 4;
/// The tree holding `last`.
pub const META: &str = "meta";
/// Most writer lanes.
pub const MAX_LANES: usize = 16;

/// Key of lane `lane`'s last committed seq in [`META`].
pub fn last_key(lane: usize) -> Vec<u8> {
    format!("last-{lane}").into_bytes()
}

/// The id (data key) of commit `seq` of `lane`.
pub fn id_of(lane: usize, seq: u64) -> u64 {
    (lane as u64) << 48 | seq
}
/// How many most recent commits stay live; older ones are deleted by later commits.
pub const KEEP: u64 = 32;
/// Largest payload a commit writes into one tree.
pub const MAX_PAYLOAD: usize = 1500;

/// The configuration both the child and the parent use.
pub fn config(backend: Backend, path: &Path) -> StoreConfig {
    let mut cfg = StoreConfig::new(backend, path);
    cfg.sled.cache_bytes = 16 * 1024 * 1024;
    cfg.redb.cache_bytes = 16 * 1024 * 1024;
    cfg.group_commit.enabled = false;
    // Checkpoint often so kills also land around checkpoint writes.
    cfg.checkpoint_every_commits = 7;
    cfg.limits = Limits {
        max_batch_ops: 64,
        max_key_bytes: 64,
        max_value_bytes: 4096,
        max_scan_items: 10_000,
    };
    cfg
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Which data trees commit `id` writes: a non-empty subset, as bits.
pub fn mask_for(id: u64) -> u8 {
    (splitmix(id) % 15) as u8 + 1
}

fn in_mask(mask: u8, tree: usize) -> bool {
    mask & (1 << tree) != 0
}

fn value_for(id: u64, tree: usize, payload_len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + payload_len);
    v.push(mask_for(id));
    v.extend_from_slice(&id.to_be_bytes());
    v.resize(9 + payload_len, fill_byte(id, tree));
    v
}

fn fill_byte(id: u64, tree: usize) -> u8 {
    (id as u8) ^ (tree as u8).wrapping_mul(0x35)
}

/// The batch of commit `seq` of `lane`, with `payload_len` bytes of payload per tree.
pub fn batch_for(lane: usize, seq: u64, payload_len: usize) -> WriteBatch {
    let mut b = WriteBatch::new();
    let id = id_of(lane, seq);
    let mask = mask_for(id);
    for (tree, name) in TREES.iter().enumerate().take(DATA_TREES) {
        if in_mask(mask, tree) {
            b.put(name, id.to_be_bytes(), value_for(id, tree, payload_len));
        }
    }
    if seq > KEEP {
        let old = id_of(lane, seq - KEEP);
        let old_mask = mask_for(old);
        for (tree, name) in TREES.iter().enumerate().take(DATA_TREES) {
            if in_mask(old_mask, tree) {
                b.delete(name, old.to_be_bytes());
            }
        }
    }
    b.put(META, last_key(lane), seq.to_be_bytes());
    b
}

/// The last committed seq of `lane` recorded in the store (0 for none).
pub fn last_committed(store: &dyn Store, lane: usize) -> Result<u64, String> {
    match store
        .get(META, &last_key(lane))
        .map_err(|e| e.to_string())?
    {
        None => Ok(0),
        Some(v) => {
            let bytes: [u8; 8] = v
                .as_slice()
                .try_into()
                .map_err(|_| format!("meta/last-{lane} has {} bytes, not 8", v.len()))?;
            Ok(u64::from_be_bytes(bytes))
        }
    }
}

/// Check the store holds, for each lane, exactly its commits `last-KEEP+1 ..= last`, each
/// complete, and that `last >= acknowledged[lane]`. Returns each lane's `last`.
pub fn verify(store: &dyn Store, acknowledged: &[u64]) -> Result<Vec<u64>, String> {
    let lanes = acknowledged.len();
    let mut lasts = Vec::with_capacity(lanes);
    for (lane, &acked) in acknowledged.iter().enumerate() {
        let last = last_committed(store, lane)?;
        if last < acked {
            return Err(format!(
                "LOST ACKNOWLEDGED COMMITS: lane {lane} acknowledged commit {acked} but the store's last commit is {last}"
            ));
        }
        lasts.push(last);
    }
    let window = |lane: usize| (lasts[lane].saturating_sub(KEEP) + 1, lasts[lane]);
    for (tree, name) in TREES.iter().enumerate().take(DATA_TREES) {
        let pairs = store
            .scan_range(
                name,
                Bound::Unbounded,
                Bound::Unbounded,
                10_000,
                ScanOrder::Ascending,
            )
            .map_err(|e| e.to_string())?;
        let mut present = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let key: [u8; 8] = k
                .as_slice()
                .try_into()
                .map_err(|_| format!("tree {name}: key of {} bytes", k.len()))?;
            let id = u64::from_be_bytes(key);
            let (lane, seq) = ((id >> 48) as usize, id & ((1 << 48) - 1));
            if lane >= lanes {
                return Err(format!(
                    "tree {name} holds commit {id:#x} of unknown lane {lane}"
                ));
            }
            let (first, last) = window(lane);
            if seq < first || seq > last {
                return Err(format!(
                    "PARTIAL BATCH: tree {name} holds lane {lane} commit {seq}, outside the live window {first}..={last}"
                ));
            }
            if !in_mask(mask_for(id), tree) {
                return Err(format!(
                    "tree {name} holds commit {id:#x}, which never writes it"
                ));
            }
            let ok = v.len() >= 9
                && v[0] == mask_for(id)
                && v[1..9] == id.to_be_bytes()
                && v[9..].iter().all(|&b| b == fill_byte(id, tree));
            if !ok {
                return Err(format!(
                    "tree {name}: value of commit {id:#x} is damaged ({} bytes)",
                    v.len()
                ));
            }
            present.push(id);
        }
        for lane in 0..lanes {
            let (first, last) = window(lane);
            for seq in first..=last {
                let id = id_of(lane, seq);
                if in_mask(mask_for(id), tree) && present.binary_search(&id).is_err() {
                    return Err(format!(
                        "PARTIAL BATCH: lane {lane} commit {seq} (last = {last}) is missing from tree {name}"
                    ));
                }
            }
        }
    }
    Ok(lasts)
}
