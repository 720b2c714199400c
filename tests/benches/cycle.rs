//! Issue 8 benchmarks: what one event costs the engine, and whether that
//! cost stays flat as a plan grows.
//!
//! - `cycle/decide_apply`: the Serbian pack's whole third cycle (its own
//!   `scenarios/cycle.ron`: 11 events, 4 of them scored) through `decide`
//!   and `apply` in memory, hash chain included, with the scoring plugins
//!   compiled natively so the figure is the engine's own. Its peer is the
//!   same cycle as an XState 5 machine on node (`tests/benches/xstate`),
//!   fed the same payloads (this bench writes them to
//!   `target/xstate-cycle.json`).
//! - `answers`: 5,000 anonymous questionnaire answers appended to one plan,
//!   in memory and through the engine on a sled store; the median of the
//!   first and of the last 100, and their ratio.
//!
//! Run: `cargo bench -p integritas-tests --bench cycle`, then
//! `tests/benches/xstate/run.sh`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, black_box};
use integritas_core::date::Date;
use integritas_core::definition::Workflow;
use integritas_core::definition::scenario::Step;
use integritas_core::engine::{CREATED, Engine};
use integritas_core::executor::{self, Command, Mode};
use integritas_core::guard;
use integritas_core::pack::{Catalog, Loader, Pack, load_pack};
use integritas_core::plugin::{PluginError, PluginOutput, PluginRunner, Provenance};
use integritas_core::projection::Plan;
use integritas_core::store::{Effect, Event, Institution, PlanMeta, SledStore, hash_hex};
use integritas_plugin_sdk::handle;
use integritas_tests::{packs_dir, repo_root};
use serde_json::{Value, json};

/// The allocator the `integritas` binary ships with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The packs' scoring plugins, called as plain Rust functions.
struct NativePlugins;

impl PluginRunner for NativePlugins {
    fn call(&self, plugin: &str, entry: &str, input: &Value) -> Result<PluginOutput, PluginError> {
        let id = plugin.rsplit('/').next().unwrap_or(plugin);
        let bytes = serde_json::to_vec(input).unwrap_or_default();
        let envelope = match (id, entry) {
            ("risk-matrix", "register") => handle(&bytes, risk_matrix::register),
            ("risk-matrix", "score") => handle(&bytes, risk_matrix::score),
            ("implementation-degree", "degree") => handle(&bytes, implementation_degree::degree),
            ("questionnaire", "aggregate") => handle(&bytes, questionnaire::aggregate),
            ("status-trend", "register") => handle(&bytes, status_trend::register),
            ("status-trend", "trend") => handle(&bytes, status_trend::trend),
            _ => return Err(PluginError::UnknownPlugin(plugin.into())),
        };
        let envelope: Value = serde_json::from_slice(&envelope).unwrap_or_default();
        match envelope.get("ok") {
            Some(value) => Ok(PluginOutput {
                value: value.clone(),
                provenance: Provenance { id: id.into(), version: "native".into(), sha256: String::new() },
            }),
            None => Err(PluginError::Rejected { plugin: plugin.into(), message: envelope["error"].to_string() }),
        }
    }
}

fn serbian_pack() -> Pack {
    let templates = repo_root().join("templates");
    let (pack, diagnostics) =
        load_pack(&packs_dir().join("rs"), &Loader { host: None, templates: Some(templates.as_path()) });
    pack.unwrap_or_else(|| panic!("the rs pack loads: {diagnostics:?}"))
}

/// The Fire steps of the pack's own cycle scenario, as commands.
fn cycle_commands(pack: &Pack) -> (Date, Vec<Command>) {
    let (_, scenario) = pack.scenarios.iter().find(|(file, _)| file.ends_with("cycle.ron")).expect("cycle.ron");
    let commands = scenario
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::Fire { date, role, event, payload, .. } => Some(Command {
                event: event.clone(),
                role: role.clone(),
                actor: "bench".into(),
                payload: payload.clone(),
                today: *date,
            }),
            Step::Check { .. } | Step::Document { .. } => None,
        })
        .collect();
    (scenario.start, commands)
}

