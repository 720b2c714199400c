//! What moving one plan to another version of its pack would change for
//! that plan: where its state goes, which of its data no longer fits, and
//! every score and level before and after, recomputed on the plan's own
//! data with each version's plugins and configurations. `plan migrate
//! --dry-run` prints it; a real migration records it in its `@migrated`
//! event, so the audit trail shows what the migration changed.

use std::sync::Arc;

use semver::Version;
use serde_json::{Map, Value, json};

use super::{Engine, PackPlugins, internal, migration_problems};
use crate::definition::{Action, StateKind, Workflow};
use crate::error::{EngineError, Problem};
use crate::guard::{self, Draft};
use crate::message::Message;
use crate::pack::Pack;
use crate::pack::diff::{PackDiff, diff};
use crate::plugin::{PluginRunner, Provenance};
use crate::projection::Plan;
use crate::store::Event;

/// What a migration of one plan would change.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationPreview {
    pub plan: String,
    pub pack: String,
    pub from: Version,
    pub to: Version,
    /// Every change between the two versions, with its class.
    pub diff: PackDiff,
    pub state: StateMapping,
    /// The plan's data the new version would not accept, by JSON path.
    pub data: Vec<Problem>,
    /// Required values the new version asks for that the plan's forms lack
    /// (and did not need before), by JSON path.
    pub incomplete: Vec<Problem>,
    /// Each of the plan's scores, recomputed before and after.
    pub scores: Vec<ScoreComparison>,
    /// Why `migrate` refuses this move; empty when it goes through.
    pub refusals: Vec<Problem>,
}

/// The plan's state in both versions.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMapping {
    pub state: String,
    pub before: Option<StateShape>,
    /// `None` when the new version has no such state.
    pub after: Option<StateShape>,
    /// Events that can happen from the state, in each version.
    pub events_before: Vec<String>,
    pub events_after: Vec<String>,
}

/// What a state is: its kind (`step`, `phase`, `final`) and its phase.
#[derive(Debug, Clone, PartialEq)]
pub struct StateShape {
    pub kind: &'static str,
    pub parent: Option<String>,
}

/// One score output of the plan, computed by each version on the plan's
/// current data.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreComparison {
    pub output: String,
    pub before: ScoreRun,
    pub after: ScoreRun,
    /// Every value of the output (`risks[U2].band`: rows by their `id`),
    /// before and after.
    pub values: Vec<ScoreValue>,
}

impl ScoreComparison {
    /// The values that differ.
    pub fn changed(&self) -> impl Iterator<Item = &ScoreValue> {
        self.values.iter().filter(|v| v.before != v.after)
    }
}

/// One version's call of a `Score` action.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRun {
    /// `plugin/entry`; `None` when this version computes no such output.
    pub call: Option<String>,
    /// The configuration the action applies (scales, bands, weights).
    pub config: Option<Value>,
    pub provenance: Option<Provenance>,
    /// Why the call gave no value (the plugin refused the data...).
    pub error: Option<String>,
}

