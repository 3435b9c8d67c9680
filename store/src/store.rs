//! The [`Store`] trait: the narrow, synchronous interface every backend implements.

use std::fmt;
use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::batch::{Op, WriteBatch};
use crate::config::{Backend, Limits};
use crate::error::{Result, StoreError};

/// An owned key/value pair returned by scans.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// The order in which a scan returns keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScanOrder {
    /// Smallest key first (lexicographic byte order; big-endian integers sort numerically).
    #[default]
    Ascending,
    /// Largest key first (e.g. "the last outbox sequence").
    Descending,
}

/// Whether the store can currently write, as far as its last commit tells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StoreHealth {
    /// The last commit succeeded (or none was attempted yet).
    #[default]
    Healthy,
    /// The last commit failed in the backend (disk full, I/O error, a poisoned backend); this is
    /// cleared by the next commit that succeeds. Nothing acknowledged before was lost.
    WriteFailing {
        /// Why the last commit failed (the backend's error, e.g. "No space left on device").
        reason: String,
    },
}

impl StoreHealth {
    /// Whether the last commit failed.
    pub fn is_write_failing(&self) -> bool {
        matches!(self, StoreHealth::WriteFailing { .. })
    }
}

/// A durable, ordered key/value store with named trees declared at open.
///
/// Guarantees every implementation gives (checked by the conformance suite and the crash harness):
/// - `commit` / `commit_group` are atomic across trees: after any crash, either every operation of a
///   batch is visible or none is;
/// - when `commit` returns `Ok`, the batch is durable (it survives `kill -9` and power loss, as far as
///   the disk honours fsync);
/// - reads see every commit that returned before the read started;
/// - scans return keys in byte order (or reverse), at most `limit` pairs, as owned vectors;
/// - invalid input (unknown tree, oversized key/value/batch/scan) is refused before anything is written.
///
/// All methods are blocking. Call them from a dedicated writer thread or `spawn_blocking`.
pub trait Store: Send + Sync + fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// The trees declared at open, in declaration order.
    fn trees(&self) -> &[String];

    /// The enforced size limits.
    fn limits(&self) -> &Limits;

    /// The value under `key` in `tree`.
    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Up to `limit` pairs of `tree` with keys in `(start, end)`, in `order`.
    /// An empty or inverted range yields no pairs.
    fn scan_range(
        &self,
        tree: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        limit: usize,
        order: ScanOrder,
    ) -> Result<Vec<KvPair>>;

    /// Up to `limit` pairs of `tree` whose keys start with `prefix`, in `order`.
    fn scan_prefix(
        &self,
        tree: &str,
        prefix: &[u8],
        limit: usize,
        order: ScanOrder,
    ) -> Result<Vec<KvPair>> {
        let upper = prefix_successor(prefix);
        let end = match &upper {
            Some(u) => Bound::Excluded(u.as_slice()),
            None => Bound::Unbounded,
        };
        self.scan_range(tree, Bound::Included(prefix), end, limit, order)
    }

    /// Commit one batch atomically; durable when this returns `Ok`.
    fn commit(&self, batch: WriteBatch) -> Result<()> {
        self.commit_group(std::slice::from_ref(&batch))
    }

    /// Commit several batches, in order, as one atomic transaction with one fsync; durable when this
    /// returns `Ok`. Each batch is validated first: if any is invalid nothing is written.
    fn commit_group(&self, batches: &[WriteBatch]) -> Result<()>;

    /// Whether the last commit failed in the backend, and why. Cheap: does no I/O.
    /// Refused invalid batches (limits, unknown trees) do not count as failures.
    fn health(&self) -> StoreHealth {
        StoreHealth::Healthy
    }
}

/// The smallest byte string greater than every string that starts with `prefix`, or `None` when
/// there is none (empty prefix or all `0xff`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut upper = prefix.to_vec();
    while let Some(last) = upper.pop() {
        if last < u8::MAX {
            upper.push(last + 1);
            return Some(upper);
        }
    }
    None
}

/// Whether `(start, end)` contains no key at all (inverted or empty range).
pub(crate) fn range_is_empty(start: Bound<&[u8]>, end: Bound<&[u8]>) -> bool {
    match (start, end) {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e))
        | (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
        _ => false,
    }
}

/// Check a scan limit against the configured maximum.
pub(crate) fn check_scan_limit(limits: &Limits, limit: usize) -> Result<()> {
    if limit > limits.max_scan_items {
        return Err(StoreError::ScanLimitTooLarge {
            requested: limit,
            limit: limits.max_scan_items,
        });
    }
    Ok(())
}

/// Index of `tree` among the declared trees.
pub(crate) fn tree_index(trees: &[String], tree: &str) -> Result<usize> {
    trees
        .iter()
        .position(|t| t == tree)
        .ok_or_else(|| StoreError::UnknownTree(tree.to_owned()))
}

/// Check declared tree names: non-empty, at most 64 bytes, no duplicates, not the reserved `__` prefix.
pub(crate) fn validate_tree_names(trees: &[&str]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(trees.len());
    for &name in trees {
        let reason = if name.is_empty() {
            Some("empty")
        } else if name.len() > 64 {
            Some("longer than 64 bytes")
        } else if name.starts_with("__") {
            Some("names starting with `__` are reserved")
        } else if out.iter().any(|t| t == name) {
            Some("declared twice")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(StoreError::InvalidTreeName {
                name: name.to_owned(),
                reason,
            });
        }
        out.push(name.to_owned());
    }
    if out.is_empty() {
        return Err(StoreError::Config(
            "at least one tree must be declared".into(),
        ));
    }
    Ok(out)
}

/// Validate a batch against the declared trees and limits; nothing is written if this fails.
pub(crate) fn validate_batch(trees: &[String], limits: &Limits, batch: &WriteBatch) -> Result<()> {
    if batch.len() > limits.max_batch_ops {
        return Err(StoreError::BatchTooLarge {
            ops: batch.len(),
            limit: limits.max_batch_ops,
        });
    }
    for op in batch.ops() {
        tree_index(trees, op.tree())?;
        if op.key().len() > limits.max_key_bytes {
            return Err(StoreError::KeyTooLarge {
                len: op.key().len(),
                limit: limits.max_key_bytes,
            });
        }
        if let Op::Put { value, .. } = op {
            if value.len() > limits.max_value_bytes {
                return Err(StoreError::ValueTooLarge {
                    len: value.len(),
                    limit: limits.max_value_bytes,
                });
            }
        }
    }
    Ok(())
}

/// Run `f`, turning a panic inside the backend into [`StoreError::Panicked`].
pub(crate) fn contain_panic<T>(backend: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let detail = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_owned()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "non-string panic payload".to_owned()
            };
            Err(StoreError::Panicked { backend, detail })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_successor_increments_the_last_byte_below_0xff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xff, 0xff]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xff, 0xff]), None);
        assert_eq!(prefix_successor(b""), None);
    }

    #[test]
    fn inverted_and_empty_ranges_are_recognised() {
        use Bound::*;
        assert!(range_is_empty(Included(b"b"), Included(b"a")));
        assert!(range_is_empty(Excluded(b"a"), Included(b"a")));
        assert!(range_is_empty(Included(b"a"), Excluded(b"a")));
        assert!(!range_is_empty(Included(b"a"), Included(b"a")));
        assert!(!range_is_empty(Unbounded, Excluded(b"")));
    }
}
