//! Shared by the wire tests: deterministic sample envelopes (the golden fixtures' values),
//! proptest strategies for every wire type, and a hand-written frame builder for crafting
//! malformed envelopes.

#![allow(dead_code)]

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::error::Error;
use std::str::FromStr;
use stockpost_common::check_digit::gs1_check_digit;
use stockpost_common::domain::{
    ContainerId, Date, Dec, Disposition, DocRef, Event, EventBody, EventId, Gtin, Item, ItemGtin,
    LocationCode, LocationInfo, LocationKind, Lot, MovePurpose, NodeId, NonNegQty, OperatorId,
    OrderRef, PackLevel, PackLine, Place, Qty, ReasonCode, Serial, Sku, StationId, StockRef,
    StockStatus, TaskId, Tracking,
};
use stockpost_common::wire::{DownlinkItem, Envelope, Message, SyncKey, TAG_LEN};

/// Result type for sample builders.
pub type R<T> = Result<T, Box<dyn Error>>;

// ---------------------------------------------------------------------------------------------
// Hand-written frames
// ---------------------------------------------------------------------------------------------

/// The sync credential every wire test uses: bytes 1, 2, …, 32 (hex `0102…20`).
pub fn key() -> SyncKey {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::try_from(i + 1).unwrap_or(1);
    }
    SyncKey::from_bytes(bytes)
}

/// Replaces the tag at the end of `bytes` with the right one under [`key`] (after a test
/// changed a byte before it on purpose).
pub fn retag(bytes: &mut Vec<u8>) {
    let signed = bytes.len().saturating_sub(TAG_LEN);
    bytes.truncate(signed);
    let tag = key().tag(bytes);
    bytes.extend_from_slice(&tag);
}

