//! Wire types: what `--json` prints and the HTTP API sends, kept apart from
//! the engine's internal types so that those can change freely.
//!
//! API boundary: these are plain, documented data. They are stable: fields
//! may be added, never renamed or removed, and a field's meaning never
//! changes. Dates are `YYYY-MM-DD`, times RFC 3339 UTC.

mod versions;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::date::Date;
use crate::deadline::{DueItem, Status};
use crate::definition::{FieldDef, FieldKind, Workflow};
use crate::engine::NextEvent;
use crate::error::{EngineError, NotFound, Problem};
use crate::executor::Refusal;
use crate::pack::Pack;
use crate::projection::Plan;
use crate::store::{BrokenLink, Event, Institution, PlanMeta};

pub use versions::{
    ChangeView, ClassCounts, MigrationPreviewView, PackDiffView, ScoreComparisonView, ScoreRunView, ScoreValueView,
    StateMappingView, StateShapeView,
};

/// The body of every error: `{"error": {...}}`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorView,
}

/// An error by meaning: `code` is one of `not_found`, `invalid`,
/// `refused`, `conflict`, `unavailable`, `internal` (plus codes of the
/// layer that sent it, e.g. `unauthorized` over HTTP).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorView {
    pub code: String,
    /// One sentence for a person.
    pub message: String,
    /// Input problems, each with the JSON path of its field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// For a refusal: the guard that said no.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<String>,
    /// For a refusal: its details (what the guard needs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// For `not_found`: what was looked for and what exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_found: Option<NotFound>,
    /// For a refusal by role: the roles that may do it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles_needed: Vec<String>,
}

impl From<&EngineError> for ErrorView {
    fn from(e: &EngineError) -> Self {
        let (guard, refusal) = match e {
            EngineError::Refused(r) => (Some(r.guard().to_string()), Some(r.clone())),
            _ => (None, None),
        };
        let not_found = match e {
            EngineError::NotFound(n) => Some(n.clone()),
            _ => None,
        };
        let message = match e {
            EngineError::Refused(r) => r.to_string(),
            other => other.to_string(),
        };
        let roles_needed = match e {
            EngineError::Refused(Refusal::Role { allowed, .. }) => allowed.clone(),
            _ => Vec::new(),
        };
        ErrorView {
            code: e.code().to_string(),
            message,
            problems: e.problems(),
            guard,
            refusal,
            not_found,
            roles_needed,
        }
    }
}

impl ErrorView {
    /// The error with its sentences in another language: the refusal and
    /// every problem rendered through `translate` (a pack's translator),
    /// English where it has no translation.
    pub fn localized(e: &EngineError, translate: &dyn Fn(&str) -> Option<String>) -> ErrorView {
        let mut view = ErrorView::from(e);
        if let EngineError::Refused(r) = e {
            view.message = r.render(translate);
        }
        for problem in &mut view.problems {
            problem.message = problem.render(translate);
        }
        view
    }

    /// An error of the layer above the engine (HTTP, CLI).
    pub fn new(code: &str, message: impl Into<String>) -> ErrorView {
        ErrorView {
            code: code.into(),
            message: message.into(),
            problems: Vec::new(),
            guard: None,
            refusal: None,
            not_found: None,
            roles_needed: Vec::new(),
        }
    }
}

/// An institution (a tenant).
pub type InstitutionView = Institution;

/// A plan as listed: what it is, without its data.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanSummary {
    pub id: String,
    pub institution: String,
    /// `pack/workflow`.
    pub workflow: String,
    pub pack: String,
    /// The pack version the plan is pinned to (after any migration).
    pub pack_version: String,
    pub created: Date,
}

impl From<&PlanMeta> for PlanSummary {
    fn from(m: &PlanMeta) -> Self {
        PlanSummary {
            id: m.id.clone(),
            institution: m.institution.clone(),
            workflow: m.workflow.clone(),
            pack: m.workflow.split('/').next().unwrap_or_default().to_string(),
            pack_version: m.pack_version.clone(),
            created: m.created,
        }
    }
}

/// The cycle a plan is in.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CycleView {
    pub number: u32,
    pub start: Date,
}

