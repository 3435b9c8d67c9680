//! Hub-side business rules for orders: validation, allocation with reservations, the order
//! lifecycle, the authority rules that turn node facts into exceptions and corrective plans,
//! adjustment approval, and KPIs.
//!
//! Everything here is pure: times are Unix milliseconds passed in by the caller, and every
//! output is sorted so the same inputs always give the same result.

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
