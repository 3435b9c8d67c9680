//! Task state machines of the station flows (system design §4, api.md station state).
//!
//! Pure: every step takes the input, the node's [`LocalView`] and `now_ms`, and returns either
//! the events, task progress and next prompt, or a rejection that changes nothing.
//! See `docs/flows.md` for the operator-facing description of each flow.

pub mod count;
pub mod error;
pub mod pack;
pub mod pick;
mod product;
pub mod putaway;
pub mod receive;
pub mod replenish;
pub mod report;
pub mod returns;
pub mod ship;
pub mod spec;
pub mod station;
pub mod view;

#[cfg(test)]
mod tests;

pub use error::{ErrorCode, StepError};

pub use replenish::{replenishment_needed, MinMaxRule};
pub use report::{reported_progress, reported_spec, task_events};
pub use spec::{LineProgress, TaskKind, TaskLine, TaskProgress, TaskRecord, TaskSpec, TaskStatus};
pub use station::{
    Accepted, Expect, ExpectScan, Input, Outcome, PrintLabel, Station, StationConfig, StationView,
    TaskRef,
};
pub use view::{InMemoryView, LocalView};