/// A new plan of the workflow, created on `start`.
fn new_plan(workflow: &Workflow, start: Date) -> Plan {
    let (number, cycle_start) = executor::first_cycle(workflow, start);
    let meta = PlanMeta {
        id: "plan-1".into(),
        institution: "bench".into(),
        workflow: format!("rs/{}", workflow.id()),
        pack_version: "1.0.0".into(),
        created: start,
    };
    let first = Event {
        seq: 1,
        date: start,
        recorded_at: String::new(),
        actor: "bench".into(),
        role: String::new(),
        event: CREATED.into(),
        payload: json!({}),
        from: String::new(),
        to: workflow.def().initial.clone(),
        effects: vec![Effect::CycleOpened { number, start: cycle_start }],
        prev: String::new(),
    };
    let bytes = first.to_bytes();
    Plan::replay(meta, workflow, &[(first, bytes)]).expect("one event")
}

/// What `Engine::fire` does without the store: decide, build the event,
/// serialize and hash it, fold it in.
fn step(workflow: &Workflow, plan: &mut Plan, command: &Command, plugins: &dyn PluginRunner) {
    let mut command = command.clone();
    if let Some(event) = workflow.event(&command.event) {
        guard::normalize_payload(workflow, &event.fills, &mut command.payload);
    }
    let decision = executor::decide(workflow, plan, &command, &executor::Facts::default(), plugins, Mode::Fire)
        .unwrap_or_else(|r| panic!("{} refused: {r}", command.event));
    let event = Event {
        seq: plan.seq + 1,
        date: command.today,
        recorded_at: String::new(),
        actor: command.actor,
        role: command.role,
        event: command.event,
        payload: command.payload,
        from: plan.state.clone(),
        to: decision.to,
        effects: decision.effects,
        prev: plan.head.clone(),
    };
    let bytes = event.to_bytes();
    plan.apply(workflow, &event, hash_hex(&bytes));
}

/// Writes the cycle for the XState peer: its start, each step, and the
/// pack's forms (the peer validates payloads and completeness from them,
/// as the engine does).
fn export_for_xstate(workflow: &Workflow, start: Date, commands: &[Command]) {
    let steps: Vec<Value> = commands
        .iter()
        .map(|c| json!({"event": c.event, "role": c.role, "date": c.today, "payload": c.payload}))
        .collect();
    let path = repo_root().join("target/xstate-cycle.json");
    let (_, cycle_start) = executor::first_cycle(workflow, start);
    let body = json!({"start": start, "cycle_start": cycle_start, "steps": steps, "forms": workflow.def().forms});
    std::fs::write(&path, body.to_string()).expect("write the XState input");
    eprintln!("wrote {}", path.display());
}

fn bench_cycle(c: &mut Criterion) {
    let pack = serbian_pack();
    let workflow = pack.workflows.get("three_phase").expect("three_phase").clone();
    let (start, commands) = cycle_commands(&pack);
    export_for_xstate(&workflow, start, &commands);
    let fresh = new_plan(&workflow, start);
    c.bench_function("cycle/decide_apply", |b| {
        b.iter(|| {
            let mut plan = fresh.clone();
            for command in &commands {
                step(&workflow, &mut plan, command, &NativePlugins);
            }
            black_box(plan.seq)
        })
    });
}

const ANSWERS: usize = 5_000;
const WINDOW: usize = 100;

