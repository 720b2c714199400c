//! Issue 11, item 5: imports and exports through the real binary and the
//! real packs — a register imported from CSV, XLSX and JSON with every
//! problem by row and column before anything is saved, tables and reports
//! exported and read back to the same rows, anonymous answers kept out of
//! both, and the deadlines as an iCalendar feed a calendar app reads.

#[path = "support/sheets.rs"]
mod sheets;

use std::path::{Path, PathBuf};

use integritas_tests::Install;
use serde_json::Value;
use sheets::workbook;

/// A Montenegrin plan from the pack's sample, opened for revision so that
/// `save_register` (manager) may replace its register.
fn revised_plan(install: &Install) {
    let institution = ["institution", "add", "--id", "opstina", "--name", "Opština Kolašin", "--jurisdiction", "me"];
    install.ok("2026-05-01", &institution);
    install.ok("2026-05-01", &["plan", "new", "--institution", "opstina", "--workflow", "me/annual"]);
    install.ok("2026-05-01", &["plan", "import", "plan-1", "opstina"]);
    assert_eq!(
        install.ok("2026-05-02", &["plan", "fire", "plan-1", "amend_plan", "--as", "head"])["state"],
        "revision"
    );
}

const TODAY: &str = "2026-05-02";

/// Exports a table or report to a file; returns the path.
#[track_caller]
fn export(install: &Install, name: &str, file: &str, extra: &[&str]) -> PathBuf {
    let out = install.dir.path().join(file);
    let out_text = out.display().to_string();
    let mut args = vec!["plan", "export", "plan-1", name, "--out", &out_text];
    args.extend(extra);
    let run = install.run(TODAY, &args);
    assert_eq!(run.code, 0, "export {name}: {}{}", run.stdout, run.stderr);
    out
}

/// The register as the plan stores it, through the JSON export.
fn register(install: &Install) -> Value {
    let json = std::fs::read(export(install, "register.risks", "now.json", &[])).expect("read");
    serde_json::from_slice(&json).expect("the JSON export is JSON")
}

fn event_count(install: &Install) -> usize {
    install.ok(TODAY, &["plan", "history", "plan-1"]).as_array().map_or(0, Vec::len)
}

fn import(install: &Install, file: &Path) -> integritas_tests::Run {
    let file = file.display().to_string();
    install.run(
        TODAY,
        &["plan", "import", "plan-1", "register.risks", &file, "--event", "save_register", "--as", "manager", "--json"],
    )
}

#[test]
fn a_register_exported_as_csv_xlsx_or_json_imports_back_to_the_same_rows() {
    let install = Install::default();
    revised_plan(&install);
    let before = register(&install);
    let rows = before["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 6);
    // CSV and XLSX in the pack's language and in English, JSON as stored.
    for (file, extra) in [
        ("risks.csv", &[][..]),
        ("risks.xlsx", &[][..]),
        ("risks.json", &[][..]),
        ("risks-en.csv", &["--lang", "en"][..]),
        ("risks-en.xlsx", &["--lang", "en"][..]),
    ] {
        let events = event_count(&install);
        let path = export(&install, "register.risks", file, extra);
        let run = import(&install, &path);
        assert_eq!(run.code, 0, "{file}: {}{}", run.stdout, run.stderr);
        assert_eq!(run.json()["imported"]["rows"], 6, "{file}");
        assert_eq!(event_count(&install), events + 1, "{file}: one event per import");
        assert_eq!(register(&install)["rows"], before["rows"], "{file} did not round-trip");
    }
    // The CSV is for people: titles, choices by their labels, a BOM for spreadsheets.
    let csv = std::fs::read(export(&install, "register.risks", "people.csv", &["--lang", "en"])).expect("read");
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let header = String::from_utf8_lossy(&csv).lines().next().unwrap_or_default().to_string();
    let english = std::fs::read(export(&install, "register.risks", "en.json", &["--lang", "en"])).expect("read");
    let english: Value = serde_json::from_slice(&english).expect("JSON");
    let impact = english["columns"].as_array().into_iter().flatten().find(|c| c["id"] == "impact").expect("impact");
    let title = impact["title"].as_str().expect("a title");
    assert!(title != "Posljedice" && header.contains(title), "`{title}` not in {header}");
    let xlsx = std::fs::read(export(&install, "register.risks", "people.xlsx", &[])).expect("read");
    assert!(xlsx.starts_with(b"PK"), "an XLSX is a zip");
}

/// A CSV line, every field quoted.
fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
    quoted.join(",") + "\n"
}

