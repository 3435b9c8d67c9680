//! The station state machine: sign-in, system-directed work, and dispatch to the flows.
//!
//! Every input is handled on a copy of the state; only an accepted step replaces it. A rejected
//! step changes nothing but `last_error` (which is display-only: it is what the station page
//! shows, and is cleared by the next accepted step).

use super::error::{err, ErrorCode, StepError};
use super::spec::{TaskKind, TaskRecord, TaskSpec, TaskStatus};
use super::view::LocalView;
use super::{count, pack, pick, putaway, receive, replenish, returns, ship};
use crate::domain::{
    ContainerId, Dec, EventBody, Gtin, LocationCode, NonNegQty, OperatorId, OrderRef, PackLevel,
    PackLine, Sku, StationId, TaskId,
};
use crate::scale::WeightReading;
use crate::scan_payload::{Command, StationPayload};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// How a station is set up (agent.toml `[[stations]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationConfig {
    /// The station id.
    pub id: StationId,
    /// The kinds of task it takes.
    pub kinds: Vec<TaskKind>,
    /// Where receipts are put down when the task does not say (the dock).
    #[serde(default)]
    pub receiving_location: Option<LocationCode>,
    /// Where returns are put down.
    #[serde(default)]
    pub returns_location: Option<LocationCode>,
    /// The empty carton's weight added to the expected pack weight, in kg.
    #[serde(default)]
    pub carton_tare_kg: Dec,
}

impl StationConfig {
    /// A station doing `kinds`, with no default locations and no carton tare.
    pub fn new(id: StationId, kinds: Vec<TaskKind>) -> Self {
        Self {
            id,
            kinds,
            receiving_location: None,
            returns_location: None,
            carton_tare_kg: Dec::ZERO,
        }
    }

    /// True when the station takes tasks of `kind`.
    pub fn takes(&self, kind: TaskKind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// One input to a station. The time comes with the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A classified scan (the runtime has already dropped scanner double-fires).
    Scan(StationPayload),
    /// A command from the station page (same as scanning `C:<command>`).
    Command(Command),
    /// A weight reading from the station's scale.
    Weight(WeightReading),
    /// The operator was idle too long: sign out, keeping confirmed progress.
    Timeout,
}

/// A request to print a shipping label (the runtime prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintLabel {
    /// The carton.
    pub carton: ContainerId,
    /// Its SSCC, when the carton id is one.
    pub sscc: Option<String>,
    /// The order.
    pub order: OrderRef,
    /// The measured weight.
    pub weight_kg: NonNegQty,
    /// What is in it.
    pub lines: Vec<PackLine>,
}

/// What an accepted step produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Events to append, in order (the runtime wraps them with node, sequence and time).
    pub events: Vec<EventBody>,
    /// Who did the step.
    pub operator: Option<OperatorId>,
    /// Where.
    pub station: StationId,
    /// The task the events belong to.
    pub task: Option<TaskId>,
    /// Tasks whose progress or status changed (store these).
    pub task_updates: Vec<TaskRecord>,
    /// Tasks created by this step (blind receipt, putaway after receipt, ship after pack).
    pub created_tasks: Vec<TaskSpec>,
    /// Labels to print.
    pub print: Vec<PrintLabel>,
    /// The station state after the step (includes the next prompt).
    pub state: StationView,
}

/// The result of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// The step was valid.
    Accepted(Accepted),
    /// The step was refused; nothing changed.
    Rejected(StepError),
}

impl Outcome {
    /// The accepted result, if any.
    pub fn accepted(&self) -> Option<&Accepted> {
        match self {
            Outcome::Accepted(a) => Some(a),
            Outcome::Rejected(_) => None,
        }
    }

    /// The error, if rejected.
    pub fn error(&self) -> Option<&StepError> {
        match self {
            Outcome::Accepted(_) => None,
            Outcome::Rejected(e) => Some(e),
        }
    }
}

