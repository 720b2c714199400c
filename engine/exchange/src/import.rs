//! The rows of a table field (a register, a list of measures) from a
//! sheet: header cells matched to columns by id, title or translation in
//! any of the pack's languages; cells converted to the columns' kinds
//! (dates from date cells or text, whole numbers from `5.0`, choices by
//! value or label); then every row checked as the engine checks an
//! event's payload. The result is the payload of the event, or every
//! problem with its sheet row and column — never part of the rows.

use std::collections::{BTreeMap, HashMap};

use integritas_core::date::Date;
use integritas_core::definition::{FieldDef, FieldKind, FormDef, Workflow};
use integritas_core::error::Problem;
use integritas_core::guard::{self, Draft};
use integritas_core::message::Message;
use integritas_core::pack::Pack;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::sheet::{Cell, Sheet, column_letters};
use crate::{ExchangeError, TablePath, normalize};

/// What to import into: a table of a form, filled by one event of a plan's workflow.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub pack: &'a Pack,
    pub workflow: &'a Workflow,
    pub table: &'a TablePath,
    /// The event whose payload the rows become.
    pub event: &'a str,
}

/// Rows ready to fire: `{form: {field: [rows]}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub payload: Value,
    pub rows: usize,
    /// The sheet row each payload row was read from.
    sheet_rows: Vec<u32>,
    /// Column id → (its letters, its header as written).
    headers: HashMap<String, (String, String)>,
}

impl Imported {
    /// A problem the engine found when the event was fired with these
    /// rows (a guard's range, a count), placed in the sheet as the
    /// import's own problems are: `form.field[i].column` becomes the
    /// sheet row and the column's letters and header.
    pub fn place(&self, target: Target, problem: &Problem, translate: &dyn Fn(&str) -> Option<String>) -> RowProblem {
        place(target, problem, &self.sheet_rows, &self.headers, translate)
    }
}

