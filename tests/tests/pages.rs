//! Issue 11: the server-rendered pages in a real browser — headless
//! Chromium through chromedriver, against a real server on 127.0.0.1 over
//! a real sled store with the bundled packs. A head of a Serbian
//! municipality signs in, switches to Cyrillic, opens the plan, fires an
//! event through its generated form and sees the timeline move, works a
//! table (add, reorder, remove rows) without script, gets a refusal with
//! the message beside its field in Cyrillic, keeps a draft and finds it
//! again; a user of another institution gets the same 404 as for nothing,
//! a role that may not act gets a 403 naming the role; axe-core finds no
//! serious or critical violation on the sign-in, home and form pages, and
//! none scrolls sideways at 375 px.

#[path = "support/browser.rs"]
mod browser;

use browser::{Browser, axe_source};
use integritas_server::ServerConfig;
use integritas_tests::server::TestServer;
use serde_json::{Value, json};

/// Institutions `grad-a` and `grad-b` (rs) with a plan each (`plan-1`,
/// `plan-2`); `a_head` heads A, `a_emp` is an employee of A, `b_head` heads B.
fn world() -> TestServer {
    let server =
        TestServer::start_with(ServerConfig { secure_cookies: false, logins_per_minute: 10_000, ..Default::default() });
    let admin = server.admin.clone();
    for (id, name) in [("grad-a", "Grad A"), ("grad-b", "Grad B")] {
        server.expect(
            201,
            "POST",
            "/api/v1/institutions",
            Some(&admin),
            Some(json!({"id": id, "name": name, "jurisdiction": "rs"})),
        );
        server.expect(
            201,
            "POST",
            "/api/v1/plans",
            Some(&admin),
            Some(json!({"institution": id, "workflow": "rs/three_phase"})),
        );
    }
    server.user("a_head", &[("grad-a", "head")], None);
    server.user("a_emp", &[("grad-a", "employee")], None);
    server.user("b_head", &[("grad-b", "head")], None);
    server
}

/// Today as the server dates acts of a plan (the institution's zone).
fn today(server: &TestServer, plan: &str) -> String {
    let view = server.expect(200, "GET", &format!("/api/v1/plans/{plan}"), Some(&server.admin), None);
    view["today"].as_str().expect("today").to_string()
}

