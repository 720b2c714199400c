//! Scenario tests a methodology author writes in RON and `integritas pack
//! test` runs: events with actors, dates and payloads, and the states,
//! refusals, deadlines and values expected after each.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::date::Date;
use crate::deadline::{self, DueItem, Status};
pub use crate::definition::scenario::{DeadlineCheck, Expect, Report, Scenario, ScenarioInstitution, Step, ValueCheck};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::executor::Command;
use crate::pack::{Catalog, Pack};
use crate::plugin::PluginRunner;
use crate::store::{Institution, SledStore};
use crate::wire::DueView;

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
    let parent = match &inst.parent {
        Some(parent) => Some(add_institution(&engine, pack, "scenario-parent", parent, None)?),
        None => None,
    };
    add_institution(&engine, pack, "scenario", &inst, parent)?;
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
            Step::Check { date, state, cycle, overdue, upcoming, met, deadlines, values } => check(
                &engine,
                &plan,
                *date,
                Expected {
                    state: state.as_deref(),
                    cycle: *cycle,
                    overdue: overdue.as_deref(),
                    upcoming: upcoming.as_deref(),
                    met,
                    deadlines,
                    values,
                },
            )?,
            Step::Document { date, id, lang, contains, not_contains } => {
                // What the pack's template writes, even of a document not taken yet.
                let html = engine.preview_document(&plan, id, lang.as_deref(), *date)?.html;
                let text = visible_text(&html);
                let mut problems: Vec<String> = contains
                    .iter()
                    .filter(|t| !text.contains(t.as_str()))
                    .map(|t| format!("document `{id}` does not contain \"{t}\""))
                    .collect();
                problems.extend(
                    not_contains
                        .iter()
                        .filter(|t| text.contains(t.as_str()))
                        .map(|t| format!("document `{id}` contains \"{t}\", which it must not")),
                );
                problems
            }
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

/// Registers a scenario's institution (or its parent) for the pack.
fn add_institution(
    engine: &Engine,
    pack: &Pack,
    id: &str,
    inst: &ScenarioInstitution,
    parent: Option<String>,
) -> Result<String, EngineError> {
    engine.add_institution(Institution {
        id: id.into(),
        name: if inst.name.is_empty() { "Scenario".into() } else { inst.name.clone() },
        jurisdiction: pack.manifest.id.clone(),
        kind: inst.kind.clone(),
        employees: inst.employees,
        parent,
        timezone: None,
    })?;
    Ok(id.to_string())
}

/// The text of an HTML document as a reader sees it: tags dropped,
/// entities of the escaped characters read back, spaces collapsed.
fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a `Check` step expects.
struct Expected<'s> {
    state: Option<&'s str>,
    cycle: Option<u32>,
    overdue: Option<&'s [String]>,
    upcoming: Option<&'s [String]>,
    met: &'s [String],
    deadlines: &'s [DeadlineCheck],
    values: &'s [ValueCheck],
}

fn check(engine: &Engine, plan_id: &str, date: Date, expected: Expected) -> Result<Vec<String>, EngineError> {
    let Expected { state, cycle, overdue, upcoming, met, deadlines, values } = expected;
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
    problems.extend(deadlines.iter().filter_map(|d| deadline_problem(&schedule, d, date)));
    let mut by_id: serde_json::Map<String, Value> = serde_json::Map::new();
    for item in &schedule {
        let entry = by_id.entry(item.deadline.clone()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(serde_json::to_value(DueView::from(item)).unwrap_or_default());
        }
    }
    let view = json!({
        "state": plan.state, "cycle": plan.cycle, "data": plan.data, "scores": plan.scores,
        "documents": plan.documents, "obliged": plan.obliged, "notices": plan.notices, "deadlines": by_id,
    });
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

/// What is wrong with a deadline's occurrence on `date`, if anything.
fn deadline_problem(schedule: &[DueItem], expected: &DeadlineCheck, date: Date) -> Option<String> {
    let found = schedule.iter().find(|i| i.deadline == expected.id && expected.due.is_none_or(|due| i.due == due));
    let Some(item) = found else {
        let due = expected.due.map(|d| format!(" due {d}")).unwrap_or_default();
        return Some(format!("on {date} the deadline `{}`{due} is not tracked", expected.id));
    };
    let (status, on) = match item.status {
        Status::Upcoming { .. } => ("upcoming", None),
        Status::Overdue { .. } => ("overdue", None),
        Status::Met { on, late: false } => ("met", Some(on)),
        Status::Met { on, late: true } => ("met_late", Some(on)),
    };
    let mut wrong = Vec::new();
    if let Some(want) = &expected.status
        && want != status
    {
        wrong.push(format!("is {status}, expected {want}"));
    }
    if let Some(want) = expected.due
        && want != item.due
    {
        wrong.push(format!("is due {}, expected {want}", item.due));
    }
    if expected.on.is_some() && expected.on != on {
        let was = on.map_or("not met".to_string(), |d| format!("met on {d}"));
        wrong.push(format!("was {was}, expected met on {}", expected.on.map(|d| d.to_string()).unwrap_or_default()));
    }
    (!wrong.is_empty())
        .then(|| format!("on {date} the deadline `{}` (due {}) {}", expected.id, item.due, wrong.join(", ")))
}

/// The value at a dotted path; numeric segments index lists.
pub fn value_at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, segment| match v {
        Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
        Value::Object(map) => map.get(segment),
        _ => None,
    })
}