/// Builds an envelope by hand, without any of `encode`'s checks, tagged under [`key`] (format
/// version 2 and later; a version-1 frame has no tag).
pub fn frame(version: u8, kind: u8, node: &[u8], seq: u64, body: &[u8]) -> Vec<u8> {
    let mut out = b"SPW".to_vec();
    out.push(version);
    out.push(kind);
    out.push(u8::try_from(node.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(node);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(body);
    if version >= 2 {
        let tag = key().tag(&out);
        out.extend_from_slice(&tag);
    }
    out
}

/// The offset of the body in an envelope whose node id is `node_len` bytes.
pub fn body_offset(node_len: usize) -> usize {
    18 + node_len
}

// ---------------------------------------------------------------------------------------------
// Deterministic samples
// ---------------------------------------------------------------------------------------------

pub fn node() -> R<NodeId> {
    Ok(NodeId::new("DC-EAST")?)
}

pub fn dec(text: &str) -> R<Dec> {
    Ok(Dec::from_str(text)?)
}

pub fn qty(text: &str) -> R<Qty> {
    Ok(Qty::from_str(text)?)
}

pub fn nonneg(text: &str) -> R<NonNegQty> {
    Ok(NonNegQty::from_str(text)?)
}

pub fn loc(text: &str) -> R<LocationCode> {
    Ok(LocationCode::new(text)?)
}

pub fn container(text: &str) -> R<ContainerId> {
    Ok(ContainerId::new(text)?)
}

pub fn order(text: &str) -> R<OrderRef> {
    Ok(OrderRef::new(text)?)
}

pub fn doc(text: &str) -> R<DocRef> {
    Ok(DocRef::new(text)?)
}

/// A plain, untracked mug.
pub fn mug() -> R<StockRef> {
    Ok(StockRef::plain(Sku::new("MUG-BLUE")?))
}

/// A lot-tracked, expiry-controlled yoghurt.
pub fn yoghurt() -> R<StockRef> {
    Ok(StockRef {
        sku: Sku::new("YOG-500")?,
        lot: Some(Lot::new("L2611-A")?),
        serial: None,
        expiry: Some(Date::new(2026, 12, 31)?),
    })
}

/// A serial-tracked scanner.
pub fn scanner() -> R<StockRef> {
    Ok(StockRef {
        sku: Sku::new("SCN-2D")?,
        lot: None,
        serial: Some(Serial::new("SN0042")?),
        expiry: None,
    })
}

/// One sample body per `EventBody` variant, in variant order, with its fixture name.
pub fn sample_bodies() -> R<Vec<(&'static str, EventBody)>> {
    Ok(vec![
        (
            "receive",
            EventBody::Receive {
                location: loc("RCV-01")?,
                stock: yoghurt()?,
                qty: qty("24")?,
                status: StockStatus::QualityHold,
                inbound: Some(doc("ASN-7001")?),
            },
        ),
        (
            "move",
            EventBody::Move {
                from: Place::Location(loc("RCV-01")?),
                to: Place::Location(loc("A-01-03-B-2")?),
                stock: yoghurt()?,
                status: StockStatus::Available,
                qty: qty("12.500")?,
                purpose: MovePurpose::Putaway,
                reason: Some(ReasonCode::LocationOverride),
            },
        ),
        (
            "pick",
            EventBody::Pick {
                from: loc("A-01-03-B-2")?,
                to: container("TOTE-0042")?,
                stock: mug()?,
                qty: qty("3")?,
                order: order("SO-5001")?,
            },
        ),
        (
            "short_pick",
            EventBody::ShortPick {
                location: loc("A-01-03-B-2")?,
                stock: mug()?,
                expected: qty("5")?,
                picked: nonneg("0")?,
                order: order("SO-5001")?,
            },
        ),
        (
            "pack",
            EventBody::Pack {
                from: container("TOTE-0042")?,
                carton: container("CTN-9001")?,
                order: order("SO-5001")?,
                lines: vec![
                    PackLine {
                        stock: mug()?,
                        qty: qty("3")?,
                    },
                    PackLine {
                        stock: scanner()?,
                        qty: qty("1")?,
                    },
                ],
                measured_kg: Some(nonneg("1.300")?),
                expected_kg: Some(nonneg("1.25")?),
            },
        ),
        (
            "ship",
            EventBody::Ship {
                container: container("CTN-9001")?,
                order: order("SO-5001")?,
                sscc: Some("376130321109103420".to_string()),
                lines: vec![PackLine {
                    stock: mug()?,
                    qty: qty("3")?,
                }],
            },
        ),
        (
            "adjust",
            EventBody::Adjust {
                place: Place::Container(container("TOTE-0042")?),
                stock: mug()?,
                status: StockStatus::Damaged,
                delta: dec("-2.000001")?,
                reason: ReasonCode::Damaged,
                adjustment: Some(doc("ADJ-77")?),
            },
        ),
        (
            "count_result",
            EventBody::CountResult {
                location: loc("A-01-03-B-2")?,
                stock: mug()?,
                status: StockStatus::Available,
                counted: nonneg("17")?,
                expected: nonneg("18.0")?,
            },
        ),
        (
            "return_receive",
            EventBody::ReturnReceive {
                location: loc("RET-01")?,
                stock: scanner()?,
                qty: qty("1")?,
                rma: doc("RMA-300")?,
                order: Some(order("SO-4999")?),
            },
        ),
        (
            "disposition",
            EventBody::Disposition {
                location: loc("RET-01")?,
                stock: scanner()?,
                qty: qty("1")?,
                disposition: Disposition::Restock {
                    to: loc("A-02-01-A-1")?,
                },
                rma: doc("RMA-300")?,
            },
        ),
        (
            "status_change",
            EventBody::StatusChange {
                place: Place::Location(loc("A-01-03-B-2")?),
                stock: yoghurt()?,
                qty: qty("6")?,
                from: StockStatus::Available,
                to: StockStatus::Quarantine,
                reason: ReasonCode::QualityHold,
            },
        ),
        (
            "transfer_out",
            EventBody::TransferOut {
                from: Place::Location(loc("SHIP-01")?),
                stock: mug()?,
                status: StockStatus::InTransit,
                qty: qty("48")?,
                to_node: NodeId::new("DC-WEST")?,
            },
        ),
        (
            "transfer_in",
            EventBody::TransferIn {
                to: loc("RCV-01")?,
                stock: mug()?,
                qty: qty("48")?,
                from_node: NodeId::new("DC-WEST")?,
            },
        ),
        (
            "task_defined",
            EventBody::TaskDefined { spec: pack_task()? },
        ),
        (
            "task_progress",
            EventBody::TaskProgress {
                task: TaskId::new("T-PICK-1-PACK")?,
                status: stockpost_common::tasks::TaskStatus::InProgress,
                lines: vec![
                    stockpost_common::tasks::LineProgress {
                        done: nonneg("2")?,
                        closed: false,
                    },
                    stockpost_common::tasks::LineProgress {
                        done: nonneg("1")?,
                        closed: true,
                    },
                ],
                spawned: 1,
            },
        ),
    ])
}

/// A pack task as a node makes it after a pick.
fn pack_task() -> R<stockpost_common::tasks::TaskSpec> {
    use stockpost_common::tasks::{TaskKind, TaskLine, TaskSpec};
    let mut spec = TaskSpec::new(TaskId::new("T-PICK-1-PACK")?, TaskKind::Pack);
    spec.order = Some(order("SO-5001")?);
    spec.container = Some(ContainerId::new("TOTE-7")?);
    spec.priority = 5;
    spec.lines = vec![
        TaskLine {
            sku: Sku::new("MUG-BLUE")?,
            qty: qty("2")?,
            location: None,
            to: None,
            lot: None,
            serial: None,
            expiry: None,
        },
        TaskLine {
            sku: Sku::new("YOG-NAT")?,
            qty: qty("1")?,
            location: None,
            to: None,
            lot: Some(Lot::new("L-2291")?),
            serial: None,
            expiry: Some(Date::parse("2027-01-31")?),
        },
    ];
    Ok(spec)
}

/// The downlink variants appended after the task ones (their own fixture).
pub fn sample_reversal_items() -> R<Vec<DownlinkItem>> {
    Ok(vec![DownlinkItem::ReverseAdjustment {
        adjustment: doc("ADJ-12")?,
        place: Place::Location(loc("A-01-03-B-2")?),
        stock: mug()?,
        status: StockStatus::Available,
        delta: Dec::from_str("29")?,
    }])
}

/// A sample event at `seq` on the sample node.
pub fn event(seq: u64, body: EventBody) -> R<Event> {
    Ok(Event {
        id: EventId { node: node()?, seq },
        at_ms: 1_795_000_000_000 + i64::try_from(seq % 1000)?,
        operator: Some(OperatorId::new("op-17")?),
        station: Some(StationId::new("pack-1")?),
        task: Some(TaskId::new("T-100")?),
        body,
    })
}

/// Sample item master data.
pub fn sample_item() -> R<Item> {
    Ok(Item {
        sku: Sku::new("MUG-BLUE")?,
        description: "Blue mug 350 ml".into(),
        gtins: vec![
            ItemGtin {
                gtin: Gtin::new("09501101530003")?,
                pack: PackLevel::Each,
                qty_per_pack: qty("1")?,
            },
            ItemGtin {
                gtin: Gtin::new("19501101530000")?,
                pack: PackLevel::Case,
                qty_per_pack: qty("12")?,
            },
        ],
        tracking: Tracking::None,
        expiry_controlled: false,
        unit_weight_kg: Some(nonneg("0.350")?),
        weight_tolerance_pct: Some(nonneg("5")?),
    })
}

/// One sample downlink item per `DownlinkItem` variant, in variant order.
pub fn sample_downlink_items() -> R<Vec<DownlinkItem>> {
    Ok(vec![
        DownlinkItem::ItemUpsert(sample_item()?),
        DownlinkItem::LocationUpsert {
            code: loc("A-01-03-B-2")?,
            info: LocationInfo {
                kind: LocationKind::Pick,
                pickable: true,
                capacity: Some(nonneg("120")?),
            },
        },
        DownlinkItem::Cancel {
            order: order("SO-5002")?,
        },
        DownlinkItem::AdjustmentApproved {
            adjustment: doc("ADJ-77")?,
        },
    ])
}

/// The task variants of `DownlinkItem`, appended after the first four (their own fixture, so the
/// first `downlink` fixture stays byte-for-byte what it was).
pub fn sample_task_items() -> R<Vec<DownlinkItem>> {
    use stockpost_common::tasks::{TaskKind, TaskLine, TaskSpec};
    let mut pick = TaskSpec::new(
        stockpost_common::domain::TaskId::new("T-PICK-1")?,
        TaskKind::Pick,
    );
    pick.order = Some(order("SO-5001")?);
    pick.priority = 5;
    pick.due_ms = Some(1_796_000_000_000);
    pick.lines = vec![TaskLine {
        sku: stockpost_common::domain::Sku::new("MUG-BLUE")?,
        qty: qty("3")?,
        location: Some(loc("A-01-03-B-2")?),
        to: None,
        lot: None,
        serial: None,
        expiry: None,
    }];
    Ok(vec![
        DownlinkItem::Task(pick),
        DownlinkItem::TaskCancel {
            task: stockpost_common::domain::TaskId::new("T-PICK-0")?,
        },
    ])
}

fn env(seq: u64, message: Message) -> R<Envelope> {
    Ok(Envelope {
        node: node()?,
        seq,
        message,
    })
}

/// Every golden sample, with its fixture name: one per message kind, one `EventBatch` per
/// event variant, and a batch of several events.
pub fn samples() -> R<Vec<(String, Envelope)>> {
    let mut out = Vec::new();
    for (i, (name, body)) in sample_bodies()?.into_iter().enumerate() {
        let seq = 41 + u64::try_from(i)?;
        out.push((
            format!("event_batch_{name}"),
            env(
                seq,
                Message::EventBatch {
                    events: vec![event(seq, body)?],
                },
            )?,
        ));
    }
    let mut three = Vec::new();
    for (offset, (_, body)) in sample_bodies()?.into_iter().take(3).enumerate() {
        let mut e = event(300 + u64::try_from(offset)?, body)?;
        if offset == 1 {
            // Who/where/task are optional: freeze their absence too.
            e.operator = None;
            e.station = None;
            e.task = None;
            e.at_ms = -1;
        }
        three.push(e);
    }
    out.push((
        "event_batch_three_events".into(),
        env(300, Message::EventBatch { events: three })?,
    ));
    out.push(("ack".into(), env(340, Message::Ack { applied_seq: 340 })?));
    out.push((
        "resend_request".into(),
        env(341, Message::ResendRequest { from_seq: 341 })?,
    ));
    out.push((
        "node_status".into(),
        env(
            360,
            Message::NodeStatus {
                online: true,
                outbox_pending: 19,
                last_seq: 360,
            },
        )?,
    ));
    out.push((
        "node_status_last_will".into(),
        env(
            0,
            Message::NodeStatus {
                online: false,
                outbox_pending: 0,
                last_seq: 0,
            },
        )?,
    ));
    out.push((
        "downlink".into(),
        env(
            7,
            Message::Downlink {
                items: sample_downlink_items()?,
            },
        )?,
    ));
    out.push((
        "downlink_tasks".into(),
        env(
            11,
            Message::Downlink {
                items: sample_task_items()?,
            },
        )?,
    ));
    out.push((
        "downlink_reverse_adjustment".into(),
        env(
            13,
            Message::Downlink {
                items: sample_reversal_items()?,
            },
        )?,
    ));
    out.push((
        "downlink_ack".into(),
        env(10, Message::DownlinkAck { applied_seq: 10 })?,
    ));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn id<T: 'static + std::fmt::Debug>(
    regex: &'static str,
    make: fn(String) -> Option<T>,
) -> BoxedStrategy<T> {
    proptest::string::string_regex(regex)
        .unwrap_or_else(|e| panic!("bad regex {regex}: {e}"))
        .prop_filter_map("invalid id", make)
        .boxed()
}

pub fn arb_node() -> BoxedStrategy<NodeId> {
    id("[A-Z0-9._-]{1,32}", |s| NodeId::new(s).ok())
}

pub fn arb_sku() -> BoxedStrategy<Sku> {
    id("[A-Z0-9._-]{1,40}", |s| Sku::new(s).ok())
}

pub fn arb_operator() -> BoxedStrategy<OperatorId> {
    id("[!-~]{1,32}", |s| OperatorId::new(s).ok())
}

pub fn arb_station() -> BoxedStrategy<StationId> {
    id("[!-~]{1,32}", |s| StationId::new(s).ok())
}

pub fn arb_task() -> BoxedStrategy<TaskId> {
    id("[!-~]{1,64}", |s| TaskId::new(s).ok())
}

pub fn arb_order() -> BoxedStrategy<OrderRef> {
    id("[!-~]{1,40}", |s| OrderRef::new(s).ok())
}

pub fn arb_container() -> BoxedStrategy<ContainerId> {
    id("[!-~]{1,40}", |s| ContainerId::new(s).ok())
}

pub fn arb_doc() -> BoxedStrategy<DocRef> {
    id("[!-~]{1,40}", |s| DocRef::new(s).ok())
}

pub fn arb_lot() -> BoxedStrategy<Lot> {
    id(r#"[A-Za-z0-9!"%&'()*+,./:;<=>?_-]{1,20}"#, |s| {
        Lot::new(s).ok()
    })
}

pub fn arb_serial() -> BoxedStrategy<Serial> {
    id(r#"[A-Za-z0-9!"%&'()*+,./:;<=>?_-]{1,20}"#, |s| {
        Serial::new(s).ok()
    })
}

