//! The station machines' read-only view of the node, served straight from the writer's
//! in-memory state (no copy per scan: lookups go through the GTIN, place and SKU indexes).

use crate::writer::AgentState;
use stockpost_common::domain::TaskId;
use stockpost_common::domain::{
    Dec, Gtin, Item, ItemGtin, LocationCode, LocationInfo, NodeId, Place, Sku, StockRef,
    StockStatus,
};
use stockpost_common::ledger::StockKey;
use stockpost_common::tasks::{LocalView, TaskRecord, TaskStatus};

impl LocalView for AgentState {
    fn node(&self) -> &NodeId {
        &self.node
    }

    fn item_by_gtin(&self, gtin: &Gtin) -> Option<(Item, ItemGtin)> {
        let item = self.items.get(self.gtins.get(gtin)?)?;
        let pack = item.pack_for(gtin)?.clone();
        Some((item.clone(), pack))
    }

    fn item(&self, sku: &Sku) -> Option<Item> {
        self.items.get(sku).cloned()
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
        self.by_place
            .get(place)
            .into_iter()
            .flatten()
            .map(|k| (k.stock.clone(), k.status, self.ledger.balance(k)))
            .filter(|(_, _, q)| !q.is_zero())
            .collect()
    }

    fn stock_of(&self, sku: &Sku) -> Vec<(LocationCode, StockRef, StockStatus, Dec)> {
        self.by_sku
            .get(sku)
            .into_iter()
            .flatten()
            .filter_map(|k| match &k.place {
                Place::Location(code) => Some((
                    code.clone(),
                    k.stock.clone(),
                    k.status,
                    self.ledger.balance(k),
                )),
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
