//! The data pages of issue 11 over HTTP against a real server (127.0.0.1,
//! real sled, the bundled packs and plugins): the risk register's filters,
//! the heat map (the pack's grid, each risk in its cell, the pack's
//! colours, cells linking to their risks), the measures tracker, the
//! documents, and the agency's dashboard (checks per deadline, sorting,
//! filters, CSV) with its access rules; and in real Chromium, the heat map's
//! links and the register's filter form, axe-core and a phone's width.

#[path = "support/browser.rs"]
mod browser;

use browser::{Browser, axe_source};
use integritas_tests::packs_dir;
use integritas_tests::pages::{Session, admin_session, attrs, get, page, session, unescape};
use integritas_tests::server::TestServer;
use serde_json::json;

/// The ids of the register's rows on a page.
fn risk_rows(html: &str) -> Vec<String> {
    attrs(html, "data-risk")
}

/// The markup of the heat map cell of (probability, impact).
fn cell(html: &str, p: i64, i: i64) -> &str {
    let key = format!("data-probability=\"{p}\" data-impact=\"{i}\"");
    let at = html.find(&key).unwrap_or_else(|| panic!("no cell {p}×{i}"));
    let start = html[..at].rfind('<').expect("cell start");
    let end = html[at..].find("</a>").or_else(|| html[at..].find("</g>")).map(|e| at + e).expect("cell end");
    &html[start..end]
}

/// The colour the pack gives a value word (read from its manifest's `presentation`).
fn pack_colour(pack: &str, word: &str) -> String {
    let manifest = std::fs::read_to_string(packs_dir().join(pack).join("pack.ron")).expect("pack.ron");
    let key = format!("\"{word}\": \"");
    let at = manifest.find("presentation").and_then(|p| manifest[p..].find(&key).map(|k| p + k + key.len()));
    let at = at.unwrap_or_else(|| panic!("{pack} gives {word} no colour"));
    manifest[at..at + 7].to_string()
}

/// A Montenegrin municipality with the pack's sample plan imported (the
/// register scored on the 10 × 10 map, the annual report with trends).
fn montenegrin_plan(server: &TestServer) -> (String, Session) {
    server.expect(
        201,
        "POST",
        "/api/v1/institutions",
        Some(&server.admin),
        Some(json!({"id": "opstina-x", "name": "Opština X", "jurisdiction": "me"})),
    );
    let head = server.user("head-x", &[("opstina-x", "head")], None);
    let made = server.expect(
        201,
        "POST",
        "/api/v1/plans",
        Some(&head),
        Some(json!({"institution": "opstina-x", "sample": "opstina"})),
    );
    let id = made["plan"]["id"].as_str().expect("plan id").to_string();
    (id, session(server, "head-x"))
}

#[test]
fn the_heat_map_is_the_packs_ten_by_ten_grid_with_each_risk_in_its_cell() {
    let server = TestServer::start();
    let (plan, head) = montenegrin_plan(&server);
    let html = page(&server, &head, &format!("/plans/{plan}/register?lang=en"));
    assert_eq!(html.matches("class=\"cell\"").count(), 100, "Montenegro's map is 10 × 10");
    assert!(html.contains("<title id=\"heatmap-title\">Heat map</title>"), "the map has a title");
    assert!(html.contains("<desc id=\"heatmap-desc\">"), "and a description");

    let rows = server.expect(200, "GET", &format!("/api/v1/plans/{plan}/forms/register"), Some(&server.admin), None);
    let risks = rows["data"]["risks"].as_array().expect("risks").clone();
    assert_eq!(risks.len(), 6);
    let scores = server.expect(200, "GET", &format!("/api/v1/plans/{plan}/scores"), Some(&server.admin), None);
    for risk in &risks {
        let id = risk["id"].as_str().expect("id");
        let (p, i) = (risk["probability"].as_i64().expect("p"), risk["impact"].as_i64().expect("i"));
        let markup = cell(&html, p, i);
        let ids = attrs(markup, "data-risks").join(" ");
        assert!(ids.split(' ').any(|r| r == id), "risk {id} is in cell {p}×{i}: {markup}");
        // Its colour is the pack's colour of its level (as the plugin scored it).
        let scored = scores["risk_scores"]["value"]["risks"]
            .as_array()
            .expect("scored")
            .iter()
            .find(|r| r["id"] == id)
            .expect("scored risk")
            .clone();
        let level = scored["level"].as_str().expect("level");
        assert_eq!(scored["score"].as_i64(), Some(p * i));
        assert!(markup.contains(&format!("fill=\"{}\"", pack_colour("me", level))), "{id} ({level}): {markup}");
        let name = attrs(markup, "aria-label").join("");
        assert!(name.contains(id) && name.contains(&p.to_string()), "the link names its risks: {name}");
    }
    // An empty cell is not a link, and says so.
    let empty = cell(&html, 1, 1);
    assert!(empty.starts_with("<g") && empty.contains("data-count=\"0\""), "{empty}");
    // Every level of the pack has its colour in the legend: visok, srednji, nizak.
    for level in ["nizak", "srednji", "visok"] {
        assert!(html.contains(&format!("fill=\"{}\"", pack_colour("me", level))), "{level} is drawn");
    }
}

