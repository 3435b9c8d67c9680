//! The KPI window: the newest count results, returns and dispositions (what the KPIs read
//! besides the orders), kept in the books so a start reads no event log.

use crate::engine::Cx;
use crate::error::EngineResult;
use stockpost_common::domain::{Event, EventBody};

/// Most events kept in the window.
pub const KPI_EVENTS: usize = 100_000;

/// Whether the KPIs read `body`.
pub fn counts_for_kpis(body: &EventBody) -> bool {
    matches!(
        body,
        EventBody::CountResult { .. }
            | EventBody::ReturnReceive { .. }
            | EventBody::Disposition { .. }
    )
}

/// Adds `event` to the window when the KPIs read it.
pub(crate) fn after_event(cx: &mut Cx<'_>, event: &Event) -> EngineResult<()> {
    if counts_for_kpis(&event.body) {
        cx.uow.push_kpi_event(event.clone(), KPI_EVENTS)?;
    }
    Ok(())
}
