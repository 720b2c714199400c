//! Wire types of pack versions: what changed between two versions
//! (`pack diff --json`) and what a migration changes for one plan
//! (`plan migrate --dry-run --json`, recorded in the `@migrated` event).
//! Stable like every wire type: fields may be added, never renamed.

use serde::Serialize;
use serde_json::Value;

use crate::engine::{MigrationPreview, ScoreComparison, ScoreRun, StateShape};
use crate::error::Problem;
use crate::pack::diff::{Change, Class, PackDiff};
use crate::plugin::Provenance;

/// What changed between two versions of a pack, each change classed.
#[derive(Debug, Clone, Serialize)]
pub struct PackDiffView {
    pub pack: String,
    pub from: String,
    pub to: String,
    /// The highest class of any change: `none`, `patch`, `minor` or `major`.
    pub class: &'static str,
    /// How far the version number was raised: `none` (not newer),
    /// `patch`, `minor` or `major`.
    pub bump: &'static str,
    /// The smallest version after `from` that may carry these changes.
    pub required: String,
    /// Whether `to` is numbered high enough for its changes.
    pub enough: bool,
    pub counts: ClassCounts,
    pub changes: Vec<ChangeView>,
}

/// Changes of each class.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ClassCounts {
    pub major: usize,
    pub minor: usize,
    pub patch: usize,
}

/// One change between two versions.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeView {
    /// Where: `forms[register].fields[risks].columns[likelihood].max`.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    /// `patch`, `minor` or `major`.
    pub class: &'static str,
    /// The rule it falls under (the table in `jurisdictions/README.md`).
    pub rule: &'static str,
    /// The rule's reason, in one sentence.
    pub why: &'static str,
}

impl From<&Change> for ChangeView {
    fn from(c: &Change) -> Self {
        ChangeView {
            path: c.path.clone(),
            change: c.kind.name(),
            old: c.old.clone(),
            new: c.new.clone(),
            class: c.class().name(),
            rule: c.rule.id(),
            why: c.rule.why(),
        }
    }
}

impl From<&PackDiff> for PackDiffView {
    fn from(d: &PackDiff) -> Self {
        PackDiffView {
            pack: d.pack.clone(),
            from: d.from.to_string(),
            to: d.to.to_string(),
            class: d.class().name(),
            bump: d.bump().name(),
            required: d.required().to_string(),
            enough: d.enough(),
            counts: ClassCounts {
                major: d.count(Class::Major),
                minor: d.count(Class::Minor),
                patch: d.count(Class::Patch),
            },
            changes: d.changes.iter().map(ChangeView::from).collect(),
        }
    }
}

/// What moving one plan to another version of its pack changes for it.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationPreviewView {
    pub plan: String,
    pub pack: String,
    pub from: String,
    pub to: String,
    /// The class of the versions' differences (`pack diff`).
    pub class: &'static str,
    /// Every change between the two versions.
    pub changes: PackDiffView,
    pub state: StateMappingView,
    /// The plan's data the new version would not accept, by JSON path.
    pub data: Vec<Problem>,
    /// Required values the new version asks for that the plan lacks.
    pub incomplete: Vec<Problem>,
    /// Each of the plan's scores, recomputed on its data by both versions.
    pub scores: Vec<ScoreComparisonView>,
    /// Whether `migrate` moves the plan (false: `refusals` say why not).
    pub allowed: bool,
    pub refusals: Vec<String>,
    /// The same refusals with their message keys and arguments (and a
    /// path for the plan's data), to say them in another language.
    pub refusal_problems: Vec<Problem>,
}

/// The plan's state in both versions.
#[derive(Debug, Clone, Serialize)]
pub struct StateMappingView {
    pub state: String,
    /// Whether the new version has the state.
    pub exists: bool,
    pub before: Option<StateShapeView>,
    pub after: Option<StateShapeView>,
    /// Events that can happen from the state, in each version.
    pub events_before: Vec<String>,
    pub events_after: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StateShapeView {
    /// `step`, `phase` or `final`.
    pub kind: &'static str,
    pub parent: Option<String>,
}

/// One score output, before and after.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreComparisonView {
    pub output: String,
    pub before: ScoreRunView,
    pub after: ScoreRunView,
    /// How many values differ.
    pub changed: usize,
    /// Every value of the output (`risks[U2].level`), before and after.
    pub values: Vec<ScoreValueView>,
}

/// One version's call of the `Score` action that writes the output.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreRunView {
    /// `plugin/entry`; absent when this version computes no such output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The configuration the action applies (scales, bands, weights).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// Why the call gave no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScoreValueView {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub changed: bool,
}

fn shape(s: &StateShape) -> StateShapeView {
    StateShapeView { kind: s.kind, parent: s.parent.clone() }
}

fn run(r: &ScoreRun) -> ScoreRunView {
    ScoreRunView {
        call: r.call.clone(),
        config: r.config.clone(),
        provenance: r.provenance.clone(),
        error: r.error.clone(),
    }
}

impl From<&ScoreComparison> for ScoreComparisonView {
    fn from(s: &ScoreComparison) -> Self {
        ScoreComparisonView {
            output: s.output.clone(),
            before: run(&s.before),
            after: run(&s.after),
            changed: s.changed().count(),
            values: s
                .values
                .iter()
                .map(|v| ScoreValueView {
                    path: v.path.clone(),
                    before: v.before.clone(),
                    after: v.after.clone(),
                    changed: v.before != v.after,
                })
                .collect(),
        }
    }
}

impl From<&MigrationPreview> for MigrationPreviewView {
    fn from(p: &MigrationPreview) -> Self {
        MigrationPreviewView {
            plan: p.plan.clone(),
            pack: p.pack.clone(),
            from: p.from.to_string(),
            to: p.to.to_string(),
            class: p.diff.class().name(),
            changes: PackDiffView::from(&p.diff),
            state: StateMappingView {
                state: p.state.state.clone(),
                exists: p.state.after.is_some(),
                before: p.state.before.as_ref().map(shape),
                after: p.state.after.as_ref().map(shape),
                events_before: p.state.events_before.clone(),
                events_after: p.state.events_after.clone(),
            },
            data: p.data.clone(),
            incomplete: p.incomplete.clone(),
            scores: p.scores.iter().map(ScoreComparisonView::from).collect(),
            allowed: p.refusals.is_empty(),
            refusals: p
                .refusals
                .iter()
                .map(|r| crate::engine::migration_refusal(&p.to.to_string(), r, &|_| None))
                .collect(),
            refusal_problems: p.refusals.clone(),
        }
    }
}
