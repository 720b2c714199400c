//! Issue 9 item 5: a pack's scoring configuration is run through its
//! plugin when the pack is linted (and so when it is installed). Every
//! `Score` action and `PluginGuard` is called with its `config` and an
//! empty table (E305), then with each sample's rows (E306); a configuration
//! the plugin rejects never lints clean.

use integritas_core::diagnostic::Diagnostic;
use integritas_core::pack::{Loader, load_pack};
use integritas_core::plugin::host::{HostConfig, PluginHost};
use integritas_core::store::hash_hex;
use integritas_tests::{Install, repo_root, ut};

/// A sample of the `ut` pack: two risks whose sums are 3 and 8.
const SAMPLE: &str = r#"{"register": {"risks": [
    {"id": "U1", "risk": "Gifts", "likelihood": 1, "severity": 2},
    {"id": "U2", "risk": "Permits", "likelihood": 4, "severity": 4},
]}}"#;
const SAMPLE_DECL: &str = r#"samples: [Sample(id: "demo", workflow: "register", event: "submit", role: "officer", file: "samples/demo.ron")],"#;
/// A guard plugin shipped beside `grade`: entry `pass` answers
/// `{"ok": true}`, entry `vague` answers `{"fine": true}` (no `ok`).
const CHECK_WAT: &str = r#"(module
  (memory (export "memory") 2)
  (func (export "integritas_abi_version_1_0_0"))
  (func (export "integritas_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "integritas_dealloc") (param i32 i32))
  (data (i32.const 1024) "{\"name\":\"check\",\"version\":\"1.0.0\"}")
  (func (export "integritas_info") (result i64) (i64.const 4398046511138))
  (data (i32.const 2048) "{\"ok\":{\"ok\":true}}")
  (func (export "integritas_entry_pass") (param i32 i32) (result i64) (i64.const 8796093022226))
  (data (i32.const 3072) "{\"ok\":{\"fine\":true}}")
  (func (export "integritas_entry_vague") (param i32 i32) (result i64) (i64.const 13194139533332)))"#;
/// The fixture's approval condition; the guard cases put a guard after it.
const APPROVAL: &str = r#"conditions: [Filled(path: "register.approved_by", label: "the approver")],"#;
/// The top band of the fixture's `Score` action.
const RED_BAND: &str = r#"{"name": "red", "up_to": 8},"#;

/// Lints the `ut` pack (with the `check` plugin beside `grade`, and the
/// `demo` sample when asked) after `edit` changed its workflow; returns
/// `code file:line message` of each error.
fn lint(edit: impl Fn(String) -> String, with_sample: bool) -> Vec<String> {
    let work = tempfile::tempdir().expect("tempdir");
    let check = wat::parse_str(CHECK_WAT).expect("valid wat");
    let pack = ut::write_pack(work.path(), "1.0.0", |file, text| match file {
        "pack.ron" => {
            let shipped = format!(r#"Plugin(id: "check", file: "plugins/check.wasm", sha256: "{}")"#, hash_hex(&check));
            let text = text.replacen("\")]", &format!("\"), {shipped}]"), 1);
            if with_sample { text.replace("scenarios:", &format!("{SAMPLE_DECL}\n    scenarios:")) } else { text }
        }
        "workflows/register.ron" => edit(text),
        _ => text,
    });
    std::fs::write(pack.join("plugins/check.wasm"), &check).expect("write plugin");
    if with_sample {
        std::fs::create_dir_all(pack.join("samples")).expect("mkdir");
        std::fs::write(pack.join("samples/demo.ron"), SAMPLE).expect("write sample");
    }
    let host = PluginHost::new(HostConfig::default()).expect("host");
    let templates = repo_root().join("templates");
    let (_, diagnostics) = load_pack(&pack, &Loader { host: Some(&host), templates: Some(&templates) });
    let prefix = format!("{}/", pack.display());
    diagnostics.iter().filter(|d| d.is_error()).map(|d: &Diagnostic| shown(d, &prefix)).collect()
}

fn shown(d: &Diagnostic, prefix: &str) -> String {
    format!("{} {}:{} {}", d.code, d.file.trim_start_matches(prefix), d.line, d.message)
}

/// The workflow with a guard after the approval condition.
fn guarded(workflow: String, guard: &str) -> String {
    workflow.replace(APPROVAL, &format!("{APPROVAL} plugin: {guard},"))
}

#[test]
fn plugin_calls_are_run_with_their_configuration_at_lint() {
    type Edit = fn(String) -> String;
    let cases: &[(&str, bool, Edit, &[&str])] = &[
        ("the fixture as it is", false, |w| w, &[]),
        ("with a sample the plugin accepts", true, |w| w, &[]),
        (
            "a configuration the plugin cannot read",
            true,
            |w| w.replace(r#""max_each": 4, "#, ""),
            // Reported once: the samples would repeat it.
            &[
                "E305 workflows/register.ron:19 plugin `grade` (entry `grade`) rejects its configuration and an empty table: invalid input: missing field `max_each` at line 1 column 100",
            ],
        ),
        (
            "bands that leave the sample's sum 8 out",
            true,
            |w| w.replace(RED_BAND, ""),
            &[
                "E306 workflows/register.ron:19 plugin `grade` (entry `grade`) rejects its configuration and the rows of sample `demo`: no band holds the sum 8",
            ],
        ),
        (
            "a guard that answers `ok`",
            true,
            |w| guarded(w, r#"PluginGuard(plugin: "check", entry: "pass", forms: ["register"])"#),
            &[],
        ),
        (
            "a guard that answers without `ok`",
            false,
            |w| guarded(w, r#"PluginGuard(plugin: "check", entry: "vague", config: {"strict": true})"#),
            &[
                "E305 workflows/register.ron:23 plugin `check` (entry `vague`) answers its configuration and an empty table without a boolean `ok`: {\"fine\":true}",
            ],
        ),
        (
            "a guard whose plugin cannot read its input",
            false,
            |w| guarded(w, r#"PluginGuard(plugin: "grade", entry: "grade")"#),
            &[
                "E305 workflows/register.ron:23 plugin `grade` (entry `grade`) rejects its configuration and an empty table: invalid input: invalid type: null, expected struct Config at line 1 column 14",
            ],
        ),
    ];
    for (name, with_sample, edit, expect) in cases {
        assert_eq!(lint(edit, *with_sample), *expect, "{name}");
    }
}

#[test]
fn a_configuration_the_plugin_rejects_is_refused_at_install() {
    let work = tempfile::tempdir().expect("tempdir");
    let install = Install::with_packs(work.path().join("no-packs"));
    std::fs::create_dir_all(&install.packs).expect("mkdir");
    let pack = ut::write_pack(work.path(), "1.0.0", |file, text| {
        if file == "workflows/register.ron" { text.replace(r#""max_each": 4, "#, "") } else { text }
    });
    let run = install.run("2030-01-01", &["pack", "install", pack.to_str().expect("utf8")]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("ut-1.0.0/workflows/register.ron:19:17: error[E305]"), "{}", run.stderr);
    assert!(!install.data().join("packs/ut").exists());
}
