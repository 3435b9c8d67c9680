//! The engine's own tests: no IO, over [`MemoryRepo`]. A [`Hub`] runs each command as a round
//! the way the hub's writer does (handle → commit → committed, or aborted when the commit
//! fails), with helpers for master data and node events. One file per capability.

// The imports below are also the test files' prelude (`use super::*`).
#![allow(unused_imports)]

mod adjustments;
mod catalog;
mod conformance;
mod credentials;
mod documents;
mod downlink;
mod exceptions;
mod fixtures;
mod ingest;
mod orders;
mod quarantine;
mod snapshot;
mod tasks;
mod webhooks;

use crate::error::EngineResult;
use crate::read::BooksView;
use crate::records::{DocLine, ItemRecord, NodeMaster, StoredException};
use crate::repo::memory::MemoryRepo;
use crate::repo::Repository;
use crate::settings::{QuarantineLimits, Settings};
use crate::{ApiCommand, Command, Effect, Engine, EngineError, Now, RejectKind, Rejection, Reply};
use std::collections::BTreeMap;
use std::str::FromStr;
use stockpost_common::domain::{
    ContainerId, Dec, DocRef, Event, EventBody, EventId, ExceptionCode, Item, LocationCode,
    LocationInfo, LocationKind, NodeId, NonNegQty, OperatorId, OrderRef, Place, Qty, ReasonCode,
    Sku, StockRef, StockStatus, TaskId, Tracking,
};
use stockpost_common::ledger::Stock;
use stockpost_common::orders::{
    Actor, ApprovalPolicy, NewOrder, NewOrderLine, Role, WeightTolerance,
};
use stockpost_common::sync::{ReceiverConfig, SenderConfig};
use stockpost_common::tasks::{LineProgress, TaskSpec, TaskStatus};

pub(crate) use fixtures::*;

/// The node most tests use.
pub(crate) const N1: &str = "DC-EAST";
/// A second node.
pub(crate) const N2: &str = "DC-WEST";
/// The pickable location every registered test node gets.
pub(crate) const PICK: &str = "A-01";
/// A location that is not pickable (receiving dock).
pub(crate) const DOCK: &str = "RCV-1";

/// What one round gave.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The answer of each command, in order.
    pub replies: Vec<EngineResult<Reply>>,
    /// The round was committed.
    pub committed: bool,
    /// The effects of the committed round (empty when it was not).
    pub effects: Vec<Effect>,
}

impl Outcome {
    /// The only reply.
    pub fn reply(&self) -> &EngineResult<Reply> {
        self.replies.first().expect("one reply")
    }

