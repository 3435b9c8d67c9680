//! The station machines' read-only view of the node, served straight from the writer's
//! in-memory state (no copy per scan: lookups go through the ledger's balance map and the SKU index) and, for
//! items, from the writer's item catalog (store lookups through a bounded cache, with the
//! writer's not yet committed upserts on top).

use crate::store::AgentStoreError;
use crate::writer::AgentState;
use stockpost_common::domain::TaskId;
use stockpost_common::domain::{
    Dec, Gtin, Item, ItemGtin, LocationCode, LocationInfo, NodeId, Place, Sku, StockRef,
    StockStatus,
};
use stockpost_common::ledger::StockKey;
use stockpost_common::tasks::{LocalView, TaskRecord, TaskStatus};

/// An item lookup's answer; a store that cannot be read is logged and the item is treated as
/// unknown (the station answers "unknown item" rather than stopping).
fn readable(found: Result<Option<Item>, AgentStoreError>) -> Option<Item> {
    found.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read item master data from the store");
        None
    })
}

impl LocalView for AgentState {
    fn node(&self) -> &NodeId {
        &self.node
    }

    fn item_by_gtin(&self, gtin: &Gtin) -> Option<(Item, ItemGtin)> {
        let item = readable(self.items.by_gtin(gtin))?;
        let pack = item.pack_for(gtin)?.clone();
        Some((item, pack))
    }

    fn item(&self, sku: &Sku) -> Option<Item> {
        readable(self.items.get(sku))
    }

    fn location(&self, code: &LocationCode) -> Option<LocationInfo> {
        self.ledger.location(&self.node, code).cloned()
    }

    fn location_by_gln(&self, gln: &str, extension: Option<&str>) -> Option<LocationCode> {
        self.glns
            .get(&(gln.to_string(), extension.map(str::to_string)))
            .cloned()
    }

    fn locations(&self) -> Vec<(LocationCode, LocationInfo)> {
        self.ledger
            .locations()
            .filter(|(n, _, _)| **n == self.node)
            .map(|(_, c, i)| (c.clone(), i.clone()))
            .collect()
    }

    fn home_location(&self, sku: &Sku) -> Option<LocationCode> {
        self.homes.get(sku).cloned()
    }

    fn balance(&self, place: &Place, stock: &StockRef, status: StockStatus) -> Dec {
        self.ledger.balance(&StockKey {
            node: self.node.clone(),
            place: place.clone(),
            stock: stock.clone(),
            status,
        })
    }

    fn stock_at(&self, place: &Place) -> Vec<(StockRef, StockStatus, Dec)> {
        self.ledger
            .balances_at(&self.node, place)
            .into_iter()
            .map(|(k, q)| (k.stock.clone(), k.status, q))
            .filter(|(_, _, q)| !q.is_zero())
            .collect()
    }

    fn stock_of(&self, sku: &Sku) -> Vec<(LocationCode, StockRef, StockStatus, Dec)> {
        self.stock_index
            .of_sku(sku)
            .filter_map(|(place, stock, status)| match place {
                Place::Location(code) => {
                    let qty = self.ledger.balance(&StockKey {
                        node: self.node.clone(),
                        place: place.clone(),
                        stock: stock.clone(),
                        status,
                    });
                    Some((code.clone(), stock, status, qty))
                }
                Place::Container(_) => None,
            })
            .filter(|(_, _, _, q)| !q.is_zero())
            .collect()
    }

    fn open_tasks(&self) -> Vec<&TaskRecord> {
        self.tasks
            .values()
            .filter(|r| r.progress.status.is_open())
            .collect()
    }

    fn task_status(&self, id: &TaskId) -> Option<TaskStatus> {
        self.tasks.get(id).map(|r| r.progress.status)
    }
}