#[test]
fn a_cell_links_to_its_risks_and_filters_narrow_the_register() {
    let server = TestServer::start();
    let (plan, head) = montenegrin_plan(&server);
    let base = format!("/plans/{plan}/register");
    let all = page(&server, &head, &base);
    let mut everything = risk_rows(&all);
    everything.sort();
    assert_eq!(everything, ["1.1", "2.1", "3.1", "4.1", "5.1", "6.1"]);

    // Each cell's link lists exactly the risks the cell holds.
    let links: Vec<(String, String)> = all
        .match_indices("<a class=\"cell\" href=\"")
        .map(|(at, _)| {
            let markup = &all[at..at + all[at..].find("</a>").expect("end")];
            (unescape(&attrs(markup, "href")[0]), attrs(markup, "data-risks")[0].clone())
        })
        .collect();
    assert!(!links.is_empty());
    for (href, ids) in links {
        assert!(href.starts_with(&base), "{href}");
        let listed = page(&server, &head, href.split('#').next().expect("path"));
        let mut shown = risk_rows(&listed);
        shown.sort();
        let mut expected: Vec<String> = ids.split(' ').map(String::from).collect();
        expected.sort();
        assert_eq!(shown, expected, "{href}");
    }

    // Level, owner, area and choice filters narrow the rows, and combine.
    let cases: [(&str, &[&str]); 5] = [
        ("level=visok", &["3.1", "6.1"]),
        ("level=nizak", &["2.1", "4.1"]),
        ("owner=%C5%A0ef+inspekcije", &["6.1"]),
        ("area=Rukovo%C4%91enje+i+upravljanje", &["1.1"]),
        ("level=visok&owner=Ana+%C5%A0%C4%87epanovi%C4%87", &["3.1"]),
    ];
    for (query, expected) in cases {
        let html = page(&server, &head, &format!("{base}?{query}"));
        let mut rows = risk_rows(&html);
        rows.sort();
        assert_eq!(rows, expected, "{query}");
    }
    // The filter form offers the pack's columns: area, owner, the kind of area.
    for name in ["area", "owner", "area_kind", "level"] {
        assert!(all.contains(&format!("name=\"{name}\"")), "a filter on {name}");
    }
    // The export follows the filters.
    let csv = get(&server, &head, &format!("/plans/{plan}/register.csv?level=visok"));
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").is_some_and(|t| t.starts_with("text/csv")));
    assert_eq!(csv.text().lines().count(), 3, "a header and two risks: {}", csv.text());
    let json = get(&server, &head, &format!("/plans/{plan}/register.json?level=visok")).json();
    let ids: Vec<&str> = json["rows"].as_array().expect("rows").iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["3.1", "6.1"]);
}

