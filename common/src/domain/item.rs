//! Items (SKUs): pack levels with their GTINs, tracking, expiry control and check-weigh data.

use super::decimal::{Dec, DecError, NonNegQty, Qty};
use super::gtin::Gtin;
use super::ids::Sku;
use serde::{Deserialize, Serialize};

/// A pack level. Quantities in events are always in the base unit (each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackLevel {
    /// A single unit: the base unit of measure.
    Each,
    /// An inner pack.
    Inner,
    /// A case (outer).
    Case,
    /// A full pallet.
    Pallet,
}

/// How an item's units are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tracking {
    /// Units are interchangeable.
    #[default]
    None,
    /// Each receipt carries a lot (batch) number.
    Lot,
    /// Each unit carries a serial number (quantity 1 per serial).
    Serial,
}

/// One GTIN of an item at one pack level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemGtin {
    /// The barcode number.
    pub gtin: Gtin,
    /// The pack level it marks.
    pub pack: PackLevel,
    /// Base units in one pack.
    pub qty_per_pack: Qty,
}

/// Why item master data is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    /// The same GTIN appears twice.
    #[error("gtins: {gtin} is listed twice")]
    DuplicateGtin {
        /// The repeated GTIN.
        gtin: Gtin,
    },
    /// An `each` GTIN whose pack holds other than one unit.
    #[error("gtins: {gtin} is an 'each' GTIN but qty_per_pack is {qty}; it must be 1")]
    EachNotOne {
        /// The GTIN.
        gtin: Gtin,
        /// Its pack quantity.
        qty: Qty,
    },
    /// Too many GTINs.
    #[error("gtins: {count} GTINs given; at most {max} are allowed")]
    TooManyGtins {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The weight tolerance is above 100 %.
    #[error("weight_tolerance_pct: {pct} is above 100")]
    Tolerance {
        /// The tolerance.
        pct: NonNegQty,
    },
    /// A serial-tracked item cannot carry a multi-unit pack.
    #[error("gtins: serial-tracked items are scanned one unit at a time; {gtin} holds {qty}")]
    SerialPack {
        /// The GTIN.
        gtin: Gtin,
        /// Its pack quantity.
        qty: Qty,
    },
    /// Description too long.
    #[error("description is {len} characters; at most 200 are allowed")]
    Description {
        /// Its length.
        len: usize,
    },
    /// Arithmetic left the allowed range.
    #[error(transparent)]
    Dec(#[from] DecError),
}

/// Item master data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The SKU.
    pub sku: Sku,
    /// A description for screens and labels.
    pub description: String,
    /// GTINs per pack level.
    pub gtins: Vec<ItemGtin>,
    /// Lot / serial tracking.
    pub tracking: Tracking,
    /// Whether an expiry date is captured and used for FEFO.
    pub expiry_controlled: bool,
    /// The weight of one base unit, for check-weighing.
    pub unit_weight_kg: Option<NonNegQty>,
    /// Allowed deviation of a packed carton's weight, in percent.
    pub weight_tolerance_pct: Option<NonNegQty>,
}

/// The most GTINs one item may have.
pub const MAX_GTINS_PER_ITEM: usize = 16;

impl Item {
    /// Checks the rules that individual fields cannot check alone.
    pub fn validate(&self) -> Result<(), ItemError> {
        let len = self.description.chars().count();
        if len > 200 {
            return Err(ItemError::Description { len });
        }
        if self.gtins.len() > MAX_GTINS_PER_ITEM {
            return Err(ItemError::TooManyGtins {
                count: self.gtins.len(),
                max: MAX_GTINS_PER_ITEM,
            });
        }
        for (i, g) in self.gtins.iter().enumerate() {
            if self.gtins[..i].iter().any(|o| o.gtin == g.gtin) {
                return Err(ItemError::DuplicateGtin { gtin: g.gtin });
            }
            if g.pack == PackLevel::Each && g.qty_per_pack.get() != Dec::ONE {
                return Err(ItemError::EachNotOne {
                    gtin: g.gtin,
                    qty: g.qty_per_pack,
                });
            }
            if self.tracking == Tracking::Serial && g.qty_per_pack.get() != Dec::ONE {
                return Err(ItemError::SerialPack {
                    gtin: g.gtin,
                    qty: g.qty_per_pack,
                });
            }
        }
        if let Some(pct) = self.weight_tolerance_pct {
            if pct.get().get() > rust_decimal::Decimal::ONE_HUNDRED {
                return Err(ItemError::Tolerance { pct });
            }
        }
        Ok(())
    }

