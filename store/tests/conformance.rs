//! One conformance suite for every backend: a model-based property test against an in-memory
//! `BTreeMap` model, plus focused tests of atomicity, limits, ordering and reopening.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use stockpost_store::{
    open_backend, open_store, Backend, GroupCommitter, ScanOrder, Store, StoreConfig, StoreError,
    WriteBatch,
};

const TREES: [&str; 3] = ["alpha", "beta", "gamma"];

type Model = Vec<BTreeMap<Vec<u8>, Vec<u8>>>;

#[derive(Debug, Clone)]
enum BatchOp {
    Put(usize, Vec<u8>, Vec<u8>),
    Delete(usize, Vec<u8>),
}

#[derive(Debug, Clone)]
enum Poison {
    UnknownTree,
    ValueTooLarge,
    KeyTooLarge,
}

#[derive(Debug, Clone)]
enum Action {
    Batch(Vec<BatchOp>),
    InvalidBatch(Vec<BatchOp>, usize, Poison),
    Get(usize, Vec<u8>),
    Prefix(usize, Vec<u8>, usize, ScanOrder),
    Range(usize, Bound<Vec<u8>>, Bound<Vec<u8>>, usize, ScanOrder),
    Reopen,
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![0x00u8, 0x01, 0x7f, 0xfe, 0xff]),
        0..4,
    )
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..8)
}

fn tree() -> impl Strategy<Value = usize> {
    0..TREES.len()
}

fn order() -> impl Strategy<Value = ScanOrder> {
    prop_oneof![Just(ScanOrder::Ascending), Just(ScanOrder::Descending)]
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        key().prop_map(Bound::Included),
        key().prop_map(Bound::Excluded),
        Just(Bound::Unbounded),
    ]
}