#[test]
fn the_measures_tracker_shows_owner_deadline_realisation_reason_and_trend() {
    let server = TestServer::start();
    let (plan, head) = montenegrin_plan(&server);
    // In the pack's own language, the stored choices are their labels.
    let html = page(&server, &head, &format!("/plans/{plan}/measures?lang=cnr"));
    let report =
        server.expect(200, "GET", &format!("/api/v1/plans/{plan}/forms/manager_report"), Some(&server.admin), None);
    let scores = server.expect(200, "GET", &format!("/api/v1/plans/{plan}/scores"), Some(&server.admin), None);
    let measures = report["data"]["measures"].as_array().expect("measures").clone();
    assert_eq!(attrs(&html, "data-measure").len(), measures.len());
    for measure in &measures {
        let id = measure["id"].as_str().expect("id");
        let at = html.find(&format!("data-measure=\"{id}\"")).expect("the measure's row");
        let row = &html[at..at + html[at..].find("</tr>").expect("row end")];
        let row = unescape(row);
        for column in ["owner", "reason", "status"] {
            let text = measure[column].as_str().expect(column);
            assert!(row.contains(text), "{id}: {column} `{text}` in {row}");
        }
        // The deadline, written as a date of the page's language.
        let deadline = measure["deadline"].as_str().expect("deadline");
        let year = &deadline[..4];
        assert!(row.contains(year), "{id}: deadline {deadline} in {row}");
        let trend = scores["risk_status"]["value"]["risks"]
            .as_array()
            .expect("trends")
            .iter()
            .find(|r| r["id"] == id)
            .and_then(|r| r["symbol"].as_str())
            .expect("a trend");
        assert!(row.contains(trend), "{id}: trend {trend} in {row}");
    }
    // In English the realisation is the pack's translation of the choice.
    let english = page(&server, &head, &format!("/plans/{plan}/measures?lang=en"));
    assert!(english.contains("<td class=\"status\">realised</td>"), "{english}");
    // The degree of implementation the plugin computed.
    let degree = scores["realisation"]["value"]["degree_percent"].as_f64().expect("degree");
    assert!(html.contains(&format!("{degree:.0} %")), "degree {degree}");
}

#[test]
fn documents_are_delivered_drafts_or_empty_and_download_as_html() {
    let server = TestServer::start();
    let (plan, head) = montenegrin_plan(&server);
    let html = page(&server, &head, &format!("/plans/{plan}/documents?lang=en"));
    let standing: Vec<(String, String)> =
        attrs(&html, "data-document").into_iter().zip(attrs(&html, "data-standing")).collect();
    let of = |id: &str| standing.iter().find(|(d, _)| d == id).map(|(_, s)| s.as_str()).expect(id);
    // The import rendered the adoption decision; the annual report's form is filled but no
    // event of the import renders it: a draft.
    assert_eq!(of("adoption_decision"), "delivered");
    assert_eq!(of("annual_report"), "draft");
    let delivered = get(&server, &head, &format!("/plans/{plan}/documents/adoption_decision/html"));
    assert_eq!(delivered.status, 200);
    assert!(delivered.header("content-disposition").is_some_and(|d| d.starts_with("attachment")));
    assert!(!delivered.text().contains("class=\"draft-mark\""), "a delivered document carries no draft marking");
    let draft = get(&server, &head, &format!("/plans/{plan}/documents/annual_report/view"));
    assert_eq!(draft.status, 200);
    assert!(draft.text().contains("class=\"draft-mark\""), "a draft is marked as one");
    let unknown = get(&server, &head, &format!("/plans/{plan}/documents/no_such_document/view"));
    assert_eq!(unknown.status, 404);

    // Each delivery is kept: the copy its event issued, linked from the documents page and
    // from that event in the plan's history.
    let deliveries = attrs(&html, "data-delivery");
    let seq = deliveries.first().expect("the adoption decision's delivery is listed").clone();
    let copy = format!("/plans/{plan}/documents/adoption_decision/view?language=en&delivery={seq}");
    assert!(unescape(&html).contains(&copy), "the documents page links delivery {seq} as {copy}");
    let history = unescape(&page(&server, &head, &format!("/plans/{plan}?lang=en")));
    let entry = history.split(&format!("data-seq=\"{seq}\"")).nth(1).expect("the delivering event is in the history");
    let entry = &entry[..entry.find("</li>").expect("entry ends")];
    assert!(entry.contains("data-document=\"adoption_decision\""), "{entry}");
    assert!(entry.contains(&copy), "{entry}");
    let issued = get(&server, &head, &copy);
    assert_eq!(issued.status, 200);
    assert!(!issued.text().contains("class=\"draft-mark\""), "an issued copy is not a draft");
    let pdf = get(&server, &head, &copy.replace("/view?", "/pdf?"));
    assert_eq!(pdf.status, 200);
    let name = pdf.header("content-disposition").unwrap_or_default();
    assert!(name.contains(&format!("-adoption_decision-{seq}-en.pdf")), "{name}");
    let not_issued = format!("/plans/{plan}/documents/annual_report/view?delivery={seq}");
    assert_eq!(get(&server, &head, &not_issued).status, 404, "that event issued no annual report");
    let garbage = format!("/plans/{plan}/documents/adoption_decision/view?delivery=first");
    assert_eq!(get(&server, &head, &garbage).status, 404);

    // A plan just started has nothing filled in: its decisions are not printed as empty shells.
    server.expect(
        201,
        "POST",
        "/api/v1/institutions",
        Some(&server.admin),
        Some(json!({"id": "opstina-y", "name": "Opština Y", "jurisdiction": "me"})),
    );
    let fresh = server.expect(
        201,
        "POST",
        "/api/v1/plans",
        Some(&server.admin),
        Some(json!({"institution": "opstina-y", "workflow": "me/annual"})),
    );
    let fresh = fresh["plan"]["id"].as_str().expect("id").to_string();
    let admin = admin_session(&server);
    let list = page(&server, &admin, &format!("/plans/{fresh}/documents"));
    assert!(attrs(&list, "data-standing").iter().all(|s| s == "empty"), "{list}");
    let shell = get(&server, &admin, &format!("/plans/{fresh}/documents/manager_decision/html"));
    assert_eq!(shell.status, 409, "{}", shell.text());
}

