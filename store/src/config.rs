//! [`StoreConfig`]: which backend, where, and every durability- and size-relevant option, explicit.

use std::path::PathBuf;

use serde::Deserialize;

/// The embedded database behind a [`crate::Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// sled 0.34.7.
    Sled,
    /// redb 4.x.
    Redb,
}

impl Backend {
    /// The name used in configuration files and logs.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sled => "sled",
            Backend::Redb => "redb",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// sled's storage mode (`sled::Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SledMode {
    /// Favour disk space (`sled::Mode::LowSpace`).
    LowSpace,
    /// Favour write throughput (`sled::Mode::HighThroughput`).
    HighThroughput,
}

/// Options for the sled backend. Durability never depends on sled's background flusher: it is
/// disabled and every commit does `Db::flush()` followed by `fsync` of the `db` file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SledOptions {
    /// Page cache size in bytes (sled's default is 1 GiB; edge boxes need far less).
    pub cache_bytes: u64,
    /// Storage mode.
    pub mode: SledMode,
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            cache_bytes: 64 * 1024 * 1024,
            mode: SledMode::LowSpace,
        }
    }
}

/// Options for the redb backend. Every commit uses `Durability::Immediate`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedbOptions {
    /// Cache size in bytes (redb's default is 1 GiB).
    pub cache_bytes: usize,
    /// Verify every page checksum when opening (reads the whole file), so a damaged file is
    /// detected at open and moved aside instead of failing later.
    pub check_integrity_on_open: bool,
    /// redb's two-phase commit (two fsyncs per commit; see redb's docs). Off by default: redb's
    /// one-phase commit is crash-safe through checksums.
    pub two_phase_commit: bool,
}

impl Default for RedbOptions {
    fn default() -> Self {
        Self {
            cache_bytes: 64 * 1024 * 1024,
            check_integrity_on_open: true,
            two_phase_commit: false,
        }
    }
}

/// Group commit: concurrent commits share one transaction and one fsync.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupCommitConfig {
    /// Route commits through a [`crate::GroupCommitter`] writer thread.
    pub enabled: bool,
    /// Most caller batches in one group (one transaction, one fsync).
    pub max_batch: usize,
    /// After the first batch of a group arrives, how long to wait for more (microseconds). 0 means
    /// "take what is already queued": the previous fsync is then the natural window.
    pub max_wait_micros: u64,
    /// Capacity of the request queue; callers block when it is full.
    pub queue_capacity: usize,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_batch: 64,
            max_wait_micros: 0,
            queue_capacity: 256,
        }
    }
}

/// Size bounds every store enforces (invariant 6: every batch is bounded).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Most operations in one [`crate::WriteBatch`].
    pub max_batch_ops: usize,
    /// Longest key in bytes.
    pub max_key_bytes: usize,
    /// Longest value in bytes. Keep well under 64 KiB for sled: larger pages go to separate blob
    /// files that sled does not fsync.
    pub max_value_bytes: usize,
    /// Largest `limit` a scan may ask for.
    pub max_scan_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch_ops: 10_000,
            max_key_bytes: 1024,
            max_value_bytes: 16 * 1024,
            max_scan_items: 10_000,
        }
    }
}

/// Configuration of the node's or hub's store.
///
/// ```toml
/// backend = "redb"          # the default; or "sled"
/// path = "/var/lib/stockpost/store"
/// [sled]
/// cache_bytes = 67108864
/// [group_commit]
/// max_batch = 64
/// max_wait_micros = 0
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Which backend.
    pub backend: Backend,
    /// Directory holding the store (created if missing).
    pub path: PathBuf,
    /// sled options.
    pub sled: SledOptions,
    /// redb options.
    pub redb: RedbOptions,
    /// Group commit.
    pub group_commit: GroupCommitConfig,
    /// Size bounds.
    pub limits: Limits,
    /// Write the checkpoint file (a commit count known to be durable, used to detect a store that
    /// silently lost commits) every this many commits, and on clean close. 0: only on close.
    pub checkpoint_every_commits: u64,
}

impl Default for StoreConfig {
    /// The default backend is redb: sled passes the kill -9 harness, but opens a damaged log
    /// without any error and silently serves a prefix of it (losing acknowledged commits), its
    /// 0.34 line has open corruption reports and is unmaintained, and redb checksums and verifies
    /// every page. Evidence and numbers: docs/storage.md. `backend = "sled"` remains supported.
    fn default() -> Self {
        Self {
            backend: Backend::Redb,
            path: PathBuf::from("store"),
            sled: SledOptions::default(),
            redb: RedbOptions::default(),
            group_commit: GroupCommitConfig::default(),
            limits: Limits::default(),
            checkpoint_every_commits: 1000,
        }
    }
}

impl StoreConfig {
    /// A default configuration for `backend` at `path`.
    pub fn new(backend: Backend, path: impl Into<PathBuf>) -> Self {
        Self {
            backend,
            path: path.into(),
            ..Self::default()
        }
    }

    /// Check the numbers make sense.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::StoreError::Config(m.to_owned()));
        if self.path.as_os_str().is_empty() {
            return bad("path is empty");
        }
        if self.group_commit.max_batch == 0 {
            return bad("group_commit.max_batch must be at least 1");
        }
        if self.group_commit.queue_capacity == 0 {
            return bad("group_commit.queue_capacity must be at least 1");
        }
        if self.group_commit.max_wait_micros > 1_000_000 {
            return bad("group_commit.max_wait_micros must be at most 1 s");
        }
        if self.limits.max_batch_ops == 0 || self.limits.max_scan_items == 0 {
            return bad("limits must be at least 1");
        }
        if self.sled.cache_bytes < 1024 * 1024 {
            return bad("sled.cache_bytes must be at least 1 MiB");
        }
        Ok(())
    }
}
