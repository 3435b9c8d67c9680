//! The read-only view of the node the station machines validate against, and an in-memory
//! implementation backed by the [`Ledger`] (for tests and for the agent).

use super::spec::{TaskRecord, TaskSpec, TaskStatus};
use crate::domain::{
    ContainerId, Dec, Event, EventBody, EventId, Gtin, Item, ItemGtin, LocationCode, LocationInfo,
    NodeId, OperatorId, Place, Sku, StationId, StockRef, StockStatus, TaskId,
};
use crate::ledger::{Applied, ApplyError, Ledger};
use std::collections::BTreeMap;

/// What the station machines may look at. Never changed by them.
pub trait LocalView {
    /// The node.
    fn node(&self) -> &NodeId;
    /// The item a GTIN belongs to, with the GTIN's pack level.
    fn item_by_gtin(&self, gtin: &Gtin) -> Option<(Item, ItemGtin)>;
    /// An item by SKU.
    fn item(&self, sku: &Sku) -> Option<Item>;
    /// A location's master data.
    fn location(&self, code: &LocationCode) -> Option<LocationInfo>;
    /// The location a GS1 location barcode (414 GLN + optional 254 extension) stands for.
    fn location_by_gln(&self, gln: &str, extension: Option<&str>) -> Option<LocationCode>;
    /// Every known location, by code.
    fn locations(&self) -> Vec<(LocationCode, LocationInfo)>;
    /// The item's forward (home) pick location, if it has one.
    fn home_location(&self, sku: &Sku) -> Option<LocationCode>;
    /// The book balance of `stock` in `status` at a place.
    fn balance(&self, place: &Place, stock: &StockRef, status: StockStatus) -> Dec;
    /// Every non-zero balance at a place: stock, status, quantity.
    fn stock_at(&self, place: &Place) -> Vec<(StockRef, StockStatus, Dec)>;
    /// Every non-zero balance of an item at a location: location, stock, status, quantity.
    fn stock_of(&self, sku: &Sku) -> Vec<(LocationCode, StockRef, StockStatus, Dec)>;
    /// Open and in-progress tasks, borrowed: choosing one must not copy them all (a node can
    /// hold thousands).
    fn open_tasks(&self) -> Vec<&TaskRecord>;
    /// The status of a task, when known (used to notice a task cancelled while being worked).
    /// Runs on every step: implement it as a direct lookup.
    fn task_status(&self, id: &TaskId) -> Option<TaskStatus>;
}

/// An in-memory [`LocalView`]: master data in maps, stock in a [`Ledger`], tasks in a map.
#[derive(Debug, Clone)]
pub struct InMemoryView {
    node: NodeId,
    ledger: Ledger,
    items: BTreeMap<Sku, Item>,
    gtins: BTreeMap<Gtin, Sku>,
    locations: BTreeMap<LocationCode, LocationInfo>,
    glns: BTreeMap<(String, Option<String>), LocationCode>,
    homes: BTreeMap<Sku, LocationCode>,
    tasks: BTreeMap<TaskId, TaskRecord>,
    next_seq: u64,
}

impl InMemoryView {
    /// An empty view of `node`.
    pub fn new(node: NodeId) -> Self {
        Self {
            node,
            ledger: Ledger::new(),
            items: BTreeMap::new(),
            gtins: BTreeMap::new(),
            locations: BTreeMap::new(),
            glns: BTreeMap::new(),
            homes: BTreeMap::new(),
            tasks: BTreeMap::new(),
            next_seq: 1,
        }
    }

    /// Adds or replaces an item.
    pub fn put_item(&mut self, item: Item) {
        for g in &item.gtins {
            self.gtins.insert(g.gtin, item.sku.clone());
        }
        self.items.insert(item.sku.clone(), item);
    }

    /// Adds or replaces a location.
    pub fn put_location(&mut self, code: LocationCode, info: LocationInfo) {
        self.ledger.set_location(&self.node, &code, info.clone());
        self.locations.insert(code, info);
    }

    /// Registers a GS1 location barcode (GLN + extension) for a location.
    pub fn put_gln(&mut self, gln: &str, extension: Option<&str>, code: LocationCode) {
        self.glns
            .insert((gln.to_string(), extension.map(str::to_string)), code);
    }

    /// Sets an item's forward (home) pick location.
    pub fn set_home(&mut self, sku: Sku, code: LocationCode) {
        self.homes.insert(sku, code);
    }

