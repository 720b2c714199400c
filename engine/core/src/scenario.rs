//! Scenario tests a methodology author writes in RON and `integritas pack
//! test` runs: events with actors, dates and payloads, and the states,
//! refusals, deadlines and values expected after each.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::date::Date;
use crate::deadline::{self, Status};
pub use crate::definition::scenario::{Expect, Report, Scenario, ScenarioInstitution, Step, ValueCheck};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::executor::Command;
use crate::pack::{Catalog, Pack};
use crate::plugin::PluginRunner;
use crate::store::{Institution, SledStore};

/// Runs a scenario against a fresh, temporary store with only this pack.
pub fn run(pack: &Arc<Pack>, plugins: Arc<dyn PluginRunner>, file: &str, scenario: &Scenario) -> Report {
    let mut report =
        Report { file: file.into(), name: scenario.name.clone(), steps: scenario.steps.len(), failures: vec![] };
    if let Err(e) = run_steps(pack, plugins, scenario, &mut report.failures) {
        report.failures.push(format!("setup: {e}"));
    }
    report
}

fn run_steps(
    pack: &Arc<Pack>,
    plugins: Arc<dyn PluginRunner>,
    scenario: &Scenario,
    failures: &mut Vec<String>,
) -> Result<(), EngineError> {
    let mut catalog = Catalog::default();
    catalog.insert_arc(pack.clone());
    let engine = Engine::new(Arc::new(SledStore::temporary()?), catalog, plugins);
    let inst = scenario.institution.clone().unwrap_or_default();
    engine.add_institution(Institution {
        id: "scenario".into(),
        name: if inst.name.is_empty() { "Scenario".into() } else { inst.name },
        jurisdiction: pack.manifest.id.clone(),
        kind: inst.kind,
        employees: inst.employees,
        parent: None,
        timezone: None,
    })?;
    let workflow = format!("{}/{}", pack.manifest.id, scenario.workflow);
    let plan = engine.new_plan("scenario", &workflow, "scenario", scenario.start)?.meta.id.clone();
    for (i, step) in scenario.steps.iter().enumerate() {
        let problems = match step {
            Step::Fire { date, role, event, payload, expect } => {
                let command = Command {
                    event: event.clone(),
                    role: role.clone(),
                    actor: format!("scenario {role}"),
                    payload: payload.clone(),
                    today: *date,
                };
                fire(&engine, &plan, &command, expect)?
            }
            Step::Check { date, state, cycle, overdue, upcoming, met, values } => check(
                &engine,
                &plan,
                *date,
                state.as_deref(),
                *cycle,
                overdue.as_deref(),
                upcoming.as_deref(),
                met,
                values,
            )?,
        };
        failures.extend(problems.into_iter().map(|p| format!("step {}: {p}", i + 1)));
    }
    Ok(())
}

fn fire(engine: &Engine, plan: &str, command: &Command, expect: &Expect) -> Result<Vec<String>, EngineError> {
    let before = engine.plan(plan)?.state.clone();
    let what = format!("`{}` as {} on {}", command.event, command.role, command.today);
    let result = match engine.is_anonymous(plan, &command.event)? {
        // An anonymous answer leaves the plan where it is; it has no event of its own.
        true => engine.answer(plan, command, None).map(|_| before.clone()),
        false => engine.fire(plan, command).map(|f| f.state),
    };
    Ok(match (result, expect) {
        (Ok(_), Expect::Accepted) => vec![],
        (Ok(state), Expect::Stayed) if state == before => vec![],
        (Ok(state), Expect::Stayed) => vec![format!("{what} moved the plan to `{state}`; expected it to stay")],
        (Ok(state), Expect::Moved(to)) if &state == to => vec![],
        (Ok(state), Expect::Moved(to)) => vec![format!("{what} moved the plan to `{state}`; expected `{to}`")],
        (Ok(state), Expect::Refused { guard, .. }) => {
            vec![format!("{what} was accepted (now in `{state}`); expected the {guard} guard to refuse it")]
        }
        (Err(EngineError::Refused(r)), Expect::Refused { guard, message }) => {
            let mut problems = vec![];
            if r.guard() != guard {
                problems.push(format!("{what} was refused by the {} guard, not {guard}: {r}", r.guard()));
            }
            if !r.to_string().contains(message.as_str()) {
                problems.push(format!("{what} was refused with \"{r}\", which does not contain \"{message}\""));
            }
            problems
        }
        (Err(EngineError::Refused(r)), _) => vec![format!("{what} was refused by the {} guard: {r}", r.guard())],
        (Err(e), _) => return Err(e),
    })
}

#[allow(clippy::too_many_arguments)]
fn check(
    engine: &Engine,
    plan_id: &str,
    date: Date,
    state: Option<&str>,
    cycle: Option<u32>,
    overdue: Option<&[String]>,
    upcoming: Option<&[String]>,
    met: &[String],
    values: &[ValueCheck],
) -> Result<Vec<String>, EngineError> {
    let plan = engine.plan(plan_id)?;
    let workflow = engine.workflow_of(&plan.meta)?;
    let mut problems = Vec::new();
    if let Some(state) = state.filter(|s| *s != plan.state) {
        problems.push(format!("on {date} the plan is in `{}`, expected `{state}`", plan.state));
    }
    if let Some(cycle) = cycle.filter(|c| *c != plan.cycle.number) {
        problems.push(format!("on {date} the plan is in cycle {}, expected {cycle}", plan.cycle.number));
    }
    let schedule = deadline::schedule(&workflow, &plan, date);
    let ids = |keep: fn(&Status) -> bool| -> Vec<String> {
        let mut ids: Vec<String> = schedule.iter().filter(|d| keep(&d.status)).map(|d| d.deadline.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let mut expect_set = |label: &str, expected: Option<&[String]>, actual: Vec<String>| {
        if let Some(expected) = expected {
            let mut expected = expected.to_vec();
            expected.sort();
            if expected != actual {
                problems.push(format!("on {date} the {label} deadlines are {actual:?}, expected {expected:?}"));
            }
        }
    };
    expect_set("overdue", overdue, ids(|s| matches!(s, Status::Overdue { .. })));
    expect_set("upcoming", upcoming, ids(|s| matches!(s, Status::Upcoming { .. })));
    let met_now = ids(|s| matches!(s, Status::Met { .. }));
    for id in met.iter().filter(|id| !met_now.contains(id)) {
        problems.push(format!("on {date} the deadline `{id}` is not met"));
    }
    let view = json!({"state": plan.state, "cycle": plan.cycle, "data": plan.data, "scores": plan.scores, "documents": plan.documents});
    for v in values {
        match value_at(&view, &v.path) {
            Some(actual) if actual == &v.equals => {}
            Some(actual) => problems.push(format!("`{}` is {actual}, expected {}", v.path, v.equals)),
            None => problems.push(format!("`{}` has no value, expected {}", v.path, v.equals)),
        }
    }
    Ok(problems)
}

/// Runs every scenario of a pack, each against its own temporary store.
pub fn run_all(pack: &Arc<Pack>, plugins: Arc<dyn PluginRunner>) -> Vec<Report> {
    pack.scenarios.iter().map(|(file, scenario)| run(pack, plugins.clone(), file, scenario)).collect()
}

/// The value at a dotted path; numeric segments index lists.
pub fn value_at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, segment| match v {
        Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
        Value::Object(map) => map.get(segment),
        _ => None,
    })
}
