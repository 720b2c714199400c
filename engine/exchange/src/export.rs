//! Tables of a plan (a register, measures) and its reports (what a scoring
//! plugin returned) as a sheet with headers in a chosen language, written
//! as CSV, XLSX or JSON.
//!
//! CSV and XLSX are for people: choices are written as their labels,
//! dates as dates (date cells in XLSX), and both import back to the same
//! rows. JSON is for programs: the rows exactly as the plan stores them
//! (choice values, ISO dates), with the columns' titles beside them.

use std::collections::BTreeMap;

use integritas_core::definition::{Action, FieldDef, FieldKind, Workflow};
use integritas_core::locale::Labels;
use integritas_core::pack::Pack;
use integritas_core::projection::ScoreRecord;
use rust_xlsxwriter::{Format as CellFormat, Workbook};
use serde_json::{Map, Value, json};

use crate::sheet::{Cell, Format, excel_serial};
use crate::{ExchangeError, TablePath};

/// A sheet to write: named columns and rows of cells, and what the JSON
/// form of it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The sheet's name (a workbook's tab).
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// The JSON export: `{table|report, language, columns, rows, …}`.
    pub json: Value,
}

/// A column: its id (a row's key) and its title in the export's language.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Column {
    pub id: String,
    pub title: String,
}

/// The rows of the table `path` in a plan's data, with headers and choice
/// labels in `language`.
pub fn table(
    pack: &Pack,
    workflow: &Workflow,
    data: &Map<String, Value>,
    path: &TablePath,
    language: &str,
) -> Result<Table, ExchangeError> {
    table_in(workflow, data, path, &pack.labels(language))
}

/// [`table`] with the labels given (a caller that adapts a pack's labels
/// to its own languages, e.g. transliterated, passes them here).
pub fn table_in(
    workflow: &Workflow,
    data: &Map<String, Value>,
    path: &TablePath,
    labels: &Labels,
) -> Result<Table, ExchangeError> {
    let language = labels.language.as_str();
    let field = workflow
        .form(&path.form)
        .and_then(|f| f.fields.iter().find(|x| x.id == path.field && x.kind == FieldKind::Table))
        .ok_or_else(|| {
            let tables: Vec<String> = workflow
                .def()
                .forms
                .iter()
                .flat_map(|f| {
                    f.fields.iter().filter(|x| x.kind == FieldKind::Table).map(move |x| format!("{}.{}", f.id, x.id))
                })
                .collect();
            ExchangeError::NotFound(format!(
                "`{path}` is not a table of this workflow; its tables are: {}",
                tables.join(", ")
            ))
        })?;
    if let Some(event) = workflow.anonymous_filler(&path.form) {
        return Err(ExchangeError::Private(format!(
            "`{path}` holds anonymous answers (event `{}`), which leave the plan only in aggregate: export the report that scores them",
            event.id
        )));
    }
    let label = |key: String, fallback: &str| labels.map.get(&key).cloned().unwrap_or_else(|| fallback.to_string());
    let columns: Vec<Column> = field
        .columns
        .iter()
        .map(|c| Column { id: c.id.clone(), title: label(format!("field.{path}.{}", c.id), &c.title) })
        .collect();
    let stored: Vec<Value> =
        data.get(&path.form).and_then(|f| f.get(&path.field)).and_then(Value::as_array).cloned().unwrap_or_default();
    let rows = stored
        .iter()
        .map(|row| {
            field
                .columns
                .iter()
                .map(|c| {
                    cell(c, row.get(&c.id), &|value: &str| label(format!("choice.{path}.{}.{value}", c.id), value))
                })
                .collect()
        })
        .collect();
    let json = json!({"table": path.to_string(), "language": language, "columns": columns, "rows": stored});
    Ok(Table { name: label(format!("field.{path}"), &field.title), columns, rows, json })
}

/// A stored value as a cell of its column's kind; a choice as its label.
fn cell(column: &FieldDef, value: Option<&Value>, choice: &dyn Fn(&str) -> String) -> Cell {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Cell::Empty };
    match (column.kind, value) {
        (FieldKind::Date, Value::String(s)) => s.parse().map_or_else(|_| Cell::Text(s.clone()), Cell::Date),
        (FieldKind::Choice, Value::String(s)) => Cell::Text(choice(s)),
        (FieldKind::Choices, Value::Array(items)) => {
            let words: Vec<String> = items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), choice)).collect();
            Cell::Text(words.join("; "))
        }
        _ => plain(value),
    }
}