/// What the station waits for (`expect.scan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectScan {
    /// A badge.
    Operator,
    /// Waiting for work.
    Task,
    /// A location label.
    Location,
    /// A product.
    Item,
    /// More items, `Q:`, or a command.
    QuantityOrConfirm,
    /// A tote, carton or order.
    Container,
    /// A stable weight on the scale.
    Weight,
    /// A return disposition command.
    Disposition,
    /// A shipping label (SSCC).
    Label,
}

/// `expect` in the station state JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    /// What kind of scan.
    pub scan: ExpectScan,
    /// The location to go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationCode>,
    /// The item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    /// A GTIN of the item (its each GTIN when it has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<Gtin>,
    /// The quantity asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qty: Option<Dec>,
    /// The quantity done so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<Dec>,
}

impl Expect {
    /// Expect a scan of `scan`, nothing more specific.
    pub fn scan(scan: ExpectScan) -> Self {
        Self {
            scan,
            location: None,
            sku: None,
            gtin: None,
            qty: None,
            done: None,
        }
    }
}

/// `task` in the station state JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRef {
    /// Task id.
    pub id: TaskId,
    /// Kind.
    pub kind: TaskKind,
    /// Order, document or container reference.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

/// The station state as the agent API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationView {
    /// Station id.
    pub station: StationId,
    /// Signed-in operator.
    pub operator: Option<OperatorId>,
    /// Current task.
    pub task: Option<TaskRef>,
    /// What to do, for the operator.
    pub prompt: String,
    /// What scan is expected.
    pub expect: Expect,
    /// The last rejection, until the next accepted step.
    pub last_error: Option<StepError>,
}

/// The state of one flow in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Receiving.
    Receive(receive::State),
    /// Putting away.
    Putaway(putaway::State),
    /// Picking.
    Pick(pick::State),
    /// Packing.
    Pack(pack::State),
    /// Shipping.
    Ship(ship::State),
    /// Counting.
    Count(count::State),
    /// Replenishing.
    Replenish(replenish::State),
    /// Returns.
    Return(returns::State),
}

/// The task a station is working on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// The task and its progress (as of the last accepted step).
    pub record: TaskRecord,
    /// Where the flow is.
    pub flow: Flow,
}

/// One station: who is signed in, what they are doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Station {
    config: StationConfig,
    operator: Option<OperatorId>,
    work: Option<Work>,
    skipped: Vec<TaskId>,
    last_error: Option<StepError>,
}

/// What a flow step may produce besides its state change.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub events: Vec<EventBody>,
    pub created: Vec<TaskSpec>,
    pub print: Vec<PrintLabel>,
    pub finished: bool,
    pub cancelled: bool,
    /// Switch to this other task and replay the input there.
    pub switch_to: Option<TaskId>,
}

/// Everything a flow step can see.
pub(crate) struct Ctx<'a> {
    pub view: &'a dyn LocalView,
    pub config: &'a StationConfig,
    pub now_ms: i64,
    pub out: Out,
}

