//! The error type of every store operation.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A tree name that was not declared when the store was opened.
    #[error("unknown tree {0:?}: trees must be declared when the store is opened")]
    UnknownTree(String),

    /// A tree name that cannot be used (empty, too long, or declared twice).
    #[error("invalid tree name {name:?}: {reason}")]
    InvalidTreeName {
        /// The offending name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A batch with more operations than the configured limit.
    #[error("write batch has {ops} operations; the limit is {limit}")]
    BatchTooLarge {
        /// Operations in the batch.
        ops: usize,
        /// Configured limit.
        limit: usize,
    },

    /// A key longer than the configured limit.
    #[error("key of {len} bytes; the limit is {limit}")]
    KeyTooLarge {
        /// Key length.
        len: usize,
        /// Configured limit.
        limit: usize,
    },

    /// A value longer than the configured limit.
    #[error("value of {len} bytes; the limit is {limit}")]
    ValueTooLarge {
        /// Value length.
        len: usize,
        /// Configured limit.
        limit: usize,
    },

    /// A scan asked for more items than the configured limit.
    #[error("scan limit {requested} exceeds the configured maximum of {limit}")]
    ScanLimitTooLarge {
        /// Requested limit.
        requested: usize,
        /// Configured maximum.
        limit: usize,
    },

    /// The configuration is unusable.
    #[error("invalid store configuration: {0}")]
    Config(String),

    /// The on-disk data is corrupt (detected by the backend, or the backend panicked while reading it).
    #[error("store at {path} is corrupt: {detail}")]
    Corrupt {
        /// The store directory.
        path: PathBuf,
        /// What the backend reported.
        detail: String,
    },

    /// An operating-system I/O error outside the backend (directory handling, fsync of sled's file).
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// An error reported by sled.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),

    /// An error reported by redb.
    #[error("redb: {0}")]
    Redb(#[from] redb::Error),

    /// A backend panicked during an operation; the panic was contained.
    #[error("the {backend} backend panicked: {detail}")]
    Panicked {
        /// Which backend.
        backend: &'static str,
        /// The panic message, when it was a string.
        detail: String,
    },

    /// An earlier fsync failed, so the durability of anything written since is unknown. Every later
    /// commit is refused; reopen the store (restart the process) to recover from what is on disk.
    #[error(
        "the store is poisoned by an earlier failed fsync ({0}); restart to recover from disk"
    )]
    Poisoned(String),

    /// The group committer's writer thread could not be started.
    #[error("could not start the group-commit writer thread: {0}")]
    Spawn(#[source] std::io::Error),

    /// The group committer's writer thread has stopped.
    #[error("the group committer has shut down")]
    Closed,
}

impl StoreError {
    /// Whether this error means the on-disk data cannot be trusted (as opposed to a transient or
    /// configuration problem such as a missing permission or a lock held by another process).
    pub fn is_corruption(&self) -> bool {
        match self {
            StoreError::Corrupt { .. } | StoreError::Panicked { .. } => true,
            StoreError::Sled(sled::Error::Corruption { .. }) => true,
            StoreError::Sled(sled::Error::Io(e)) => e.kind() == std::io::ErrorKind::InvalidData,
            StoreError::Redb(redb::Error::Corrupted(_)) => true,
            // e.g. "Not a redb database: magic number mismatch"
            StoreError::Redb(redb::Error::Io(e)) => e.kind() == std::io::ErrorKind::InvalidData,
            _ => false,
        }
    }
}

/// Shorthand for results of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
