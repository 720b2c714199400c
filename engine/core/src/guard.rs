//! Guards over a plan's data: payload validation against form definitions,
//! form completeness, and the conditions a transition lists. Each failure is
//! a sentence a coordinator can act on.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::date::Date;
use crate::definition::{Condition, DateRef, FieldDef, FieldKind, FormDef, Workflow};

/// What conditions may compare against besides the plan's data.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub today: Date,
    pub cycle_start: Date,
}

/// Checks an event's payload (`{form: {field: value}}`) against the forms
/// the event may fill; returns every problem found.
pub fn validate_payload(workflow: &Workflow, fills: &[String], payload: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let forms = match payload {
        Value::Null => return problems,
        Value::Object(forms) => forms,
        _ => {
            return vec!["the payload must be a JSON object of forms, like {\"form\": {\"field\": value}}".into()];
        }
    };
    for (form_id, fields) in forms {
        if !fills.contains(form_id) {
            let allowed = if fills.is_empty() { "none".to_string() } else { fills.join(", ") };
            problems.push(format!("this event does not fill the form `{form_id}` (it fills: {allowed})"));
            continue;
        }
        let Some(form) = workflow.form(form_id) else {
            continue;
        };
        let Value::Object(fields) = fields else {
            problems.push(format!("`{form_id}` must be a JSON object of fields"));
            continue;
        };
        for (field_id, value) in fields {
            match form.fields.iter().find(|f| &f.id == field_id) {
                None => problems.push(format!("form `{form_id}` has no field `{field_id}`")),
                Some(field) => check_value(field, value, &format!("{form_id}.{field_id}"), &mut problems),
            }
        }
    }
    problems
}

fn check_value(field: &FieldDef, value: &Value, at: &str, problems: &mut Vec<String>) {
    let mut bad = |what: &str| problems.push(format!("`{at}` {what}"));
    match (field.kind, value) {
        (_, Value::Null) => {}
        (FieldKind::Text | FieldKind::LongText, Value::String(_)) => {}
        (FieldKind::Bool, Value::Bool(_)) => {}
        (FieldKind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
            check_bounds(field, n.as_f64(), at, problems)
        }
        (FieldKind::Number, Value::Number(n)) => check_bounds(field, n.as_f64(), at, problems),
        (FieldKind::Date, Value::String(text)) => {
            if let Err(e) = text.parse::<Date>() {
                bad(&format!("is not a date: {e}"));
            }
        }
        (FieldKind::Choice, Value::String(choice)) => {
            if !field.choices.contains(choice) {
                bad(&format!("is `{choice}`, which is not one of: {}", field.choices.join(", ")));
            }
        }
        (FieldKind::Choices, Value::Array(items)) => {
            for item in items {
                match item.as_str() {
                    Some(choice) if field.choices.iter().any(|c| c == choice) => {}
                    _ => bad(&format!("contains {item}, which is not one of: {}", field.choices.join(", "))),
                }
            }
        }
        (FieldKind::Table, Value::Array(rows)) => check_rows(field, rows, at, problems),
        (kind, other) => bad(&format!("must be {}, not {}", kind_words(kind), json_kind(other))),
    }
}

fn check_rows(field: &FieldDef, rows: &[Value], at: &str, problems: &mut Vec<String>) {
    for (i, row) in rows.iter().enumerate() {
        let row_at = format!("{at} row {}", i + 1);
        let Value::Object(cells) = row else {
            problems.push(format!("`{row_at}` must be a JSON object of columns"));
            continue;
        };
        for (column_id, value) in cells {
            match field.columns.iter().find(|c| &c.id == column_id) {
                None => problems.push(format!("`{at}` has no column `{column_id}` (row {})", i + 1)),
                Some(column) => check_value(column, value, &format!("{row_at} {column_id}"), problems),
            }
        }
    }
}

