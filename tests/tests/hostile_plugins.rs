//! Hostile plugins: every module in `tests/hostile/` must fail with the
//! right typed `PluginError`, within a bounded time, and leave the host
//! serving normal calls — also while a hostile call runs on another thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use integritas_core::plugin::host::{HostConfig, MAX_MODULE_BYTES, PluginHost};
use integritas_core::plugin::{PluginError, PluginRunner};
use integritas_tests::repo_root;
use serde_json::{Value, json};

/// No hostile module may hold a caller longer than this (fuel, memory and
/// stack bounds all stop far sooner; the margin is for slow CI machines).
const BOUND: Duration = Duration::from_secs(15);

/// When a hostile module is stopped: refused at load, or failing its call.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Load,
    Call,
    /// Must succeed: the module is noisy but within the rules.
    Succeeds,
}

/// Whether an error is the one a corpus entry must yield.
type Matches = fn(&PluginError) -> bool;

/// The corpus and what each entry must yield. Every `.wat` in
/// `tests/hostile/` must appear here (checked below), so no hostile module
/// goes untested.
const CORPUS: &[(&str, Stage, Matches)] = &[
    ("infinite_loop", Stage::Call, |e| matches!(e, PluginError::OutOfFuel { .. })),
    ("memory_growth", Stage::Call, |e| matches!(e, PluginError::OutOfMemory { .. })),
    (
        "deep_recursion",
        Stage::Call,
        |e| matches!(e, PluginError::Trap { reason, .. } if reason.contains("stack overflow")),
    ),
    ("trap", Stage::Call, |e| matches!(e, PluginError::Trap { reason, .. } if reason.contains("unreachable"))),
    ("huge_output", Stage::Call, |e| matches!(e, PluginError::BadOutput { reason, .. } if reason.contains("cap"))),
    ("not_json", Stage::Call, |e| matches!(e, PluginError::BadOutput { reason, .. } if reason.contains("not JSON"))),
    (
        "output_out_of_bounds",
        Stage::Call,
        |e| matches!(e, PluginError::BadOutput { reason, .. } if reason.contains("outside")),
    ),
    ("log_flood", Stage::Succeeds, |_| false),
    (
        "missing_exports",
        Stage::Load,
        |e| matches!(e, PluginError::Load { reason, .. } if reason.contains("integritas_alloc")),
    ),
    ("wrong_abi", Stage::Load, |e| matches!(e, PluginError::AbiMismatch { found: Some(v), .. } if v == "2.0.0")),
    (
        "wasi_import",
        Stage::Load,
        |e| matches!(e, PluginError::ForbiddenImport { import, .. } if import == "wasi_snapshot_preview1.fd_write"),
    ),
    (
        "unknown_import",
        Stage::Load,
        |e| matches!(e, PluginError::ForbiddenImport { import, .. } if import == "env.now"),
    ),
    ("info_loops", Stage::Load, |e| matches!(e, PluginError::OutOfFuel { .. })),
];

fn hostile(name: &str) -> Vec<u8> {
    let path = repo_root().join("tests/hostile").join(format!("{name}.wat"));
    wat::parse_file(&path).expect("the hostile corpus is valid WebAssembly text")
}

fn dist(name: &str) -> PathBuf {
    repo_root().join("plugins/dist").join(format!("{name}.wasm"))
}

fn normal_input() -> Value {
    json!({
        "config": {
            "probability": {"min": 1, "max": 10},
            "impact": {"min": 1, "max": 10},
            "levels": [
                {"name": "low", "min": 1, "max": 15},
                {"name": "medium", "min": 16, "max": 48},
                {"name": "high", "min": 49, "max": 100}
            ]
        },
        "probability": 7,
        "impact": 7
    })
}

fn host_with_risk_matrix(config: HostConfig) -> PluginHost {
    let host = PluginHost::new(config).expect("host starts");
    host.load_file("risk-matrix", &dist("risk-matrix"), None).expect("the committed risk-matrix loads");
    host
}

/// A normal call works and gives the expected answer.
#[track_caller]
fn assert_normal_call_works(host: &PluginHost) {
    let out = host.call("risk-matrix", "score", &normal_input()).expect("a normal call still works");
    assert_eq!(out.value["score"], 49);
    assert_eq!(out.value["level"], "high");
}

#[test]
fn every_corpus_file_has_an_expectation() {
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join("tests/hostile"))
        .expect("tests/hostile exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".wat")).map(str::to_string))
        .collect();
    files.sort();
    let mut listed: Vec<String> = CORPUS.iter().map(|(n, ..)| n.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "every hostile module needs an expectation in CORPUS, and vice versa");
}

