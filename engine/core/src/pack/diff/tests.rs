//! The classification rules, one small edit of a pack at a time: each case
//! edits a base pack's files and lists the change lines `pack diff` prints
//! and the class of the whole.

use std::path::Path;

use semver::Version;

use super::*;
use crate::pack::{Loader, load_pack};

const MANIFEST: &str = r#"Pack(
    id: "t",
    title: {"en": "Test pack"},
    version: "1.0.0",
    requires: ">=0.1.0",
    languages: ["en"],
    workflows: ["workflows/w.ron"],
    forms: ["forms/f.ron"],
    documents: [Document(id: "summary", template: "documents/summary.hbs", title: {"en": "Summary"})],
    locales: ["locales/en.ron"],
    plugins: [Plugin(id: "grade", file: "plugins/grade.wasm", sha256: "aaaa")],
    samples: [Sample(id: "demo", workflow: "w", event: "submit", role: "officer", file: "samples/demo.ron")],
    scenarios: ["scenarios/s.ron"],
)"#;

const WORKFLOW: &str = r#"Workflow(
    id: "w",
    title: "Register",
    roles: [Role(id: "officer", title: "Officer"), Role(id: "chief", title: "Chief")],
    documents: ["summary"],
    states: [
        State(id: "drafting", title: "Drafting"),
        State(id: "review", title: "Review"),
        State(id: "adopted", title: "Adopted", kind: Final),
    ],
    initial: "drafting",
    events: [
        Event(id: "submit", title: "Submitted", fills: ["register"]),
        Event(id: "adopt", title: "Adopted", fills: ["register"]),
    ],
    transitions: [
        Transition(from: ["drafting"], on: "submit", to: "review", roles: ["officer"], forms_complete: ["register"],
            conditions: [Count(path: "register.risks", min: 1, label: "risks")],
            actions: [Score(plugin: "grade", entry: "grade", input: "register.risks", output: "grades",
                config: {"bands": [{"name": "green", "up_to": 4}, {"name": "red", "up_to": 8}]})]),
        Transition(from: ["drafting", "review"], on: "adopt", to: "adopted", roles: ["chief"], actions: [Render("summary")]),
    ],
    deadlines: [
        Deadline(id: "adoption", what: "Register adopted", who: "chief", due: FromCycleStart(months: 2), met_by: ["adopt"]),
    ],
)"#;

const FORMS: &str = r#"[
    Form(id: "register", title: "Register", fields: [
        Field(id: "risks", title: "Risks", kind: Table, required: true, columns: [
            Field(id: "id", title: "Ref.", kind: Text, required: true),
            Field(id: "likelihood", title: "Likelihood", kind: Integer, required: true, min: 1, max: 4),
            Field(id: "kind", title: "Kind", kind: Choice, choices: ["general", "special"]),
        ]),
        Field(id: "note", title: "Note", kind: LongText),
        Field(id: "approved_by", title: "Approved by", kind: Text),
    ]),
]"#;

