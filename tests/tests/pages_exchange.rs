//! Imports, exports and the deadlines feed of the pages (issue 11, item 5)
//! against a real server (127.0.0.1, real sled, the bundled packs and
//! plugins): a sheet with bad rows is refused with each problem by its
//! sheet row and column and nothing is recorded, a good one fires the
//! event; the register, the measures and the reports download as CSV,
//! XLSX and JSON whose rows read back equal the plan's; the iCalendar
//! feed needs no cookie, parses, lists the plan's deadlines and stops with
//! its secret; another institution's user sees none of it. In real
//! Chromium: the upload form, its errors, axe-core and a phone's width.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/sheets.rs"]
mod sheets;

use browser::{Browser, axe_source};
use integritas_exchange::{Cell, sheet};
use integritas_server::client::Response;
use integritas_tests::pages::{Session, attrs, get, session};
use integritas_tests::server::TestServer;
use serde_json::{Value, json};
use sheets::workbook;

/// A Montenegrin municipality with the pack's sample plan, opened for
/// revision so that its manager may save the register again. Returns the
/// plan's id and the manager's bearer token.
fn plan_in_revision(server: &TestServer, institution: &str, suffix: &str) -> String {
    server.expect(
        201,
        "POST",
        "/api/v1/institutions",
        Some(&server.admin),
        Some(json!({"id": institution, "name": format!("Opština {suffix}"), "jurisdiction": "me"})),
    );
    let head = server.user(&format!("head-{suffix}"), &[(institution, "head")], None);
    server.user(&format!("manager-{suffix}"), &[(institution, "manager")], None);
    let made = server.expect(
        201,
        "POST",
        "/api/v1/plans",
        Some(&head),
        Some(json!({"institution": institution, "sample": "opstina"})),
    );
    let id = made["plan"]["id"].as_str().expect("plan id").to_string();
    let fired = server.expect(
        201,
        "POST",
        &format!("/api/v1/plans/{id}/events"),
        Some(&head),
        Some(json!({"event": "amend_plan", "as": "head"})),
    );
    assert_eq!(fired["state"], "revision", "{fired}");
    id
}

fn history_len(server: &TestServer, plan: &str) -> usize {
    let history =
        server.expect(200, "GET", &format!("/api/v1/plans/{plan}/history?limit=1000"), Some(&server.admin), None);
    history["items"].as_array().map_or(0, Vec::len)
}

fn stored_risks(server: &TestServer, plan: &str) -> Vec<Value> {
    let form = server.expect(200, "GET", &format!("/api/v1/plans/{plan}/forms/register"), Some(&server.admin), None);
    form["data"]["risks"].as_array().expect("risks").clone()
}

/// The register's columns (ids, titles) as its JSON export gives them in `lang`.
fn register_columns(server: &TestServer, session: &Session, plan: &str, lang: &str) -> Vec<(String, String)> {
    let json = get(server, session, &format!("/plans/{plan}/exports/register.risks.json?lang={lang}")).json();
    json["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            (c["id"].as_str().unwrap_or_default().to_string(), c["title"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

/// The stored rows as sheet rows of these columns, with some cells changed.
fn sheet_rows(columns: &[(String, String)], rows: &[Value], changes: &[(usize, &str, Value)]) -> Vec<Vec<Value>> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            columns
                .iter()
                .map(|(id, _)| {
                    changes
                        .iter()
                        .find(|(r, c, _)| *r == i && c == id)
                        .map_or_else(|| row[id.as_str()].clone(), |(_, _, v)| v.clone())
                })
                .collect()
        })
        .collect()
}

/// A `multipart/form-data` body: the fields, then the file.
fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "integritas-test-0c2b7f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            file.0
        )
        .bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn upload(
    server: &TestServer,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
    file: (&str, &[u8]),
) -> Response {
    let (content_type, body) = multipart(fields, file);
    server.raw("POST", path, &[("Cookie", &session.cookie), ("Content-Type", &content_type)], &body)
}

/// The (row, column) of each problem an import page lists.
fn listed(html: &str) -> Vec<(String, String)> {
    let rows = attrs(html, "data-row");
    let columns = attrs(html, "data-column");
    rows.into_iter().zip(columns).collect()
}

const TARGET: &str = "register.risks:save_register";

