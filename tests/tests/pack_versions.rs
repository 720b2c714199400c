//! Issue 12, item 4: knowing what a version changes. `pack diff` classes
//! every change; `lint --against` and `pack install` warn when a version's
//! number is smaller than its changes require (`--strict` refuses it);
//! `plan migrate --dry-run` shows one plan's state, data and every score
//! before and after, and a real migration records that preview.

use std::path::{Path, PathBuf};

use integritas_core::pack::diff::Rule;
use integritas_tests::{Install, repo_root, ut};
use serde_json::{Value, json};

const WORKFLOW: &str = "workflows/register.ron";
const FORMS: &str = "forms/register.ron";
const AMBER: &str = r#"{"name": "amber", "up_to": 6}"#;
const WIDER_AMBER: &str = r#"{"name": "amber", "up_to": 7}"#;

type Edit = (&'static str, &'static str, &'static str);

/// Writes `ut` at `version` with texts replaced: (file, text, replacement).
fn pack(dir: &Path, version: &str, edits: &[Edit]) -> PathBuf {
    ut::write_pack(dir, version, |file, mut text| {
        for (_, from, to) in edits.iter().filter(|(f, ..)| *f == file) {
            assert!(text.contains(from), "{file} has no `{from}`");
            text = text.replace(from, to);
        }
        text
    })
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

struct Case {
    name: &'static str,
    version: &'static str,
    edit: Edit,
    /// The class `pack diff` gives and the version it says is needed.
    class: &'static str,
    required: &'static str,
    /// Whether `lint --against` warns (W206).
    warns: bool,
}

#[test]
fn a_number_smaller_than_its_changes_require_is_warned_by_lint() {
    let install = Install::default();
    let work = tempfile::tempdir().expect("tempdir");
    let old = pack(work.path(), "1.0.0", &[]);
    let cases = [
        Case {
            name: "a changed threshold as a patch",
            version: "1.0.1",
            edit: (WORKFLOW, AMBER, WIDER_AMBER),
            class: "major",
            required: "2.0.0",
            warns: true,
        },
        Case {
            name: "a changed threshold as a minor version",
            version: "1.1.0",
            edit: (WORKFLOW, AMBER, WIDER_AMBER),
            class: "major",
            required: "2.0.0",
            warns: true,
        },
        Case {
            name: "a changed threshold as a major version",
            version: "2.0.0",
            edit: (WORKFLOW, AMBER, WIDER_AMBER),
            class: "major",
            required: "2.0.0",
            warns: false,
        },
        Case {
            name: "a new optional field as a patch",
            version: "1.0.1",
            edit: (
                FORMS,
                r#"Field(id: "approved_by""#,
                r#"Field(id: "remarks", kind: LongText), Field(id: "approved_by""#,
            ),
            class: "minor",
            required: "1.1.0",
            warns: true,
        },
        Case {
            name: "a new optional field as a minor version",
            version: "1.1.0",
            edit: (
                FORMS,
                r#"Field(id: "approved_by""#,
                r#"Field(id: "remarks", kind: LongText), Field(id: "approved_by""#,
            ),
            class: "minor",
            required: "1.1.0",
            warns: false,
        },
        Case {
            name: "a reworded title as a patch",
            version: "1.0.1",
            edit: (FORMS, r#"title: "Approved by""#, r#"title: "Approved by (name)""#),
            class: "patch",
            required: "1.0.1",
            warns: false,
        },
    ];
    for case in &cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let new = pack(dir.path(), case.version, &[case.edit]);
        let diff = install.ok("2030-01-01", &["pack", "diff", path(&old), path(&new)]);
        assert_eq!(
            (diff["class"].as_str(), diff["required"].as_str()),
            (Some(case.class), Some(case.required)),
            "{}",
            case.name
        );
        assert_eq!(diff["enough"], !case.warns, "{}", case.name);
        let lint = install.run("2030-01-01", &["lint", path(&new), "--against", path(&old), "--json"]);
        assert_eq!(lint.code, 0, "{}: a warning never fails lint: {}{}", case.name, lint.stdout, lint.stderr);
        let lint = lint.json();
        let codes: Vec<&str> =
            lint["diagnostics"].as_array().expect("list").iter().filter_map(|d| d["code"].as_str()).collect();
        assert_eq!(codes, if case.warns { vec!["W206"] } else { vec![] }, "{}", case.name);
        if case.warns {
            let message = lint["diagnostics"][0]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(&format!("publish it as {} or higher", case.required)),
                "{}: {message}",
                case.name
            );
        }
    }
}

#[test]
fn install_warns_about_a_number_too_small_and_strict_refuses_it() {
    let install = Install::default();
    let work = tempfile::tempdir().expect("tempdir");
    install.ok("2030-01-01", &["pack", "install", path(&pack(work.path(), "1.0.0", &[]))]);
    let patch = pack(work.path(), "1.0.1", &[(WORKFLOW, AMBER, WIDER_AMBER)]);

    let refused = install.run("2030-01-01", &["pack", "install", "--strict", path(&patch), "--json"]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    let diagnostics = refused.json()["error"]["diagnostics"].clone();
    assert_eq!(diagnostics[0]["code"], "W206", "{diagnostics}");
    assert_eq!(diagnostics[0]["file"], "ut-1.0.1/pack.ron", "named by the pack's own folder");
    assert!(!install.data().join("packs/ut/1.0.1").exists(), "a refused version leaves nothing");

    let installed = install.ok("2030-01-01", &["pack", "install", path(&patch)]);
    assert_eq!(installed["installed"], json!({"id": "ut", "version": "1.0.1"}));
    assert_eq!(
        installed["against"],
        json!({"from": "1.0.0", "class": "major", "bump": "patch", "required": "2.0.0", "enough": false})
    );
    assert_eq!(installed["warnings"][0]["code"], "W206");

    // Installed versions are named by ID@VERSION, and compared with the
    // version below them: a fix for 1.0 published after 1.1 is compared with 1.0.1.
    let diff = install.ok("2030-01-01", &["pack", "diff", "ut@1.0.0", "ut@1.0.1"]);
    let lines: Vec<(&str, &str)> = diff["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| (c["path"].as_str().unwrap_or(""), c["class"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        lines,
        [("workflows[register].transitions[drafting on submit].actions[Score(grades)].config.bands[1].up_to", "major")]
    );
    install.ok("2030-01-01", &["pack", "install", path(&pack(work.path(), "2.0.0", &[]))]);
    let fix = pack(
        work.path(),
        "1.0.2",
        &[(WORKFLOW, AMBER, WIDER_AMBER), (FORMS, r#"title: "Approved by""#, r#"title: "Approved by (name)""#)],
    );
    let installed = install.ok("2030-01-01", &["pack", "install", "--strict", path(&fix)]);
    assert_eq!(installed["against"]["from"], "1.0.1");
    assert_eq!(installed["against"]["enough"], true, "{installed}");
}

/// The risks the plan scores: U2 sums to 7, red under 1.0.0's bands and
/// amber once amber reaches 7.
fn risks() -> String {
    json!({"register": {"risks": [
        {"id": "U1", "risk": "Gifts", "likelihood": 1, "severity": 2},
        {"id": "U2", "risk": "Permits", "likelihood": 4, "severity": 3},
    ]}})
    .to_string()
}

#[test]
fn a_dry_run_shows_every_score_before_and_after_and_the_migration_records_it() {
    let install = Install::default();
    let work = tempfile::tempdir().expect("tempdir");
    install.ok("2030-01-01", &["pack", "install", path(&pack(work.path(), "1.0.0", &[]))]);
    install.ok("2030-01-01", &["institution", "add", "--id", "ut-m", "--name", "Ministry", "--jurisdiction", "ut"]);
    install.ok("2030-01-02", &["plan", "new", "--institution", "ut-m", "--workflow", "ut/register"]);
    install.ok("2030-01-10", &["plan", "fire", "plan-1", "submit", "--as", "officer", "--payload", &risks()]);
    // A wider amber band, published (with a warning) as a minor version.
    install
        .ok("2030-01-20", &["pack", "install", path(&pack(work.path(), "1.1.0", &[(WORKFLOW, AMBER, WIDER_AMBER)]))]);

    let preview = install.ok("2030-02-01", &["plan", "migrate", "plan-1", "--to", "1.1.0", "--dry-run"]);
    assert_eq!(
        (preview["from"].as_str(), preview["to"].as_str(), preview["class"].as_str()),
        (Some("1.0.0"), Some("1.1.0"), Some("major"))
    );
    assert_eq!(preview["state"]["state"], "review");
    assert_eq!(preview["state"]["exists"], true);
    assert_eq!((preview["data"].clone(), preview["incomplete"].clone()), (json!([]), json!([])));
    assert_eq!(preview["allowed"], true);
    let score = &preview["scores"][0];
    assert_eq!(score["output"], "grades");
    assert_eq!(score["before"]["provenance"]["id"], "ut@1.0.0/grade", "before: the plan's own version's plugin");
    assert_eq!(score["after"]["provenance"]["id"], "ut@1.1.0/grade", "after: the target version's plugin");
    assert_eq!(score["before"]["config"]["bands"][1]["up_to"], 6, "each with its own configuration");
    assert_eq!(score["after"]["config"]["bands"][1]["up_to"], 7);
    let values: Vec<String> = score["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| {
            format!(
                "{} {}: {} → {}",
                if v["changed"] == true { "*" } else { " " },
                v["path"].as_str().unwrap_or(""),
                v["before"],
                v["after"]
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            r#"  risks[U1].band: "green" → "green""#,
            "  risks[U1].sum: 3 → 3",
            r#"* risks[U2].band: "red" → "amber""#,
            "  risks[U2].sum: 7 → 7",
        ]
    );
    let text = install.run("2030-02-01", &["plan", "migrate", "plan-1", "--to", "1.1.0", "--dry-run"]);
    assert!(text.stdout.contains(r#"* risks[U2].band: "red" → "amber""#), "{}", text.stdout);
    let history = install.ok("2030-02-01", &["plan", "history", "plan-1"]);
    assert_eq!(history.as_array().map(Vec::len), Some(2), "a dry run records nothing");

    install.ok("2030-02-01", &["plan", "migrate", "plan-1", "--to", "1.1.0"]);
    let history = install.ok("2030-02-01", &["plan", "history", "plan-1"]);
    let migrated = history.as_array().and_then(|h| h.last()).cloned().unwrap_or(Value::Null);
    assert_eq!(migrated["event"], "@migrated");
    let effect = &migrated["effects"][0];
    assert_eq!(effect["type"], "migrated");
    assert_eq!((effect["from"].as_str(), effect["to"].as_str()), (Some("1.0.0"), Some("1.1.0")));
    assert_eq!(effect["preview"], preview, "the event records exactly what the dry run showed");
    assert_eq!(install.ok("2030-02-01", &["verify"])["broken"], json!([]));

    // Across a major version the preview still shows the scores, and says no.
    install.ok("2030-02-02", &["pack", "install", path(&pack(work.path(), "2.0.0", &[]))]);
    let major = install.ok("2030-02-02", &["plan", "migrate", "plan-1", "--to", "2.0.0", "--dry-run"]);
    assert_eq!(major["allowed"], false);
    assert!(major["refusals"][0].as_str().unwrap_or("").contains("not compatible"), "{}", major["refusals"]);
    // The same refusal by key and arguments, for a page to say in its reader's language.
    let why = &major["refusal_problems"][0];
    assert_eq!(why["code"], "refusal.migration.not_compatible", "{why}");
    assert_eq!((why["args"]["to"].as_str(), why["args"]["current"].as_str()), (Some("2.0.0"), Some("1.1.0")));
    assert_eq!(major["scores"][0]["values"][2]["after"], "red");
}

#[test]
fn the_readme_writes_every_rule_the_diff_applies() {
    let readme = std::fs::read_to_string(repo_root().join("jurisdictions/README.md")).expect("README");
    let section = readme.split("## Versions").nth(1).expect("a Versions section").split("\n## ").next().unwrap_or("");
    for rule in Rule::ALL {
        let row = format!("| `{}` | {} |", rule.id(), rule.class());
        assert!(section.contains(&row), "the Versions table has no row `{row}`");
    }
    assert!(readme.contains("| W206 |"), "W206 is in the codes table");
}