/// A plan at a date: where it is, what is due, what it holds.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanView {
    pub plan: PlanSummary,
    pub state: String,
    pub state_title: String,
    /// The phase the state belongs to, if any.
    pub phase: Option<String>,
    pub phase_title: Option<String>,
    pub cycle: CycleView,
    /// Whether the plan reached a final state.
    pub finished: bool,
    /// The date the view is computed for.
    pub today: Date,
    /// Events the asking role may fire, when a role was given.
    pub next: Vec<NextEventView>,
    /// Upcoming and overdue deadlines.
    pub due: Vec<DueView>,
    /// Form data: `{form: {field: value}}` (answers of anonymous forms are never included).
    pub data: Value,
    /// Plugin results by output name, each with its provenance.
    pub scores: Value,
    /// Documents produced so far: `{id, seq, date}`.
    pub documents: Value,
    /// Number of events in the log.
    pub events: u64,
    /// Whether the law obliges the institution, as checked when the plan
    /// started (`null`: the workflow states no rule, or a fact it needs,
    /// such as the number of employees, is not recorded).
    pub obliged: Option<bool>,
    /// What the plan told its roles (e.g. that the law does not oblige the
    /// institution), oldest first.
    pub notices: Vec<NoticeView>,
}

/// Something a plan told the holders of some roles.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeView {
    pub roles: Vec<String>,
    pub message: String,
    pub date: Date,
    /// The event that gave it.
    pub seq: u64,
}

impl NoticeView {
    /// The notices a plan holds.
    pub fn all(plan: &Plan) -> Vec<NoticeView> {
        plan.notices
            .iter()
            .map(|n| NoticeView { roles: n.roles.clone(), message: n.message.clone(), date: n.date, seq: n.seq })
            .collect()
    }
}

impl PlanView {
    pub fn new(
        plan: &Plan,
        workflow: &Workflow,
        pack: &Pack,
        today: Date,
        next: Vec<NextEventView>,
        due: &[DueItem],
    ) -> Self {
        let labels = pack.labels(pack.source_language());
        let phase = workflow.state(&plan.state).and_then(|s| s.parent.clone());
        let anonymous: Vec<&str> = workflow
            .def()
            .events
            .iter()
            .filter(|e| e.anonymous)
            .flat_map(|e| e.fills.iter().map(String::as_str))
            .collect();
        let data: serde_json::Map<String, Value> = plan
            .data
            .iter()
            .filter(|(form, _)| !anonymous.contains(&form.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        PlanView {
            plan: PlanSummary::from(&plan.meta),
            state_title: labels.get(&format!("state.{}", plan.state)),
            phase_title: phase.as_ref().map(|p| labels.get(&format!("state.{p}"))),
            state: plan.state.clone(),
            phase,
            cycle: CycleView { number: plan.cycle.number, start: plan.cycle.start },
            finished: workflow.is_final(&plan.state),
            today,
            next,
            due: due.iter().map(DueView::from).collect(),
            data: Value::Object(data),
            scores: serde_json::to_value(&plan.scores).unwrap_or_default(),
            documents: serde_json::to_value(&plan.documents).unwrap_or_default(),
            events: plan.seq,
            obliged: plan.obliged,
            notices: NoticeView::all(plan),
        }
    }
}

/// An event a role may fire, and why not yet.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NextEventView {
    pub event: String,
    pub title: String,
    /// True when the event would pass now.
    pub ready: bool,
    /// Why not yet, in one sentence.
    pub refusal: Option<String>,
    /// The guard that would refuse it.
    pub guard: Option<String>,
    /// What is missing, field by field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

impl NextEventView {
    /// The event with why it is not ready in another language (see [`ErrorView::localized`]).
    pub fn localized(next: &NextEvent, workflow: &Workflow, translate: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut view = NextEventView::new(next, workflow);
        view.title = translate(&format!("event.{}", next.event)).unwrap_or(view.title);
        if let Some(r) = &next.refusal {
            view.refusal = Some(r.render(translate));
        }
        for problem in &mut view.problems {
            problem.message = problem.render(translate);
        }
        view
    }

    pub fn new(next: &NextEvent, workflow: &Workflow) -> Self {
        let title = workflow.event(&next.event).map(|e| e.title.clone()).unwrap_or_default();
        NextEventView {
            event: next.event.clone(),
            title,
            ready: next.refusal.is_none(),
            refusal: next.refusal.as_ref().map(ToString::to_string),
            guard: next.refusal.as_ref().map(|r| r.guard().to_string()),
            problems: next.refusal.as_ref().map(Refusal::problems).unwrap_or_default(),
        }
    }
}

/// One occurrence of a deadline.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueView {
    pub deadline: String,
    pub what: String,
    /// The role that must act.
    pub who: String,
    pub due: Date,
    /// `upcoming`, `overdue` or `met`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_late: Option<i64>,
    /// When met: the date it was met on, and whether that was late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late: Option<bool>,
    /// Where the date comes from: an article of the law, or the pack's own reading.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basis: String,
}

impl From<&DueItem> for DueView {
    fn from(item: &DueItem) -> Self {
        let (status, days_left, days_late, on, late) = match item.status {
            Status::Upcoming { days_left } => ("upcoming", Some(days_left), None, None, None),
            Status::Overdue { days_late } => ("overdue", None, Some(days_late), None, None),
            Status::Met { on, late } => ("met", None, None, Some(on), Some(late)),
        };
        DueView {
            deadline: item.deadline.clone(),
            what: item.what.clone(),
            who: item.who.clone(),
            due: item.due,
            status,
            days_left,
            days_late,
            on,
            late,
            basis: item.basis.clone(),
        }
    }
}

/// An entry of a plan's log.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventView {
    pub seq: u64,
    /// The business date the act counts for.
    pub date: Date,
    /// When it was recorded (a date only for anonymous answers).
    pub recorded_at: String,
    pub actor: String,
    pub role: String,
    pub event: String,
    pub from: String,
    pub to: String,
    pub payload: Value,
    /// What the transition did besides moving the plan.
    pub effects: Value,
    /// sha256 of the previous entry's stored bytes.
    pub prev: String,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        EventView {
            seq: e.seq,
            date: e.date,
            recorded_at: e.recorded_at.clone(),
            actor: e.actor.clone(),
            role: e.role.clone(),
            event: e.event.clone(),
            from: e.from.clone(),
            to: e.to.clone(),
            payload: e.payload.clone(),
            effects: serde_json::to_value(&e.effects).unwrap_or_default(),
            prev: e.prev.clone(),
        }
    }
}

