//! Plan summaries: what supervision reads of a plan without replaying it.
//! A [`PlanSummary`] is the plan's projection without its scores, notices
//! and the data no deadline reads (a register of hundreds of risks is left
//! out), so [`crate::deadline::schedule`] gives on a summary exactly what it
//! gives on the whole plan. The engine keeps one per plan beside the log
//! ([`SUMMARIES`]) and in memory, updated with every event.
//!
//! Architecture invariant: a summary is derived, never the truth. It
//! records the number of the last event it covers; one that does not match
//! the log's last event (a crash between the two writes) is rebuilt from
//! the log before it is used; that check is skipped only when the engine
//! that wrote them closed cleanly with every summary kept
//! ([`SUMMARIES_CLOSED`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::date::Date;
use crate::deadline::{self, DueItem};
use crate::definition::Workflow;
use crate::projection::Plan;

/// Keyed-record kind of the plans' summaries, by plan id.
pub const SUMMARIES: &str = "plan_summaries";

/// Keyed-record kind of the mark an engine leaves when it closes with every
/// summary kept (key `""`): the next start need not check them against the
/// log. Removed, durably, when summaries are loaded.
pub const SUMMARIES_CLOSED: &str = "plan_summaries_closed";

/// A plan as supervision sees it: its projection, slimmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// The plan with no scores, no notices, and only the forms deadlines
    /// read (dates in forms, rows with their own term).
    pub plan: Plan,
}

impl PlanSummary {
    /// The summary of a plan's projection.
    pub fn of(plan: &Plan, workflow: &Workflow) -> PlanSummary {
        let mut data = Map::new();
        for (form, field) in deadline_fields(workflow) {
            if let Some(value) = plan.data.get(&form).and_then(|f| f.get(&field)) {
                let entry = data.entry(form).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(fields) = entry {
                    fields.insert(field, value.clone());
                }
            }
        }
        PlanSummary {
            plan: Plan {
                meta: plan.meta.clone(),
                state: plan.state.clone(),
                cycle: plan.cycle,
                data,
                scores: Default::default(),
                entered: plan.entered.clone(),
                first_entered: plan.first_entered.clone(),
                happened: plan.happened.clone(),
                notices: Vec::new(),
                documents: plan.documents.clone(),
                seq: plan.seq,
                last_date: plan.last_date,
                head: plan.head.clone(),
                sealed: plan.sealed.clone(),
                obliged: plan.obliged,
            },
        }
    }

    /// The last event this summary covers.
    pub fn seq(&self) -> u64 {
        self.plan.seq
    }

    /// Every occurrence of the plan's deadlines this cycle at `today`
    /// (as [`deadline::schedule`] on the whole plan).
    pub fn schedule(&self, workflow: &Workflow, today: Date) -> Vec<DueItem> {
        deadline::schedule(workflow, &self.plan, today)
    }
}

/// The fields any deadline of the workflow reads: every `form.field` path
/// its definition names (a due date in a form, a table whose rows have
/// their own term or must all be done, the date a deadline counts as met,
/// the period of a yearly act). Only these are kept: a form's other
/// fields (a register of hundreds of risks) stay in the plan.
pub fn deadline_fields(workflow: &Workflow) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for deadline in &workflow.def().deadlines {
        let Ok(value) = serde_json::to_value(deadline) else { continue };
        strings(&value, &mut |text| {
            if let Some((form, field)) = text.split_once('.')
                && workflow.form(form).is_some_and(|f| f.fields.iter().any(|x| x.id == field))
            {
                found.insert((form.to_string(), field.to_string()));
            }
        });
    }
    found
}

fn strings(value: &Value, visit: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => visit(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, visit)),
        Value::Object(map) => map.values().for_each(|v| strings(v, visit)),
        _ => {}
    }
}
