//! The committed scoring plugins (`plugins/dist/*.wasm`) run by the real
//! host: pack-style configs (test data here, compiled into nothing),
//! boundaries, rejections, byte-for-byte determinism, provenance, the
//! self-test fixtures, the compilation cache and `integritas plugin check`.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use integritas_core::plugin::host::{HostConfig, PluginHost};
use integritas_core::plugin::{PluginError, PluginRunner};
use integritas_tests::repo_root;
use serde_json::{Value, json};

const PLUGINS: [&str; 4] = ["risk-matrix", "implementation-degree", "questionnaire", "status-trend"];

fn dist(name: &str) -> PathBuf {
    repo_root().join("plugins/dist").join(format!("{name}.wasm"))
}

/// One host with every committed plugin, shared by the tests (compiling
/// the four modules once keeps the suite fast; calls never share state).
fn host() -> Arc<PluginHost> {
    static HOST: OnceLock<Arc<PluginHost>> = OnceLock::new();
    Arc::clone(HOST.get_or_init(|| {
        let host = PluginHost::new(HostConfig::default()).expect("host starts");
        for name in PLUGINS {
            host.load_file(name, &dist(name), None).unwrap_or_else(|e| panic!("{name} loads: {e}"));
        }
        Arc::new(host)
    }))
}

/// A Montenegro-style methodology: 1–10 × 1–10, low 1–15, medium 16–48,
/// high 49–100.
fn ten_by_ten() -> Value {
    json!({
        "probability": {"min": 1, "max": 10, "label": "probability"},
        "impact": {"min": 1, "max": 10, "label": "consequence"},
        "levels": [
            {"name": "low", "min": 1, "max": 15},
            {"name": "medium", "min": 16, "max": 48},
            {"name": "high", "min": 49, "max": 100}
        ]
    })
}

fn score(host: &PluginHost, config: &Value, probability: i64, impact: i64) -> Result<Value, PluginError> {
    let input = json!({"config": config, "probability": probability, "impact": impact});
    host.call("risk-matrix", "score", &input).map(|o| o.value)
}

#[test]
fn risk_matrix_ten_by_ten_boundaries() {
    let host = host();
    let config = ten_by_ten();
    // (probability, impact, score, level)
    let cases = [
        (1, 1, 1, "low"),
        (3, 5, 15, "low"),
        (4, 4, 16, "medium"),
        (6, 8, 48, "medium"),
        (7, 7, 49, "high"),
        (10, 10, 100, "high"),
    ];
    for (p, i, expected_score, expected_level) in cases {
        let out = score(&host, &config, p, i).expect("in-scale input scores");
        assert_eq!(out["score"], expected_score, "{p}×{i}");
        assert_eq!(out["level"], expected_level, "{p}×{i}");
        assert_eq!(out["urgency"], Value::Null);
        assert_eq!(out["cell"], json!({"row": p - 1, "column": i - 1}));
    }
}

#[test]
fn risk_matrix_rejects_out_of_scale_input_with_a_message() {
    let host = host();
    let config = ten_by_ten();
    let cases = [
        (11, 5, "probability 11 is outside the scale 1..=10"),
        (0, 5, "probability 0 is outside the scale 1..=10"),
        (5, 11, "consequence 11 is outside the scale 1..=10"),
    ];
    for (p, i, message) in cases {
        let err = score(&host, &config, p, i).expect_err("out of scale");
        assert_eq!(err, PluginError::Rejected { plugin: "risk-matrix".into(), message: message.into() });
    }
    let input = json!({"config": config, "probability": 2.5, "impact": 1});
    let err = host.call("risk-matrix", "score", &input).expect_err("not a whole number");
    assert!(matches!(&err, PluginError::Rejected { message, .. } if message.starts_with("invalid input")), "{err:?}");
}