/// The input a flow sees (commands arrive as `StationPayload::Command`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum FlowInput<'a> {
    Scan(&'a StationPayload),
    Weight(&'a WeightReading),
}

impl Station {
    /// A station with nobody signed in.
    pub fn new(config: StationConfig) -> Self {
        Self {
            config,
            operator: None,
            work: None,
            skipped: Vec::new(),
            last_error: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &StationConfig {
        &self.config
    }

    /// The signed-in operator.
    pub fn operator(&self) -> Option<&OperatorId> {
        self.operator.as_ref()
    }

    /// The current task and flow.
    pub fn work(&self) -> Option<&Work> {
        self.work.as_ref()
    }

    /// The last rejection (display only).
    pub fn last_error(&self) -> Option<&StepError> {
        self.last_error.as_ref()
    }

    /// The same station without `last_error`: what a rejected step must leave unchanged.
    pub fn flow_state(&self) -> Station {
        let mut s = self.clone();
        s.last_error = None;
        s
    }

    /// Classifies the raw bytes of one scan (what the scanner sent, after the runtime's
    /// duplicate-fire filter) and handles it. A scan that cannot be understood is rejected with
    /// `unreadable_scan` and changes nothing.
    pub fn handle_scan(&mut self, view: &dyn LocalView, data: &[u8], now_ms: i64) -> Outcome {
        match crate::scan_payload::classify_payload(data) {
            Ok(payload) => self.handle(view, Input::Scan(payload), now_ms),
            Err(e) => {
                let e = StepError::new(
                    ErrorCode::UnreadableScan,
                    format!("Could not read that barcode: {e}"),
                );
                self.last_error = Some(e.clone());
                Outcome::Rejected(e)
            }
        }
    }

    /// Handles one input at `now_ms`. On rejection nothing changes except `last_error`.
    pub fn handle(&mut self, view: &dyn LocalView, input: Input, now_ms: i64) -> Outcome {
        let mut next = self.clone();
        next.last_error = None;
        let mut ctx = Ctx {
            view,
            config: &self.config,
            now_ms,
            out: Out::default(),
        };
        let mut updates: Vec<TaskRecord> = Vec::new();
        let before_operator = self.operator.clone();
        let result = next.apply(&mut ctx, &input, &mut updates);
        match result {
            Ok(task) => {
                if let Some(w) = &next.work {
                    let old = self.work.as_ref().map(|o| &o.record);
                    if old != Some(&w.record) {
                        updates.push(w.record.clone());
                    }
                }
                let mut deduped: Vec<TaskRecord> = Vec::new();
                for r in updates.into_iter().rev() {
                    if !deduped.iter().any(|d| d.spec.id == r.spec.id) {
                        deduped.push(r);
                    }
                }
                deduped.reverse();
                let out = ctx.out;
                let operator = next.operator.clone().or(before_operator);
                *self = next;
                Outcome::Accepted(Accepted {
                    events: out.events,
                    operator,
                    station: self.config.id.clone(),
                    task,
                    task_updates: deduped,
                    created_tasks: out.created,
                    print: out.print,
                    state: self.view(view),
                })
            }
            Err(e) => {
                self.last_error = Some(e.clone());
                Outcome::Rejected(e)
            }
        }
    }

    /// Applies `input` to `self` (a scratch copy). Returns the task the step's events belong to.
    fn apply(
        &mut self,
        ctx: &mut Ctx<'_>,
        input: &Input,
        updates: &mut Vec<TaskRecord>,
    ) -> Result<Option<TaskId>, StepError> {
        let payload = match input {
            Input::Timeout => {
                if self.operator.is_some() {
                    self.release(updates);
                    self.operator = None;
                    self.skipped.clear();
                }
                return Ok(None);
            }
            Input::Scan(p) => Some(p.clone()),
            Input::Command(c) => Some(StationPayload::Command(*c)),
            Input::Weight(_) => None,
        };
        if let Some(StationPayload::Operator(text)) = &payload {
            let op = OperatorId::new(text.as_str()).map_err(|e| {
                StepError::new(ErrorCode::InvalidId, format!("Unreadable badge: {e}"))
            })?;
            let first = self.operator.is_none();
            self.operator = Some(op);
            if first {
                self.assign_next(ctx, updates, None)?;
            }
            return Ok(None);
        }
        if self.operator.is_none() {
            return err(
                ErrorCode::NotSignedIn,
                "Nobody is signed in: scan your badge (U:<your id>) first",
            );
        }
        match &payload {
            Some(StationPayload::Command(Command::Logout)) => {
                self.release(updates);
                self.operator = None;
                self.skipped.clear();
                return Ok(None);
            }
            Some(StationPayload::Command(Command::Next)) => {
                self.skip(ctx, updates)?;
                return Ok(None);
            }
            _ => {}
        }
        let withdrawn = self.work.as_ref().is_some_and(|w| {
            matches!(
                ctx.view.task_status(&w.record.spec.id),
                Some(TaskStatus::Cancelled | TaskStatus::Done)
            )
        });
        if withdrawn {
            // The task was cancelled (or closed) elsewhere while this station worked on it:
            // drop it, unconfirmed scans included, and move on. The scan itself is not used.
            self.work = None;
            self.assign_next(ctx, updates, None)?;
            return Ok(None);
        }
        if self.work.is_none() {
            return self.idle(ctx, input, payload.as_ref(), updates);
        }
        self.run_flow(ctx, input, updates)
    }

    /// Runs the current flow on `input`, handling finish and task switches.
    fn run_flow(
        &mut self,
        ctx: &mut Ctx<'_>,
        input: &Input,
        updates: &mut Vec<TaskRecord>,
    ) -> Result<Option<TaskId>, StepError> {
        let flow_input = match input {
            Input::Scan(p) => FlowInput::Scan(p),
            Input::Weight(w) => FlowInput::Weight(w),
            Input::Command(c) => {
                let payload = StationPayload::Command(*c);
                return self.run_flow(ctx, &Input::Scan(payload), updates);
            }
            Input::Timeout => return Ok(None),
        };
        let Some(work) = self.work.as_mut() else {
            return err(ErrorCode::NoTask, "No task: scan C:NEXT to look for work");
        };
        let task_id = work.record.spec.id.clone();
        step_flow(ctx, work, flow_input)?;
        if let Some(other) = ctx.out.switch_to.take() {
            // The scan named another open task (a tote, carton or order): take that one.
            let record = ctx
                .view
                .open_tasks()
                .into_iter()
                .find(|r| r.spec.id == other)
                .cloned()
                .ok_or_else(|| StepError::new(ErrorCode::NoTask, "That task is gone"))?;
            self.release(updates);
            self.start(ctx, record)?;
            return self.run_flow(ctx, input, updates);
        }
        if ctx.out.finished || ctx.out.cancelled {
            if let Some(mut w) = self.work.take() {
                w.record.progress.status = if ctx.out.cancelled {
                    TaskStatus::Cancelled
                } else {
                    TaskStatus::Done
                };
                w.record.progress.station = None;
                w.record.progress.finished_at_ms = Some(ctx.now_ms);
                updates.push(w.record);
            }
            self.assign_next(ctx, updates, None)?;
        }
        Ok(Some(task_id))
    }

    /// A scan with no task: blind receipt, or a tote/carton/order that names a task.
    fn idle(
        &mut self,
        ctx: &mut Ctx<'_>,
        input: &Input,
        payload: Option<&StationPayload>,
        updates: &mut Vec<TaskRecord>,
    ) -> Result<Option<TaskId>, StepError> {
        match payload {
            Some(StationPayload::Product(_)) if self.config.takes(TaskKind::Receive) => {
                let id = TaskId::new(format!("BR-{}-{}", self.config.id, ctx.now_ms))
                    .map_err(|e| StepError::new(ErrorCode::InvalidId, e.to_string()))?;
                let mut spec = TaskSpec::new(id, TaskKind::Receive);
                spec.blind = true;
                spec.due_ms = Some(ctx.now_ms);
                ctx.out.created.push(spec.clone());
                self.start(ctx, TaskRecord::open(spec))?;
                self.run_flow(ctx, input, updates)
            }
            Some(StationPayload::Container(_) | StationPayload::Order(_)) => {
                let found = self
                    .candidates(ctx.view, &[], &[])
                    .into_iter()
                    .find(|r| names_task(ctx.view, r, payload));
                match found {
                    Some(record) => {
                        self.start(ctx, record.into_owned())?;
                        self.run_flow(ctx, input, updates)
                    }
                    None if matches!(payload, Some(StationPayload::Container(_))) => err(
                        ErrorCode::UnknownContainer,
                        "No open task for that tote or carton at this station",
                    ),
                    None => err(
                        ErrorCode::UnknownOrder,
                        "No open task for that order or RMA at this station",
                    ),
                }
            }
            Some(StationPayload::Command(Command::Cancel)) => {
                err(ErrorCode::NothingToCancel, "Nothing to cancel")
            }
            _ => err(
                ErrorCode::NoTask,
                "No task for this station right now: scan C:NEXT to look again",
            ),
        }
    }

    /// Tasks this station could take, best first (priority high first, then due time, then id).
    /// Borrowed from the view: only the task a station starts is copied.
    fn candidates<'v>(
        &self,
        view: &'v dyn LocalView,
        exclude: &[TaskId],
        extra: &[TaskSpec],
    ) -> Vec<Cow<'v, TaskRecord>> {
        let mut all: Vec<Cow<'v, TaskRecord>> =
            view.open_tasks().into_iter().map(Cow::Borrowed).collect();
        for spec in extra {
            if !all.iter().any(|r| r.spec.id == spec.id) {
                all.push(Cow::Owned(TaskRecord::open(spec.clone())));
            }
        }
        let mut list: Vec<Cow<'v, TaskRecord>> = all
            .into_iter()
            .filter(|r| self.config.takes(r.spec.kind))
            .filter(|r| {
                r.progress
                    .station
                    .as_ref()
                    .is_none_or(|s| s == &self.config.id)
            })
            .filter(|r| !exclude.contains(&r.spec.id))
            .collect();
        list.sort_by(|a, b| {
            b.spec
                .priority
                .cmp(&a.spec.priority)
                .then_with(|| {
                    a.spec
                        .due_ms
                        .unwrap_or(i64::MAX)
                        .cmp(&b.spec.due_ms.unwrap_or(i64::MAX))
                })
                .then_with(|| a.spec.id.cmp(&b.spec.id))
        });
        list
    }

    /// Gives the station the next task (system-directed), skipping `skipped` and `not`.
    fn assign_next(
        &mut self,
        ctx: &mut Ctx<'_>,
        updates: &[TaskRecord],
        not: Option<&TaskId>,
    ) -> Result<(), StepError> {
        let mut exclude = self.skipped.clone();
        exclude.extend(not.cloned());
        // Tasks finished in this very step are still open in the view: exclude them.
        exclude.extend(
            updates
                .iter()
                .filter(|r| !r.progress.status.is_open())
                .map(|r| r.spec.id.clone()),
        );
        let mut list = self.candidates(ctx.view, &exclude, &ctx.out.created);
        if list.is_empty() && !self.skipped.is_empty() {
            self.skipped.clear();
            let mut exclude: Vec<TaskId> = not.cloned().into_iter().collect();
            exclude.extend(
                updates
                    .iter()
                    .filter(|r| !r.progress.status.is_open())
                    .map(|r| r.spec.id.clone()),
            );
            list = self.candidates(ctx.view, &exclude, &ctx.out.created);
        }
        for record in list {
            // A task whose data cannot be worked is left for a supervisor.
            if self.start(ctx, record.into_owned()).is_ok() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Starts working on `record`.
    fn start(&mut self, ctx: &Ctx<'_>, mut record: TaskRecord) -> Result<(), StepError> {
        if !self.config.takes(record.spec.kind) {
            return err(
                ErrorCode::TaskNotAllowed,
                format!(
                    "This station does not do {} tasks",
                    record.spec.kind.as_str()
                ),
            );
        }
        record.normalise();
        let flow = match record.spec.kind {
            TaskKind::Receive => Flow::Receive(receive::start(ctx, &record)?),
            TaskKind::Putaway => Flow::Putaway(putaway::start(ctx, &record)?),
            TaskKind::Pick => Flow::Pick(pick::start(ctx, &record)?),
            TaskKind::Pack => Flow::Pack(pack::start(ctx, &record)?),
            TaskKind::Ship => Flow::Ship(ship::start(ctx, &record)?),
            TaskKind::Count => Flow::Count(count::start(ctx, &record)?),
            TaskKind::Replenish => Flow::Replenish(replenish::start(ctx, &record)?),
            TaskKind::Return => Flow::Return(returns::start(ctx, &record)?),
        };
        record.progress.status = TaskStatus::InProgress;
        record.progress.station = Some(self.config.id.clone());
        self.work = Some(Work { record, flow });
        Ok(())
    }

    /// Gives the current task back (confirmed progress kept, unconfirmed scans dropped).
    fn release(&mut self, updates: &mut Vec<TaskRecord>) {
        if let Some(mut w) = self.work.take() {
            let started = w
                .record
                .progress
                .lines
                .iter()
                .any(|l| l.closed || !l.done.get().is_zero());
            w.record.progress.station = None;
            w.record.progress.status = if started {
                TaskStatus::InProgress
            } else {
                TaskStatus::Open
            };
            updates.push(w.record);
        }
    }

    /// `C:NEXT`: skip to another task.
    fn skip(&mut self, ctx: &mut Ctx<'_>, updates: &mut Vec<TaskRecord>) -> Result<(), StepError> {
        let current = self.work.as_ref().map(|w| w.record.spec.id.clone());
        if let Some(w) = &self.work {
            if flow_has_pending(&w.flow) {
                return err(
                    ErrorCode::UnconfirmedScans,
                    "You have scans that are not confirmed: scan C:CONFIRM or C:CANCEL first",
                );
            }
        }
        let others = self.candidates(ctx.view, &[], &[]);
        let any_other = others.iter().any(|r| Some(&r.spec.id) != current.as_ref());
        if !any_other {
            if current.is_some() {
                return err(ErrorCode::NoTask, "There is no other task to skip to");
            }
            return err(
                ErrorCode::NoTask,
                "No task for this station right now: try again later",
            );
        }
        if let Some(id) = &current {
            if !self.skipped.contains(id) {
                self.skipped.push(id.clone());
            }
        }
        self.release(updates);
        self.assign_next(ctx, updates, current.as_ref())?;
        if self.work.is_none() {
            return err(ErrorCode::NoTask, "There is no other task to skip to");
        }
        Ok(())
    }

    /// The station state for the API.
    pub fn view(&self, view: &dyn LocalView) -> StationView {
        let (prompt, expect, task) = match (&self.operator, &self.work) {
            (None, _) => (
                "Scan your badge to sign in".to_string(),
                Expect::scan(ExpectScan::Operator),
                None,
            ),
            (Some(_), None) => {
                let prompt = if self.config.takes(TaskKind::Receive) {
                    "No task: scan C:NEXT to look for work, or scan a product to receive it"
                } else {
                    "No task: scan C:NEXT to look for work"
                };
                (prompt.to_string(), Expect::scan(ExpectScan::Task), None)
            }
            (Some(_), Some(w)) => {
                let (p, e) = flow_prompt(view, &self.config, w);
                let t = TaskRef {
                    id: w.record.spec.id.clone(),
                    kind: w.record.spec.kind,
                    reference: w.record.spec.reference(),
                };
                (p, e, Some(t))
            }
        };
        StationView {
            station: self.config.id.clone(),
            operator: self.operator.clone(),
            task,
            prompt,
            expect,
            last_error: self.last_error.clone(),
        }
    }
}

/// True when a tote/carton/order scan names this task.
fn names_task(view: &dyn LocalView, r: &TaskRecord, payload: Option<&StationPayload>) -> bool {
    let _ = view;
    match payload {
        Some(StationPayload::Container(c)) => super::product::resolve_container(c)
            .is_ok_and(|c| r.spec.container.as_ref() == Some(&c)),
        Some(StationPayload::Order(o)) => {
            r.spec.order.as_ref().is_some_and(|x| x.as_str() == o)
                || r.spec.doc.as_ref().is_some_and(|x| x.as_str() == o)
        }
        _ => false,
    }
}

/// Another open task (not `current`) that a tote/carton/order scan names, for the flows'
/// "scan the tote or order to start" steps.
pub(crate) fn other_task_named(
    ctx: &Ctx<'_>,
    current: &TaskId,
    payload: &StationPayload,
) -> Option<TaskId> {
    ctx.view
        .open_tasks()
        .into_iter()
        .filter(|r| &r.spec.id != current && ctx.config.takes(r.spec.kind))
        .filter(|r| {
            r.progress
                .station
                .as_ref()
                .is_none_or(|s| s == &ctx.config.id)
        })
        .find(|r| names_task(ctx.view, r, Some(payload)))
        .map(|r| r.spec.id.clone())
}

fn step_flow(ctx: &mut Ctx<'_>, work: &mut Work, input: FlowInput<'_>) -> Result<(), StepError> {
    let record = &mut work.record;
    match &mut work.flow {
        Flow::Receive(s) => receive::step(ctx, record, s, input),
        Flow::Putaway(s) => putaway::step(ctx, record, s, input),
        Flow::Pick(s) => pick::step(ctx, record, s, input),
        Flow::Pack(s) => pack::step(ctx, record, s, input),
        Flow::Ship(s) => ship::step(ctx, record, s, input),
        Flow::Count(s) => count::step(ctx, record, s, input),
        Flow::Replenish(s) => replenish::step(ctx, record, s, input),
        Flow::Return(s) => returns::step(ctx, record, s, input),
    }
}

fn flow_has_pending(flow: &Flow) -> bool {
    match flow {
        Flow::Receive(s) => receive::has_pending(s),
        Flow::Putaway(s) => putaway::has_pending(s),
        Flow::Pick(s) => pick::has_pending(s),
        Flow::Pack(s) => pack::has_pending(s),
        Flow::Ship(_) => false,
        Flow::Count(s) => count::has_pending(s),
        Flow::Replenish(s) => replenish::has_pending(s),
        Flow::Return(s) => returns::has_pending(s),
    }
}

fn flow_prompt(view: &dyn LocalView, config: &StationConfig, w: &Work) -> (String, Expect) {
    let r = &w.record;
    match &w.flow {
        Flow::Receive(s) => receive::prompt(view, config, r, s),
        Flow::Putaway(s) => putaway::prompt(view, r, s),
        Flow::Pick(s) => pick::prompt(view, r, s),
        Flow::Pack(s) => pack::prompt(view, r, s),
        Flow::Ship(s) => ship::prompt(r, s),
        Flow::Count(s) => count::prompt(r, s),
        Flow::Replenish(s) => replenish::prompt(view, r, s),
        Flow::Return(s) => returns::prompt(view, r, s),
    }
}

/// The GTIN to show for an item: its each GTIN, else its first.
pub(crate) fn display_gtin(view: &dyn LocalView, sku: &Sku) -> Option<Gtin> {
    let item = view.item(sku)?;
    item.gtins
        .iter()
        .find(|g| g.pack == PackLevel::Each)
        .or_else(|| item.gtins.first())
        .map(|g| g.gtin)
}

/// The rejection for a scan the current step does not take.
pub(crate) fn unexpected(what: &str) -> StepError {
    StepError::new(ErrorCode::UnexpectedScan, format!("Not now: {what}"))
}

/// The rejection for a weight reading outside the weighing step.
pub(crate) fn unexpected_weight() -> StepError {
    StepError::new(
        ErrorCode::UnexpectedWeight,
        "A weight is only taken when the carton is on the scale",
    )
}
