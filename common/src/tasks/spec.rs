//! What a task is (`TaskSpec`, sent down by the hub or created on the node) and how far it got
//! (`TaskProgress`).

use crate::domain::{
    ContainerId, Date, Dec, DocRef, IdError, LocationCode, Lot, NonNegQty, OrderRef, Qty, Serial,
    Sku, StationId, StockRef, TaskId,
};
use serde::{Deserialize, Serialize};

/// The kind of work a task is. Also what a station may be configured to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Receive goods (against an inbound notice, or blind).
    Receive,
    /// Move received goods into storage.
    Putaway,
    /// Pick order lines into a tote.
    Pick,
    /// Verify, weigh and pack a tote into a carton.
    Pack,
    /// Ship a labelled carton at the dock.
    Ship,
    /// Count locations blind.
    Count,
    /// Move stock from reserve to a forward pick location.
    Replenish,
    /// Receive and disposition a customer return.
    Return,
}

impl TaskKind {
    /// `receive`, `putaway`, … as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Receive => "receive",
            TaskKind::Putaway => "putaway",
            TaskKind::Pick => "pick",
            TaskKind::Pack => "pack",
            TaskKind::Ship => "ship",
            TaskKind::Count => "count",
            TaskKind::Replenish => "replenish",
            TaskKind::Return => "return",
        }
    }
}

/// One line of a task.
///
/// `location` is where the stock is taken from (pick, putaway, replenish: the source; receive,
/// return: where it is put down, when the task says). `to` is the destination (replenish: the
/// forward location; putaway: a pre-assigned target, otherwise the station suggests one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLine {
    /// The item.
    pub sku: Sku,
    /// How much, in base units.
    pub qty: Qty,
    /// Source (or put-down) location.
    #[serde(default)]
    pub location: Option<LocationCode>,
    /// Destination location.
    #[serde(default)]
    pub to: Option<LocationCode>,
    /// Required lot, if any.
    #[serde(default)]
    pub lot: Option<Lot>,
    /// Required serial, if any.
    #[serde(default)]
    pub serial: Option<Serial>,
    /// Required expiry, if any.
    #[serde(default)]
    pub expiry: Option<Date>,
}

impl TaskLine {
    /// The stock this line names (lot/serial/expiry as given).
    pub fn stock(&self) -> StockRef {
        StockRef {
            sku: self.sku.clone(),
            lot: self.lot.clone(),
            serial: self.serial.clone(),
            expiry: self.expiry,
        }
    }

    /// True when `stock` is what this line asks for (fields the line leaves open match anything).
    pub fn matches(&self, stock: &StockRef) -> bool {
        stock.sku == self.sku
            && self
                .lot
                .as_ref()
                .is_none_or(|l| stock.lot.as_ref() == Some(l))
            && self
                .serial
                .as_ref()
                .is_none_or(|s| stock.serial.as_ref() == Some(s))
            && self.expiry.is_none_or(|e| stock.expiry == Some(e))
    }
}

/// A task: what the hub sends down, or what the node creates locally (blind receipt, putaway
/// after receipt, ship after pack, min/max replenishment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Identity.
    pub id: TaskId,
    /// What kind of work.
    pub kind: TaskKind,
    /// Document: inbound notice (receive), RMA (return), …
    #[serde(default)]
    pub doc: Option<DocRef>,
    /// The order (pick, pack, ship, return).
    #[serde(default)]
    pub order: Option<OrderRef>,
    /// The tote (pick, pack) or carton (ship).
    #[serde(default)]
    pub container: Option<ContainerId>,
    /// Higher is more urgent.
    #[serde(default)]
    pub priority: u8,
    /// Due time, Unix milliseconds.
    #[serde(default)]
    pub due_ms: Option<i64>,
    /// The lines.
    #[serde(default)]
    pub lines: Vec<TaskLine>,
    /// Count tasks: the locations to count, in walking order.
    #[serde(default)]
    pub locations: Vec<LocationCode>,
    /// A blind receipt (lines are added as goods are received).
    #[serde(default)]
    pub blind: bool,
}

impl TaskSpec {
    /// A task with no lines, for building.
    pub fn new(id: TaskId, kind: TaskKind) -> Self {
        Self {
            id,
            kind,
            doc: None,
            order: None,
            container: None,
            priority: 0,
            due_ms: None,
            lines: Vec::new(),
            locations: Vec::new(),
            blind: false,
        }
    }

    /// The reference shown to the operator (`task.ref` in the station state): the order, else
    /// the document, else the container.
    pub fn reference(&self) -> Option<String> {
        self.order
            .as_ref()
            .map(|o| o.to_string())
            .or_else(|| self.doc.as_ref().map(|d| d.to_string()))
            .or_else(|| self.container.as_ref().map(|c| c.to_string()))
    }

