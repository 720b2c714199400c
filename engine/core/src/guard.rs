//! Guards over a plan's data: payload validation against form definitions,
//! form completeness, and the conditions a transition lists. Each failure
//! is a [`Problem`] with the JSON path of the value concerned and a sentence
//! a coordinator can act on.
//!
//! Guards read the data as it would be after the event through a [`Draft`],
//! the stored data with the payload laid over it, so deciding an event
//! costs the size of its payload, not the size of the plan.

use serde_json::{Map, Value};

use crate::date::Date;
use crate::definition::{FieldDef, FieldKind, FormDef, Workflow};
use crate::diagnostic::did_you_mean;
use crate::error::Problem;
use crate::message::Message;

/// Longest `Text` value (in characters) unless the field sets `max_length`:
/// a name, a number, a title — a line, not a document.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest `LongText` value unless the field sets `max_length`: several
/// pages of a report's reasoning.
pub const MAX_LONG_TEXT_CHARS: usize = 50_000;
/// Most rows one event may bring to one table unless the field sets
/// `max_rows`: a register of a large ministry has a few hundred risks.
pub const MAX_ROWS_PER_EVENT: usize = 5_000;
/// Largest payload of one event, serialized: bounds what one request can
/// make the store keep forever.
pub const MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;

/// The JSON path of a field (`form.field`) or of a cell (`form.table[3].column`).
pub fn path_of(form: &str, field: &str, cell: Option<(usize, &str)>) -> String {
    match cell {
        Some((row, column)) => format!("{form}.{field}[{row}].{column}"),
        None => format!("{form}.{field}"),
    }
}

pub(crate) fn label_of(field: &FieldDef) -> String {
    if field.title.is_empty() { field.id.clone() } else { field.title.clone() }
}

pub(crate) fn label_key(form: &str, field: &str, column: Option<&str>) -> String {
    match column {
        Some(column) => format!("field.{form}.{field}.{column}"),
        None => format!("field.{form}.{field}"),
    }
}

/// Where a value sits in a payload, for naming it in a problem.
#[derive(Clone, Copy)]
struct At<'a> {
    form: &'a str,
    field: &'a FieldDef,
    /// The table and the row, when the value is a cell.
    cell: Option<(&'a FieldDef, usize)>,
}

impl At<'_> {
    fn path(&self) -> String {
        match self.cell {
            Some((table, row)) => path_of(self.form, &table.id, Some((row, &self.field.id))),
            None => path_of(self.form, &self.field.id, None),
        }
    }

    fn problem(&self, message: Message) -> Problem {
        let key = match self.cell {
            Some((table, _)) => label_key(self.form, &table.id, Some(&self.field.id)),
            None => label_key(self.form, &self.field.id, None),
        };
        Problem::new(self.path(), message.arg("field", self.name())).with_field_key(Some(key))
    }

    /// "Probability" or, for a cell, "Probability in row 4 of Risks".
    fn name(&self) -> String {
        match self.cell {
            Some((table, row)) => format!("{} in row {} of {}", label_of(self.field), row + 1, label_of(table)),
            None => label_of(self.field),
        }
    }
}

/// Makes a payload canonical before it is checked and stored: a whole
/// number written with a fraction (`5.0`, as spreadsheets export it) in an
/// `Integer` field becomes `5`.
pub fn normalize_payload(workflow: &Workflow, fills: &[String], payload: &mut Value) {
    let Value::Object(forms) = payload else { return };
    for (form_id, fields) in forms.iter_mut() {
        let (Some(form), Value::Object(fields)) = (workflow.form(form_id), fields) else { continue };
        if !fills.contains(form_id) {
            continue;
        }
        for (field_id, value) in fields.iter_mut() {
            if let Some(field) = form.fields.iter().find(|f| &f.id == field_id) {
                normalize_value(field, value);
            }
        }
    }
}