const FILES: [(&str, &str); 7] = [
    ("pack.ron", MANIFEST),
    ("workflows/w.ron", WORKFLOW),
    ("forms/f.ron", FORMS),
    ("documents/summary.hbs", "<h1>Summary</h1>\n<p>{{data.register.approved_by}}</p>\n"),
    ("locales/en.ron", r#"Locale(language: "en", messages: {"doc.number": "No."})"#),
    ("samples/demo.ron", r#"{"register": {"risks": [{"id": "A", "likelihood": 2}]}}"#),
    ("scenarios/s.ron", r#"Scenario(name: "cycle", workflow: "w", start: "2030-01-02", steps: [])"#),
];

/// Writes the base pack into `dir`, with `edits` (file, text, replacement) applied.
fn write(dir: &Path, edits: &[(&str, &str, &str)]) {
    for (file, text) in FILES {
        let mut text = text.to_string();
        for (_, from, to) in edits.iter().filter(|(f, ..)| *f == file) {
            assert!(text.contains(from), "{file} has no `{from}`");
            text = text.replace(from, to);
        }
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

fn load(dir: &Path) -> Pack {
    let (pack, diagnostics) = load_pack(dir, &Loader::default());
    let errors: Vec<String> = diagnostics.iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
    pack.unwrap_or_else(|| panic!("the pack does not load: {errors:#?}"))
}

struct Case {
    name: &'static str,
    edits: &'static [(&'static str, &'static str, &'static str)],
    lines: &'static [&'static str],
    class: Class,
}

#[track_caller]
fn check(case: &Case) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    write(&old, &[]);
    write(&new, case.edits);
    let diff = diff(&load(&old), &load(&new));
    let lines: Vec<String> = diff.changes.iter().map(Change::line).collect();
    assert_eq!(lines, case.lines, "{}", case.name);
    assert_eq!(diff.class(), case.class, "{}", case.name);
}

const W: &str = "workflows/w.ron";
const F: &str = "forms/f.ron";

#[test]
fn each_edit_is_classed_by_its_rule() {
    let cases = [
        Case { name: "nothing", edits: &[], lines: &[], class: Class::None },
        Case {
            name: "a changed scoring threshold is major, never a patch",
            edits: &[(W, r#"{"name": "green", "up_to": 4}"#, r#"{"name": "green", "up_to": 3}"#)],
            lines: &[
                "major workflows[w].transitions[drafting on submit].actions[Score(grades)].config.bands[0].up_to: 4 → 3",
            ],
            class: Class::Major,
        },
        Case {
            name: "a band added to a Score configuration",
            edits: &[(
                W,
                r#"{"name": "red", "up_to": 8}"#,
                r#"{"name": "amber", "up_to": 6}, {"name": "red", "up_to": 8}"#,
            )],
            lines: &[
                r#"major workflows[w].transitions[drafting on submit].actions[Score(grades)].config.bands[1].name: "red" → "amber""#,
                "major workflows[w].transitions[drafting on submit].actions[Score(grades)].config.bands[1].up_to: 8 → 6",
                r#"major workflows[w].transitions[drafting on submit].actions[Score(grades)].config.bands[2]: added {"name":"red","up_to":8}"#,
            ],
            class: Class::Major,
        },
        Case {
            name: "a new plugin build",
            edits: &[("pack.ron", r#"sha256: "aaaa""#, r#"sha256: "bbbb""#)],
            lines: &[r#"major plugins[grade].sha256: "aaaa" → "bbbb""#],
            class: Class::Major,
        },
        Case {
            name: "a field removed",
            edits: &[(F, r#"Field(id: "note", title: "Note", kind: LongText),"#, "")],
            lines: &["major forms[register].fields[note]: removed"],
            class: Class::Major,
        },
        Case {
            name: "an optional field added",
            edits: &[(
                F,
                r#"Field(id: "note", title: "Note", kind: LongText),"#,
                r#"Field(id: "note", title: "Note", kind: LongText), Field(id: "remark", kind: Text),"#,
            )],
            lines: &["minor forms[register].fields[remark]: added"],
            class: Class::Minor,
        },
        Case {
            name: "a required column added",
            edits: &[(
                F,
                r#"Field(id: "id", title: "Ref.", kind: Text, required: true),"#,
                r#"Field(id: "id", title: "Ref.", kind: Text, required: true), Field(id: "owner", kind: Text, required: true),"#,
            )],
            lines: &["major forms[register].fields[risks].columns[owner]: added"],
            class: Class::Major,
        },
        Case {
            name: "a field becomes required",
            edits: &[(
                F,
                r#"Field(id: "note", title: "Note", kind: LongText)"#,
                r#"Field(id: "note", title: "Note", kind: LongText, required: true)"#,
            )],
            lines: &["major forms[register].fields[note].required: false → true"],
            class: Class::Major,
        },
        Case {
            name: "a field's kind changed",
            edits: &[(F, r#"title: "Note", kind: LongText"#, r#"title: "Note", kind: Text"#)],
            lines: &[r#"major forms[register].fields[note].kind: "LongText" → "Text""#],
            class: Class::Major,
        },
        Case {
            name: "choices added, then removed",
            edits: &[(F, r#"choices: ["general", "special"]"#, r#"choices: ["general", "special", "other"]"#)],
            lines: &[r#"minor forms[register].fields[risks].columns[kind].choices[other]: added "other""#],
            class: Class::Minor,
        },
        Case {
            name: "a choice removed",
            edits: &[(F, r#"choices: ["general", "special"]"#, r#"choices: ["general"]"#)],
            lines: &[r#"major forms[register].fields[risks].columns[kind].choices[special]: removed "special""#],
            class: Class::Major,
        },
        Case {
            name: "bounds loosened",
            edits: &[(F, "min: 1, max: 4", "min: 0, max: 5")],
            lines: &[
                "minor forms[register].fields[risks].columns[likelihood].min: 1.0 → 0.0",
                "minor forms[register].fields[risks].columns[likelihood].max: 4.0 → 5.0",
            ],
            class: Class::Minor,
        },
        Case {
            name: "bounds tightened",
            edits: &[(F, "min: 1, max: 4", "min: 1, max: 3")],
            lines: &["major forms[register].fields[risks].columns[likelihood].max: 4.0 → 3.0"],
            class: Class::Major,
        },
        Case {
            name: "wording: a title, a locale text, a template line",
            edits: &[
                (F, r#"title: "Risks""#, r#"title: "Risk list""#),
                ("locales/en.ron", r#""No.""#, r#""Number""#),
                ("documents/summary.hbs", "<h1>Summary</h1>", "<h1>Register summary</h1>"),
            ],
            lines: &[
                r#"patch forms[register].fields[risks].title: "Risks" → "Risk list""#,
                r#"patch documents[summary].text:1: "<h1>Summary</h1>" → "<h1>Register summary</h1>""#,
                r#"patch locales[en].messages["doc.number"]: "No." → "Number""#,
            ],
            class: Class::Patch,
        },
        Case {
            name: "a deadline moved",
            edits: &[(W, "FromCycleStart(months: 2)", "FromCycleStart(months: 3)")],
            lines: &["major workflows[w].deadlines[adoption].due.FromCycleStart.months: 2 → 3"],
            class: Class::Major,
        },
        Case {
            name: "a deadline added",
            edits: &[(
                W,
                r#"met_by: ["adopt"]),"#,
                r#"met_by: ["adopt"]), Deadline(id: "report", what: "Report", who: "chief", due: Yearly(month: 4, day: 15), met_by: ["adopt"]),"#,
            )],
            lines: &["minor workflows[w].deadlines[report]: added"],
            class: Class::Minor,
        },
        Case {
            name: "a guard tightened (a higher minimum), its label reworded",
            edits: &[(
                W,
                r#"Count(path: "register.risks", min: 1, label: "risks")"#,
                r#"Count(path: "register.risks", min: 2, label: "risk rows")"#,
            )],
            lines: &[
                r#"patch workflows[w].transitions[drafting on submit].conditions[Count register.risks].label: "risks" → "risk rows""#,
                "major workflows[w].transitions[drafting on submit].conditions[Count register.risks].min: 1 → 2",
            ],
            class: Class::Major,
        },
        Case {
            name: "a condition added",
            edits: &[(
                W,
                r#"min: 1, label: "risks")]"#,
                r#"min: 1, label: "risks"), Filled(path: "register.approved_by")]"#,
            )],
            lines: &[
                r#"major workflows[w].transitions[drafting on submit].conditions[Filled register.approved_by]: added {"Filled":{"label":null,"path":"register.approved_by"}}"#,
            ],
            class: Class::Major,
        },
        Case {
            name: "guards loosened: a condition dropped, a role added, a form no longer required complete",
            edits: &[
                (W, r#"conditions: [Count(path: "register.risks", min: 1, label: "risks")],"#, ""),
                (W, r#"roles: ["officer"], forms_complete: ["register"],"#, r#"roles: ["officer", "chief"],"#),
            ],
            lines: &[
                r#"minor workflows[w].transitions[drafting on submit].roles[chief]: added "chief""#,
                r#"minor workflows[w].transitions[drafting on submit].forms_complete[register]: removed "register""#,
                r#"minor workflows[w].transitions[drafting on submit].conditions[Count register.risks]: removed {"Count":{"label":"risks","max":null,"min":1,"path":"register.risks"}}"#,
            ],
            class: Class::Minor,
        },
        Case {
            name: "a state and an event added, a notice sent",
            edits: &[
                (
                    W,
                    r#"State(id: "review", title: "Review"),"#,
                    r#"State(id: "review", title: "Review"), State(id: "revision", title: "Revision"),"#,
                ),
                (
                    W,
                    r#"Event(id: "adopt", title: "Adopted", fills: ["register"]),"#,
                    r#"Event(id: "adopt", title: "Adopted", fills: ["register"]), Event(id: "revise"),"#,
                ),
                (
                    W,
                    r#"Transition(from: ["drafting", "review"], on: "adopt", to: "adopted", roles: ["chief"], actions: [Render("summary")]),"#,
                    r#"Transition(from: ["drafting", "review"], on: "adopt", to: "adopted", roles: ["chief"], actions: [Render("summary"), Notify(roles: ["officer"], message: "Adopted")]),
                    Transition(from: ["review"], on: "revise", to: "revision", roles: ["chief"]),
                    Transition(from: ["revision"], on: "submit", to: "review", roles: ["officer"]),"#,
                ),
            ],
            lines: &[
                "minor workflows[w].states[revision]: added",
                "minor workflows[w].events[revise]: added",
                r#"minor workflows[w].transitions[drafting, review on adopt].actions[Notify(0)]: added {"Notify":{"message":"Adopted","roles":["officer"]}}"#,
                "minor workflows[w].transitions[review on revise]: added",
                "minor workflows[w].transitions[revision on submit]: added",
            ],
            class: Class::Minor,
        },
        Case {
            name: "one transition written for two states reports an equal change once",
            edits: &[(
                W,
                r#"roles: ["chief"], actions: [Render("summary")]"#,
                r#"roles: ["chief", "officer"], actions: [Render("summary")]"#,
            )],
            lines: &[r#"minor workflows[w].transitions[drafting, review on adopt].roles[officer]: added "officer""#],
            class: Class::Minor,
        },
        Case {
            name: "a transition no longer written for one of its states",
            edits: &[(W, r#"from: ["drafting", "review"], on: "adopt""#, r#"from: ["review"], on: "adopt""#)],
            lines: &["major workflows[w].transitions[drafting on adopt]: removed"],
            class: Class::Major,
        },
        Case {
            name: "answers become anonymous",
            edits: &[
                (
                    W,
                    r#"Event(id: "submit", title: "Submitted", fills: ["register"])"#,
                    r#"Event(id: "submit", title: "Submitted", fills: ["register"], anonymous: true)"#,
                ),
                (
                    W,
                    r#"config: {"bands": [{"name": "green", "up_to": 4}, {"name": "red", "up_to": 8}]}"#,
                    r#"config: {"bands": [{"name": "green", "up_to": 4}, {"name": "red", "up_to": 8}], "min_group_size": 5}"#,
                ),
            ],
            // Scores over anonymous answers must keep small groups out (E124).
            lines: &[
                "major workflows[w].events[submit].anonymous: false → true",
                "major workflows[w].transitions[drafting on submit].actions[Score(grades)].config.min_group_size: added 5",
            ],
            class: Class::Major,
        },
        Case {
            name: "a cycle added",
            edits: &[(
                W,
                "    deadlines: [",
                r#"    cycle: Cycle(every_years: 2, restart_at: "drafting"),
    deadlines: ["#,
            )],
            lines: &[
                r#"major workflows[w].cycle: added {"carry_forward":[],"every_years":2,"first_number":1,"first_start":null,"restar…"#,
            ],
            class: Class::Major,
        },
        Case {
            name: "samples and scenarios edited",
            edits: &[
                ("samples/demo.ron", r#""likelihood": 2"#, r#""likelihood": 3"#),
                ("scenarios/s.ron", "2030-01-02", "2030-01-03"),
            ],
            lines: &["patch samples[demo].payload: changed", "patch scenarios[cycle].start: changed"],
            class: Class::Patch,
        },
        Case {
            name: "the highest class wins",
            edits: &[
                (F, r#"title: "Risks""#, r#"title: "Risk list""#),
                (F, r#"choices: ["general", "special"]"#, r#"choices: ["general", "special", "other"]"#),
                (W, r#""up_to": 8"#, r#""up_to": 9"#),
            ],
            lines: &[
                "major workflows[w].transitions[drafting on submit].actions[Score(grades)].config.bands[1].up_to: 8 → 9",
                r#"patch forms[register].fields[risks].title: "Risks" → "Risk list""#,
                r#"minor forms[register].fields[risks].columns[kind].choices[other]: added "other""#,
            ],
            class: Class::Major,
        },
    ];
    for case in &cases {
        check(case);
    }
}

#[test]
fn version_numbers_are_read_as_caret_ranges() {
    // (old, new, the bump, the version a major / minor / patch change needs)
    let cases = [
        ("1.0.0", "1.0.1", Class::Patch, "2.0.0", "1.1.0", "1.0.1"),
        ("1.0.0", "1.1.0", Class::Minor, "2.0.0", "1.1.0", "1.0.1"),
        ("1.4.2", "2.0.0", Class::Major, "2.0.0", "1.5.0", "1.4.3"),
        ("1.0.0", "1.0.0", Class::None, "2.0.0", "1.1.0", "1.0.1"),
        ("1.1.0", "1.0.5", Class::None, "2.0.0", "1.2.0", "1.1.1"),
        ("0.3.1", "0.3.2", Class::Minor, "0.4.0", "0.3.2", "0.3.2"),
        ("0.3.1", "0.4.0", Class::Major, "0.4.0", "0.3.2", "0.3.2"),
        ("0.0.3", "0.0.4", Class::Major, "0.0.4", "0.0.4", "0.0.4"),
        ("1.0.0-rc.1", "1.0.0", Class::Patch, "2.0.0", "1.1.0", "1.0.1"),
    ];
    for (old, new, bump, major, minor, patch) in cases {
        let (old, new) = (Version::parse(old).expect("old"), Version::parse(new).expect("new"));
        assert_eq!(version_bump(&old, &new), bump, "{old} → {new}");
        let required: Vec<String> =
            [Class::Major, Class::Minor, Class::Patch].map(|c| required_version(&old, c).to_string()).to_vec();
        assert_eq!(required, [major, minor, patch], "{old}");
        for class in [Class::Major, Class::Minor, Class::Patch] {
            assert!(version_bump(&old, &required_version(&old, class)) >= class, "{old} for {class}");
        }
    }
}

#[test]
fn a_number_too_small_for_its_changes_is_warned_at_its_version() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    write(&old, &[]);
    write(
        &new,
        &[
            ("pack.ron", r#"version: "1.0.0""#, r#"version: "1.0.1""#),
            (W, r#"{"name": "green", "up_to": 4}"#, r#"{"name": "green", "up_to": 3}"#),
        ],
    );
    let diff = diff(&load(&old), &load(&new));
    assert_eq!((diff.bump(), diff.class(), diff.enough()), (Class::Patch, Class::Major, false));
    let warning = diff.warning(&new.join("pack.ron")).expect("a warning");
    assert_eq!((warning.code, warning.line, warning.column), ("W206", 4, 5));
    assert_eq!(
        warning.message,
        "version 1.0.1 is numbered as a patch change after 1.0.0, but it makes major changes: \
         workflows[w].transitions[drafting on submit].actions[Score(grades)].config.bands[0].up_to: 4 → 3 (scoring); \
         publish it as 2.0.0 or higher"
    );
    let enough = PackDiff { to: Version::new(2, 0, 0), ..diff };
    assert_eq!(enough.warning(&new.join("pack.ron")), None);
}

/// Constructs the base pack does not use, and ones the definition
/// language may gain later, compared as JSON elements.
#[test]
fn elements_compared_as_json_fall_under_their_rules() {
    use serde_json::json;
    // (kind, old, new, the lines)
    let cases = [
        (
            Kind::Transition,
            json!({"plugin": {"plugin": "q", "entry": "check", "forms": [], "config": {"max_risks": 3}}}),
            json!({"plugin": {"plugin": "q", "entry": "check", "forms": [], "config": {"max_risks": 4}}}),
            vec!["major t.plugin.config.max_risks: 3 → 4"],
        ),
        (
            Kind::Transition,
            json!({"plugin": null}),
            json!({"plugin": {"plugin": "q", "entry": "check"}}),
            vec![r#"major t.plugin: added {"entry":"check","plugin":"q"}"#],
        ),
        (
            Kind::Transition,
            json!({"plugin": {"plugin": "q", "entry": "check"}}),
            json!({"plugin": null}),
            vec![r#"minor t.plugin: removed {"entry":"check","plugin":"q"}"#],
        ),
        (
            Kind::Transition,
            json!({"to": "review"}),
            json!({"to": "adopted"}),
            vec![r#"major t.to: "review" → "adopted""#],
        ),
        (
            Kind::Transition,
            json!({"actions": [{"Notify": {"roles": ["head"], "message": "Done"}}, "OpenNextCycle"]}),
            json!({"actions": [{"Notify": {"roles": ["head", "agency"], "message": "Finished"}}]}),
            vec![
                r#"patch t.actions[Notify(0)].message: "Done" → "Finished""#,
                r#"minor t.actions[Notify(0)].roles[1]: added "agency""#,
                r#"major t.actions[OpenNextCycle]: removed "OpenNextCycle""#,
            ],
        ),
        (
            Kind::Deadline,
            json!({"due": {"Yearly": {"month": 4, "day": 15}}, "met_by": ["submit"]}),
            json!({"due": {"Fixed": "2031-04-15"}, "met_by": ["submit", "resubmit"]}),
            vec![
                r#"major d.due: {"Yearly":{"day":15,"month":4}} → {"Fixed":"2031-04-15"}"#,
                r#"minor d.met_by[resubmit]: added "resubmit""#,
            ],
        ),
        (
            Kind::Transition,
            json!({"conditions": [{"If": {"when": {"Filled": {"path": "r.late", "label": "late"}}, "then": {"Filled": {"path": "r.reason", "label": "a reason"}}}}]}),
            json!({"conditions": [{"If": {"when": {"Filled": {"path": "r.late", "label": "late"}}, "then": {"Filled": {"path": "r.reason", "label": "the reason"}}}}]}),
            vec![r#"patch t.conditions[If].then.Filled.label: "a reason" → "the reason""#],
        ),
        (
            Kind::Transition,
            json!({"conditions": [{"Institution": {"attribute": "employees", "min": 10.0}}]}),
            json!({"conditions": [{"Institution": {"attribute": "employees", "min": 20.0}}]}),
            vec!["major t.conditions[Institution employees].min: 10.0 → 20.0"],
        ),
        (
            Kind::Workflow,
            json!({"applies_to": {"conditions": [{"Institution": {"attribute": "employees", "min": 10.0}}], "notice": "Not obliged"}}),
            json!({"applies_to": {"conditions": [{"Institution": {"attribute": "employees", "min": 20.0}}], "notice": "Not obliged by law"}}),
            vec![
                "minor t.applies_to.conditions[0].Institution.min: 10.0 → 20.0",
                r#"patch t.applies_to.notice: "Not obliged" → "Not obliged by law""#,
            ],
        ),
        (
            Kind::Deadline,
            json!({"basis": "Art. 10", "period": null}),
            json!({"basis": "Art. 11", "period": {"field": "report.year", "offset": -1}}),
            vec![
                r#"patch d.basis: "Art. 10" → "Art. 11""#,
                r#"major d.period: added {"field":"report.year","offset":-1}"#,
            ],
        ),
        (
            Kind::Workflow,
            json!({"single_plan": false}),
            json!({"single_plan": true}),
            vec!["minor t.single_plan: false → true"],
        ),
        (
            Kind::Transition,
            json!({"conditions": [{"Cycle": {"from": 2}}]}),
            json!({"conditions": [{"Cycle": {"from": 3}}]}),
            vec!["major t.conditions[Cycle].from: 2 → 3"],
        ),
        (
            Kind::Transition,
            json!({"escalate_after_days": 10}),
            json!({"escalate_after_days": 20}),
            vec!["major t.escalate_after_days: 10 → 20"],
        ),
    ];
    for (kind, old, new, expected) in cases {
        let mut d = Differ::default();
        let path = if kind == Kind::Deadline { "d" } else { "t" };
        d.compare(kind, path, &old, &new);
        let lines: Vec<String> = d.changes.iter().map(Change::line).collect();
        assert_eq!(lines, expected, "{old} → {new}");
    }
}