#[test]
fn risk_matrix_with_a_pack_declared_scale_and_urgency() {
    // A Serbian-style methodology: the pack declares the scale and the
    // urgency matching each intensity.
    let host = host();
    let config = json!({
        "probability": {"min": 1, "max": 5},
        "impact": {"min": 1, "max": 5},
        "levels": [
            {"name": "niska", "min": 1, "max": 6, "urgency": "niska"},
            {"name": "srednja", "min": 7, "max": 14, "urgency": "srednja"},
            {"name": "visoka", "min": 15, "max": 25, "urgency": "visoka"}
        ]
    });
    let out = score(&host, &config, 3, 5).expect("scores");
    assert_eq!(out, json!({"score": 15, "level": "visoka", "urgency": "visoka", "cell": {"row": 2, "column": 4}}));
    let err = score(&host, &config, 6, 1).expect_err("out of scale");
    assert!(matches!(err, PluginError::Rejected { .. }));
}

#[test]
fn risk_matrix_register_counts_and_heat_map() {
    let host = host();
    let input = json!({
        "config": ten_by_ten(),
        "risks": [
            {"id": "R1", "probability": 3, "impact": 5},
            {"id": "R2", "probability": 4, "impact": 4},
            {"id": "R3", "probability": 7, "impact": 7},
            {"id": "R4", "probability": 7, "impact": 7}
        ]
    });
    let out = host.call("risk-matrix", "register", &input).expect("scores").value;
    assert_eq!(
        out["counts"],
        json!([{"level": "low", "count": 1}, {"level": "medium", "count": 1}, {"level": "high", "count": 2}])
    );
    assert_eq!(out["heat_map"][6][6], 2);
    assert_eq!(
        out["risks"][2],
        json!({"id": "R3", "score": 49, "level": "high", "urgency": null, "cell": {"row": 6, "column": 6}})
    );

    let bad = json!({"config": ten_by_ten(), "risks": [{"id": "R9", "probability": 12, "impact": 1}]});
    let err = host.call("risk-matrix", "register", &bad).expect_err("out of scale");
    assert!(matches!(&err, PluginError::Rejected { message, .. } if message.starts_with("risk `R9`: probability 12")));
}

#[test]
fn a_config_with_a_gap_between_levels_is_rejected() {
    let host = host();
    let mut config = ten_by_ten();
    config["levels"][1]["min"] = json!(17);
    let err = score(&host, &config, 1, 1).expect_err("bad config");
    assert!(matches!(&err, PluginError::Rejected { message, .. } if message.starts_with("config:")), "{err:?}");
}

#[test]
fn repeated_calls_are_byte_for_byte_identical_across_calls_threads_and_hosts() {
    let host = host();
    let risks: Vec<Value> = (0..200)
        .map(|i| json!({"id": format!("R{i}"), "probability": 1 + i % 10, "impact": 1 + (i * 7) % 10}))
        .collect();
    let input = Arc::new(json!({"config": ten_by_ten(), "risks": risks}));
    let bytes = |h: &PluginHost, input: &Value| {
        serde_json::to_vec(&h.call("risk-matrix", "register", input).expect("scores").value).expect("serialises")
    };
    let reference = bytes(&host, &input);
    for _ in 0..20 {
        assert_eq!(bytes(&host, &input), reference);
    }
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (host, input) = (Arc::clone(&host), Arc::clone(&input));
            std::thread::spawn(move || (0..10).map(|_| bytes(&host, &input)).collect::<Vec<_>>())
        })
        .collect();
    for t in threads {
        for out in t.join().expect("thread ends") {
            assert_eq!(out, reference);
        }
    }
    let other = PluginHost::new(HostConfig::default()).expect("host starts");
    other.load_file("risk-matrix", &dist("risk-matrix"), None).expect("loads");
    assert_eq!(bytes(&other, &input), reference);
}

