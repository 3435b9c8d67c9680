//! A small test world: one node, a few items and locations, a station helper.

#![allow(clippy::unwrap_used)]

use crate::check_digit::gs1_check_digit;
use crate::domain::{
    ContainerId, Dec, DocRef, EventBody, Gtin, Item, ItemGtin, LocationCode, LocationInfo,
    LocationKind, NodeId, NonNegQty, OrderRef, PackLevel, Place, Qty, Sku, StationId, StockRef,
    StockStatus, TaskId, Tracking,
};
use crate::scan_payload::classify_payload;
use crate::tasks::{
    ErrorCode, InMemoryView, Input, LocalView, Outcome, Station, StationConfig, TaskKind, TaskLine,
    TaskSpec,
};
use std::str::FromStr;

pub const T0: i64 = 1_795_000_000_000; // 2026-11-18

pub fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap()
}
pub fn loc(s: &str) -> LocationCode {
    LocationCode::new(s).unwrap()
}
pub fn q(s: &str) -> Qty {
    Qty::from_str(s).unwrap()
}
pub fn d(s: &str) -> Dec {
    Dec::from_str(s).unwrap()
}
pub fn nn(s: &str) -> NonNegQty {
    NonNegQty::from_str(s).unwrap()
}
pub fn tid(s: &str) -> TaskId {
    TaskId::new(s).unwrap()
}
pub fn order(s: &str) -> OrderRef {
    OrderRef::new(s).unwrap()
}
pub fn doc(s: &str) -> DocRef {
    DocRef::new(s).unwrap()
}
pub fn tote(s: &str) -> ContainerId {
    ContainerId::new(s).unwrap()
}

/// A GTIN-14 from 13 digits, with its check digit.
pub fn gtin14(body: &str) -> String {
    format!("{body}{}", gs1_check_digit(body).unwrap())
}

pub fn mug_each() -> String {
    gtin14("0950110153000")
}
pub fn mug_case() -> String {
    gtin14("1950110153000")
}
pub fn pen_each() -> String {
    gtin14("0950110153101")
}
pub fn pill_each() -> String {
    gtin14("0950110153202")
}
pub fn phone_each() -> String {
    gtin14("0950110153303")
}

/// A GS1-128 scan of a pill box with lot and expiry.
pub fn pill(lot: &str) -> String {
    format!("]C101{}17271231{}10{lot}", pill_each(), "")
}
/// A GS1-128 scan of a phone with a serial.
pub fn phone(serial: &str) -> String {
    format!("]C101{}21{serial}", phone_each())
}

fn item(
    s: &str,
    gtins: &[(String, PackLevel, &str)],
    tracking: Tracking,
    expiry: bool,
    weight: &str,
) -> Item {
    Item {
        sku: sku(s),
        description: s.to_lowercase(),
        gtins: gtins
            .iter()
            .map(|(g, p, n)| ItemGtin {
                gtin: Gtin::new(g).unwrap(),
                pack: *p,
                qty_per_pack: q(n),
            })
            .collect(),
        tracking,
        expiry_controlled: expiry,
        unit_weight_kg: Some(nn(weight)),
        weight_tolerance_pct: Some(nn("5")),
    }
}

pub fn node() -> NodeId {
    NodeId::new("DC-EAST").unwrap()
}

/// The world: items MUG-BLUE (each + case of 12), PEN, PILL (lot + expiry), PHONE (serial);
/// locations DOCK-1 (receiving), A-01-01/A-01-02/A-01-03 (pick), R-01-01/R-01-02 (reserve),
/// PACK-1 (pack), RET-1 (returns), Q-1 (quarantine).
pub fn world() -> InMemoryView {
    let mut v = InMemoryView::new(node());
    v.put_item(item(
        "MUG-BLUE",
        &[
            (mug_each(), PackLevel::Each, "1"),
            (mug_case(), PackLevel::Case, "12"),
        ],
        Tracking::None,
        false,
        "0.350",
    ));
    v.put_item(item(
        "PEN",
        &[(pen_each(), PackLevel::Each, "1")],
        Tracking::None,
        false,
        "0.020",
    ));
    v.put_item(item(
        "PILL",
        &[(pill_each(), PackLevel::Each, "1")],
        Tracking::Lot,
        true,
        "0.050",
    ));
    v.put_item(item(
        "PHONE",
        &[(phone_each(), PackLevel::Each, "1")],
        Tracking::Serial,
        false,
        "0.300",
    ));
    let l = |kind: LocationKind| LocationInfo {
        kind,
        pickable: kind.pickable_by_default(),
        capacity: None,
    };
    v.put_location(loc("DOCK-1"), l(LocationKind::Receiving));
    v.put_location(loc("A-01-01"), l(LocationKind::Pick));
    v.put_location(loc("A-01-02"), l(LocationKind::Pick));
    v.put_location(loc("A-01-03"), l(LocationKind::Pick));
    v.put_location(loc("R-01-01"), l(LocationKind::Reserve));
    v.put_location(loc("R-01-02"), l(LocationKind::Reserve));
    v.put_location(loc("PACK-1"), l(LocationKind::Pack));
    v.put_location(loc("RET-1"), l(LocationKind::Returns));
    v.put_location(loc("Q-1"), l(LocationKind::Quarantine));
    v
}

