//! Webhook staging: one delivery per event and matching receiver, staged in the unit of work
//! that raised the event (so none is sent for a change that did not commit, and none is lost
//! when the hub stops after the commit). The sender outside the engine delivers them and
//! reports back with `Command::WebhookFinished`.

use crate::engine::Cx;
use crate::error::EngineResult;
use crate::records::{DeadLetter, Delivery, WebhookEvent};
use crate::repo::Counter;

/// Whether any receiver is configured (no receiver: no webhook event is even built).
pub(crate) fn enabled(cx: &Cx<'_>) -> bool {
    !cx.st.settings.hooks.is_empty()
}

/// Stages `event` for every receiver that wants it.
pub(crate) fn stage(cx: &mut Cx<'_>, event: WebhookEvent) -> EngineResult<()> {
    let name = event.name();
    let urls: Vec<String> = cx
        .st
        .settings
        .hooks
        .iter()
        .filter(|h| h.events.is_empty() || h.events.iter().any(|e| e == name))
        .map(|h| h.url.clone())
        .collect();
    for url in urls {
        let id = cx.uow.next_id(Counter::Webhook)?;
        cx.uow.stage_delivery(Delivery {
            id,
            url,
            event: event.clone(),
            at_ms: cx.now.wall,
        })?;
    }
    Ok(())
}

/// The sender finished delivery `id`.
pub(crate) fn finished(cx: &mut Cx<'_>, id: u64, dead: Option<DeadLetter>) -> EngineResult<()> {
    cx.uow.finish_delivery(id, dead)?;
    Ok(())
}
