//! Deciding what an event does to a plan: either the effects to record, or
//! a [`Refusal`] naming the guard that failed and why. Pure: it reads the
//! plan and the definition and writes nothing.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::condition::{self, Context};
use crate::date::Date;
use crate::definition::{Action, PluginGuard, Workflow};
use crate::diagnostic::did_you_mean;
use crate::error::Problem;
use crate::guard::{self, Draft};
use crate::message::{Message, english, list};
use crate::plugin::PluginRunner;
use crate::projection::Plan;
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

/// What a decision may read besides the plan and the command.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The institution's attributes, as conditions read them
    /// (`{"employees": 240, "kind": "...", "parent": {...}}`).
    pub institution: Option<Value>,
}

/// How much of a decision to work out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything: guards, then the actions' effects (plugins score).
    Fire,
    /// Guards only: whether the event would pass now, without scoring.
    Preview,
}

/// Why an event was not accepted. Each variant names the guard; the
/// problems with field paths are in [`Refusal::problems`].
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "guard", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Refusal {
    #[error("{}", Message::new("refusal.finished").arg("state", state))]
    Finished { state: String },
    #[error("{}", Message::new("refusal.unknown_event").arg("event", event).arg("hint", hint(event, known)))]
    UnknownEvent { event: String, known: Vec<String> },
    #[error("{}", Message::new("refusal.state").arg("event", event).arg("state", state).arg("allowed", list(allowed)))]
    State { event: String, state: String, allowed: Vec<String> },
    #[error("{}", Message::new("refusal.role").arg("role", role).arg("event", event).arg("allowed", list(allowed)))]
    Role { event: String, role: String, allowed: Vec<String> },
    /// The act is dated before the plan's previous event (or its start).
    #[error("{}", date_message(*date, *previous, *at_start))]
    Date { date: Date, previous: Date, at_start: bool },
    #[error("{}", Message::new("refusal.payload").arg("problems", join(problems)))]
    Payload { problems: Vec<Problem> },
    #[error("{}", Message::new("refusal.form").arg("form", form).arg("missing", join(missing)))]
    Form { form: String, missing: Vec<Problem> },
    #[error("{}", problem.message)]
    Condition { problem: Problem },
    #[error("{}", Message::new("refusal.plugin").arg("plugin", plugin).arg("reason", reason))]
    Plugin {
        plugin: String,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    #[error("{}", Message::new("refusal.score").arg("plugin", plugin).arg("reason", reason))]
    Score { plugin: String, reason: String, path: String },
    /// A migration to another pack version is not possible; every reason is listed.
    #[error("{}", Message::new("refusal.migration").arg("to", to).arg("reasons", reasons.join("; ")))]
    Migration { to: String, reasons: Vec<String> },
}

fn join(problems: &[Problem]) -> String {
    problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; ")
}

fn hint(event: &str, known: &[String]) -> String {
    match did_you_mean(event, known.iter().map(String::as_str)) {
        Some(suggestion) => format!("; {suggestion}"),
        None if known.is_empty() => String::new(),
        None => format!("; its events are: {}", known.join(", ")),
    }
}

fn date_message(date: Date, previous: Date, at_start: bool) -> Message {
    let what = if at_start { english("word.plan_start") } else { english("word.previous_event") };
    Message::new("refusal.date").arg("date", date).arg("previous", previous).arg("previous_what", what)
}

impl Refusal {
    /// A stable name of the guard that failed, for scripts and tests.
    pub fn guard(&self) -> &'static str {
        match self {
            Refusal::Finished { .. } => "finished",
            Refusal::UnknownEvent { .. } => "unknown_event",
            Refusal::State { .. } => "state",
            Refusal::Role { .. } => "role",
            Refusal::Date { .. } => "date",
            Refusal::Payload { .. } => "payload",
            Refusal::Form { .. } => "form",
            Refusal::Condition { .. } => "condition",
            Refusal::Plugin { .. } => "plugin",
            Refusal::Score { .. } => "score",
            Refusal::Migration { .. } => "migration",
        }
    }

    /// The problems a form can place on its fields (each with its path).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Refusal::Payload { problems } => problems.clone(),
            Refusal::Form { missing, .. } => missing.clone(),
            Refusal::Condition { problem } => vec![problem.clone()],
            Refusal::Plugin { path: Some(path), reason, .. } => {
                vec![Problem::new(path.clone(), Message::new("problem.input").arg("message", reason))]
            }
            Refusal::Score { path, reason, .. } => {
                vec![Problem::new(path.clone(), Message::new("problem.input").arg("message", reason))]
            }
            _ => Vec::new(),
        }
    }

    /// The refusal's sentence in another language (English fallback).
    pub fn render(&self, translate: &dyn Fn(&str) -> Option<String>) -> String {
        let render_all =
            |problems: &[Problem]| problems.iter().map(|p| p.render(translate)).collect::<Vec<_>>().join("; ");
        let message = match self {
            Refusal::Finished { state } => Message::new("refusal.finished").arg("state", state),
            Refusal::UnknownEvent { event, known } => {
                Message::new("refusal.unknown_event").arg("event", event).arg("hint", hint(event, known))
            }
            Refusal::State { event, state, allowed } => {
                Message::new("refusal.state").arg("event", event).arg("state", state).arg("allowed", list(allowed))
            }
            Refusal::Role { event, role, allowed } => {
                Message::new("refusal.role").arg("role", role).arg("event", event).arg("allowed", list(allowed))
            }
            Refusal::Date { date, previous, at_start } => date_message(*date, *previous, *at_start),
            Refusal::Payload { problems } => Message::new("refusal.payload").arg("problems", render_all(problems)),
            Refusal::Form { form, missing } => {
                Message::new("refusal.form").arg("form", form).arg("missing", render_all(missing))
            }
            Refusal::Condition { problem } => return problem.render(translate),
            Refusal::Plugin { plugin, reason, .. } => {
                Message::new("refusal.plugin").arg("plugin", plugin).arg("reason", reason)
            }
            Refusal::Score { plugin, reason, .. } => {
                Message::new("refusal.score").arg("plugin", plugin).arg("reason", reason)
            }
            Refusal::Migration { to, reasons } => {
                Message::new("refusal.migration").arg("to", to).arg("reasons", reasons.join("; "))
            }
        };
        message.render(translate)
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

/// Decides what `command` does to `plan`. The payload must already be
/// normalized ([`guard::normalize_payload`]); `decide` reads it as given.
pub fn decide(
    workflow: &Workflow,
    plan: &Plan,
    command: &Command,
    facts: &Facts,
    plugins: &dyn PluginRunner,
    mode: Mode,
) -> Result<Decision, Refusal> {
    if workflow.is_final(&plan.state) {
        return Err(Refusal::Finished { state: plan.state.clone() });
    }
    let Some(event) = workflow.event(&command.event) else {
        let known = workflow.def().events.iter().map(|e| e.id.clone()).collect();
        return Err(Refusal::UnknownEvent { event: command.event.clone(), known });
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
    if let Some((previous, at_start)) = plan.latest_date().filter(|(d, _)| command.today < *d) {
        return Err(Refusal::Date { date: command.today, previous, at_start });
    }
    let problems = guard::validate_payload(workflow, &event.fills, &command.payload);
    if !problems.is_empty() {
        return Err(Refusal::Payload { problems });
    }
    // Guards see the data as it would be after this event.
    let draft = Draft::new(&plan.data, &command.payload, event.append_rows).replacing(event.replaces);
    for form_id in &transition.forms_complete {
        if let Some(form) = workflow.form(form_id) {
            let missing = guard::missing_fields(form_id, form, &draft);
            if !missing.is_empty() {
                return Err(Refusal::Form { form: form_id.clone(), missing });
            }
        }
    }
    let due = |id: &str| crate::deadline::due_date(workflow, plan, id, command.today);
    let first = workflow.def().cycle.as_ref().map_or(1, |c| c.first_number);
    let ctx = Context {
        today: command.today,
        cycle_start: plan.cycle.start,
        cycle: (plan.cycle.number, first),
        institution: facts.institution.as_ref(),
        scores: Some(&plan.scores),
        deadline_due: &due,
    };
    for condition in &transition.conditions {
        condition::evaluate(workflow, condition, &draft, &ctx).map_err(|problem| Refusal::Condition { problem })?;
    }
    if let Some(check) = &transition.plugin {
        plugin_guard(check, &draft, command.today, plugins)?;
    }
    let mut effects = Vec::new();
    if mode == Mode::Fire {
        for action in &transition.actions {
            effects.push(effect_of(workflow, plan, action, &draft, plugins)?);
        }
    }
    let to = transition.to.clone().unwrap_or_else(|| plan.state.clone());
    Ok(Decision { to, effects })
}

/// Asks a plugin whether the event may pass: `{"ok": true}`, or
/// `{"ok": false, "reason": "...", "path": "form.field[2].column"}`.
fn plugin_guard(check: &PluginGuard, draft: &Draft, today: Date, plugins: &dyn PluginRunner) -> Result<(), Refusal> {
    let forms: Map<String, Value> = check.forms.iter().filter_map(|f| draft.form(f).map(|v| (f.clone(), v))).collect();
    let input = json!({ "config": check.config, "data": forms, "today": today });
    let refuse = |reason: String, path: Option<String>| Refusal::Plugin { plugin: check.plugin.clone(), reason, path };
    let output = plugins.call(&check.plugin, &check.entry, &input).map_err(|e| refuse(e.to_string(), None))?;
    if output.value.get("ok") == Some(&Value::Bool(true)) {
        return Ok(());
    }
    let reason = output.value.get("reason").and_then(Value::as_str).unwrap_or("no reason given");
    let path = output.value.get("path").and_then(Value::as_str).map(str::to_string);
    Err(refuse(reason.to_string(), path))
}

fn effect_of(
    workflow: &Workflow,
    plan: &Plan,
    action: &Action,
    draft: &Draft,
    plugins: &dyn PluginRunner,
) -> Result<Effect, Refusal> {
    Ok(match action {
        Action::Render(id) => Effect::Document { id: id.clone() },
        Action::Notify { roles, message } => Effect::Notice { roles: roles.clone(), message: message.clone() },
        Action::Score { plugin, entry, input, output, config } => {
            // The rows go under the table's own field name: `register.risks` → `{"risks": [...]}`.
            let rows = draft.rows_at(input).to_value();
            let key = input.split_once('.').map_or(input.as_str(), |(_, field)| field);
            let call_input = json!({ "config": config, key: rows });
            let result = plugins.call(plugin, entry, &call_input).map_err(|e| Refusal::Score {
                plugin: plugin.clone(),
                reason: e.to_string(),
                path: input.clone(),
            })?;
            Effect::Scores {
                output: output.clone(),
                value: result.value,
                provenance: result.provenance,
                config: config.clone(),
            }
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
    use super::Facts;
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

    /// One line saying what deciding did: the target and the effects, or
    /// the guard that refused with each problem's path and sentence.
    fn describe(result: Result<Decision, Refusal>) -> String {
        match result {
            Ok(d) => {
                let effects: Vec<String> = d
                    .effects
                    .iter()
                    .map(|e| match e {
                        Effect::Document { id } => format!("document {id}"),
                        Effect::Scores { output, value, provenance, .. } => {
                            format!("{output}={value} by {}", provenance.id)
                        }
                        other => format!("{other:?}"),
                    })
                    .collect();
                format!("to {}; {}", d.to, effects.join(", "))
            }
            Err(r) => {
                let problems = r.problems();
                if problems.is_empty() {
                    format!("refused {}: {r}", r.guard())
                } else {
                    let listed: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
                    format!("refused {}: {}", r.guard(), listed.join(" | "))
                }
            }
        }
    }

    struct Case {
        /// Events the plan went through: (event, date, state after).
        history: &'static [(&'static str, &'static str, &'static str)],
        event: &'static str,
        role: &'static str,
        date: &'static str,
        payload: Value,
        limit: usize,
        expect: &'static str,
    }

    #[track_caller]
    fn check(case: Case) {
        let wf = workflow(ANNUAL);
        let events: Vec<(&str, &str, &str, Value)> =
            case.history.iter().map(|(e, d, to)| (*e, *d, *to, Value::Null)).collect();
        let p = plan(&wf, "2025-01-10", &events);
        let command = Command {
            event: case.event.into(),
            role: case.role.into(),
            actor: "t".into(),
            payload: case.payload,
            today: date(case.date),
        };
        let actual = describe(decide(&wf, &p, &command, &Facts::default(), &Double { limit: case.limit }, Mode::Fire));
        assert_eq!(actual, case.expect);
    }

    fn risks(special: usize) -> Value {
        let mut rows = vec![json!({"area": "governance", "kind": "general", "probability": 4, "consequence": 5})];
        rows.extend(
            (0..special).map(
                |i| json!({"area": format!("special {i}"), "kind": "special", "probability": 2, "consequence": 3}),
            ),
        );
        json!({"register": {"risks": rows}})
    }

    const ADOPTED: &[(&str, &str, &str)] = &[("adopt", "2025-03-01", "monitoring")];

    #[test]
    fn decisions_and_refusals() {
        let cases = [
            Case {
                history: &[],
                event: "adopt",
                role: "head",
                date: "2025-03-01",
                payload: risks(2),
                limit: 10,
                expect: "to monitoring; document adoption_decision, risk_scores=[20,6,6] by matrix",
            },
            Case {
                history: &[],
                event: "adopt",
                role: "head",
                date: "2025-03-01",
                payload: risks(1),
                limit: 10,
                expect: "refused condition: register.risks: special areas: 1 with kind = `special`; this transition needs at least 2",
            },
            Case {
                history: &[],
                event: "adopt",
                role: "head",
                date: "2025-03-01",
                payload: risks(3),
                limit: 3,
                expect: "refused plugin: the check `quality` refused: 4 risks is too many",
            },
            Case {
                history: &[],
                event: "adopt",
                role: "manager",
                date: "2025-03-01",
                payload: risks(2),
                limit: 10,
                expect: "refused role: role `manager` may not fire `adopt`; it takes: head",
            },
            Case {
                history: &[],
                event: "adpot",
                role: "head",
                date: "2025-03-01",
                payload: Value::Null,
                limit: 10,
                expect: "refused unknown_event: `adpot` is not an event of this workflow; did you mean `adopt`?",
            },
            Case {
                history: &[],
                event: "end",
                role: "head",
                date: "2025-03-01",
                payload: Value::Null,
                limit: 10,
                expect: "refused state: `end` cannot happen while the plan is in `drafting`; possible now: adopt",
            },
            Case {
                history: &[],
                event: "adopt",
                role: "head",
                date: "2025-01-09",
                payload: risks(2),
                limit: 10,
                expect: "refused date: the date of this act, 2025-01-09, is before the start of the plan (2025-01-10); a plan's dates never go backwards",
            },
            Case {
                history: ADOPTED,
                event: "end",
                role: "head",
                date: "2025-02-28",
                payload: Value::Null,
                limit: 10,
                expect: "refused date: the date of this act, 2025-02-28, is before the plan's previous event (2025-03-01); a plan's dates never go backwards",
            },
            Case {
                history: &[],
                event: "adopt",
                role: "head",
                date: "2025-03-01",
                payload: json!({"register": {"risks": [{"area": "x", "kind": "unusual", "probability": 11}, "not a row", {"area": "y", "kind": "general", "probability": 5.5, "severity": 1}]}}),
                limit: 10,
                expect: "refused payload: register.risks[0].kind: kind in row 1 of risks is `unusual`, which is not one of: general, special \
                         | register.risks[0].probability: probability in row 1 of risks is 11, outside 1 to 10 \
                         | register.risks[1]: row 2 of risks must be a JSON object of columns \
                         | register.risks[2].probability: probability in row 3 of risks must be a whole number, not 5.5 \
                         | register.risks[2].severity: the table risks has no column `severity`; there are: area, kind, probability, consequence",
            },
            Case {
                history: &[],
                event: "adopt",
                role: "head",
                date: "2025-03-01",
                payload: json!({"register": {"risks": [{"area": "", "kind": "special"}, {"area": "b", "kind": "special"}]}}),
                limit: 10,
                expect: "refused form: register.risks[0].area: row 1 of risks: area is required",
            },
            Case {
                history: &[],
                event: "adopt",
                role: "head",
                date: "2025-03-01",
                payload: json!({"report": {"year": 2025}}),
                limit: 10,
                expect: "refused payload: report: this event does not fill the form `report` (it fills: register)",
            },
            Case {
                history: ADOPTED,
                event: "end",
                role: "head",
                date: "2026-01-01",
                payload: Value::Null,
                limit: 10,
                expect: "to ended; ",
            },
            Case {
                history: &[("adopt", "2025-03-01", "monitoring"), ("end", "2026-01-01", "ended")],
                event: "end",
                role: "head",
                date: "2026-01-02",
                payload: Value::Null,
                limit: 10,
                expect: "refused finished: the plan is in `ended`, a final state; nothing more can happen",
            },
        ];
        for case in cases {
            check(case);
        }
    }

    #[test]
    fn a_missing_plugin_is_a_refusal_not_a_crash_and_preview_does_not_score() {
        let wf = workflow(ANNUAL);
        let p = plan(&wf, "2025-01-10", &[]);
        let command = Command {
            event: "adopt".into(),
            role: "head".into(),
            actor: "t".into(),
            payload: risks(2),
            today: date("2025-03-01"),
        };
        let refusal = decide(&wf, &p, &command, &Facts::default(), &crate::plugin::NoPlugins, Mode::Fire)
            .expect_err("no plugin loaded");
        assert_eq!(refusal.to_string(), "the check `quality` refused: no plugin named `quality` is loaded");
        let preview =
            decide(&wf, &p, &command, &Facts::default(), &Double { limit: 10 }, Mode::Preview).expect("passes");
        assert_eq!(preview, Decision { to: "monitoring".into(), effects: vec![] });
    }
}