fn batch_op() -> impl Strategy<Value = BatchOp> {
    prop_oneof![
        3 => (tree(), key(), value()).prop_map(|(t, k, v)| BatchOp::Put(t, k, v)),
        1 => (tree(), key()).prop_map(|(t, k)| BatchOp::Delete(t, k)),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let poison = prop_oneof![
        Just(Poison::UnknownTree),
        Just(Poison::ValueTooLarge),
        Just(Poison::KeyTooLarge)
    ];
    prop_oneof![
        6 => prop::collection::vec(batch_op(), 1..6).prop_map(Action::Batch),
        1 => (prop::collection::vec(batch_op(), 1..6), any::<usize>(), poison)
            .prop_map(|(ops, at, p)| Action::InvalidBatch(ops, at, p)),
        2 => (tree(), key()).prop_map(|(t, k)| Action::Get(t, k)),
        2 => (tree(), key(), 0usize..6, order()).prop_map(|(t, p, l, o)| Action::Prefix(t, p, l, o)),
        2 => (tree(), bound(), bound(), 0usize..6, order())
            .prop_map(|(t, s, e, l, o)| Action::Range(t, s, e, l, o)),
        1 => Just(Action::Reopen),
    ]
}

fn to_batch(ops: &[BatchOp]) -> WriteBatch {
    let mut b = WriteBatch::new();
    for op in ops {
        match op {
            BatchOp::Put(t, k, v) => b.put(TREES[*t], k.clone(), v.clone()),
            BatchOp::Delete(t, k) => b.delete(TREES[*t], k.clone()),
        };
    }
    b
}

fn apply(model: &mut Model, ops: &[BatchOp]) {
    for op in ops {
        match op {
            BatchOp::Put(t, k, v) => {
                model[*t].insert(k.clone(), v.clone());
            }
            BatchOp::Delete(t, k) => {
                model[*t].remove(k);
            }
        }
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn model_range(
    map: &BTreeMap<Vec<u8>, Vec<u8>>,
    start: Bound<&[u8]>,
    end: Bound<&[u8]>,
    limit: usize,
    order: ScanOrder,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    // BTreeMap::range panics on inverted ranges; the store returns nothing for them.
    let in_range = |k: &[u8]| {
        let lower = match start {
            Bound::Included(s) => k >= s,
            Bound::Excluded(s) => k > s,
            Bound::Unbounded => true,
        };
        let upper = match end {
            Bound::Included(e) => k <= e,
            Bound::Excluded(e) => k < e,
            Bound::Unbounded => true,
        };
        lower && upper
    };
    let items = map
        .iter()
        .filter(|(k, _)| in_range(k))
        .map(|(k, v)| (k.clone(), v.clone()));
    match order {
        ScanOrder::Ascending => items.take(limit).collect(),
        ScanOrder::Descending => {
            let mut all: Vec<_> = items.collect();
            all.reverse();
            all.truncate(limit);
            all
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Flavour {
    Direct,
    Grouped,
}

fn open(cfg: &StoreConfig, flavour: Flavour) -> Box<dyn Store> {
    match flavour {
        Flavour::Direct => {
            let mut cfg = cfg.clone();
            cfg.group_commit.enabled = false;
            open_store(&cfg, &TREES).unwrap()
        }
        Flavour::Grouped => {
            let mut cfg = cfg.clone();
            cfg.group_commit.enabled = true;
            open_store(&cfg, &TREES).unwrap()
        }
    }
}

fn assert_same_contents(store: &dyn Store, model: &Model) {
    for (i, tree) in TREES.iter().enumerate() {
        let all = store
            .scan_range(
                tree,
                Bound::Unbounded,
                Bound::Unbounded,
                100,
                ScanOrder::Ascending,
            )
            .unwrap();
        let expected: Vec<_> = model[i]
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(all, expected, "contents of tree {tree}");
    }
}

fn run_model(backend: Backend, flavour: Flavour, actions: &[Action]) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config(backend, &dir.path().join("store"), false);
    let mut store = open(&cfg, flavour);
    let mut model: Model = vec![BTreeMap::new(); TREES.len()];
    for action in actions {
        match action {
            Action::Batch(ops) => {
                store.commit(to_batch(ops)).unwrap();
                apply(&mut model, ops);
            }
            Action::InvalidBatch(ops, at, poison) => {
                let mut batch = to_batch(ops);
                let mut bad = WriteBatch::new();
                match poison {
                    Poison::UnknownTree => bad.put("no-such-tree", b"k".to_vec(), b"v".to_vec()),
                    Poison::ValueTooLarge => bad.put(TREES[0], b"k".to_vec(), vec![7u8; 33]),
                    Poison::KeyTooLarge => bad.delete(TREES[1], vec![1u8; 17]),
                };
                // Splice the bad op in at a random position.
                let mut ops_all: Vec<_> = batch.ops().to_vec();
                let pos = at % (ops_all.len() + 1);
                ops_all.insert(pos, bad.ops()[0].clone());
                batch = WriteBatch::new();
                for op in ops_all {
                    match op {
                        stockpost_store::Op::Put { tree, key, value } => {
                            batch.put(&tree, key, value)
                        }
                        stockpost_store::Op::Delete { tree, key } => batch.delete(&tree, key),
                    };
                }
                let err = store.commit(batch).unwrap_err();
                assert!(
                    matches!(
                        err,
                        StoreError::UnknownTree(_)
                            | StoreError::ValueTooLarge { .. }
                            | StoreError::KeyTooLarge { .. }
                    ),
                    "unexpected error {err:?}"
                );
                // Nothing of the refused batch is visible, in any tree.
                assert_same_contents(&*store, &model);
            }
            Action::Get(t, k) => {
                assert_eq!(store.get(TREES[*t], k).unwrap(), model[*t].get(k).cloned());
            }
            Action::Prefix(t, p, limit, order) => {
                let got = store.scan_prefix(TREES[*t], p, *limit, *order).unwrap();
                let mut expected: Vec<_> = model[*t]
                    .iter()
                    .filter(|(k, _)| k.starts_with(p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if matches!(order, ScanOrder::Descending) {
                    expected.reverse();
                }
                expected.truncate(*limit);
                assert_eq!(got, expected, "prefix {p:?} limit {limit} {order:?}");
            }
            Action::Range(t, s, e, limit, order) => {
                let got = store
                    .scan_range(TREES[*t], as_ref(s), as_ref(e), *limit, *order)
                    .unwrap();
                let expected = model_range(&model[*t], as_ref(s), as_ref(e), *limit, *order);
                assert_eq!(got, expected, "range {s:?}..{e:?} limit {limit} {order:?}");
            }
            Action::Reopen => {
                drop(store);
                store = open(&cfg, flavour);
                assert_same_contents(&*store, &model);
            }
        }
    }
    assert_same_contents(&*store, &model);
    drop(store);
    let store = open(&cfg, flavour);
    assert_same_contents(&*store, &model);
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sled_behaves_like_an_in_memory_ordered_map(actions in prop::collection::vec(action(), 1..40)) {
        run_model(Backend::Sled, Flavour::Direct, &actions);
    }

    #[test]
    fn redb_behaves_like_an_in_memory_ordered_map(actions in prop::collection::vec(action(), 1..40)) {
        run_model(Backend::Redb, Flavour::Direct, &actions);
    }

    #[test]
    fn sled_behind_group_commit_behaves_like_an_in_memory_ordered_map(
        actions in prop::collection::vec(action(), 1..40)
    ) {
        run_model(Backend::Sled, Flavour::Grouped, &actions);
    }

    #[test]
    fn redb_behind_group_commit_behaves_like_an_in_memory_ordered_map(
        actions in prop::collection::vec(action(), 1..40)
    ) {
        run_model(Backend::Redb, Flavour::Grouped, &actions);
    }
}

fn each_backend(f: impl Fn(Backend, &Path)) {
    for backend in common::BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        f(backend, &dir.path().join("store"));
    }
}

#[test]
fn a_batch_across_trees_is_visible_in_all_of_them_after_reopen() {
    each_backend(|backend, path| {
        let cfg = common::config(backend, path, true);
        {
            let store = open_store(&cfg, &TREES).unwrap();
            let mut b = WriteBatch::new();
            b.put("alpha", 1u64.to_be_bytes(), b"a".to_vec())
                .put("beta", 1u64.to_be_bytes(), b"b".to_vec())
                .put("gamma", 1u64.to_be_bytes(), b"c".to_vec());
            store.commit(b).unwrap();
        }
        let store = open_store(&cfg, &TREES).unwrap();
        for (tree, v) in [("alpha", b"a"), ("beta", b"b"), ("gamma", b"c")] {
            assert_eq!(
                store.get(tree, &1u64.to_be_bytes()).unwrap(),
                Some(v.to_vec()),
                "{backend}"
            );
        }
    });
}

#[test]
fn big_endian_keys_scan_in_numeric_order_with_a_limit() {
    each_backend(|backend, path| {
        let store = open_store(&common::config(backend, path, false), &TREES).unwrap();
        let mut b = WriteBatch::new();
        for n in [300u64, 2, 70_000, 1, 256, 255] {
            b.put("alpha", n.to_be_bytes(), n.to_string().into_bytes());
        }
        store.commit(b).unwrap();
        let keys = |order| -> Vec<u64> {
            store
                .scan_range("alpha", Bound::Unbounded, Bound::Unbounded, 4, order)
                .unwrap()
                .into_iter()
                .map(|(k, _)| u64::from_be_bytes(k.try_into().unwrap()))
                .collect()
        };
        assert_eq!(
            keys(ScanOrder::Ascending),
            vec![1, 2, 255, 256],
            "{backend}"
        );
        assert_eq!(
            keys(ScanOrder::Descending),
            vec![70_000, 300, 256, 255],
            "{backend}"
        );
        let from = 256u64.to_be_bytes();
        let got = store
            .scan_range(
                "alpha",
                Bound::Excluded(&from[..]),
                Bound::Unbounded,
                10,
                ScanOrder::Ascending,
            )
            .unwrap();
        assert_eq!(got.len(), 2, "{backend}");
    });
}

#[test]
fn an_inverted_range_returns_nothing_instead_of_panicking() {
    each_backend(|backend, path| {
        let store = open_store(&common::config(backend, path, false), &TREES).unwrap();
        let mut b = WriteBatch::new();
        b.put("alpha", b"m".to_vec(), b"1".to_vec());
        store.commit(b).unwrap();
        let got = store
            .scan_range(
                "alpha",
                Bound::Included(b"z"),
                Bound::Excluded(b"a"),
                10,
                ScanOrder::Ascending,
            )
            .unwrap();
        assert!(got.is_empty(), "{backend}");
        let got = store
            .scan_range(
                "alpha",
                Bound::Excluded(b"m"),
                Bound::Included(b"m"),
                10,
                ScanOrder::Descending,
            )
            .unwrap();
        assert!(got.is_empty(), "{backend}");
    });
}

#[test]
fn an_undeclared_tree_and_an_oversized_scan_are_refused_with_clear_errors() {
    each_backend(|backend, path| {
        let store = open_store(&common::config(backend, path, false), &TREES).unwrap();
        assert!(
            matches!(store.get("nope", b"k"), Err(StoreError::UnknownTree(_))),
            "{backend}"
        );
        let err = store
            .scan_prefix("alpha", b"", 101, ScanOrder::Ascending)
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::ScanLimitTooLarge {
                    requested: 101,
                    limit: 100
                }
            ),
            "{backend}"
        );
        let mut b = WriteBatch::new();
        for i in 0..65u32 {
            b.put("alpha", i.to_be_bytes(), b"x".to_vec());
        }
        assert!(
            matches!(
                store.commit(b),
                Err(StoreError::BatchTooLarge { ops: 65, limit: 64 })
            ),
            "{backend}"
        );
        assert!(store
            .scan_prefix("alpha", b"", 100, ScanOrder::Ascending)
            .unwrap()
            .is_empty());
    });
}

#[test]
fn tree_names_that_are_empty_duplicated_or_reserved_are_refused_at_open() {
    each_backend(|backend, path| {
        let cfg = common::config(backend, path, false);
        for bad in [&["a", "a"][..], &[""][..], &["__meta"][..], &[][..]] {
            let err = open_backend(&cfg, bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    StoreError::InvalidTreeName { .. } | StoreError::Config(_)
                ),
                "{backend}: {err:?}"
            );
        }
    });
}

#[test]
fn concurrent_writers_through_group_commit_each_get_all_or_nothing_and_share_fsyncs() {
    for backend in common::BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let cfg = common::config(backend, &dir.path().join("store"), false);
        let inner = open_backend(&cfg, &TREES).unwrap();
        let mut gc = cfg.group_commit.clone();
        gc.max_batch = 16;
        gc.max_wait_micros = 200;
        let committer = Arc::new(GroupCommitter::new(inner, gc).unwrap());
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let c = Arc::clone(&committer);
                std::thread::spawn(move || {
                    for i in 0..25u64 {
                        let id = (t << 32 | i).to_be_bytes();
                        let mut b = WriteBatch::new();
                        for tree in TREES {
                            b.put(tree, id, id);
                        }
                        c.commit(b).unwrap();
                        // Durable and visible once commit returns.
                        assert_eq!(c.get("gamma", &id).unwrap(), Some(id.to_vec()));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for tree in TREES {
            let n = committer
                .scan_prefix(tree, b"", 100, ScanOrder::Ascending)
                .unwrap()
                .len()
                + committer
                    .scan_range(
                        tree,
                        Bound::Excluded(&[0u8, 0, 0, 3, 0xff, 0xff, 0xff, 0xff][..]),
                        Bound::Unbounded,
                        100,
                        ScanOrder::Ascending,
                    )
                    .unwrap()
                    .len();
            assert_eq!(n, 200, "{backend} tree {tree}");
        }
        let stats = committer.stats();
        assert_eq!(stats.requests, 200, "{backend}");
        assert!(
            stats.groups < stats.requests,
            "{backend}: no grouping happened: {stats:?}"
        );
        assert_eq!(stats.fallbacks, 0, "{backend}");
    }
}

#[test]
fn an_invalid_batch_sent_to_group_commit_fails_alone() {
    for backend in common::BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(
            &common::config(backend, &dir.path().join("store"), true),
            &TREES,
        )
        .unwrap();
        let mut bad = WriteBatch::new();
        bad.put("alpha", b"k".to_vec(), b"v".to_vec())
            .put("nope", b"k".to_vec(), b"v".to_vec());
        assert!(
            matches!(store.commit(bad), Err(StoreError::UnknownTree(_))),
            "{backend}"
        );
        let mut good = WriteBatch::new();
        good.put("alpha", b"k2".to_vec(), b"v".to_vec());
        store.commit(good).unwrap();
        assert_eq!(store.get("alpha", b"k").unwrap(), None, "{backend}");
        assert_eq!(
            store.get("alpha", b"k2").unwrap(),
            Some(b"v".to_vec()),
            "{backend}"
        );
    }
}

#[test]
fn the_config_deserializes_from_the_documented_shape_and_rejects_unknown_fields() {
    let cfg: StoreConfig = serde_json::from_str(
        r#"{"backend":"redb","path":"/var/lib/stockpost/store",
            "sled":{"cache_bytes":33554432,"mode":"high_throughput"},
            "group_commit":{"max_batch":32,"max_wait_micros":250}}"#,
    )
    .unwrap();
    assert_eq!(cfg.backend, Backend::Redb);
    assert_eq!(cfg.sled.cache_bytes, 33_554_432);
    assert_eq!(cfg.group_commit.max_batch, 32);
    assert_eq!(cfg.group_commit.queue_capacity, 256);
    assert!(cfg.validate().is_ok());
    assert!(serde_json::from_str::<StoreConfig>(r#"{"backend":"lmdb"}"#).is_err());
    assert!(serde_json::from_str::<StoreConfig>(r#"{"cache":1}"#).is_err());
}

#[test]
fn the_default_backend_is_redb_with_group_commit_and_explicit_bounds() {
    let cfg = StoreConfig::default();
    assert_eq!(cfg.backend, Backend::Redb);
    assert!(cfg.group_commit.enabled);
    assert!(cfg.redb.check_integrity_on_open);
    assert!(cfg.validate().is_ok());
}
