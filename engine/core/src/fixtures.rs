//! Test fixtures shared by the unit tests: a small country-free workflow
//! with every kind of guard and deadline, and plans built from event lists.

use serde_json::Value;

use crate::date::Date;
use crate::definition::parse::parse_ron;
use crate::definition::{Workflow, check};
use crate::diagnostic::Source;
use crate::projection::Plan;
use crate::store::{Effect, Event, PlanMeta};

/// A yearly report after adoption, a review every second year, a plugin
/// guard and a scoring action: the constructs a recurring-report law needs.
pub const ANNUAL: &str = r#"Workflow(
    id: "annual",
    roles: [Role(id: "head"), Role(id: "manager"), Role(id: "agency", read_only: true)],
    forms: [
        Form(id: "register", fields: [
            Field(id: "risks", kind: Table, required: true, min_rows: 1, columns: [
                Field(id: "area", kind: Text, required: true),
                Field(id: "kind", kind: Choice, choices: ["general", "special"], required: true),
                Field(id: "probability", kind: Integer, min: 1, max: 10),
                Field(id: "consequence", kind: Integer, min: 1, max: 10),
            ]),
        ]),
        Form(id: "report", fields: [Field(id: "year", kind: Integer, required: true)]),
    ],
    documents: ["adoption_decision"],
    states: [
        State(id: "drafting"),
        State(id: "implementation", kind: Phase),
        State(id: "monitoring", parent: "implementation"),
        State(id: "ended", kind: Final),
    ],
    initial: "drafting",
    events: [
        Event(id: "adopt", fills: ["register"]),
        Event(id: "annual_report", fills: ["report"]),
        Event(id: "review", fills: ["register"]),
        Event(id: "end"),
    ],
    transitions: [
        Transition(from: ["drafting"], on: "adopt", to: "monitoring", roles: ["head"],
            forms_complete: ["register"],
            conditions: [CountWhere(path: "register.risks", column: "kind", equals: "special", min: 2, label: "special areas")],
            plugin: PluginGuard(plugin: "quality", entry: "check", forms: ["register"]),
            actions: [Render("adoption_decision"),
                Score(plugin: "matrix", entry: "score", input: "register.risks", output: "risk_scores", config: {"max": 10})]),
        Transition(from: ["implementation"], on: "annual_report", roles: ["manager"], forms_complete: ["report"]),
        Transition(from: ["implementation"], on: "review", roles: ["manager"]),
        Transition(from: ["implementation"], on: "end", to: "ended", roles: ["head"]),
    ],
    deadlines: [
        Deadline(id: "adoption", what: "Adopt the plan", who: "head", due: FromCycleStart(months: 6), met_by: ["adopt"]),
        Deadline(id: "annual_report", what: "Report on the previous year", who: "manager",
            due: Yearly(month: 4, day: 15), met_by: ["annual_report"], active_in: ["implementation"]),
        Deadline(id: "review", what: "Effectiveness review", who: "manager",
            due: EveryYears(years: 2, from: Entry("monitoring")), met_by: ["review"], active_in: ["implementation"]),
    ],
)"#;

/// A bare event (`e` as `r`, staying in `s`) with a payload and a link.
pub fn event(seq: u64, prev: &str, payload: Value) -> Event {
    Event {
        seq,
        date: date("2022-01-01"),
        recorded_at: String::new(),
        actor: "a".into(),
        role: "r".into(),
        event: "e".into(),
        payload,
        from: "s".into(),
        to: "s".into(),
        effects: vec![],
        prev: prev.into(),
    }
}

pub fn workflow(text: &str) -> Workflow {
    let source = Source::new("fixture.ron", text);
    let def = parse_ron(&source).unwrap_or_else(|d| panic!("fixture parses: {d}"));
    let (workflow, diagnostics) = check(def, &source);
    workflow.unwrap_or_else(|| panic!("fixture checks: {diagnostics:?}"))
}

pub fn date(text: &str) -> Date {
    text.parse().expect("fixture date")
}

/// A plan created on `start` that then went through `events`
/// (`(event, date, to, payload)`), with no other effects.
pub fn plan(workflow: &Workflow, start: &str, events: &[(&str, &str, &str, Value)]) -> Plan {
    let meta = PlanMeta {
        id: "p".into(),
        institution: "i".into(),
        workflow: "x/annual".into(),
        pack_version: "1.0.0".into(),
        created: date(start),
    };
    let mut log = vec![Event {
        seq: 1,
        date: date(start),
        recorded_at: String::new(),
        actor: "t".into(),
        role: String::new(),
        event: "@created".into(),
        payload: Value::Null,
        from: String::new(),
        to: workflow.def().initial.clone(),
        effects: vec![Effect::CycleOpened { number: 1, start: date(start) }],
        prev: String::new(),
    }];
    for (i, (event, on, to, payload)) in events.iter().enumerate() {
        let from = log.last().map(|e| e.to.clone()).unwrap_or_default();
        log.push(Event {
            seq: i as u64 + 2,
            date: date(on),
            recorded_at: String::new(),
            actor: "t".into(),
            role: "head".into(),
            event: (*event).into(),
            payload: payload.clone(),
            from,
            to: (*to).into(),
            effects: vec![],
            prev: String::new(),
        });
    }
    let with_bytes: Vec<(Event, Vec<u8>)> = log
        .into_iter()
        .map(|e| {
            let b = e.to_bytes();
            (e, b)
        })
        .collect();
    Plan::replay(meta, workflow, &with_bytes).expect("non-empty log")
}
