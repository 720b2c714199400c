//! A sheet read from a file: rows of typed cells with the row numbers a
//! spreadsheet shows, from CSV (text cells) or XLSX (numbers, dates,
//! booleans and text, as the workbook stores them).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use integritas_core::date::Date;

use crate::ExchangeError;

/// One cell as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A cell a workbook formats as a date.
    Date(Date),
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text (numbers without a needless `.0`, dates as YYYY-MM-DD).
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.trim().to_string(),
            Cell::Number(n) => number_text(*n),
            Cell::Bool(b) => b.to_string(),
            Cell::Date(d) => d.to_string(),
        }
    }
}

/// A number as a person writes it: `5`, not `5.0`.
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{n:.0}") } else { n.to_string() }
}

/// The rows of one sheet: each with its number as the spreadsheet shows
/// it (from 1), its cells from column A.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sheet {
    pub rows: Vec<(u32, Vec<Cell>)>,
}

/// The file formats a sheet is read from and written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
}

impl std::str::FromStr for Format {
    type Err = ExchangeError;

    fn from_str(s: &str) -> Result<Self, ExchangeError> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            "json" => Ok(Format::Json),
            other => Err(ExchangeError::Format(format!("`{other}` is not a format; use csv, xlsx or json"))),
        }
    }
}

impl Format {
    /// The format a file name's extension names.
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        path.extension()?.to_str()?.parse().ok()
    }
}

/// The letters of a column (0 → `A`, 26 → `AA`).
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// Reads a CSV file: UTF-8 (a byte-order mark is skipped), fields
/// separated by `,` or — as spreadsheets in many locales save them — `;`,
/// whichever the first line has more of.
pub fn read_csv(bytes: &[u8]) -> Result<Sheet, ExchangeError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ExchangeError::Unreadable(format!(
            "the CSV file is not UTF-8 text (at byte {}); save it as \"CSV UTF-8\"",
            e.valid_up_to()
        ))
    })?;
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches(';').count() > first.matches(',').count() { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // The row a spreadsheet shows: one per record (a quoted field may span
    // lines), blank lines counted, though the reader skips them.
    let mut row: u32 = 1;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(ExchangeError::Unreadable(format!("the CSV file cannot be read at row {row}: {e}"))),
        }
        let start = record.position().map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        row = row.saturating_add(blank_lines_at(text.as_bytes(), start));
        let cells =
            record.iter().map(|c| if c.trim().is_empty() { Cell::Empty } else { Cell::Text(c.to_string()) }).collect();
        rows.push((row, cells));
        row = row.saturating_add(1);
    }
    Ok(Sheet { rows })
}

/// The blank lines the CSV reader skipped before the record it says
/// starts at byte `start`: the line ends there, less the `\n` of a `\r\n`
/// that ended the record before (the reader stops between the two).
fn blank_lines_at(text: &[u8], start: usize) -> u32 {
    let run: Vec<u8> = text.iter().skip(start).take_while(|b| **b == b'\r' || **b == b'\n').copied().collect();
    let mut breaks = run.iter().filter(|b| **b == b'\n').count();
    if run.first() == Some(&b'\n') && start > 0 && text.get(start - 1) == Some(&b'\r') {
        breaks -= 1;
    }
    u32::try_from(breaks).unwrap_or(u32::MAX)
}

/// Reads rows written as JSON: what `plan export --format json` writes
/// (`{"columns": [{"id": …}], "rows": [{…}]}`), or a bare list of row
/// objects. The header is made of the column ids (those `columns` lists,
/// then any other key in the order rows first use it) and numbered row 0,
/// so each row's number is its position in `rows`, from 1. Values become
/// cells as they are; a list (the choices of a row) becomes its items
/// separated by `; `, as a sheet writes them.
pub fn read_json(bytes: &[u8]) -> Result<Sheet, ExchangeError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ExchangeError::Unreadable(format!("the file is not JSON: {e}")))?;
    let (declared, rows) = match &value {
        serde_json::Value::Array(rows) => (Vec::new(), rows),
        serde_json::Value::Object(o) => match o.get("rows") {
            Some(serde_json::Value::Array(rows)) => {
                let declared: Vec<String> = o
                    .get("columns")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.get("id").and_then(serde_json::Value::as_str).map(str::to_string))
                    .collect();
                (declared, rows)
            }
            _ => return Err(ExchangeError::Unreadable("the JSON object has no list `rows`".into())),
        },
        _ => {
            return Err(ExchangeError::Unreadable(
                "the JSON is neither a list of rows nor an object with `rows`".into(),
            ));
        }
    };
    let mut header = declared;
    for (i, row) in rows.iter().enumerate() {
        let Some(object) = row.as_object() else {
            return Err(ExchangeError::Unreadable(format!(
                "row {} of the JSON is not an object of column values",
                i + 1
            )));
        };
        for key in object.keys() {
            if !header.contains(key) {
                header.push(key.clone());
            }
        }
    }
    let mut sheet = Sheet { rows: vec![(0, header.iter().map(|h| Cell::Text(h.clone())).collect())] };
    for (i, row) in rows.iter().enumerate() {
        let cells = header.iter().map(|h| json_cell(row.get(h))).collect();
        sheet.rows.push((u32::try_from(i + 1).unwrap_or(u32::MAX), cells));
    }
    Ok(sheet)
}

