//! Engine benchmarks (issues 2 and 9): durable events per second through
//! the engine against a raw sled insert+flush loop and a plain file with
//! one append and `fdatasync` per record of the same bytes, and the
//! in-memory rate of guard evaluation and deadline computation for a plan
//! with 1,000 events. Run: `cargo bench -p integritas-core --bench engine`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use integritas_core::date::Date;
use integritas_core::deadline;
use integritas_core::engine::Engine;
use integritas_core::executor::{self, Command};
use integritas_core::pack::Loader;
use integritas_core::plugin::NoPlugins;
use integritas_core::store::{Institution, SledStore};
use serde_json::{Value, json};

/// A small workflow: a self-loop that appends to a register, guarded by a
/// count and a range, with a one-off and a yearly deadline.
const WORKFLOW: &str = r#"Workflow(
    id: "bench",
    roles: [Role(id: "clerk")],
    forms: [Form(id: "register", fields: [
        Field(id: "note", kind: Text, required: true),
        Field(id: "rows", kind: Table, columns: [
            Field(id: "name", kind: Text, required: true),
            Field(id: "score", kind: Integer, min: 1, max: 100),
        ]),
    ])],
    states: [State(id: "open"), State(id: "done", kind: Final)],
    initial: "open",
    events: [Event(id: "note", fills: ["register"]), Event(id: "finish")],
    transitions: [
        Transition(from: ["open"], on: "note", roles: ["clerk"], forms_complete: ["register"],
            conditions: [Count(path: "register.rows", max: 5000), Range(path: "register.rows", column: "score", min: 1, max: 100)]),
        Transition(from: ["open"], on: "finish", to: "done", roles: ["clerk"]),
    ],
    deadlines: [
        Deadline(id: "first", what: "First note", who: "clerk", due: FromCycleStart(months: 1), met_by: ["note"]),
        Deadline(id: "yearly", what: "Yearly note", who: "clerk", due: Yearly(month: 4, day: 15), met_by: ["note"]),
    ],
)"#;

fn write_pack(dir: &Path) {
    let pack = dir.join("bench");
    std::fs::create_dir_all(pack.join("workflows")).expect("pack dir");
    std::fs::write(
        pack.join("pack.ron"),
        r#"Pack(id: "bench", title: {"en": "Bench"}, version: "1.0.0", requires: ">=0.1.0", languages: ["en"], workflows: ["workflows/bench.ron"])"#,
    )
    .expect("manifest");
    std::fs::write(pack.join("workflows/bench.ron"), WORKFLOW).expect("workflow");
}

fn day() -> Date {
    Date::new(2024, 1, 1).expect("date")
}

fn payload(n: u64) -> Value {
    json!({"register": {"note": format!("note number {n}: the working group met and agreed on the next steps"), "rows": [{"name": "risk", "score": 12}]}})
}

fn note(n: u64) -> Command {
    Command { event: "note".into(), role: "clerk".into(), actor: "bench".into(), payload: payload(n), today: day() }
}

struct Setup {
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
}

fn engine_with_plans(plans: usize) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    write_pack(dir.path());
    let (catalog, diagnostics) = Loader::default().load_dir(dir.path());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let store = SledStore::open(&dir.path().join("data")).expect("store");
    let engine = Arc::new(Engine::new(Arc::new(store), catalog, Arc::new(NoPlugins)));
    let inst = Institution {
        id: "i".into(),
        name: "I".into(),
        jurisdiction: "bench".into(),
        kind: String::new(),
        employees: None,
        parent: None,
        timezone: None,
    };
    engine.add_institution(inst).expect("institution");
    for _ in 0..plans {
        engine.new_plan("i", "bench/bench", "bench", day()).expect("plan");
    }
    Setup { _dir: dir, engine }
}

fn durable_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_append");
    group.sample_size(30).measurement_time(Duration::from_secs(8));

    let setup = engine_with_plans(1);
    let mut n = 0;
    group.bench_function("engine_fire", |b| {
        b.iter(|| {
            n += 1;
            setup.engine.fire("plan-1", &note(n)).expect("fire")
        })
    });

    // The raw loop stores the very bytes the engine stores, one flush each.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::Config::new().path(dir.path()).flush_every_ms(None).open().expect("sled");
    let tree = db.open_tree("events").expect("tree");
    let sample = setup.engine.history("plan-1", 1, usize::MAX).expect("history").pop().expect("an event").to_bytes();
    let mut seq: u64 = 0;
    group.bench_function("raw_sled_insert_flush", |b| {
        b.iter(|| {
            seq += 1;
            let mut key = b"plan-1\0".to_vec();
            key.extend_from_slice(&seq.to_be_bytes());
            tree.insert(key, sample.as_slice()).expect("insert");
            db.flush().expect("flush")
        })
    });

    // The floor for one writer: the same bytes appended to a plain file, one fdatasync each.
    let mut file =
        std::fs::OpenOptions::new().create(true).append(true).open(dir.path().join("raw.log")).expect("raw file");
    group.bench_function("raw_file_append_fdatasync", |b| {
        b.iter(|| {
            std::io::Write::write_all(&mut file, &sample).expect("write");
            file.sync_data().expect("fdatasync")
        })
    });

    // Several writers on as many plans share syncs (group commit).
    for writers in [4, 64] {
        let setup = engine_with_plans(writers);
        group.bench_function(format!("engine_fire_{writers}_writers"), |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(writers as u64);
                let start = Instant::now();
                let workers: Vec<_> = (1..=writers)
                    .map(|p| {
                        let engine = setup.engine.clone();
                        std::thread::spawn(move || {
                            for n in 0..per {
                                engine.fire(&format!("plan-{p}"), &note(n)).expect("fire");
                            }
                        })
                    })
                    .collect();
                for w in workers {
                    w.join().expect("worker");
                }
                start.elapsed().mul_f64(iters as f64 / (per * writers as u64) as f64)
            })
        });
    }
    group.finish();
}

fn in_memory(c: &mut Criterion) {
    let setup = engine_with_plans(1);
    for n in 1..1000 {
        setup.engine.fire("plan-1", &note(n)).expect("fire");
    }
    let plan = setup.engine.plan("plan-1").expect("plan");
    assert_eq!(plan.seq, 1000);
    let workflow = setup.engine.workflow_of(&plan.meta).expect("workflow");
    let mut group = c.benchmark_group("plan_with_1000_events");
    group.bench_function("decide_guards", |b| {
        let command = note(1001);
        b.iter(|| {
            executor::decide(&workflow, &plan, &command, &executor::Facts::default(), &NoPlugins, executor::Mode::Fire)
                .expect("passes")
        })
    });
    let later = Date::new(2031, 6, 1).expect("date");
    group.bench_function("due_schedule", |b| b.iter(|| deadline::schedule(&workflow, &plan, later)));
    group.finish();
}

criterion_group!(benches, durable_append, in_memory);
criterion_main!(benches);