fn normalize_value(field: &FieldDef, value: &mut Value) {
    match (field.kind, value) {
        (FieldKind::Integer, value @ Value::Number(_)) => {
            if let Some(f) = value.as_f64().filter(|f| !value.is_i64() && !value.is_u64() && f.fract() == 0.0)
                && f.abs() < 9.0e15
            {
                *value = Value::from(f as i64);
            }
        }
        (FieldKind::Table, Value::Array(rows)) => {
            for row in rows.iter_mut().filter_map(Value::as_object_mut) {
                for (column_id, cell) in row.iter_mut() {
                    if let Some(column) = field.columns.iter().find(|c| &c.id == column_id) {
                        normalize_value(column, cell);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Checks an event's payload (`{form: {field: value}}`) against the forms
/// the event may fill; returns every problem found.
pub fn validate_payload(workflow: &Workflow, fills: &[String], payload: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let forms = match payload {
        Value::Null => return problems,
        Value::Object(forms) => forms,
        _ => return vec![Problem::new("", Message::new("problem.payload_not_object"))],
    };
    let size = json_size(payload);
    if size > MAX_PAYLOAD_BYTES {
        let message = Message::new("problem.payload_too_large").arg("bytes", size).arg("max", MAX_PAYLOAD_BYTES);
        return vec![Problem::new("", message)];
    }
    for (form_id, fields) in forms {
        if !fills.contains(form_id) {
            let message = Message::new("problem.form_not_filled_by_event")
                .arg("form", form_id)
                .arg("allowed", crate::message::list(fills));
            problems.push(Problem::new(form_id.clone(), message));
            continue;
        }
        let Some(form) = workflow.form(form_id) else { continue };
        let Value::Object(fields) = fields else {
            problems.push(Problem::new(form_id.clone(), Message::new("problem.form_not_object").arg("form", form_id)));
            continue;
        };
        for (field_id, value) in fields {
            match form.fields.iter().find(|f| &f.id == field_id) {
                None => {
                    let hint = hint_for(field_id, form.fields.iter().map(|f| f.id.as_str()));
                    let message = Message::new("problem.unknown_field")
                        .arg("form", form_id)
                        .arg("field_id", field_id)
                        .arg("hint", hint);
                    problems.push(Problem::new(path_of(form_id, field_id, None), message));
                }
                Some(field) => check_value(At { form: form_id, field, cell: None }, value, &mut problems),
            }
        }
    }
    problems
}

/// About how many bytes `value` takes as JSON, without writing it: every
/// string and key counts its length, every other value a few bytes.
fn json_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| json_size(v) + 1).sum::<usize>(),
        Value::Object(map) => 2 + map.iter().map(|(k, v)| k.len() + 4 + json_size(v)).sum::<usize>(),
        _ => 8,
    }
}

/// "; did you mean `x`?" or "; the fields are: a, b".
fn hint_for<'a>(word: &str, candidates: impl Iterator<Item = &'a str> + Clone) -> String {
    match did_you_mean(word, candidates.clone()) {
        Some(suggestion) => format!("; {suggestion}"),
        None => format!("; there are: {}", candidates.collect::<Vec<_>>().join(", ")),
    }
}

fn check_value(at: At, value: &Value, problems: &mut Vec<Problem>) {
    let field = at.field;
    match (field.kind, value) {
        (_, Value::Null) => {}
        (FieldKind::Text | FieldKind::LongText, Value::String(text)) => check_text(at, text, problems),
        (FieldKind::Bool, Value::Bool(_)) => {}
        (FieldKind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => check_bounds(at, n.as_f64(), problems),
        (FieldKind::Integer, Value::Number(n)) => {
            problems.push(at.problem(Message::new("problem.not_whole_number").arg("value", n)));
        }
        (FieldKind::Number, Value::Number(n)) => check_bounds(at, n.as_f64(), problems),
        (FieldKind::Date, Value::String(text)) => {
            if text.parse::<Date>().is_err() {
                problems.push(at.problem(Message::new("problem.not_a_date").arg("value", shorten(text))));
            }
        }
        (FieldKind::Choice, Value::String(choice)) => {
            if !field.choices.contains(choice) {
                problems.push(
                    at.problem(
                        Message::new("problem.not_a_choice")
                            .arg("value", shorten(choice))
                            .arg("choices", field.choices.join(", ")),
                    ),
                );
            }
        }
        (FieldKind::Choices, Value::Array(items)) => {
            for item in items {
                if !item.as_str().is_some_and(|choice| field.choices.iter().any(|c| c == choice)) {
                    let shown = item.as_str().map_or_else(|| item.to_string(), str::to_string);
                    problems.push(
                        at.problem(
                            Message::new("problem.not_a_choice")
                                .arg("value", shorten(&shown))
                                .arg("choices", field.choices.join(", ")),
                        ),
                    );
                }
            }
        }
        (FieldKind::Table, Value::Array(rows)) => check_rows(at, rows, problems),
        (kind, other) => problems.push(at.problem(
            Message::new("problem.wrong_kind").arg("expected", kind_words(kind)).arg("found", json_kind(other)),
        )),
    }
}

/// Text is bounded in length and holds no control characters (a tab, and
/// line breaks in a `LongText`, are text).
fn check_text(at: At, text: &str, problems: &mut Vec<Problem>) {
    let field = at.field;
    let max = field.max_length.unwrap_or(match field.kind {
        FieldKind::LongText => MAX_LONG_TEXT_CHARS,
        _ => MAX_TEXT_CHARS,
    });
    let length = text.chars().count();
    if length > max {
        problems.push(at.problem(Message::new("problem.text_too_long").arg("length", length).arg("max", max)));
    }
    let allowed = |c: char| c == '\t' || (field.kind == FieldKind::LongText && (c == '\n' || c == '\r'));
    if let Some(c) = text.chars().find(|c| c.is_control() && !allowed(*c)) {
        problems.push(
            at.problem(Message::new("problem.control_character").arg("character", format!("U+{:04X}", c as u32))),
        );
    }
}

fn check_rows(at: At, rows: &[Value], problems: &mut Vec<Problem>) {
    let table = at.field;
    let max = table.max_rows.map_or(MAX_ROWS_PER_EVENT, |m| usize::try_from(m).unwrap_or(usize::MAX));
    if rows.len() > max {
        problems.push(at.problem(Message::new("problem.too_many_rows").arg("rows", rows.len()).arg("max", max)));
        return;
    }
    for (i, row) in rows.iter().enumerate() {
        let Value::Object(cells) = row else {
            let problem = Problem::new(format!("{}[{i}]", at.path()), Message::new("problem.row_not_object"))
                .with_field_key(Some(label_key(at.form, &table.id, None)));
            let mut problem = problem;
            problem.args.insert("row".into(), (i + 1).to_string());
            problem.args.insert("field".into(), label_of(table));
            problem.message = Message { key: problem.code, args: problem.args.clone() }.to_string();
            problems.push(problem);
            continue;
        };
        for (column_id, value) in cells {
            match table.columns.iter().find(|c| &c.id == column_id) {
                None => {
                    let hint = hint_for(column_id, table.columns.iter().map(|c| c.id.as_str()));
                    let message = Message::new("problem.unknown_column")
                        .arg("field", label_of(table))
                        .arg("column", column_id)
                        .arg("hint", hint);
                    problems.push(Problem::new(format!("{}[{i}].{column_id}", at.path()), message));
                }
                Some(column) => {
                    check_value(At { form: at.form, field: column, cell: Some((table, i)) }, value, problems)
                }
            }
        }
    }
}

fn check_bounds(at: At, n: Option<f64>, problems: &mut Vec<Problem>) {
    let Some(n) = n else { return };
    if !in_bounds(n, at.field.min, at.field.max) {
        problems.push(at.problem(
            Message::new("problem.out_of_range").arg("value", n).arg("range", bounds_words(at.field.min, at.field.max)),
        ));
    }
}

/// At most 60 characters of a value quoted back in a message.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 60 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(60).collect::<String>())
    }
}

fn kind_words(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text | FieldKind::LongText => "text",
        FieldKind::Integer => "a whole number",
        FieldKind::Number => "a number",
        FieldKind::Date => "a date (YYYY-MM-DD)",
        FieldKind::Bool => "true or false",
        FieldKind::Choice => "one of its choices",
        FieldKind::Choices => "a list of its choices",
        FieldKind::Table => "a list of rows",
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(n) if n.is_f64() => "a number with a fraction",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn bounds_words(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("{min} to {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => "any value".into(),
    }
}

/// True when a value counts as filled in.
pub(crate) fn filled(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

/// The rows of a table as they would be after an event: the stored rows
/// followed by appended ones, or the rows the event replaces them with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rows<'a> {
    stored: &'a [Value],
    added: &'a [Value],
}

impl<'a> Rows<'a> {
    /// Rows that are simply these (not a stored table with new ones).
    pub fn of(rows: &'a [Value]) -> Rows<'a> {
        Rows { stored: &[], added: rows }
    }

    pub fn len(&self) -> usize {
        self.stored.len() + self.added.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a Value> + 'a {
        self.stored.iter().chain(self.added.iter())
    }

    /// The rows this event brings (all of them unless it appends).
    pub fn added(&self) -> (usize, &'a [Value]) {
        (self.stored.len(), self.added)
    }

    /// A copy of every row, for a plugin.
    pub fn to_value(&self) -> Value {
        Value::Array(self.iter().cloned().collect())
    }
}

/// The plan's data as it would be after an event, without copying it: the
/// stored forms with the event's payload laid over them, exactly as
/// [`crate::projection::merge_forms`] will merge them.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    stored: &'a Map<String, Value>,
    payload: Option<&'a Map<String, Value>>,
    append: bool,
    /// The payload's forms replace the stored ones whole.
    replace: bool,
}

impl<'a> Draft<'a> {
    /// The stored data with `payload` over it; `append` adds table rows
    /// instead of replacing them.
    pub fn new(stored: &'a Map<String, Value>, payload: &'a Value, append: bool) -> Draft<'a> {
        Draft { stored, payload: payload.as_object(), append, replace: false }
    }

    /// With `replace`, the payload's forms replace the stored ones whole.
    pub fn replacing(mut self, replace: bool) -> Draft<'a> {
        self.replace = replace;
        self
    }

    /// The stored data alone.
    pub fn stored(stored: &'a Map<String, Value>) -> Draft<'a> {
        Draft { stored, payload: None, append: false, replace: false }
    }

    /// What the payload says of a field: `None` when it does not touch it.
    fn given(&self, form: &str, field: &str) -> Option<&'a Value> {
        self.payload?.get(form)?.as_object()?.get(field)
    }

    fn stored_value(&self, form: &str, field: &str) -> Option<&'a Value> {
        if self.replace && self.payload.is_some_and(|p| p.contains_key(form)) {
            return None;
        }
        self.stored.get(form)?.get(field)
    }

    /// The value of `form.field` (a table's rows as a list when the event
    /// replaces them; use [`Draft::rows`] for tables).
    pub fn value(&self, form: &str, field: &str) -> Option<&'a Value> {
        match self.given(form, field) {
            Some(Value::Null) => None,
            Some(value) if self.append && value.is_array() => self.stored_value(form, field).or(Some(value)),
            Some(value) => Some(value),
            None => self.stored_value(form, field),
        }
    }

    /// The value at a `form.field` path.
    pub fn lookup(&self, path: &str) -> Option<&'a Value> {
        let (form, field) = path.split_once('.')?;
        self.value(form, field)
    }

    /// The rows of the table `form.field` after the event.
    pub fn rows(&self, form: &str, field: &str) -> Rows<'a> {
        let stored = self.stored_value(form, field).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        match self.given(form, field) {
            None => Rows { stored, added: &[] },
            Some(Value::Array(added)) if self.append => Rows { stored, added },
            Some(Value::Array(rows)) => Rows { stored: &[], added: rows },
            Some(_) => Rows::default(),
        }
    }

    /// The rows at a `form.field` path.
    pub fn rows_at(&self, path: &str) -> Rows<'a> {
        path.split_once('.').map_or_else(Rows::default, |(form, field)| self.rows(form, field))
    }

    /// A merged copy of one form, for a plugin guard.
    pub fn form(&self, form_id: &str) -> Option<Value> {
        let mut data = Map::new();
        let replaced = self.replace && self.payload.is_some_and(|p| p.contains_key(form_id));
        if let Some(stored) = self.stored.get(form_id).filter(|_| !replaced) {
            data.insert(form_id.to_string(), stored.clone());
        }
        if let Some(given) = self.payload.and_then(|p| p.get(form_id)) {
            let payload = Value::Object(Map::from_iter([(form_id.to_string(), given.clone())]));
            crate::projection::merge_forms(&mut data, &payload, self.append);
        }
        data.remove(form_id)
    }
}

