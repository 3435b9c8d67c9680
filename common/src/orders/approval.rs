//! Adjustment approval and the audit trail.
//!
//! An adjustment's value is `|delta| × unit value`. At or below the policy threshold it is
//! `applied` at once; above it, it is `pending_approval` (with an `adjustment_needs_approval`
//! exception) until someone with the approver role (or admin) approves or rejects it. Node
//! adjustments are facts already applied to the ledger: approval is governance, and a
//! rejection asks for a count of the line so the books can be corrected by a new fact.
//! Nobody approves their own adjustment.
//!
//! Every change produces an [`AuditEntry`]: who, when, what, before and after.

use super::exception::Exception;
use super::lifecycle::{status_name, Progress};
use super::plan::CountTaskPlan;
use crate::domain::{
    Dec, DocRef, Event, EventBody, EventId, ExceptionCode, NodeId, OperatorId, Place, ReasonCode,
    Sku,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Roles of hub users, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Operates.
    Operator,
    /// Approves adjustments.
    Approver,
    /// Everything.
    Admin,
}

/// Who does something at the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The token name or user.
    pub name: String,
    /// Their role.
    pub role: Role,
}

/// When adjustments need approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// Adjustments worth more than this need an approver.
    pub threshold: Dec,
}

/// Where an adjustment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentStatus {
    /// Under the threshold: nothing to approve.
    Applied,
    /// Waiting for an approver.
    PendingApproval,
    /// Approved.
    Approved,
    /// Rejected: the line is to be counted, and the node is asked to book the opposite change.
    Rejected,
    /// Rejected and reversed: the node booked the opposite change.
    Reversed,
}

impl AdjustmentStatus {
    fn name(self) -> &'static str {
        match self {
            AdjustmentStatus::Applied => "applied",
            AdjustmentStatus::PendingApproval => "pending_approval",
            AdjustmentStatus::Approved => "approved",
            AdjustmentStatus::Rejected => "rejected",
            AdjustmentStatus::Reversed => "reversed",
        }
    }
}

/// One adjustment under governance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// The node's adjust event.
    pub source: EventId,
    /// The adjustment document, when the node gave one.
    pub doc: Option<DocRef>,
    /// Where.
    pub node: NodeId,
    /// Which place.
    pub place: Place,
    /// What.
    pub sku: Sku,
    /// The change.
    pub delta: Dec,
    /// Why.
    pub reason: ReasonCode,
    /// Value of one unit.
    pub unit_value: Dec,
    /// `|delta| × unit_value`.
    pub value: Dec,
    /// Where it stands.
    pub status: AdjustmentStatus,
    /// The operator on the node.
    pub requested_by: Option<OperatorId>,
    /// When it happened (node clock), Unix ms.
    pub at_ms: i64,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// When, Unix ms.
    pub decided_at_ms: Option<i64>,
}

/// Why an approval step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// The event is not an adjustment or a count result.
    #[error("event: a {0} event is not an adjustment")]
    NotAnAdjustment(&'static str),
    /// A count result without a variance changes nothing.
    #[error("counted: the count matches the book; there is nothing to approve")]
    NoVariance,
    /// A negative unit value.
    #[error("unit_value: {0} must not be negative")]
    NegativeUnitValue(Dec),
    /// The value cannot be represented.
    #[error("value: {delta} × {unit_value} is too large")]
    Overflow {
        /// The change.
        delta: Dec,
        /// The unit value.
        unit_value: Dec,
    },
    /// The actor's role is too low.
    #[error("role: {actor} is {role:?}; approving adjustments needs the approver role")]
    Forbidden {
        /// Who.
        actor: String,
        /// Their role.
        role: Role,
    },
    /// Approving one's own adjustment.
    #[error("actor: {0} made this adjustment and cannot approve it")]
    SelfApproval(String),
    /// Not pending.
    #[error("status: the adjustment is {0}, not pending_approval")]
    NotPending(&'static str),
}

/// A JSON-able value for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AuditValue {
    /// Nothing (before a creation, after a deletion).
    Null,
    /// True or false.
    Bool(bool),
    /// An integer (times, counts).
    Int(i64),
    /// A decimal, as a JSON string.
    Dec(Dec),
    /// Text.
    Text(String),
    /// Named values.
    Map(BTreeMap<String, AuditValue>),
}