/// Serbian institutions at each stage of the running cycle's first check:
/// the coordinator decision posted on time (its posting day is in the
/// form), posted today (late), a plan with nothing done, no plan at all; and
/// a body of 12 employees, which the law does not oblige.
fn serbian_institutions(server: &TestServer) -> String {
    for (id, name, employees) in [
        ("grad-a", "Grad A", 200),
        ("grad-b", "Grad B", 200),
        ("grad-c", "Grad C", 200),
        ("grad-d", "Grad D", 200),
        ("mala-e", "Mala ustanova E", 12),
    ] {
        server.expect(
            201,
            "POST",
            "/api/v1/institutions",
            Some(&server.admin),
            Some(json!({"id": id, "name": name, "jurisdiction": "rs", "employees": employees, "kind": "ustanova"})),
        );
    }
    let head = server.user("head-a", &[("grad-a", "head"), ("grad-d", "head")], None);
    let mut plans = Vec::new();
    for institution in ["grad-a", "grad-b", "grad-d", "mala-e"] {
        let made = server.expect(
            201,
            "POST",
            "/api/v1/plans",
            Some(&server.admin),
            Some(json!({"institution": institution, "workflow": "rs/three_phase"})),
        );
        plans.push(made["plan"]["id"].as_str().expect("id").to_string());
    }
    let view = server.expect(200, "GET", &format!("/api/v1/plans/{}", plans[0]), Some(&head), None);
    let today = view["today"].as_str().expect("the plan's today").to_string();
    let cycle_start = view["cycle"]["start"].as_str().expect("the cycle's start").to_string();
    // Within the cycle's first three months: on time. Today: late (the cycle began in 2024).
    let appoint = |plan: &str, decided: &str, posted: &str| {
        server.expect(
            201,
            "POST",
            &format!("/api/v1/plans/{plan}/events"),
            Some(&head),
            Some(json!({"event": "appoint_coordinator", "as": "head", "payload": {"coordinator_decision": {
                "number": "01-1", "decided_on": decided, "posted_on": posted,
                "coordinator": "Ana Anić", "position": "sekretar"}}})),
        );
    };
    appoint(&plans[0], &cycle_start, &cycle_start);
    appoint(&plans[2], &today, &today);
    plans[0].clone()
}

