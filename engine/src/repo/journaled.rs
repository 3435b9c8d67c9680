//! [`Journaled`]: a table kept in memory as a persistent ordered map (cloning it for readers is
//! O(1), the writer's next change copies only the path it touches) with an undo log for
//! rollbacks and the set of keys changed since the last commit.

use super::{RepoResult, Table};
use imbl::OrdMap;
use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

/// One table in memory. See the module docs.
#[derive(Debug, Clone)]
pub struct Journaled<K: Ord + Clone, V> {
    map: OrdMap<K, Arc<V>>,
    undo: Vec<(K, Option<Arc<V>>)>,
    dirty: BTreeSet<K>,
}

impl<K: Ord + Clone, V> Default for Journaled<K, V> {
    fn default() -> Self {
        Self {
            map: OrdMap::new(),
            undo: Vec::new(),
            dirty: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone, V> Journaled<K, V> {
    /// A table holding `rows` (as loaded; nothing dirty).
    pub fn from_rows(rows: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            map: rows.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            undo: Vec::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// The row under `key`.
    pub fn row(&self, key: &K) -> Option<&Arc<V>> {
        self.map.get(key)
    }

    /// Writes a row; returns the one it replaced.
    pub fn set(&mut self, key: K, value: Option<Arc<V>>) -> Option<Arc<V>> {
        let old = match value {
            Some(v) => self.map.insert(key.clone(), v),
            None => self.map.remove(&key),
        };
        self.undo.push((key.clone(), old.clone()));
        self.dirty.insert(key);
        old
    }

    /// The current undo position.
    pub fn mark(&self) -> usize {
        self.undo.len()
    }

    /// Undoes every write since `mark`.
    pub fn rollback_to(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let Some((key, old)) = self.undo.pop() else {
                break;
            };
            match old {
                Some(v) => {
                    self.map.insert(key, v);
                }
                None => {
                    self.map.remove(&key);
                }
            }
        }
    }

    /// The keys changed since the last call, with their current rows (`None`: deleted); the
    /// undo log is dropped (the changes are durable now).
    pub fn take_changes(&mut self) -> Vec<(K, Option<Arc<V>>)> {
        self.undo.clear();
        let dirty = std::mem::take(&mut self.dirty);
        dirty
            .into_iter()
            .map(|k| {
                let v = self.map.get(&k).cloned();
                (k, v)
            })
            .collect()
    }

    /// The keys changed since the last settle.
    pub fn dirty_keys(&self) -> impl Iterator<Item = &K> {
        self.dirty.iter()
    }

    /// Forgets the changed keys without a commit (after a rollback of the whole round).
    pub fn forget_changes(&mut self) {
        self.undo.clear();
        self.dirty.clear();
    }

    /// A shared copy of the rows, for readers.
    pub fn snapshot(&self) -> OrdMap<K, Arc<V>> {
        self.map.clone()
    }

    /// Rows in a key range.
    pub fn range<'a>(
        &'a self,
        from: Bound<&'a K>,
        to: Bound<&'a K>,
    ) -> impl DoubleEndedIterator<Item = (&'a K, &'a Arc<V>)> + 'a {
        self.map.range::<(Bound<&K>, Bound<&K>), K>((from, to))
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: Ord + Clone, V> Table<K, V> for Journaled<K, V> {
    fn get(&self, key: &K) -> RepoResult<Option<Arc<V>>> {
        Ok(self.map.get(key).cloned())
    }

    fn put(&mut self, key: K, value: V) -> RepoResult<()> {
        self.set(key, Some(Arc::new(value)));
        Ok(())
    }

    fn remove(&mut self, key: &K) -> RepoResult<()> {
        if self.map.contains_key(key) {
            self.set(key.clone(), None);
        }
        Ok(())
    }

    fn scan(&self, after: Option<&K>, limit: usize) -> RepoResult<Vec<(K, Arc<V>)>> {
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(self
            .map
            .range::<(Bound<&K>, Bound<&K>), K>((from, Bound::Unbounded))
            .take(limit)
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_rollback_restores_rows_written_and_removed_after_the_mark() {
        let mut t: Journaled<u32, String> = Journaled::from_rows([(1, "a".to_string())]);
        let mark = t.mark();
        t.put(1, "b".into()).unwrap();
        t.put(2, "c".into()).unwrap();
        t.remove(&1).unwrap();
        t.rollback_to(mark);
        assert_eq!(t.get(&1).unwrap().as_deref().map(String::as_str), Some("a"));
        assert_eq!(t.get(&2).unwrap(), None);
    }

    #[test]
    fn a_snapshot_does_not_see_later_writes() {
        let mut t: Journaled<u32, u32> = Journaled::default();
        t.put(1, 1).unwrap();
        let snap = t.snapshot();
        t.put(1, 2).unwrap();
        assert_eq!(snap.get(&1).map(|v| **v), Some(1));
        assert_eq!(t.get(&1).unwrap().map(|v| *v), Some(2));
    }

    #[test]
    fn the_changes_name_each_key_once_with_its_current_row() {
        let mut t: Journaled<u32, u32> = Journaled::default();
        t.put(1, 1).unwrap();
        t.put(1, 2).unwrap();
        t.put(3, 3).unwrap();
        t.remove(&3).unwrap();
        let changes: Vec<(u32, Option<u32>)> = t
            .take_changes()
            .into_iter()
            .map(|(k, v)| (k, v.map(|v| *v)))
            .collect();
        assert_eq!(changes, vec![(1, Some(2)), (3, None)]);
        assert!(t.take_changes().is_empty());
    }
}
