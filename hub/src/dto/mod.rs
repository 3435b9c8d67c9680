//! The API's JSON shapes (docs/api.md): the only place the hub writes them. Each file renders
//! one capability's records; `webhooks.rs` also the stored form of webhook deliveries.

pub mod catalog;
pub mod documents;
pub mod events;
pub mod exceptions;
pub mod kpis;
pub mod nodes;
pub mod orders;
pub mod quarantine;
pub mod stock;
pub mod tasks;
pub mod webhooks;

use serde::Serialize;

/// The name of an enum value as the API spells it (its serde name).
pub fn code_name<T: Serialize>(code: &T) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