/// The check of `column` on an institution's row of the dashboard.
fn check(html: &str, institution: &str, column: usize) -> String {
    let at =
        html.find(&format!("data-institution=\"{institution}\"")).unwrap_or_else(|| panic!("no row {institution}"));
    let row = &html[at..at + html[at..].find("</tr>").expect("end")];
    attrs(row, "data-status")[column].clone()
}

#[test]
fn the_dashboard_lists_checks_sorts_filters_and_exports() {
    let server = TestServer::start();
    let plan_a = serbian_institutions(&server);
    server.user("agency-rs", &[], Some(json!({"agency": ["rs"]})));
    let agency = session(&server, "agency-rs");
    let html = page(&server, &agency, "/agency/rs?lang=en");
    // A check per deadline of the pack's workflow that applies in the running cycle, in its
    // order (the deadlines of the third cycle alone are due for nobody now).
    assert_eq!(attrs(&html, "data-check"), ["coordinator_later", "plan_later", "implementation_later", "report_later"]);
    assert_eq!(check(&html, "grad-a", 0), "met", "posted within the cycle's first three months");
    assert_eq!(check(&html, "grad-d", 0), "met_late", "posted today, after them");
    assert_eq!(check(&html, "grad-b", 0), "overdue", "nothing done");
    assert_eq!(check(&html, "grad-c", 0), "no_plan", "no plan, nothing told");
    assert_eq!(check(&html, "grad-a", 1), check(&html, "grad-b", 1), "neither delivered a plan");
    assert_ne!(check(&html, "grad-a", 1), "met", "no check says met without an event that met it");
    assert!(html.contains("href=\"/institutions/grad-a\""), "a page per institution");
    assert!(html.contains(&format!("href=\"/plans/{plan_a}\"")));
    // The body the law does not oblige is listed apart, after the others.
    let apart = &html[html.find("id=\"apart-heading\"").expect("a list apart")..];
    assert!(apart.contains("data-institution=\"mala-e\""));
    assert!(!html[..html.find("id=\"apart-heading\"").expect("apart")].contains("data-institution=\"mala-e\""));

    // Sorting by a check puts the worst first; descending reverses.
    let order = |html: &str| {
        let main = &html[..html.find("id=\"apart-heading\"").unwrap_or(html.len())];
        attrs(main, "data-institution")
    };
    assert_eq!(
        order(&page(&server, &agency, "/agency/rs?sort=coordinator_later")),
        ["grad-b", "grad-d", "grad-a", "grad-c"]
    );
    assert_eq!(
        order(&page(&server, &agency, "/agency/rs?sort=coordinator_later&dir=desc")),
        ["grad-c", "grad-a", "grad-d", "grad-b"]
    );
    assert_eq!(
        order(&page(&server, &agency, "/agency/rs?sort=name&dir=desc")),
        ["grad-d", "grad-c", "grad-b", "grad-a"]
    );
    // Filters.
    assert_eq!(order(&page(&server, &agency, "/agency/rs?check=coordinator_later&status=overdue")), ["grad-b"]);
    assert_eq!(order(&page(&server, &agency, "/agency/rs?check=coordinator_later&status=met")), ["grad-a"]);
    assert_eq!(order(&page(&server, &agency, "/agency/rs?q=grad+a")), ["grad-a"]);
    assert_eq!(attrs(&page(&server, &agency, "/agency/rs?obliged=no"), "data-institution"), ["mala-e"]);

    // The CSV and the XLSX hold every selected institution with its checks in words, the
    // same rows; the JSON names each value by its column.
    let query = "sort=coordinator_later&obliged=yes&lang=en";
    let csv = get(&server, &agency, &format!("/agency/rs/export.csv?{query}"));
    assert_eq!(csv.status, 200);
    let xlsx = get(&server, &agency, &format!("/agency/rs/export.xlsx?{query}"));
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.header("content-disposition").is_some_and(|d| d.contains("rs-institutions.xlsx")));
    let texts = |sheet: integritas_exchange::Sheet| -> Vec<Vec<String>> {
        let trimmed = |cells: Vec<integritas_exchange::Cell>| {
            let mut texts: Vec<String> = cells.iter().map(|c| c.text()).collect();
            while texts.last().is_some_and(String::is_empty) {
                texts.pop();
            }
            texts
        };
        sheet.rows.into_iter().map(|(_, cells)| trimmed(cells)).collect()
    };
    let from_csv = texts(integritas_exchange::sheet::read_csv(csv.text().as_bytes()).expect("the CSV reads"));
    let from_xlsx = texts(integritas_exchange::sheet::read_xlsx(&xlsx.body).expect("the XLSX reads"));
    assert_eq!(from_csv.len(), 4, "a header and the three obliged bodies with a plan: {from_csv:?}");
    assert_eq!(from_csv[1][..3], ["grad-b", "Grad B", "yes"], "{from_csv:?}");
    assert!(from_csv[1].iter().any(|c| c == "overdue"), "{from_csv:?}");
    assert!(from_csv[2].iter().any(|c| c == "met late"), "{from_csv:?}");
    assert!(from_csv[3].iter().any(|c| c == "met on time"), "{from_csv:?}");
    assert_eq!(from_xlsx, from_csv, "the XLSX holds what the CSV holds");
    let json = get(&server, &agency, &format!("/agency/rs/export.json?{query}")).json();
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0]["institution_id"].as_str(), rows[0]["obliged"].as_str()), (Some("grad-b"), Some("yes")));
    assert_eq!(json["columns"][1]["title"], "Institution", "{json}");
}