pub fn arb_location() -> BoxedStrategy<LocationCode> {
    id("[A-Z0-9]{1,4}(-[A-Z0-9]{1,4}){0,7}", |s| {
        LocationCode::new(s).ok()
    })
}

pub fn arb_date() -> BoxedStrategy<Date> {
    (2000u16..=2199, 1u8..=12, 1u8..=31)
        .prop_filter_map("no such day", |(y, m, d)| Date::new(y, m, d).ok())
        .boxed()
}

pub fn arb_gtin() -> BoxedStrategy<Gtin> {
    vec(0u8..10, 13)
        .prop_filter_map("no check digit", |digits| {
            let body: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let check = gs1_check_digit(&body)?;
            Gtin::new(&format!("{body}{check}")).ok()
        })
        .boxed()
}

/// Any `Dec`, over every scale 0..=6 and the whole magnitude range, plus edge values.
pub fn arb_dec() -> BoxedStrategy<Dec> {
    let any_scale = (0u8..=6)
        .prop_flat_map(|scale| {
            let bound = 10i128.pow(12 + u32::from(scale));
            (-bound + 1..bound, Just(scale))
        })
        .prop_filter_map("out of range", |(m, s)| Dec::from_parts(m, s).ok());
    let small = (-1000i128..1000, 0u8..=6)
        .prop_filter_map("out of range", |(m, s)| Dec::from_parts(m, s).ok());
    prop_oneof![any_scale, small].boxed()
}