    /// How many progress slots the task has: its lines, or for a count its locations.
    pub fn slots(&self) -> usize {
        if self.kind == TaskKind::Count {
            self.locations.len()
        } else {
            self.lines.len()
        }
    }
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    Open,
    /// Started (maybe released again by a station, with progress kept).
    InProgress,
    /// Finished.
    Done,
    /// Cancelled.
    Cancelled,
}

impl TaskStatus {
    /// Open or in progress.
    pub fn is_open(self) -> bool {
        matches!(self, TaskStatus::Open | TaskStatus::InProgress)
    }
}

/// Progress of one line (for a count task: one location, `done` 1 when counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineProgress {
    /// How much was done (received, picked, moved, …), in base units.
    pub done: NonNegQty,
    /// Finished (complete, or closed short).
    pub closed: bool,
}

impl Default for LineProgress {
    fn default() -> Self {
        Self {
            done: zero(),
            closed: false,
        }
    }
}

/// How far a task got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    /// Status.
    pub status: TaskStatus,
    /// The station working on it, when in progress.
    #[serde(default)]
    pub station: Option<StationId>,
    /// Per line (or count location).
    #[serde(default)]
    pub lines: Vec<LineProgress>,
    /// How many follow-up tasks this task created (used to derive their ids).
    #[serde(default)]
    pub spawned: u32,
    /// When a station finished or cancelled it (node clock, Unix ms); `None` while open, and
    /// for tasks finished before this was recorded or cancelled by the hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<i64>,
}

impl TaskProgress {
    /// Fresh progress for `spec`.
    pub fn open(spec: &TaskSpec) -> Self {
        Self {
            status: TaskStatus::Open,
            station: None,
            lines: vec![LineProgress::default(); spec.slots()],
            spawned: 0,
            finished_at_ms: None,
        }
    }
}

/// A task together with its progress: what the runtime stores and the view lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task.
    pub spec: TaskSpec,
    /// Its progress.
    pub progress: TaskProgress,
}

impl TaskRecord {
    /// A new open task.
    pub fn open(spec: TaskSpec) -> Self {
        let progress = TaskProgress::open(&spec);
        Self { spec, progress }
    }

    /// Progress slot `i` (a default one when missing).
    pub fn line_progress(&self, i: usize) -> LineProgress {
        self.progress.lines.get(i).cloned().unwrap_or_default()
    }

    /// What is left of line `i` (zero when closed or unknown).
    pub fn remaining(&self, i: usize) -> Dec {
        let p = self.line_progress(i);
        match self.spec.lines.get(i) {
            Some(line) if !p.closed => line
                .qty
                .get()
                .checked_sub(p.done.get())
                .filter(|d| !d.is_negative())
                .unwrap_or(Dec::ZERO),
            _ => Dec::ZERO,
        }
    }

    /// The first slot that is not closed.
    pub fn first_open_slot(&self) -> Option<usize> {
        (0..self.spec.slots()).find(|i| !self.line_progress(*i).closed)
    }

    /// Makes sure there is one progress slot per line.
    pub(crate) fn normalise(&mut self) {
        let n = self.spec.slots();
        self.progress.lines.resize(n, LineProgress::default());
    }

    /// Adds `qty` to slot `i`, closing it when `close` or when it reaches the line quantity.
    pub(crate) fn add_done(&mut self, i: usize, qty: Dec, close: bool) -> Option<()> {
        self.normalise();
        let target = self.spec.lines.get(i).map(|l| l.qty.get());
        let slot = self.progress.lines.get_mut(i)?;
        let done = slot.done.get().checked_add(qty)?;
        slot.done = NonNegQty::new(done).ok()?;
        if close || target.is_some_and(|t| done >= t) {
            slot.closed = true;
        }
        Some(())
    }
}

pub(crate) fn zero() -> NonNegQty {
    NonNegQty::ZERO
}

/// A task id derived from another (`<base>-<suffix>`), shortened with a hash when too long.
pub fn derived_task_id(base: &str, suffix: &str) -> Result<TaskId, IdError> {
    let full = format!("{base}-{suffix}");
    if full.len() <= TaskId::MAX_LEN {
        return TaskId::new(full);
    }
    let hash = fnv1a(full.as_bytes());
    let keep = TaskId::MAX_LEN.saturating_sub(suffix.len() + 18);
    let head: String = base.chars().take(keep).collect();
    TaskId::new(format!("{head}~{hash:016x}-{suffix}"))
}

/// FNV-1a 64: a stable, dependency-free hash for ids.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