/// One problem of an import, where a person finds it in the sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowProblem {
    /// The row as the spreadsheet numbers it (from 1); `None` for the
    /// sheet as a whole.
    pub row: Option<u32>,
    /// The column's letters (`C`), when the problem is in one column.
    pub column: Option<String>,
    /// That column's header cell, as written in the sheet.
    pub header: Option<String>,
    /// The value's JSON path in the event's payload
    /// (`register.risks[3].probability`, rows from 0), or empty.
    pub path: String,
    /// The sentence's stable key (`problem.not_a_date`, `import.unknown_header`…).
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.row, &self.column) {
            (Some(row), Some(column)) => write!(f, "row {row}, column {column}: {}", self.message),
            (Some(row), None) => write!(f, "row {row}: {}", self.message),
            (None, Some(column)) => write!(f, "column {column}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Why nothing was imported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// The table, form or event does not exist, or the file cannot be read.
    #[error(transparent)]
    File(#[from] ExchangeError),
    /// The sheet was read, and these are all its problems.
    #[error("{} problem(s) in the sheet; nothing was imported", .0.len())]
    Rows(Vec<RowProblem>),
}

/// Reads the rows of `sheet` for `target`. `translate` gives the engine's
/// sentences in the user's language (a pack's translator; English where
/// it has none).
pub fn import(
    target: Target,
    sheet: &Sheet,
    translate: &dyn Fn(&str) -> Option<String>,
) -> Result<Imported, ImportError> {
    let (form, table) = resolve(target)?;
    let names = column_names(target, table);
    let Some(header_at) = sheet.rows.iter().position(|(_, cells)| cells.iter().any(|c| !c.is_empty())) else {
        let message = Message::new("import.empty").arg("table", target.table);
        return Err(ImportError::Rows(vec![sheet_problem(None, message, translate)]));
    };
    let (header_row, header_cells) = &sheet.rows[header_at];
    let mut problems = Vec::new();
    // Sheet column → table column.
    let mut columns: BTreeMap<usize, &FieldDef> = BTreeMap::new();
    let mut headers: HashMap<String, (String, String)> = HashMap::new();
    for (i, cell) in header_cells.iter().enumerate().filter(|(_, c)| !c.is_empty()) {
        let written = cell.text();
        let at = |message: Message| RowProblem {
            row: Some(*header_row),
            column: Some(column_letters(i)),
            header: Some(written.clone()),
            path: String::new(),
            code: message.key.to_string(),
            message: message.render(translate),
        };
        match names.get(&normalize(&written)).map(Vec::as_slice) {
            Some([column]) => {
                if let Some((first, _)) = headers.get(column.id.as_str()) {
                    let message = Message::new("import.duplicate_header").arg("header", &written).arg("other", first);
                    problems.push(at(message));
                } else {
                    headers.insert(column.id.clone(), (column_letters(i), written.clone()));
                    columns.insert(i, column);
                }
            }
            Some(several) => {
                let ids: Vec<&str> = several.iter().map(|c| c.id.as_str()).collect();
                problems.push(at(Message::new("import.ambiguous_header")
                    .arg("header", &written)
                    .arg("columns", ids.join(", "))));
            }
            None => {
                let known: Vec<String> =
                    table.columns.iter().map(|c| format!("{} ({})", c.id, title(target, c))).collect();
                let message = Message::new("import.unknown_header")
                    .arg("header", &written)
                    .arg("table", target.table)
                    .arg("columns", known.join(", "));
                problems.push(at(message));
            }
        }
    }
    let mut rows = Vec::new();
    let mut sheet_rows = Vec::new();
    let mut unnamed_reported = Vec::new();
    for (number, cells) in sheet.rows.iter().skip(header_at + 1) {
        if cells.iter().all(Cell::is_empty) {
            continue;
        }
        let mut row = Map::new();
        for (i, cell) in cells.iter().enumerate().filter(|(_, c)| !c.is_empty()) {
            match columns.get(&i) {
                Some(column) => {
                    if let Some(value) = convert(cell, column, &choice_names(target, column)) {
                        row.insert(column.id.clone(), value);
                    }
                }
                None if header_cells.get(i).is_none_or(Cell::is_empty) && !unnamed_reported.contains(&i) => {
                    unnamed_reported.push(i);
                    problems.push(RowProblem {
                        row: Some(*number),
                        column: Some(column_letters(i)),
                        header: None,
                        path: String::new(),
                        code: "import.no_header".into(),
                        message: Message::new("import.no_header").arg("value", cell.text()).render(translate),
                    });
                }
                // A column with an unknown header: reported once, at its header.
                None => {}
            }
        }
        rows.push(Value::Object(row));
        sheet_rows.push(*number);
    }
    if rows.is_empty() && problems.is_empty() {
        let message = Message::new("import.no_rows").arg("table", target.table);
        problems.push(sheet_problem(Some(*header_row), message, translate));
    }
    let count = rows.len();
    let mut payload = json!({ &target.table.form: { &target.table.field: rows } });
    let fills = vec![target.table.form.clone()];
    guard::normalize_payload(target.workflow, &fills, &mut payload);
    let mut found = guard::validate_payload(target.workflow, &fills, &payload);
    found.extend(missing_in_rows(target, form, &payload));
    for problem in found {
        problems.push(place(target, &problem, &sheet_rows, &headers, translate));
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| (p.row, p.column.as_ref().map(|c| (c.len(), c.clone()))));
        return Err(ImportError::Rows(problems));
    }
    Ok(Imported { payload, rows: count, sheet_rows, headers })
}

/// The form and table field a target names, or what exists instead.
fn resolve<'a>(target: Target<'a>) -> Result<(&'a FormDef, &'a FieldDef), ExchangeError> {
    let workflow = target.workflow;
    let path = target.table;
    let tables = || -> Vec<String> {
        workflow
            .def()
            .forms
            .iter()
            .flat_map(|f| {
                f.fields.iter().filter(|x| x.kind == FieldKind::Table).map(move |x| format!("{}.{}", f.id, x.id))
            })
            .collect()
    };
    let not_table = || {
        ExchangeError::NotFound(format!(
            "`{path}` is not a table of this workflow; its tables are: {}",
            tables().join(", ")
        ))
    };
    let form = workflow.form(&path.form).ok_or_else(not_table)?;
    let field = form.fields.iter().find(|f| f.id == path.field && f.kind == FieldKind::Table).ok_or_else(not_table)?;
    let event = workflow.event(target.event).ok_or_else(|| {
        let events: Vec<&str> = workflow.def().events.iter().map(|e| e.id.as_str()).collect();
        ExchangeError::NotFound(format!(
            "`{}` is not an event of this workflow; its events are: {}",
            target.event,
            events.join(", ")
        ))
    })?;
    // Anonymous answers are given one by one, each its own event with no
    // actor; a sheet of them would be one person's answers for everyone.
    if let Some(anonymous) = workflow.anonymous_filler(&path.form) {
        return Err(ExchangeError::Private(format!(
            "`{path}` holds anonymous answers, which each person gives alone (event `{}`); they are never imported from a sheet",
            anonymous.id
        )));
    }
    if !event.fills.contains(&path.form) {
        let fillers: Vec<&str> =
            workflow.def().events.iter().filter(|e| e.fills.contains(&path.form)).map(|e| e.id.as_str()).collect();
        return Err(ExchangeError::NotFound(format!(
            "event `{}` does not fill the form `{}`; events that do: {}",
            target.event,
            path.form,
            fillers.join(", ")
        )));
    }
    Ok((form, field))
}

