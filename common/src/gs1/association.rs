//! `req=` association rules, checked when an item, case or pallet is assembled from the scans
//! of all its symbols (the dictionary: "Invalid and mandatory AI pairings should be evaluated
//! over the combined data received from all GS1 carriers marking a physical item"). `ex=` and
//! repeated AIs are already enforced per scan by the parser; here they are re-checked over the
//! combined data, since two symbols on one item may conflict with each other.

use super::ai_table::{self, ai_matches_pattern};
use super::element_string::{self, Gs1Data};
use super::error::ScanError;
use super::scan::ScanData;

/// An association rule broken by the combined data of an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssociationError {
    /// An AI that needs another AI which is missing (`req=`).
    #[error("AI ({ai}) {name} also needs {needs}")]
    Missing {
        /// The AI with the requirement.
        ai: String,
        /// Its name.
        name: String,
        /// What would satisfy it, e.g. "AI (01), (02), (03), (8006) or (8026)".
        needs: String,
    },
    /// Two AIs on the item conflict (`ex=`, or one AI with two different values).
    #[error(transparent)]
    Conflict(ScanError),
}

fn describe(alternatives: &[&[&str]]) -> String {
    let alts: Vec<String> = alternatives
        .iter()
        .map(|alt| {
            alt.iter()
                .map(|a| format!("({a})"))
                .collect::<Vec<_>>()
                .join(" with ")
        })
        .collect();
    match alts.split_last() {
        None => String::new(),
        Some((last, [])) => format!("AI {last}"),
        Some((last, init)) => format!("AI {} or {last}", init.join(", ")),
    }
}

/// Checks the `req=` (mandatory association) and `ex=` (mutual exclusion) rules over the
/// combined AIs of all scans of one physical item. Returns every violation found.
pub fn check_associations(scans: &[&Gs1Data]) -> Result<(), Vec<AssociationError>> {
    let combined = Gs1Data {
        elements: scans
            .iter()
            .flat_map(|d| d.elements.iter().cloned())
            .collect(),
    };
    let mut errors = Vec::new();
    if let Err(e) = element_string::check_per_scan_rules(&combined) {
        errors.push(AssociationError::Conflict(e));
    }
    let present = |pattern: &str| {
        combined
            .elements
            .iter()
            .any(|e| ai_matches_pattern(&e.ai, pattern))
    };
    let mut reported: Vec<&str> = Vec::new();
    for element in &combined.elements {
        if reported.contains(&element.ai.as_str()) {
            continue;
        }
        reported.push(&element.ai);
        let Some(entry) = ai_table::lookup(&element.ai) else {
            continue;
        };
        for requirement in entry.req {
            let satisfied = requirement
                .iter()
                .any(|alternative| alternative.iter().all(|p| present(p)));
            if !satisfied {
                errors.push(AssociationError::Missing {
                    ai: element.ai.clone(),
                    name: element.name(),
                    needs: describe(requirement),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// [`check_associations`] over whole scans (GTIN primaries count as AI 01, Digital Links
/// contribute all their AIs, text scans contribute nothing).
pub fn check_scan_associations(scans: &[&ScanData]) -> Result<(), Vec<AssociationError>> {
    let data: Vec<Gs1Data> = scans.iter().map(|s| s.gs1_data()).collect();
    let refs: Vec<&Gs1Data> = data.iter().collect();
    check_associations(&refs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::element_string::parse_bracketed;

    #[test]
    fn a_batch_without_a_gtin_is_incomplete_until_the_gtin_is_scanned() -> Result<(), ScanError> {
        let batch = parse_bracketed("(10)ABC123(17)261231")?;
        let errors = check_associations(&[&batch]).err().unwrap_or_default();
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors.first().map(ToString::to_string).as_deref(),
            Some("AI (10) batch/lot also needs AI (01), (02), (03), (8006) or (8026)")
        );
        let gtin = parse_bracketed("(01)09520123456788")?;
        assert_eq!(check_associations(&[&gtin, &batch]), Ok(()));
        Ok(())
    }

    #[test]
    fn a_pallet_label_is_checked_over_all_its_barcodes() -> Result<(), ScanError> {
        // Typical logistic label: SSCC in one symbol, content and count in another.
        let sscc = parse_bracketed("(00)106141411234567897")?;
        let content = parse_bracketed("(02)09520123456788(37)25(10)LOT1")?;
        assert_eq!(check_associations(&[&sscc, &content]), Ok(()));
        // (37) needs (00) and one of (02)/(8026).
        let errors = check_associations(&[&content]).err().unwrap_or_default();
        assert!(errors.iter().any(|e| e.to_string().contains("AI (37)")));
        Ok(())
    }

    #[test]
    fn an_alternative_with_several_ais_needs_all_of_them() -> Result<(), ScanError> {
        // (7004) req=01+10
        let d = parse_bracketed("(01)09520123456788(7004)12")?;
        assert!(check_associations(&[&d]).is_err());
        let d = parse_bracketed("(01)09520123456788(10)B1(7004)12")?;
        assert_eq!(check_associations(&[&d]), Ok(()));
        Ok(())
    }

    #[test]
    fn scans_of_an_ean_and_a_batch_label_satisfy_each_other() -> Result<(), ScanError> {
        let ean = crate::gs1::parse_scan(b"]E04006381333931")?;
        let batch = crate::gs1::parse_scan(b"]C110LOT42\x1d17261231")?;
        assert!(check_scan_associations(&[&batch]).is_err());
        assert_eq!(check_scan_associations(&[&ean, &batch]), Ok(()));
        Ok(())
    }

    #[test]
    fn conflicts_between_symbols_of_one_item_are_reported() -> Result<(), ScanError> {
        let a = parse_bracketed("(01)09520123456788(10)A")?;
        let b = parse_bracketed("(01)09520123456788(10)B")?;
        let errors = check_associations(&[&a, &b]).err().unwrap_or_default();
        assert!(matches!(
            errors.first(),
            Some(AssociationError::Conflict(_))
        ));
        let c = parse_bracketed("(02)09520123456788(37)1(00)106141411234567897")?;
        assert!(check_associations(&[&a, &c]).is_err());
        Ok(())
    }
}