pub fn arb_qty() -> BoxedStrategy<Qty> {
    arb_dec()
        .prop_filter_map("not positive", |d| {
            Qty::new(if d.is_negative() { -d } else { d }).ok()
        })
        .boxed()
}

pub fn arb_nonneg() -> BoxedStrategy<NonNegQty> {
    arb_dec()
        .prop_filter_map("negative", |d| {
            NonNegQty::new(if d.is_negative() { -d } else { d }).ok()
        })
        .boxed()
}

pub fn arb_stock_status() -> BoxedStrategy<StockStatus> {
    proptest::sample::select(StockStatus::ALL.to_vec()).boxed()
}

pub fn arb_reason() -> BoxedStrategy<ReasonCode> {
    proptest::sample::select(vec![
        ReasonCode::Damaged,
        ReasonCode::Lost,
        ReasonCode::Found,
        ReasonCode::CountVariance,
        ReasonCode::Expired,
        ReasonCode::Correction,
        ReasonCode::QualityHold,
        ReasonCode::Released,
        ReasonCode::LocationOverride,
        ReasonCode::LocationFull,
        ReasonCode::CustomerReturn,
        ReasonCode::Other,
    ])
    .boxed()
}

pub fn arb_disposition() -> BoxedStrategy<Disposition> {
    prop_oneof![
        arb_location().prop_map(|to| Disposition::Restock { to }),
        Just(Disposition::Refurbish),
        Just(Disposition::Quarantine),
        Just(Disposition::VendorReturn),
        Just(Disposition::WriteOff),
    ]
    .boxed()
}