/// A column's title in the pack's first language.
fn title(target: Target, column: &FieldDef) -> String {
    let key = format!("field.{}.{}.{}", target.table.form, target.table.field, column.id);
    target.pack.labels(target.pack.source_language()).map.get(&key).cloned().unwrap_or_else(|| column.title.clone())
}

/// Every name a header may give a column: its id, its title, and its
/// label in each of the pack's languages (normalized), with the columns
/// each names.
fn column_names<'a>(target: Target, table: &'a FieldDef) -> HashMap<String, Vec<&'a FieldDef>> {
    let mut names: HashMap<String, Vec<&FieldDef>> = HashMap::new();
    let labels: Vec<_> = target.pack.manifest.languages.iter().map(|l| target.pack.labels(l)).collect();
    for column in &table.columns {
        let key = format!("field.{}.{}.{}", target.table.form, target.table.field, column.id);
        let written = [column.id.clone(), column.title.clone()]
            .into_iter()
            .chain(labels.iter().filter_map(|l| l.map.get(&key).cloned()));
        for name in written.map(|n| normalize(&n)).filter(|n| !n.is_empty()) {
            let entry = names.entry(name).or_default();
            if !entry.iter().any(|c| c.id == column.id) {
                entry.push(column);
            }
        }
    }
    names
}

/// A choice column's values by their own name and by their label in each
/// of the pack's languages (normalized).
fn choice_names(target: Target, column: &FieldDef) -> HashMap<String, String> {
    let mut names = HashMap::new();
    if !matches!(column.kind, FieldKind::Choice | FieldKind::Choices) {
        return names;
    }
    for language in &target.pack.manifest.languages {
        let labels = target.pack.labels(language);
        for value in &column.choices {
            let key = format!("choice.{}.{}.{}.{value}", target.table.form, target.table.field, column.id);
            if let Some(label) = labels.map.get(&key) {
                names.entry(normalize(label)).or_insert_with(|| value.clone());
            }
        }
    }
    for value in &column.choices {
        names.insert(normalize(value), value.clone());
    }
    names
}

/// A cell as the value a column of its kind stores; a cell that cannot be
/// read as that kind is passed on as it is written, for the validation to
/// say why (in the engine's words, with the column's name).
fn convert(cell: &Cell, column: &FieldDef, choices: &HashMap<String, String>) -> Option<Value> {
    if cell.is_empty() {
        return None;
    }
    let text = cell.text();
    let value = match (column.kind, cell) {
        (FieldKind::Integer | FieldKind::Number, Cell::Number(n)) => number(*n),
        (FieldKind::Integer | FieldKind::Number, Cell::Text(t)) => parse_number(t).map_or(Value::String(text), number),
        (FieldKind::Date, Cell::Date(d)) => Value::String(d.to_string()),
        (FieldKind::Date, Cell::Text(t)) => parse_date(t).map_or(Value::String(text), |d| Value::String(d.to_string())),
        (FieldKind::Bool, Cell::Bool(b)) => Value::Bool(*b),
        (FieldKind::Bool, Cell::Number(n)) if *n == 0.0 || *n == 1.0 => Value::Bool(*n == 1.0),
        (FieldKind::Bool, Cell::Text(t)) => parse_bool(t).map_or(Value::String(text), Value::Bool),
        (FieldKind::Choice, _) => Value::String(choices.get(&normalize(&text)).cloned().unwrap_or(text)),
        (FieldKind::Choices, _) => Value::Array(
            text.split([';', '\n', ','])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(choices.get(&normalize(t)).cloned().unwrap_or_else(|| t.to_string())))
                .collect(),
        ),
        (FieldKind::Text | FieldKind::LongText, _) => Value::String(text),
        (_, Cell::Number(n)) => number(*n),
        (_, Cell::Bool(b)) => Value::Bool(*b),
        _ => Value::String(text),
    };
    Some(value)
}

