//! The atomic unit of writing: a [`WriteBatch`] of puts and deletes across trees.

/// One write inside a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Insert or overwrite `key` in `tree` with `value`.
    Put {
        /// Tree name (declared at open).
        tree: String,
        /// Key bytes (big-endian encodings sort numerically).
        key: Vec<u8>,
        /// Value bytes.
        value: Vec<u8>,
    },
    /// Remove `key` from `tree` (no error if absent).
    Delete {
        /// Tree name (declared at open).
        tree: String,
        /// Key bytes.
        key: Vec<u8>,
    },
}

impl Op {
    /// The tree this operation writes to.
    pub fn tree(&self) -> &str {
        match self {
            Op::Put { tree, .. } | Op::Delete { tree, .. } => tree,
        }
    }

    /// The key this operation writes.
    pub fn key(&self) -> &[u8] {
        match self {
            Op::Put { key, .. } | Op::Delete { key, .. } => key,
        }
    }
}

/// An ordered list of puts and deletes, possibly across several trees, committed all-or-nothing.
///
/// Operations apply in order: a later write to the same key wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<Op>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a put.
    pub fn put(
        &mut self,
        tree: &str,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> &mut Self {
        self.ops.push(Op::Put {
            tree: tree.to_owned(),
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Add a delete.
    pub fn delete(&mut self, tree: &str, key: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(Op::Delete {
            tree: tree.to_owned(),
            key: key.into(),
        });
        self
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch has no operations.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
