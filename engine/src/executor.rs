//! Deciding what an event does to a plan: either the effects to record, or
//! a [`Refusal`] naming the guard that failed and why. Pure: it reads the
//! plan and the definition and writes nothing.

use serde::Serialize;
use serde_json::{Value, json};

use crate::date::Date;
use crate::definition::{Action, Workflow};
use crate::guard::{self, Context};
use crate::plugin::PluginRunner;
use crate::projection::{Plan, merge_forms};
use crate::store::Effect;

/// A request to fire an event.
#[derive(Debug, Clone)]
pub struct Command {
    pub event: String,
    pub role: String,
    pub actor: String,
    pub payload: Value,
    pub today: Date,
}

/// What firing will record.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub to: String,
    pub effects: Vec<Effect>,
}

/// Why an event was not accepted. Each variant names the guard.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "guard", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Refusal {
    #[error("the plan is in `{state}`, a final state; nothing more can happen")]
    Finished { state: String },
    #[error("`{event}` is not an event of this workflow")]
    UnknownEvent { event: String },
    #[error(
        "`{event}` cannot happen while the plan is in `{state}`; possible now: {}",
        list(allowed)
    )]
    State {
        event: String,
        state: String,
        allowed: Vec<String>,
    },
    #[error("role `{role}` may not fire `{event}`; it takes: {}", list(allowed))]
    Role {
        event: String,
        role: String,
        allowed: Vec<String>,
    },
    #[error("the payload is not valid: {}", problems.join("; "))]
    Payload { problems: Vec<String> },
    #[error("form `{form}` is not complete; missing: {}", missing.join(", "))]
    Form { form: String, missing: Vec<String> },
    #[error("{reason}")]
    Condition { reason: String },
    #[error("the check `{plugin}` refused: {reason}")]
    Plugin { plugin: String, reason: String },
    #[error("scoring with `{plugin}` failed: {reason}")]
    Score { plugin: String, reason: String },
}

impl Refusal {
    /// A stable name of the guard that failed, for scripts and tests.
    pub fn guard(&self) -> &'static str {
        match self {
            Refusal::Finished { .. } => "finished",
            Refusal::UnknownEvent { .. } => "unknown_event",
            Refusal::State { .. } => "state",
            Refusal::Role { .. } => "role",
            Refusal::Payload { .. } => "payload",
            Refusal::Form { .. } => "form",
            Refusal::Condition { .. } => "condition",
            Refusal::Plugin { .. } => "plugin",
            Refusal::Score { .. } => "score",
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

/// Events `role` may fire from the plan's current state (guards not evaluated).
pub fn events_for_role(workflow: &Workflow, plan: &Plan, role: &str) -> Vec<String> {
    workflow
        .transitions_from(&plan.state)
        .into_iter()
        .filter(|t| t.roles.iter().any(|r| r == role))
        .map(|t| t.on.clone())
        .collect()
}

/// Decides what `command` does to `plan`.
pub fn decide(
    workflow: &Workflow,
    plan: &Plan,
    command: &Command,
    plugins: &dyn PluginRunner,
) -> Result<Decision, Refusal> {
    if workflow.is_final(&plan.state) {
        return Err(Refusal::Finished {
            state: plan.state.clone(),
        });
    }
    let Some(event) = workflow.event(&command.event) else {
        return Err(Refusal::UnknownEvent {
            event: command.event.clone(),
        });
    };
    let Some(transition) = workflow.transition(&plan.state, &command.event) else {
        let allowed = workflow
            .transitions_from(&plan.state)
            .iter()
            .map(|t| t.on.clone())
            .collect();
        return Err(Refusal::State {
            event: command.event.clone(),
            state: plan.state.clone(),
            allowed,
        });
    };
    if !transition.roles.contains(&command.role) {
        return Err(Refusal::Role {
            event: command.event.clone(),
            role: command.role.clone(),
            allowed: transition.roles.clone(),
        });
    }
    let problems = guard::validate_payload(workflow, &event.fills, &command.payload);
    if !problems.is_empty() {
        return Err(Refusal::Payload { problems });
    }
    // Guards see the data as it would be after this event.
    let mut data = plan.data.clone();
    merge_forms(&mut data, &command.payload);
    for form_id in &transition.forms_complete {
        if let Some(form) = workflow.form(form_id) {
            let missing = guard::missing_fields(form, data.get(form_id));
            if !missing.is_empty() {
                return Err(Refusal::Form {
                    form: form_id.clone(),
                    missing,
                });
            }
        }
    }
    let ctx = Context {
        today: command.today,
        cycle_start: plan.cycle.start,
    };
    for condition in &transition.conditions {
        guard::evaluate(workflow, condition, &data, ctx)
            .map_err(|reason| Refusal::Condition { reason })?;
    }
    if let Some(check) = &transition.plugin {
        let forms: serde_json::Map<String, Value> = check
            .forms
            .iter()
            .filter_map(|f| data.get(f).map(|v| (f.clone(), v.clone())))
            .collect();
        let input = json!({ "config": check.config, "data": forms, "today": command.today });
        let refuse = |reason: String| Refusal::Plugin {
            plugin: check.plugin.clone(),
            reason,
        };
        let output = plugins
            .call(&check.plugin, &check.entry, &input)
            .map_err(|e| refuse(e.to_string()))?;
        if output.value.get("ok") != Some(&Value::Bool(true)) {
            let reason = output
                .value
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            return Err(refuse(reason.to_string()));
        }
    }
    let mut effects = Vec::new();
    for action in &transition.actions {
        effects.push(effect_of(workflow, plan, action, &data, plugins)?);
    }
    let to = transition.to.clone().unwrap_or_else(|| plan.state.clone());
    Ok(Decision { to, effects })
}

fn effect_of(
    workflow: &Workflow,
    plan: &Plan,
    action: &Action,
    data: &serde_json::Map<String, Value>,
    plugins: &dyn PluginRunner,
) -> Result<Effect, Refusal> {
    Ok(match action {
        Action::Render(id) => Effect::Document { id: id.clone() },
        Action::Notify { roles, message } => Effect::Notice {
            roles: roles.clone(),
            message: message.clone(),
        },
        Action::Score {
            plugin,
            entry,
            input,
            output,
            config,
        } => {
            let rows = guard::lookup(data, input)
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            let call_input = json!({ "config": config, "rows": rows });
            let result = plugins
                .call(plugin, entry, &call_input)
                .map_err(|e| Refusal::Score {
                    plugin: plugin.clone(),
                    reason: e.to_string(),
                })?;
            Effect::Scores {
                output: output.clone(),
                value: result.value,
                provenance: result.provenance,
            }
        }
        Action::OpenNextCycle => {
            let every = workflow.def().cycle.as_ref().map_or(1, |c| c.every_years);
            let years = i32::try_from(every).unwrap_or(i32::MAX / 12);
            Effect::CycleOpened {
                number: plan.cycle.number + 1,
                start: plan.cycle.start.add_years(years),
            }
        }
    })
}

/// The cycle a new plan starts in on `today`: aligned to the definition's
/// `first_start` when it has one, else starting today.
pub fn first_cycle(workflow: &Workflow, today: Date) -> (u32, Date) {
    let Some(cycle) = &workflow.def().cycle else {
        return (1, today);
    };
    let Some(first) = cycle.first_start else {
        return (cycle.first_number, today);
    };
    let every = i32::try_from(cycle.every_years.max(1)).unwrap_or(1);
    let mut number = cycle.first_number;
    let mut start = first;
    while start.add_years(every) <= today {
        start = start.add_years(every);
        number += 1;
    }
    (number, start)
}
