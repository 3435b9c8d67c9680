//! Items.

use serde_json::{json, Value};
use stockpost_engine::records::ItemRecord;

/// An item as the API shows it.
pub fn item(r: &ItemRecord) -> Value {
    let i = &r.item;
    json!({
        "sku": i.sku, "description": i.description, "gtins": i.gtins, "tracking": i.tracking,
        "expiry_controlled": i.expiry_controlled, "unit_weight_kg": i.unit_weight_kg,
        "weight_tolerance_pct": i.weight_tolerance_pct, "unit_value": r.unit_value,
    })
}