impl AuditValue {
    /// A map from pairs.
    pub fn map<const N: usize>(pairs: [(&str, AuditValue); N]) -> AuditValue {
        AuditValue::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// Text.
    pub fn text(s: impl Into<String>) -> AuditValue {
        AuditValue::Text(s.into())
    }
}

/// One change, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, Unix ms.
    pub at_ms: i64,
    /// Who (a hub user, a node operator, or `node:<id>` for an anonymous node fact).
    pub actor: String,
    /// What kind of change: `adjustment.review`, `adjustment.approve`, `order.status`, …
    pub action: String,
    /// What it changed: `adjustment:DC-EAST/41`, `order:SO-5001`.
    pub subject: String,
    /// Before.
    pub before: AuditValue,
    /// After.
    pub after: AuditValue,
}

impl AuditEntry {
    /// An order status change.
    pub fn order_status(progress: &Progress, actor: &str, at_ms: i64) -> AuditEntry {
        AuditEntry {
            at_ms,
            actor: actor.to_string(),
            action: "order.status".into(),
            subject: format!("order:{}", progress.order),
            before: AuditValue::map([("status", AuditValue::text(status_name(progress.from)))]),
            after: AuditValue::map([("status", AuditValue::text(status_name(progress.to)))]),
        }
    }
}

/// `|delta| × unit_value`.
pub fn adjustment_value(delta: Dec, unit_value: Dec) -> Result<Dec, ApprovalError> {
    if unit_value.is_negative() {
        return Err(ApprovalError::NegativeUnitValue(unit_value));
    }
    let abs = if delta.is_negative() { -delta } else { delta };
    let raw = abs
        .get()
        .checked_mul(unit_value.get())
        .ok_or(ApprovalError::Overflow { delta, unit_value })?;
    Dec::new(raw.round_dp(Dec::MAX_SCALE))
        .map_err(|_| ApprovalError::Overflow { delta, unit_value })
}

fn subject(adj: &Adjustment) -> String {
    format!("adjustment:{}/{}", adj.source.node, adj.source.seq)
}

fn state(adj: &Adjustment) -> AuditValue {
    AuditValue::map([
        ("status", AuditValue::text(adj.status.name())),
        ("delta", AuditValue::Dec(adj.delta)),
        ("value", AuditValue::Dec(adj.value)),
    ])
}

/// What reviewing an adjust event produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The adjustment record.
    pub adjustment: Adjustment,
    /// The `adjustment_needs_approval` exception, when above the threshold.
    pub exception: Option<Exception>,
    /// The audit entry for the adjustment.
    pub audit: AuditEntry,
}

/// Reviews an adjust event, or a count result with a variance (which the ledger applies as an
/// adjustment of `counted − expected`, reason `count_variance`), against the policy.
pub fn review(
    event: &Event,
    unit_value: Dec,
    policy: &ApprovalPolicy,
) -> Result<Review, ApprovalError> {
    let (place, stock, delta, reason, adjustment) = match &event.body {
        EventBody::Adjust {
            place,
            stock,
            delta,
            reason,
            adjustment,
            ..
        } => (place.clone(), stock, *delta, *reason, adjustment.clone()),
        EventBody::CountResult {
            location,
            stock,
            counted,
            expected,
            ..
        } => {
            let delta = counted
                .get()
                .checked_sub(expected.get())
                .filter(|d| !d.is_zero())
                .ok_or(ApprovalError::NoVariance)?;
            (
                Place::Location(location.clone()),
                stock,
                delta,
                ReasonCode::CountVariance,
                None,
            )
        }
        other => return Err(ApprovalError::NotAnAdjustment(other.kind())),
    };
    let place = &place;
    let value = adjustment_value(delta, unit_value)?;
    let pending = value > policy.threshold;
    let adj = Adjustment {
        source: event.id.clone(),
        doc: adjustment,
        node: event.id.node.clone(),
        place: place.clone(),
        sku: stock.sku.clone(),
        delta,
        reason,
        unit_value,
        value,
        status: if pending {
            AdjustmentStatus::PendingApproval
        } else {
            AdjustmentStatus::Applied
        },
        requested_by: event.operator.clone(),
        at_ms: event.at_ms,
        decided_by: None,
        decided_at_ms: None,
    };
    let exception = pending.then(|| {
        let mut ex = Exception::new(
            ExceptionCode::AdjustmentNeedsApproval,
            format!(
                "an adjustment of {delta} {} on {} is worth {value}, above the approval threshold of {}; an approver must approve it",
                stock.sku, event.id.node, policy.threshold
            ),
            event.at_ms,
        )
        .from_event(&event.id)
        .at_node(&event.id.node)
        .for_sku(&stock.sku);
        if let Place::Location(code) = place {
            ex = ex.at_location(code);
        }
        ex
    });
    let audit = AuditEntry {
        at_ms: event.at_ms,
        actor: event
            .operator
            .as_ref()
            .map(|o| o.to_string())
            .unwrap_or_else(|| format!("node:{}", event.id.node)),
        action: "adjustment.review".into(),
        subject: subject(&adj),
        before: AuditValue::Null,
        after: state(&adj),
    };
    Ok(Review {
        adjustment: adj,
        exception,
        audit,
    })
}

