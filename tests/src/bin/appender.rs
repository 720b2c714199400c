//! A process that appends events to plans as fast as it can and prints
//! `ack PLAN SEQ` after each acknowledged (durable) event. The kill test
//! SIGKILLs it at random moments and checks every acknowledged event.
//!
//! Usage: `appender DATA_DIR PACKS_DIR TEMPLATES_DIR THREADS`

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use integritas_core::date::Date;
use integritas_core::engine::Engine;
use integritas_core::executor::Command;
use integritas_core::pack::Loader;
use integritas_core::plugin::NoPlugins;
use integritas_core::store::{Institution, SledStore};
use serde_json::{Value, json};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(data), Some(packs), Some(templates), Some(threads)) =
        (args.get(1), args.get(2), args.get(3), args.get(4).and_then(|t| t.parse::<usize>().ok()))
    else {
        eprintln!("usage: appender DATA_DIR PACKS_DIR TEMPLATES_DIR THREADS");
        std::process::exit(2);
    };
    let (catalog, _) =
        Loader { host: None, templates: Some(&PathBuf::from(templates)) }.load_dir(&PathBuf::from(packs));
    let store = SledStore::open(&PathBuf::from(data)).expect("open store");
    let engine = Arc::new(Engine::new(Arc::new(store), catalog, Arc::new(NoPlugins)));
    let plans = prepare(&engine, threads);
    let workers: Vec<_> = plans
        .into_iter()
        .map(|plan| {
            let engine = engine.clone();
            std::thread::spawn(move || append_forever(&engine, &plan))
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}

fn day() -> Date {
    Date::new(2022, 1, 10).expect("date")
}

fn command(event: &str, role: &str, payload: Value) -> Command {
    Command { event: event.into(), role: role.into(), actor: "appender".into(), payload, today: day() }
}

/// Makes sure `threads` plans exist and are past the preparation phase
/// (resuming where a killed run stopped).
fn prepare(engine: &Engine, threads: usize) -> Vec<String> {
    // One institution per plan: the rs workflow keeps one plan per institution.
    for n in 1..=threads {
        let id = format!("kill-test-{n}");
        if engine.institution(&id).is_err() {
            let inst = Institution {
                id: id.clone(),
                name: "Kill test".into(),
                jurisdiction: "rs".into(),
                kind: String::new(),
                employees: None,
                parent: None,
                timezone: None,
            };
            engine.add_institution(inst).expect("add institution");
        }
        if !engine.plans().expect("plans").iter().any(|p| p.institution == id) {
            engine.new_plan(&id, "rs/three_phase", "appender", day()).expect("new plan");
        }
    }
    let mut ids: Vec<String> = engine.plans().expect("plans").into_iter().map(|p| p.id).collect();
    ids.sort();
    for id in &ids {
        if engine.plan(id).expect("plan").state == "coordinator_appointment" {
            let decision = json!({"coordinator_decision": {"number": "1", "decided_on": "2022-01-10", "posted_on": "2022-01-10", "coordinator": "K", "position": "P"}});
            engine.fire(id, &command("appoint_coordinator", "head", decision)).expect("appoint");
        }
        if engine.plan(id).expect("plan").state == "working_group_formation" {
            let rows: Vec<Value> = (0..3).map(|i| json!({"name": format!("m{i}"), "area": format!("a{i}")})).collect();
            let group = json!({"working_group_decision": {"number": "2", "decided_on": "2022-01-10", "members": rows}});
            engine.fire(id, &command("form_working_group", "head", group)).expect("form group");
        }
    }
    ids
}

fn append_forever(engine: &Engine, plan: &str) {
    let mut n: u64 = 0;
    loop {
        n += 1;
        let payload = json!({"meeting_minutes": {"meetings": [
            {"held_on": "2022-01-10", "present": "all", "conclusions": format!("meeting {n} of {plan}")},
        ]}});
        match engine.fire(plan, &command("record_meeting", "coordinator", payload)) {
            Ok(fired) => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "ack {plan} {}", fired.event.seq);
                let _ = out.flush();
            }
            Err(e) => {
                eprintln!("append failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
