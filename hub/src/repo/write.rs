//! One round's changes as one write batch (layout.rs).

use super::layout::{self as l, encode, encode_json, node_seq, u64_key};
use crate::dto::webhooks::{StoredDeadLetter, StoredDelivery};
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use stockpost_common::domain::NodeId;
use stockpost_engine::repo::books::Round;
use stockpost_engine::repo::RepoError;
use stockpost_store::{ScanOrder, Store, WriteBatch};

/// The most dead letters kept (the oldest is dropped).
pub const MAX_DEAD_LETTERS: usize = 1_000;

fn storage(e: impl std::fmt::Display) -> RepoError {
    RepoError::Storage(e.to_string())
}

fn put_or_delete<V: serde::Serialize>(
    batch: &mut WriteBatch,
    tree: &'static str,
    key: Vec<u8>,
    value: Option<&Arc<V>>,
) -> Result<(), RepoError> {
    match value {
        Some(v) => {
            batch.put(tree, key, encode(tree, &**v)?);
        }
        None => {
            batch.delete(tree, key);
        }
    }
    Ok(())
}

/// Everything `round` changed, into `batch`. `dead` is the ids of the stored dead letters,
/// oldest first; it is updated as the batch will leave them.
pub fn round_batch(
    store: &dyn Store,
    round: &Round<'_>,
    dead: &mut VecDeque<u64>,
) -> Result<WriteBatch, RepoError> {
    let mut batch = WriteBatch::new();
    stock(store, round, &mut batch)?;
    tables(round, &mut batch)?;
    logs(store, round, &mut batch, dead)?;
    Ok(batch)
}

fn stock(store: &dyn Store, round: &Round<'_>, batch: &mut WriteBatch) -> Result<(), RepoError> {
    let ledger = round.books.ledger();
    let c = &round.ledger;
    for key in &c.balances {
        let qty = ledger.balance(key);
        if qty.is_zero() {
            batch.delete(l::BALANCES, encode(l::BALANCES, key)?);
        } else {
            batch.put(
                l::BALANCES,
                encode(l::BALANCES, key)?,
                encode(l::BALANCES, &qty)?,
            );
        }
    }
    for (node, sku) in &c.totals {
        let t = ledger.totals(node, sku);
        batch.put(
            l::TOTALS,
            encode(l::TOTALS, &(node, sku))?,
            encode(l::TOTALS, &t)?,
        );
    }
    for (node, code) in &c.locations {
        if let Some(info) = ledger.location(node, code) {
            batch.put(
                l::LOCATIONS,
                encode(l::LOCATIONS, &(node, code))?,
                encode(l::LOCATIONS, info)?,
            );
        }
    }
    for node in &c.applied {
        batch.put(
            l::APPLIED,
            node.as_str().as_bytes().to_vec(),
            u64_key(ledger.applied_seq(node)),
        );
    }
    for (node, sku) in &c.reservations {
        let now: Vec<(Vec<u8>, Vec<u8>)> = ledger
            .reservations_of(node, sku)
            .into_iter()
            .map(|(order, q)| {
                Ok((
                    encode(l::RESERVATIONS, &(node, sku, &order))?,
                    encode(l::RESERVATIONS, &q)?,
                ))
            })
            .collect::<Result<_, RepoError>>()?;
        replace_prefix(
            store,
            batch,
            l::RESERVATIONS,
            &encode(l::RESERVATIONS, &(node, sku))?,
            now,
        )?;
    }
    for (node, sku) in &c.held {
        let now: Vec<(Vec<u8>, Vec<u8>)> = ledger
            .holds(node, sku)
            .into_iter()
            .map(|(id, q)| Ok((encode(l::HELD, &(node, sku, id))?, encode(l::HELD, &q)?)))
            .collect::<Result<_, RepoError>>()?;
        replace_prefix(store, batch, l::HELD, &encode(l::HELD, &(node, sku))?, now)?;
    }
    Ok(())
}