fn check_bounds(field: &FieldDef, n: Option<f64>, at: &str, problems: &mut Vec<String>) {
    let Some(n) = n else { return };
    let low = field.min.is_some_and(|min| n < min);
    let high = field.max.is_some_and(|max| n > max);
    if low || high {
        problems.push(format!("`{at}` is {n}, outside {}", bounds_words(field.min, field.max)));
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
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn bounds_words(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("{min} to {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => "any value".into(),
    }
}

/// True when a value counts as filled in.
fn filled(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

/// The required fields (and table rows) a form still lacks.
pub fn missing_fields(form: &FormDef, data: Option<&Value>) -> Vec<String> {
    let empty = Map::new();
    let fields = data.and_then(Value::as_object).unwrap_or(&empty);
    let mut missing = Vec::new();
    for field in &form.fields {
        let value = fields.get(&field.id);
        let name = display_name(field);
        if field.required && !filled(value) {
            missing.push(name.clone());
            continue;
        }
        let rows = value.and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        if let Some(min) = field.min_rows
            && (rows.len() as u64) < min
        {
            missing.push(format!("{name} (has {} rows, needs at least {min})", rows.len()));
        }
        for (i, row) in rows.iter().enumerate() {
            for column in field.columns.iter().filter(|c| c.required) {
                if !filled(row.get(&column.id)) {
                    missing.push(format!("{name}, row {}: {}", i + 1, display_name(column)));
                }
            }
        }
    }
    missing
}

fn display_name(field: &FieldDef) -> String {
    if field.title.is_empty() { field.id.clone() } else { field.title.clone() }
}

/// The value at `form.field` in plan data.
pub fn lookup<'a>(data: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (form, field) = path.split_once('.')?;
    data.get(form)?.get(field)
}

/// Evaluates a condition; `Err` says, in words, why it does not hold.
pub fn evaluate(
    workflow: &Workflow,
    condition: &Condition,
    data: &Map<String, Value>,
    ctx: Context,
) -> Result<(), String> {
    let label = |path: &str, label: &Option<String>| -> String {
        label.clone().unwrap_or_else(|| {
            workflow.field(path).filter(|f| !f.title.is_empty()).map_or(path.to_string(), |f| f.title.clone())
        })
    };
    match condition {
        Condition::Count { path, min, max, label: l } => {
            let n = rows(data, path).len() as u64;
            within(n, *min, *max).map_err(|need| format!("{}: {n}; this transition needs {need}", label(path, l)))
        }
        Condition::CountWhere { path, column, equals, min, max, label: l } => {
            let n =
                rows(data, path).iter().filter(|r| text_of(r.get(column)).as_deref() == Some(equals.as_str())).count()
                    as u64;
            within(n, *min, *max).map_err(|need| {
                format!("{}: {n} with {column} = `{equals}`; this transition needs {need}", label(path, l))
            })
        }
        Condition::Distinct { path, column, min, max, label: l } => {
            let values: BTreeSet<String> = rows(data, path).iter().filter_map(|r| text_of(r.get(column))).collect();
            let n = values.len() as u64;
            within(n, *min, *max).map_err(|need| {
                format!("{}: {n} different {column} values; this transition needs {need}", label(path, l))
            })
        }
        Condition::Range { path, column: None, min, max, label: l } => match lookup(data, path).and_then(Value::as_f64)
        {
            None => Err(format!("{} has no number yet; it must be {}", label(path, l), bounds_words(*min, *max))),
            Some(v) if in_bounds(v, *min, *max) => Ok(()),
            Some(v) => Err(format!("{} is {v}; it must be {}", label(path, l), bounds_words(*min, *max))),
        },
        Condition::Range { path, column: Some(column), min, max, label: l } => {
            for (i, row) in rows(data, path).iter().enumerate() {
                match row.get(column).and_then(Value::as_f64) {
                    Some(v) if in_bounds(v, *min, *max) => {}
                    other => {
                        let is = other.map_or("empty".to_string(), |v| v.to_string());
                        let need = bounds_words(*min, *max);
                        return Err(format!("{}, row {}: {column} is {is}; it must be {need}", label(path, l), i + 1));
                    }
                }
            }
            Ok(())
        }
        Condition::Date { path, not_before, not_after, label: l } => {
            let name = label(path, l);
            let Some(date) = lookup(data, path).and_then(Value::as_str).and_then(|s| s.parse::<Date>().ok()) else {
                return Err(format!("{name} has no date yet"));
            };
            if let Some((limit, words)) = not_before.as_ref().and_then(|r| resolve(r, data, ctx))
                && date < limit
            {
                return Err(format!("{name} is {date}; it must not be before {limit} ({words})"));
            }
            if let Some((limit, words)) = not_after.as_ref().and_then(|r| resolve(r, data, ctx))
                && date > limit
            {
                return Err(format!("{name} is {date}; it must not be after {limit} ({words})"));
            }
            Ok(())
        }
        Condition::Equals { path, value, label: l } => {
            let actual = text_of(lookup(data, path));
            if actual.as_deref() == Some(value.as_str()) {
                Ok(())
            } else {
                let is = actual.map_or("empty".to_string(), |a| format!("`{a}`"));
                Err(format!("{} is {is}; this transition needs `{value}`", label(path, l)))
            }
        }
        Condition::Filled { path, label: l } => {
            if filled(lookup(data, path)) {
                Ok(())
            } else {
                Err(format!("{} is empty", label(path, l)))
            }
        }
        Condition::All(list) => list.iter().try_for_each(|c| evaluate(workflow, c, data, ctx)),
        Condition::Any(list) => {
            let mut reasons = Vec::new();
            for c in list {
                match evaluate(workflow, c, data, ctx) {
                    Ok(()) => return Ok(()),
                    Err(reason) => reasons.push(reason),
                }
            }
            Err(format!("none of these holds: {}", reasons.join("; ")))
        }
    }
}

fn resolve(r: &DateRef, data: &Map<String, Value>, ctx: Context) -> Option<(Date, String)> {
    match r {
        DateRef::Today => Some((ctx.today, "today".into())),
        DateRef::CycleStart => Some((ctx.cycle_start, "the start of the cycle".into())),
        DateRef::Fixed(date) => Some((*date, "a fixed date".into())),
        DateRef::Field(path) => {
            let date = lookup(data, path)?.as_str()?.parse().ok()?;
            Some((date, format!("`{path}`")))
        }
    }
}

fn rows<'a>(data: &'a Map<String, Value>, path: &str) -> &'a [Value] {
    lookup(data, path).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn in_bounds(v: f64, min: Option<f64>, max: Option<f64>) -> bool {
    min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
}

/// `Ok` when `n` is within bounds, else the needed range in words.
fn within(n: u64, min: Option<u64>, max: Option<u64>) -> Result<(), String> {
    if min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m) {
        return Ok(());
    }
    Err(match (min, max) {
        (Some(min), Some(max)) => format!("{min} to {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => unreachable!("without bounds every count is within them"),
    })
}