/// What firing an event recorded.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FiredView {
    pub event: EventView,
    /// The plan's state after it.
    pub state: String,
}

/// A pack version as listed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackSummary {
    pub id: String,
    pub version: String,
    /// Title in the pack's first language.
    pub title: String,
    pub titles: BTreeMap<String, String>,
    pub languages: Vec<String>,
    /// Plans pinned to this version.
    pub plans: usize,
}

impl PackSummary {
    pub fn new(pack: &Pack, plans: usize) -> Self {
        PackSummary {
            id: pack.id().to_string(),
            version: pack.version().to_string(),
            title: pack.manifest.title.get(pack.source_language()).cloned().unwrap_or_default(),
            titles: pack.manifest.title.clone(),
            languages: pack.manifest.languages.clone(),
            plans,
        }
    }
}

/// Everything a pack offers, for a person starting to use it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackDetail {
    #[serde(flatten)]
    pub summary: PackSummary,
    pub requires: String,
    pub workflows: Vec<WorkflowView>,
    pub documents: Vec<NamedView>,
    pub samples: Vec<SampleView>,
}

/// An id with its title.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamedView {
    pub id: String,
    pub title: String,
}

/// A sample plan a pack ships: `plan new --sample ID` starts a plan from it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SampleView {
    pub id: String,
    pub workflow: String,
    pub event: String,
    pub role: String,
}