/// Makes the keys under `prefix` exactly `now`.
fn replace_prefix(
    store: &dyn Store,
    batch: &mut WriteBatch,
    tree: &'static str,
    prefix: &[u8],
    now: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<(), RepoError> {
    let keep: BTreeSet<&Vec<u8>> = now.iter().map(|(k, _)| k).collect();
    let limit = store.limits().max_scan_items;
    for (k, _) in store
        .scan_prefix(tree, prefix, limit, ScanOrder::Ascending)
        .map_err(storage)?
    {
        if !keep.contains(&k) {
            batch.delete(tree, k);
        }
    }
    for (k, v) in now {
        batch.put(tree, k, v);
    }
    Ok(())
}

fn text(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn tables(round: &Round<'_>, batch: &mut WriteBatch) -> Result<(), RepoError> {
    for (k, v) in &round.items {
        put_or_delete(batch, l::ITEMS, text(k.as_str()), v.as_ref())?;
    }
    for (k, v) in &round.nodes {
        put_or_delete(batch, l::NODES, text(k.as_str()), v.as_ref())?;
    }
    for (k, v) in &round.credentials {
        put_or_delete(batch, l::CREDENTIALS, text(k.as_str()), v.as_ref())?;
    }
    for (k, v) in &round.orders {
        put_or_delete(batch, l::ORDERS, text(k.as_str()), v.as_ref())?;
    }
    for (k, v) in &round.exceptions {
        put_or_delete(batch, l::EXCEPTIONS, u64_key(*k), v.as_ref())?;
    }
    for (k, v) in &round.adjustments {
        put_or_delete(batch, l::ADJUSTMENTS, u64_key(*k), v.as_ref())?;
    }
    for (k, v) in &round.tasks {
        put_or_delete(batch, l::TASKS, text(k.as_str()), v.as_ref())?;
    }
    for (k, v) in &round.inbound {
        put_or_delete(batch, l::INBOUND, text(k.as_str()), v.as_ref())?;
    }
    for (k, v) in &round.returns {
        put_or_delete(batch, l::RETURNS, text(k.as_str()), v.as_ref())?;
    }
    for ((node, seq), v) in &round.downlink_items {
        put_or_delete(batch, l::DOWNLINK, node_seq(node, *seq), v.as_ref())?;
    }
    for (node, marks) in &round.downlink_marks {
        downlink_marks(batch, node, marks.as_deref().copied());
    }
    for (k, v) in &round.quarantine {
        put_or_delete(batch, l::QUARANTINE, u64_key(*k), v.as_ref())?;
    }
    for (k, v) in &round.kpi {
        put_or_delete(batch, l::KPI_EVENTS, u64_key(*k), v.as_ref())?;
    }
    for (counter, next) in &round.counters {
        if let Some(next) = next {
            batch.put(l::META, text(counter.name()), u64_key(**next));
        }
    }
    Ok(())
}

fn downlink_marks(
    batch: &mut WriteBatch,
    node: &NodeId,
    marks: Option<stockpost_engine::records::DownlinkMarks>,
) {
    let key = text(node.as_str());
    match marks {
        Some(m) => {
            batch.put(l::DOWN_HEAD, key.clone(), u64_key(m.head));
            batch.put(l::DOWN_ACKED, key, u64_key(m.acked));
        }
        None => {
            batch.delete(l::DOWN_HEAD, key.clone());
            batch.delete(l::DOWN_ACKED, key);
        }
    }
}

fn logs(
    store: &dyn Store,
    round: &Round<'_>,
    batch: &mut WriteBatch,
    dead: &mut VecDeque<u64>,
) -> Result<(), RepoError> {
    for e in round.events {
        batch.put(
            l::EVENTS,
            node_seq(&e.event.id.node, e.event.id.seq),
            encode(l::EVENTS, e)?,
        );
    }
    for (id, entry) in round.audit {
        batch.put(l::AUDIT, u64_key(*id), encode_json(l::AUDIT, entry)?);
    }
    let mut staged = std::collections::BTreeMap::new();
    for d in round.deliveries {
        let stored = StoredDelivery::of(d);
        batch.put(
            l::WEBHOOK_OUTBOX,
            u64_key(d.id),
            encode_json(l::WEBHOOK_OUTBOX, &stored)?,
        );
        staged.insert(d.id, stored);
    }
    for (id, letter) in round.finished {
        batch.delete(l::WEBHOOK_OUTBOX, u64_key(*id));
        let Some(letter) = letter else { continue };
        let stored = match staged.remove(id) {
            Some(s) => Some(s),
            None => store
                .get(l::WEBHOOK_OUTBOX, &u64_key(*id))
                .map_err(storage)?
                .map(|b| l::decode_json::<StoredDelivery>(l::WEBHOOK_OUTBOX, &b))
                .transpose()?,
        };
        let Some(stored) = stored else { continue };
        let dead_letter = StoredDeadLetter::of(stored, letter);
        batch.put(
            l::WEBHOOK_DEAD,
            u64_key(*id),
            encode_json(l::WEBHOOK_DEAD, &dead_letter)?,
        );
        dead.push_back(*id);
        while dead.len() > MAX_DEAD_LETTERS {
            if let Some(oldest) = dead.pop_front() {
                batch.delete(l::WEBHOOK_DEAD, u64_key(oldest));
            }
        }
    }
    Ok(())
}
