//! The hub's business state beside the ledger, and every change to it. Only the ingest writer
//! thread calls the mutating functions here, so node events and API changes form one ordered
//! stream, and each change is written into the writer's commit batch together with what caused
//! it (system.md §6: exceptions, order progress and corrective tasks are committed in the same
//! batch as the node events that raised them).

use crate::error::ApiError;
use crate::store::{encode, event_key, HubStoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use stockpost_common::domain::{
    Date, Dec, DocRef, Event, EventBody, ExceptionCode, Item, LocationCode, LocationInfo, Lot,
    NodeId, OrderRef, Qty, Sku, TaskId,
};
use stockpost_common::ledger::{Applied, Ledger};
use stockpost_common::orders::{
    allocate, approve, assess, cancel, check_late, reject, release, review, Actor, Adjustment,
    AdjustmentStatus, ApprovalPolicy, AuditEntry, AuditValue, AuthorityContext, CountTaskPlan,
    Exception, NewOrder, NodeInfo, Order, PickTaskPlan, PutBackPlan, WeightTolerance,
};
use stockpost_common::sync::{Sender, SenderConfig};
use stockpost_common::tasks::{TaskKind, TaskLine, TaskSpec};
use stockpost_common::wire::DownlinkItem;
use stockpost_store::WriteBatch;

impl From<HubStoreError> for ApiError {
    fn from(e: HubStoreError) -> Self {
        ApiError::new(500, "storage", e.to_string())
    }
}

/// An item with what the hub alone needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// The item as nodes get it.
    pub item: Item,
    /// Value of one base unit, for adjustment approval.
    pub unit_value: Dec,
}

/// Node master data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeMaster {
    /// Display name.
    pub name: String,
    /// Lower is preferred for allocation.
    pub priority: u32,
    /// Accepting orders.
    pub active: bool,
    /// Carrier cut-off, ms after midnight UTC.
    pub cutoff_ms_of_day: Option<i64>,
}

/// A task the hub sent down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Where.
    pub node: NodeId,
    /// `pick`, `count`, …
    pub kind: TaskKind,
    /// For which order.
    pub order: Option<OrderRef>,
    /// For which document.
    pub doc: Option<DocRef>,
    /// Hub clock, Unix ms.
    pub created_ms: i64,
    /// Withdrawn.
    pub cancelled: bool,
    /// The task as sent (for node snapshots).
    pub spec: TaskSpec,
}

/// One expected line of an inbound notice or a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocLine {
    /// Item.
    pub sku: Sku,
    /// Quantity.
    pub qty: Qty,
    /// Lot, if known.
    pub lot: Option<Lot>,
    /// Expiry, if known.
    pub expiry: Option<Date>,
}

/// An inbound notice (expected receipt) or a return authorisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRecord {
    /// ASN or RMA.
    pub doc: DocRef,
    /// The node receiving it.
    pub node: NodeId,
    /// The order it returns (returns only).
    pub order: Option<OrderRef>,
    /// Expected.
    pub lines: Vec<DocLine>,
    /// Received so far, per SKU.
    pub received: BTreeMap<Sku, Dec>,
    /// The task sent down.
    pub task: TaskId,
    /// Hub clock, Unix ms.
    pub created_ms: i64,
}

impl DocRecord {
    /// expected, receiving or received.
    pub fn status(&self) -> &'static str {
        if self.received.is_empty() {
            return "expected";
        }
        let done = self
            .lines
            .iter()
            .all(|l| self.received.get(&l.sku).is_some_and(|r| *r >= l.qty.get()));
        if done {
            "received"
        } else {
            "receiving"
        }
    }
}

/// An exception with its id-independent resolution details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredException {
    /// The exception.
    pub exception: Exception,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// Their note.
    pub note: Option<String>,
}

/// A stored adjustment and its exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAdjustment {
    /// The adjustment.
    pub adjustment: Adjustment,
    /// The `adjustment_needs_approval` exception's id.
    pub exception: Option<u64>,
}

/// Something to tell webhook receivers after the commit.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// shipment_confirmed, inventory_changed or exception_raised.
    pub kind: &'static str,
    /// The body.
    pub payload: serde_json::Value,
}

/// The per-node downlink: the sans-IO sender and the items not yet acked.
#[derive(Debug, Clone)]
pub struct Downlink {
    /// Decides what to send and when.
    pub sender: Sender,
    /// Unacked items by sequence.
    pub pending: BTreeMap<u64, DownlinkItem>,
}

/// The settings the rules need.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Adjustment approval.
    pub policy: ApprovalPolicy,
    /// Check-weighing.
    pub weight: WeightTolerance,
    /// Downlink bounds.
    pub sender: SenderConfig,
    /// Most pending downlink items per node.
    pub max_pending: u64,
    /// Release allocated orders on the tick.
    pub auto_release: bool,
}

/// Times of one writer round.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// Wall clock, Unix ms.
    pub wall: i64,
    /// Monotonic, ms.
    pub mono: u64,
}

/// Most events kept in memory for the KPIs (counts and returns).
pub const KPI_EVENTS: usize = 100_000;

/// The business state. See the module docs.
#[derive(Debug, Default)]
pub struct Ops {
    /// Items.
    pub items: BTreeMap<Sku, ItemRecord>,
    /// Nodes.
    pub nodes: BTreeMap<NodeId, NodeMaster>,
    /// Orders.
    pub orders: BTreeMap<OrderRef, Order>,
    /// Exceptions by id.
    pub exceptions: BTreeMap<u64, StoredException>,
    exception_ids: BTreeMap<Exception, u64>,
    /// Adjustments by id.
    pub adjustments: BTreeMap<u64, StoredAdjustment>,
    /// Tasks sent down.
    pub tasks: BTreeMap<TaskId, TaskRecord>,
    /// Inbound notices.
    pub inbound: BTreeMap<DocRef, DocRecord>,
    /// Returns.
    pub returns: BTreeMap<DocRef, DocRecord>,
    /// Downlinks per node.
    pub downlink: BTreeMap<NodeId, Downlink>,
    /// Events the KPIs read (count results, returns, dispositions): the newest
    /// [`KPI_EVENTS`], also kept in the `kpi_events` tree so a start does not read every event.
    pub kpi_events: VecDeque<Event>,
    /// The `kpi_events` tree key of `kpi_events.front()` (keys are contiguous after it).
    pub kpi_first_key: u64,
    /// Counters (persisted in `meta`).
    pub next_exception: u64,
    /// Next adjustment id.
    pub next_adjustment: u64,
    /// Next audit id.
    pub next_audit: u64,
    /// Next task number.
    pub next_task: u64,
    /// Whether the MQTT link is up (downlink senders may send).
    pub link_up: bool,
    /// Stock arrived since the last backorder retry.
    pub stock_arrived: bool,
    dirty_orders: BTreeSet<OrderRef>,
    /// Orders not closed yet (the timer looks only at these).
    open_orders: BTreeSet<OrderRef>,
    /// Set while an API change runs: only API changes are refused on a full downlink. Tasks
    /// the authority rules raise for node events are always queued, so a full downlink can
    /// never stall a node's event stream (invariant 7).
    pub enforce_downlink_limit: bool,
    /// Webhook events of this round, sent after the commit.
    pub webhooks: Vec<WebhookEvent>,
    /// No webhook is configured: webhook events are not built at all (the ingest writer sets
    /// this; building an `inventory_changed` payload for every applied event only to drop it
    /// after the commit was a fifth of the writer's time).
    pub webhooks_off: bool,
}

