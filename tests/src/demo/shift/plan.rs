//! What the shift works with, decided before it starts from a fixed seed: the nodes, the item
//! catalogue, the orders and the stock each node receives.
//!
//! Every node has two items of its own: `B` is stocked only there, `A` also at the next node
//! (its backup). Every order has a `B` line, so the node that owns it is the only one that can
//! fill the whole order and allocation (fewest splits first) sends it there whatever the
//! priorities; an order with a second node's `B` line is split across both. The backup's `A`
//! stock is where the hub re-allocates what a short pick gave up, and it is as large as the
//! owner's, so no order is ever backordered, even while the owner is offline and allocation
//! prefers the online backup for `A` lines.

use crate::station::gtin14;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The sales channels orders arrive from.
pub const CHANNELS: [&str; 4] = ["web", "store", "marketplace", "b2b"];

/// The storage locations of every node (reserve, pickable), one item each after putaway.
pub const STORAGE: [&str; 6] = ["A-01", "A-02", "A-03", "A-04", "A-05", "A-06"];

/// One item of the catalogue.
#[derive(Debug, Clone)]
pub struct ItemPlan {
    /// `SKU-01A`, `SKU-01B`, …
    pub sku: String,
    /// Its each GTIN-14.
    pub gtin: String,
    /// Unit weight, kg (three decimals).
    pub weight_kg: Decimal,
    /// The node that owns it (index into [`Plan::nodes`]).
    pub home: usize,
    /// The node that also stocks it (`A` items only).
    pub backup: Option<usize>,
}

/// One order line.
#[derive(Debug, Clone)]
pub struct LinePlan {
    /// The SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
}

/// One order as a channel posts it.
#[derive(Debug, Clone)]
pub struct OrderPlan {
    /// `SO-00001`, …
    pub reference: String,
    /// One of [`CHANNELS`].
    pub channel: &'static str,
    /// Its lines (different SKUs).
    pub lines: Vec<LinePlan>,
}

/// The whole shift's data.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Node ids in priority order (`DC-01` first).
    pub nodes: Vec<String>,
    /// Every item.
    pub items: Vec<ItemPlan>,
    /// Every order, in arrival order.
    pub orders: Vec<OrderPlan>,
    /// What each node receives: node index → (sku, units).
    pub receipts: Vec<Vec<(String, u32)>>,
}

impl Plan {
    /// The plan for `nodes` nodes and `orders` orders, the same for the same `seed`.
    pub fn new(nodes: usize, orders: usize, seed: u64) -> Self {
        let node_ids: Vec<String> = (1..=nodes).map(|i| format!("DC-{i:02}")).collect();
        let mut items = Vec::new();
        for home in 0..nodes {
            for (k, letter) in ["A", "B"].iter().enumerate() {
                let index = home * 2 + k;
                let grams = 100 + 50 * (index % 5) as i64;
                items.push(ItemPlan {
                    sku: format!("SKU-{:02}{letter}", home + 1),
                    gtin: gtin14(&format!("09501102{index:05}")),
                    weight_kg: Decimal::new(grams, 3),
                    home,
                    backup: (k == 0).then_some((home + 1) % nodes),
                });
            }
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let orders: Vec<OrderPlan> = (0..orders)
            .map(|i| {
                let home = rng.random_range(0..nodes);
                let mut lines = vec![LinePlan {
                    sku: format!("SKU-{:02}B", home + 1),
                    qty: rng.random_range(1..=3),
                }];
                if rng.random_bool(0.6) {
                    lines.push(LinePlan {
                        sku: format!("SKU-{:02}A", home + 1),
                        qty: rng.random_range(1..=4),
                    });
                }
                if nodes > 1 && rng.random_bool(0.1) {
                    let other = (home + rng.random_range(1..nodes)) % nodes;
                    lines.push(LinePlan {
                        sku: format!("SKU-{:02}B", other + 1),
                        qty: rng.random_range(1..=2),
                    });
                }
                OrderPlan {
                    reference: format!("SO-{:05}", i + 1),
                    channel: CHANNELS[rng.random_range(0..CHANNELS.len())],
                    lines,
                }
            })
            .collect();
        let receipts = receipts(&items, &orders, nodes);
        Self {
            nodes: node_ids,
            items,
            orders,
            receipts,
        }
    }

    /// The item `sku`.
    pub fn item(&self, sku: &str) -> Option<&ItemPlan> {
        self.items.iter().find(|i| i.sku == sku)
    }

    /// The GTIN of `sku`.
    pub fn gtin(&self, sku: &str) -> Option<&str> {
        self.item(sku).map(|i| i.gtin.as_str())
    }

    /// True when `sku` is node `node`'s own `A` item (the one its pickers may find short).
    pub fn shortable_at(&self, sku: &str, node: usize) -> bool {
        self.item(sku)
            .is_some_and(|i| i.home == node && i.backup.is_some())
    }
}

/// Every order's demand, with room to spare: the owner gets demand + 20 % + 10 of each item,
/// the backup as much again of the `A` items.
fn receipts(items: &[ItemPlan], orders: &[OrderPlan], nodes: usize) -> Vec<Vec<(String, u32)>> {
    let mut demand: BTreeMap<&str, u32> = BTreeMap::new();
    for line in orders.iter().flat_map(|o| &o.lines) {
        *demand.entry(line.sku.as_str()).or_default() += line.qty;
    }
    let mut out = vec![Vec::new(); nodes];
    for item in items {
        let d = demand.get(item.sku.as_str()).copied().unwrap_or(0);
        let qty = d + d / 5 + 10;
        out[item.home].push((item.sku.clone(), qty));
        if let Some(b) = item.backup {
            if b != item.home {
                out[b].push((item.sku.clone(), qty));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_has_a_line_only_its_own_node_stocks_and_nothing_is_short_of_stock() {
        let plan = Plan::new(3, 200, 7);
        assert_eq!(plan.orders.len(), 200);
        for o in &plan.orders {
            assert!(o.lines[0].sku.ends_with('B'), "{o:?}");
        }
        let stocked: u32 = plan.receipts.iter().flatten().map(|(_, q)| q).sum();
        let wanted: u32 = plan
            .orders
            .iter()
            .flat_map(|o| &o.lines)
            .map(|l| l.qty)
            .sum();
        assert!(stocked > wanted);
        assert!(plan.receipts.iter().all(|r| r.len() <= STORAGE.len()));
    }

    #[test]
    fn the_same_seed_gives_the_same_orders() {
        let a = Plan::new(4, 50, 1);
        let b = Plan::new(4, 50, 1);
        let key = |p: &Plan| -> Vec<String> {
            p.orders
                .iter()
                .map(|o| format!("{} {} {:?}", o.reference, o.channel, o.lines.len()))
                .collect()
        };
        assert_eq!(key(&a), key(&b));
    }
}
