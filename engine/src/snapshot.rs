//! What a new or wiped node is given to start from: master data, its stock as the hub sees it,
//! its open tasks (the hub's and those it made) with their progress, and the sequence marks —
//! one consistent cut of one commit (docs/protocol.md, "Bootstrap").

use crate::read::stock::{StockRow, StockView};
use crate::read::BooksView;
use crate::records::{HubTask, ItemRecord};
use std::sync::Arc;
use stockpost_common::domain::{LocationCode, LocationInfo, NodeId, Sku};
use stockpost_common::ledger::Totals;

/// A node's snapshot.
#[derive(Debug, Clone)]
pub struct NodeSnapshot {
    /// The node.
    pub node: NodeId,
    /// Every item.
    pub items: Vec<Arc<ItemRecord>>,
    /// Its locations.
    pub locations: Vec<(LocationCode, LocationInfo)>,
    /// Every balance line of it (no row limit: a cut-short snapshot would seed a wrong view).
    pub balances: Vec<StockRow>,
    /// Its running totals per SKU (so its conservation check holds).
    pub totals: Vec<(Sku, Totals)>,
    /// Its open tasks, with progress.
    pub tasks: Vec<Arc<HubTask>>,
    /// The last uplink sequence applied: the node's next event is this + 1.
    pub applied_seq: u64,
    /// The downlink head the snapshot covers.
    pub downlink_seq: u64,
}

fn locations_of(view: &StockView, node: &NodeId) -> Vec<(LocationCode, LocationInfo)> {
    view.locations
        .iter()
        .filter(|((n, _), _)| n == node)
        .map(|((_, c), i)| (c.clone(), i.clone()))
        .collect()
}

/// The snapshot of `node` from `books`; `None` when the node is not registered.
pub fn of(books: &BooksView, node: &NodeId) -> Option<NodeSnapshot> {
    books.nodes.get(node)?;
    let mut balances = Vec::new();
    let mut totals = Vec::new();
    for ((_, sku), stock) in books.stock.skus_from(Some(node), None) {
        balances.extend(books.stock.rows_of(stock));
        if stock.totals != Totals::default() {
            totals.push((sku.clone(), stock.totals));
        }
    }
    Some(NodeSnapshot {
        node: node.clone(),
        items: books.items.values().cloned().collect(),
        locations: locations_of(&books.stock, node),
        balances,
        totals,
        tasks: books.open_tasks_of(node),
        applied_seq: books.stock.applied_seq(node),
        downlink_seq: books.downlink_head(node),
    })
}