    /// Adds or replaces a task (as the hub's downlink would).
    pub fn put_task(&mut self, record: TaskRecord) {
        self.tasks.insert(record.spec.id.clone(), record);
    }

    /// Adds a new open task.
    pub fn put_spec(&mut self, spec: TaskSpec) {
        self.put_task(TaskRecord::open(spec));
    }

    /// A task by id, whatever its status.
    pub fn task(&self, id: &TaskId) -> Option<&TaskRecord> {
        self.tasks.get(id)
    }

    /// Every task, whatever its status.
    pub fn all_tasks(&self) -> Vec<TaskRecord> {
        self.tasks.values().cloned().collect()
    }

    /// Open tasks of one kind.
    pub fn open_tasks_of(&self, kind: super::spec::TaskKind) -> Vec<TaskRecord> {
        self.open_tasks()
            .into_iter()
            .filter(|r| r.spec.kind == kind)
            .cloned()
            .collect()
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Applies one event body as the node's next event (sequence numbers are assigned here).
    pub fn apply(
        &mut self,
        body: EventBody,
        at_ms: i64,
        operator: Option<OperatorId>,
        station: Option<StationId>,
        task: Option<TaskId>,
    ) -> Result<Applied, ApplyError> {
        let event = Event {
            id: EventId {
                node: self.node.clone(),
                seq: self.next_seq,
            },
            at_ms,
            operator,
            station,
            task,
            body,
        };
        let applied = self.ledger.apply(&event)?;
        self.next_seq += 1;
        Ok(applied)
    }

    /// Applies everything an accepted step produced: its events, task updates and new tasks.
    pub fn apply_accepted(
        &mut self,
        accepted: &super::station::Accepted,
        at_ms: i64,
    ) -> Result<Vec<Applied>, ApplyError> {
        let mut out = Vec::new();
        for body in &accepted.events {
            out.push(self.apply(
                body.clone(),
                at_ms,
                accepted.operator.clone(),
                Some(accepted.station.clone()),
                accepted.task.clone(),
            )?);
        }
        for spec in &accepted.created_tasks {
            self.put_spec(spec.clone());
        }
        for record in &accepted.task_updates {
            self.put_task(record.clone());
        }
        Ok(out)
    }

    /// Every place's balance, for checks.
    pub fn container_stock(&self, container: &ContainerId) -> Vec<(StockRef, StockStatus, Dec)> {
        self.stock_at(&Place::Container(container.clone()))
    }
}

impl LocalView for InMemoryView {
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
        self.locations.get(code).cloned()
    }

    fn location_by_gln(&self, gln: &str, extension: Option<&str>) -> Option<LocationCode> {
        self.glns
            .get(&(gln.to_string(), extension.map(str::to_string)))
            .cloned()
    }

    fn locations(&self) -> Vec<(LocationCode, LocationInfo)> {
        self.locations
            .iter()
            .map(|(c, i)| (c.clone(), i.clone()))
            .collect()
    }

    fn home_location(&self, sku: &Sku) -> Option<LocationCode> {
        self.homes.get(sku).cloned()
    }

    fn balance(&self, place: &Place, stock: &StockRef, status: StockStatus) -> Dec {
        self.ledger.balance(&crate::ledger::StockKey {
            node: self.node.clone(),
            place: place.clone(),
            stock: stock.clone(),
            status,
        })
    }

    fn stock_at(&self, place: &Place) -> Vec<(StockRef, StockStatus, Dec)> {
        self.ledger
            .balances()
            .filter(|(k, v)| k.node == self.node && &k.place == place && !v.is_zero())
            .map(|(k, v)| (k.stock.clone(), k.status, v))
            .collect()
    }

    fn stock_of(&self, sku: &Sku) -> Vec<(LocationCode, StockRef, StockStatus, Dec)> {
        self.ledger
            .balances()
            .filter(|(k, v)| k.node == self.node && &k.stock.sku == sku && !v.is_zero())
            .filter_map(|(k, v)| match &k.place {
                Place::Location(code) => Some((code.clone(), k.stock.clone(), k.status, v)),
                Place::Container(_) => None,
            })
            .collect()
    }

    fn task_status(&self, id: &TaskId) -> Option<TaskStatus> {
        self.tasks.get(id).map(|r| r.progress.status)
    }

    fn open_tasks(&self) -> Vec<&TaskRecord> {
        self.tasks
            .values()
            .filter(|r| r.progress.status.is_open())
            .collect()
    }
}
