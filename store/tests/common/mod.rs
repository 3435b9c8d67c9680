//! Helpers shared by the store's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use stockpost_store::{Backend, Limits, StoreConfig};

/// Every backend the conformance suite and the crash harness cover.
pub const BACKENDS: [Backend; 2] = [Backend::Sled, Backend::Redb];

/// A test configuration: small caches, small limits so the limits can be exercised.
pub fn config(backend: Backend, dir: &Path, group_commit: bool) -> StoreConfig {
    let mut cfg = StoreConfig::new(backend, dir);
    cfg.sled.cache_bytes = 8 * 1024 * 1024;
    cfg.redb.cache_bytes = 8 * 1024 * 1024;
    cfg.group_commit.enabled = group_commit;
    cfg.limits = Limits {
        max_batch_ops: 64,
        max_key_bytes: 16,
        max_value_bytes: 32,
        max_scan_items: 100,
    };
    cfg
}