/// Puts `n` of plain `sku` at `at` (a Receive event).
pub fn stock(v: &mut InMemoryView, s: &str, at: &str, n: &str) {
    v.apply(
        EventBody::Receive {
            location: loc(at),
            stock: StockRef::plain(sku(s)),
            qty: q(n),
            status: StockStatus::Available,
            inbound: None,
        },
        T0,
        None,
        None,
        None,
    )
    .unwrap();
}

pub fn at(v: &InMemoryView, s: &str, place: &str) -> Dec {
    v.balance(
        &Place::Location(loc(place)),
        &StockRef::plain(sku(s)),
        StockStatus::Available,
    )
}

pub fn line(s: &str, n: &str, from: Option<&str>) -> TaskLine {
    TaskLine {
        sku: sku(s),
        qty: q(n),
        location: from.map(loc),
        to: None,
        lot: None,
        serial: None,
        expiry: None,
    }
}

pub fn task(id: &str, kind: TaskKind, lines: Vec<TaskLine>) -> TaskSpec {
    let mut t = TaskSpec::new(tid(id), kind);
    t.lines = lines;
    t
}

/// A station and the clock, driving the world.
pub struct Driver {
    pub station: Station,
    pub view: InMemoryView,
    pub now: i64,
    pub events: Vec<EventBody>,
    /// Every accepted event with the task it belonged to.
    pub log: Vec<(Option<TaskId>, EventBody)>,
    /// How many times the ledger flagged a negative balance.
    pub negative_flags: usize,
}

impl Driver {
    pub fn new(view: InMemoryView, id: &str, kinds: &[TaskKind]) -> Self {
        let mut config = StationConfig::new(StationId::new(id).unwrap(), kinds.to_vec());
        config.receiving_location = Some(loc("DOCK-1"));
        config.returns_location = Some(loc("RET-1"));
        config.carton_tare_kg = d("0.200");
        Self {
            station: Station::new(config),
            view,
            now: T0,
            events: Vec::new(),
            log: Vec::new(),
            negative_flags: 0,
        }
    }

    pub fn input(&mut self, input: Input) -> Outcome {
        self.now += 1000;
        let before = self.station.flow_state();
        let out = self.station.handle(&self.view, input, self.now);
        match &out {
            Outcome::Accepted(a) => {
                let applied = self.view.apply_accepted(a, self.now).unwrap();
                self.negative_flags += applied
                    .iter()
                    .flat_map(|x| x.flags.iter())
                    .filter(|f| matches!(f, crate::ledger::Flag::NegativeBalance { .. }))
                    .count();
                self.events.extend(a.events.iter().cloned());
                self.log
                    .extend(a.events.iter().map(|e| (a.task.clone(), e.clone())));
            }
            Outcome::Rejected(_) => assert_eq!(self.station.flow_state(), before),
        }
        out
    }

    pub fn scan(&mut self, text: &str) -> Outcome {
        let payload = classify_payload(text.as_bytes()).unwrap();
        self.input(Input::Scan(payload))
    }

    /// Scans and asserts it was accepted; returns the events.
    pub fn ok(&mut self, text: &str) -> Vec<EventBody> {
        match self.scan(text) {
            Outcome::Accepted(a) => a.events,
            Outcome::Rejected(e) => panic!("{text} rejected: {} {}", e.code, e.message),
        }
    }

    /// Scans and asserts it was rejected with `code`; returns the message.
    pub fn rejected(&mut self, text: &str, code: ErrorCode) -> String {
        match self.scan(text) {
            Outcome::Accepted(a) => panic!("{text} accepted: {:?}", a.state),
            Outcome::Rejected(e) => {
                assert_eq!(e.code, code, "{text}: {}", e.message);
                e.message
            }
        }
    }

    pub fn expect_scan(&self) -> crate::tasks::ExpectScan {
        self.station.view(&self.view).expect.scan
    }
}
