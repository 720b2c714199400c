//! Issue 2: the CLI on bad input, and `lint` on real and broken files —
//! clear errors, non-zero exits, never a panic.

use integritas_tests::{Install, binary, packs_dir};
use std::process::Command;

fn lint(paths: &[&std::path::Path]) -> (i32, String) {
    let output = Command::new(binary()).arg("lint").args(paths).output().expect("run lint");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn bundled_packs_lint_clean() {
    let (code, out) = lint(&[&packs_dir()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("0 error(s), 0 warning(s)\n"), "{out}");
}

#[test]
fn lint_lists_every_problem_with_file_line_and_column() {
    // A copy of the whole Serbian pack with its workflow broken in four places.
    let dir = tempfile::tempdir().expect("tempdir");
    let status =
        std::process::Command::new("cp").arg("-r").arg(packs_dir().join("rs")).arg(dir.path()).status().expect("cp");
    assert!(status.success());
    let pack = dir.path().join("rs");
    let path = pack.join("workflows/three_phase.ron");
    let original = std::fs::read_to_string(&path).expect("read rs workflow");
    let broken = original
        .replace(
            r#"on: "identify_processes", to: "employee_questionnaire""#,
            r#"on: "identify_processes", to: "employe_questionnaire""#,
        )
        .replace(
            r#"on: "close_questionnaire", to: "risk_assessment",
            roles: ["coordinator"],"#,
            r#"on: "close_questionnaire", to: "risk_assessment",
            roles: ["koordinator"],"#,
        )
        .replace(r#"Count(path: "meeting_minutes.meetings""#, r#"Count(path: "meeting_minutes.sessions""#)
        .replace(r#"met_by: ["adopt_report"]"#, r#"met_by: ["adopt_reprot"]"#);
    assert_ne!(broken, original);
    std::fs::write(&path, &broken).expect("write");
    let (code, out) = lint(&[&pack]);
    assert_eq!(code, 1, "{out}");
    let line_of =
        |needle: &str| broken.lines().position(|l| l.contains(&format!("\"{needle}"))).expect("needle in file") + 1;
    let file = path.display().to_string();
    for (needle, code, words) in [
        ("employe_questionnaire", "E102", "unknown state `employe_questionnaire`"),
        ("koordinator", "E104", "unknown role `koordinator`"),
        ("meeting_minutes.sessions", "E106", "form `meeting_minutes` has no field `sessions`"),
        ("adopt_reprot", "E103", "unknown event `adopt_reprot`"),
    ] {
        let prefix = format!("{file}:{}:", line_of(needle));
        assert!(
            out.lines().any(|l| l.starts_with(&prefix) && l.contains(code) && l.contains(words)),
            "missing `{prefix} … {code} … {words}` in:\n{out}"
        );
    }
    // The misspelt target leaves `employee_questionnaire` unreachable and `identifying_processes` without a real way on.
    assert!(out.contains("E108") && out.contains("state `employee_questionnaire`"), "{out}");
    assert!(out.contains("hint: did you mean `adopt_report`?"), "{out}");
}

#[test]
fn ron_syntax_errors_are_located_and_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("syntax.ron");
    std::fs::write(&path, "Workflow(\n    id: \"x\",\n    rolles: [],\n)\n").expect("write");
    let (code, out) = lint(&[&path]);
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!("{}:3:5: error[E001] `rolles` is not a field of `Workflow`", path.display())),
        "{out}"
    );
    assert!(out.contains("hint: did you mean `roles`?"), "{out}");
    let (code, out) = lint(&[&dir.path().join("missing.ron")]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn bad_input_gets_a_clear_error_and_a_non_zero_exit() {
    let install = Install::default();
    let cases: [(&[&str], &str); 6] = [
        // A command that only reads never creates a store where --data points at nothing.
        (&["plan", "show", "plan-9"], "no data folder"),
        (&["institution", "add", "--id", "a b", "--name", "X", "--jurisdiction", "rs"], "may use only letters"),
        (
            &["institution", "add", "--id", "x", "--name", "X", "--jurisdiction", "atlantis"],
            "no jurisdiction pack `atlantis`",
        ),
        (&["plan", "new", "--institution", "nobody", "--workflow", "rs/three_phase"], "no institution `nobody`"),
        (&["plan", "fire", "plan-1", "x", "--as", "head", "--payload", "{not json"], "the payload is not valid JSON"),
        (
            &["plan", "fire", "plan-1", "x", "--as", "head", "--payload", "@/nonexistent/file.json"],
            "cannot read the payload file",
        ),
    ];
    for (args, words) in cases {
        let run = install.run("2022-01-01", args);
        assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(words), "{args:?}: expected `{words}` in {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let run = install.run("2022-02-30", &["institution", "list"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("`2022-02-30` is not a date"), "{}", run.stderr);
    let json = install.run("2022-01-01", &["plan", "show", "plan-9", "--json"]);
    assert_eq!(json.code, 1);
    assert_eq!(json.json()["error"]["message"], "no plan `plan-9`");
}
