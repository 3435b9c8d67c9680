//! [`Indexed`]: a [`Journaled`] table with a secondary index kept in step with every write, and
//! rolled back with it. The index is derived from the rows (a backend rebuilds it when it
//! loads them), never stored on its own.

use super::journaled::Journaled;
use super::{RepoResult, Table};
use std::ops::Bound;
use std::sync::Arc;

/// A table with a secondary index. `index_of` gives the index entries of a row.
#[derive(Debug, Clone)]
pub struct Indexed<K: Ord + Clone, V, I: Ord + Clone> {
    rows: Journaled<K, V>,
    index: Journaled<I, ()>,
    index_of: fn(&K, &V) -> Vec<I>,
}

impl<K: Ord + Clone, V, I: Ord + Clone> Indexed<K, V, I> {
    /// A table holding `rows`, its index built from them.
    pub fn from_rows(
        rows: impl IntoIterator<Item = (K, V)>,
        index_of: fn(&K, &V) -> Vec<I>,
    ) -> Self {
        let rows = Journaled::from_rows(rows);
        let mut entries = Vec::new();
        for (k, v) in rows.range(Bound::Unbounded, Bound::Unbounded) {
            entries.extend(index_of(k, v).into_iter().map(|i| (i, ())));
        }
        Self {
            rows,
            index: Journaled::from_rows(entries),
            index_of,
        }
    }

    /// The rows.
    pub fn rows(&self) -> &Journaled<K, V> {
        &self.rows
    }

    /// The rows, for the backend's commit bookkeeping.
    pub fn rows_mut(&mut self) -> &mut Journaled<K, V> {
        &mut self.rows
    }

    /// The index entries in a range, in order.
    pub fn index_range<'a>(
        &'a self,
        from: Bound<&'a I>,
        to: Bound<&'a I>,
    ) -> impl DoubleEndedIterator<Item = &'a I> + 'a {
        self.index.range(from, to).map(|(i, _)| i)
    }

    /// A shared copy of the index, for readers.
    pub fn index_snapshot(&self) -> imbl::OrdMap<I, Arc<()>> {
        self.index.snapshot()
    }

    /// Undo positions of rows and index.
    pub fn mark(&self) -> (usize, usize) {
        (self.rows.mark(), self.index.mark())
    }

    /// Undoes every write since `mark`.
    pub fn rollback_to(&mut self, mark: (usize, usize)) {
        self.rows.rollback_to(mark.0);
        self.index.rollback_to(mark.1);
    }

    /// Drops the index's change bookkeeping (it is never stored).
    pub fn settle_index(&mut self) {
        self.index.forget_changes();
    }

    fn write(&mut self, key: K, value: Option<Arc<V>>) {
        if let Some(new) = &value {
            for i in (self.index_of)(&key, new) {
                self.index.set(i, Some(Arc::new(())));
            }
        }
        let old = self.rows.set(key.clone(), value.clone());
        if let Some(old) = old {
            let keep = value
                .as_ref()
                .map(|v| (self.index_of)(&key, v))
                .unwrap_or_default();
            for i in (self.index_of)(&key, &old) {
                if !keep.contains(&i) {
                    self.index.set(i, None);
                }
            }
        }
    }
}

impl<K: Ord + Clone, V, I: Ord + Clone> Table<K, V> for Indexed<K, V, I> {
    fn get(&self, key: &K) -> RepoResult<Option<Arc<V>>> {
        self.rows.get(key)
    }

    fn put(&mut self, key: K, value: V) -> RepoResult<()> {
        self.write(key, Some(Arc::new(value)));
        Ok(())
    }

    fn remove(&mut self, key: &K) -> RepoResult<()> {
        if self.rows.row(key).is_some() {
            self.write(key.clone(), None);
        }
        Ok(())
    }

    fn scan(&self, after: Option<&K>, limit: usize) -> RepoResult<Vec<(K, Arc<V>)>> {
        self.rows.scan(after, limit)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn evens(k: &u32, v: &u32) -> Vec<(u32, u32)> {
        if v % 2 == 0 {
            vec![(*v, *k)]
        } else {
            Vec::new()
        }
    }

    fn entries(t: &Indexed<u32, u32, (u32, u32)>) -> Vec<(u32, u32)> {
        t.index_range(Bound::Unbounded, Bound::Unbounded)
            .copied()
            .collect()
    }

    #[test]
    fn the_index_follows_every_write_and_every_rollback() {
        let mut t = Indexed::from_rows([(1, 2), (2, 3)], evens);
        assert_eq!(entries(&t), vec![(2, 1)]);
        let mark = t.mark();
        t.put(2, 4).unwrap();
        t.put(1, 5).unwrap();
        assert_eq!(entries(&t), vec![(4, 2)]);
        t.remove(&2).unwrap();
        assert!(entries(&t).is_empty());
        t.rollback_to(mark);
        assert_eq!(entries(&t), vec![(2, 1)]);
        assert_eq!(t.get(&2).unwrap().map(|v| *v), Some(3));
    }
}
