//! What a node tells the hub about its tasks: a `task_defined` event when it creates a task or
//! changes its definition, and a `task_progress` event when its status or progress changes.
//! The hub keeps every node's tasks from these, so a wiped node's snapshot carries exactly the
//! open ones with their progress (nothing finished is offered again, nothing made on the node
//! is lost).
//!
//! A blind receipt's lines are a log of what was received (each receipt is its own event); they
//! are not reported, so a long blind receipt does not resend a growing line list with every
//! scan, and a bootstrapped node continues the receipt with an empty log.

use super::spec::{LineProgress, TaskRecord, TaskSpec, TaskStatus};
use crate::domain::EventBody;

/// The definition of `record` as it is reported (a blind receipt without its lines).
pub fn reported_spec(record: &TaskRecord) -> TaskSpec {
    let mut spec = record.spec.clone();
    if spec.blind {
        spec.lines.clear();
    }
    spec
}

/// The progress of `record` as it is reported: status, lines (none for a blind receipt) and
/// the number of tasks it spawned.
pub fn reported_progress(record: &TaskRecord) -> (TaskStatus, Vec<LineProgress>, u32) {
    let lines = if record.spec.blind {
        Vec::new()
    } else {
        let mut lines = record.progress.lines.clone();
        lines.resize(record.spec.slots(), LineProgress::default());
        lines
    };
    (record.progress.status, lines, record.progress.spawned)
}

/// The events that tell the hub how `now` differs from `before` (`None`: the node has just
/// created it). A task the hub sent is known to the node before any step touches it, so it
/// gets a `task_defined` only when the node changes its definition.
pub fn task_events(before: Option<&TaskRecord>, now: &TaskRecord) -> Vec<EventBody> {
    let mut out = Vec::new();
    let spec = reported_spec(now);
    let spec_changed = before.is_none_or(|b| reported_spec(b) != spec);
    if spec_changed {
        out.push(EventBody::TaskDefined { spec });
    }
    let (status, lines, spawned) = reported_progress(now);
    let unchanged = match before {
        Some(b) => reported_progress(b) == (status, lines.clone(), spawned),
        None => {
            let fresh = TaskRecord::open(now.spec.clone());
            reported_progress(&fresh) == (status, lines.clone(), spawned)
        }
    };
    if !unchanged {
        out.push(EventBody::TaskProgress {
            task: now.spec.id.clone(),
            status,
            lines,
            spawned,
        });
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::{NonNegQty, Qty, Sku, TaskId};
    use crate::tasks::spec::{TaskKind, TaskLine};
    use std::str::FromStr;

    fn record(blind: bool, lines: usize) -> TaskRecord {
        let mut spec = TaskSpec::new(TaskId::new("T-1").unwrap(), TaskKind::Receive);
        spec.blind = blind;
        for i in 0..lines {
            spec.lines.push(TaskLine {
                sku: Sku::new(format!("SKU-{i}")).unwrap(),
                qty: Qty::from_str("2").unwrap(),
                location: None,
                to: None,
                lot: None,
                serial: None,
                expiry: None,
            });
        }
        TaskRecord::open(spec)
    }

    fn kinds(events: &[EventBody]) -> Vec<&'static str> {
        events.iter().map(EventBody::kind).collect()
    }

    #[test]
    fn a_task_made_on_the_node_is_defined_once_and_its_untouched_progress_is_not_reported() {
        assert_eq!(
            kinds(&task_events(None, &record(false, 2))),
            vec!["task_defined"]
        );
    }

    #[test]
    fn progress_on_a_line_is_reported_without_a_new_definition() {
        let before = record(false, 2);
        let mut now = before.clone();
        now.add_done(0, Dec("1"), false).unwrap();
        now.progress.status = TaskStatus::InProgress;
        let events = task_events(Some(&before), &now);
        assert_eq!(kinds(&events), vec!["task_progress"]);
        let EventBody::TaskProgress { status, lines, .. } = &events[0] else {
            panic!("not progress")
        };
        assert_eq!(*status, TaskStatus::InProgress);
        assert_eq!(lines[0].done, NonNegQty::from_str("1").unwrap());
        assert!(!lines[0].closed);
    }

    #[test]
    fn a_station_taking_a_task_without_progress_reports_nothing() {
        let before = record(false, 1);
        let mut now = before.clone();
        now.progress.station = Some(crate::domain::StationId::new("hh-1").unwrap());
        assert!(task_events(Some(&before), &now).is_empty());
    }

    #[test]
    fn a_blind_receipt_growing_its_lines_reports_neither_lines_nor_a_new_definition() {
        let before = record(true, 1);
        let mut now = record(true, 2);
        now.add_done(1, Dec("2"), true).unwrap();
        assert!(task_events(Some(&before), &now).is_empty());
        now.progress.status = TaskStatus::Done;
        let events = task_events(Some(&before), &now);
        assert_eq!(kinds(&events), vec!["task_progress"]);
        let EventBody::TaskProgress { lines, .. } = &events[0] else {
            panic!("not progress")
        };
        assert!(lines.is_empty());
    }

    #[test]
    fn a_changed_definition_is_defined_again() {
        let before = record(false, 1);
        let now = record(false, 2);
        assert_eq!(
            kinds(&task_events(Some(&before), &now)),
            vec!["task_defined", "task_progress"]
        );
    }

    #[allow(non_snake_case)]
    fn Dec(s: &str) -> crate::domain::Dec {
        crate::domain::Dec::from_str(s).unwrap()
    }
}
