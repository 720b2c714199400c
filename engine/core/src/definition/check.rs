//! Stage two of reading a definition: resolve every reference and collect
//! every problem. A [`Workflow`] exists only if there were no errors.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::{
    Action, Anchor, Condition, DateRef, DeadlineDef, Due, FieldDef, FieldKind, FormDef, MetAt, RowTest, StateDef,
    StateKind, TransitionDef, WorkflowDef,
};
use crate::diagnostic::{Diagnostic, Needle, Severity, Source, did_you_mean};

/// A checked workflow: every id it uses resolves.
#[derive(Debug, Clone)]
pub struct Workflow {
    def: WorkflowDef,
    states: HashMap<String, usize>,
    events: HashMap<String, usize>,
    roles: HashMap<String, usize>,
    forms: HashMap<String, usize>,
    /// (step, event) → index of the transition that handles it.
    moves: HashMap<(String, String), usize>,
}

impl Workflow {
    pub fn def(&self) -> &WorkflowDef {
        &self.def
    }

    pub fn id(&self) -> &str {
        &self.def.id
    }

    pub fn state(&self, id: &str) -> Option<&StateDef> {
        self.states.get(id).map(|&i| &self.def.states[i])
    }

    pub fn form(&self, id: &str) -> Option<&FormDef> {
        self.forms.get(id).map(|&i| &self.def.forms[i])
    }

    pub fn event(&self, id: &str) -> Option<&super::EventDef> {
        self.events.get(id).map(|&i| &self.def.events[i])
    }

    pub fn role(&self, id: &str) -> Option<&super::RoleDef> {
        self.roles.get(id).map(|&i| &self.def.roles[i])
    }

    /// See [`WorkflowDef::anonymous_filler`].
    pub fn anonymous_filler(&self, form: &str) -> Option<&super::EventDef> {
        self.def.anonymous_filler(form)
    }

    /// The transition that handles `event` in step `state`, if any.
    pub fn transition(&self, state: &str, event: &str) -> Option<&TransitionDef> {
        self.moves.get(&(state.to_string(), event.to_string())).map(|&i| &self.def.transitions[i])
    }

    /// Every transition that can fire from step `state`, in definition order.
    pub fn transitions_from(&self, state: &str) -> Vec<&TransitionDef> {
        let mut found: Vec<usize> = self.moves.iter().filter(|((s, _), _)| s == state).map(|(_, &i)| i).collect();
        found.sort_unstable();
        found.into_iter().map(|i| &self.def.transitions[i]).collect()
    }

    pub fn is_final(&self, state: &str) -> bool {
        self.state(state).is_some_and(|s| s.kind == StateKind::Final)
    }

    /// True when `current` is `target` or one of `target`'s steps.
    pub fn is_within(&self, current: &str, target: &str) -> bool {
        let mut at = Some(current);
        while let Some(id) = at {
            if id == target {
                return true;
            }
            at = self.state(id).and_then(|s| s.parent.as_deref());
        }
        false
    }

    /// The field a `form.field` path names.
    pub fn field(&self, path: &str) -> Option<&FieldDef> {
        let (form, field) = path.split_once('.')?;
        self.form(form)?.fields.iter().find(|f| f.id == field)
    }
}

/// Checks a parsed definition; returns the workflow (when there is no
/// error) and every diagnostic, errors and warnings alike.
pub fn check(def: WorkflowDef, source: &Source) -> (Option<Workflow>, Vec<Diagnostic>) {
    check_with_forms(def, source, &[])
}

/// Like [`check`], with forms a pack shares among its workflows (already
/// checked against their own files) added to the workflow's own.
pub fn check_with_forms(
    mut def: WorkflowDef,
    source: &Source,
    shared: &[FormDef],
) -> (Option<Workflow>, Vec<Diagnostic>) {
    let own_forms = def.forms.len();
    def.forms.extend(shared.iter().cloned());
    let mut checker = Checker { def: &def, src: source, out: Vec::new(), own_forms };
    let indices = checker.indices();
    let moves = checker.transitions(&indices);
    checker.reachability(&indices, &moves);
    checker.deadlines(&indices);
    checker.cycle(&indices);
    checker.applies_to();
    checker.usage();
    let mut diagnostics = checker.out;
    diagnostics.sort_by(|a, b| (a.line, a.column, a.code).cmp(&(b.line, b.column, b.code)));
    if diagnostics.iter().any(Diagnostic::is_error) {
        return (None, diagnostics);
    }
    let (states, events, roles, forms) = indices;
    (Some(Workflow { def, states, events, roles, forms, moves }), diagnostics)
}

type Index = HashMap<String, usize>;
type Indices = (Index, Index, Index, Index);

struct Checker<'a> {
    def: &'a WorkflowDef,
    src: &'a Source,
    out: Vec<Diagnostic>,
    /// The first `own_forms` forms are written in this file; the rest are shared by the pack.
    own_forms: usize,
}

/// Checks the forms of a pack's form file (ids, kinds, columns, sections).
pub fn check_forms(forms: &[FormDef], source: &Source) -> Vec<Diagnostic> {
    let def = WorkflowDef {
        id: String::new(),
        title: String::new(),
        description: String::new(),
        roles: Vec::new(),
        forms: forms.to_vec(),
        documents: Vec::new(),
        states: Vec::new(),
        initial: String::new(),
        events: Vec::new(),
        transitions: Vec::new(),
        deadlines: Vec::new(),
        cycle: None,
        applies_to: None,
        single_plan: false,
    };
    let mut checker = Checker { def: &def, src: source, out: Vec::new(), own_forms: forms.len() };
    checker.index("forms", "form", def.forms.iter().map(|f| &f.id));
    for form in &def.forms {
        checker.form(form);
    }
    checker.out
}

