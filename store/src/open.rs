//! [`open_store`]: open the configured backend; a corrupt store is moved aside, never a crash loop.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Backend, StoreConfig};
use crate::error::{Result, StoreError};
use crate::group_commit::GroupCommitter;
use crate::redb_store::RedbStore;
use crate::sled_store::SledStore;
use crate::store::Store;

/// What [`open_store_reporting`] did.
#[derive(Debug)]
pub struct Opened {
    /// The open store (wrapped in a [`GroupCommitter`] when group commit is enabled).
    pub store: Box<dyn Store>,
    /// When the store was corrupt: where its directory was moved. The new store is empty and the
    /// node must resync from the hub.
    pub quarantined: Option<PathBuf>,
}

/// Open the backend named in `config` with `trees`, without any corruption handling or group
/// commit: errors, including corruption, are returned as they are.
pub fn open_backend(config: &StoreConfig, trees: &[&str]) -> Result<Arc<dyn Store>> {
    config.validate()?;
    Ok(match config.backend {
        Backend::Sled => Arc::new(SledStore::open(config, trees)?),
        Backend::Redb => Arc::new(RedbStore::open(config, trees)?),
    })
}

/// Open the configured store. See [`open_store_reporting`].
pub fn open_store(config: &StoreConfig, trees: &[&str]) -> Result<Box<dyn Store>> {
    open_store_reporting(config, trees).map(|o| o.store)
}

/// Open the configured store, declaring `trees`.
///
/// If the backend reports corruption (or panics while opening), the store directory is renamed to
/// `<dir>.corrupt-<n>`, the event is logged with `tracing::error!`, and an empty store is opened in
/// its place: the node then resyncs from the hub. Other errors (permissions, a lock held by another
/// process, bad configuration) are returned.
pub fn open_store_reporting(config: &StoreConfig, trees: &[&str]) -> Result<Opened> {
    let (inner, quarantined) = match open_backend(config, trees) {
        Ok(store) => (store, None),
        Err(e) if e.is_corruption() => {
            let moved = quarantine(&config.path)?;
            tracing::error!(
                backend = %config.backend,
                path = %config.path.display(),
                moved_to = %moved.display(),
                error = %e,
                "the store is corrupt and cannot be opened; it was moved aside and an empty store \
                 was created. This node will resync its state from the hub. Keep the moved \
                 directory for diagnosis (attach it to a bug report) and delete it once resynced."
            );
            (open_backend(config, trees)?, Some(moved))
        }
        Err(e) => return Err(e),
    };
    let store: Box<dyn Store> = if config.group_commit.enabled {
        Box::new(GroupCommitter::new(inner, config.group_commit.clone())?)
    } else {
        Box::new(ArcStore(inner))
    };
    Ok(Opened { store, quarantined })
}

/// Rename `dir` to the first free `<dir>.corrupt-<n>` (n = 1, 2, …) and return the new path.
pub fn quarantine(dir: &Path) -> Result<PathBuf> {
    let file_name = dir
        .file_name()
        .ok_or_else(|| {
            StoreError::Config(format!(
                "store path {} has no final component",
                dir.display()
            ))
        })?
        .to_string_lossy()
        .into_owned();
    for n in 1..10_000u32 {
        let target = dir.with_file_name(format!("{file_name}.corrupt-{n}"));
        if target.exists() {
            continue;
        }
        std::fs::rename(dir, &target).map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(parent) {
                let _ = d.sync_all();
            }
        }
        return Ok(target);
    }
    Err(StoreError::Config(format!(
        "too many quarantined copies of {}; delete old *.corrupt-* directories",
        dir.display()
    )))
}

/// A shared store used directly (group commit disabled).
#[derive(Debug)]
struct ArcStore(Arc<dyn Store>);

impl Store for ArcStore {
    fn backend(&self) -> Backend {
        self.0.backend()
    }
    fn trees(&self) -> &[String] {
        self.0.trees()
    }
    fn limits(&self) -> &crate::config::Limits {
        self.0.limits()
    }
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(tree, key)
    }
    fn scan_range(
        &self,
        tree: &str,
        start: std::ops::Bound<&[u8]>,
        end: std::ops::Bound<&[u8]>,
        limit: usize,
        order: crate::store::ScanOrder,
    ) -> Result<Vec<crate::store::KvPair>> {
        self.0.scan_range(tree, start, end, limit, order)
    }
    fn commit_group(&self, batches: &[crate::batch::WriteBatch]) -> Result<()> {
        self.0.commit_group(batches)
    }
    fn health(&self) -> crate::store::StoreHealth {
        self.0.health()
    }
}