/// A whole number as an integer (`5.0` → `5`), any other as it is.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// `5`, `5.0`, `2,5` (a decimal comma), `1 200` (spaces between thousands).
fn parse_number(text: &str) -> Option<f64> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    let normal = if compact.contains(',') && !compact.contains('.') { compact.replace(',', ".") } else { compact };
    normal.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `2022-01-31` (with any time after it), `31.01.2022`, `31.1.2022.`,
/// `31. 1. 2022.` and `31/01/2022`: day before month, as the packs' languages write dates.
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    if let Some(date) = text.get(..10).and_then(|d| d.parse::<Date>().ok()) {
        return Some(date);
    }
    let parts: Vec<&str> = text.trim_end_matches('.').split(['.', '/']).map(str::trim).collect();
    let [day, month, year] = parts.as_slice() else { return None };
    let (day, month, year) = (day.parse().ok()?, month.parse().ok()?, year.parse().ok()?);
    if year < 1000 {
        return None;
    }
    Date::new(year, month, day)
}

fn parse_bool(text: &str) -> Option<bool> {
    match normalize(text).as_str() {
        "true" | "yes" | "1" | "x" | "✓" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Required cells the rows leave empty (the form's other fields are the
/// event's business, checked when it is fired).
fn missing_in_rows(target: Target, form: &FormDef, payload: &Value) -> Vec<Problem> {
    let stored = Map::new();
    let draft = Draft::new(&stored, payload, false);
    let prefix = format!("{}[", target.table);
    guard::missing_fields(&target.table.form, form, &draft)
        .into_iter()
        .filter(|p| p.path.starts_with(&prefix) && p.code == "problem.required_in_row")
        .collect()
}

/// A problem of the payload placed in the sheet: `form.field[i].column`
/// becomes the row of the `i`th row read and the column of that header,
/// and its sentence names them so (the column by its header as written,
/// the row by the number the spreadsheet shows), not by the table's own
/// row count.
fn place(
    target: Target,
    problem: &Problem,
    sheet_rows: &[u32],
    headers: &HashMap<String, (String, String)>,
    translate: &dyn Fn(&str) -> Option<String>,
) -> RowProblem {
    let prefix = format!("{}[", target.table);
    let (index, column) = match problem.path.strip_prefix(&prefix).and_then(|rest| rest.split_once(']')) {
        Some((index, rest)) => (index.parse::<usize>().ok(), rest.strip_prefix('.')),
        None => (None, None),
    };
    let row = index.and_then(|i| sheet_rows.get(i).copied());
    let (letters, header) = match column.and_then(|c| headers.get(c)) {
        Some((letters, header)) => (Some(letters.clone()), Some(header.clone())),
        None => (None, None),
    };
    let mut said = problem.clone();
    if let Some(row) = row.filter(|_| said.args.contains_key("row")) {
        said.args.insert("row".into(), row.to_string());
    }
    if let Some(header) = &header {
        // The cell's column as the sheet names it; the row is said apart.
        said.args.insert("field".into(), header.clone());
        said.field_key = None;
    }
    RowProblem {
        row,
        column: letters,
        header,
        path: problem.path.clone(),
        code: problem.code.to_string(),
        message: said.render(translate),
    }
}

fn sheet_problem(row: Option<u32>, message: Message, translate: &dyn Fn(&str) -> Option<String>) -> RowProblem {
    RowProblem {
        row,
        column: None,
        header: None,
        path: String::new(),
        code: message.key.to_string(),
        message: message.render(translate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_numbers_and_booleans_as_people_write_them() {
        let dates = ["2022-01-31", "2022-01-31T00:00:00", "31.01.2022", "31.1.2022.", "31. 1. 2022.", "31/01/2022"];
        for text in dates {
            assert_eq!(parse_date(text).map(|d| d.to_string()).as_deref(), Some("2022-01-31"), "{text}");
        }
        for text in ["31.02.2022", "2022", "1.1.22", "yesterday"] {
            assert_eq!(parse_date(text), None, "{text}");
        }
        let numbers = [
            ("5", Some(5.0)),
            ("5.0", Some(5.0)),
            ("2,5", Some(2.5)),
            ("1 200", Some(1200.0)),
            ("five", None),
            ("inf", None),
        ];
        for (text, expect) in numbers {
            assert_eq!(parse_number(text), expect, "{text}");
        }
        assert_eq!([parse_bool("Yes"), parse_bool("0"), parse_bool("maybe")], [Some(true), Some(false), None]);
        assert_eq!(number(5.0), json!(5));
        assert_eq!(number(2.5), json!(2.5));
    }
}
