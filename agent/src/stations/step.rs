//! One station input as one writer step: run the pure station machine against the live
//! state; on acceptance plan its events and write its task updates, created tasks and the
//! station's new state into the same batch (invariant 3).

use crate::devices::spool::{Spool, SpoolJob};
use crate::stations::devices::render;
use crate::store::encode_json;
use crate::writer::{AgentState, PlannedEvent, StepFn, StepPlan, StepRejected};
use serde_json::json;
use stockpost_common::domain::StationId;
use stockpost_common::tasks::{task_events, Input, Outcome, TaskRecord};

fn internal(message: String) -> StepRejected {
    StepRejected {
        code: "internal_error".into(),
        message,
        response: serde_json::Value::Null,
    }
}

/// The step for `input` at station `id`, at wall-clock `now_ms`.
///
/// Response on acceptance: `{"station": <state>, "print": [PrintLabel], "flow": "<kind>"}`.
/// On rejection the station machine keeps nothing but its display-only `last_error` (never
/// stored), and the rejection carries `{"station": <state>}`.
///
/// With `spool` (the station has a label printer), the labels an accepted step asks for are
/// rendered and put into the spool in the step's own batch: a label exists exactly when its step
/// does. The caller wakes the printer driver after the commit.
pub fn station_step(id: StationId, input: Input, now_ms: i64, spool: Option<Spool>) -> StepFn {
    Box::new(move |state: &mut AgentState, plan: &mut StepPlan| {
        let Some(mut station) = state.stations.get(&id).cloned() else {
            return Err(StepRejected {
                code: "unknown_station".into(),
                message: format!("There is no station {id}"),
                response: serde_json::Value::Null,
            });
        };
        match station.handle(&*state, input, now_ms) {
            Outcome::Rejected(e) => {
                let view = station.view(&*state);
                if let Some(s) = state.stations.get_mut(&id) {
                    *s = station;
                }
                Err(StepRejected {
                    code: e.code.as_str().to_string(),
                    message: e.message,
                    response: json!({ "station": view }),
                })
            }
            Outcome::Accepted(a) => {
                // Encode everything first, so a failure leaves the state untouched.
                let mut records: Vec<TaskRecord> = Vec::new();
                for spec in &a.created_tasks {
                    if !state.tasks.contains_key(&spec.id)
                        && !a.task_updates.iter().any(|r| r.spec.id == spec.id)
                    {
                        records.push(TaskRecord::open(spec.clone()));
                    }
                }
                records.extend(a.task_updates.iter().cloned());
                for r in &records {
                    let bytes = encode_json("tasks", r).map_err(|e| internal(e.to_string()))?;
                    plan.ops
                        .put("tasks", r.spec.id.as_str().as_bytes().to_vec(), bytes);
                }
                if let Some(spool) = &spool {
                    for label in &a.print {
                        let zpl = match render(label) {
                            Ok(z) => z,
                            Err(e) => {
                                // A label template problem must not stop the packer's work.
                                tracing::error!(station = %id, carton = %label.carton, error = %e, "label cannot be rendered");
                                continue;
                            }
                        };
                        let job = SpoolJob {
                            seq: spool.next_seq_now(),
                            reference: format!("{} {}", label.order, label.carton),
                            created_at_ms: u64::try_from(now_ms).unwrap_or(0),
                            zpl: zpl.into_bytes(),
                        };
                        Spool::add_to_batch(&mut plan.ops, &job)
                            .map_err(|e| internal(e.to_string()))?;
                    }
                }
                let bytes =
                    encode_json("stations", &station).map_err(|e| internal(e.to_string()))?;
                plan.ops
                    .put("stations", id.as_str().as_bytes().to_vec(), bytes);
                let flow = a
                    .task
                    .as_ref()
                    .and_then(|t| {
                        records
                            .iter()
                            .find(|r| &r.spec.id == t)
                            .or_else(|| state.tasks.get(t))
                    })
                    .map(|r| r.spec.kind.as_str())
                    .unwrap_or("none");
                for body in a.events {
                    plan.events.push(PlannedEvent {
                        body,
                        operator: a.operator.clone(),
                        station: Some(a.station.clone()),
                        task: a.task.clone(),
                    });
                }
                // The hub learns every task the node made and every change of progress, in
                // the same batch as the step (docs/protocol.md, "Tasks").
                for r in &records {
                    for body in task_events(state.tasks.get(&r.spec.id), r) {
                        plan.events.push(PlannedEvent {
                            body,
                            operator: a.operator.clone(),
                            station: Some(a.station.clone()),
                            task: Some(r.spec.id.clone()),
                        });
                    }
                }
                let response = json!({ "station": a.state, "print": a.print, "flow": flow });
                for r in records {
                    state.tasks.insert(r.spec.id.clone(), r);
                }
                state.stations.insert(id.clone(), station);
                Ok(response)
            }
        }
    })
}