fn answer(i: usize, today: Date) -> Command {
    let process = if i.is_multiple_of(2) { "javne nabavke" } else { "odabir kadrova" };
    Command {
        event: "answer_questionnaire".into(),
        role: "employee".into(),
        actor: "anonymous".into(),
        payload: json!({"questionnaire_answers": {"responses": [
            {"process": process, "measures_exist": "da", "measures_applied": "delimično", "knowledge": "ne", "experience": "ne"}
        ]}}),
        today,
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Prints the medians of the first and the last `WINDOW` durations.
fn report(what: &str, durations: &[Duration]) {
    let first = median(durations[..WINDOW].to_vec());
    let last = median(durations[durations.len() - WINDOW..].to_vec());
    let total: Duration = durations.iter().sum();
    println!(
        "{what}: {ANSWERS} answers in {:.2} s; first {WINDOW}: median {:.1} µs, last {WINDOW}: median {:.1} µs, last/first = {:.2}",
        total.as_secs_f64(),
        first.as_secs_f64() * 1e6,
        last.as_secs_f64() * 1e6,
        last.as_secs_f64() / first.as_secs_f64()
    );
}

/// The commands of the cycle up to the opening of the questionnaire.
fn until_questionnaire(commands: &[Command]) -> Vec<Command> {
    let open = commands.iter().position(|c| c.event == "identify_processes").expect("identify_processes") + 1;
    commands[..open].to_vec()
}

fn bench_answers_in_memory(pack: &Pack, start: Date, commands: &[Command]) {
    let workflow = pack.workflows.get("three_phase").expect("three_phase").clone();
    let mut plan = new_plan(&workflow, start);
    let opening = until_questionnaire(commands);
    for command in &opening {
        step(&workflow, &mut plan, command, &NativePlugins);
    }
    let today = opening.last().expect("a step").today;
    let durations: Vec<Duration> = (0..ANSWERS)
        .map(|i| {
            let command = answer(i, today);
            let started = Instant::now();
            step(&workflow, &mut plan, &command, &NativePlugins);
            started.elapsed()
        })
        .collect();
    report("answers in memory (decide + apply)", &durations);
}

fn bench_answers_through_the_engine(pack: Pack, start: Date, commands: &[Command]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(&dir.path().join("data")).expect("store");
    let mut catalog = Catalog::default();
    catalog.insert(pack);
    let engine = Engine::new(Arc::new(store), catalog, Arc::new(NativePlugins));
    let institution = Institution {
        id: "bench".into(),
        name: "Bench".into(),
        jurisdiction: "rs".into(),
        kind: String::new(),
        employees: Some(240),
        parent: None,
        timezone: None,
    };
    engine.add_institution(institution).expect("institution");
    let plan = engine.new_plan("bench", "rs/three_phase", "bench", start).expect("plan").meta.id.clone();
    let opening = until_questionnaire(commands);
    for command in &opening {
        engine.fire(&plan, command).expect("fires");
    }
    let today = opening.last().expect("a step").today;
    let durations: Vec<Duration> = (0..ANSWERS)
        .map(|i| {
            let started = Instant::now();
            engine.fire(&plan, &answer(i, today)).expect("answer recorded");
            started.elapsed()
        })
        .collect();
    report("answers through the engine (durable, sled)", &durations);
}

/// `INTEGRITAS_CYCLES=N`: run the cycle N times and stop, for counting
/// instructions with `valgrind --tool=callgrind` (repeatable on a busy machine).
fn count_only(cycles: usize) {
    let pack = serbian_pack();
    let workflow = pack.workflows.get("three_phase").expect("three_phase").clone();
    let (start, commands) = cycle_commands(&pack);
    let fresh = new_plan(&workflow, start);
    for _ in 0..cycles {
        let mut plan = fresh.clone();
        for command in &commands {
            step(&workflow, &mut plan, command, &NativePlugins);
        }
        black_box(plan.seq);
    }
}

fn main() {
    if let Some(cycles) = std::env::var("INTEGRITAS_CYCLES").ok().and_then(|n| n.parse().ok()) {
        count_only(cycles);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    bench_cycle(&mut criterion);
    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }
    let pack = serbian_pack();
    let (start, commands) = cycle_commands(&pack);
    bench_answers_in_memory(&pack, start, &commands);
    bench_answers_through_the_engine(pack, start, &commands);
    criterion.final_summary();
}