pub fn arb_purpose() -> BoxedStrategy<MovePurpose> {
    proptest::sample::select(vec![
        MovePurpose::Putaway,
        MovePurpose::Replenish,
        MovePurpose::Internal,
    ])
    .boxed()
}

pub fn arb_stock() -> BoxedStrategy<StockRef> {
    (
        arb_sku(),
        option::of(arb_lot()),
        option::of(arb_serial()),
        option::of(arb_date()),
    )
        .prop_map(|(sku, lot, serial, expiry)| StockRef {
            sku,
            lot,
            serial,
            expiry,
        })
        .boxed()
}

pub fn arb_place() -> BoxedStrategy<Place> {
    prop_oneof![
        arb_location().prop_map(Place::Location),
        arb_container().prop_map(Place::Container),
    ]
    .boxed()
}

pub fn arb_lines() -> BoxedStrategy<Vec<PackLine>> {
    vec(
        (arb_stock(), arb_qty()).prop_map(|(stock, qty)| PackLine { stock, qty }),
        0..4,
    )
    .boxed()
}

/// Any `EventBody`, every variant. (Not necessarily `Event::validate`-valid: the wire carries
/// structurally valid events; business validation is the ledger's job.)
pub fn arb_event_body() -> BoxedStrategy<EventBody> {
    prop_oneof![
        (
            arb_location(),
            arb_stock(),
            arb_qty(),
            arb_stock_status(),
            option::of(arb_doc())
        )
            .prop_map(
                |(location, stock, qty, status, inbound)| EventBody::Receive {
                    location,
                    stock,
                    qty,
                    status,
                    inbound
                }
            ),
        (
            arb_place(),
            arb_place(),
            arb_stock(),
            arb_stock_status(),
            arb_qty(),
            arb_purpose(),
            option::of(arb_reason())
        )
            .prop_map(
                |(from, to, stock, status, qty, purpose, reason)| EventBody::Move {
                    from,
                    to,
                    stock,
                    status,
                    qty,
                    purpose,
                    reason
                }
            ),
        (
            arb_location(),
            arb_container(),
            arb_stock(),
            arb_qty(),
            arb_order()
        )
            .prop_map(|(from, to, stock, qty, order)| EventBody::Pick {
                from,
                to,
                stock,
                qty,
                order
            }),
        (
            arb_location(),
            arb_stock(),
            arb_qty(),
            arb_nonneg(),
            arb_order()
        )
            .prop_map(
                |(location, stock, expected, picked, order)| EventBody::ShortPick {
                    location,
                    stock,
                    expected,
                    picked,
                    order
                }
            ),
        (
            arb_container(),
            arb_container(),
            arb_order(),
            arb_lines(),
            option::of(arb_nonneg()),
            option::of(arb_nonneg())
        )
            .prop_map(|(from, carton, order, lines, measured_kg, expected_kg)| {
                EventBody::Pack {
                    from,
                    carton,
                    order,
                    lines,
                    measured_kg,
                    expected_kg,
                }
            }),
        (
            arb_container(),
            arb_order(),
            option::of(any::<String>()),
            arb_lines()
        )
            .prop_map(|(container, order, sscc, lines)| EventBody::Ship {
                container,
                order,
                sscc,
                lines
            }),
        (
            arb_place(),
            arb_stock(),
            arb_stock_status(),
            arb_dec(),
            arb_reason(),
            option::of(arb_doc())
        )
            .prop_map(|(place, stock, status, delta, reason, adjustment)| {
                EventBody::Adjust {
                    place,
                    stock,
                    status,
                    delta,
                    reason,
                    adjustment,
                }
            }),
        (
            arb_location(),
            arb_stock(),
            arb_stock_status(),
            arb_nonneg(),
            arb_nonneg()
        )
            .prop_map(|(location, stock, status, counted, expected)| {
                EventBody::CountResult {
                    location,
                    stock,
                    status,
                    counted,
                    expected,
                }
            }),
        (
            arb_location(),
            arb_stock(),
            arb_qty(),
            arb_doc(),
            option::of(arb_order())
        )
            .prop_map(
                |(location, stock, qty, rma, order)| EventBody::ReturnReceive {
                    location,
                    stock,
                    qty,
                    rma,
                    order
                }
            ),
        (
            arb_location(),
            arb_stock(),
            arb_qty(),
            arb_disposition(),
            arb_doc()
        )
            .prop_map(
                |(location, stock, qty, disposition, rma)| EventBody::Disposition {
                    location,
                    stock,
                    qty,
                    disposition,
                    rma
                }
            ),
        (
            arb_place(),
            arb_stock(),
            arb_qty(),
            arb_stock_status(),
            arb_stock_status(),
            arb_reason()
        )
            .prop_map(
                |(place, stock, qty, from, to, reason)| EventBody::StatusChange {
                    place,
                    stock,
                    qty,
                    from,
                    to,
                    reason
                }
            ),
        (
            arb_place(),
            arb_stock(),
            arb_stock_status(),
            arb_qty(),
            arb_node()
        )
            .prop_map(
                |(from, stock, status, qty, to_node)| EventBody::TransferOut {
                    from,
                    stock,
                    status,
                    qty,
                    to_node
                }
            ),
        (arb_location(), arb_stock(), arb_qty(), arb_node()).prop_map(
            |(to, stock, qty, from_node)| EventBody::TransferIn {
                to,
                stock,
                qty,
                from_node
            }
        ),
        (arb_doc(), arb_order(), vec((arb_sku(), arb_qty()), 0..3)).prop_map(
            |(doc, order, lines)| {
                let id = TaskId::new(format!("T-{doc}")).unwrap_or_else(|e| panic!("{e}"));
                let mut spec = stockpost_common::tasks::TaskSpec::new(
                    id,
                    stockpost_common::tasks::TaskKind::Pack,
                );
                spec.order = Some(order);
                spec.lines = lines
                    .into_iter()
                    .map(|(sku, qty)| stockpost_common::tasks::TaskLine {
                        sku,
                        qty,
                        location: None,
                        to: None,
                        lot: None,
                        serial: None,
                        expiry: None,
                    })
                    .collect();
                EventBody::TaskDefined { spec }
            }
        ),
        (
            arb_doc(),
            vec((arb_nonneg(), any::<bool>()), 0..4),
            any::<u32>()
        )
            .prop_map(|(doc, lines, spawned)| EventBody::TaskProgress {
                task: TaskId::new(format!("T-{doc}")).unwrap_or_else(|e| panic!("{e}")),
                status: stockpost_common::tasks::TaskStatus::InProgress,
                lines: lines
                    .into_iter()
                    .map(|(done, closed)| stockpost_common::tasks::LineProgress { done, closed })
                    .collect(),
                spawned,
            }),
    ]
    .boxed()
}