impl Checker<'_> {
    fn error(&mut self, code: &'static str, at: &[Needle], element: String, message: String) -> &mut Diagnostic {
        let d = self.src.diagnostic(Severity::Error, code, at, element, message);
        self.out.push(d);
        self.out.last_mut().expect("just pushed")
    }

    fn warning(&mut self, code: &'static str, at: &[Needle], element: String, message: String) {
        let d = self.src.diagnostic(Severity::Warning, code, at, element, message);
        self.out.push(d);
    }

    /// An "unknown X" error with a did-you-mean hint.
    fn unknown<'k>(
        &mut self,
        kind: &str,
        name: &str,
        known: impl IntoIterator<Item = &'k String>,
        at: &[Needle],
        element: String,
    ) {
        let known: Vec<&str> = known.into_iter().map(String::as_str).collect();
        let code = match kind {
            "state" => "E102",
            "event" => "E103",
            "role" => "E104",
            "form" => "E105",
            "document" => "E107",
            "section" => "E121",
            _ => "E106",
        };
        let hint = did_you_mean(name, known.iter().copied())
            .or_else(|| (!known.is_empty()).then(|| format!("the {kind}s are: {}", known.join(", "))));
        let d = self.error(code, at, element, format!("unknown {kind} `{name}`"));
        d.hint = hint;
    }

    fn index<'d>(&mut self, section: &'static str, kind: &str, ids: impl Iterator<Item = &'d String>) -> Index {
        let mut index = Index::new();
        for (i, id) in ids.enumerate() {
            if index.insert(id.clone(), i).is_some() {
                let at = [Needle::Key(section), Needle::Id(id), Needle::Id(id)];
                self.error("E101", &at, format!("{kind} `{id}`"), format!("the {kind} id `{id}` is used twice"));
            }
        }
        index
    }

    fn indices(&mut self) -> Indices {
        let d = self.def;
        let states = self.index("states", "state", d.states.iter().map(|s| &s.id));
        let events = self.index("events", "event", d.events.iter().map(|e| &e.id));
        let roles = self.index("roles", "role", d.roles.iter().map(|r| &r.id));
        let forms = self.index("forms", "form", d.forms.iter().map(|f| &f.id));
        self.index("documents", "document", d.documents.iter());
        self.index("deadlines", "deadline", d.deadlines.iter().map(|x| &x.id));
        for form in &d.forms[..self.own_forms] {
            self.form(form);
        }
        for state in &d.states {
            self.state(state, &states);
        }
        for event in &d.events {
            for form in &event.fills {
                if !forms.contains_key(form) {
                    let at = [Needle::Field("events"), Needle::Id(&event.id), Needle::Quoted(form)];
                    self.unknown("form", form, forms.keys(), &at, format!("event `{}`", event.id));
                }
            }
        }
        match states.get(&d.initial).map(|&i| d.states[i].kind) {
            None => self.unknown("state", &d.initial, states.keys(), &[Needle::Field("initial")], "initial".into()),
            Some(StateKind::Step) => {}
            Some(_) => {
                let msg = format!("the initial state `{}` must be a step (not a phase or a final state)", d.initial);
                self.error("E111", &[Needle::Field("initial")], "initial".into(), msg);
            }
        }
        (states, events, roles, forms)
    }

    fn form(&mut self, form: &FormDef) {
        let mut seen = HashSet::new();
        for field in &form.fields {
            let at = [Needle::Key("forms"), Needle::Id(&form.id), Needle::Field("fields"), Needle::Id(&field.id)];
            let element = format!("form `{}` field `{}`", form.id, field.id);
            // A field, or a table column (a register's column groups), names a section of its form.
            let named = field.section.iter().map(|s| (s, element.clone())).chain(
                field
                    .columns
                    .iter()
                    .filter_map(|c| c.section.as_ref().map(|s| (s, format!("{element} column `{}`", c.id)))),
            );
            for (section, element) in named.collect::<Vec<_>>() {
                if !form.sections.iter().any(|s| &s.id == section) {
                    let sections: Vec<String> = form.sections.iter().map(|s| s.id.clone()).collect();
                    self.unknown("section", section, sections.iter(), &at, element);
                }
            }
            if !seen.insert(&field.id) {
                self.error("E101", &at, element.clone(), format!("the field id `{}` is used twice", field.id));
            }
            self.field(field, &at, &element, true);
        }
    }

    fn field(&mut self, field: &FieldDef, at: &[Needle], element: &str, top_level: bool) {
        let kind = field.kind;
        let problem = |this: &mut Self, msg: String| {
            this.error("E114", at, element.to_string(), msg);
        };
        let is_choice = matches!(kind, FieldKind::Choice | FieldKind::Choices);
        if is_choice && field.choices.is_empty() {
            problem(self, "a Choice field needs a list of `choices`".into());
        }
        if !is_choice && !field.choices.is_empty() {
            problem(self, format!("`choices` only apply to Choice fields, not {kind:?}"));
        }
        if kind == FieldKind::Table {
            if !top_level {
                problem(self, "a table cannot be a column of another table".into());
            }
            if field.columns.is_empty() {
                problem(self, "a Table field needs `columns`".into());
            }
            let mut seen = HashSet::new();
            for column in &field.columns {
                let element = format!("{element} column `{}`", column.id);
                if !seen.insert(&column.id) {
                    problem(self, format!("the column id `{}` is used twice", column.id));
                }
                let mut here = at.to_vec();
                here.extend([Needle::Field("columns"), Needle::Id(&column.id)]);
                self.field(column, &here, &element, false);
            }
        } else if !field.columns.is_empty() || field.min_rows.is_some() || field.max_rows.is_some() {
            problem(self, "`columns`, `min_rows` and `max_rows` only apply to Table fields".into());
        }
        if field.max_length.is_some() && !matches!(kind, FieldKind::Text | FieldKind::LongText) {
            problem(self, "`max_length` only applies to Text and LongText fields".into());
        }
        if field.max_length == Some(0) || field.max_rows == Some(0) {
            problem(self, "`max_length` and `max_rows` must be at least 1".into());
        }
        let numeric = matches!(kind, FieldKind::Integer | FieldKind::Number);
        if !numeric && (field.min.is_some() || field.max.is_some()) {
            problem(self, "`min` and `max` only apply to Integer and Number fields".into());
        }
        if let (Some(min), Some(max)) = (field.min, field.max)
            && min > max
        {
            problem(self, format!("`min` {min} is larger than `max` {max}"));
        }
    }

    fn state(&mut self, state: &StateDef, states: &Index) {
        let Some(parent) = &state.parent else { return };
        let at = [Needle::Field("states"), Needle::Id(&state.id), Needle::Key("parent")];
        let element = format!("state `{}`", state.id);
        match states.get(parent).map(|&i| &self.def.states[i]) {
            None => self.unknown("state", parent, states.keys(), &at, element),
            Some(p) if p.kind != StateKind::Phase => {
                let msg = format!("its parent `{parent}` is not a Phase; only phases group steps");
                self.error("E115", &at, element, msg);
            }
            Some(_) if state.kind == StateKind::Phase => {
                self.error("E115", &at, element, "phases cannot be nested inside phases".into());
            }
            Some(_) => {}
        }
    }

    /// Every step a `from` name covers: the step itself, or a phase's steps.
    fn expand(&self, name: &str) -> Vec<String> {
        let d = self.def;
        match d.states.iter().find(|s| s.id == name) {
            Some(s) if s.kind == StateKind::Phase => d
                .states
                .iter()
                .filter(|c| c.parent.as_deref() == Some(name) && c.kind == StateKind::Step)
                .map(|c| c.id.clone())
                .collect(),
            Some(s) => vec![s.id.clone()],
            None => Vec::new(),
        }
    }

    fn transitions(&mut self, idx: &Indices) -> HashMap<(String, String), usize> {
        let (states, events, roles, forms) = idx;
        let mut moves: HashMap<(String, String), usize> = HashMap::new();
        for (i, t) in self.def.transitions.iter().enumerate() {
            let element = format!("transition {} (on `{}`)", i + 1, t.on);
            let here = |value: &'static str| [Needle::Field("transitions"), Needle::Item(i), Needle::Field(value)];
            if !events.contains_key(&t.on) {
                self.unknown("event", &t.on, events.keys(), &in_field(i, "on", &t.on), element.clone());
            }
            if t.from.is_empty() {
                self.error("E116", &here("from"), element.clone(), "`from` names no state".into());
            }
            for from in &t.from {
                match states.get(from).map(|&s| self.def.states[s].kind) {
                    None => self.unknown("state", from, states.keys(), &in_field(i, "from", from), element.clone()),
                    Some(StateKind::Final) => {
                        let msg = format!("`{from}` is a final state: nothing can happen after it");
                        self.error("E116", &in_field(i, "from", from), element.clone(), msg);
                    }
                    Some(_) => {}
                }
                for step in self.expand(from) {
                    if let Some(&other) = moves.get(&(step.clone(), t.on.clone())) {
                        let msg = format!(
                            "in `{step}`, `{}` is already handled by transition {}; one event may lead to one place",
                            t.on,
                            other + 1
                        );
                        self.error("E110", &in_field(i, "from", from), element.clone(), msg);
                    } else {
                        moves.insert((step, t.on.clone()), i);
                    }
                }
            }
            if let Some(to) = &t.to {
                match states.get(to).map(|&s| self.def.states[s].kind) {
                    None => self.unknown("state", to, states.keys(), &in_field(i, "to", to), element.clone()),
                    Some(StateKind::Phase) => {
                        let msg = format!("`{to}` is a phase; a transition must lead to one of its steps");
                        self.error("E116", &in_field(i, "to", to), element.clone(), msg);
                    }
                    Some(_) => {}
                }
            }
            if t.roles.is_empty() {
                let msg = "`roles` is empty: nobody could fire this transition".into();
                self.error("E117", &here("roles"), element.clone(), msg);
            }
            for role in &t.roles {
                match roles.get(role).map(|&r| &self.def.roles[r]) {
                    None => self.unknown("role", role, roles.keys(), &in_field(i, "roles", role), element.clone()),
                    Some(r) if r.read_only => {
                        let msg = format!("role `{role}` is read-only (oversight) and cannot fire events");
                        self.error("E117", &in_field(i, "roles", role), element.clone(), msg);
                    }
                    Some(_) => {}
                }
            }
            for form in &t.forms_complete {
                if !forms.contains_key(form) {
                    self.unknown("form", form, forms.keys(), &in_field(i, "forms_complete", form), element.clone());
                }
            }
            for (j, condition) in t.conditions.iter().enumerate() {
                let at =
                    vec![Needle::Field("transitions"), Needle::Item(i), Needle::Field("conditions"), Needle::Item(j)];
                self.condition(condition, &element, &at);
            }
            if let Some(guard) = &t.plugin {
                for form in &guard.forms {
                    if !forms.contains_key(form) {
                        self.unknown("form", form, forms.keys(), &in_field(i, "plugin", form), element.clone());
                    }
                }
            }
            for action in &t.actions {
                self.action(action, t, &element, i, idx);
            }
        }
        moves
    }

    /// Checks a condition written at `place` (the needles to it).
    fn condition(&mut self, condition: &Condition, element: &str, place: &[Needle]) {
        let at = |v| {
            let mut needles = place.to_vec();
            needles.push(Needle::Quoted(v));
            needles
        };
        let inner = |field: &'static str, k: Option<usize>| {
            let mut needles = place.to_vec();
            needles.push(Needle::Field(field));
            if let Some(k) = k {
                needles.push(Needle::Item(k));
            }
            needles
        };
        use FieldKind as K;
        let (path, column, wanted): (&String, Option<&String>, &[FieldKind]) = match condition {
            Condition::Any(list) | Condition::All(list) => {
                for (k, c) in list.iter().enumerate() {
                    let mut inner = place.to_vec();
                    inner.extend([Needle::Item(0), Needle::Item(k)]);
                    self.condition(c, element, &inner);
                }
                return;
            }
            Condition::If { when, then } => {
                self.condition(when, element, &[place, &[Needle::Field("when")]].concat());
                self.condition(then, element, &[place, &[Needle::Field("then")]].concat());
                return;
            }
            Condition::Count { path, min, max, .. } => {
                self.bounds(min.map(|v| v as f64), max.map(|v| v as f64), &at(path), element);
                (path, None, &[K::Table, K::Choices])
            }
            Condition::CountWhere { path, column, min, max, .. }
            | Condition::Distinct { path, column, min, max, .. } => {
                self.bounds(min.map(|v| v as f64), max.map(|v| v as f64), &at(path), element);
                (path, Some(column), &[K::Table])
            }
            Condition::Range { path, column, min, max, .. } => {
                self.bounds(*min, *max, &at(path), element);
                let kinds: &[FieldKind] = if column.is_some() { &[K::Table] } else { &[K::Integer, K::Number] };
                (path, column.as_ref(), kinds)
            }
            Condition::Date { path, not_before, not_after, after, before, .. } => {
                for r in [not_before, not_after, after, before].into_iter().flatten() {
                    self.date_ref(r, None, &at(path), element);
                }
                (path, None, &[K::Date])
            }
            Condition::Equals { path, .. } | Condition::Filled { path, .. } => (path, None, &[]),
            Condition::SameAs { path, other, .. } => {
                self.path(other, None, &[], &at(other), element);
                (path, None, &[])
            }
            Condition::Rows { path, filter, require, .. } => {
                self.table(path, &[], &at(path), element);
                for (k, test) in filter.iter().chain(require).enumerate() {
                    self.row_test(
                        test,
                        path,
                        &inner(if k == 0 && filter.is_some() { "where" } else { "require" }, None),
                        element,
                    );
                }
                return;
            }
            Condition::Covered { path, column, by, by_column, filter, .. } => {
                self.table(path, &[column], &at(path), element);
                self.table(by, &[by_column], &at(by), element);
                if let Some(test) = filter {
                    self.row_test(test, path, &at(path), element);
                }
                return;
            }
            Condition::Unique { path, column, .. } => {
                self.table(path, &[column], &at(path), element);
                return;
            }
            Condition::References { path, column, into, into_column, .. } => {
                self.table(path, &[column], &at(path), element);
                self.table(into, &[into_column], &at(into), element);
                return;
            }
            Condition::Cycle { every: Some(0), .. } => {
                self.error("E119", place, element.to_string(), "`every` must be at least 1".into());
                return;
            }
            Condition::Cycle { .. } => return,
            Condition::Institution { attribute, min, max, .. } => {
                self.bounds(*min, *max, &at(attribute), element);
                if !INSTITUTION_ATTRIBUTES.contains(&attribute.as_str()) {
                    let msg = format!("institutions have no attribute `{attribute}`");
                    let d = self.error("E122", &at(attribute), element.to_string(), msg);
                    d.hint = did_you_mean(attribute, INSTITUTION_ATTRIBUTES.iter().copied())
                        .or_else(|| Some(format!("the attributes are: {}", INSTITUTION_ATTRIBUTES.join(", "))));
                }
                return;
            }
        };
        self.path(path, column, wanted, &at(path), element);
        if let (Condition::Range { column: Some(column), .. }, Some(field)) = (condition, self.field_of(path))
            && let Some(c) = field.columns.iter().find(|c| &c.id == column)
            && !matches!(c.kind, K::Integer | K::Number)
        {
            let msg = format!("`Range` needs a number column, but `{path}.{column}` is {:?}", c.kind);
            self.error("E118", &at(path), element.to_string(), msg);
        }
    }

    /// A table conditions read: a `Table` field with these columns, or a
    /// plugin's output (`scores.<output>.<list>`, checked by output name).
    fn table(&mut self, path: &str, columns: &[&String], at: &[Needle], element: &str) {
        if let Some(rest) = path.strip_prefix("scores.") {
            let output = rest.split('.').next().unwrap_or_default();
            let outputs: Vec<String> = self
                .def
                .transitions
                .iter()
                .flat_map(|t| &t.actions)
                .filter_map(|a| match a {
                    Action::Score { output, .. } => Some(output.clone()),
                    _ => None,
                })
                .collect();
            if !outputs.iter().any(|o| o == output) {
                let msg = format!("no `Score` action of this workflow has the output `{output}`");
                self.error("E123", at, element.to_string(), msg).hint =
                    did_you_mean(output, outputs.iter().map(String::as_str));
            }
            return;
        }
        self.path(path, None, &[FieldKind::Table], at, element);
        for column in columns {
            self.column(path, column, &[], at, element);
        }
    }

    /// A column of the table at `path` exists (and is of a wanted kind).
    fn column(&mut self, path: &str, column: &str, wanted: &[FieldKind], at: &[Needle], element: &str) {
        if path.starts_with("scores.") {
            return;
        }
        let Some(field) = self.field_of(path) else { return };
        match field.columns.iter().find(|c| c.id == column) {
            None => {
                let columns: Vec<String> = field.columns.iter().map(|c| c.id.clone()).collect();
                let msg = format!("the table `{path}` has no column `{column}`");
                self.error("E106", at, element.to_string(), msg).hint =
                    did_you_mean(column, columns.iter().map(String::as_str));
            }
            Some(c) if !wanted.is_empty() && !wanted.contains(&c.kind) => {
                let names: Vec<String> = wanted.iter().map(|k| format!("{k:?}")).collect();
                let msg = format!("`{path}.{column}` is a {:?} column; this needs {}", c.kind, names.join(" or "));
                self.error("E118", at, element.to_string(), msg);
            }
            Some(_) => {}
        }
    }

    /// Checks a row test of the table at `path`.
    fn row_test(&mut self, test: &RowTest, path: &str, at: &[Needle], element: &str) {
        use FieldKind as K;
        match test {
            RowTest::Filled(column) | RowTest::In { column, .. } => self.column(path, column, &[], at, element),
            RowTest::Date { column, not_before, not_after, after, before } => {
                self.column(path, column, &[K::Date], at, element);
                for r in [not_before, not_after, after, before].into_iter().flatten() {
                    self.date_ref(r, Some(path), at, element);
                }
            }
            RowTest::When { date, not_before, not_after, after, before } => {
                for r in [Some(date), not_before.as_ref(), not_after.as_ref(), after.as_ref(), before.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    self.date_ref(r, Some(path), at, element);
                }
            }
            RowTest::Range { column, min, max } => {
                self.bounds(*min, *max, at, element);
                self.column(path, column, &[K::Integer, K::Number], at, element);
            }
            RowTest::Highest { column, from, key, match_column, value, order } => {
                self.column(path, column, &[], at, element);
                self.column(path, key, &[], at, element);
                let columns = [match_column, value];
                self.table(from, &columns, at, element);
                if order.is_empty() {
                    self.error(
                        "E123",
                        at,
                        element.to_string(),
                        "`Highest` needs an `order` of the values, lowest first".into(),
                    );
                }
            }
            RowTest::Any(list) | RowTest::All(list) => list.iter().for_each(|t| self.row_test(t, path, at, element)),
            RowTest::Not(inner) => self.row_test(inner, path, at, element),
        }
    }

    /// Checks a reference date; `row` is the table when it is read in a row test.
    fn date_ref(&mut self, r: &DateRef, row: Option<&str>, at: &[Needle], element: &str) {
        use FieldKind as K;
        match (r, row) {
            (DateRef::Field(other), _) => self.path(other, None, &[K::Date], at, element),
            (DateRef::YearAfter(other), _) => self.path(other, None, &[K::Integer], at, element),
            (DateRef::Deadline(id), _) => {
                if !self.def.deadlines.iter().any(|d| &d.id == id) {
                    let ids: Vec<String> = self.def.deadlines.iter().map(|d| d.id.clone()).collect();
                    self.unknown("deadline", id, ids.iter(), at, element.to_string());
                }
            }
            (DateRef::Column(column), Some(table)) => self.column(table, column, &[K::Date], at, element),
            (DateRef::Lookup { table, key, column }, Some(row)) => {
                self.column(row, key, &[], at, element);
                let columns = [key, column];
                self.table(table, &columns, at, element);
            }
            (DateRef::Column(_) | DateRef::Lookup { .. }, None) => {
                let msg =
                    "`Column` and `Lookup` dates name a row, so they only work in a row test (`Rows`)".to_string();
                self.error("E123", at, element.to_string(), msg);
            }
            (DateRef::Today | DateRef::CycleStart | DateRef::Fixed(_), _) => {}
        }
    }

    fn bounds(&mut self, min: Option<f64>, max: Option<f64>, at: &[Needle], element: &str) {
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            self.error("E119", at, element.to_string(), format!("`min` {min} is larger than `max` {max}"));
        }
    }

    fn field_of(&self, path: &str) -> Option<&FieldDef> {
        let (form, field) = path.split_once('.')?;
        self.def.forms.iter().find(|f| f.id == form)?.fields.iter().find(|f| f.id == field)
    }

    /// Checks that `path` (`form.field`) names a field of one of the kinds
    /// wanted (any kind when `wanted` is empty), and `column` one of its columns.
    fn path(&mut self, path: &str, column: Option<&String>, wanted: &[FieldKind], at: &[Needle], element: &str) {
        let element = element.to_string();
        let Some((form_id, field_id)) = path.split_once('.') else {
            let msg = format!("`{path}` should name a form and one of its fields, as `form.field`");
            self.error("E106", at, element, msg);
            return;
        };
        let Some(form) = self.def.forms.iter().find(|f| f.id == form_id) else {
            let forms: Vec<String> = self.def.forms.iter().map(|f| f.id.clone()).collect();
            self.unknown("form", form_id, forms.iter(), at, element);
            return;
        };
        let Some(field) = form.fields.iter().find(|f| f.id == field_id) else {
            let fields: Vec<String> = form.fields.iter().map(|f| f.id.clone()).collect();
            let msg = format!("no form defines the field `{path}`: form `{form_id}` has no field `{field_id}`");
            let d = self.error("E106", at, element, msg);
            d.hint = did_you_mean(field_id, fields.iter().map(String::as_str));
            return;
        };
        if !wanted.is_empty() && !wanted.contains(&field.kind) {
            let names: Vec<String> = wanted.iter().map(|k| format!("{k:?}")).collect();
            let msg = format!("`{path}` is a {:?} field; this condition needs {}", field.kind, names.join(" or "));
            self.error("E118", at, element.clone(), msg);
        }
        if let Some(column) = column
            && !field.columns.iter().any(|c| &c.id == column)
        {
            let columns: Vec<String> = field.columns.iter().map(|c| c.id.clone()).collect();
            let msg = format!("the table `{path}` has no column `{column}`");
            let d = self.error("E106", at, element, msg);
            d.hint = did_you_mean(column, columns.iter().map(String::as_str));
        }
    }

    fn action(&mut self, action: &Action, t: &TransitionDef, element: &str, i: usize, idx: &Indices) {
        let (_, _, roles, _) = idx;
        let at = |v| in_transition(i, v);
        match action {
            Action::Render(doc) => {
                if !self.def.documents.contains(doc) {
                    self.unknown("document", doc, self.def.documents.iter(), &at(doc), element.to_string());
                }
            }
            Action::Score { input, config, .. } => {
                self.path(input, None, &[FieldKind::Table], &at(input), element);
                // Anonymous answers may leave only as aggregates: the plugin must be told the smallest group it may show.
                let form = input.split('.').next().unwrap_or_default();
                let anonymous = self.def.anonymous_filler(form).is_some();
                let min = config.as_ref().and_then(|c| c.get("min_group_size")).and_then(serde_json::Value::as_u64);
                if anonymous && min.is_none_or(|m| m < 2) {
                    let msg = format!(
                        "`{input}` holds anonymous answers: its `Score` must set `min_group_size` (2 or more) in its config, so that no smaller group is shown"
                    );
                    self.error("E124", &at(input), element.to_string(), msg);
                }
            }
            Action::OpenNextCycle => match &self.def.cycle {
                None => {
                    let msg = "`OpenNextCycle` needs a `cycle:` section saying how cycles repeat".into();
                    self.error("E112", &at(&t.on), element.to_string(), msg);
                }
                Some(cycle) if t.to.as_ref() != Some(&cycle.restart_at) => {
                    let msg = format!(
                        "a transition that opens the next cycle must lead to the cycle's `restart_at` step `{}`",
                        cycle.restart_at
                    );
                    self.error("E112", &at(&t.on), element.to_string(), msg);
                }
                Some(_) => {}
            },
            Action::Notify { roles: to, .. } => {
                for role in to {
                    if !roles.contains_key(role) {
                        self.unknown("role", role, roles.keys(), &at(role), element.to_string());
                    }
                }
            }
        }
    }

    fn reachability(&mut self, idx: &Indices, moves: &HashMap<(String, String), usize>) {
        let (states, _, _, _) = idx;
        let d = self.def;
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue: VecDeque<&str> = VecDeque::new();
        if states.contains_key(&d.initial) {
            queue.push_back(&d.initial);
        }
        while let Some(state) = queue.pop_front() {
            if !seen.insert(state) {
                continue;
            }
            for ((from, _), &t) in moves {
                if from == state
                    && let Some(to) = &d.transitions[t].to
                {
                    queue.push_back(to);
                }
            }
        }
        for s in &d.states {
            let at = [Needle::Field("states"), Needle::Id(&s.id)];
            let element = format!("state `{}`", s.id);
            let reachable = match s.kind {
                StateKind::Phase => {
                    d.states.iter().any(|c| c.parent.as_ref() == Some(&s.id) && seen.contains(c.id.as_str()))
                }
                _ => seen.contains(s.id.as_str()),
            };
            if !reachable && !seen.is_empty() {
                let msg = "no sequence of transitions from the initial state reaches this state".into();
                self.error("E108", &at, element.clone(), msg);
            }
            let leaves = s.kind == StateKind::Step
                && !moves
                    .iter()
                    .any(|((from, _), &t)| from == &s.id && d.transitions[t].to.as_ref().is_some_and(|to| to != &s.id));
            if leaves {
                let msg = "a plan in this step could never leave it: no transition leads out".into();
                let e = self.error("E109", &at, element, msg);
                e.hint = Some("add a transition from it, or make it `kind: Final`".into());
            }
        }
    }

    fn deadlines(&mut self, idx: &Indices) {
        let (states, events, roles, _) = idx;
        for dl in &self.def.deadlines {
            let element = format!("deadline `{}`", dl.id);
            let at = |v| in_deadline(&dl.id, v);
            if !roles.contains_key(&dl.who) {
                self.unknown("role", &dl.who, roles.keys(), &at(&dl.who), element.clone());
            }
            if dl.met_by.is_empty() {
                let at = [Needle::Field("deadlines"), Needle::Id(&dl.id)];
                self.error("E120", &at, element.clone(), "`met_by` names no event: nothing could meet it".into());
            }
            for event in &dl.met_by {
                if !events.contains_key(event) {
                    self.unknown("event", event, events.keys(), &at(event), element.clone());
                }
            }
            let mut named: Vec<&String> = dl.active_in.iter().collect();
            self.deadline_sources(dl, &element);
            match &dl.due {
                Due::FromEntry { state, .. }
                | Due::EveryYears { from: Anchor::Entry(state), .. }
                | Due::Yearly { from: Some(Anchor::Entry(state)), .. } => named.push(state),
                Due::Yearly { every: Some(0), .. } => {
                    let at = [Needle::Field("deadlines"), Needle::Id(&dl.id), Needle::Field("due")];
                    self.error("E120", &at, element.clone(), "`every` must be at least 1".into());
                }
                Due::Yearly { month, day, .. } if crate::date::Date::new(2023, *month, *day).is_none() => {
                    let at = [Needle::Field("deadlines"), Needle::Id(&dl.id), Needle::Field("due")];
                    let (msg, hint) = if (*month, *day) == (2, 29) {
                        (
                            "February 29 exists only in leap years: a yearly deadline on it would fall due one year in four".to_string(),
                            Some("use February 28 or March 1".to_string()),
                        )
                    } else {
                        (format!("month {month}, day {day} is not a day of the year"), None)
                    };
                    self.error("E120", &at, element.clone(), msg).hint = hint;
                }
                Due::EveryYears { years: 0, .. } => {
                    let at = [Needle::Field("deadlines"), Needle::Id(&dl.id), Needle::Field("due")];
                    self.error("E120", &at, element.clone(), "`years` must be at least 1".into());
                }
                _ => {}
            }
            for state in named {
                if !states.contains_key(state) {
                    self.unknown("state", state, states.keys(), &at(state), element.clone());
                }
            }
        }
    }

    /// The fields and tables a deadline reads its dates from.
    fn deadline_sources(&mut self, dl: &DeadlineDef, element: &str) {
        use FieldKind as K;
        let at = [Needle::Field("deadlines"), Needle::Id(&dl.id)];
        match &dl.due {
            Due::Field(path)
            | Due::EveryYears { from: Anchor::Field(path), .. }
            | Due::Yearly { from: Some(Anchor::Field(path)), .. } => self.path(path, None, &[K::Date], &at, element),
            Due::Rows { path, key, date, year } => {
                self.table(path, &[key], &at, element);
                self.column(path, date, &[K::Date], &at, element);
                if let Some(year) = year {
                    self.column(path, year, &[K::Integer], &at, element);
                }
            }
            _ => {}
        }
        match &dl.met_at {
            Some(MetAt::Field(path)) => self.path(path, None, &[K::Date], &at, element),
            Some(MetAt::Latest(paths)) => paths.iter().for_each(|p| self.path(p, None, &[K::Date], &at, element)),
            Some(MetAt::AllRows { path, status, date, .. }) => {
                self.table(path, &[status], &at, element);
                self.column(path, date, &[K::Date], &at, element);
            }
            Some(MetAt::Row { path, key, status, date, .. }) => {
                if !matches!(dl.due, Due::Rows { .. }) {
                    let msg = "`met_at: Row(...)` meets one row's occurrence, so it needs `due: Rows(...)`".to_string();
                    self.error("E123", &at, element.to_string(), msg);
                }
                self.table(path, &[key, status], &at, element);
                self.column(path, date, &[K::Date], &at, element);
            }
            None => {}
        }
        if let Some(period) = &dl.period {
            if !matches!(dl.due, Due::Yearly { .. }) {
                let msg = "`period` binds each year's act to its year, so it needs `due: Yearly(...)`".to_string();
                self.error("E123", &at, element.to_string(), msg);
            }
            self.path(&period.field, None, &[K::Integer], &at, element);
        }
    }

    /// The conditions of `applies_to` read the institution only.
    fn applies_to(&mut self) {
        let Some(applies) = &self.def.applies_to else { return };
        for (k, condition) in applies.conditions.iter().enumerate() {
            let place = [Needle::Field("applies_to"), Needle::Field("conditions"), Needle::Item(k)];
            if !matches!(condition, Condition::Institution { .. }) {
                let msg = "`applies_to` is checked when a plan starts, before any form is filled: use `Institution(...)` conditions".to_string();
                self.error("E123", &place, "applies_to".into(), msg);
            }
            self.condition(condition, "applies_to", &place);
        }
    }

    fn cycle(&mut self, idx: &Indices) {
        let (states, _, _, forms) = idx;
        let Some(cycle) = &self.def.cycle else { return };
        let element = "cycle".to_string();
        let at = |v| vec![Needle::Field("cycle"), Needle::Quoted(v)];
        if cycle.every_years == 0 {
            self.error("E112", &[Needle::Field("cycle")], element.clone(), "`every_years` must be at least 1".into());
        }
        match states.get(&cycle.restart_at).map(|&s| self.def.states[s].kind) {
            None => self.unknown("state", &cycle.restart_at, states.keys(), &at(&cycle.restart_at), element.clone()),
            Some(StateKind::Step) => {}
            Some(_) => {
                let msg = format!("`restart_at` must be a step; `{}` is not", cycle.restart_at);
                self.error("E112", &at(&cycle.restart_at), element.clone(), msg);
            }
        }
        for form in &cycle.carry_forward {
            if !forms.contains_key(form) {
                self.unknown("form", form, forms.keys(), &at(form), element.clone());
            }
        }
    }

    /// Things defined but never used: likely mistakes, so warnings.
    fn usage(&mut self) {
        let d = self.def;
        let used_events: BTreeSet<&str> = d.transitions.iter().map(|t| t.on.as_str()).collect();
        for e in &d.events {
            if !used_events.contains(e.id.as_str()) {
                let at = [Needle::Field("events"), Needle::Id(&e.id)];
                self.warning("W201", &at, format!("event `{}`", e.id), "no transition handles this event".into());
            }
        }
        let filled: BTreeSet<&str> = d.events.iter().flat_map(|e| e.fills.iter().map(String::as_str)).collect();
        for f in &d.forms[..self.own_forms] {
            if !filled.contains(f.id.as_str()) {
                let at = [Needle::Key("forms"), Needle::Id(&f.id)];
                let msg = "no event fills this form, so it can never hold data".into();
                self.error("E113", &at, format!("form `{}`", f.id), msg).hint =
                    Some(format!("add `fills: [\"{}\"]` to the event that submits it", f.id));
            }
        }
    }
}