/// A JSON value as a cell: numbers, booleans and text as they are; a list
/// or an object as its JSON text.
fn plain(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => n.as_f64().map_or_else(|| Cell::Text(n.to_string()), Cell::Number),
        Value::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(other.to_string()),
    }
}

/// A report: what the plugin that produced `scores.<output>` returned,
/// as rows — its list `list` (or, without one, its list of rows with an
/// `id`, else its longest list of objects), or one row
/// of its plain values when it has no list. Columns named like a column
/// of the table it scored take that column's title; words take their
/// `value.<word>` label.
pub fn report(
    pack: &Pack,
    workflow: &Workflow,
    scores: &BTreeMap<String, ScoreRecord>,
    output: &str,
    list: Option<&str>,
    language: &str,
) -> Result<Table, ExchangeError> {
    report_in(workflow, scores, output, list, &pack.labels(language))
}

/// [`report`] with the labels given.
pub fn report_in(
    workflow: &Workflow,
    scores: &BTreeMap<String, ScoreRecord>,
    output: &str,
    list: Option<&str>,
    labels: &Labels,
) -> Result<Table, ExchangeError> {
    let language = labels.language.as_str();
    let record = scores.get(output).ok_or_else(|| {
        let known: Vec<&str> = scores.keys().map(String::as_str).collect();
        let known = if known.is_empty() { "none yet".to_string() } else { known.join(", ") };
        ExchangeError::NotFound(format!("the plan has no report `scores.{output}`; it has: {known}"))
    })?;
    let value = &record.value;
    let lists: Vec<(&String, &Vec<Value>)> = value
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_array().filter(|a| a.iter().all(Value::is_object)).map(|a| (k, a)))
                .collect()
        })
        .unwrap_or_default();
    let (name, rows): (String, Vec<Value>) = match (list, value) {
        (Some(list), _) => {
            let found = lists.iter().find(|(k, _)| k.as_str() == list).ok_or_else(|| {
                let names: Vec<&str> = lists.iter().map(|(k, _)| k.as_str()).collect();
                ExchangeError::NotFound(format!(
                    "report `{output}` has no list `{list}`; its lists are: {}",
                    names.join(", ")
                ))
            })?;
            (format!("{output}.{list}"), found.1.clone())
        }
        (None, Value::Array(items)) => (output.to_string(), items.clone()),
        // The list a person means by the report: the one of rows with an
        // `id` (a register's risks rather than its counts per level), else
        // the longest; the first of equals.
        (None, _) => {
            match lists.iter().rev().max_by_key(|(_, items)| (items.iter().all(|i| i.get("id").is_some()), items.len()))
            {
                Some((key, items)) => (format!("{output}.{key}"), (*items).clone()),
                None => {
                    let plain: Map<String, Value> = value
                        .as_object()
                        .map(|o| o.iter().filter(|(_, v)| !v.is_array()).map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default();
                    (output.to_string(), vec![Value::Object(plain)])
                }
            }
        }
    };
    let mut keys: Vec<String> = Vec::new();
    for row in &rows {
        for key in row.as_object().into_iter().flat_map(|o| o.keys()) {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    // The table the report scored, whose column titles name the report's columns of the same id.
    let input = workflow.def().transitions.iter().flat_map(|t| &t.actions).find_map(|a| match a {
        Action::Score { output: o, input, .. } if o == output => Some(input.clone()),
        _ => None,
    });
    let columns: Vec<Column> = keys
        .iter()
        .map(|key| {
            let title = input.as_ref().and_then(|i| labels.map.get(&format!("field.{i}.{key}")).cloned());
            Column { id: key.clone(), title: title.unwrap_or_else(|| key.clone()) }
        })
        .collect();
    let word = |w: &str| labels.map.get(&format!("value.{w}")).cloned().unwrap_or_else(|| w.to_string());
    let cells = rows
        .iter()
        .map(|row| {
            keys.iter()
                .map(|k| match row.get(k) {
                    Some(Value::String(s)) => Cell::Text(word(s)),
                    Some(v) => plain(v),
                    None => Cell::Empty,
                })
                .collect()
        })
        .collect();
    let json = json!({
        "report": name, "language": language, "columns": columns, "rows": rows,
        "value": value, "provenance": record.provenance, "date": record.date, "seq": record.seq,
    });
    Ok(Table { name, columns, rows: cells, json })
}

/// The table as the bytes of a file of `format`.
pub fn write(table: &Table, format: Format) -> Result<Vec<u8>, ExchangeError> {
    match format {
        Format::Csv => write_csv(table),
        Format::Xlsx => write_xlsx(table),
        Format::Json => {
            let mut bytes = serde_json::to_vec_pretty(&table.json).map_err(|e| ExchangeError::Write(e.to_string()))?;
            bytes.push(b'\n');
            Ok(bytes)
        }
    }
}

/// CSV in UTF-8 with a byte-order mark, which spreadsheets need to read
/// Cyrillic and diacritics as such.
fn write_csv(table: &Table) -> Result<Vec<u8>, ExchangeError> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let error = |e: csv::Error| ExchangeError::Write(e.to_string());
    writer.write_record(table.columns.iter().map(|c| c.title.as_str())).map_err(error)?;
    for row in &table.rows {
        writer.write_record(row.iter().map(Cell::text)).map_err(error)?;
    }
    writer.into_inner().map_err(|e| ExchangeError::Write(e.to_string()))
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    let clean: String = name.chars().map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c }).take(31).collect();
    let clean = clean.trim().trim_matches('\'').to_string();
    if clean.is_empty() { "Sheet1".into() } else { clean }
}