/// An event without its id: who, where, when and what.
type EventParts = (
    i64,
    Option<OperatorId>,
    Option<StationId>,
    Option<TaskId>,
    EventBody,
);

fn arb_event_parts() -> BoxedStrategy<EventParts> {
    (
        any::<i64>(),
        option::of(arb_operator()),
        option::of(arb_station()),
        option::of(arb_task()),
        arb_event_body(),
    )
        .boxed()
}

/// A first sequence number for a batch of up to 16 entries: small, or near `u64::MAX`.
fn arb_first_seq() -> BoxedStrategy<u64> {
    prop_oneof![1u64..10_000, (u64::MAX - 10_000)..=(u64::MAX - 16)].boxed()
}

pub fn arb_item() -> BoxedStrategy<Item> {
    let gtin = (
        arb_gtin(),
        proptest::sample::select(vec![
            PackLevel::Each,
            PackLevel::Inner,
            PackLevel::Case,
            PackLevel::Pallet,
        ]),
        arb_qty(),
    )
        .prop_map(|(gtin, pack, qty_per_pack)| ItemGtin {
            gtin,
            pack,
            qty_per_pack,
        });
    (
        arb_sku(),
        any::<String>(),
        vec(gtin, 0..4),
        proptest::sample::select(vec![Tracking::None, Tracking::Lot, Tracking::Serial]),
        any::<bool>(),
        option::of(arb_nonneg()),
        option::of(arb_nonneg()),
    )
        .prop_map(
            |(sku, description, gtins, tracking, expiry_controlled, w, t)| Item {
                sku,
                description,
                gtins,
                tracking,
                expiry_controlled,
                unit_weight_kg: w,
                weight_tolerance_pct: t,
            },
        )
        .boxed()
}

