//! A plan's current state, rebuilt from its event log.
//!
//! Architecture invariant: nothing here is stored; a [`Plan`] is a pure fold
//! of [`Event`]s, so the log alone is the truth and can be audited.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::date::Date;
use crate::definition::Workflow;
use crate::plugin::Provenance;
use crate::store::{Effect, Event, PlanMeta, hash_hex};

/// The cycle a plan is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cycle {
    pub number: u32,
    pub start: Date,
}

/// Scores a plugin computed, with who computed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRecord {
    pub value: Value,
    pub provenance: Provenance,
    pub seq: u64,
    pub date: Date,
    /// The configuration the plugin applied (the pack's scales, bands, weights).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

/// An event as deadlines see it: what happened, when, in which cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Happened {
    pub event: String,
    pub date: Date,
    pub seq: u64,
    /// For each deadline this event meets: the date it counts as met on
    /// (a date in a form when the deadline says so, else the event's) and
    /// the period it is for (when the deadline binds acts to a period).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub meets: Vec<Meeting>,
}

/// How an event meets one deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meeting {
    pub deadline: String,
    pub on: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
}

/// A notice sent to holders of roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub roles: Vec<String>,
    pub message: String,
    pub date: Date,
    pub seq: u64,
}

/// A document produced at a transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub id: String,
    pub seq: u64,
    pub date: Date,
}

/// The projection of one plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub meta: PlanMeta,
    pub state: String,
    pub cycle: Cycle,
    /// Form id → that form's data (a JSON object).
    pub data: Map<String, Value>,
    pub scores: BTreeMap<String, ScoreRecord>,
    /// State id (steps and their phases) → date of the latest entry, this cycle.
    pub entered: HashMap<String, Date>,
    /// State id → date of the first entry, this cycle.
    pub first_entered: HashMap<String, Date>,
    /// Events of the current cycle, oldest first.
    pub happened: Vec<Happened>,
    pub notices: Vec<Notice>,
    pub documents: Vec<DocumentRecord>,
    /// Sequence number of the last event.
    pub seq: u64,
    /// Business date of the last event (the plan's dates never go back).
    pub last_date: Date,
    /// Hash of the last event's stored bytes (the next event's `prev`).
    pub head: String,
    /// Cycles whose anonymous answers were sealed (no more come in).
    pub sealed: Vec<u32>,
    /// Whether the law obliges the institution, as checked at the plan's
    /// start (`None` when the workflow states no rule or it could not be told).
    pub obliged: Option<bool>,
}

impl Plan {
    /// Rebuilds a plan from its log (`raw` are the stored bytes, for the hash).
    pub fn replay(meta: PlanMeta, workflow: &Workflow, events: &[(Event, Vec<u8>)]) -> Option<Plan> {
        let (first, _) = events.first()?;
        let mut plan = Plan {
            meta,
            state: first.to.clone(),
            cycle: Cycle { number: 1, start: first.date },
            data: Map::new(),
            scores: BTreeMap::new(),
            entered: HashMap::new(),
            first_entered: HashMap::new(),
            happened: Vec::new(),
            notices: Vec::new(),
            documents: Vec::new(),
            seq: 0,
            last_date: first.date,
            head: String::new(),
            sealed: Vec::new(),
            obliged: None,
        };
        for (event, raw) in events {
            plan.apply(workflow, event, hash_hex(raw));
        }
        Some(plan)
    }