/// One value of a score output, before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreValue {
    /// Within the output: `risks[U2].level`; empty for a plain value.
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Engine {
    /// What moving `plan_id` to version `to` of its pack would change, and
    /// whether `migrate` would refuse it. Nothing is recorded; plugins run.
    pub fn migration_preview(&self, plan_id: &str, to: &Version) -> Result<MigrationPreview, EngineError> {
        let plan = self.plan(plan_id)?;
        self.preview(&plan, to)
    }

    /// The preview of a plan already at hand (`migrate` holds its lock).
    pub(super) fn preview(&self, plan: &Plan, to: &Version) -> Result<MigrationPreview, EngineError> {
        let current = Version::parse(&plan.meta.pack_version)
            .map_err(|e| internal(format!("the plan's pack version is not semver: {e}")))?;
        let (pack_id, workflow_id) = plan.meta.workflow.split_once('/').unwrap_or_default();
        let catalog = self.catalog();
        let before = self.pack_of(&plan.meta)?;
        let Some(after) = catalog.pack(pack_id, Some(to)).cloned() else {
            let known: Vec<String> =
                catalog.all().filter(|p| p.id() == pack_id).map(|p| p.version().to_string()).collect();
            return Err(EngineError::not_found("pack version", to.to_string(), known));
        };
        let old_wf = self.workflow_of(&plan.meta)?;
        let new_wf = after.workflows.get(workflow_id).cloned();
        let refusals = migration_problems(plan, &current, to, new_wf.as_deref());
        let state = state_mapping(plan, &old_wf, new_wf.as_deref());
        let (data, incomplete) = match new_wf.as_deref() {
            Some(wf) => data_problems(plan, &old_wf, wf, to),
            None => (Vec::new(), Vec::new()),
        };
        let scores = self.score_comparisons(plan, (&before, &old_wf), (&after, new_wf.as_deref()))?;
        Ok(MigrationPreview {
            plan: plan.meta.id.clone(),
            pack: pack_id.to_string(),
            from: current,
            to: to.clone(),
            diff: diff(&before, &after),
            state,
            data,
            incomplete,
            scores,
            refusals,
        })
    }

    /// Recomputes each score the plan holds with the `Score` action that
    /// produced it (the transition of the event that recorded it), in each
    /// version, through the plugins of that version.
    fn score_comparisons(
        &self,
        plan: &Plan,
        before: (&Arc<Pack>, &Workflow),
        after: (&Arc<Pack>, Option<&Workflow>),
    ) -> Result<Vec<ScoreComparison>, EngineError> {
        if plan.scores.is_empty() {
            return Ok(Vec::new());
        }
        let raw = self.store.raw_events(&plan.meta.id)?;
        let runner = |pack: &Pack| PackPlugins {
            runner: self.plugins.as_ref(),
            pack: pack.id().to_string(),
            version: pack.version().to_string(),
        };
        let draft = Draft::stored(&plan.data);
        let mut out = Vec::new();
        for (output, record) in &plan.scores {
            let index = usize::try_from(record.seq.saturating_sub(1)).unwrap_or(usize::MAX);
            let event: Option<Event> = raw.get(index).and_then(|bytes| serde_json::from_slice(bytes).ok());
            let at = event.as_ref().map(|e| (e.from.as_str(), e.event.as_str()));
            let old = score_action(before.1, at, output);
            let new = after.1.and_then(|wf| score_action(wf, at, output));
            let (before_run, before_value) = run_score(old, &draft, &runner(before.0));
            let (after_run, after_value) = run_score(new, &draft, &runner(after.0));
            out.push(ScoreComparison {
                output: output.clone(),
                before: before_run,
                after: after_run,
                values: compare_values(before_value.as_ref(), after_value.as_ref()),
            });
        }
        Ok(out)
    }
}

fn state_shape(workflow: &Workflow, state: &str) -> Option<StateShape> {
    workflow.state(state).map(|s| StateShape {
        kind: match s.kind {
            StateKind::Step => "step",
            StateKind::Phase => "phase",
            StateKind::Final => "final",
        },
        parent: s.parent.clone(),
    })
}

fn state_mapping(plan: &Plan, old: &Workflow, new: Option<&Workflow>) -> StateMapping {
    let events = |wf: &Workflow| -> Vec<String> {
        let mut on: Vec<String> = wf.transitions_from(&plan.state).iter().map(|t| t.on.clone()).collect();
        on.dedup();
        on
    };
    StateMapping {
        state: plan.state.clone(),
        before: state_shape(old, &plan.state),
        after: new.and_then(|wf| state_shape(wf, &plan.state)),
        events_before: events(old),
        events_after: new.map(events).unwrap_or_default(),
    }
}