fn key_of(e: &Exception) -> Exception {
    let mut k = e.clone();
    k.resolved_at_ms = None;
    k
}

fn put_counter(batch: &mut WriteBatch, name: &str, value: u64) {
    batch.put(
        "meta",
        name.as_bytes().to_vec(),
        value.to_be_bytes().to_vec(),
    );
}

/// A plan's quantity as a task quantity; a plan line that is not positive is skipped (logged),
/// never allowed to fail the commit of the node events that raised it.
fn qty(d: Dec) -> Option<Qty> {
    match Qty::try_from(d) {
        Ok(q) => Some(q),
        Err(e) => {
            tracing::warn!(error = %e, "plan line skipped");
            None
        }
    }
}

/// The message of a `sequence_reused` exception (its range is read back by [`reused_to`]).
pub fn sequence_reused_message(node: &NodeId, from: u64, to: u64) -> String {
    format!(
        "node {node} sent different events under sequence numbers {from}..={to} that the hub had \
         applied already: they were NOT applied. Its store was probably wiped and it started \
         again from sequence 1 without a bootstrap; bootstrap it (hub.url with \
         hub.bootstrap = \"required\") and re-enter those steps"
    )
}

/// The last sequence named in a [`sequence_reused_message`].
fn reused_to(message: &str) -> Option<u64> {
    let rest = message.split_once("..=")?.1;
    rest.split(' ').next()?.parse().ok()
}