    /// Folds one event into the plan.
    pub fn apply(&mut self, workflow: &Workflow, event: &Event, hash: String) {
        let def = workflow.event(&event.event);
        if def.is_some_and(|e| e.replaces)
            && let Value::Object(forms) = &event.payload
        {
            // A new act keeps nothing of the previous one's fields.
            for form in forms.keys() {
                self.data.remove(form);
            }
        }
        // Anonymous answers never enter a plan's data (they live apart from
        // the log; a log written before that keeps them out of sight too).
        if !def.is_some_and(|e| e.anonymous) {
            merge_forms(&mut self.data, &event.payload, def.is_some_and(|e| e.append_rows));
        }
        // The event counts in the cycle it happened in, before any effect
        // (such as opening the next cycle) takes hold.
        let meets = crate::deadline::meetings_of(workflow, &event.event, event.date, &self.data);
        self.happened.push(Happened { event: event.event.clone(), date: event.date, seq: event.seq, meets });
        let opens_cycle = event.effects.iter().any(|e| matches!(e, Effect::CycleOpened { .. }));
        for effect in &event.effects {
            self.apply_effect(workflow, effect, event);
        }
        if event.from != event.to || opens_cycle {
            self.enter(workflow, &event.to, event.date);
        }
        self.state = event.to.clone();
        self.seq = event.seq;
        self.last_date = self.last_date.max(event.date);
        self.head = hash;
    }

    fn apply_effect(&mut self, workflow: &Workflow, effect: &Effect, event: &Event) {
        match effect {
            Effect::CycleOpened { number, start } => {
                self.cycle = Cycle { number: *number, start: *start };
                let keep = workflow.def().cycle.as_ref().map(|c| c.carry_forward.clone()).unwrap_or_default();
                self.data.retain(|form, _| keep.contains(form));
                self.scores.clear();
                self.entered.clear();
                self.first_entered.clear();
                self.happened.clear();
            }
            Effect::Document { id } => {
                self.documents.push(DocumentRecord { id: id.clone(), seq: event.seq, date: event.date });
            }
            Effect::Notice { roles, message } => self.notices.push(Notice {
                roles: roles.clone(),
                message: message.clone(),
                date: event.date,
                seq: event.seq,
            }),
            Effect::Scores { output, value, provenance, config } => {
                let record = ScoreRecord {
                    value: value.clone(),
                    provenance: provenance.clone(),
                    seq: event.seq,
                    date: event.date,
                    config: config.clone(),
                };
                self.scores.insert(output.clone(), record);
            }
            Effect::Migrated { to, .. } => self.meta.pack_version = to.clone(),
            Effect::AnswersSealed { cycle, .. } => self.sealed.push(*cycle),
            Effect::Obligation { obliged, .. } => self.obliged = *obliged,
        }
    }

    /// The date no new act may precede, and whether it is the plan's start
    /// (no act recorded yet) rather than a previous act.
    pub fn latest_date(&self) -> Option<(Date, bool)> {
        (self.seq > 0).then_some((self.last_date, self.seq == 1))
    }

    /// Records entry into a step and each phase above it.
    fn enter(&mut self, workflow: &Workflow, state: &str, date: Date) {
        let mut at = Some(state.to_string());
        while let Some(id) = at {
            self.entered.insert(id.clone(), date);
            self.first_entered.entry(id.clone()).or_insert(date);
            at = workflow.state(&id).and_then(|s| s.parent.clone());
        }
    }
}

/// Merges an event payload (`{form: {field: value}}`) into plan data:
/// fields are replaced one by one (with `append`, rows are added to tables
/// instead); `null` clears a field.
pub fn merge_forms(data: &mut Map<String, Value>, payload: &Value, append: bool) {
    let Value::Object(forms) = payload else {
        return;
    };
    for (form, fields) in forms {
        let Value::Object(fields) = fields else {
            continue;
        };
        let target = data.entry(form.clone()).or_insert_with(|| Value::Object(Map::new()));
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        if let Value::Object(target) = target {
            for (field, value) in fields {
                if value.is_null() {
                    target.remove(field);
                } else if let (true, Value::Array(rows), Some(Value::Array(existing))) =
                    (append, value, target.get_mut(field))
                {
                    existing.extend(rows.iter().cloned());
                } else {
                    target.insert(field.clone(), value.clone());
                }
            }
        }
    }
}