#[test]
fn only_the_agency_and_administrators_see_the_dashboard_and_the_agency_writes_nothing() {
    let server = TestServer::start();
    let plan_a = serbian_institutions(&server);
    let head = session(&server, "head-a");
    // An institution's user: the same 404 as a page that does not exist.
    let refused = get(&server, &head, "/agency/rs");
    assert_eq!(refused.status, 404);
    assert_eq!(get(&server, &head, "/agency/no-such-pack").status, 404);
    server.user("agency-me", &[], Some(json!({"agency": ["me"]})));
    let other = session(&server, "agency-me");
    assert_eq!(get(&server, &other, "/agency/rs").status, 404, "another jurisdiction's agency");
    assert_eq!(get(&server, &admin_session(&server), "/agency/rs").status, 200, "an administrator");

    // The agency reads the plan's pages but cannot post its forms.
    server.user("agency-rs", &[], Some(json!({"agency": ["rs"]})));
    let agency = session(&server, "agency-rs");
    assert_eq!(get(&server, &agency, &format!("/plans/{plan_a}/register")).status, 200);
    let body = format!("_csrf={}&coordinator_decision.number=9", agency.csrf);
    let posted = server.raw(
        "POST",
        &format!("/plans/{plan_a}/events/appoint_coordinator"),
        &[("Cookie", &agency.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(posted.status, 403, "{}", posted.text());
    // Nor import a sheet into it, nor answer its questionnaire as if an employee.
    let boundary = "agency-test-boundary";
    let sheet = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"target\"\r\n\r\nrisky_processes.processes:identify_processes\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\n\r\narea,process\nA,B\n\r\n\
         --{boundary}--\r\n",
        agency.csrf
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let imported = server.raw(
        "POST",
        &format!("/plans/{plan_a}/import"),
        &[("Cookie", &agency.cookie), ("Content-Type", &content_type)],
        sheet.as_bytes(),
    );
    assert_eq!(imported.status, 403, "an agency's import: {}", imported.text());
    let answer = format!("_csrf={}", agency.csrf);
    let answered = server.raw(
        "POST",
        &format!("/plans/{plan_a}/questionnaire/answer_questionnaire"),
        &[("Cookie", &agency.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        answer.as_bytes(),
    );
    assert_eq!(answered.status, 403, "an agency's answer: {}", answered.text());
    // Nothing was recorded.
    let history = server.expect(200, "GET", &format!("/api/v1/plans/{plan_a}/history"), Some(&server.admin), None);
    assert_eq!(history["items"].as_array().map(Vec::len), Some(2), "{history}");
}

async fn rows_in(browser: &Browser) -> Vec<String> {
    let mut ids = Vec::new();
    for row in browser.find_all("tr[data-risk]").await {
        ids.push(row.attr("data-risk").await.ok().flatten().unwrap_or_default());
    }
    ids.sort();
    ids
}

#[test]
fn in_a_browser_the_heat_map_links_and_the_filters_work_and_the_pages_are_accessible() {
    let server = TestServer::start();
    let (plan, _) = montenegrin_plan(&server);
    server.user("agency-me", &[], Some(json!({"agency": ["me"]})));
    let base = format!("http://{}", server.address);
    let axe = axe_source();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let browser = Browser::start(&base, 1200).await;
        browser.sign_in("head-x").await;
        browser.open(&format!("/plans/{plan}/register")).await;
        assert_eq!(browser.find_all("svg.heatmap .cell").await.len(), 100);
        // Clicking the cell of probability 7 × impact 7 lists its risk alone.
        let cell = browser.find("svg.heatmap a.cell[data-probability=\"7\"][data-impact=\"7\"]").await;
        let held = cell.attr("data-risks").await.ok().flatten().expect("the cell's risks");
        browser.click_and_wait(&cell).await;
        assert_eq!(rows_in(&browser).await, held.split(' ').map(String::from).collect::<Vec<_>>());
        // The filter form, without script: choose a level, submit, the rows narrow.
        browser.open(&format!("/plans/{plan}/register")).await;
        browser.set("level", "visok").await;
        let submit = browser.find("form.filters button[type=submit]").await;
        browser.click_and_wait(&submit).await;
        assert!(browser.path().await.contains("level=visok"), "filters are GET parameters");
        assert_eq!(rows_in(&browser).await, ["3.1", "6.1"]);
        browser.finish().await;
    });
    // axe-core finds nothing serious, and nothing scrolls sideways on a phone.
    runtime.block_on(async {
        for width in [1200, 375] {
            let browser = Browser::start(&base, width).await;
            browser.sign_in("head-x").await;
            let mut paths: Vec<String> = ["register", "register?level=visok", "measures", "documents"]
                .iter()
                .map(|p| format!("/plans/{plan}/{p}"))
                .collect();
            for path in &paths {
                browser.open(path).await;
                let violations = browser.axe(&axe).await;
                assert!(violations.is_empty(), "axe-core at {width} px on {path}: {violations:?}");
                let overflow = browser.overflow().await;
                assert!(overflow.is_none(), "{path} at {width} px scrolls sideways: {overflow:?}");
            }
            browser.finish().await;
            let browser = Browser::start(&base, width).await;
            browser.sign_in("agency-me").await;
            paths = vec!["/agency/me".into()];
            for path in &paths {
                browser.open(path).await;
                let violations = browser.axe(&axe).await;
                assert!(violations.is_empty(), "axe-core at {width} px on {path}: {violations:?}");
                let overflow = browser.overflow().await;
                assert!(overflow.is_none(), "{path} at {width} px scrolls sideways: {overflow:?}");
            }
            browser.finish().await;
        }
    });
}

#[test]
fn a_plan_summary_gives_the_plans_own_deadlines_without_its_register() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opened = integritas_core::open::open(&integritas_core::open::OpenOptions {
        data: dir.path().join("data"),
        packs: Some(packs_dir()),
        templates: Some(integritas_tests::repo_root().join("templates")),
        create: true,
    })
    .expect("open");
    let engine = opened.engine;
    let today: integritas_core::date::Date = "2026-06-01".parse().expect("date");
    for (id, pack, sample, register) in [("o", "me", "opstina", Some("register")), ("a", "ro", "alunis", None)] {
        engine
            .add_institution(integritas_core::store::Institution {
                id: id.into(),
                name: id.into(),
                jurisdiction: pack.into(),
                kind: String::new(),
                employees: Some(100),
                parent: None,
                timezone: None,
            })
            .expect("institution");
        let (plan, _) = engine.new_plan_from_sample(id, sample, "tester", today).expect("the sample imports");
        let workflow = engine.workflow_of(&plan.meta).expect("workflow");
        let summary = integritas_core::summary::PlanSummary::of(&plan, &workflow);
        for day in ["2026-06-01", "2027-05-01", "2029-01-01"] {
            let day = day.parse().expect("date");
            assert_eq!(
                summary.schedule(&workflow, day),
                integritas_core::deadline::schedule(&workflow, &plan, day),
                "{pack} on {day}"
            );
        }
        assert!(summary.plan.scores.is_empty());
        // The register stays in the plan (tables that deadlines read, such as measures with
        // their own terms, are kept).
        if let Some(register) = register {
            assert!(plan.data.contains_key(register), "{pack}");
            assert!(!summary.plan.data.contains_key(register), "{pack}: {:?}", summary.plan.data.keys());
        }
        let kept = serde_json::to_vec(&summary).expect("json").len();
        let whole = serde_json::to_vec(plan.as_ref()).expect("json").len();
        assert!(kept < whole, "{pack}: a summary of {kept} bytes for a plan of {whole}");
        // The engine keeps it: every plan has one, as of its last event.
        let all = engine.summaries().expect("summaries");
        assert!(all.iter().any(|s| s.plan.meta.id == plan.meta.id && s.plan.seq == plan.seq), "{pack}");
    }
}

#[test]
fn summaries_survive_a_restart_and_a_missing_one_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = integritas_core::open::OpenOptions {
        data: dir.path().join("data"),
        packs: Some(packs_dir()),
        templates: Some(integritas_tests::repo_root().join("templates")),
        create: true,
    };
    let today: integritas_core::date::Date = "2026-06-01".parse().expect("date");
    let (id, seq) = {
        let engine = integritas_core::open::open(&options).expect("open").engine;
        engine
            .add_institution(integritas_core::store::Institution {
                id: "o".into(),
                name: "O".into(),
                jurisdiction: "me".into(),
                kind: String::new(),
                employees: Some(100),
                parent: None,
                timezone: None,
            })
            .expect("institution");
        let (plan, _) = engine.new_plan_from_sample("o", "opstina", "tester", today).expect("import");
        (plan.meta.id.clone(), plan.seq)
    };
    // Closed cleanly: the next start trusts the stored summary, as of the plan's last event.
    let engine = integritas_core::open::open(&options).expect("reopen").engine;
    let all = engine.summaries().expect("summaries");
    assert_eq!(all.iter().map(|s| (s.plan.meta.id.clone(), s.plan.seq)).collect::<Vec<_>>(), [(id.clone(), seq)]);
    let store = engine.store();
    drop(all);
    // A summary lost (as a crash before its flush would lose it) is rebuilt from the log.
    store
        .write_records(&[integritas_core::store::RecordWrite::Delete {
            kind: integritas_core::summary::SUMMARIES,
            key: id.clone(),
        }])
        .expect("delete");
    drop(engine);
    drop(store);
    store_without_mark(&options);
    let engine = integritas_core::open::open(&options).expect("reopen").engine;
    let all = engine.summaries().expect("summaries");
    assert_eq!(all.iter().map(|s| (s.plan.meta.id.clone(), s.plan.seq)).collect::<Vec<_>>(), [(id, seq)]);
}

/// Removes the clean-close mark, as a crash leaves the store.
fn store_without_mark(options: &integritas_core::open::OpenOptions) {
    let engine = integritas_core::open::open(options).expect("open").engine;
    engine
        .store()
        .write_records(&[integritas_core::store::RecordWrite::Delete {
            kind: integritas_core::summary::SUMMARIES_CLOSED,
            key: String::new(),
        }])
        .expect("delete the mark");
    // This engine wrote nothing: closing it vouches again, so the mark is removed after it.
    let store = engine.store();
    drop(engine);
    let _ = store.write_records(&[integritas_core::store::RecordWrite::Delete {
        kind: integritas_core::summary::SUMMARIES_CLOSED,
        key: String::new(),
    }]);
}