fn write_xlsx(table: &Table) -> Result<Vec<u8>, ExchangeError> {
    let error = |e: rust_xlsxwriter::XlsxError| ExchangeError::Write(e.to_string());
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name(&table.name)).map_err(error)?;
    let bold = CellFormat::new().set_bold();
    let date = CellFormat::new().set_num_format("yyyy-mm-dd");
    for (c, column) in table.columns.iter().enumerate() {
        let c = u16::try_from(c).map_err(|_| ExchangeError::Write("too many columns".into()))?;
        sheet.write_string_with_format(0, c, &column.title, &bold).map_err(error)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| ExchangeError::Write("too many rows".into()))?;
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| ExchangeError::Write("too many columns".into()))?;
            match cell {
                Cell::Empty => {}
                Cell::Text(t) => {
                    sheet.write_string(r, c, t).map_err(error)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c, *n).map_err(error)?;
                }
                Cell::Bool(b) => {
                    sheet.write_boolean(r, c, *b).map_err(error)?;
                }
                Cell::Date(d) => {
                    sheet.write_number_with_format(r, c, excel_serial(*d), &date).map_err(error)?;
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(error)?;
    sheet.autofit();
    workbook.save_to_buffer().map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheet::{read_csv, read_xlsx};

    fn table() -> Table {
        let day: integritas_core::date::Date = "2025-12-31".parse().expect("date");
        Table {
            name: "Rizici: [registar] / 2025?".into(),
            columns: vec![
                Column { id: "id".into(), title: "Oznaka".into() },
                Column { id: "rok".into(), title: "Rok, \"krajnji\"".into() },
            ],
            rows: vec![
                vec![Cell::Text("1.1".into()), Cell::Date(day)],
                vec![Cell::Text("Ș,ț; \"x\"\ny".into()), Cell::Number(4.0)],
                vec![Cell::Bool(true), Cell::Empty],
            ],
            json: json!({}),
        }
    }

    #[test]
    fn csv_and_xlsx_read_back_as_written() {
        let csv = write(&table(), Format::Csv).expect("csv");
        assert!(csv.starts_with(b"\xEF\xBB\xBF"), "a BOM, so spreadsheets read UTF-8");
        let xlsx = write(&table(), Format::Xlsx).expect("xlsx");
        let texts = |sheet: crate::Sheet| -> Vec<Vec<String>> {
            sheet.rows.into_iter().map(|(_, cells)| cells.iter().map(Cell::text).collect()).collect()
        };
        let expect = [
            vec!["Oznaka".to_string(), "Rok, \"krajnji\"".into()],
            vec!["1.1".into(), "2025-12-31".into()],
            vec!["Ș,ț; \"x\"\ny".into(), "4".into()],
            vec!["true".into(), String::new()],
        ];
        assert_eq!(texts(read_csv(&csv).expect("reads")), expect);
        let from_xlsx = texts(read_xlsx(&xlsx).expect("reads"));
        // A workbook leaves an empty last cell out of its row.
        assert_eq!(from_xlsx[..3], expect[..3]);
        assert_eq!(from_xlsx[3][0], "true");
    }

    #[test]
    fn sheet_names_excel_accepts() {
        assert_eq!(sheet_name("Rizici: [registar] / 2025?"), "Rizici   registar    2025");
        assert_eq!(sheet_name("'quoted'"), "quoted");
        assert_eq!(sheet_name("[]"), "Sheet1");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
    }
}