    /// The pack level and base units a scanned GTIN stands for, if it is one of this item's.
    pub fn pack_for(&self, gtin: &Gtin) -> Option<&ItemGtin> {
        self.gtins.iter().find(|g| &g.gtin == gtin)
    }

    /// Converts `packs` of the pack marked by `gtin` into base units.
    pub fn base_units(&self, gtin: &Gtin, packs: Qty) -> Result<Option<Qty>, ItemError> {
        let Some(pack) = self.pack_for(gtin) else {
            return Ok(None);
        };
        let units = packs
            .get()
            .checked_mul(pack.qty_per_pack.get())
            .ok_or(DecError::TooLarge {
                value: format!("{packs} x {}", pack.qty_per_pack),
            })?;
        Ok(Some(Qty::new(units)?))
    }

    /// The expected weight of `units` base units, when a unit weight is known.
    pub fn expected_weight_kg(&self, units: Dec) -> Option<Dec> {
        self.unit_weight_kg.and_then(|w| w.get().checked_mul(units))
    }

    /// Whether `measured_kg` is within tolerance of the weight expected for `units` base units
    /// plus `tare_kg` (the carton). `None` when the item has no weight data.
    pub fn weight_within_tolerance(
        &self,
        units: Dec,
        tare_kg: Dec,
        measured_kg: Dec,
    ) -> Option<bool> {
        let expected = self.expected_weight_kg(units)?.checked_add(tare_kg)?;
        let pct = self
            .weight_tolerance_pct
            .map(|p| p.get())
            .unwrap_or(Dec::ZERO);
        let allowed = expected.get() * pct.get() / rust_decimal::Decimal::ONE_HUNDRED;
        let diff = (measured_kg.get() - expected.get()).abs();
        Some(diff <= allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn mug() -> Result<Item, Box<dyn std::error::Error>> {
        Ok(Item {
            sku: Sku::new("MUG-BLUE")?,
            description: "Blue mug 350 ml".into(),
            gtins: vec![
                ItemGtin {
                    gtin: Gtin::new("09501101530003")?,
                    pack: PackLevel::Each,
                    qty_per_pack: Qty::from_str("1")?,
                },
                ItemGtin {
                    gtin: Gtin::new("19501101530000")?,
                    pack: PackLevel::Case,
                    qty_per_pack: Qty::from_str("12")?,
                },
            ],
            tracking: Tracking::None,
            expiry_controlled: false,
            unit_weight_kg: Some(NonNegQty::from_str("0.350")?),
            weight_tolerance_pct: Some(NonNegQty::from_str("5")?),
        })
    }

    #[test]
    fn a_case_gtin_converts_to_base_units() -> Result<(), Box<dyn std::error::Error>> {
        let item = mug()?;
        item.validate()?;
        let case = Gtin::new("19501101530000")?;
        assert_eq!(
            item.base_units(&case, Qty::from_str("2")?)?
                .map(|q| q.to_string()),
            Some("24".into())
        );
        assert_eq!(
            item.base_units(&Gtin::new("09520123456788")?, Qty::from_str("1")?)?,
            None
        );
        Ok(())
    }

    #[test]
    fn check_weigh_accepts_within_tolerance_and_rejects_outside(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let item = mug()?;
        // 3 mugs = 1.050 kg + 0.200 kg carton = 1.250 kg; 5 % = 0.0625 kg.
        let units = Dec::from_str("3")?;
        let tare = Dec::from_str("0.200")?;
        assert_eq!(
            item.weight_within_tolerance(units, tare, Dec::from_str("1.300")?),
            Some(true)
        );
        assert_eq!(
            item.weight_within_tolerance(units, tare, Dec::from_str("1.320")?),
            Some(false)
        );
        assert_eq!(
            item.weight_within_tolerance(units, tare, Dec::from_str("1.1875")?),
            Some(true)
        );
        Ok(())
    }

    #[test]
    fn an_each_gtin_must_hold_exactly_one_unit() -> Result<(), Box<dyn std::error::Error>> {
        let mut item = mug()?;
        item.gtins[0].qty_per_pack = Qty::from_str("2")?;
        assert!(matches!(item.validate(), Err(ItemError::EachNotOne { .. })));
        Ok(())
    }
}
