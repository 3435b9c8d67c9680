//! Upgrading a layout-1 store (hubs before the engine) to layout 2 at its first open.
//!
//! - `tasks`: task records gain status and progress; a hub task of layout 1 is open unless it
//!   was cancelled (layout 1 did not know when nodes finished tasks).
//! - `quarantine`: whole payloads become digest + first bytes.
//! - `reservations`: keyed by (node, sku, order) instead of (order, node, sku).
//! - `kpi_events`: stores from before the KPI window get it built from their events.
//!
//! Each tree is rewritten in its own commit and the rewrites can run again (a record already in
//! layout 2 is left alone), except the re-keying of reservations, which commits together with
//! the layout mark.

use super::layout::{self as l, decode, encode, read_u64, u64_key};
use super::load::{for_each, meta};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use stockpost_common::domain::{Dec, DocRef, Event, NodeId, OrderRef, Sku};
use stockpost_common::tasks::{LineProgress, TaskKind, TaskSpec, TaskStatus};
use stockpost_engine::kpi::{counts_for_kpis, KPI_EVENTS};
use stockpost_engine::quarantine::HEAD_BYTES;
use stockpost_engine::records::{
    HubTask, QuarantineKind, QuarantineRecord, StoredEvent, TaskOrigin,
};
use stockpost_engine::repo::RepoError;
use stockpost_store::{Store, WriteBatch};

fn storage(e: impl std::fmt::Display) -> RepoError {
    RepoError::Storage(e.to_string())
}

/// A task as layout 1 kept it.
#[derive(Debug, Serialize, Deserialize)]
struct TaskV1 {
    node: NodeId,
    kind: TaskKind,
    order: Option<OrderRef>,
    doc: Option<DocRef>,
    created_ms: i64,
    cancelled: bool,
    spec: TaskSpec,
}

/// A quarantined message as layout 1 kept it.
#[derive(Debug, Serialize, Deserialize)]
struct QuarantinedV1 {
    node: Option<String>,
    seq: Option<u64>,
    reason: String,
    at_ms: i64,
    raw: Vec<u8>,
}

/// Brings `store` to the current layout; a no-op when it is there already.
pub fn migrate(store: &dyn Store) -> Result<(), RepoError> {
    if meta(store, l::LAYOUT_KEY)?.is_some_and(|v| v >= l::LAYOUT) {
        return Ok(());
    }
    rewrite(store, l::TASKS, |v| {
        if decode::<HubTask>(l::TASKS, v).is_ok() {
            return Ok(None);
        }
        let old: TaskV1 = decode(l::TASKS, v)?;
        let _ = (old.kind, &old.order, &old.doc);
        let task = HubTask {
            node: old.node,
            lines: vec![LineProgress::default(); old.spec.slots()],
            spec: old.spec,
            origin: TaskOrigin::Hub,
            status: if old.cancelled {
                TaskStatus::Cancelled
            } else {
                TaskStatus::Open
            },
            spawned: 0,
            created_ms: old.created_ms,
        };
        encode(l::TASKS, &task).map(Some)
    })?;
    rewrite(store, l::QUARANTINE, |v| {
        if decode::<QuarantineRecord>(l::QUARANTINE, v).is_ok() {
            return Ok(None);
        }
        let old: QuarantinedV1 = decode(l::QUARANTINE, v)?;
        let record = QuarantineRecord {
            kind: QuarantineKind::Poison,
            digest: Sha256::digest(&old.raw).into(),
            head: old.raw.iter().take(HEAD_BYTES).copied().collect(),
            len: old.raw.len() as u64,
            reason: old.reason,
            node: old.node.and_then(|n| NodeId::new(n).ok()),
            seq: old.seq,
            first_seen_ms: old.at_ms,
            last_seen_ms: old.at_ms,
            count: 1,
            exception: None,
        };
        encode(l::QUARANTINE, &record).map(Some)
    })?;
    let mut batch = WriteBatch::new();
    rekey_reservations(store, &mut batch)?;
    if meta(store, l::KPI_WINDOW_KEY)?.is_none() {
        kpi_window(store, &mut batch)?;
    }
    batch.put(l::META, l::LAYOUT_KEY.to_vec(), u64_key(l::LAYOUT));
    store.commit(batch).map_err(storage)?;
    let mut nodes_seen = 0u64;
    for_each(store, l::APPLIED, |_, _| {
        nodes_seen += 1;
        Ok(())
    })?;
    if nodes_seen > 0 {
        tracing::info!(
            layout = l::LAYOUT,
            "the hub store was upgraded to layout {} (docs/operations.md, Upgrade)",
            l::LAYOUT
        );
    }
    Ok(())
}

/// Replaces each value of `tree` that `convert` converts.
fn rewrite(
    store: &dyn Store,
    tree: &'static str,
    convert: impl Fn(&[u8]) -> Result<Option<Vec<u8>>, RepoError>,
) -> Result<(), RepoError> {
    let mut batch = WriteBatch::new();
    for_each(store, tree, |k, v| {
        if let Some(new) = convert(v)? {
            batch.put(tree, k.to_vec(), new);
        }
        Ok(())
    })?;
    if batch.is_empty() {
        return Ok(());
    }
    store.commit(batch).map_err(storage)
}

fn rekey_reservations(store: &dyn Store, batch: &mut WriteBatch) -> Result<(), RepoError> {
    for_each(store, l::RESERVATIONS, |k, v| {
        let (order, node, sku): (OrderRef, NodeId, Sku) = decode(l::RESERVATIONS, k)?;
        let qty: Dec = decode(l::RESERVATIONS, v)?;
        batch.delete(l::RESERVATIONS, k.to_vec());
        batch.put(
            l::RESERVATIONS,
            encode(l::RESERVATIONS, &(&node, &sku, &order))?,
            encode(l::RESERVATIONS, &qty)?,
        );
        Ok(())
    })
}

/// Builds the KPI window from every stored event (a store from before it was kept).
fn kpi_window(store: &dyn Store, batch: &mut WriteBatch) -> Result<(), RepoError> {
    let mut window: std::collections::VecDeque<Event> = Default::default();
    for_each(store, l::EVENTS, |_, v| {
        let e: StoredEvent = decode(l::EVENTS, v)?;
        if counts_for_kpis(&e.event.body) {
            if window.len() >= KPI_EVENTS {
                window.pop_front();
            }
            window.push_back(e.event);
        }
        Ok(())
    })?;
    for (key, event) in (0u64..).zip(window.iter()) {
        batch.put(l::KPI_EVENTS, u64_key(key), encode(l::KPI_EVENTS, event)?);
    }
    batch.put(l::META, l::KPI_WINDOW_KEY.to_vec(), u64_key(1));
    let _ = read_u64;
    Ok(())
}