/// What conditions may read of an institution (`Institution(attribute: ...)`).
pub const INSTITUTION_ATTRIBUTES: &[&str] = &[
    "id",
    "name",
    "kind",
    "employees",
    "jurisdiction",
    "timezone",
    "parent.id",
    "parent.name",
    "parent.kind",
    "parent.employees",
];

/// Where a value used by the `i`-th transition is written.
fn in_transition(i: usize, value: &str) -> Vec<Needle<'_>> {
    vec![Needle::Field("transitions"), Needle::Item(i), Needle::Quoted(value)]
}

/// Where a value of field `name` of the `i`-th transition is written.
fn in_field<'a>(i: usize, name: &'static str, value: &'a str) -> Vec<Needle<'a>> {
    vec![Needle::Field("transitions"), Needle::Item(i), Needle::Field(name), Needle::Quoted(value)]
}

/// Where a value used by a deadline is written.
fn in_deadline<'a>(id: &'a str, value: &'a str) -> Vec<Needle<'a>> {
    vec![Needle::Field("deadlines"), Needle::Id(id), Needle::Quoted(value)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::parse::parse_ron;

    const BASE: &str = r#"Workflow(
    id: "t",
    roles: [Role(id: "head"), Role(id: "agency", read_only: true)],
    forms: [Form(id: "group", fields: [
        Field(id: "members", kind: Table, columns: [Field(id: "name", kind: Text)]),
    ])],
    states: [
        State(id: "prep", kind: Phase),
        State(id: "a", parent: "prep"),
        State(id: "b", parent: "prep"),
        State(id: "done", kind: Final),
    ],
    initial: "a",
    events: [Event(id: "go", fills: ["group"]), Event(id: "finish")],
    transitions: [
        Transition(from: ["a"], on: "go", to: "b", roles: ["head"],
            conditions: [Count(path: "group.members", min: 3, max: 7)]),
        Transition(from: ["prep"], on: "finish", to: "done", roles: ["head"]),
    ],
)"#;

    fn diagnostics(text: &str) -> Vec<Diagnostic> {
        let src = Source::new("w.ron", text);
        let def = parse_ron(&src).expect("parses");
        check(def, &src).1
    }

    fn codes(text: &str) -> Vec<(&'static str, String)> {
        diagnostics(text).into_iter().map(|d| (d.code, d.message)).collect()
    }

    #[test]
    fn a_sound_definition_is_clean_and_resolves_phases() {
        let src = Source::new("w.ron", BASE);
        let (wf, diags) = check(parse_ron(&src).expect("parses"), &src);
        assert!(diags.is_empty(), "{diags:?}");
        let wf = wf.expect("checked");
        assert!(wf.transition("b", "finish").is_some(), "a phase's transition applies to its steps");
        assert!(wf.transition("done", "finish").is_none());
        assert!(wf.is_within("a", "prep") && !wf.is_within("done", "prep"));
    }

    #[test]
    fn reports_every_error_not_just_the_first() {
        let text = BASE
            .replace(r#"to: "b""#, r#"to: "bb""#)
            .replace(
                r#"roles: ["head"],
            conditions"#,
                r#"roles: ["boss"],
            conditions"#,
            )
            .replace("group.members", "group.membrs");
        let found = codes(&text);
        let found_codes: Vec<&str> = found.iter().map(|(c, _)| *c).collect();
        for code in ["E102", "E104", "E106", "E108"] {
            assert!(found_codes.contains(&code), "{code} missing in {found:?}");
        }
    }

    #[test]
    fn scores_over_anonymous_answers_must_name_a_smallest_group() {
        let anonymous = BASE.replace(
            r#"Event(id: "go", fills: ["group"])"#,
            r#"Event(id: "go", fills: ["group"], anonymous: true, append_rows: true)"#,
        );
        let cases = [
            ("", true),
            (r#", config: {"min_group_size": 1}"#, true),
            (r#", config: {"min_group_size": "5"}"#, true),
            (r#", config: {"min_group_size": 5}"#, false),
        ];
        for (config, flagged) in cases {
            let score =
                format!(r#"Score(plugin: "q", entry: "aggregate", input: "group.members", output: "q"{config})"#);
            let text = anonymous.replace(
                r#"on: "finish", to: "done", roles: ["head"]),"#,
                &format!(r#"on: "finish", to: "done", roles: ["head"], actions: [{score}]),"#),
            );
            let found = codes(&text);
            assert_eq!(found.iter().any(|(c, _)| *c == "E124"), flagged, "{config}: {found:?}");
        }
        // The same score over a form no anonymous event fills needs no minimum.
        let named = BASE.replace(
            r#"on: "finish", to: "done", roles: ["head"]),"#,
            r#"on: "finish", to: "done", roles: ["head"], actions: [Score(plugin: "q", entry: "e", input: "group.members", output: "q")]),"#,
        );
        assert!(!codes(&named).iter().any(|(c, _)| *c == "E124"));
    }

    #[test]
    fn unknown_reference_points_at_its_line() {
        let text = BASE.replace(r#"to: "b""#, r#"to: "bb""#);
        let d = diagnostics(&text).into_iter().find(|d| d.code == "E102").expect("E102");
        assert_eq!((d.line, d.column), (16, 47), "{d}");
        assert_eq!(d.hint.as_deref(), Some("did you mean `b`?"));
    }

    #[test]
    fn dead_ends_duplicates_and_unused_things_are_found() {
        let text = BASE
            .replace(
                r#"State(id: "b", parent: "prep"),"#,
                r#"State(id: "b", parent: "prep"), State(id: "b"), State(id: "stuck", parent: "prep"),"#,
            )
            .replace(r#"Event(id: "finish")"#, r#"Event(id: "finish"), Event(id: "unused")"#)
            .replace(r#"on: "go", to: "b""#, r#"on: "go", to: "stuck""#);
        let found = codes(&text);
        let has = |c: &str| found.iter().any(|(code, _)| *code == c);
        assert!(has("E101") && has("W201"), "{found:?}");
        // `stuck` is a step of `prep`, so `finish` leads out of it: not a dead end.
        assert!(!found.iter().any(|(c, m)| *c == "E109" && m.contains("stuck")), "{found:?}");
        let text = BASE.replace(r#"Transition(from: ["prep"], on: "finish", to: "done", roles: ["head"]),"#, "");
        let found = codes(&text);
        assert!(found.iter().any(|(c, _)| *c == "E109"), "{found:?}");
    }

    #[test]
    fn sections_named_by_fields_and_columns_must_exist() {
        let text = BASE.replace(
            r#"Form(id: "group", fields: ["#,
            r#"Form(id: "group", sections: [Section(id: "people")], fields: ["#,
        )
        .replace(
            r#"Field(id: "members", kind: Table, columns: [Field(id: "name", kind: Text)])"#,
            r#"Field(id: "members", kind: Table, section: "people", columns: [Field(id: "name", kind: Text, section: "peple")])"#,
        );
        let found = codes(&text);
        assert_eq!(found.iter().filter(|(_, m)| m.contains("section")).count(), 1, "{found:?}");
        assert!(found.iter().any(|(_, m)| m == "unknown section `peple`"), "{found:?}");
    }

    #[test]
    fn read_only_roles_and_wrong_field_kinds_are_refused() {
        let text = BASE.replace(r#"to: "done", roles: ["head"]"#, r#"to: "done", roles: ["agency"]"#);
        assert!(codes(&text).iter().any(|(c, m)| *c == "E117" && m.contains("read-only")));
        let text = BASE.replace(
            "Count(path: \"group.members\", min: 3, max: 7)",
            "Range(path: \"group.members\", min: 7, max: 3)",
        );
        let found = codes(&text);
        assert!(found.iter().any(|(_, m)| m.contains("larger than")), "{found:?}");
        assert!(found.iter().any(|(_, m)| m.contains("is a Table field")), "{found:?}");
    }

    /// Each diagnostic as `line:column code message`, in file order.
    fn lines(text: &str) -> Vec<String> {
        diagnostics(text).iter().map(|d| format!("{}:{} {} {}", d.line, d.column, d.code, d.message)).collect()
    }

    /// (what to replace in BASE, its replacement, the diagnostics expected).
    const CASES: &[(&str, &str, &[&str])] = &[
        // The second condition on the same field is reported on its own line.
        (
            "conditions: [Count(path: \"group.members\", min: 3, max: 7)]",
            "conditions: [Count(path: \"group.members\", min: 3, max: 7),\n                Range(path: \"group.members\", min: 1)]",
            &["18:29 E118 `group.members` is a Table field; this condition needs Integer or Number"],
        ),
        ("min: 3, max: 7", "min: 7, max: 3", &["17:38 E119 `min` 7 is larger than `max` 3"]),
        (
            "Transition(from: [\"prep\"], on: \"finish\", to: \"done\", roles: [\"head\"]),",
            "Transition(from: [\"prep\"], on: \"finish\", to: \"prep\", roles: []),",
            &[
                "11:9 E108 no sequence of transitions from the initial state reaches this state",
                "18:54 E116 `prep` is a phase; a transition must lead to one of its steps",
                "18:62 E117 `roles` is empty: nobody could fire this transition",
            ],
        ),
        (
            "],\n    initial: \"a\",",
            "],\n    initial: \"a\",\n    deadlines: [Deadline(id: \"leap\", what: \"x\", who: \"head\", due: Yearly(month: 2, day: 29), met_by: [\"go\"])],",
            &[
                "14:62 E120 February 29 exists only in leap years: a yearly deadline on it would fall due one year in four",
            ],
        ),
        (
            "Field(id: \"name\", kind: Text)",
            "Field(id: \"name\", kind: Integer, max_length: 10, choices: [\"a\"])",
            &[
                "5:53 E114 `choices` only apply to Choice fields, not Integer",
                "5:53 E114 `max_length` only applies to Text and LongText fields",
            ],
        ),
    ];

    /// New constructs, checked like the others.
    const RULE_CASES: &[(&str, &str, &[&str])] = &[
        (
            "conditions: [Count(path: \"group.members\", min: 3, max: 7)]",
            "conditions: [Institution(attribute: \"staff\", min: 31)]",
            &["17:49 E122 institutions have no attribute `staff`"],
        ),
        (
            "conditions: [Count(path: \"group.members\", min: 3, max: 7)]",
            "conditions: [Rows(path: \"group.members\", require: [Filled(\"nam\")])]",
            &["17:54 E106 the table `group.members` has no column `nam`"],
        ),
        (
            "conditions: [Count(path: \"group.members\", min: 3, max: 7)]",
            "conditions: [Covered(path: \"group.members\", column: \"name\", by: \"scores.nothing.rows\", by_column: \"id\")]",
            &["17:77 E123 no `Score` action of this workflow has the output `nothing`"],
        ),
    ];

    #[test]
    fn new_rules_are_checked_with_codes_and_places() {
        for (from, to, expected) in RULE_CASES {
            assert!(BASE.contains(from), "{from}");
            let text = BASE.replacen(from, to, 1);
            let found: Vec<String> =
                lines(&text).into_iter().filter(|l| !l.contains("W201") && !l.contains("E108")).collect();
            assert_eq!(found, *expected, "after replacing {from:?}");
        }
    }

    #[test]
    fn each_problem_has_its_code_and_exact_place() {
        for (from, to, expected) in CASES {
            assert!(BASE.contains(from), "{from}");
            let text = BASE.replacen(from, to, 1);
            assert_eq!(lines(&text), *expected, "after replacing {from:?}");
        }
    }
}