/// A workflow: its roles, states, events (with who fires them and what
/// they fill) and forms (with the JSON key of every field).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowView {
    pub id: String,
    pub title: String,
    pub roles: Vec<NamedView>,
    pub states: Vec<NamedView>,
    pub initial: String,
    pub events: Vec<EventDefView>,
    pub forms: Vec<FormView>,
    pub deadlines: Vec<NamedView>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventDefView {
    pub id: String,
    pub title: String,
    /// Forms its payload may carry.
    pub fills: Vec<String>,
    /// Roles that may fire it (from any state).
    pub roles: Vec<String>,
    /// States it can happen in.
    pub from: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FormView {
    pub id: String,
    pub title: String,
    pub fields: Vec<FieldView>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldView {
    /// Its JSON path in a payload: `form.field` (`form.table[].column` for columns).
    pub key: String,
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub required: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// Columns of a table (each a field; a column is never a table).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub columns: Vec<FieldView>,
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::LongText => "long_text",
        FieldKind::Integer => "integer",
        FieldKind::Number => "number",
        FieldKind::Date => "date",
        FieldKind::Bool => "bool",
        FieldKind::Choice => "choice",
        FieldKind::Choices => "choices",
        FieldKind::Table => "table",
    }
}

fn field_view(prefix: &str, field: &FieldDef) -> FieldView {
    let key = format!("{prefix}.{}", field.id);
    FieldView {
        columns: field.columns.iter().map(|c| field_view(&format!("{key}[]"), c)).collect(),
        key,
        id: field.id.clone(),
        title: field.title.clone(),
        kind: kind_name(field.kind),
        required: field.required,
        choices: field.choices.clone(),
    }
}

impl WorkflowView {
    pub fn new(workflow: &Workflow) -> Self {
        let def = workflow.def();
        let named = |id: &str, title: &str| NamedView { id: id.into(), title: title.into() };
        let mut forms: Vec<FormView> = Vec::new();
        for event in &def.events {
            for form_id in &event.fills {
                if forms.iter().any(|f| &f.id == form_id) {
                    continue;
                }
                if let Some(form) = workflow.form(form_id) {
                    forms.push(FormView {
                        id: form.id.clone(),
                        title: form.title.clone(),
                        fields: form.fields.iter().map(|f| field_view(&form.id, f)).collect(),
                    });
                }
            }
        }
        WorkflowView {
            id: def.id.clone(),
            title: def.title.clone(),
            roles: def.roles.iter().map(|r| named(&r.id, &r.title)).collect(),
            states: def.states.iter().map(|s| named(&s.id, &s.title)).collect(),
            initial: def.initial.clone(),
            events: def
                .events
                .iter()
                .map(|e| {
                    let transitions: Vec<_> = def.transitions.iter().filter(|t| t.on == e.id).collect();
                    let mut roles: Vec<String> = transitions.iter().flat_map(|t| t.roles.iter().cloned()).collect();
                    roles.sort();
                    roles.dedup();
                    EventDefView {
                        id: e.id.clone(),
                        title: e.title.clone(),
                        fills: e.fills.clone(),
                        roles,
                        from: transitions.iter().flat_map(|t| t.from.iter().cloned()).collect(),
                    }
                })
                .collect(),
            forms,
            deadlines: def.deadlines.iter().map(|d| named(&d.id, &d.what)).collect(),
        }
    }
}

impl PackDetail {
    pub fn new(pack: &Pack, plans: usize) -> Self {
        let source = pack.source_language();
        PackDetail {
            summary: PackSummary::new(pack, plans),
            requires: pack.manifest.requires.to_string(),
            workflows: pack.workflows.values().map(|w| WorkflowView::new(w)).collect(),
            documents: pack
                .manifest
                .documents
                .iter()
                .map(|d| NamedView { id: d.id.clone(), title: d.title.get(source).cloned().unwrap_or_default() })
                .collect(),
            samples: pack
                .samples
                .values()
                .map(|(d, _)| SampleView {
                    id: d.id.clone(),
                    workflow: d.workflow.clone(),
                    event: d.event.clone(),
                    role: d.role.clone(),
                })
                .collect(),
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyView {
    /// Events in intact chains.
    pub events_checked: u64,
    /// The first broken link of each broken plan (empty when all is intact).
    pub broken: Vec<BrokenLinkView>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokenLinkView {
    pub plan: String,
    pub seq: u64,
    pub reason: String,
}

impl From<&BrokenLink> for BrokenLinkView {
    fn from(b: &BrokenLink) -> Self {
        BrokenLinkView { plan: b.plan.clone(), seq: b.seq, reason: b.reason.clone() }
    }
}