#[test]
fn a_sheet_with_bad_rows_is_refused_row_by_row_and_saves_nothing_then_a_good_one_is_imported() {
    let server = TestServer::start();
    let plan = plan_in_revision(&server, "opstina-x", "x");
    let manager = session(&server, "manager-x");
    let columns = register_columns(&server, &manager, &plan, "cnr");
    let header: Vec<String> = columns.iter().map(|(_, t)| t.clone()).collect();
    let at = |id: &str| sheet::column_letters(columns.iter().position(|(c, _)| c == id).expect("column"));
    let rows = stored_risks(&server, &plan);
    assert!(rows.len() >= 4, "the sample has a register");
    let before = history_len(&server, &plan);
    let path = format!("/plans/{plan}/import?lang=cnr");

    // The page offers the register to its manager, by the pack's labels.
    let page = get(&server, &manager, &path);
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(attrs(&page.text(), "value").iter().any(|v| v == TARGET), "{}", page.text());
    assert!(page.text().contains("enctype=\"multipart/form-data\""));

    // A date that is none (sheet row 3) and a probability past the scale (row 5).
    let bad = workbook(
        &header,
        &sheet_rows(&columns, &rows, &[(1, "deadline", json!("2025-13-01")), (3, "probability", json!(11))]),
    );
    let fields = [("_csrf", manager.csrf.as_str()), ("target", TARGET), ("_as", "manager")];
    let refused = upload(&server, &manager, &path, &fields, ("registar.xlsx", &bad[..]));
    assert_eq!(refused.status, 422, "{}", refused.text());
    let html = refused.text();
    assert_eq!(
        listed(&html),
        [("3".to_string(), at("deadline")), ("5".to_string(), at("probability"))],
        "each problem at its sheet row and column: {html}"
    );
    // In the user's language (Montenegrin), the header as the sheet writes it.
    assert!(html.contains("nije datum") && html.contains("2025-13-01"), "{html}");
    let deadline_title = &columns.iter().find(|(c, _)| c == "deadline").expect("deadline").1;
    assert!(html.contains(&format!("{} ({deadline_title})", at("deadline"))), "{html}");
    assert!(html.contains("Ništa iz datoteke registar.xlsx nije sačuvano"), "{html}");
    assert_eq!(history_len(&server, &plan), before, "a refused import records nothing");
    assert_eq!(stored_risks(&server, &plan), rows);

    // A file that is not a sheet, a missing CSRF token, a role that may not save the register.
    let garbage = upload(&server, &manager, &path, &fields, ("registar.xlsx", &b"PK no zip"[..]));
    assert_eq!(garbage.status, 422);
    assert!(garbage.text().contains("ne može da se pročita kao XLSX"), "{}", garbage.text());
    let no_csrf = upload(&server, &manager, &path, &[("target", TARGET), ("_as", "manager")], ("r.xlsx", &bad[..]));
    assert_eq!(no_csrf.status, 403);
    let head = session(&server, "head-x");
    let as_head = [("_csrf", head.csrf.as_str()), ("target", TARGET), ("_as", "head")];
    assert_eq!(upload(&server, &head, &path, &as_head, ("r.xlsx", &bad[..])).status, 403);
    assert_eq!(history_len(&server, &plan), before, "nothing recorded by any of them");
    // A sheet over the import's limit (larger than the pages' 1 MiB, as sheets with styles
    // are, is taken): refused on the page, in the user's language, nothing recorded.
    let heavy = vec![b'x'; 2 * 1024 * 1024];
    let read = upload(&server, &manager, &path, &fields, ("registar.csv", &heavy[..]));
    assert_eq!(read.status, 422, "a 2 MiB sheet is read (and refused for its content only)");
    let huge = vec![b'x'; 9 * 1024 * 1024];
    let too_large = upload(&server, &manager, &path, &fields, ("registar.xlsx", &huge[..]));
    assert_eq!(too_large.status, 413, "{}", too_large.text());
    assert!(too_large.text().contains("veća od dozvoljenih 8 MB"), "{}", too_large.text());
    assert_eq!(history_len(&server, &plan), before, "nothing recorded for the large sheets");

    // A good CSV (as a spreadsheet saves it, `;`-separated): fired, the register holds its rows.
    let mut csv = String::from("\u{feff}");
    let line = |cells: Vec<String>| {
        cells.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect::<Vec<_>>().join(";")
    };
    csv += &line(header.clone());
    csv += "\r\n";
    for row in sheet_rows(&columns, &rows, &[(0, "probability", json!(2))]) {
        csv += &line(
            row.iter()
                .map(|v| {
                    v.as_str().map_or_else(|| if v.is_null() { String::new() } else { v.to_string() }, str::to_string)
                })
                .collect(),
        );
        csv += "\r\n";
    }
    let done = upload(&server, &manager, &path, &fields, ("registar.csv", csv.as_bytes()));
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(done.header("location"), Some(format!("/plans/{plan}?fired=save_register").as_str()));
    assert_eq!(history_len(&server, &plan), before + 1);
    let after = stored_risks(&server, &plan);
    assert_eq!(after[0]["probability"], 2);
    assert_eq!(after[1..], rows[1..]);
    let register = get(&server, &manager, &format!("/plans/{plan}/register")).text();
    let ids: Vec<String> = attrs(&register, "data-risk");
    let stored_ids: Vec<String> = rows.iter().map(|r| r["id"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(ids, stored_ids);
}

/// The cells of a sheet's data rows, by column id (the header is row 1).
fn read_back(bytes: &[u8], xlsx: bool) -> (Vec<String>, Vec<Vec<Cell>>) {
    let sheet = if xlsx { sheet::read_xlsx(bytes) } else { sheet::read_csv(bytes) }.expect("the export reads back");
    let mut rows = sheet.rows.into_iter().map(|(_, cells)| cells);
    let header = rows.next().expect("a header").iter().map(Cell::text).collect();
    (header, rows.collect())
}

/// A stored value as the text of its cell in a CSV or XLSX export.
fn as_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn the_register_measures_and_reports_download_as_csv_xlsx_and_json_equal_to_the_plan() {
    let server = TestServer::start();
    let plan = plan_in_revision(&server, "opstina-x", "x");
    let manager = session(&server, "manager-x");
    let rows = stored_risks(&server, &plan);
    let scores = server.expect(200, "GET", &format!("/api/v1/plans/{plan}/scores"), Some(&server.admin), None);

    // The register, in English: JSON rows as stored (with their score), CSV and XLSX cells as the rows.
    let json = get(&server, &manager, &format!("/plans/{plan}/register.json?lang=en"));
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(
        json.header("content-disposition"),
        Some(format!("attachment; filename=\"{plan}-register.json\"").as_str())
    );
    let json = json.json();
    let ids: Vec<&str> = json["columns"].as_array().expect("columns").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids.last(), Some(&"level"));
    for (exported, stored) in json["rows"].as_array().expect("rows").iter().zip(&rows) {
        for (key, value) in stored.as_object().expect("row") {
            assert_eq!(&exported[key.as_str()], value, "{key}");
        }
        assert!(exported["score"].is_i64(), "{exported}");
    }
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(rows.len()));
    let plain_columns = ["id", "probability", "impact", "area"];
    for (ext, content_type) in [
        ("csv", "text/csv; charset=utf-8"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ] {
        let file = get(&server, &manager, &format!("/plans/{plan}/register.{ext}?lang=en"));
        assert_eq!(file.status, 200, "{ext}");
        assert_eq!(file.header("content-type"), Some(content_type));
        assert_eq!(
            file.header("content-disposition"),
            Some(format!("attachment; filename=\"{plan}-register.{ext}\"").as_str())
        );
        let (header, cells) = read_back(&file.body, ext == "xlsx");
        let titles: Vec<&str> =
            json["columns"].as_array().expect("c").iter().filter_map(|c| c["title"].as_str()).collect();
        assert_eq!(header, titles, "{ext}: headers in English");
        assert_eq!(cells.len(), rows.len(), "{ext}");
        for (row, stored) in cells.iter().zip(&rows) {
            for id in plain_columns {
                let at = ids.iter().position(|c| *c == id).expect("column");
                assert_eq!(row[at].text(), as_text(&stored[id]), "{ext} {id}");
            }
            let deadline = ids.iter().position(|c| *c == "deadline").expect("deadline");
            let date = stored["deadline"].as_str().expect("a deadline");
            match &row[deadline] {
                Cell::Date(d) => assert_eq!(d.to_string(), date, "an XLSX date cell"),
                other => assert_eq!(other.text(), date, "{ext}"),
            }
        }
    }
    // The filters hold in every format.
    let filtered = get(&server, &manager, &format!("/plans/{plan}/register.xlsx?level=visok"));
    let (_, cells) = read_back(&filtered.body, true);
    assert_eq!(cells.iter().map(|r| r[0].text()).collect::<Vec<_>>(), ["3.1", "6.1"]);

    // The measures table and the risk report through the exports page's links.
    let page = get(&server, &manager, &format!("/plans/{plan}/exports?lang=en")).text();
    let links = attrs(&page, "href");
    for link in ["manager_report.measures.xlsx", "register.risks.csv", "scores.risk_scores.json"] {
        assert!(links.iter().any(|l| l.ends_with(link)), "{link} offered: {links:?}");
    }
    assert!(!links.iter().any(|l| l.contains("questionnaire_answers")), "anonymous answers are not offered");
    let report =
        server.expect(200, "GET", &format!("/api/v1/plans/{plan}/forms/manager_report"), Some(&server.admin), None);
    let measures = report["data"]["measures"].as_array().expect("measures").clone();
    let measures_json = get(&server, &manager, &format!("/plans/{plan}/exports/manager_report.measures.json")).json();
    assert_eq!(measures_json["rows"].as_array().expect("rows"), &measures);
    let xlsx = get(&server, &manager, &format!("/plans/{plan}/exports/manager_report.measures.xlsx"));
    assert_eq!(
        xlsx.header("content-disposition"),
        Some(format!("attachment; filename=\"{plan}-manager_report.measures.xlsx\"").as_str())
    );
    let (_, cells) = read_back(&xlsx.body, true);
    let measure_ids: Vec<&str> =
        measures_json["columns"].as_array().expect("c").iter().filter_map(|c| c["id"].as_str()).collect();
    let id_at = measure_ids.iter().position(|c| *c == "id").expect("an id column");
    assert_eq!(
        cells.iter().map(|r| r[id_at].text()).collect::<Vec<_>>(),
        measures.iter().map(|m| as_text(&m["id"])).collect::<Vec<_>>()
    );
    let risks = scores["risk_scores"]["value"]["risks"].as_array().expect("scored").clone();
    let report_json = get(&server, &manager, &format!("/plans/{plan}/exports/scores.risk_scores.json")).json();
    assert_eq!(report_json["rows"].as_array().expect("rows"), &risks);
    let report_csv = get(&server, &manager, &format!("/plans/{plan}/exports/scores.risk_scores.csv"));
    let (header, cells) = read_back(&report_csv.body, false);
    let report_ids: Vec<&str> =
        report_json["columns"].as_array().expect("columns").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(header.len(), report_ids.len());
    let score_at = report_ids.iter().position(|h| *h == "score").expect("a score column");
    assert_eq!(
        cells.iter().map(|r| r[score_at].text()).collect::<Vec<_>>(),
        risks.iter().map(|r| as_text(&r["score"])).collect::<Vec<_>>()
    );

    // Anonymous answers never leave row by row; unknown tables and formats are 404.
    for path in [
        "exports/questionnaire_answers.responses.csv",
        "exports/questionnaire_answers.responses.json",
        "exports/register.nothing.csv",
        "exports/scores.nothing.xlsx",
        "exports/register.risks.pdf",
    ] {
        assert_eq!(get(&server, &manager, &format!("/plans/{plan}/{path}")).status, 404, "{path}");
    }

    // Another institution's user: the same 404 as for a plan that does not exist.
    plan_in_revision(&server, "opstina-y", "y");
    let other = session(&server, "manager-y");
    for path in ["import", "exports", "exports/register.risks.csv", "register.xlsx", "register.csv"] {
        assert_eq!(get(&server, &other, &format!("/plans/{plan}/{path}")).status, 404, "{path}");
    }
    let fields = [("_csrf", other.csrf.as_str()), ("target", TARGET), ("_as", "manager")];
    let posted = upload(&server, &other, &format!("/plans/{plan}/import"), &fields, ("r.csv", &b"id\n1\n"[..]));
    assert_eq!(posted.status, 404);
}

/// Makes (or remakes) the user's feed; returns its path.
fn make_feed(server: &TestServer, session: &Session) -> String {
    let body = format!("_csrf={}&_action=create", session.csrf);
    let made = server.raw(
        "POST",
        "/calendar",
        &[("Cookie", &session.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(made.status, 200, "{}", made.text());
    assert_eq!(made.header("cache-control"), Some("no-store"));
    let html = made.text();
    let url = attrs(&html, "value").into_iter().find(|v| v.ends_with(".ics")).expect("the feed's address");
    let path = url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|at| rest[at..].to_string()));
    path.expect("a path")
}

#[test]
fn the_deadlines_feed_is_an_icalendar_subscription_by_secret_address() {
    use icalendar::Component;

    let server = TestServer::start();
    let plan = plan_in_revision(&server, "opstina-x", "x");
    let other_plan = plan_in_revision(&server, "opstina-y", "y");
    let head = session(&server, "head-x");
    let page = get(&server, &head, "/calendar");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("value=\"create\""));
    let feed = make_feed(&server, &head);
    assert!(feed.starts_with("/calendar/") && feed.ends_with(".ics"), "{feed}");
    let secret = feed.trim_start_matches("/calendar/").trim_end_matches(".ics");
    assert!(secret.len() >= 64, "a long secret");

    // No cookie: a calendar app has none.
    let ics = server.raw("GET", &feed, &[], b"");
    assert_eq!(ics.status, 200, "{}", ics.text());
    assert_eq!(ics.header("content-type"), Some("text/calendar; charset=utf-8"));
    let calendar: icalendar::Calendar = ics.text().parse().expect("the feed parses");
    let events: Vec<&icalendar::Event> = calendar.events().collect();
    assert!(!events.is_empty());
    let uids: Vec<String> = events.iter().filter_map(|e| e.get_uid().map(str::to_string)).collect();
    assert!(uids.iter().all(|u| u.starts_with(&format!("{plan}-"))), "only the plan the user reads: {uids:?}");
    assert!(!uids.iter().any(|u| u.starts_with(&format!("{other_plan}-"))));
    let starts: Vec<String> = ics
        .text()
        .replace("\r\n ", "")
        .lines()
        .filter_map(|l| l.strip_prefix("DTSTART;VALUE=DATE:").map(str::to_string))
        .collect();
    let due = server.expect(200, "GET", &format!("/api/v1/plans/{plan}/due"), Some(&server.admin), None);
    let due = due.as_array().expect("due").clone();
    assert!(!due.is_empty(), "the plan has deadlines");
    for item in &due {
        let day = item["due"].as_str().unwrap_or_default().replace('-', "");
        assert!(starts.contains(&day), "{item} is in the feed: {starts:?}");
    }
    // A new address replaces the old; revoking stops it; unknown secrets are 404.
    let renewed = make_feed(&server, &head);
    assert_ne!(renewed, feed);
    assert_eq!(server.raw("GET", &feed, &[], b"").status, 404, "the old address stops");
    assert_eq!(server.raw("GET", &renewed, &[], b"").status, 200);
    let body = format!("_csrf={}&_action=revoke", head.csrf);
    let revoked = server.raw(
        "POST",
        "/calendar",
        &[("Cookie", &head.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(revoked.status, 303);
    assert_eq!(server.raw("GET", &renewed, &[], b"").status, 404, "a revoked feed is gone");
    for path in ["/calendar/0000.ics", "/calendar/.ics", "/calendar/abc"] {
        assert_eq!(server.raw("GET", path, &[], b"").status, 404, "{path}");
    }
    // Without the CSRF token no feed is made.
    let forged = server.raw(
        "POST",
        "/calendar",
        &[("Cookie", &head.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        b"_action=create",
    );
    assert_eq!(forged.status, 403);

    // The other institution's head reads only its own plan.
    let head_y = session(&server, "head-y");
    let theirs = server.raw("GET", &make_feed(&server, &head_y), &[], b"");
    let calendar: icalendar::Calendar = theirs.text().parse().expect("parses");
    let uids: Vec<String> = calendar.events().filter_map(|e| e.get_uid().map(str::to_string)).collect();
    assert!(!uids.is_empty() && uids.iter().all(|u| u.starts_with(&format!("{other_plan}-"))), "{uids:?}");
    // The secrets are stored hashed: none of them is in the store's files.
    let live = make_feed(&server, &head);
    let live_secret = live.trim_start_matches("/calendar/").trim_end_matches(".ics").to_string();
    let data = server.data();
    let _kept = server.stop();
    let mut found = false;
    for entry in walk(&data) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        if bytes.windows(live_secret.len()).any(|w| w == live_secret.as_bytes()) {
            found = true;
        }
    }
    assert!(!found, "a feed's secret is kept only as its hash");
}

/// Every file under a folder.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

async fn sign_in(browser: &Browser, user: &str) {
    browser.open("/login").await;
    browser.find("#user").await.send_keys(user).await.expect("type the user");
    browser.find("#password").await.send_keys(&format!("{user}-password")).await.expect("type the password");
    let button = browser.find("form[action=\"/login\"] button[type=submit]").await;
    browser.click_and_wait(&button).await;
}

async fn no_sideways_scroll(browser: &Browser, what: &str, width: u32) {
    let sizes = browser
        .client
        .execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![])
        .await
        .expect("sizes");
    assert!(sizes[0].as_i64() <= sizes[1].as_i64(), "{what} at {width} px scrolls sideways: {sizes}");
}

#[test]
fn in_a_browser_an_xlsx_with_one_bad_row_shows_that_rows_error_and_a_good_one_imports() {
    let server = TestServer::start();
    let plan = plan_in_revision(&server, "opstina-x", "x");
    let manager = session(&server, "manager-x");
    let columns = register_columns(&server, &manager, &plan, "en");
    let header: Vec<String> = columns.iter().map(|(_, t)| t.clone()).collect();
    let deadline = sheet::column_letters(columns.iter().position(|(c, _)| c == "deadline").expect("deadline"));
    let rows = stored_risks(&server, &plan);
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad-register.xlsx");
    std::fs::write(&bad, workbook(&header, &sheet_rows(&columns, &rows, &[(2, "deadline", json!("31.02.2025"))])))
        .expect("write");
    let good = dir.path().join("good-register.xlsx");
    std::fs::write(&good, workbook(&header, &sheet_rows(&columns, &rows, &[(0, "impact", json!(3))]))).expect("write");
    let before = history_len(&server, &plan);
    let base = format!("http://{}", server.address);
    let axe = axe_source();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        for width in [1200, 375] {
            let browser = Browser::start(&base, width).await;
            sign_in(&browser, "manager-x").await;
            browser.open(&format!("/plans/{plan}/register?lang=en")).await;
            let link = browser.find(&format!("a[href=\"/plans/{plan}/import\"]")).await;
            browser.click_and_wait(&link).await;
            browser.set("target", TARGET).await;
            let file = bad.display().to_string();
            browser.find("#import-file").await.send_keys(&file).await.expect("choose the file");
            let submit = browser.find("form.import-form button[type=submit]").await;
            browser.click_and_wait(&submit).await;
            // That row's error, by its row number and column, and nothing saved.
            let problems = browser.find_all("table.import-problems tbody tr").await;
            assert_eq!(problems.len(), 1, "one bad row, one problem: {}", browser.body_text().await);
            let row = problems[0].attr("data-row").await.ok().flatten();
            let column = problems[0].attr("data-column").await.ok().flatten();
            assert_eq!((row.as_deref(), column.as_deref()), (Some("4"), Some(deadline.as_str())));
            let text = problems[0].text().await.expect("text");
            assert!(text.contains("31.02.2025") && text.contains("not a date"), "{text}");
            let summary = browser.text("#import-summary").await;
            assert!(
                summary.contains("Problems found: 1") && summary.contains("Nothing from bad-register.xlsx"),
                "{summary}"
            );
            assert_eq!(history_len(&server, &plan), before, "nothing saved");
            let violations = browser.axe(&axe).await;
            assert!(violations.is_empty(), "axe-core at {width} px on the import page with errors: {violations:?}");
            no_sideways_scroll(&browser, "the import page", width).await;

            // The subscription page, with its new address shown.
            browser.open("/calendar").await;
            let create = browser.find("button[name=\"_action\"][value=\"create\"]").await;
            browser.click_and_wait(&create).await;
            assert!(browser.value("feed_url").await.ends_with(".ics"));
            let violations = browser.axe(&axe).await;
            assert!(violations.is_empty(), "axe-core at {width} px on the subscription page: {violations:?}");
            no_sideways_scroll(&browser, "the subscription page", width).await;
            browser.finish().await;
        }

        // A good workbook imports; the register shows its rows.
        let browser = Browser::start(&base, 1200).await;
        sign_in(&browser, "manager-x").await;
        browser.open(&format!("/plans/{plan}/import")).await;
        browser.set("target", TARGET).await;
        browser.find("#import-file").await.send_keys(&good.display().to_string()).await.expect("choose the file");
        let submit = browser.find("form.import-form button[type=submit]").await;
        browser.click_and_wait(&submit).await;
        assert_eq!(browser.path().await, format!("/plans/{plan}?fired=save_register"));
        browser.open(&format!("/plans/{plan}/register")).await;
        let mut shown = Vec::new();
        for row in browser.find_all("tr[data-risk]").await {
            shown.push(row.attr("data-risk").await.ok().flatten().unwrap_or_default());
        }
        let ids: Vec<String> = rows.iter().map(|r| as_text(&r["id"])).collect();
        assert_eq!(shown, ids);
        browser.finish().await;
    });
    assert_eq!(history_len(&server, &plan), before + 1);
    let after = stored_risks(&server, &plan);
    assert_eq!(after[0]["impact"], 3);
    assert_eq!(after[1..], rows[1..]);
}