pub fn arb_downlink_item() -> BoxedStrategy<DownlinkItem> {
    let kind = proptest::sample::select(vec![
        LocationKind::Receiving,
        LocationKind::Reserve,
        LocationKind::Pick,
        LocationKind::Pack,
        LocationKind::Ship,
        LocationKind::Returns,
        LocationKind::Quarantine,
    ]);
    prop_oneof![
        arb_item().prop_map(DownlinkItem::ItemUpsert),
        (
            arb_location(),
            kind,
            any::<bool>(),
            option::of(arb_nonneg())
        )
            .prop_map(
                |(code, kind, pickable, capacity)| DownlinkItem::LocationUpsert {
                    code,
                    info: LocationInfo {
                        kind,
                        pickable,
                        capacity
                    }
                }
            ),
        arb_order().prop_map(|order| DownlinkItem::Cancel { order }),
        arb_doc().prop_map(|adjustment| DownlinkItem::AdjustmentApproved { adjustment }),
        (
            arb_doc(),
            arb_order(),
            0u8..10,
            vec((arb_sku(), arb_qty()), 0..3)
        )
            .prop_map(|(doc, order, priority, lines)| {
                let id = stockpost_common::domain::TaskId::new(format!("T-{doc}"))
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut spec = stockpost_common::tasks::TaskSpec::new(
                    id,
                    stockpost_common::tasks::TaskKind::Pick,
                );
                spec.order = Some(order);
                spec.priority = priority;
                spec.lines = lines
                    .into_iter()
                    .map(|(sku, qty)| stockpost_common::tasks::TaskLine {
                        sku,
                        qty,
                        location: None,
                        to: None,
                        lot: None,
                        serial: None,
                        expiry: None,
                    })
                    .collect();
                DownlinkItem::Task(spec)
            }),
        arb_doc().prop_map(|doc| DownlinkItem::TaskCancel {
            task: stockpost_common::domain::TaskId::new(format!("T-{doc}"))
                .unwrap_or_else(|e| panic!("{e}"))
        }),
        (
            arb_doc(),
            arb_place(),
            arb_stock(),
            arb_stock_status(),
            arb_dec()
        )
            .prop_map(|(adjustment, place, stock, status, delta)| {
                DownlinkItem::ReverseAdjustment {
                    adjustment,
                    place,
                    stock,
                    status,
                    delta,
                }
            }),
    ]
    .boxed()
}