#[test]
fn provenance_records_id_version_and_the_committed_sha256() {
    let host = host();
    let sums = std::fs::read_to_string(repo_root().join("plugins/dist/SHA256SUMS")).expect("SHA256SUMS is committed");
    for name in PLUGINS {
        let line = sums
            .lines()
            .find(|l| l.ends_with(&format!(" {name}.wasm")))
            .unwrap_or_else(|| panic!("{name} is in SHA256SUMS"));
        let sha = line.split_whitespace().next().expect("a sum");
        let info = host.info(name).expect("loaded");
        assert_eq!(info.sha256, sha, "{name}");
        assert_eq!(info.name, name);
        assert_eq!(info.version, "1.0.0");
        assert_eq!(info.abi_version, "1.0.0");
        // Loading with the declared sum works.
        host.load_file(name, &dist(name), Some(sha)).expect("the declared sha256 matches");
    }
    let input = json!({"config": ten_by_ten(), "probability": 2, "impact": 2});
    let provenance = host.call("risk-matrix", "score", &input).expect("scores").provenance;
    assert_eq!(provenance.id, "risk-matrix");
    assert_eq!(provenance.version, "1.0.0");
    assert_eq!(Some(provenance.sha256), host.info("risk-matrix").map(|i| i.sha256));
}

#[test]
fn every_committed_plugin_passes_its_self_test() {
    let host = host();
    for name in PLUGINS {
        let report = host.self_test(name).expect("loaded");
        assert!(!report.cases.is_empty(), "{name} carries a fixture");
        assert!(report.passed(), "{name}: {report:?}");
    }
}

#[test]
fn unknown_plugins_and_entries_are_typed_errors() {
    let host = host();
    assert_eq!(host.call("nope", "score", &json!({})), Err(PluginError::UnknownPlugin("nope".into())));
    assert_eq!(
        host.call("risk-matrix", "integritas_alloc", &json!({})),
        Err(PluginError::MissingEntry { plugin: "risk-matrix".into(), entry: "integritas_alloc".into() })
    );
}

#[test]
fn implementation_degree_with_pack_statuses() {
    let host = host();
    // Serbian-style report statuses: on time / late / not implemented (with reasons).
    let input = json!({
        "config": {"statuses": [
            {"name": "on_time", "weight": 100, "reason": "forbidden"},
            {"name": "late", "weight": 100, "reason": "required"},
            {"name": "not_implemented", "weight": 0, "reason": "required"}
        ]},
        "measures": [
            {"id": "M1", "status": "on_time"},
            {"id": "M2", "status": "late", "reason": "procurement delayed"},
            {"id": "M3", "status": "not_implemented", "reason": "no budget"},
            {"id": "M4", "status": "on_time"}
        ]
    });
    let out = host.call("implementation-degree", "degree", &input).expect("computes").value;
    assert_eq!(out["degree_percent"], json!(75.0));
    assert_eq!(out["reasons"].as_array().map(Vec::len), Some(2));
    let mut missing = input.clone();
    missing["measures"][2] = json!({"id": "M3", "status": "not_implemented"});
    let err = host.call("implementation-degree", "degree", &missing).expect_err("reason required");
    assert!(matches!(&err, PluginError::Rejected { message, .. } if message.contains("needs a reason")));
}

#[test]
fn questionnaire_suppresses_small_groups() {
    let host = host();
    let responses: Vec<Value> = (0..5)
        .map(|i| json!({"process": "procurement", "answers": {"q1": if i < 3 { "yes" } else { "no" }}}))
        .chain((0..2).map(|_| json!({"process": "hiring", "answers": {"q1": "yes"}})))
        .collect();
    let input = json!({
        "config": {"min_group_size": 5, "questions": [{"kind": "choice", "id": "q1", "options": ["yes", "no"]}]},
        "responses": responses
    });
    let out = host.call("questionnaire", "aggregate", &input).expect("aggregates").value;
    assert_eq!(out["processes"][0]["process"], "hiring");
    assert_eq!(out["processes"][0]["suppressed"], true);
    assert_eq!(out["processes"][0]["respondents"], Value::Null);
    assert_eq!(out["processes"][0]["questions"][0]["counts"], Value::Null);
    assert_eq!(out["processes"][1]["respondents"], 5);
    assert_eq!(
        out["processes"][1]["questions"][0]["counts"],
        json!([{"option": "yes", "count": 3}, {"option": "no", "count": 2}])
    );
}

