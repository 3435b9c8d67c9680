//! Hub-side business rules for orders: validation, allocation with reservations, the order
//! lifecycle, the authority rules that turn node facts into exceptions and corrective plans,
//! adjustment approval, and KPIs.
//!
//! Everything here is pure: times are Unix milliseconds passed in by the caller, and every
//! output is sorted so the same inputs always give the same result.
//!
//! How the hub uses it:
//! - `POST /orders`: [`Order::accept`] (validation; errors name the field), then [`allocate`]
//!   against the hub's [`crate::ledger::Ledger`] and node master data, then [`release`] for
//!   the [`PickTaskPlan`]s to send to nodes. [`Order::allocation_view`] is the `allocations`
//!   of the answer. Backordered orders are allocated again when stock arrives.
//! - Each node event: `Ledger::apply`, then, when it returned `Ok(applied)`, [`assess`] with the
//!   orders; store the exceptions and turn the plans into tasks. Adjust events and count
//!   results with a variance also go through [`review`] (approval).
//! - `POST /orders/{ref}/cancel`: [`cancel`] (releases reservations, put-back plans).
//! - Periodically: [`check_late`] per open order.
//! - `POST /adjustments/{id}/approve`: [`approve`] with the caller's [`Actor`].
//! - `GET /kpis`: [`compute_kpis`] over the orders and the node events.

pub mod allocation;
pub mod approval;
pub mod authority;
pub mod exception;
pub mod kpi;
pub mod lifecycle;
pub mod order;
pub mod plan;

pub use allocation::{allocate, reserve_lines, Allocation, AllocationResult, NodeInfo};
pub use approval::{
    adjustment_value, approve, reject, review, Actor, Adjustment, AdjustmentStatus, ApprovalError,
    ApprovalPolicy, AuditEntry, AuditValue, Review, Role,
};
pub use authority::{assess, check_late, Assessment, AuthorityContext, WeightTolerance};
pub use exception::Exception;
pub use kpi::{compute_kpis, rate, CycleTime, ExceptionAging, Kpis};
pub use lifecycle::{
    apply_event, apply_fact, cancel, close_short, release, status_name, CancelOutcome,
    LifecycleError, NodeFact, Progress,
};
pub use order::{
    NewOrder, NewOrderLine, NodeAllocation, NodeLine, Order, OrderError, OrderLine, OrderProblem,
    Shipment, MAX_ORDER_LINES,
};
pub use plan::{CountTaskPlan, PickTaskPlan, PlanLine, PutBackPlan};