fn decide(
    adj: &mut Adjustment,
    actor: &Actor,
    at_ms: i64,
    to: AdjustmentStatus,
    action: &str,
) -> Result<AuditEntry, ApprovalError> {
    if actor.role < Role::Approver {
        return Err(ApprovalError::Forbidden {
            actor: actor.name.clone(),
            role: actor.role,
        });
    }
    if adj.status != AdjustmentStatus::PendingApproval {
        return Err(ApprovalError::NotPending(adj.status.name()));
    }
    if adj
        .requested_by
        .as_ref()
        .is_some_and(|op| op.as_str() == actor.name)
    {
        return Err(ApprovalError::SelfApproval(actor.name.clone()));
    }
    let before = state(adj);
    adj.status = to;
    adj.decided_by = Some(actor.name.clone());
    adj.decided_at_ms = Some(at_ms);
    Ok(AuditEntry {
        at_ms,
        actor: actor.name.clone(),
        action: action.into(),
        subject: subject(adj),
        before,
        after: state(adj),
    })
}

/// Approves a pending adjustment. Resolve its exception with the returned entry's time.
pub fn approve(
    adj: &mut Adjustment,
    actor: &Actor,
    at_ms: i64,
) -> Result<AuditEntry, ApprovalError> {
    decide(
        adj,
        actor,
        at_ms,
        AdjustmentStatus::Approved,
        "adjustment.approve",
    )
}