/// The plan's data under the new version: values it would refuse, forms
/// it lacks, and required values newly missing.
fn data_problems(plan: &Plan, old: &Workflow, new: &Workflow, to: &Version) -> (Vec<Problem>, Vec<Problem>) {
    let mut refused = Vec::new();
    let forms: Vec<String> = plan.data.keys().cloned().collect();
    for form in forms.iter().filter(|f| new.form(f).is_none()) {
        let message = format!("version {to} has no form `{form}`, which holds data of this plan");
        refused.push(Problem::new(form.clone(), Message::new("problem.input").arg("message", message)));
    }
    let known: Vec<String> = forms.into_iter().filter(|f| new.form(f).is_some()).collect();
    let data: Map<String, Value> =
        plan.data.iter().filter(|(k, _)| known.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    refused.extend(guard::validate_payload(new, &known, &Value::Object(data)));
    let draft = Draft::stored(&plan.data);
    let mut incomplete = Vec::new();
    for form_id in &known {
        let Some(form) = new.form(form_id) else { continue };
        let before: Vec<String> = old
            .form(form_id)
            .map(|f| guard::missing_fields(form_id, f, &draft))
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.path)
            .collect();
        incomplete
            .extend(guard::missing_fields(form_id, form, &draft).into_iter().filter(|p| !before.contains(&p.path)));
    }
    (refused, incomplete)
}

/// A `Score` action that writes `output`: the one of the transition the
/// recording event took (`(state, event)`), else the first anywhere.
fn score_action<'w>(workflow: &'w Workflow, at: Option<(&str, &str)>, output: &str) -> Option<&'w Action> {
    let writes = |a: &&Action| matches!(a, Action::Score { output: o, .. } if o == output);
    let on_transition = at.and_then(|(state, event)| workflow.transition(state, event));
    on_transition
        .and_then(|t| t.actions.iter().find(writes))
        .or_else(|| workflow.def().transitions.iter().flat_map(|t| t.actions.iter()).find(writes))
}

/// Runs a `Score` action as the executor does, on the plan's stored data:
/// the rows of its input table under the table's own field name.
fn run_score(action: Option<&Action>, draft: &Draft, plugins: &dyn PluginRunner) -> (ScoreRun, Option<Value>) {
    let Some(Action::Score { plugin, entry, input, config, .. }) = action else {
        return (ScoreRun { call: None, config: None, provenance: None, error: None }, None);
    };
    let key = input.split_once('.').map_or(input.as_str(), |(_, field)| field);
    let call_input = json!({ "config": config, key: draft.rows_at(input).to_value() });
    let call = Some(format!("{plugin}/{entry}"));
    let config = config.clone();
    match plugins.call(plugin, entry, &call_input) {
        Ok(output) => (ScoreRun { call, config, provenance: Some(output.provenance), error: None }, Some(output.value)),
        Err(e) => (ScoreRun { call, config, provenance: None, error: Some(e.to_string()) }, None),
    }
}

/// Every leaf of a score output by its path; rows of a list that carry an
/// `id` are named by it (`risks[U2].level`), other items by position.
fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    let join = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                leaves(v, join(key), out);
            }
        }
        Value::Array(items) => {
            let id = |item: &Value| match item.get("id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            let named = items.iter().all(|i| id(i).is_some());
            for (i, item) in items.iter().enumerate() {
                match (named, id(item), item) {
                    (true, Some(name), Value::Object(map)) => {
                        for (key, v) in map.iter().filter(|(k, _)| *k != "id") {
                            leaves(v, format!("{path}[{name}].{key}"), out);
                        }
                    }
                    _ => leaves(item, format!("{path}[{i}]"), out),
                }
            }
        }
        other => out.push((path, other.clone())),
    }
}

