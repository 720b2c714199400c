//! Sheets as a spreadsheet app writes them, for the import tests
//! (`#[path = "support/sheets.rs"] mod sheets;`).

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::Value;

/// A workbook as a spreadsheet app writes it: the header, then each row's
/// cells (dates as date cells, numbers as numbers).
pub fn workbook(header: &[String], rows: &[Vec<Value>]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    for (c, title) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, title).expect("header");
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, value) in row.iter().enumerate() {
            let c = c as u16;
            match value {
                Value::Null => {}
                Value::Number(n) => {
                    sheet.write_number(r, c, n.as_f64().expect("a number")).expect("number");
                }
                Value::String(s) => {
                    match ExcelDateTime::parse_from_str(s).ok().filter(|_| s.len() == 10 && s.as_bytes()[4] == b'-') {
                        Some(day) => {
                            sheet.write_datetime_with_format(r, c, &day, &date).expect("date");
                        }
                        None => {
                            sheet.write_string(r, c, s).expect("text");
                        }
                    }
                }
                other => {
                    sheet.write_string(r, c, other.to_string()).expect("text");
                }
            }
        }
    }
    workbook.save_to_buffer().expect("save")
}