/// Any envelope `encode` accepts: every kind, with a header consistent with its body.
pub fn arb_envelope() -> BoxedStrategy<Envelope> {
    let batch = (arb_node(), arb_first_seq(), vec(arb_event_parts(), 1..6)).prop_map(
        |(node, seq, parts)| {
            let events = parts
                .into_iter()
                .zip(seq..)
                .map(|((at_ms, operator, station, task, body), s)| Event {
                    id: EventId {
                        node: node.clone(),
                        seq: s,
                    },
                    at_ms,
                    operator,
                    station,
                    task,
                    body,
                })
                .collect();
            Envelope {
                node,
                seq,
                message: Message::EventBatch { events },
            }
        },
    );
    let downlink = (arb_node(), arb_first_seq(), vec(arb_downlink_item(), 1..5)).prop_map(
        |(node, seq, items)| Envelope {
            node,
            seq,
            message: Message::Downlink { items },
        },
    );
    prop_oneof![
        3 => batch,
        2 => downlink,
        1 => (arb_node(), any::<u64>()).prop_map(|(node, seq)| Envelope {
            node,
            seq,
            message: Message::Ack { applied_seq: seq },
        }),
        1 => (arb_node(), 1..=u64::MAX).prop_map(|(node, seq)| Envelope {
            node,
            seq,
            message: Message::ResendRequest { from_seq: seq },
        }),
        1 => (arb_node(), any::<bool>(), any::<u64>(), any::<u64>()).prop_map(
            |(node, online, outbox_pending, seq)| Envelope {
                node,
                seq,
                message: Message::NodeStatus {
                    online,
                    outbox_pending,
                    last_seq: seq,
                },
            }
        ),
        1 => (arb_node(), any::<u64>()).prop_map(|(node, seq)| Envelope {
            node,
            seq,
            message: Message::DownlinkAck { applied_seq: seq },
        }),
    ]
    .boxed()
}
