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
    #[error("`{event}` cannot happen while the plan is in `{state}`; possible now: {}", list(allowed))]
    State { event: String, state: String, allowed: Vec<String> },
    #[error("role `{role}` may not fire `{event}`; it takes: {}", list(allowed))]
    Role { event: String, role: String, allowed: Vec<String> },
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
    if items.is_empty() { "nothing".into() } else { items.join(", ") }
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
        return Err(Refusal::Finished { state: plan.state.clone() });
    }
    let Some(event) = workflow.event(&command.event) else {
        return Err(Refusal::UnknownEvent { event: command.event.clone() });
    };
    let Some(transition) = workflow.transition(&plan.state, &command.event) else {
        let allowed = workflow.transitions_from(&plan.state).iter().map(|t| t.on.clone()).collect();
        return Err(Refusal::State { event: command.event.clone(), state: plan.state.clone(), allowed });
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
    merge_forms(&mut data, &command.payload, event.append_rows);
    for form_id in &transition.forms_complete {
        if let Some(form) = workflow.form(form_id) {
            let missing = guard::missing_fields(form, data.get(form_id));
            if !missing.is_empty() {
                return Err(Refusal::Form { form: form_id.clone(), missing });
            }
        }
    }
    let ctx = Context { today: command.today, cycle_start: plan.cycle.start };
    for condition in &transition.conditions {
        guard::evaluate(workflow, condition, &data, ctx).map_err(|reason| Refusal::Condition { reason })?;
    }
    if let Some(check) = &transition.plugin {
        let forms: serde_json::Map<String, Value> =
            check.forms.iter().filter_map(|f| data.get(f).map(|v| (f.clone(), v.clone()))).collect();
        let input = json!({ "config": check.config, "data": forms, "today": command.today });
        let refuse = |reason: String| Refusal::Plugin { plugin: check.plugin.clone(), reason };
        let output = plugins.call(&check.plugin, &check.entry, &input).map_err(|e| refuse(e.to_string()))?;
        if output.value.get("ok") != Some(&Value::Bool(true)) {
            let reason = output.value.get("reason").and_then(Value::as_str).unwrap_or("no reason given");
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
        Action::Notify { roles, message } => Effect::Notice { roles: roles.clone(), message: message.clone() },
        Action::Score { plugin, entry, input, output, config } => {
            // The rows go under the table's own field name: `register.risks` → `{"risks": [...]}`.
            let rows = guard::lookup(data, input).cloned().unwrap_or(Value::Array(Vec::new()));
            let key = input.split_once('.').map_or(input.as_str(), |(_, field)| field);
            let call_input = json!({ "config": config, key: rows });
            let result = plugins
                .call(plugin, entry, &call_input)
                .map_err(|e| Refusal::Score { plugin: plugin.clone(), reason: e.to_string() })?;
            Effect::Scores { output: output.clone(), value: result.value, provenance: result.provenance }
        }
        Action::OpenNextCycle => {
            let every = workflow.def().cycle.as_ref().map_or(1, |c| c.every_years);
            let years = i32::try_from(every).unwrap_or(i32::MAX / 12);
            Effect::CycleOpened { number: plan.cycle.number + 1, start: plan.cycle.start.add_years(years) }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{ANNUAL, date, plan, workflow};
    use crate::plugin::{PluginError, PluginOutput, Provenance};
    use serde_json::json;

    /// A double at the plugin seam: `quality` passes when there are at
    /// most `limit` risks; `matrix` multiplies probability by consequence.
    struct Double {
        limit: usize,
    }

    impl PluginRunner for Double {
        fn call(&self, plugin: &str, entry: &str, input: &Value) -> Result<PluginOutput, PluginError> {
            let provenance = Provenance { id: plugin.into(), version: "1.0.0".into(), sha256: "ab".repeat(32) };
            let value = match (plugin, entry) {
                ("quality", "check") => {
                    let n = input["data"]["register"]["risks"].as_array().map_or(0, Vec::len);
                    if n <= self.limit {
                        json!({"ok": true})
                    } else {
                        json!({"ok": false, "reason": format!("{n} risks is too many")})
                    }
                }
                ("matrix", "score") => {
                    let rows = input["risks"].as_array().cloned().unwrap_or_default();
                    json!(
                        rows.iter()
                            .map(|r| r["probability"].as_i64().unwrap_or(0) * r["consequence"].as_i64().unwrap_or(0))
                            .collect::<Vec<_>>()
                    )
                }
                _ => {
                    return Err(PluginError::MissingEntry { plugin: plugin.into(), entry: entry.into() });
                }
            };
            Ok(PluginOutput { value, provenance })
        }
    }

    fn adopt(risks: Value) -> Command {
        Command {
            event: "adopt".into(),
            role: "head".into(),
            actor: "t".into(),
            payload: json!({"register": {"risks": risks}}),
            today: date("2025-03-01"),
        }
    }

    fn risks(special: usize) -> Value {
        let mut rows = vec![json!({"area": "governance", "kind": "general", "probability": 4, "consequence": 5})];
        rows.extend(
            (0..special).map(
                |i| json!({"area": format!("special {i}"), "kind": "special", "probability": 2, "consequence": 3}),
            ),
        );
        json!(rows)
    }

    #[test]
    fn score_actions_record_the_plugin_output_and_provenance() {
        let wf = workflow(ANNUAL);
        let p = plan(&wf, "2025-01-10", &[]);
        let decision = decide(&wf, &p, &adopt(risks(2)), &Double { limit: 10 }).expect("passes");
        assert_eq!(decision.to, "monitoring");
        assert_eq!(decision.effects[0], Effect::Document { id: "adoption_decision".into() });
        let Effect::Scores { output, value, provenance } = &decision.effects[1] else {
            panic!("scores expected: {decision:?}")
        };
        assert_eq!((output.as_str(), value), ("risk_scores", &json!([20, 6, 6])));
        assert_eq!(provenance.id, "matrix");
    }

    #[test]
    fn plugin_guards_and_counts_refuse_with_reasons() {
        let wf = workflow(ANNUAL);
        let p = plan(&wf, "2025-01-10", &[]);
        let refusal = decide(&wf, &p, &adopt(risks(1)), &Double { limit: 10 }).expect_err("one special area");
        assert_eq!(
            refusal,
            Refusal::Condition {
                reason: "special areas: 1 with kind = `special`; this transition needs at least 2".into()
            }
        );
        let refusal = decide(&wf, &p, &adopt(risks(3)), &Double { limit: 3 }).expect_err("too many");
        assert_eq!(refusal, Refusal::Plugin { plugin: "quality".into(), reason: "4 risks is too many".into() });
        assert_eq!(refusal.guard(), "plugin");
        let refusal = decide(&wf, &p, &adopt(risks(2)), &crate::plugin::NoPlugins).expect_err("no plugin loaded");
        assert_eq!(refusal.guard(), "plugin");
        assert!(refusal.to_string().contains("no plugin named `quality`"), "{refusal}");
    }

    #[test]
    fn payloads_are_checked_against_the_forms() {
        let wf = workflow(ANNUAL);
        let p = plan(&wf, "2025-01-10", &[]);
        let bad = json!([{"area": "x", "kind": "unusual", "probability": 11}, "not a row"]);
        let Err(Refusal::Payload { problems }) = decide(&wf, &p, &adopt(bad), &Double { limit: 10 }) else {
            panic!("payload refusal expected")
        };
        assert_eq!(
            problems,
            [
                "`register.risks row 1 kind` is `unusual`, which is not one of: general, special",
                "`register.risks row 1 probability` is 11, outside 1 to 10",
                "`register.risks row 2` must be a JSON object of columns",
            ]
        );
        let mut command = adopt(risks(2));
        command.payload = json!({"report": {"year": 2025}});
        let Err(Refusal::Payload { problems }) = decide(&wf, &p, &command, &Double { limit: 10 }) else {
            panic!("payload refusal expected")
        };
        assert_eq!(problems, ["this event does not fill the form `report` (it fills: register)"]);
    }

    #[test]
    fn phases_carry_transitions_and_final_states_end_everything() {
        let wf = workflow(ANNUAL);
        let p = plan(&wf, "2025-01-10", &[("adopt", "2025-03-01", "monitoring", Value::Null)]);
        let end = Command {
            event: "end".into(),
            role: "head".into(),
            actor: "t".into(),
            payload: Value::Null,
            today: date("2026-01-01"),
        };
        assert_eq!(decide(&wf, &p, &end, &Double { limit: 1 }).expect("end").to, "ended");
        let p = plan(
            &wf,
            "2025-01-10",
            &[("adopt", "2025-03-01", "monitoring", Value::Null), ("end", "2026-01-01", "ended", Value::Null)],
        );
        assert_eq!(decide(&wf, &p, &end, &Double { limit: 1 }).expect_err("final").guard(), "finished");
    }
}
