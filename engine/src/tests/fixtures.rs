//! Ids, master data and node event bodies for the tests.

#![allow(unused_imports)]

use super::*;
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

pub(crate) fn node(n: &str) -> NodeId {
    NodeId::new(n).expect("node id")
}
pub(crate) fn sku(s: &str) -> Sku {
    Sku::new(s).expect("sku")
}
pub(crate) fn loc(l: &str) -> LocationCode {
    LocationCode::new(l).expect("location code")
}
pub(crate) fn dec(d: &str) -> Dec {
    Dec::from_str(d).expect("decimal")
}
pub(crate) fn qty(q: &str) -> Qty {
    Qty::from_str(q).expect("quantity")
}
pub(crate) fn nonneg(q: &str) -> NonNegQty {
    NonNegQty::from_str(q).expect("non-negative quantity")
}
pub(crate) fn order_ref(o: &str) -> OrderRef {
    OrderRef::new(o).expect("order ref")
}
pub(crate) fn doc(d: &str) -> DocRef {
    DocRef::new(d).expect("doc ref")
}
pub(crate) fn task_id(t: &str) -> TaskId {
    TaskId::new(t).expect("task id")
}
pub(crate) fn tote(t: &str) -> ContainerId {
    ContainerId::new(t).expect("container id")
}

/// An admin (may do everything).
pub(crate) fn admin() -> Actor {
    Actor {
        name: "admin".into(),
        role: Role::Admin,
    }
}

/// The settings of the tests: approval above 100, no webhooks, manual release.
pub(crate) fn settings() -> Settings {
    Settings {
        policy: ApprovalPolicy {
            threshold: dec("100"),
        },
        weight: WeightTolerance {
            pct: dec("5"),
            min_kg: dec("0.05"),
        },
        sender: SenderConfig {
            max_batch: 50,
            max_in_flight: 200,
            ack_timeout_ms: 5_000,
        },
        receiver: ReceiverConfig {
            resend_interval_ms: 1_000,
        },
        max_pending: 1_000,
        auto_release: false,
        hooks: Vec::new(),
        quarantine: QuarantineLimits::default(),
    }
}

/// An item record of `sku` worth `unit_value` a unit.
pub(crate) fn item(s: &str, unit_value: &str) -> ItemRecord {
    ItemRecord {
        item: Item {
            sku: sku(s),
            description: format!("item {s}"),
            gtins: Vec::new(),
            tracking: Tracking::None,
            expiry_controlled: false,
            unit_weight_kg: None,
            weight_tolerance_pct: None,
        },
        unit_value: dec(unit_value),
    }
}

/// A sync credential made of `byte` repeated.
pub(crate) fn key(byte: u8) -> stockpost_common::wire::SyncKey {
    stockpost_common::wire::SyncKey::from_bytes([byte; 32])
}

/// Registration that keeps a node's credential, issuing `key(7)` to a node without one.
pub(crate) fn keep_or_issue() -> crate::command::CredentialChoice {
    crate::command::CredentialChoice::KeepOrIssue(key(7))
}

/// Node master data.
pub(crate) fn master(name: &str) -> NodeMaster {
    NodeMaster {
        name: name.into(),
        priority: 1,
        active: true,
        cutoff_ms_of_day: None,
    }
}

/// A location's master data.
pub(crate) fn location(kind: LocationKind, pickable: bool) -> LocationInfo {
    LocationInfo {
        kind,
        pickable,
        capacity: None,
    }
}

/// An order of `lines` (sku, qty).
pub(crate) fn new_order(r: &str, lines: &[(&str, &str)]) -> NewOrder {
    NewOrder {
        order_ref: r.into(),
        channel: "web".into(),
        ship_by_ms: 2_000_000_000_000,
        lines: lines
            .iter()
            .map(|(s, q)| NewOrderLine {
                sku: (*s).into(),
                qty: dec(q),
            })
            .collect(),
    }
}

/// A document line.
pub(crate) fn doc_line(s: &str, q: &str) -> DocLine {
    DocLine {
        sku: sku(s),
        qty: qty(q),
        lot: None,
        expiry: None,
    }
}

// Event bodies.

pub(crate) fn receive(l: &str, s: &str, q: &str) -> EventBody {
    EventBody::Receive {
        location: loc(l),
        stock: StockRef::plain(sku(s)),
        qty: qty(q),
        status: StockStatus::Available,
        inbound: None,
    }
}
pub(crate) fn receive_against(l: &str, s: &str, q: &str, d: &str) -> EventBody {
    EventBody::Receive {
        location: loc(l),
        stock: StockRef::plain(sku(s)),
        qty: qty(q),
        status: StockStatus::Available,
        inbound: Some(doc(d)),
    }
}
pub(crate) fn adjust(l: &str, s: &str, delta: &str) -> EventBody {
    EventBody::Adjust {
        place: Place::Location(loc(l)),
        stock: StockRef::plain(sku(s)),
        status: StockStatus::Available,
        delta: dec(delta),
        reason: ReasonCode::Found,
        adjustment: None,
    }
}
pub(crate) fn reversal(l: &str, s: &str, delta: &str, adjustment: &str) -> EventBody {
    EventBody::Adjust {
        place: Place::Location(loc(l)),
        stock: StockRef::plain(sku(s)),
        status: StockStatus::Available,
        delta: dec(delta),
        reason: ReasonCode::AdjustmentReversed,
        adjustment: Some(doc(adjustment)),
    }
}
pub(crate) fn count(l: &str, s: &str, counted: &str, expected: &str) -> EventBody {
    EventBody::CountResult {
        location: loc(l),
        stock: StockRef::plain(sku(s)),
        status: StockStatus::Available,
        counted: nonneg(counted),
        expected: nonneg(expected),
    }
}
pub(crate) fn pick(l: &str, s: &str, q: &str, t: &str, o: &str) -> EventBody {
    EventBody::Pick {
        from: loc(l),
        to: tote(t),
        stock: StockRef::plain(sku(s)),
        qty: qty(q),
        order: order_ref(o),
    }
}
pub(crate) fn short_pick(l: &str, s: &str, expected: &str, picked: &str, o: &str) -> EventBody {
    EventBody::ShortPick {
        location: loc(l),
        stock: StockRef::plain(sku(s)),
        expected: qty(expected),
        picked: nonneg(picked),
        order: order_ref(o),
    }
}
pub(crate) fn task_defined(spec: TaskSpec) -> EventBody {
    EventBody::TaskDefined { spec }
}
pub(crate) fn task_progress(t: &str, status: TaskStatus, done: &[(&str, bool)]) -> EventBody {
    EventBody::TaskProgress {
        task: task_id(t),
        status,
        lines: done
            .iter()
            .map(|(d, closed)| LineProgress {
                done: nonneg(d),
                closed: *closed,
            })
            .collect(),
        spawned: 0,
    }
}

/// An event of `n` at `seq`.
pub(crate) fn event(n: &str, seq: u64, body: EventBody) -> Event {
    Event {
        id: EventId { node: node(n), seq },
        at_ms: 1_800_000_000_000 + i64::try_from(seq).expect("seq"),
        operator: Some(OperatorId::new("op-1").expect("operator")),
        station: None,
        task: None,
        body,
    }
}