fn json_cell(value: Option<&serde_json::Value>) -> Cell {
    use serde_json::Value;
    match value {
        None | Some(Value::Null) => Cell::Empty,
        Some(Value::String(s)) => Cell::Text(s.clone()),
        Some(Value::Number(n)) => n.as_f64().map_or_else(|| Cell::Text(n.to_string()), Cell::Number),
        Some(Value::Bool(b)) => Cell::Bool(*b),
        Some(Value::Array(items)) => {
            let words: Vec<String> =
                items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string)).collect();
            Cell::Text(words.join("; "))
        }
        Some(other) => Cell::Text(other.to_string()),
    }
}

/// Reads the first worksheet of an XLSX workbook.
pub fn read_xlsx(bytes: &[u8]) -> Result<Sheet, ExchangeError> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| ExchangeError::Unreadable(format!("the file is not an XLSX workbook: {e}")))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| ExchangeError::Unreadable("the workbook has no worksheet".into()))?
        .map_err(|e| ExchangeError::Unreadable(format!("the first worksheet cannot be read: {e}")))?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let mut cells = vec![Cell::Empty; first_col as usize];
        cells.extend(row.iter().map(cell_of));
        rows.push((first_row + u32::try_from(i).unwrap_or(u32::MAX - first_row) + 1, cells));
    }
    Ok(Sheet { rows })
}

fn cell_of(data: &Data) -> Cell {
    match data {
        Data::Empty | Data::Error(_) => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => excel_date(dt.as_f64()).map_or(Cell::Number(dt.as_f64()), Cell::Date),
        Data::DateTime(dt) => Cell::Number(dt.as_f64()),
        Data::DateTimeIso(s) => {
            s.get(..10).and_then(|d| d.parse().ok()).map_or_else(|| Cell::Text(s.clone()), Cell::Date)
        }
        Data::DurationIso(s) => Cell::Text(s.clone()),
    }
}

/// The date of an Excel serial day number (1900 system: day 1 is
/// 1900-01-01, and day 60 the 29 February 1900 that never was).
pub fn excel_date(serial: f64) -> Option<Date> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let day = serial.floor() as i64;
    let epoch = Date::new(1899, 12, 30)?;
    // Serials before 60 count from 1899-12-31 (Excel's phantom leap day comes after them).
    Some(if day < 60 { epoch.add_days(day + 1) } else { epoch.add_days(day) })
}

/// The Excel serial day number of a date (the inverse of [`excel_date`]).
pub fn excel_serial(date: Date) -> f64 {
    let epoch = Date::new(1899, 12, 30).map_or(0, |e| e.to_days());
    (date.to_days() - epoch) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_and_excel_dates() {
        let letters: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702].into_iter().map(column_letters).collect();
        assert_eq!(letters, ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
        for (serial, date) in
            [(1.0, "1900-01-01"), (59.0, "1900-02-28"), (61.0, "1900-03-01"), (44_593.0, "2022-02-01")]
        {
            assert_eq!(excel_date(serial).map(|d| d.to_string()).as_deref(), Some(date), "{serial}");
        }
        let day: Date = "2022-02-01".parse().expect("date");
        assert_eq!(excel_serial(day), 44_593.0);
    }

    #[test]
    fn csv_with_either_separator_a_bom_and_quoted_lines() {
        let comma =
            read_csv("\u{feff}a,b\n1,\"x, y\"\n\n3,\"two\nlines\"\r\n5,6\r\n\r\n\r\n7,8".as_bytes()).expect("reads");
        let shown: Vec<(u32, Vec<String>)> =
            comma.rows.iter().map(|(n, cells)| (*n, cells.iter().map(Cell::text).collect())).collect();
        assert_eq!(
            shown,
            [
                (1, vec!["a".to_string(), "b".into()]),
                (2, vec!["1".into(), "x, y".into()]),
                (4, vec!["3".into(), "two\nlines".into()]),
                (5, vec!["5".into(), "6".into()]),
                (8, vec!["7".into(), "8".into()]),
            ]
        );
        let semicolon = read_csv(b"a;b\n1,5;2\n").expect("reads");
        assert_eq!(semicolon.rows[1].1, [Cell::Text("1,5".into()), Cell::Text("2".into())]);
        let latin2 = read_csv(b"a\n\xe8\n");
        assert!(matches!(latin2, Err(ExchangeError::Unreadable(m)) if m.contains("CSV UTF-8")));
    }

    #[test]
    fn json_rows_as_the_export_writes_them_or_a_bare_list() {
        let export = br#"{"table": "t.r", "columns": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}],
            "rows": [{"b": 2, "a": "x"}, {"a": null, "c": ["d", "e"], "b": true}]}"#;
        let sheet = read_json(export).expect("reads");
        let shown: Vec<(u32, Vec<Cell>)> = sheet.rows;
        assert_eq!(
            shown,
            [
                (0, vec![Cell::Text("a".into()), Cell::Text("b".into()), Cell::Text("c".into())]),
                (1, vec![Cell::Text("x".into()), Cell::Number(2.0), Cell::Empty]),
                (2, vec![Cell::Empty, Cell::Bool(true), Cell::Text("d; e".into())]),
            ]
        );
        let bare = read_json(br#"[{"a": 1}]"#).expect("reads");
        assert_eq!(bare.rows.len(), 2);
        for (bad, words) in [
            (&b"{"[..], "not JSON"),
            (b"{\"columns\": []}", "no list `rows`"),
            (b"[1]", "row 1 of the JSON is not an object"),
            (b"7", "neither a list of rows"),
        ] {
            match read_json(bad) {
                Err(ExchangeError::Unreadable(m)) => assert!(m.contains(words), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