/// The required fields (and table rows) a form still lacks after the
/// event. When the event appends rows, the rows stored before it were
/// checked when they came, so only the new ones are read: the cost of a
/// check is the size of the event, however long the table grows.
pub fn missing_fields(form_id: &str, form: &FormDef, draft: &Draft) -> Vec<Problem> {
    let mut missing = Vec::new();
    for field in &form.fields {
        let at = At { form: form_id, field, cell: None };
        if field.kind == FieldKind::Table {
            let rows = draft.rows(form_id, &field.id);
            if field.required && rows.is_empty() {
                missing.push(at.problem(Message::new("problem.required")));
                continue;
            }
            if let Some(min) = field.min_rows.filter(|min| (rows.len() as u64) < *min) {
                missing.push(at.problem(Message::new("problem.too_few_rows").arg("rows", rows.len()).arg("min", min)));
            }
            let (first, new_rows) = if draft.append { rows.added() } else { (0, &[][..]) };
            let checked: Box<dyn Iterator<Item = (usize, &Value)>> = if draft.append {
                Box::new(new_rows.iter().enumerate().map(|(i, r)| (first + i, r)))
            } else {
                Box::new(rows.iter().enumerate())
            };
            for (i, row) in checked {
                for column in field.columns.iter().filter(|c| c.required) {
                    if !filled(row.get(&column.id)) {
                        let cell = At { form: form_id, field: column, cell: Some((field, i)) };
                        let mut problem = cell.problem(Message::new("problem.required_in_row"));
                        problem.args.insert("row".into(), (i + 1).to_string());
                        problem.args.insert("table".into(), label_of(field));
                        problem.args.insert("field".into(), label_of(column));
                        problem.message = Message { key: problem.code, args: problem.args.clone() }.to_string();
                        missing.push(problem);
                    }
                }
            }
        } else if field.required && !filled(draft.value(form_id, &field.id)) {
            missing.push(at.problem(Message::new("problem.required")));
        }
    }
    missing
}

/// The value at `form.field` in stored plan data.
pub fn lookup<'a>(data: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (form, field) = path.split_once('.')?;
    data.get(form)?.get(field)
}

pub(crate) fn in_bounds(v: f64, min: Option<f64>, max: Option<f64>) -> bool {
    min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
}