/// A stored cell as a person would type it into a sheet.
fn typed(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The sheet column (`A`, `B`, …) of a register column, from the export's columns.
fn letter(columns: &[Value], id: &str) -> String {
    let index = columns.iter().position(|c| c["id"] == id).unwrap_or_else(|| panic!("no column {id}"));
    assert!(index < 26);
    char::from(b'A' + index as u8).to_string()
}

/// (row, column, code) of each problem an import reported.
fn problems(run: &integritas_tests::Run) -> Vec<(u64, String, String)> {
    assert_eq!(run.code, 1, "the import should have been refused: {}{}", run.stdout, run.stderr);
    let body = run.json();
    assert_eq!(body["error"]["code"], "invalid");
    body["error"]["rows"]
        .as_array()
        .expect("problems by row")
        .iter()
        .map(|p| {
            assert!(!p["message"].as_str().unwrap_or_default().is_empty());
            (
                p["row"].as_u64().unwrap_or(0),
                p["column"].as_str().unwrap_or_default().to_string(),
                p["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_bad_csv_is_refused_with_every_problem_by_row_and_column_and_nothing_is_saved() {
    let install = Install::default();
    revised_plan(&install);
    let before = register(&install);
    let columns = before["columns"].as_array().expect("columns").clone();
    let rows = before["rows"].as_array().expect("rows").clone();
    let cell = |row: &Value, id: &str| typed(&row[id]);
    let mut header: Vec<String> = columns.iter().map(|c| c["title"].as_str().unwrap_or_default().to_string()).collect();
    header.push("Nepoznata kolona".into());
    let line = |row: &Value, change: &[(&str, &str)]| {
        let mut fields: Vec<String> = columns
            .iter()
            .map(|c| {
                let id = c["id"].as_str().unwrap_or_default();
                change.iter().find(|(k, _)| *k == id).map_or_else(|| cell(row, id), |(_, v)| v.to_string())
            })
            .collect();
        fields.push("x".into());
        csv_line(&fields)
    };
    // Sheet rows: 1 header, 2-3 data, 4 blank, 5 a cell over two lines, 6-7 data.
    let mut text = csv_line(&header);
    text += &line(&rows[0], &[("probability", "jedanaest")]);
    text += &line(&rows[1], &[("impact", "11")]);
    text += "\n";
    text += &line(&rows[2], &[("deadline", "31.02.2025"), ("measure", "prvi red\ndrugi red")]);
    text += &line(&rows[3], &[("id", "")]);
    text += &line(&rows[4], &[]);
    let file = install.dir.path().join("bad.csv");
    std::fs::write(&file, text).expect("write");
    let events = event_count(&install);
    let found = problems(&import(&install, &file));
    let at = |row: u64, id: &str, code: &str| (row, letter(&columns, id), code.to_string());
    let extra = char::from(b'A' + columns.len() as u8).to_string();
    assert_eq!(
        found,
        [
            (1, extra, "import.unknown_header".to_string()),
            at(2, "probability", "problem.wrong_kind"),
            at(3, "impact", "problem.out_of_range"),
            at(5, "deadline", "problem.not_a_date"),
            at(6, "id", "problem.required_in_row"),
        ]
    );
    assert_eq!(event_count(&install), events, "a refused import records nothing");
    assert_eq!(register(&install)["rows"], before["rows"]);

    // The same refusal in words, one line per problem.
    let plain = install.run(
        TODAY,
        &[
            "plan",
            "import",
            "plan-1",
            "register.risks",
            &file.display().to_string(),
            "--event",
            "save_register",
            "--as",
            "manager",
        ],
    );
    assert_eq!(plain.code, 1);
    let deadline = format!("row 5, column {} (", letter(&columns, "deadline"));
    assert!(plain.stderr.lines().any(|l| l.starts_with(&deadline) && l.contains("31.02.2025")), "{}", plain.stderr);
    assert!(plain.stderr.contains("nothing was imported or recorded"), "{}", plain.stderr);
}

#[test]
fn an_xlsx_with_date_and_number_cells_imports_and_a_bad_one_says_where() {
    let install = Install::default();
    revised_plan(&install);
    let before = register(&install);
    let columns = before["columns"].as_array().expect("columns").clone();
    let rows = before["rows"].as_array().expect("rows").clone();
    let header: Vec<String> = columns.iter().map(|c| c["title"].as_str().unwrap_or_default().to_string()).collect();
    let ids: Vec<&str> = columns.iter().map(|c| c["id"].as_str().unwrap_or_default()).collect();
    let cells = |row: &Value, change: &[(&str, Value)]| -> Vec<Value> {
        ids.iter()
            .map(|id| change.iter().find(|(k, _)| k == id).map_or_else(|| row[*id].clone(), |(_, v)| v.clone()))
            .collect()
    };

    // Bad: text in a number cell, a date that is not one, a choice the column does not offer.
    let bad = install.dir.path().join("bad.xlsx");
    let bad_rows = vec![
        cells(&rows[0], &[("impact", Value::from("visok"))]),
        cells(&rows[1], &[("deadline", Value::from("2025-13-01"))]),
        cells(&rows[2], &[("area_kind", Value::from("nepoznata"))]),
    ];
    std::fs::write(&bad, workbook(&header, &bad_rows)).expect("write the sheet");
    let events = event_count(&install);
    let found = problems(&import(&install, &bad));
    let at = |row: u64, id: &str, code: &str| (row, letter(&columns, id), code.to_string());
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0], at(2, "impact", "problem.wrong_kind"));
    assert_eq!(found[1], at(3, "deadline", "problem.not_a_date"));
    assert_eq!((found[2].0, found[2].1.as_str()), (4, letter(&columns, "area_kind").as_str()), "{found:?}");
    assert_eq!(event_count(&install), events, "a refused import records nothing");

    // Good: whole numbers as the floats a workbook holds, dates as date cells.
    let good = install.dir.path().join("good.xlsx");
    let changed = [("probability", Value::from(2.0)), ("deadline", Value::from("2025-12-15"))];
    let good_rows: Vec<Vec<Value>> =
        rows.iter().enumerate().map(|(i, r)| if i == 0 { cells(r, &changed) } else { cells(r, &[]) }).collect();
    std::fs::write(&good, workbook(&header, &good_rows)).expect("write the sheet");
    let run = import(&install, &good);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(event_count(&install), events + 1);
    let after = register(&install);
    assert_eq!(after["rows"][0]["probability"], 2, "a whole number, not 2.0");
    assert_eq!(after["rows"][0]["deadline"], "2025-12-15");
    assert_eq!(after["rows"].as_array().expect("rows")[1..], rows[1..]);
}

#[test]
fn reports_and_measures_export_as_csv_xlsx_and_json() {
    let install = Install::default();
    revised_plan(&install);
    // The register's scores: one row per risk, the risk's column named as in the register.
    let report = std::fs::read_to_string(export(&install, "scores.risk_scores", "scores.json", &[])).expect("read");
    let report: Value = serde_json::from_str(&report).expect("JSON");
    assert_eq!(report["rows"].as_array().map(Vec::len), Some(6), "{report}");
    assert!(report["provenance"].is_object(), "a report says which plugin computed it: {report}");
    let csv = std::fs::read_to_string(export(&install, "scores.risk_scores", "scores.csv", &[])).expect("read");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(lines[0].contains("Oznaka") && lines[1].contains("1.1"), "{csv}");
    let xlsx = std::fs::read(export(&install, "scores.risk_scores", "scores.xlsx", &[])).expect("read");
    assert!(xlsx.starts_with(b"PK"));
    // The manager's report's measures table.
    let measures =
        std::fs::read_to_string(export(&install, "manager_report.measures", "measures.json", &[])).expect("read");
    let measures: Value = serde_json::from_str(&measures).expect("JSON");
    assert!(measures["rows"].as_array().is_some_and(|r| !r.is_empty()), "{measures}");
    // Something that is not there is named with what is.
    let run = install.run(TODAY, &["plan", "export", "plan-1", "register.riscs", "--json"]);
    assert_eq!(run.code, 1);
    let message = run.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("register.risks"), "{message}");
}

#[test]
fn anonymous_answers_are_never_exported_or_imported_row_by_row() {
    let install = Install::default();
    revised_plan(&install);
    for format in ["csv", "xlsx", "json"] {
        let run = install
            .run(TODAY, &["plan", "export", "plan-1", "questionnaire_answers.responses", "--format", format, "--json"]);
        assert_eq!(run.code, 1, "{format}: {}", run.stdout);
        let message = run.json()["error"]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("anonymous answers"), "{message}");
    }
    let sheet = install.dir.path().join("answers.csv");
    std::fs::write(&sheet, "process,exposure\nNabavke,7\n").expect("write");
    let events = event_count(&install);
    let run = install.run(
        TODAY,
        &[
            "plan",
            "import",
            "plan-1",
            "questionnaire_answers.responses",
            &sheet.display().to_string(),
            "--event",
            "answer_questionnaire",
            "--as",
            "employee",
        ],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("anonymous answers"), "{}", run.stderr);
    assert_eq!(event_count(&install), events);
}

/// The feed of `plan calendar` on a day.
fn feed(install: &Install, today: &str) -> String {
    let run = install.run(today, &["plan", "calendar", "plan-1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

#[test]
fn the_deadlines_are_an_icalendar_feed_with_stable_uids() {
    use icalendar::{Component, DatePerhapsTime};

    let install = Install::default();
    install.ok(
        "2022-11-01",
        &["institution", "add", "--id", "grad", "--name", "Grad Primer, Šabac", "--jurisdiction", "rs"],
    );
    install.ok("2022-11-01", &["plan", "new", "--institution", "grad", "--workflow", "rs/three_phase"]);
    install.ok("2022-11-02", &["plan", "import", "plan-1", "grad_primer"]);
    let ics = feed(&install, "2022-11-02");

    // RFC 5545 §3.1: CRLF line ends, lines of at most 75 octets, continuations start with a space.
    assert!(ics.ends_with("\r\n") && !ics.replace("\r\n", "").contains('\n'), "bare LF in the feed");
    let lines: Vec<&str> = ics.trim_end_matches("\r\n").split("\r\n").collect();
    for line in &lines {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    let unfolded: Vec<String> =
        ics.replace("\r\n ", "").trim_end_matches("\r\n").split("\r\n").map(str::to_string).collect();
    assert!(lines.iter().any(|l| l.starts_with(' ')), "nothing long enough to fold?");
    assert_eq!(unfolded.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(unfolded.last().map(String::as_str), Some("END:VCALENDAR"));
    assert!(unfolded.iter().any(|l| l == "VERSION:2.0") && unfolded.iter().any(|l| l.starts_with("PRODID:")));
    let starts: Vec<&String> = unfolded.iter().filter(|l| l.starts_with("DTSTART")).collect();
    assert!(!starts.is_empty());
    for start in &starts {
        let date = start.strip_prefix("DTSTART;VALUE=DATE:").unwrap_or_else(|| panic!("not an all-day date: {start}"));
        assert!(date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()), "{start}");
    }
    assert_eq!(unfolded.iter().filter(|l| *l == "BEGIN:VEVENT").count(), starts.len());

    // An iCalendar parser reads it: one event per deadline occurrence, all-day, each with a UID.
    let calendar: icalendar::Calendar = ics.parse().expect("the feed parses");
    let events: Vec<&icalendar::Event> = calendar.events().collect();
    assert_eq!(events.len(), starts.len());
    let mut uids = Vec::new();
    for event in &events {
        assert!(matches!(event.get_start(), Some(DatePerhapsTime::Date(_))), "{event:?}");
        assert!(event.get_summary().is_some_and(|s| !s.is_empty()));
        uids.push(event.get_uid().expect("a UID").to_string());
    }
    let mut unique = uids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), uids.len(), "UIDs repeat: {uids:?}");
    // The deadlines of the plan, as `plan show` lists the open ones, are all in it.
    let shown = install.ok("2022-11-02", &["plan", "show", "plan-1"]);
    for due in shown["due"].as_array().into_iter().flatten() {
        let day = due["due"].as_str().unwrap_or_default().replace('-', "");
        assert!(starts.iter().any(|s| s.ends_with(&day)), "{due} is not in the feed");
    }

    // A calendar app that subscribes sees the same events the next time it looks.
    let later: icalendar::Calendar = feed(&install, "2023-01-15").parse().expect("parses");
    let later_uids: Vec<String> = later.events().filter_map(|e| e.get_uid().map(str::to_string)).collect();
    assert_eq!(later_uids, uids);
}