    /// The transmits (acks, resend requests) to `n`.
    pub fn transmits(&self, n: &str) -> Vec<stockpost_common::sync::ReceiverTransmit> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Transmit { node: to, transmit } if to.as_str() == n => Some(*transmit),
                _ => None,
            })
            .collect()
    }

    /// The downlink items sent to `n` in this round.
    pub fn downlink(&self, n: &str) -> Vec<stockpost_common::wire::DownlinkItem> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Downlink {
                    node: to, items, ..
                } if to.as_str() == n => Some(items.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

/// An engine over memory books, driven round by round like the hub's writer.
#[derive(Debug)]
pub(crate) struct Hub {
    pub engine: Engine,
    pub repo: MemoryRepo,
    pub now: Now,
    /// The next event sequence per node.
    pub next_seq: BTreeMap<NodeId, u64>,
}

impl Hub {
    /// A hub with the test settings, nothing registered.
    pub fn new() -> Self {
        Self::with(settings())
    }

    /// A hub with `settings`.
    pub fn with(settings: Settings) -> Self {
        let mut hub = Self {
            engine: Engine::new(settings),
            repo: MemoryRepo::default(),
            now: Now {
                wall: 1_800_000_000_000,
                mono: 1_000,
            },
            next_seq: BTreeMap::new(),
        };
        let now = hub.now;
        hub.engine
            .start(hub.repo.uow(), now)
            .expect("the engine starts");
        let up = hub.run(Command::Link { up: true });
        assert!(up.committed, "the link came up");
        hub
    }

    /// A hub with node N1 (location PICK pickable, DOCK not) and item MUG worth 1.
    pub fn standard() -> Self {
        let mut hub = Self::new();
        hub.register(N1);
        hub.ok(ApiCommand::PutItem(Box::new(item("MUG", "1"))));
        hub
    }

    /// Registers node `n` with a pickable location PICK and a dock DOCK.
    pub fn register(&mut self, n: &str) {
        self.ok(ApiCommand::PutNode(node(n), master(n), keep_or_issue()));
        self.ok(ApiCommand::PutLocation(
            node(n),
            loc(PICK),
            location(LocationKind::Pick, true),
        ));
        self.ok(ApiCommand::PutLocation(
            node(n),
            loc(DOCK),
            location(LocationKind::Receiving, false),
        ));
    }

    /// Moves the clocks on.
    pub fn advance(&mut self, ms: u64) {
        self.now.mono += ms;
        self.now.wall += i64::try_from(ms).expect("ms");
    }

    /// Runs `commands` as one round, as the writer does.
    pub fn round(&mut self, commands: Vec<Command>) -> Outcome {
        let now = self.now;
        let mut replies = Vec::new();
        let mut failed = false;
        for c in commands {
            let r = self.engine.handle(self.repo.uow(), now, c);
            if let Err(EngineError::Internal(_)) = &r {
                failed = true;
            }
            replies.push(r);
            if failed {
                break;
            }
        }
        let committed = !failed && self.repo.commit().is_ok();
        let mut effects = Vec::new();
        if committed {
            effects = self
                .engine
                .committed(self.repo.uow(), now)
                .expect("effects of a committed round");
        } else {
            self.repo.rollback();
            self.engine.aborted();
        }
        Outcome {
            replies,
            committed,
            effects,
        }
    }

    /// Runs one command as a round.
    pub fn run(&mut self, command: Command) -> Outcome {
        self.round(vec![command])
    }

    /// Runs an API command by the admin.
    pub fn api(&mut self, op: ApiCommand) -> Outcome {
        self.api_as(admin(), op)
    }

    /// Runs an API command by `actor`.
    pub fn api_as(&mut self, actor: Actor, op: ApiCommand) -> Outcome {
        self.run(Command::Api { op, actor })
    }

    /// Runs an API command that must succeed; its reply.
    pub fn ok(&mut self, op: ApiCommand) -> Reply {
        let what = format!("{op:?}");
        let out = self.api(op);
        assert!(out.committed, "the round of {what} was committed");
        match out.replies.into_iter().next() {
            Some(Ok(reply)) => reply,
            other => panic!("{what} failed: {other:?}"),
        }
    }

    /// Runs an API command by `actor` that must be refused; the refusal.
    pub fn refused_as(&mut self, actor: Actor, op: ApiCommand) -> Rejection {
        let what = format!("{op:?}");
        let out = self.api_as(actor, op);
        match out.replies.into_iter().next() {
            Some(Err(EngineError::Rejected(r))) => r,
            other => panic!("{what} was not refused: {other:?}"),
        }
    }

    /// Runs an API command by the admin that must be refused.
    pub fn refused(&mut self, op: ApiCommand) -> Rejection {
        self.refused_as(admin(), op)
    }

    /// Events of `n` with the next sequence numbers (the counter moves on).
    pub fn events(&mut self, n: &str, bodies: Vec<EventBody>) -> Vec<Event> {
        let next = self.next_seq.entry(node(n)).or_insert(1);
        let mut out = Vec::new();
        for body in bodies {
            out.push(event(n, *next, body));
            *next += 1;
        }
        out
    }

    /// Sends the next events of `n` as one batch in one round.
    pub fn send(&mut self, n: &str, bodies: Vec<EventBody>) -> Outcome {
        let events = self.events(n, bodies);
        self.batch(n, events)
    }

    /// Sends `events` as a batch of `n`.
    pub fn batch(&mut self, n: &str, events: Vec<Event>) -> Outcome {
        self.run(Command::NodeBatch {
            node: node(n),
            events,
        })
    }

    /// The committed books, as readers see them.
    pub fn view(&self) -> BooksView {
        self.repo.books_view()
    }

    /// The stock.
    pub fn stock(&self) -> &dyn Stock {
        self.repo.books().ledger()
    }

    /// Available of `s` at `n`.
    pub fn available(&self, n: &str, s: &str) -> Dec {
        self.stock().available(&node(n), &sku(s))
    }

    /// On hand of `s` at `n`.
    pub fn on_hand(&self, n: &str, s: &str) -> Dec {
        self.stock().on_hand(&node(n), &sku(s))
    }

    /// Every stored exception of `code`.
    pub fn exceptions_of(&self, code: ExceptionCode) -> Vec<(u64, StoredException)> {
        self.view()
            .exceptions
            .iter()
            .filter(|(_, e)| e.exception.code == code)
            .map(|(id, e)| (*id, (**e).clone()))
            .collect()
    }

    /// Everything the books hold, as text: equal fingerprints mean equal books.
    pub fn fingerprint(&self) -> String {
        let b = self.repo.books();
        let log = self.repo.committed_log();
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            b.ledger(),
            b.items.snapshot(),
            b.nodes.snapshot(),
            b.orders.rows().snapshot(),
            b.exceptions.rows().snapshot(),
            b.adjustments.snapshot(),
            b.tasks.rows().snapshot(),
            b.inbound.snapshot(),
            b.returns.snapshot(),
            b.downlink_marks.snapshot(),
            b.downlink_items.snapshot(),
            b.quarantine.rows().snapshot(),
            b.counters.snapshot(),
            b.kpi.snapshot(),
            log.events,
            log.audit,
            (&log.outbox, &log.dead),
        )
    }
}

/// The rejection in `r`.
pub(crate) fn rejection(r: &EngineResult<Reply>) -> &Rejection {
    match r {
        Err(EngineError::Rejected(x)) => x,
        other => panic!("not a rejection: {other:?}"),
    }
}
