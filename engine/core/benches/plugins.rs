//! Plugin host benchmarks: per-call overhead, a 1,000-risk register in one
//! wasm call against the same scoring in native Rust, and pack load time
//! with plugins compiled cold versus read from the compilation cache.
//!
//! `cargo bench -p integritas --bench plugins -- --warm-up-time 1 --measurement-time 3`

use std::path::PathBuf;

use criterion::{BatchSize, Criterion, black_box, criterion_group, criterion_main};
use integritas_core::plugin::PluginRunner;
use integritas_core::plugin::host::{HostConfig, PluginHost};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const PLUGINS: [&str; 4] = ["risk-matrix", "implementation-degree", "questionnaire", "status-trend"];

fn dist(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist").join(format!("{name}.wasm"))
}

/// Bench data only: a 10 × 10 methodology with three bands.
fn config() -> Value {
    json!({
        "probability": {"min": 1, "max": 10},
        "impact": {"min": 1, "max": 10},
        "levels": [
            {"name": "low", "min": 1, "max": 15, "urgency": "low"},
            {"name": "medium", "min": 16, "max": 48, "urgency": "medium"},
            {"name": "high", "min": 49, "max": 100, "urgency": "high"}
        ]
    })
}

fn register_input(n: usize) -> Value {
    let risks: Vec<Value> =
        (0..n).map(|i| json!({"id": format!("R{i}"), "probability": 1 + i % 10, "impact": 1 + (i * 7) % 10})).collect();
    json!({"config": config(), "risks": risks})
}

/// The native twin of the `risk-matrix` plugin's `register` entry: the same
/// JSON in, the same scoring, the same JSON out, so the comparison measures
/// the sandbox's cost and not different work.
mod native {
    use super::*;

    #[derive(Deserialize)]
    pub struct Scale {
        pub min: i64,
        pub max: i64,
    }
    #[derive(Deserialize)]
    pub struct Level {
        pub name: String,
        pub min: i64,
        pub max: i64,
        pub urgency: Option<String>,
    }
    #[derive(Deserialize)]
    pub struct Config {
        pub probability: Scale,
        pub impact: Scale,
        pub levels: Vec<Level>,
    }
    #[derive(Deserialize)]
    pub struct RiskIn {
        pub id: String,
        pub probability: i64,
        pub impact: i64,
    }
    #[derive(Deserialize)]
    pub struct Input {
        pub config: Config,
        pub risks: Vec<RiskIn>,
    }
    #[derive(Serialize)]
    pub struct Cell {
        pub row: i64,
        pub column: i64,
    }
    #[derive(Serialize)]
    pub struct RiskOut {
        pub id: String,
        pub score: i64,
        pub level: String,
        pub urgency: Option<String>,
        pub cell: Cell,
    }
    #[derive(Serialize)]
    pub struct LevelCount {
        pub level: String,
        pub count: u64,
    }
    #[derive(Serialize)]
    pub struct Output {
        pub risks: Vec<RiskOut>,
        pub counts: Vec<LevelCount>,
        pub heat_map: Vec<Vec<u64>>,
    }

    pub fn register(input: &Value) -> Value {
        let bytes = serde_json::to_vec(input).expect("bench input serialises");
        let input: Input = serde_json::from_slice(&bytes).expect("bench input parses");
        let c = &input.config;
        let rows = (c.probability.max - c.probability.min + 1) as usize;
        let columns = (c.impact.max - c.impact.min + 1) as usize;
        let mut heat_map = vec![vec![0u64; columns]; rows];
        let mut counts: Vec<LevelCount> =
            c.levels.iter().map(|l| LevelCount { level: l.name.clone(), count: 0 }).collect();
        let mut risks = Vec::with_capacity(input.risks.len());
        for r in input.risks {
            assert!((c.probability.min..=c.probability.max).contains(&r.probability));
            assert!((c.impact.min..=c.impact.max).contains(&r.impact));
            let score = r.probability * r.impact;
            let level = c.levels.iter().find(|l| (l.min..=l.max).contains(&score)).expect("levels cover");
            let cell = Cell { row: r.probability - c.probability.min, column: r.impact - c.impact.min };
            heat_map[cell.row as usize][cell.column as usize] += 1;
            if let Some(n) = counts.iter_mut().find(|n| n.level == level.name) {
                n.count += 1;
            }
            risks.push(RiskOut { id: r.id, score, level: level.name.clone(), urgency: level.urgency.clone(), cell });
        }
        let out = serde_json::to_vec(&Output { risks, counts, heat_map }).expect("serialises");
        serde_json::from_slice(&out).expect("parses")
    }
}

fn loaded_host(config: HostConfig) -> PluginHost {
    let host = PluginHost::new(config).expect("host starts");
    for name in PLUGINS {
        host.load_file(name, &dist(name), None).expect("committed plugin loads");
    }
    host
}

fn calls(c: &mut Criterion) {
    let host = loaded_host(HostConfig::default());
    // The floor: a module that does no work, so the time is the host's own
    // (fresh store, instance from the pool, fuel, input copy, output read).
    let minimal = r#"(module
      (memory (export "memory") 1)
      (func (export "integritas_abi_version_1_0_0"))
      (func (export "integritas_alloc") (param i32) (result i32) (i32.const 4096))
      (func (export "integritas_dealloc") (param i32 i32))
      (data (i32.const 1024) "{\"name\":\"minimal\",\"version\":\"1.0.0\"}")
      (func (export "integritas_info") (result i64) (i64.const 4398046511140))
      (data (i32.const 2048) "{\"ok\":0}")
      (func (export "integritas_entry_run") (param i32 i32) (result i64) (i64.const 8796093022216)))"#;
    host.load("minimal", &wat::parse_str(minimal).expect("valid wat"), None).expect("loads");
    c.bench_function("plugin/minimal_module_call", |b| {
        b.iter(|| host.call("minimal", "run", black_box(&Value::Null)).expect("runs"))
    });

    let one = json!({"config": config(), "probability": 7, "impact": 7});
    c.bench_function("plugin/one_risk_call", |b| {
        b.iter(|| host.call("risk-matrix", "score", black_box(&one)).expect("scores"))
    });

    let register = register_input(1000);
    let wasm = host.call("risk-matrix", "register", &register).expect("scores").value;
    assert_eq!(wasm, native::register(&register), "the native twin computes the same output");
    let mut group = c.benchmark_group("register_1000");
    group.bench_function("wasm", |b| {
        b.iter(|| host.call("risk-matrix", "register", black_box(&register)).expect("scores"))
    });
    group.bench_function("native", |b| b.iter(|| native::register(black_box(&register))));
    group.finish();
}

fn pack_load(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("temp dir");
    let cached = HostConfig { cache_dir: Some(cache.path().join("cache")), ..HostConfig::default() };
    drop(loaded_host(cached.clone())); // warm the cache
    let mut group = c.benchmark_group("pack_load_4_plugins");
    group.sample_size(10);
    group.bench_function("cold_compile", |b| {
        b.iter_batched(
            || PluginHost::new(HostConfig::default()).expect("host"),
            |host| {
                for name in PLUGINS {
                    host.load_file(name, &dist(name), None).expect("loads");
                }
                host
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("from_cache", |b| {
        b.iter_batched(
            || PluginHost::new(cached.clone()).expect("host"),
            |host| {
                for name in PLUGINS {
                    assert!(host.load_file(name, &dist(name), None).expect("loads").from_cache);
                }
                host
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, calls, pack_load);
criterion_main!(benches);
