//! `integritas plugin check|run`: inspect a plugin module and call it by
//! hand, with the same host, limits and sandbox the engine uses.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};

use integritas_core::plugin::host::{HostConfig, PluginHost, PluginInfo, SelfTestReport};
use integritas_core::plugin::{PluginError, PluginRunner};

/// Plugin subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PluginCmd {
    /// Load a module as a pack would (size, ABI version, imports, exports,
    /// limits) and run its self-test fixture. Exits non-zero if anything fails.
    Check {
        /// The `.wasm` module.
        file: PathBuf,
    },
    /// Call one entry point of a module and print its JSON output.
    Run {
        /// The `.wasm` module.
        file: PathBuf,
        /// The entry point (e.g. `score`).
        entry: String,
        /// The input: JSON text, or `@path` to read it from a file.
        #[arg(long)]
        input: String,
    },
}

/// Runs a plugin subcommand. Exit code 0: all good; 1: the module or the
/// call failed (the reason is printed). Errors are for unusable arguments.
pub fn run(cmd: PluginCmd, json: bool) -> anyhow::Result<ExitCode> {
    let host = PluginHost::new(HostConfig::default())?;
    match cmd {
        PluginCmd::Check { file } => check(&host, &file, json),
        PluginCmd::Run { file, entry, input } => run_entry(&host, &file, &entry, &input, json),
    }
}

/// The plugin id used for a module given on the command line: its file stem.
fn id_for(file: &Path) -> String {
    file.file_stem().map_or_else(|| "plugin".to_string(), |s| s.to_string_lossy().into_owned())
}

fn check(host: &PluginHost, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let id = id_for(file);
    let limits = limits_json(host.config());
    let info = match host.load_file(&id, file, None) {
        Ok(info) => info,
        Err(e) => {
            if json {
                print_json(&json!({ "ok": false, "file": file, "limits": limits, "error": error_json(&e) }))?;
            } else {
                println!("FAIL {}: {e}", file.display());
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = host.self_test(&id)?;
    let ok = report.passed();
    if json {
        print_json(&json!({ "ok": ok, "file": file, "plugin": info, "limits": limits, "self_test": report }))?;
    } else {
        print_check(file, &info, &limits, &report);
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_check(file: &Path, info: &PluginInfo, limits: &Value, report: &SelfTestReport) {
    println!("{}", file.display());
    println!("  plugin      {} {} (loaded as `{}`)", info.name, info.version, info.id);
    println!("  sha256      {}", info.sha256);
    println!("  size        {} bytes", info.module_bytes);
    println!("  ABI         {}", info.abi_version);
    println!("  entries     {}", info.entries.join(", "));
    let imports = if info.imports.is_empty() { "(none)".to_string() } else { info.imports.join(", ") };
    println!("  imports     {imports}");
    println!("  exports     {}", info.exports.join(", "));
    if let Value::Object(limits) = limits {
        let text: Vec<String> = limits.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  limits      {}", text.join(" "));
    }
    if report.cases.is_empty() {
        println!("  self-test   no fixture");
    }
    for case in &report.cases {
        let mark = if case.passed { "ok  " } else { "FAIL" };
        println!("  {mark} {} [{}]", case.name, case.entry);
        if let Some(detail) = &case.detail {
            println!("         {detail}");
        }
    }
    let passed = report.cases.iter().filter(|c| c.passed).count();
    let verdict = if report.passed() { "OK" } else { "FAILED" };
    println!("{verdict}: {passed} of {} self-test cases passed", report.cases.len());
}

fn run_entry(host: &PluginHost, file: &Path, entry: &str, input: &str, json: bool) -> anyhow::Result<ExitCode> {
    let text = match input.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read the input file {path}"))?,
        None => input.to_string(),
    };
    let input: Value = serde_json::from_str(&text).context("--input is not valid JSON")?;
    let id = id_for(file);
    let result = host.load_file(&id, file, None).and_then(|_| host.call(&id, entry, &input));
    match result {
        Ok(out) => {
            if json {
                print_json(&json!({ "ok": true, "value": out.value, "provenance": out.provenance }))?;
            } else {
                println!("{}", serde_json::to_string_pretty(&out.value)?);
                let p = &out.provenance;
                eprintln!("(by {} {} sha256 {})", p.id, p.version, p.sha256);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                print_json(&json!({ "ok": false, "error": error_json(&e) }))?;
            } else {
                println!("FAIL: {e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn limits_json(c: &HostConfig) -> Value {
    json!({
        "fuel_per_call": c.fuel_per_call,
        "memory_limit_bytes": c.memory_limit_bytes,
        "max_wasm_stack_bytes": c.max_wasm_stack_bytes,
        "max_table_elements": c.max_table_elements,
        "max_module_bytes": c.max_module_bytes,
        "compile_timeout_secs": c.compile_timeout.as_secs_f64(),
        "max_input_bytes": c.max_input_bytes,
        "max_output_bytes": c.max_output_bytes,
        "max_concurrent_calls": c.max_concurrent_calls,
        "max_functions": c.module_limits.max_functions,
        "max_function_body_bytes": c.module_limits.max_function_body_bytes,
        "max_code_bytes": c.module_limits.max_code_bytes,
        "max_locals_per_function": c.module_limits.max_locals_per_function,
        "max_imports": c.module_limits.max_imports,
        "max_exports": c.module_limits.max_exports,
        "max_types": c.module_limits.max_types,
        "max_globals": c.module_limits.max_globals,
        "max_data_segments": c.module_limits.max_data_segments,
        "max_element_segments": c.module_limits.max_element_segments,
    })
}

/// A stable machine-readable kind plus the human message.
fn error_json(e: &PluginError) -> Value {
    let kind = e.kind();
    json!({ "kind": kind, "message": e.to_string() })
}

fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