#[test]
fn each_hostile_module_yields_its_typed_error_promptly_and_the_host_carries_on() {
    let host = host_with_risk_matrix(HostConfig::default());
    for (name, stage, expected) in CORPUS {
        let started = Instant::now();
        let bytes = hostile(name);
        let loaded = host.load(name, &bytes, None);
        match stage {
            Stage::Load => {
                let err = loaded.expect_err(&format!("{name} must be refused at load"));
                assert!(expected(&err), "{name}: unexpected error {err:?}");
                assert!(host.info(name).is_none(), "{name}: a refused module must not be registered");
            }
            Stage::Call | Stage::Succeeds => {
                let info = loaded.unwrap_or_else(|e| panic!("{name} loads: {e}"));
                assert_eq!(info.entries, vec!["run".to_string()]);
                let result = host.call(name, "run", &json!({}));
                match (stage, result) {
                    (Stage::Succeeds, Ok(out)) => assert_eq!(out.value, json!("still here")),
                    (Stage::Succeeds, Err(e)) => panic!("{name} must succeed, got {e:?}"),
                    (_, Ok(out)) => panic!("{name} must fail, got {:?}", out.value),
                    (_, Err(err)) => assert!(expected(&err), "{name}: unexpected error {err:?}"),
                }
            }
        }
        let elapsed = started.elapsed();
        assert!(elapsed < BOUND, "{name} took {elapsed:?}");
        assert_normal_call_works(&host);
    }
}

#[test]
fn an_oversized_module_is_refused_before_compiling() {
    let host = host_with_risk_matrix(HostConfig::default());
    // A valid module padded with a custom section to just over the cap.
    let mut bytes = hostile("trap");
    let payload = MAX_MODULE_BYTES + 1;
    bytes.push(0); // custom section id
    let mut size = payload as u64 + 1 + 3; // name length byte + "pad"
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        bytes.push(if size == 0 { byte } else { byte | 0x80 });
        if size == 0 {
            break;
        }
    }
    bytes.push(3);
    bytes.extend_from_slice(b"pad");
    bytes.resize(bytes.len() + payload, 0);
    let started = Instant::now();
    let err = host.load("oversized", &bytes, None).expect_err("an oversized module is refused");
    assert!(matches!(&err, PluginError::Load { reason, .. } if reason.contains("cap")), "unexpected error {err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_normal_call_works(&host);
}

#[test]
fn a_module_not_matching_its_declared_sha256_is_refused() {
    let host = PluginHost::new(HostConfig::default()).expect("host starts");
    let wrong = "0".repeat(64);
    let err = host.load_file("risk-matrix", &dist("risk-matrix"), Some(&wrong)).expect_err("checksum mismatch");
    assert!(matches!(&err, PluginError::ChecksumMismatch { expected, .. } if *expected == wrong), "{err:?}");
    assert!(host.info("risk-matrix").is_none());
}

#[test]
fn garbage_bytes_are_a_load_error() {
    let host = PluginHost::new(HostConfig::default()).expect("host starts");
    let err = host.load("garbage", b"\0asm but not really", None).expect_err("garbage is refused");
    assert!(matches!(err, PluginError::Load { .. }), "{err:?}");
}

#[test]
fn normal_calls_on_other_threads_proceed_while_a_hostile_call_spins() {
    // A budget big enough that the endless loop is still spinning while the
    // normal calls run (a few seconds), yet still bounded.
    let config = HostConfig { fuel_per_call: 5_000_000_000, ..HostConfig::default() };
    let host = Arc::new(host_with_risk_matrix(config));
    host.load("infinite_loop", &hostile("infinite_loop"), None).expect("loads");

    let hostile_done = Arc::new(AtomicBool::new(false));
    let spinner = {
        let (host, done) = (Arc::clone(&host), Arc::clone(&hostile_done));
        std::thread::spawn(move || {
            let started = Instant::now();
            let result = host.call("infinite_loop", "run", &json!({}));
            done.store(true, Ordering::SeqCst);
            (result, started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let mut overlapped = 0;
    for _ in 0..50 {
        let started = Instant::now();
        assert_normal_call_works(&host);
        assert!(started.elapsed() < Duration::from_secs(1), "a normal call was held up");
        if !hostile_done.load(Ordering::SeqCst) {
            overlapped += 1;
        }
    }
    let (result, elapsed) = spinner.join().expect("the spinning thread ends");
    assert!(matches!(result, Err(PluginError::OutOfFuel { .. })), "{result:?}");
    assert!(elapsed < BOUND, "the hostile call took {elapsed:?}");
    assert!(overlapped > 0, "the normal calls should have run while the hostile one spun");
    assert_normal_call_works(&host);
}

#[test]
fn no_state_leaks_between_calls() {
    // Each call gets a fresh instance: a module whose entry increments a
    // global and reports it answers 1 every time.
    let wat = r#"(module
      (memory (export "memory") 1)
      (global $n (mut i32) (i32.const 0))
      (func (export "integritas_abi_version_1_0_0"))
      (func (export "integritas_alloc") (param i32) (result i32) (i32.const 4096))
      (func (export "integritas_dealloc") (param i32 i32))
      (data (i32.const 1024) "{\"name\":\"counter\",\"version\":\"1.0.0\"}")
      (func (export "integritas_info") (result i64) (i64.const 4398046511140))
      (data (i32.const 2048) "{\"ok\":0}")
      (func (export "integritas_entry_run") (param i32 i32) (result i64)
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (i32.store8 (i32.const 2054) (i32.add (i32.const 48) (global.get $n)))
        (i64.const 8796093022216)))"#;
    let host = PluginHost::new(HostConfig::default()).expect("host starts");
    host.load("counter", &wat::parse_str(wat).expect("valid wat"), None).expect("loads");
    for _ in 0..3 {
        assert_eq!(host.call("counter", "run", &json!(null)).expect("runs").value, json!(1));
    }
}
