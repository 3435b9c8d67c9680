//! Durable storage for agent and hub: the only code that touches an embedded database
//! (architecture invariant 2).
//!
//! - [`Store`]: a narrow synchronous trait — named trees declared at open, `get`, bounded ordered
//!   range/prefix scans, and an atomic multi-tree [`WriteBatch`] whose `commit` is durable on return.
//! - Backends: [`SledStore`] (sled 0.34.7) and [`RedbStore`] (redb 4).
//! - [`GroupCommitter`]: concurrent commits share one transaction and one fsync.
//! - [`open_store`]: opens the configured backend and moves a corrupt store aside instead of
//!   crash-looping.
//!
//! See `docs/storage.md` for the guarantees and the evidence behind them.

mod batch;
mod config;
#[doc(hidden)]
pub mod crash_model;
mod error;
mod group_commit;
mod integrity;
mod open;
mod redb_store;
mod sled_store;
mod store;

pub use batch::{Op, WriteBatch};
pub use config::{
    Backend, GroupCommitConfig, Limits, RedbOptions, SledMode, SledOptions, StoreConfig,
};
pub use error::{Result, StoreError};
pub use group_commit::{GroupCommitStats, GroupCommitter};
pub use integrity::CHECKPOINT_FILE;
pub use open::{open_backend, open_store, open_store_reporting, quarantine, Opened};
pub use redb_store::{RedbStore, REDB_FILE};
pub use sled_store::SledStore;
pub use store::{prefix_successor, KvPair, ScanOrder, Store, StoreHealth};