/// Rejects a pending adjustment: the line is to be counted (a count at a location; none for
/// a container).
pub fn reject(
    adj: &mut Adjustment,
    actor: &Actor,
    at_ms: i64,
) -> Result<(AuditEntry, Option<CountTaskPlan>), ApprovalError> {
    let entry = decide(
        adj,
        actor,
        at_ms,
        AdjustmentStatus::Rejected,
        "adjustment.reject",
    )?;
    let count = match &adj.place {
        Place::Location(code) => Some(CountTaskPlan {
            node: adj.node.clone(),
            location: code.clone(),
            sku: adj.sku.clone(),
        }),
        Place::Container(_) => None,
    };
    Ok((entry, count))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::{LocationCode, StockRef, StockStatus};
    use std::str::FromStr;

    fn dec(s: &str) -> Dec {
        Dec::from_str(s).unwrap()
    }

    fn adjust(delta: &str, op: &str) -> Event {
        Event {
            id: EventId {
                node: NodeId::new("EAST").unwrap(),
                seq: 41,
            },
            at_ms: 1_000,
            operator: Some(OperatorId::new(op).unwrap()),
            station: None,
            task: None,
            body: EventBody::Adjust {
                place: Place::Location(LocationCode::new("A-1").unwrap()),
                stock: StockRef::plain(Sku::new("MUG").unwrap()),
                status: StockStatus::Available,
                delta: dec(delta),
                reason: ReasonCode::Lost,
                adjustment: None,
            },
        }
    }

    fn policy() -> ApprovalPolicy {
        ApprovalPolicy {
            threshold: dec("100"),
        }
    }

    fn approver(name: &str) -> Actor {
        Actor {
            name: name.into(),
            role: Role::Approver,
        }
    }

    #[test]
    fn the_value_of_an_adjustment_is_the_absolute_delta_times_the_unit_value() {
        assert_eq!(adjustment_value(dec("-4"), dec("2.50")).unwrap(), dec("10"));
        assert!(adjustment_value(dec("1"), dec("-1")).is_err());
    }

    #[test]
    fn an_adjustment_at_or_below_the_threshold_is_applied_without_approval() {
        let r = review(&adjust("-10", "op-1"), dec("10"), &policy()).unwrap();
        assert_eq!(r.adjustment.status, AdjustmentStatus::Applied);
        assert!(r.exception.is_none());
        assert_eq!(r.audit.before, AuditValue::Null);
    }

    #[test]
    fn an_adjustment_above_the_threshold_waits_for_approval_with_an_exception() {
        let r = review(&adjust("-11", "op-1"), dec("10"), &policy()).unwrap();
        assert_eq!(r.adjustment.status, AdjustmentStatus::PendingApproval);
        let ex = r.exception.unwrap();
        assert_eq!(ex.code, ExceptionCode::AdjustmentNeedsApproval);
        assert!(ex.message.contains("worth 110"), "{}", ex.message);
    }

    #[test]
    fn a_count_variance_above_the_threshold_also_needs_approval() {
        let mut count = adjust("-1", "op-1");
        count.body = EventBody::CountResult {
            location: LocationCode::new("A-1").unwrap(),
            stock: StockRef::plain(Sku::new("MUG").unwrap()),
            status: StockStatus::Available,
            counted: crate::domain::NonNegQty::new(dec("2")).unwrap(),
            expected: crate::domain::NonNegQty::new(dec("30")).unwrap(),
        };
        let r = review(&count, dec("5"), &policy()).unwrap();
        assert_eq!(r.adjustment.delta, dec("-28"));
        assert_eq!(r.adjustment.reason, ReasonCode::CountVariance);
        assert_eq!(r.adjustment.status, AdjustmentStatus::PendingApproval);
        if let EventBody::CountResult { counted, .. } = &mut count.body {
            *counted = crate::domain::NonNegQty::new(dec("30")).unwrap();
        }
        assert_eq!(
            review(&count, dec("5"), &policy()).unwrap_err(),
            ApprovalError::NoVariance
        );
    }

    #[test]
    fn only_an_approver_who_did_not_make_the_adjustment_can_approve_it() {
        let mut adj = review(&adjust("-11", "op-1"), dec("10"), &policy())
            .unwrap()
            .adjustment;
        let operator = Actor {
            name: "op-2".into(),
            role: Role::Operator,
        };
        assert!(matches!(
            approve(&mut adj, &operator, 2_000),
            Err(ApprovalError::Forbidden { .. })
        ));
        assert!(matches!(
            approve(&mut adj, &approver("op-1"), 2_000),
            Err(ApprovalError::SelfApproval(_))
        ));
        let entry = approve(&mut adj, &approver("boss"), 2_000).unwrap();
        assert_eq!(adj.status, AdjustmentStatus::Approved);
        assert_eq!(entry.actor, "boss");
        assert_eq!(entry.action, "adjustment.approve");
        assert_eq!(entry.subject, "adjustment:EAST/41");
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["before"]["status"], "pending_approval");
        assert_eq!(json["after"]["status"], "approved");
        assert_eq!(json["after"]["value"], "110");
        assert!(matches!(
            approve(&mut adj, &approver("boss"), 3_000),
            Err(ApprovalError::NotPending("approved"))
        ));
    }

    #[test]
    fn rejecting_an_adjustment_asks_for_a_count_of_the_line() {
        let mut adj = review(&adjust("-11", "op-1"), dec("10"), &policy())
            .unwrap()
            .adjustment;
        let admin = Actor {
            name: "root".into(),
            role: Role::Admin,
        };
        let (entry, count) = reject(&mut adj, &admin, 5).unwrap();
        assert_eq!(entry.action, "adjustment.reject");
        assert_eq!(count.unwrap().location.as_str(), "A-1");
        assert_eq!(adj.status, AdjustmentStatus::Rejected);
    }

    #[test]
    fn an_order_status_change_is_audited_with_before_and_after() {
        let p = Progress {
            order: crate::domain::OrderRef::new("SO-1").unwrap(),
            from: crate::domain::OrderStatus::Released,
            to: crate::domain::OrderStatus::Picking,
        };
        let entry = AuditEntry::order_status(&p, "node:EAST", 7);
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["before"]["status"], "released");
        assert_eq!(json["after"]["status"], "picking");
        assert_eq!(json["subject"], "order:SO-1");
    }
}