fn compare_values(before: Option<&Value>, after: Option<&Value>) -> Vec<ScoreValue> {
    let flat = |v: Option<&Value>| {
        let mut out = Vec::new();
        if let Some(v) = v {
            leaves(v, String::new(), &mut out);
        }
        out
    };
    let (a, b) = (flat(before), flat(after));
    let mut values: Vec<ScoreValue> = a
        .iter()
        .map(|(path, v)| ScoreValue {
            path: path.clone(),
            before: Some(v.clone()),
            after: b.iter().find(|(p, _)| p == path).map(|(_, v)| v.clone()),
        })
        .collect();
    for (path, v) in b.iter().filter(|(p, _)| !a.iter().any(|(q, _)| q == p)) {
        values.push(ScoreValue { path: path.clone(), before: None, after: Some(v.clone()) });
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::Command;
    use crate::pack::{Catalog, Loader, load_pack};
    use crate::plugin::PluginError;
    use crate::store::{Institution, SledStore};

    const MANIFEST: &str = r#"Pack(id: "t", title: {"en": "T"}, version: "VERSION", requires: ">=0.1.0",
        languages: ["en"], workflows: ["w.ron"], plugins: [Plugin(id: "grade", file: "g.wasm", sha256: "00")])"#;

    const WORKFLOW: &str = r#"Workflow(
        id: "w",
        roles: [Role(id: "officer")],
        forms: [Form(id: "register", fields: [
            Field(id: "risks", kind: Table, required: true, columns: [
                Field(id: "id", kind: Text, required: true),
                Field(id: "likelihood", kind: Integer, required: true, min: 1, max: MAX),
            ]),
            Field(id: "note", kind: Text, required: NOTE),
        ])],
        states: [State(id: "drafting"), State(id: "review"), State(id: "done", kind: Final)],
        initial: "drafting",
        events: [Event(id: "submit", fills: ["register"]), Event(id: "close")],
        transitions: [
            Transition(from: ["drafting"], on: "submit", to: "review", roles: ["officer"],
                actions: [Score(plugin: "grade", entry: "grade", input: "register.risks", output: "levels",
                    config: {"high_from": HIGH})]),
            Transition(from: ["review"], on: "close", to: "done", roles: ["officer"]),
        ],
    )"#;

    /// A double of the `grade` plugin: a likelihood at or over the
    /// configured `high_from` is high. Its provenance names the key it was
    /// called under, so a test sees which version's plugin ran.
    struct Grade;

    impl PluginRunner for Grade {
        fn call(&self, plugin: &str, _entry: &str, input: &Value) -> Result<crate::plugin::PluginOutput, PluginError> {
            let high = input["config"]["high_from"].as_i64().unwrap_or(i64::MAX);
            let rows = input["risks"].as_array().cloned().unwrap_or_default();
            let graded: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let level = if r["likelihood"].as_i64().unwrap_or(0) >= high { "high" } else { "low" };
                    json!({"id": r["id"], "level": level})
                })
                .collect();
            let provenance = Provenance { id: plugin.into(), version: "1.0.0".into(), sha256: "00".into() };
            Ok(crate::plugin::PluginOutput { value: json!({ "risks": graded }), provenance })
        }
    }

    /// Version `version` of the pack `t`: likelihoods up to `max`, high
    /// from `high`, the note required or not.
    fn pack(dir: &std::path::Path, version: &str, max: u32, high: u32, note: bool) -> Arc<Pack> {
        let folder = dir.join(version);
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::write(folder.join("pack.ron"), MANIFEST.replace("VERSION", version)).expect("write");
        let workflow = WORKFLOW.replace("MAX", &max.to_string()).replace("HIGH", &high.to_string());
        std::fs::write(folder.join("w.ron"), workflow.replace("NOTE", &note.to_string())).expect("write");
        let (pack, diagnostics) = load_pack(&folder, &Loader::default());
        Arc::new(pack.unwrap_or_else(|| panic!("{diagnostics:#?}")))
    }

    #[test]
    fn a_preview_recomputes_each_score_with_each_versions_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut catalog = Catalog::default();
        catalog.insert_arc(pack(dir.path(), "1.0.0", 5, 5, false));
        let store = SledStore::open(&dir.path().join("data")).expect("store");
        let engine = Engine::new(Arc::new(store), catalog, Arc::new(Grade));
        let today: crate::date::Date = "2030-01-02".parse().expect("date");
        let institution = Institution {
            id: "i".into(),
            name: "I".into(),
            jurisdiction: "t".into(),
            kind: String::new(),
            employees: None,
            parent: None,
            timezone: None,
        };
        engine.add_institution(institution).expect("institution");
        let plan = engine.new_plan("i", "t/w", "a", today).expect("plan").meta.id.clone();
        let payload = json!({"register": {"risks": [{"id": "A", "likelihood": 4}, {"id": "B", "likelihood": 5}]}});
        let command = Command { event: "submit".into(), role: "officer".into(), actor: "a".into(), payload, today };
        engine.fire(&plan, &command).expect("submitted");
        // Later versions: high from 4; likelihoods up to 3 only; the note
        // required; a major version.
        for (version, max, high, note) in
            [("1.1.0", 5, 4, false), ("1.2.0", 3, 5, false), ("1.3.0", 5, 5, true), ("2.0.0", 5, 5, false)]
        {
            engine.add_pack(pack(dir.path(), version, max, high, note));
        }
        let lines = |p: &MigrationPreview| -> Vec<String> {
            let mut out = vec![format!("class {}, {} refusal(s)", p.diff.class(), p.refusals.len())];
            out.extend(p.data.iter().map(|d| format!("data {}: {}", d.path, d.message)));
            out.extend(p.incomplete.iter().map(|d| format!("incomplete {}: {}", d.path, d.message)));
            for s in &p.scores {
                let by = |r: &ScoreRun| r.provenance.as_ref().map_or("-".to_string(), |p| p.id.clone());
                out.push(format!("{} by {} then {}", s.output, by(&s.before), by(&s.after)));
                out.extend(s.changed().map(|c| format!("  {}: {:?} → {:?}", c.path, c.before, c.after)));
            }
            out
        };
        let cases: [(&str, &[&str]); 4] = [
            (
                "1.1.0",
                &[
                    "class major, 0 refusal(s)",
                    "levels by t@1.0.0/grade then t@1.1.0/grade",
                    r#"  risks[A].level: Some(String("low")) → Some(String("high"))"#,
                ],
            ),
            (
                "1.2.0",
                &[
                    "class major, 2 refusal(s)",
                    "data register.risks[0].likelihood: likelihood in row 1 of risks is 4, outside 1 to 3",
                    "data register.risks[1].likelihood: likelihood in row 2 of risks is 5, outside 1 to 3",
                    "levels by t@1.0.0/grade then t@1.2.0/grade",
                ],
            ),
            (
                "1.3.0",
                &[
                    "class major, 0 refusal(s)",
                    "incomplete register.note: note is required",
                    "levels by t@1.0.0/grade then t@1.3.0/grade",
                ],
            ),
            ("2.0.0", &["class none, 1 refusal(s)", "levels by t@1.0.0/grade then t@2.0.0/grade"]),
        ];
        for (to, expected) in cases {
            let preview = engine.migration_preview(&plan, &Version::parse(to).expect("version")).expect("preview");
            assert_eq!(lines(&preview), expected, "to {to}");
        }
        assert_eq!(engine.history(&plan, 1, 10).expect("history").len(), 2, "previews record nothing");
    }

    #[test]
    fn score_outputs_are_flattened_by_row_id() {
        let cases = [
            (json!(7), vec![("", json!(7))]),
            (
                json!({"risks": [{"id": "U1", "sum": 3, "band": "green"}, {"id": "U2", "sum": 7, "band": "red"}]}),
                vec![
                    ("risks[U1].band", json!("green")),
                    ("risks[U1].sum", json!(3)),
                    ("risks[U2].band", json!("red")),
                    ("risks[U2].sum", json!(7)),
                ],
            ),
            (
                json!({"degree": 0.5, "by": [1, 2]}),
                vec![("by[0]", json!(1)), ("by[1]", json!(2)), ("degree", json!(0.5))],
            ),
            (json!({"rows": [{"id": 4, "cell": {"row": 1}}]}), vec![("rows[4].cell.row", json!(1))]),
        ];
        for (value, expected) in cases {
            let mut out = Vec::new();
            leaves(&value, String::new(), &mut out);
            let expected: Vec<(String, Value)> = expected.into_iter().map(|(p, v)| (p.to_string(), v)).collect();
            assert_eq!(out, expected, "{value}");
        }
    }

    #[test]
    fn values_are_paired_by_path() {
        let before = json!({"risks": [{"id": "a", "band": "red"}, {"id": "b", "band": "green"}]});
        let after = json!({"risks": [{"id": "a", "band": "amber"}, {"id": "c", "band": "green"}]});
        let lines: Vec<String> = compare_values(Some(&before), Some(&after))
            .iter()
            .map(|v| format!("{}: {:?} → {:?}", v.path, v.before, v.after))
            .collect();
        assert_eq!(
            lines,
            [
                r#"risks[a].band: Some(String("red")) → Some(String("amber"))"#,
                r#"risks[b].band: Some(String("green")) → None"#,
                r#"risks[c].band: None → Some(String("green"))"#,
            ]
        );
    }
}