#[test]
fn status_trend_uses_the_pack_symbols() {
    let host = host();
    let config = json!({"symbols": {"unchanged": "↔", "increased": "↑", "decreased": "↓"}});
    for (previous, current, symbol) in [(20, 20, "↔"), (20, 30, "↑"), (30, 20, "↓")] {
        let input = json!({"config": config, "previous": previous, "current": current});
        let out = host.call("status-trend", "trend", &input).expect("classifies").value;
        assert_eq!(out["symbol"], symbol, "{previous} → {current}");
    }
}

#[test]
fn the_compilation_cache_is_used_after_a_restart_and_a_tampered_artifact_is_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = HostConfig { cache_dir: Some(dir.path().join("cache")), ..HostConfig::default() };
    let input = json!({"config": ten_by_ten(), "probability": 4, "impact": 4});

    let first = PluginHost::new(config.clone()).expect("host starts");
    assert!(!first.load_file("risk-matrix", &dist("risk-matrix"), None).expect("loads").from_cache);
    let expected = first.call("risk-matrix", "score", &input).expect("scores");

    let second = PluginHost::new(config.clone()).expect("host restarts");
    assert!(second.load_file("risk-matrix", &dist("risk-matrix"), None).expect("loads").from_cache);
    assert_eq!(second.call("risk-matrix", "score", &input).expect("scores"), expected);

    // Overwrite the artifact with something that is not ours: it must be
    // ignored (compiled afresh), never deserialized.
    for entry in std::fs::read_dir(dir.path().join("cache")).expect("cache exists") {
        let path = entry.expect("entry").path();
        std::fs::write(&path, b"integritas-cwasm but forged").expect("overwrite");
    }
    let third = PluginHost::new(config).expect("host restarts");
    assert!(!third.load_file("risk-matrix", &dist("risk-matrix"), None).expect("loads").from_cache);
    assert_eq!(third.call("risk-matrix", "score", &input).expect("scores"), expected);
}

/// Runs `integritas plugin ARGS` (the real binary) and returns its exit code.
fn plugin_cli(args: &[&std::ffi::OsStr]) -> i32 {
    let out = std::process::Command::new(integritas_tests::binary()).arg("plugin").args(args).output().expect("runs");
    out.status.code().unwrap_or(-1)
}

#[test]
fn plugin_check_passes_for_committed_plugins_and_fails_for_a_hostile_one() {
    for name in PLUGINS {
        // Human output for one, JSON for the others: both paths run.
        let file = dist(name);
        let mut args = vec![std::ffi::OsStr::new("check"), file.as_os_str()];
        if name != "risk-matrix" {
            args.push("--json".as_ref());
        }
        assert_eq!(plugin_cli(&args), 0, "{name}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("wrong_abi.wasm");
    let bytes = wat::parse_file(repo_root().join("tests/hostile/wrong_abi.wat")).expect("valid wat");
    std::fs::write(&file, bytes).expect("write");
    assert_eq!(plugin_cli(&["check".as_ref(), file.as_os_str()]), 1);

    let trend = dist("status-trend");
    let input = r#"{"config": {"symbols": {"unchanged": "=", "increased": "+", "decreased": "-"}}, "previous": 1, "current": 2}"#;
    let args =
        ["run".as_ref(), trend.as_os_str(), "trend".as_ref(), "--input".as_ref(), input.as_ref(), "--json".as_ref()];
    assert_eq!(plugin_cli(&args), 0);
}