fn state(server: &TestServer, plan: &str) -> String {
    let view = server.expect(200, "GET", &format!("/api/v1/plans/{plan}"), Some(&server.admin), None);
    view["state"].as_str().expect("state").to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn is_cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// The `(name, area)` of each row of the working group table, in order.
async fn members(browser: &Browser) -> Vec<(String, String)> {
    let rows = browser.find_all("[data-field=\"working_group_decision.members\"] tbody tr").await;
    let mut out = Vec::new();
    for i in 0..rows.len() {
        let name = browser.value(&format!("working_group_decision.members[{i}].name")).await;
        let area = browser.value(&format!("working_group_decision.members[{i}].area")).await;
        out.push((name, area));
    }
    out
}

#[test]
fn a_head_works_a_serbian_plan_through_the_pages_in_cyrillic() {
    let server = world();
    let today = today(&server, "plan-1");
    let base = format!("http://{}", server.address);
    runtime().block_on(async {
        let browser = Browser::start(&base, 1200).await;

        // Signing in lands on the user's one institution; a wrong password says nothing of which part was wrong.
        browser.open("/plans/plan-1").await;
        assert!(browser.path().await.starts_with("/login?next="), "{}", browser.path().await);
        browser.find("#user").await.send_keys("a_head").await.expect("type");
        browser.find("#password").await.send_keys("not-the-password").await.expect("type");
        let button = browser.find("form[action=\"/login\"] button[type=submit]").await;
        browser.click_and_wait(&button).await;
        let refused = browser.text("#login-error").await;
        assert_eq!(refused, "The user name or the password is not right.");
        assert_eq!(browser.value("user").await, "a_head", "the name typed stays");
        browser.find("#password").await.send_keys("a_head-password").await.expect("type");
        let button = browser.find("form[action=\"/login\"] button[type=submit]").await;
        browser.click_and_wait(&button).await;
        assert_eq!(browser.path().await, "/plans/plan-1", "back to the page asked for");
        browser.open("/").await;
        assert_eq!(browser.path().await, "/institutions/grad-a");
        assert_eq!(browser.text("h1").await, "Grad A");

        // Switching to Serbian Cyrillic: every word of the page, kept for the user.
        // The language menu and its button (no script: a change of the menu alone changes nothing).
        browser.find("#lang-select").await.select_by_value("sr-Cyrl").await.expect("choose Cyrillic");
        let switch = browser.find("form.lang button").await;
        browser.click_and_wait(&switch).await;
        assert_eq!(browser.find("html").await.attr("lang").await.expect("lang").as_deref(), Some("sr-Cyrl"));
        assert_eq!(browser.text("form.logout button").await, "Одјава");
        browser.open("/plans/plan-1").await;
        assert_eq!(browser.find("html").await.attr("lang").await.expect("lang").as_deref(), Some("sr-Cyrl"));
        let page = browser.body_text().await;
        assert!(is_cyrillic(&browser.text("h1").await), "the plan's title from the pack, in Cyrillic: {page}");
        assert!(page.contains("Где је план"), "the timeline's heading: {page}");

        // The timeline: the first step is current, the next ones to come.
        let current = browser.current_step().await;
        assert!(is_cyrillic(&current), "{current}");
        let before = state(&server, "plan-1");
        // The head may appoint the coordinator now: a link to the event's form.
        let link = browser.find("li[data-event=\"appoint_coordinator\"] a").await;
        browser.click_and_wait(&link).await;
        assert_eq!(browser.path().await, "/plans/plan-1/events/appoint_coordinator?as=head");
        assert!(browser.has("fieldset.section legend").await, "the form's sections");
        browser.set("coordinator_decision.number", "01-1/26").await;
        browser.set("coordinator_decision.decided_on", &today).await;
        browser.set("coordinator_decision.posted_on", &today).await;
        browser.set("coordinator_decision.coordinator", "Ана Анић").await;
        browser.set("coordinator_decision.position", "секретар").await;
        browser.press("_action", "submit").await;
        assert_eq!(browser.path().await, "/plans/plan-1?fired=appoint_coordinator", "{}", browser.body_text().await);
        assert!(browser.has("#fired").await, "the event is confirmed");
        let after = state(&server, "plan-1");
        assert_ne!(before, after, "the plan moved");
        let moved = browser.current_step().await;
        assert_ne!(moved, current, "the timeline moved with it");

        // The working group's table: two rows, reordered, a third added and removed, without script.
        browser.open("/plans/plan-1/events/form_working_group").await;
        assert!(browser.body_text().await.contains("Још нема редова."), "an empty table says so");
        browser.press("_action", "add_row:working_group_decision.members").await;
        browser.press("_action", "add_row:working_group_decision.members").await;
        browser.set("working_group_decision.members[0].name", "Ана").await;
        browser.set("working_group_decision.members[0].area", "финансије").await;
        browser.set("working_group_decision.members[1].name", "Бојан").await;
        browser.set("working_group_decision.members[1].area", "кадрови").await;
        browser.set("working_group_decision.number", "02-3/26").await;
        browser.press("_action", "move_up:working_group_decision.members:1").await;
        assert_eq!(
            members(&browser).await,
            vec![("Бојан".into(), "кадрови".into()), ("Ана".into(), "финансије".into())],
            "moved up, with what was typed"
        );
        assert_eq!(browser.value("working_group_decision.number").await, "02-3/26", "other fields keep their values");
        browser.press("_action", "add_row:working_group_decision.members").await;
        browser.set("working_group_decision.members[2].name", "Вера").await;
        browser.press("_action", "remove_row:working_group_decision.members:2").await;
        assert_eq!(members(&browser).await.len(), 2, "the third row is gone");

        // Sent without the decision's date and with two members: each problem beside its field, in Cyrillic.
        browser.press("_action", "submit").await;
        let date_problem = browser.text("[data-field=\"working_group_decision.decided_on\"] .problem").await;
        assert!(is_cyrillic(&date_problem), "the message is in the chosen language: {date_problem}");
        assert!(date_problem.contains("обавезно"), "{date_problem}");
        let summary = browser.text("#form-summary").await;
        assert!(summary.contains(&date_problem), "and in the summary: {summary}");
        let focused = browser.client.execute("return document.activeElement.id;", vec![]).await.expect("focus");
        assert_eq!(focused, json!("form-summary"), "the small script puts focus on the summary");
        assert_eq!(members(&browser).await.len(), 2, "nothing typed is lost");
        assert_eq!(state(&server, "plan-1"), after, "nothing was recorded");

        // Now with the date: the working group is too small (3 to 7), said beside the table.
        browser.set("working_group_decision.decided_on", &today).await;
        if browser.has("[name=\"working_group_decision.posted_on\"]").await {
            browser.set("working_group_decision.posted_on", &today).await;
        }
        browser.press("_action", "submit").await;
        let table_problem = browser.text("[data-field=\"working_group_decision.members\"] .problem").await;
        assert!(is_cyrillic(&table_problem), "{table_problem}");
        assert!(table_problem.contains('2') && table_problem.contains('3'), "{table_problem}");

        // A draft keeps what was typed; it opens again after leaving.
        browser.press("_action", "draft").await;
        assert!(browser.path().await.ends_with("draft=saved"), "{}", browser.path().await);
        browser.open("/plans/plan-1").await;
        browser.open("/plans/plan-1/events/form_working_group").await;
        assert_eq!(members(&browser).await.len(), 2, "the draft's rows");
        assert_eq!(browser.value("working_group_decision.members[0].name").await, "Бојан");
        assert_eq!(browser.value("working_group_decision.number").await, "02-3/26");

        // A third member from another area: valid, fired, the timeline moves again; the draft is spent.
        browser.press("_action", "add_row:working_group_decision.members").await;
        browser.set("working_group_decision.members[2].name", "Вера").await;
        browser.set("working_group_decision.members[2].area", "надлежности").await;
        browser.press("_action", "submit").await;
        assert_eq!(browser.path().await, "/plans/plan-1?fired=form_working_group");
        assert_eq!(state(&server, "plan-1"), "identifying_processes");
        assert_ne!(browser.current_step().await, moved);
        browser.open("/plans/plan-1/events/form_working_group").await;
        assert!(!browser.has("button[value=discard]").await, "no draft is kept after the event");

        // The event is in the plan's history, as the user, in the role.
        let data = server.expect(200, "GET", "/api/v1/plans/plan-1/history", Some(&server.admin), None);
        let last = data["items"]
            .as_array()
            .and_then(|items| items.iter().find(|e| e["event"] == "form_working_group"))
            .expect("the event in the history");
        assert_eq!((last["actor"].as_str(), last["role"].as_str()), (Some("a_head"), Some("head")));
        let names: Vec<&str> = last["payload"]["working_group_decision"]["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter_map(|m| m["name"].as_str())
            .collect();
        assert_eq!(names, ["Бојан", "Ана", "Вера"], "the rows in the order the user gave");

        browser.finish().await;
    });
}

#[test]
fn other_institutions_are_not_found_and_roles_that_may_not_act_are_named() {
    let server = world();
    let base = format!("http://{}", server.address);
    // The head's title as the pack gives it: its source (Serbian Latin) and its English locale.
    let pack = server.expect(200, "GET", "/api/v1/packs/rs", Some(&server.admin), None);
    let latin_title = pack["workflows"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["id"] == "three_phase"))
        .and_then(|w| w["roles"].as_array())
        .and_then(|roles| roles.iter().find(|r| r["id"] == "head"))
        .and_then(|r| r["title"].as_str())
        .expect("the head's title")
        .to_string();
    let english = std::fs::read_to_string(integritas_tests::packs_dir().join("rs/locales/en.ron")).expect("en.ron");
    let english_title = english
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"role.head\": \""))
        .and_then(|rest| rest.split('"').next())
        .expect("role.head in the English locale")
        .to_string();
    runtime().block_on(async {
        let browser = Browser::start(&base, 1200).await;
        browser.sign_in("b_head").await;
        // A user of B: A's plan, its form and A itself answer exactly as what does not exist.
        browser.open("/plans/no-such-plan").await;
        let nothing = browser.body_text().await;
        assert!(nothing.contains("Not found"), "{nothing}");
        for path in ["/plans/plan-1", "/plans/plan-1/events/appoint_coordinator", "/institutions/grad-a"] {
            browser.open(path).await;
            assert_eq!(browser.body_text().await, nothing, "{path}");
        }
        let status = server.raw("GET", "/plans/plan-1", &[], b"");
        assert_eq!(status.status, 303, "without a session: to the sign-in page");
        browser.finish().await;

        // An employee of A may not appoint the coordinator: 403 naming the head's role, in the user's language.
        let browser = Browser::start(&base, 1200).await;
        browser.sign_in("a_emp").await;
        browser.open("/plans/plan-1/events/appoint_coordinator").await;
        let text = browser.body_text().await;
        assert!(text.contains("Not allowed"), "{text}");
        assert!(text.contains(&english_title), "names the role needed ({english_title}): {text}");
        browser.open("/plans/plan-1/events/appoint_coordinator?lang=sr-Latn").await;
        let text = browser.body_text().await;
        assert!(text.contains("Nije dozvoljeno") && text.contains(&latin_title), "{text}");
        // A POST without the form's CSRF token is refused.
        let session = browser.client.get_named_cookie("integritas_session").await.expect("the session cookie");
        let cookie = format!("integritas_session={}", session.value());
        let form = [("Cookie", cookie.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
        let sent = server.raw("POST", "/plans/plan-1/events/appoint_coordinator", &form, b"_action=submit");
        assert_eq!(sent.status, 403, "{}", sent.text());
        assert!(sent.text().contains("Obrazac je zastareo"), "in the user's language: {}", sent.text());
        browser.finish().await;
    });
}

#[test]
fn pages_are_accessible_and_fit_a_phone() {
    let server = world();
    let base = format!("http://{}", server.address);
    let axe = axe_source();
    runtime().block_on(async {
        for width in [1200, 375] {
            let browser = Browser::start(&base, width).await;
            browser.open("/login").await;
            let inner = browser.client.execute("return window.innerWidth;", vec![]).await.expect("width");
            assert_eq!(inner, json!(width), "the window is {width} px wide");
            let mut pages: Vec<(String, Vec<Value>)> = Vec::new();
            let mut check = |path: String, violations: Vec<Value>| pages.push((path, violations));
            check("/login".into(), browser.axe(&axe).await);
            let wider = browser.overflow().await;
            assert!(wider.is_none(), "/login at {width} px scrolls sideways: {wider:?}");
            browser.sign_in("a_head").await;
            for path in [
                "/institutions/grad-a",
                "/plans/plan-1",
                "/plans/plan-1/events/appoint_coordinator",
                "/plans/plan-1/events/form_working_group",
            ] {
                browser.open(path).await;
                if path.ends_with("appoint_coordinator") {
                    browser.press("_action", "submit").await;
                    assert!(browser.has(".problem").await, "problems are shown for the check");
                }
                if path.ends_with("form_working_group") {
                    browser.press("_action", "add_row:working_group_decision.members").await;
                    browser.set("working_group_decision.members[0].name", "Ana Anić").await;
                }
                check(path.to_string(), browser.axe(&axe).await);
                let wider = browser.overflow().await;
                assert!(wider.is_none(), "{path} at {width} px scrolls sideways: {wider:?}");
            }
            for (path, violations) in &pages {
                assert!(
                    violations.is_empty(),
                    "axe-core at {width} px on {path}: {}",
                    serde_json::to_string_pretty(violations).unwrap_or_default()
                );
            }
            browser.finish().await;
        }
    });
}

#[test]
fn employees_answer_the_questionnaire_anonymously_and_see_only_large_enough_groups() {
    let server = world();
    let head = server.token_for("a_head", "a_head-password");
    let coordinator = server.user("a_coord", &[("grad-a", "coordinator")], None);
    let employees: Vec<String> = (0..6)
        .map(|i| {
            let id = format!("emp{i}");
            server.user(&id, &[("grad-a", "employee")], None);
            id
        })
        .collect();
    let today = today(&server, "plan-1");
    let axe = axe_source();
    let fire = |token: &str, event: &str, payload: Value| {
        let r = server.call(
            "POST",
            "/api/v1/plans/plan-1/events",
            Some(token),
            Some(&json!({"event": event, "payload": payload})),
        );
        assert_eq!(r.status, 201, "{event}: {}", r.text());
    };
    fire(
        &head,
        "appoint_coordinator",
        json!({"coordinator_decision": {"number": "01", "decided_on": today, "posted_on": today,
            "coordinator": "Ana Anić", "position": "sekretar"}}),
    );
    fire(
        &head,
        "form_working_group",
        json!({"working_group_decision": {"number": "02", "decided_on": today, "members": [
            {"name": "A", "area": "finansije"}, {"name": "B", "area": "kadrovi"}, {"name": "C", "area": "nabavke"}]}}),
    );
    fire(
        &coordinator,
        "identify_processes",
        json!({"risky_processes": {"processes": [
            {"area": "upravljanje finansijama", "process": "Javne nabavke", "kind": "javne nabavke"}]}}),
    );
    let base = format!("http://{}", server.address);
    runtime().block_on(async {
        let browser = Browser::start(&base, 1200).await;
        for (i, employee) in employees.iter().enumerate() {
            browser.sign_in(employee).await;
            browser.open("/plans/plan-1").await;
            // The employee's next step is the questionnaire, linked from the plan.
            let link = browser.find("li[data-event=\"answer_questionnaire\"] a").await;
            browser.click_and_wait(&link).await;
            assert_eq!(browser.path().await, "/plans/plan-1/questionnaire/answer_questionnaire");
            assert!(!browser.has("button[value=draft]").await, "no draft of an anonymous answer");
            if i == 0 {
                let violations = browser.axe(&axe).await;
                assert!(violations.is_empty(), "axe-core on the questionnaire: {violations:?}");
            }
            // Five answer about procurement, one about staff selection.
            let process = if i < 5 { "javne nabavke" } else { "odabir kadrova" };
            browser
                .find("[name=\"questionnaire_answers.responses[0].process\"]")
                .await
                .select_by_value(process)
                .await
                .expect("process");
            browser
                .find("[name=\"questionnaire_answers.responses[0].measures_exist\"]")
                .await
                .select_by_value(if i % 2 == 0 { "da" } else { "ne" })
                .await
                .expect("answer");
            browser.press("_action", "submit").await;
            assert_eq!(browser.path().await, "/plans/plan-1/questionnaire/answer_questionnaire?answered=1");
            if i == 0 {
                // A second answer in the cycle is refused, said on the form.
                browser.open("/plans/plan-1/questionnaire/answer_questionnaire").await;
                browser
                    .find("[name=\"questionnaire_answers.responses[0].process\"]")
                    .await
                    .select_by_value(process)
                    .await
                    .expect("process");
                browser.press("_action", "submit").await;
                let said = browser.text("#form-refusal").await;
                assert!(said.contains("already answered"), "{said}");
            }
            let out = browser.find("form.logout button").await;
            browser.click_and_wait(&out).await;
        }
        // No page shows a single answer: the plan's history holds none.
        let history = server.expect(200, "GET", "/api/v1/plans/plan-1/history", Some(&server.admin), None);
        assert!(!history.to_string().contains("odabir kadrova"), "{history}");
        fire(&coordinator, "close_questionnaire", json!({"questionnaire": {"opened_on": today, "closed_on": today}}));
        // The results: the group of five in numbers, the group of one suppressed (the pack's minimum is five).
        browser.sign_in("a_head").await;
        browser.open("/plans/plan-1/questionnaire/answer_questionnaire/results").await;
        let text = browser.body_text().await;
        assert!(text.contains("at least 5 answers"), "{text}");
        assert!(text.contains("Respondents"), "the plugin's words in the page's language: {text}");
        let rows = browser.find_all(".results tbody tr").await;
        assert!(!rows.is_empty(), "{text}");
        let first = rows[0].text().await.expect("row");
        assert!(first.contains('5'), "five respondents: {first}");
        let violations = browser.axe(&axe).await;
        assert!(violations.is_empty(), "axe-core on the results: {violations:?}");
        browser.finish().await;
    });
}

/// Signs in through the page's form over plain HTTP; returns the cookie.
fn page_session(server: &TestServer, user: &str, password: &str) -> String {
    let body = format!("user={user}&password={password}&next=%2F");
    let login = server.raw("POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes());
    assert_eq!(login.status, 303, "{}", login.text());
    login.header("set-cookie").and_then(|c| c.split(';').next()).expect("a session cookie").to_string()
}

#[test]
fn every_form_of_every_pack_is_generated_with_every_field() {
    let server = world();
    let packs = server.expect(200, "GET", "/api/v1/packs", Some(&server.admin), None);
    let pack_ids: Vec<String> = packs
        .as_array()
        .or_else(|| packs["items"].as_array())
        .expect("packs")
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect();
    assert!(pack_ids.len() >= 3, "{packs}");
    server.expect(
        201,
        "POST",
        "/api/v1/users",
        Some(&server.admin),
        Some(json!({"id": "everyone", "name": "Everyone", "password": "everyone-password"})),
    );
    let mut checked = 0;
    for pack in &pack_ids {
        let detail = server.expect(200, "GET", &format!("/api/v1/packs/{pack}"), Some(&server.admin), None);
        for workflow in detail["workflows"].as_array().expect("workflows") {
            let wf = workflow["id"].as_str().expect("id");
            let institution = format!("inst-{pack}-{wf}").replace('_', "-");
            server.expect(
                201,
                "POST",
                "/api/v1/institutions",
                Some(&server.admin),
                Some(json!({"id": institution, "name": institution, "jurisdiction": pack, "employees": 200})),
            );
            for role in workflow["roles"].as_array().expect("roles") {
                let role = role["id"].as_str().expect("role");
                let r = server.call(
                    "POST",
                    &format!("/api/v1/institutions/{institution}/members"),
                    Some(&server.admin),
                    Some(&json!({"user": "everyone", "role": role})),
                );
                assert!(r.status == 201 || r.status == 422, "{role}: {}", r.text());
            }
            let started = server.expect(
                201,
                "POST",
                "/api/v1/plans",
                Some(&server.admin),
                Some(json!({"institution": institution, "workflow": format!("{pack}/{wf}")})),
            );
            let plan = started["plan"]["id"].as_str().expect("plan id").to_string();
            let cookie = page_session(&server, "everyone", "everyone-password");
            let forms = workflow["forms"].as_array().expect("forms");
            for event in workflow["events"].as_array().expect("events") {
                let id = event["id"].as_str().expect("event");
                let Some(role) = event["roles"].as_array().and_then(|r| r.first()).and_then(Value::as_str) else {
                    continue;
                };
                let url = format!("/plans/{plan}/events/{id}?as={role}");
                let page = server.raw("GET", &url, &[("Cookie", &cookie)], b"");
                if page.status == 303 {
                    // An anonymous event: its questionnaire page.
                    let to = page.header("location").expect("location").to_string();
                    assert!(to.contains("/questionnaire/"), "{url} → {to}");
                    let questionnaire = server.raw("GET", &to, &[("Cookie", &cookie)], b"");
                    assert_eq!(questionnaire.status, 200, "{to}: {}", questionnaire.text());
                    continue;
                }
                assert_eq!(page.status, 200, "{pack} {url}: {}", page.text());
                let html = page.text();
                for fill in event["fills"].as_array().expect("fills") {
                    let form = forms.iter().find(|f| f["id"] == *fill).expect("the form");
                    for field in form["fields"].as_array().expect("fields") {
                        let key = field["key"].as_str().expect("key");
                        let shown = if field["kind"] == "table" {
                            format!("name=\"{key}._table\"")
                        } else {
                            format!("name=\"{key}\"")
                        };
                        assert!(html.contains(&shown), "{pack} {url}: no input {shown}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} fields were checked");
}

#[test]
fn a_given_password_is_changed_first_and_a_sign_in_gets_a_new_session() {
    let server = world();
    let made = server.expect(
        201,
        "POST",
        "/api/v1/users",
        Some(&server.admin),
        Some(json!({"id": "newbie", "name": "Newbie"})),
    );
    let given = made["password"].as_str().expect("a made password").to_string();
    let body = format!("user=newbie&password={given}&next=%2Finstitutions");
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let login = server.raw("POST", "/login", &[form], body.as_bytes());
    assert_eq!((login.status, login.header("location")), (303, Some("/password")), "{}", login.text());
    let cookie = login.header("set-cookie").and_then(|c| c.split(';').next()).expect("cookie").to_string();
    // Every page but the password's (and signing out) sends the user there first.
    let elsewhere = server.raw("GET", "/institutions", &[("Cookie", &cookie)], b"");
    assert_eq!((elsewhere.status, elsewhere.header("location")), (303, Some("/password")));
    let page = server.raw("GET", "/password", &[("Cookie", &cookie)], b"");
    assert_eq!(page.status, 200);
    let html = page.text();
    let csrf = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's CSRF token")
        .to_string();
    let headers = [("Cookie", cookie.as_str()), form];
    let wrong = format!("_csrf={csrf}&current=nope-nope-nope&new=a-new-passphrase&again=a-new-passphrase");
    let r = server.raw("POST", "/password", &headers, wrong.as_bytes());
    assert_eq!(r.status, 422);
    assert!(r.text().contains("The current password is not right."), "{}", r.text());
    let mismatch = format!("_csrf={csrf}&current={given}&new=a-new-passphrase&again=another-passphrase");
    let r = server.raw("POST", "/password", &headers, mismatch.as_bytes());
    assert_eq!(r.status, 422);
    assert!(r.text().contains("The two new passwords are not the same."), "{}", r.text());
    let right = format!("_csrf={csrf}&current={given}&new=a-new-passphrase&again=a-new-passphrase");
    let r = server.raw("POST", "/password", &headers, right.as_bytes());
    assert_eq!(r.status, 303, "{}", r.text());
    let now = server.raw("GET", "/institutions", &[("Cookie", &cookie)], b"");
    assert_eq!(now.status, 200, "the session goes on with the new password");
    // Signing in again gives a new session id and ends the one the browser had.
    let again =
        server.raw("POST", "/login", &[("Cookie", &cookie), form], b"user=newbie&password=a-new-passphrase&next=%2F");
    assert_eq!(again.status, 303);
    let fresh = again.header("set-cookie").and_then(|c| c.split(';').next()).expect("cookie").to_string();
    assert_ne!(fresh, cookie);
    let old = server.raw("GET", "/institutions", &[("Cookie", &cookie)], b"");
    assert_eq!(old.status, 303, "the old session ended");
    assert!(old.header("location").is_some_and(|l| l.starts_with("/login")));
    // Signing out ends the session on the server.
    let page = server.raw("GET", "/institutions", &[("Cookie", &fresh)], b"");
    let csrf = page
        .text()
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf")
        .to_string();
    let out = server.raw("POST", "/logout", &[("Cookie", &fresh), form], format!("_csrf={csrf}").as_bytes());
    assert_eq!(out.status, 303);
    let after = server.raw("GET", "/institutions", &[("Cookie", &fresh)], b"");
    assert_eq!(after.status, 303, "signed out");
}