/// The name of an exception code as in the API.
pub fn code_name<T: Serialize>(code: &T) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Ops {
    /// Rebuilds the in-memory indexes after loading.
    pub fn reindex(&mut self) {
        self.open_orders = self
            .orders
            .values()
            .filter(|o| !o.is_closed())
            .map(|o| o.order_ref.clone())
            .collect();
        self.exception_ids = self
            .exceptions
            .iter()
            .map(|(id, e)| (key_of(&e.exception), *id))
            .collect();
    }

    /// The id of an exception (as stored on an order), if registered.
    pub fn exception_id(&self, e: &Exception) -> Option<u64> {
        self.exception_ids.get(&key_of(e)).copied()
    }

    /// Node master data for the allocation rules.
    pub fn node_infos(&self, online: impl Fn(&NodeId) -> bool) -> Vec<NodeInfo> {
        self.nodes
            .iter()
            .map(|(node, m)| NodeInfo {
                node: node.clone(),
                priority: m.priority,
                online: online(node),
                active: m.active,
                cutoff_ms_of_day: m.cutoff_ms_of_day,
            })
            .collect()
    }

    fn downlink_for(&mut self, node: &NodeId, settings: &Settings, now: Now) -> &mut Downlink {
        let link_up = self.link_up;
        self.downlink.entry(node.clone()).or_insert_with(|| {
            let mut sender = Sender::new(settings.sender, 0, 0);
            if link_up {
                sender.connected(now.mono);
            }
            Downlink {
                sender,
                pending: BTreeMap::new(),
            }
        })
    }

    /// Appends `items` to `node`'s downlink, durably in `batch`.
    pub fn enqueue(
        &mut self,
        batch: &mut WriteBatch,
        node: &NodeId,
        items: Vec<DownlinkItem>,
        settings: &Settings,
        now: Now,
    ) -> Result<(), ApiError> {
        let max = settings.max_pending;
        let enforce = self.enforce_downlink_limit;
        let d = self.downlink_for(node, settings, now);
        if enforce && d.sender.pending() + items.len() as u64 > max {
            return Err(ApiError::unavailable(format!(
                "node {node} already has {} downlink items waiting (limit {max}); try again when it has caught up",
                d.sender.pending()
            )));
        }
        let mut head = d.sender.head();
        for item in items {
            head += 1;
            batch.put(
                "downlink",
                event_key(node, head),
                encode("downlink", &item)?,
            );
            d.pending.insert(head, item);
        }
        batch.put(
            "down_head",
            node.as_str().as_bytes().to_vec(),
            head.to_be_bytes().to_vec(),
        );
        d.sender.produced(head);
        Ok(())
    }

    /// Records a downlink ack from `node`.
    pub fn downlink_ack(&mut self, batch: &mut WriteBatch, node: &NodeId, seq: u64, now: Now) {
        let Some(d) = self.downlink.get_mut(node) else {
            tracing::warn!(%node, seq, "downlink ack from a node without a downlink");
            return;
        };
        let before = d.sender.acked();
        if let Err(e) = d.sender.on_ack(seq, now.mono) {
            tracing::warn!(%node, error = %e, "bad downlink ack");
            return;
        }
        if let Some(to) = d.sender.take_prune() {
            for s in (before + 1)..=to {
                d.pending.remove(&s);
                batch.delete("downlink", event_key(node, s));
            }
            batch.put(
                "down_acked",
                node.as_str().as_bytes().to_vec(),
                to.to_be_bytes().to_vec(),
            );
        }
    }

    /// The link went up or down.
    pub fn link(&mut self, up: bool, now: Now) {
        self.link_up = up;
        for d in self.downlink.values_mut() {
            if up {
                d.sender.connected(now.mono);
            } else {
                d.sender.disconnected();
            }
        }
    }

    /// Downlink messages to publish now: (node, first seq, items).
    pub fn poll_downlink(&mut self, now: Now) -> Vec<(NodeId, u64, Vec<DownlinkItem>)> {
        let mut out = Vec::new();
        for (node, d) in self.downlink.iter_mut() {
            d.sender.handle_timeout(now.mono);
            while let Some(range) = d.sender.poll_transmit(now.mono) {
                let items: Vec<DownlinkItem> = d
                    .pending
                    .range(range.first..=range.last)
                    .map(|(_, i)| i.clone())
                    .collect();
                if items.len() as u64 != range.len() {
                    tracing::error!(%node, first = range.first, last = range.last, "downlink items missing from memory");
                    break;
                }
                out.push((node.clone(), range.first, items));
            }
        }
        out
    }

    fn new_task(
        &mut self,
        batch: &mut WriteBatch,
        _node: &NodeId,
        kind: TaskKind,
        _now: Now,
    ) -> Result<TaskSpec, ApiError> {
        let n = self.next_task;
        self.next_task += 1;
        put_counter(batch, "next_task", self.next_task);
        let id = TaskId::new(format!("hub-{}-{n}", kind.as_str()))
            .map_err(|e| ApiError::new(500, "internal", e.to_string()))?;
        Ok(TaskSpec::new(id, kind))
    }

    fn send_task(
        &mut self,
        batch: &mut WriteBatch,
        node: &NodeId,
        spec: TaskSpec,
        settings: &Settings,
        now: Now,
    ) -> Result<(), ApiError> {
        let record = TaskRecord {
            node: node.clone(),
            kind: spec.kind,
            order: spec.order.clone(),
            doc: spec.doc.clone(),
            created_ms: now.wall,
            cancelled: false,
            spec: spec.clone(),
        };
        batch.put(
            "tasks",
            spec.id.as_str().as_bytes().to_vec(),
            encode("tasks", &record)?,
        );
        self.tasks.insert(spec.id.clone(), record);
        self.enqueue(batch, node, vec![DownlinkItem::Task(spec)], settings, now)
    }

    fn pick_tasks(
        &mut self,
        batch: &mut WriteBatch,
        plans: Vec<PickTaskPlan>,
        settings: &Settings,
        now: Now,
    ) -> Result<(), ApiError> {
        for plan in plans {
            let due = self.orders.get(&plan.order).map(|o| o.ship_by_ms);
            let mut spec = self.new_task(batch, &plan.node, TaskKind::Pick, now)?;
            spec.order = Some(plan.order.clone());
            spec.due_ms = due;
            spec.priority = 5;
            for l in plan.lines {
                let Some(q) = qty(l.qty) else { continue };
                spec.lines.push(TaskLine {
                    sku: l.sku,
                    qty: q,
                    location: None,
                    to: None,
                    lot: None,
                    serial: None,
                    expiry: None,
                });
            }
            self.send_task(batch, &plan.node, spec, settings, now)?;
        }
        Ok(())
    }

    fn count_tasks(
        &mut self,
        batch: &mut WriteBatch,
        plans: Vec<CountTaskPlan>,
        settings: &Settings,
        now: Now,
    ) -> Result<(), ApiError> {
        for plan in plans {
            let mut spec = self.new_task(batch, &plan.node, TaskKind::Count, now)?;
            spec.locations = vec![plan.location];
            spec.priority = 8;
            self.send_task(batch, &plan.node, spec, settings, now)?;
        }
        Ok(())
    }

    fn put_back_tasks(
        &mut self,
        batch: &mut WriteBatch,
        plans: Vec<PutBackPlan>,
        settings: &Settings,
        now: Now,
    ) -> Result<(), ApiError> {
        for plan in plans {
            let mut spec = self.new_task(batch, &plan.node, TaskKind::Putaway, now)?;
            spec.order = Some(plan.order.clone());
            spec.container = plan.containers.first().cloned();
            spec.priority = 7;
            for l in plan.lines {
                let Some(q) = qty(l.qty) else { continue };
                spec.lines.push(TaskLine {
                    sku: l.sku,
                    qty: q,
                    location: None,
                    to: None,
                    lot: None,
                    serial: None,
                    expiry: None,
                });
            }
            self.send_task(batch, &plan.node, spec, settings, now)?;
        }
        Ok(())
    }

    /// Appends an audit entry.
    pub fn audit(&mut self, batch: &mut WriteBatch, entry: &AuditEntry) -> Result<(), ApiError> {
        let id = self.next_audit;
        self.next_audit += 1;
        put_counter(batch, "next_audit", self.next_audit);
        let json =
            serde_json::to_vec(entry).map_err(|e| ApiError::new(500, "internal", e.to_string()))?;
        batch.put("audit", id.to_be_bytes().to_vec(), json);
        Ok(())
    }

    /// Raises `sequence_reused` for `node`, sequences `from..=to`: one open exception per node,
    /// whose range widens when more reused numbers arrive (resends, later batches).
    pub fn raise_sequence_reused(
        &mut self,
        batch: &mut WriteBatch,
        node: &NodeId,
        from: u64,
        to: u64,
        at_ms: i64,
    ) -> Result<(), ApiError> {
        let open = self.exceptions.iter().find_map(|(id, e)| {
            (e.exception.is_open()
                && e.exception.code == ExceptionCode::SequenceReused
                && e.exception.node.as_ref() == Some(node))
            .then_some(*id)
        });
        let (from, to, id) = match open.and_then(|id| self.exceptions.get(&id).map(|e| (id, e))) {
            Some((id, stored)) => {
                let was_from = stored.exception.source.as_ref().map_or(from, |s| s.seq);
                let was_to = reused_to(&stored.exception.message).unwrap_or(to);
                if from >= was_from && to <= was_to {
                    return Ok(());
                }
                (from.min(was_from), to.max(was_to), Some(id))
            }
            None => (from, to, None),
        };
        let exception = Exception::new(
            ExceptionCode::SequenceReused,
            sequence_reused_message(node, from, to),
            at_ms,
        )
        .from_event(&stockpost_common::domain::EventId {
            node: node.clone(),
            seq: from,
        })
        .at_node(node);
        let Some(id) = id else {
            return self.register_exception(batch, &exception).map(|_| ());
        };
        if let Some(stored) = self.exceptions.get_mut(&id) {
            self.exception_ids.remove(&key_of(&stored.exception));
            stored.exception = exception;
            self.exception_ids.insert(key_of(&stored.exception), id);
            batch.put(
                "exceptions",
                id.to_be_bytes().to_vec(),
                encode("exceptions", stored)?,
            );
        }
        Ok(())
    }

    fn register_exception(
        &mut self,
        batch: &mut WriteBatch,
        e: &Exception,
    ) -> Result<Option<u64>, ApiError> {
        let key = key_of(e);
        if let Some(id) = self.exception_ids.get(&key).copied() {
            if let Some(stored) = self.exceptions.get_mut(&id) {
                if e.resolved_at_ms.is_some() && stored.exception.is_open() {
                    stored.exception.resolved_at_ms = e.resolved_at_ms;
                    batch.put(
                        "exceptions",
                        id.to_be_bytes().to_vec(),
                        encode("exceptions", stored)?,
                    );
                }
            }
            return Ok(None);
        }
        let id = self.next_exception;
        self.next_exception += 1;
        put_counter(batch, "next_exception", self.next_exception);
        let stored = StoredException {
            exception: e.clone(),
            resolved_by: None,
            note: None,
        };
        batch.put(
            "exceptions",
            id.to_be_bytes().to_vec(),
            encode("exceptions", &stored)?,
        );
        self.exceptions.insert(id, stored);
        self.exception_ids.insert(key, id);
        if e.is_open() && !self.webhooks_off {
            self.webhooks.push(WebhookEvent {
                kind: "exception_raised",
                payload: serde_json::json!({
                    "id": id,
                    "code": code_name(&e.code),
                    "message": e.message,
                    "node": e.node,
                    "sku": e.sku,
                    "location": e.location,
                    "order": e.order,
                    "at": crate::time::format_ms(e.at_ms),
                }),
            });
        }
        Ok(Some(id))
    }

    fn touch(&mut self, order: &OrderRef) {
        self.dirty_orders.insert(order.clone());
    }

    /// Writes every order changed this round, its reservations, and registers its exceptions.
    pub fn flush_orders(
        &mut self,
        batch: &mut WriteBatch,
        ledger: &Ledger,
    ) -> Result<(), ApiError> {
        let dirty = std::mem::take(&mut self.dirty_orders);
        for r in dirty {
            let Some(order) = self.orders.get(&r).cloned() else {
                continue;
            };
            if order.is_closed() {
                self.open_orders.remove(&r);
            } else {
                self.open_orders.insert(r.clone());
            }
            batch.put(
                "orders",
                r.as_str().as_bytes().to_vec(),
                encode("orders", &order)?,
            );
            for (node, lines) in &order.allocations {
                for sku in lines.keys() {
                    let key = encode("reservations", &(&r, node, sku))?;
                    let held = ledger.reserved_for(node, sku, &r);
                    if held.is_zero() {
                        batch.delete("reservations", key);
                    } else {
                        batch.put("reservations", key, encode("reservations", &held)?);
                    }
                }
            }
            for e in &order.exceptions {
                self.register_exception(batch, e)?;
            }
        }
        Ok(())
    }

    /// Applies the authority rules to one event the ledger has just applied.
    #[allow(clippy::too_many_arguments)]
    pub fn after_event(
        &mut self,
        batch: &mut WriteBatch,
        ledger: &mut Ledger,
        event: &Event,
        applied: &Applied,
        online: &dyn Fn(&NodeId) -> bool,
        settings: &Settings,
        now: Now,
    ) -> Result<(), ApiError> {
        // The node list is read only by the order rules (re-allocation), which run only for an
        // event that names an order; building it for every event cost O(nodes) per event.
        let infos = if stockpost_common::orders::NodeFact::of(&event.body).is_some() {
            self.node_infos(online)
        } else {
            Vec::new()
        };
        let ctx = AuthorityContext {
            nodes: &infos,
            weight: settings.weight,
        };
        // The rules change only the order the event names (its re-allocations included).
        let assessment = assess(event, applied, &mut self.orders, ledger, &ctx);
        for e in &assessment.errors {
            tracing::warn!(error = %e, node = %event.id.node, seq = event.id.seq, "order rule");
        }
        if let Some((order, _)) = stockpost_common::orders::NodeFact::of(&event.body) {
            let order = order.clone();
            self.touch(&order);
        }
        for p in &assessment.picks {
            self.touch(&p.order);
        }
        for progress in &assessment.progress {
            let actor = event
                .operator
                .as_ref()
                .map(|o| o.to_string())
                .unwrap_or_else(|| format!("node:{}", event.id.node));
            self.audit(
                batch,
                &AuditEntry::order_status(progress, &actor, event.at_ms),
            )?;
        }
        for e in &assessment.exceptions {
            self.register_exception(batch, e)?;
        }
        self.count_tasks(batch, assessment.counts, settings, now)?;
        self.put_back_tasks(batch, assessment.put_backs, settings, now)?;
        self.pick_tasks(batch, assessment.picks, settings, now)?;

        // Adjustments and count variances go through approval.
        let reviewable = match &event.body {
            EventBody::Adjust { stock, .. } => Some(stock.sku.clone()),
            EventBody::CountResult {
                stock,
                counted,
                expected,
                ..
            } if counted != expected => Some(stock.sku.clone()),
            _ => None,
        };
        if let Some(sku) = reviewable {
            let unit_value = self
                .items
                .get(&sku)
                .map(|i| i.unit_value)
                .unwrap_or(Dec::ONE);
            match review(event, unit_value, &settings.policy) {
                Ok(r) => {
                    let exception = match &r.exception {
                        Some(e) => {
                            self.register_exception(batch, e)?;
                            self.exception_id(e)
                        }
                        None => None,
                    };
                    self.audit(batch, &r.audit)?;
                    let id = self.next_adjustment;
                    self.next_adjustment += 1;
                    put_counter(batch, "next_adjustment", self.next_adjustment);
                    let stored = StoredAdjustment {
                        adjustment: r.adjustment,
                        exception,
                    };
                    batch.put(
                        "adjustments",
                        id.to_be_bytes().to_vec(),
                        encode("adjustments", &stored)?,
                    );
                    self.adjustments.insert(id, stored);
                }
                Err(e) => tracing::warn!(error = %e, "adjustment not reviewed"),
            }
        }

        // Documents: inbound notices and returns.
        match &event.body {
            EventBody::Receive {
                inbound: Some(doc),
                stock,
                qty,
                ..
            } => {
                if let Some(rec) = self.inbound.get_mut(doc) {
                    let slot = rec.received.entry(stock.sku.clone()).or_insert(Dec::ZERO);
                    *slot = slot.checked_add(qty.get()).unwrap_or(*slot);
                    batch.put(
                        "inbound",
                        doc.as_str().as_bytes().to_vec(),
                        encode("inbound", rec)?,
                    );
                }
            }
            EventBody::ReturnReceive {
                rma, stock, qty, ..
            } => {
                if let Some(rec) = self.returns.get_mut(rma) {
                    let slot = rec.received.entry(stock.sku.clone()).or_insert(Dec::ZERO);
                    *slot = slot.checked_add(qty.get()).unwrap_or(*slot);
                    batch.put(
                        "returns",
                        rma.as_str().as_bytes().to_vec(),
                        encode("returns", rec)?,
                    );
                }
            }
            _ => {}
        }
        if matches!(
            event.body,
            EventBody::CountResult { .. }
                | EventBody::ReturnReceive { .. }
                | EventBody::Disposition { .. }
        ) {
            if self.kpi_events.len() >= KPI_EVENTS {
                self.kpi_events.pop_front();
                batch.delete("kpi_events", self.kpi_first_key.to_be_bytes().to_vec());
                self.kpi_first_key += 1;
            }
            let key = self.kpi_first_key + self.kpi_events.len() as u64;
            batch.put(
                "kpi_events",
                key.to_be_bytes().to_vec(),
                encode("kpi_events", event)?,
            );
            self.kpi_events.push_back(event.clone());
        }
        if matches!(
            event.body,
            EventBody::Receive { .. }
                | EventBody::ReturnReceive { .. }
                | EventBody::TransferIn { .. }
                | EventBody::Adjust { .. }
                | EventBody::CountResult { .. }
                | EventBody::Disposition { .. }
                | EventBody::StatusChange { .. }
                | EventBody::Move { .. }
        ) {
            self.stock_arrived = true;
        }

        // Webhooks.
        if self.webhooks_off {
            return Ok(());
        }
        if let EventBody::Ship {
            container,
            order,
            sscc,
            lines,
        } = &event.body
        {
            self.webhooks.push(WebhookEvent {
                kind: "shipment_confirmed",
                payload: serde_json::json!({
                    "order": order, "node": event.id.node, "container": container, "sscc": sscc,
                    "lines": lines.iter().map(|l| serde_json::json!({"sku": l.stock.sku, "qty": l.qty})).collect::<Vec<_>>(),
                    "shipped_at": crate::time::format_ms(event.at_ms),
                }),
            });
        }
        let skus: BTreeSet<&Sku> = applied.changes.iter().map(|c| &c.key.stock.sku).collect();
        for sku in skus {
            let node = &event.id.node;
            self.webhooks.push(WebhookEvent {
                kind: "inventory_changed",
                payload: serde_json::json!({
                    "node": node, "sku": sku, "event": {"node": node, "seq": event.id.seq, "kind": event.body.kind()},
                    "on_hand": ledger.on_hand(node, sku), "reserved": ledger.reserved(node, sku),
                    "available": ledger.available(node, sku),
                }),
            });
        }
        Ok(())
    }

    /// Timer work: release allocated orders, retry backorders when stock arrived, flag late orders.
    pub fn tick(
        &mut self,
        batch: &mut WriteBatch,
        ledger: &mut Ledger,
        online: &dyn Fn(&NodeId) -> bool,
        settings: &Settings,
        now: Now,
    ) -> Result<(), ApiError> {
        if self.stock_arrived {
            self.stock_arrived = false;
            let infos = self.node_infos(online);
            let mut waiting: Vec<(i64, OrderRef)> = self
                .open_orders
                .iter()
                .filter_map(|r| self.orders.get(r))
                .filter(|o| !o.is_closed() && !o.unallocated().is_empty())
                .map(|o| (o.received_at_ms, o.order_ref.clone()))
                .collect();
            waiting.sort();
            for (_, r) in waiting {
                if let Some(order) = self.orders.get_mut(&r) {
                    match allocate(order, ledger, &infos, now.wall) {
                        Ok(result) if !result.reserved.is_empty() => self.touch(&r),
                        Ok(_) => {}
                        Err(e) => tracing::debug!(error = %e, "backorder retry"),
                    }
                }
            }
        }
        if settings.auto_release {
            let ready: Vec<OrderRef> = self
                .open_orders
                .iter()
                .filter_map(|r| self.orders.get(r))
                .filter(|o| {
                    !o.is_closed()
                        && o.allocations
                            .values()
                            .flat_map(|m| m.values())
                            .any(|l| l.allocated > l.released)
                })
                .map(|o| o.order_ref.clone())
                .collect();
            for r in ready {
                // A refusal (an order the rules say cannot be released) must never stop the
                // timer, which runs in the same commit as node events.
                match self.release_order(batch, &r, "hub", settings, now) {
                    Ok(_) => {}
                    Err(e) if e.status < 500 => {
                        tracing::debug!(order = %r, error = %e, "not released")
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let open: Vec<OrderRef> = self
            .open_orders
            .iter()
            .filter_map(|r| self.orders.get(r))
            .filter(|o| !o.is_closed() && now.wall > o.ship_by_ms)
            .map(|o| o.order_ref.clone())
            .collect();
        for r in open {
            if let Some(order) = self.orders.get_mut(&r) {
                if check_late(order, now.wall).is_some() {
                    self.touch(&r);
                }
            }
        }
        Ok(())
    }

    /// Releases what is allocated and unreleased of an order as pick tasks.
    pub fn release_order(
        &mut self,
        batch: &mut WriteBatch,
        r: &OrderRef,
        actor: &str,
        settings: &Settings,
        now: Now,
    ) -> Result<serde_json::Value, ApiError> {
        let order = self
            .orders
            .get_mut(r)
            .ok_or_else(|| ApiError::not_found(format!("order {r} does not exist")))?;
        let before = order.status;
        let plans =
            release(order).map_err(|e| ApiError::conflict("illegal_transition", e.to_string()))?;
        let after = order.status;
        self.touch(r);
        if before != after {
            self.audit(
                batch,
                &AuditEntry {
                    at_ms: now.wall,
                    actor: actor.to_string(),
                    action: "order.release".into(),
                    subject: format!("order:{r}"),
                    before: AuditValue::text(stockpost_common::orders::status_name(before)),
                    after: AuditValue::text(stockpost_common::orders::status_name(after)),
                },
            )?;
        }
        let tasks = plans.len();
        self.pick_tasks(batch, plans, settings, now)?;
        Ok(
            serde_json::json!({"ref": r, "status": stockpost_common::orders::status_name(after), "tasks": tasks}),
        )
    }

    /// `POST /orders`.
    pub fn create_order(
        &mut self,
        batch: &mut WriteBatch,
        ledger: &mut Ledger,
        new: &NewOrder,
        actor: &Actor,
        online: &dyn Fn(&NodeId) -> bool,
        now: Now,
    ) -> Result<serde_json::Value, ApiError> {
        let items = &self.items;
        let mut order = Order::accept(new, |s| items.contains_key(s), now.wall)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        if self.orders.contains_key(&order.order_ref) {
            return Err(ApiError::conflict(
                "duplicate_order",
                format!("order {} exists already; use another ref", order.order_ref),
            ));
        }
        let infos = self.node_infos(online);
        allocate(&mut order, ledger, &infos, now.wall)
            .map_err(|e| ApiError::conflict("illegal_transition", e.to_string()))?;
        let r = order.order_ref.clone();
        let view = order_json(self, &order);
        self.audit(
            batch,
            &AuditEntry {
                at_ms: now.wall,
                actor: actor.name.clone(),
                action: "order.create".into(),
                subject: format!("order:{r}"),
                before: AuditValue::Null,
                after: AuditValue::text(stockpost_common::orders::status_name(order.status)),
            },
        )?;
        self.orders.insert(r.clone(), order);
        self.touch(&r);
        Ok(view)
    }

    /// `POST /orders/{ref}/cancel`.
    pub fn cancel_order(
        &mut self,
        batch: &mut WriteBatch,
        ledger: &mut Ledger,
        r: &OrderRef,
        actor: &Actor,
        settings: &Settings,
        now: Now,
    ) -> Result<serde_json::Value, ApiError> {
        let order = self
            .orders
            .get_mut(r)
            .ok_or_else(|| ApiError::not_found(format!("order {r} does not exist")))?;
        let before = order.status;
        let nodes: Vec<NodeId> = order.allocations.keys().cloned().collect();
        let outcome = cancel(order, ledger, now.wall)
            .map_err(|e| ApiError::conflict("illegal_transition", e.to_string()))?;
        self.touch(r);
        self.audit(
            batch,
            &AuditEntry {
                at_ms: now.wall,
                actor: actor.name.clone(),
                action: "order.cancel".into(),
                subject: format!("order:{r}"),
                before: AuditValue::text(stockpost_common::orders::status_name(before)),
                after: AuditValue::text("cancelled"),
            },
        )?;
        // Withdraw its pick tasks and tell the nodes.
        let picks: Vec<(TaskId, NodeId)> = self
            .tasks
            .iter()
            .filter(|(_, t)| {
                t.order.as_ref() == Some(r) && t.kind == TaskKind::Pick && !t.cancelled
            })
            .map(|(id, t)| (id.clone(), t.node.clone()))
            .collect();
        for (id, node) in &picks {
            if let Some(t) = self.tasks.get_mut(id) {
                t.cancelled = true;
                batch.put(
                    "tasks",
                    id.as_str().as_bytes().to_vec(),
                    encode("tasks", t)?,
                );
            }
            self.enqueue(
                batch,
                node,
                vec![DownlinkItem::TaskCancel { task: id.clone() }],
                settings,
                now,
            )?;
        }
        for node in &nodes {
            self.enqueue(
                batch,
                node,
                vec![DownlinkItem::Cancel { order: r.clone() }],
                settings,
                now,
            )?;
        }
        let put_backs = outcome.put_back.len();
        self.put_back_tasks(batch, outcome.put_back, settings, now)?;
        Ok(
            serde_json::json!({"ref": r, "status": "cancelled", "put_back_tasks": put_backs,
            "released": outcome.released.iter().map(|(n, s, q)| serde_json::json!({"node": n, "sku": s, "qty": q})).collect::<Vec<_>>()}),
        )
    }

    /// `POST /nodes/{node}/inbound` and `POST /returns`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_doc(
        &mut self,
        batch: &mut WriteBatch,
        is_return: bool,
        doc: DocRef,
        node: NodeId,
        order: Option<OrderRef>,
        lines: Vec<DocLine>,
        actor: &Actor,
        settings: &Settings,
        now: Now,
    ) -> Result<serde_json::Value, ApiError> {
        let (tree, exists) = if is_return {
            ("returns", self.returns.contains_key(&doc))
        } else {
            ("inbound", self.inbound.contains_key(&doc))
        };
        if exists {
            return Err(ApiError::conflict(
                "duplicate_document",
                format!("{doc} exists already"),
            ));
        }
        if !self.nodes.contains_key(&node) {
            return Err(ApiError::not_found(format!(
                "node {node} is not registered; PUT /api/v1/nodes/{node} first"
            )));
        }
        for (i, l) in lines.iter().enumerate() {
            if !self.items.contains_key(&l.sku) {
                return Err(ApiError::invalid(format!(
                    "lines[{i}].sku: {} is not a known item",
                    l.sku
                )));
            }
        }
        if let Some(o) = &order {
            if !self.orders.contains_key(o) {
                return Err(ApiError::invalid(format!(
                    "order_ref: order {o} does not exist"
                )));
            }
        }
        let kind = if is_return {
            TaskKind::Return
        } else {
            TaskKind::Receive
        };
        let mut spec = self.new_task(batch, &node, kind, now)?;
        spec.doc = Some(doc.clone());
        spec.order = order.clone();
        spec.priority = 3;
        for l in &lines {
            spec.lines.push(TaskLine {
                sku: l.sku.clone(),
                qty: l.qty,
                location: None,
                to: None,
                lot: l.lot.clone(),
                serial: None,
                expiry: l.expiry,
            });
        }
        let rec = DocRecord {
            doc: doc.clone(),
            node: node.clone(),
            order,
            lines,
            received: BTreeMap::new(),
            task: spec.id.clone(),
            created_ms: now.wall,
        };
        self.send_task(batch, &node, spec, settings, now)?;
        batch.put(tree, doc.as_str().as_bytes().to_vec(), encode(tree, &rec)?);
        self.audit(
            batch,
            &AuditEntry {
                at_ms: now.wall,
                actor: actor.name.clone(),
                action: format!("{tree}.create"),
                subject: format!("{tree}:{doc}"),
                before: AuditValue::Null,
                after: AuditValue::text(rec.task.to_string()),
            },
        )?;
        let json = doc_json(&rec, is_return);
        if is_return {
            self.returns.insert(doc, rec);
        } else {
            self.inbound.insert(doc, rec);
        }
        Ok(json)
    }

    /// `PUT /items/{sku}`: stores it and sends it to every node.
    pub fn put_item(
        &mut self,
        batch: &mut WriteBatch,
        record: ItemRecord,
        actor: &Actor,
        settings: &Settings,
        now: Now,
    ) -> Result<serde_json::Value, ApiError> {
        let sku = record.item.sku.clone();
        let before = self.items.get(&sku).map(item_json);
        let nodes: Vec<NodeId> = self.nodes.keys().cloned().collect();
        for node in &nodes {
            self.enqueue(
                batch,
                node,
                vec![DownlinkItem::ItemUpsert(record.item.clone())],
                settings,
                now,
            )?;
        }
        batch.put(
            "items",
            sku.as_str().as_bytes().to_vec(),
            encode("items", &record)?,
        );
        let after = item_json(&record);
        self.audit(
            batch,
            &AuditEntry {
                at_ms: now.wall,
                actor: actor.name.clone(),
                action: "item.put".into(),
                subject: format!("item:{sku}"),
                before: before
                    .map(|b| AuditValue::text(b.to_string()))
                    .unwrap_or(AuditValue::Null),
                after: AuditValue::text(after.to_string()),
            },
        )?;
        self.items.insert(sku, record);
        Ok(after)
    }

    /// `PUT /nodes/{node}`: a new node gets every item and its locations.
    #[allow(clippy::too_many_arguments)]
    pub fn put_node(
        &mut self,
        batch: &mut WriteBatch,
        ledger: &Ledger,
        node: NodeId,
        master: NodeMaster,
        actor: &Actor,
        settings: &Settings,
        now: Now,
    ) -> Result<serde_json::Value, ApiError> {
        let before = self.nodes.get(&node).cloned();
        if before.is_none() {
            let mut items: Vec<DownlinkItem> = self
                .items
                .values()
                .map(|r| DownlinkItem::ItemUpsert(r.item.clone()))
                .collect();
            items.extend(ledger.locations().filter(|(n, _, _)| **n == node).map(
                |(_, code, info)| DownlinkItem::LocationUpsert {
                    code: code.clone(),
                    info: info.clone(),
                },
            ));
            if !items.is_empty() {
                self.enqueue(batch, &node, items, settings, now)?;
            } else {
                self.downlink_for(&node, settings, now);
            }
        }
        batch.put(
            "nodes",
            node.as_str().as_bytes().to_vec(),
            encode("nodes", &master)?,
        );
        let json = serde_json::json!({"node": node, "name": master.name, "priority": master.priority, "active": master.active});
        self.audit(
            batch,
            &AuditEntry {
                at_ms: now.wall,
                actor: actor.name.clone(),
                action: "node.put".into(),
                subject: format!("node:{node}"),
                before: before
                    .map(|b| AuditValue::text(format!("{} priority {}", b.name, b.priority)))
                    .unwrap_or(AuditValue::Null),
                after: AuditValue::text(format!("{} priority {}", master.name, master.priority)),
            },
        )?;
        self.nodes.insert(node, master);
        Ok(json)
    }

    /// `PUT /nodes/{node}/locations/{code}`.
    #[allow(clippy::too_many_arguments)]
    pub fn put_location(
        &mut self,
        batch: &mut WriteBatch,
        ledger: &mut Ledger,
        node: NodeId,
        code: LocationCode,
        info: LocationInfo,
        actor: &Actor,
        settings: &Settings,
        now: Now,
    ) -> Result<serde_json::Value, ApiError> {
        if !self.nodes.contains_key(&node) {
            return Err(ApiError::not_found(format!(
                "node {node} is not registered; PUT /api/v1/nodes/{node} first"
            )));
        }
        let before = ledger.location(&node, &code).cloned();
        self.enqueue(
            batch,
            &node,
            vec![DownlinkItem::LocationUpsert {
                code: code.clone(),
                info: info.clone(),
            }],
            settings,
            now,
        )?;
        ledger.set_location(&node, &code, info.clone());
        batch.put(
            "locations",
            encode("locations", &(&node, &code))?,
            encode("locations", &info)?,
        );
        self.audit(
            batch,
            &AuditEntry {
                at_ms: now.wall,
                actor: actor.name.clone(),
                action: "location.put".into(),
                subject: format!("location:{node}/{code}"),
                before: before
                    .map(|b| AuditValue::text(format!("{:?} pickable {}", b.kind, b.pickable)))
                    .unwrap_or(AuditValue::Null),
                after: AuditValue::text(format!("{:?} pickable {}", info.kind, info.pickable)),
            },
        )?;
        // A location that becomes pickable can make stock available for backorders.
        self.stock_arrived = true;
        Ok(
            serde_json::json!({"node": node, "code": code, "kind": info.kind, "pickable": info.pickable, "capacity": info.capacity}),
        )
    }

    /// `POST /exceptions/{id}/resolve`.
    pub fn resolve_exception(
        &mut self,
        batch: &mut WriteBatch,
        id: u64,
        note: Option<String>,
        actor: &Actor,
        now: Now,
    ) -> Result<serde_json::Value, ApiError> {
        let stored = self
            .exceptions
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found(format!("exception {id} does not exist")))?;
        if !stored.exception.is_open() {
            return Err(ApiError::conflict(
                "already_resolved",
                format!("exception {id} is resolved already"),
            ));
        }
        let key = key_of(&stored.exception);
        stored.exception.resolved_at_ms = Some(now.wall);
        stored.resolved_by = Some(actor.name.clone());
        stored.note = note.clone();
        let stored = stored.clone();
        batch.put(
            "exceptions",
            id.to_be_bytes().to_vec(),
            encode("exceptions", &stored)?,
        );
        if let Some(r) = &stored.exception.order {
            if let Some(order) = self.orders.get_mut(r) {
                for e in order.exceptions.iter_mut() {
                    if key_of(e) == key {
                        e.resolved_at_ms = Some(now.wall);
                    }
                }
                self.dirty_orders.insert(r.clone());
            }
        }
        self.audit(
            batch,
            &AuditEntry {
                at_ms: now.wall,
                actor: actor.name.clone(),
                action: "exception.resolve".into(),
                subject: format!("exception:{id}"),
                before: AuditValue::text("open"),
                after: AuditValue::text(format!("resolved: {}", note.unwrap_or_default())),
            },
        )?;
        Ok(exception_json(id, &stored))
    }

    /// `POST /adjustments/{id}/approve` and `/reject`.
    pub fn decide_adjustment(
        &mut self,
        batch: &mut WriteBatch,
        id: u64,
        approve_it: bool,
        actor: &Actor,
        settings: &Settings,
        now: Now,
    ) -> Result<serde_json::Value, ApiError> {
        let stored = self
            .adjustments
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found(format!("adjustment {id} does not exist")))?;
        let mut count = None;
        let entry = if approve_it {
            approve(&mut stored.adjustment, actor, now.wall)
        } else {
            reject(&mut stored.adjustment, actor, now.wall).map(|(e, c)| {
                count = c;
                e
            })
        }
        .map_err(|e| match e {
            stockpost_common::orders::ApprovalError::Forbidden { .. }
            | stockpost_common::orders::ApprovalError::SelfApproval(_) => {
                ApiError::new(403, "forbidden", e.to_string())
            }
            _ => ApiError::conflict("not_pending", e.to_string()),
        })?;
        let stored = stored.clone();
        batch.put(
            "adjustments",
            id.to_be_bytes().to_vec(),
            encode("adjustments", &stored)?,
        );
        self.audit(batch, &entry)?;
        if let Some(ex) = stored.exception {
            if let Some(e) = self.exceptions.get_mut(&ex) {
                if e.exception.is_open() {
                    e.exception.resolved_at_ms = Some(now.wall);
                    e.resolved_by = Some(actor.name.clone());
                    e.note = Some(if approve_it {
                        "approved".into()
                    } else {
                        "rejected".into()
                    });
                    batch.put(
                        "exceptions",
                        ex.to_be_bytes().to_vec(),
                        encode("exceptions", &*e)?,
                    );
                }
            }
        }
        let node = stored.adjustment.node.clone();
        if approve_it {
            let doc = match &stored.adjustment.doc {
                Some(d) => d.clone(),
                None => DocRef::new(format!("ADJ-{id}"))
                    .map_err(|e| ApiError::new(500, "internal", e.to_string()))?,
            };
            self.enqueue(
                batch,
                &node,
                vec![DownlinkItem::AdjustmentApproved { adjustment: doc }],
                settings,
                now,
            )?;
        }
        if let Some(c) = count {
            self.count_tasks(batch, vec![c], settings, now)?;
        }
        Ok(adjustment_json(id, &stored))
    }
}

/// JSON of an item as the API shows it.
pub fn item_json(r: &ItemRecord) -> serde_json::Value {
    let i = &r.item;
    serde_json::json!({
        "sku": i.sku, "description": i.description, "gtins": i.gtins, "tracking": i.tracking,
        "expiry_controlled": i.expiry_controlled, "unit_weight_kg": i.unit_weight_kg,
        "weight_tolerance_pct": i.weight_tolerance_pct, "unit_value": r.unit_value,
    })
}

/// JSON of an order as the API shows it.
pub fn order_json(ops: &Ops, o: &Order) -> serde_json::Value {
    serde_json::json!({
        "ref": o.order_ref,
        "status": stockpost_common::orders::status_name(o.status),
        "channel": o.channel,
        "ship_by": crate::time::format_ms(o.ship_by_ms),
        "received_at": crate::time::format_ms(o.received_at_ms),
        "closed_at": o.closed_at_ms.map(crate::time::format_ms),
        "lines": o.lines.iter().map(|l| serde_json::json!({
            "sku": l.sku, "qty": l.qty, "allocated": l.allocated, "picked": l.picked,
            "packed": l.packed, "shipped": l.shipped, "backordered": l.backordered,
        })).collect::<Vec<_>>(),
        "allocations": o.allocation_view().iter().map(|a| serde_json::json!({
            "node": a.node,
            "lines": a.lines.iter().map(|l| serde_json::json!({"sku": l.sku, "qty": l.qty})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "shipments": o.shipments.iter().map(|s| serde_json::json!({
            "node": s.node, "container": s.container, "sscc": s.sscc, "weight_kg": s.weight_kg,
            "shipped_at": crate::time::format_ms(s.shipped_at_ms),
        })).collect::<Vec<_>>(),
        "exceptions": o.exceptions.iter().map(|e| serde_json::json!({
            "id": ops.exception_id(e), "code": code_name(&e.code), "message": e.message, "open": e.is_open(),
        })).collect::<Vec<_>>(),
    })
}

/// JSON of an exception.
pub fn exception_json(id: u64, s: &StoredException) -> serde_json::Value {
    let e = &s.exception;
    serde_json::json!({
        "id": id, "code": code_name(&e.code), "message": e.message, "node": e.node, "sku": e.sku,
        "location": e.location, "order": e.order,
        "source": e.source.as_ref().map(|s| serde_json::json!({"node": s.node, "seq": s.seq})),
        "at": crate::time::format_ms(e.at_ms), "open": e.is_open(),
        "resolved_at": e.resolved_at_ms.map(crate::time::format_ms),
        "resolved_by": s.resolved_by, "note": s.note,
    })
}

/// JSON of an adjustment.
pub fn adjustment_json(id: u64, s: &StoredAdjustment) -> serde_json::Value {
    let a = &s.adjustment;
    serde_json::json!({
        "id": id, "node": a.node, "place": a.place, "sku": a.sku, "delta": a.delta,
        "reason": code_name(&a.reason), "value": a.value, "status": code_name(&a.status),
        "requested_by": a.requested_by, "at": crate::time::format_ms(a.at_ms),
        "decided_by": a.decided_by, "decided_at": a.decided_at_ms.map(crate::time::format_ms),
        "exception": s.exception, "source": {"node": a.source.node, "seq": a.source.seq},
        "doc": a.doc,
    })
}

/// JSON of an inbound notice or a return.
pub fn doc_json(r: &DocRecord, is_return: bool) -> serde_json::Value {
    let lines: Vec<serde_json::Value> = r
        .lines
        .iter()
        .map(|l| serde_json::json!({"sku": l.sku, "qty": l.qty, "lot": l.lot, "expiry": l.expiry.map(|d| d.to_string()),
            "received": r.received.get(&l.sku).copied().unwrap_or(Dec::ZERO)}))
        .collect();
    if is_return {
        serde_json::json!({"rma": r.doc, "order_ref": r.order, "node": r.node, "status": r.status(), "task": r.task, "lines": lines})
    } else {
        serde_json::json!({"ref": r.doc, "node": r.node, "status": r.status(), "task": r.task, "lines": lines})
    }
}

/// Whether an adjustment still waits.
pub fn is_pending(a: &StoredAdjustment) -> bool {
    a.adjustment.status == AdjustmentStatus::PendingApproval
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::receipt;

    fn settings() -> Settings {
        Settings {
            policy: ApprovalPolicy {
                threshold: "100".parse().unwrap_or_else(|_| unreachable!()),
            },
            weight: WeightTolerance {
                pct: "2".parse().unwrap_or_else(|_| unreachable!()),
                min_kg: "0.05".parse().unwrap_or_else(|_| unreachable!()),
            },
            sender: SenderConfig {
                max_batch: 32,
                max_in_flight: 256,
                ack_timeout_ms: 2_000,
            },
            max_pending: 10_000,
            auto_release: false,
        }
    }

    /// Applies one receipt through the ledger and the rules; returns the webhook events queued.
    fn webhooks_after_a_receipt(webhooks_off: bool) -> Vec<WebhookEvent> {
        let mut ops = Ops {
            webhooks_off,
            ..Ops::default()
        };
        let mut ledger = Ledger::new();
        let mut batch = WriteBatch::new();
        let event = receipt(1, "3");
        let applied = ledger.apply(&event).unwrap_or_else(|e| panic!("{e}"));
        let now = Now { wall: 0, mono: 0 };
        ops.after_event(
            &mut batch,
            &mut ledger,
            &event,
            &applied,
            &|_| true,
            &settings(),
            now,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(ops.stock_arrived, "the rest of the rules still ran");
        std::mem::take(&mut ops.webhooks)
    }

    #[test]
    fn an_applied_event_queues_inventory_changed_when_webhooks_are_configured() {
        let queued = webhooks_after_a_receipt(false);
        assert_eq!(
            queued.iter().map(|w| w.kind).collect::<Vec<_>>(),
            vec!["inventory_changed"]
        );
        assert_eq!(queued[0].payload["on_hand"], serde_json::json!("3"));
    }

    #[test]
    fn an_applied_event_builds_no_webhook_payload_when_no_webhook_is_configured() {
        assert!(webhooks_after_a_receipt(true).is_empty());
    }
}
