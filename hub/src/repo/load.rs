//! Reading the whole working set of the books from the store at start.

use super::layout::{self as l, decode, read_u64, split_node_seq, text_id};
use std::ops::Bound;
use stockpost_common::domain::{
    Dec, DocRef, Event, LocationCode, LocationInfo, NodeId, OrderRef, Sku, TaskId,
};
use stockpost_common::ledger::{Ledger, StockKey, Totals};
use stockpost_engine::records::DownlinkMarks;
use stockpost_engine::repo::books::LoadedBooks;
use stockpost_engine::repo::{Counter, RepoError};
use stockpost_store::{ScanOrder, Store};

const PAGE: usize = 5_000;

fn storage(e: impl std::fmt::Display) -> RepoError {
    RepoError::Storage(e.to_string())
}

/// Calls `f` for every entry of `tree`, in key order.
pub fn for_each(
    store: &dyn Store,
    tree: &'static str,
    mut f: impl FnMut(&[u8], &[u8]) -> Result<(), RepoError>,
) -> Result<(), RepoError> {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let start = match &after {
            Some(k) => Bound::Excluded(k.as_slice()),
            None => Bound::Unbounded,
        };
        let page = store
            .scan_range(tree, start, Bound::Unbounded, PAGE, ScanOrder::Ascending)
            .map_err(storage)?;
        for (k, v) in &page {
            f(k, v)?;
        }
        if page.len() < PAGE {
            return Ok(());
        }
        after = page.last().map(|(k, _)| k.clone());
    }
}

/// Every row of a table keyed by an id's text.
fn rows<K, V: serde::de::DeserializeOwned, E: std::fmt::Display>(
    store: &dyn Store,
    tree: &'static str,
    make: fn(String) -> Result<K, E>,
) -> Result<Vec<(K, V)>, RepoError> {
    let mut out = Vec::new();
    for_each(store, tree, |k, v| {
        out.push((text_id(tree, k, make)?, decode(tree, v)?));
        Ok(())
    })?;
    Ok(out)
}

/// Every row of a table keyed by a u64.
fn numbered<V: serde::de::DeserializeOwned>(
    store: &dyn Store,
    tree: &'static str,
) -> Result<Vec<(u64, V)>, RepoError> {
    let mut out = Vec::new();
    for_each(store, tree, |k, v| {
        out.push((read_u64(tree, k)?, decode(tree, v)?));
        Ok(())
    })?;
    Ok(out)
}

/// A counter or mark in `meta`.
pub fn meta(store: &dyn Store, name: &[u8]) -> Result<Option<u64>, RepoError> {
    store
        .get(l::META, name)
        .map_err(storage)?
        .map(|v| read_u64(l::META, &v))
        .transpose()
}

fn ledger(store: &dyn Store) -> Result<Ledger, RepoError> {
    let mut locations = Vec::new();
    for_each(store, l::LOCATIONS, |k, v| {
        let (node, code): (NodeId, LocationCode) = decode(l::LOCATIONS, k)?;
        let info: LocationInfo = decode(l::LOCATIONS, v)?;
        locations.push((node, code, info));
        Ok(())
    })?;
    let mut balances: Vec<(StockKey, Dec)> = Vec::new();
    for_each(store, l::BALANCES, |k, v| {
        balances.push((decode(l::BALANCES, k)?, decode(l::BALANCES, v)?));
        Ok(())
    })?;
    let mut totals = Vec::new();
    for_each(store, l::TOTALS, |k, v| {
        let (n, s): (NodeId, Sku) = decode(l::TOTALS, k)?;
        let t: Totals = decode(l::TOTALS, v)?;
        totals.push((n, s, t));
        Ok(())
    })?;
    let mut applied = Vec::new();
    for_each(store, l::APPLIED, |k, v| {
        applied.push((
            text_id(l::APPLIED, k, NodeId::new)?,
            read_u64(l::APPLIED, v)?,
        ));
        Ok(())
    })?;
    let mut ledger = Ledger::restore(locations, balances, totals, applied);
    for_each(store, l::RESERVATIONS, |k, v| {
        let (node, sku, order): (NodeId, Sku, OrderRef) = decode(l::RESERVATIONS, k)?;
        ledger.restore_reservation(&node, &sku, &order, decode(l::RESERVATIONS, v)?);
        Ok(())
    })?;
    for_each(store, l::HELD, |k, v| {
        let (node, sku, id): (NodeId, Sku, u64) = decode(l::HELD, k)?;
        ledger.hold(&node, &sku, id, decode(l::HELD, v)?);
        Ok(())
    })?;
    Ok(ledger)
}

fn downlink(store: &dyn Store, loaded: &mut LoadedBooks) -> Result<(), RepoError> {
    let mut marks: std::collections::BTreeMap<NodeId, DownlinkMarks> = Default::default();
    for_each(store, l::DOWN_HEAD, |k, v| {
        marks
            .entry(text_id(l::DOWN_HEAD, k, NodeId::new)?)
            .or_default()
            .head = read_u64(l::DOWN_HEAD, v)?;
        Ok(())
    })?;
    for_each(store, l::DOWN_ACKED, |k, v| {
        marks
            .entry(text_id(l::DOWN_ACKED, k, NodeId::new)?)
            .or_default()
            .acked = read_u64(l::DOWN_ACKED, v)?;
        Ok(())
    })?;
    loaded.downlink_marks = marks.into_iter().collect();
    for_each(store, l::DOWNLINK, |k, v| {
        loaded
            .downlink_items
            .push((split_node_seq(l::DOWNLINK, k)?, decode(l::DOWNLINK, v)?));
        Ok(())
    })
}

/// Loads every table (a store of the current layout).
pub fn books(store: &dyn Store) -> Result<LoadedBooks, RepoError> {
    let mut loaded = LoadedBooks {
        ledger: ledger(store)?,
        items: rows(store, l::ITEMS, Sku::new)?,
        nodes: rows(store, l::NODES, NodeId::new)?,
        credentials: rows(store, l::CREDENTIALS, NodeId::new)?,
        orders: rows(store, l::ORDERS, OrderRef::new)?,
        exceptions: numbered(store, l::EXCEPTIONS)?,
        adjustments: numbered(store, l::ADJUSTMENTS)?,
        tasks: rows(store, l::TASKS, TaskId::new)?,
        inbound: rows(store, l::INBOUND, DocRef::new)?,
        returns: rows(store, l::RETURNS, DocRef::new)?,
        quarantine: numbered(store, l::QUARANTINE)?,
        kpi: numbered::<Event>(store, l::KPI_EVENTS)?,
        ..LoadedBooks::default()
    };
    downlink(store, &mut loaded)?;
    for c in Counter::ALL {
        if let Some(next) = meta(store, c.name().as_bytes())? {
            loaded.counters.push((c, next));
        }
    }
    Ok(loaded)
}
