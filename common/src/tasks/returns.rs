//! Not yet implemented.

use super::error::{err, ErrorCode, StepError};
use super::spec::TaskRecord;
use super::station::{Ctx, Expect, ExpectScan, FlowInput};
use super::view::LocalView;
use serde::{Deserialize, Serialize};

/// Flow state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {}

pub(crate) fn start(_ctx: &Ctx<'_>, _record: &TaskRecord) -> Result<State, StepError> {
    err(ErrorCode::TaskNotAllowed, "not implemented yet")
}

pub(crate) fn has_pending(_s: &State) -> bool {
    false
}

pub(crate) fn step(
    _ctx: &mut Ctx<'_>,
    _record: &mut TaskRecord,
    _s: &mut State,
    _input: FlowInput<'_>,
) -> Result<(), StepError> {
    err(ErrorCode::TaskNotAllowed, "not implemented yet")
}

pub(crate) fn prompt(_view: &dyn LocalView, _record: &TaskRecord, _s: &State) -> (String, Expect) {
    (String::new(), Expect::scan(ExpectScan::Task))
}
