//! Issue 10: the HTTP server end to end — a real server on 127.0.0.1 over
//! a real sled store in a temporary folder, with the bundled packs. The
//! tenancy walk goes over every route of the generated OpenAPI document as
//! a user of another institution and as each role; the anonymous
//! questionnaire, sessions and CSRF, the sign-in rate limit, body limits,
//! security headers and the date of acts are checked through the socket.

use std::collections::BTreeMap;

use integritas_core::store::{SledStore, Store};
use integritas_server::{ServerConfig, client};
use integritas_tests::server::TestServer;
use serde_json::{Value, json};

/// A user of the world: id, roles `(institution, role)`, install-wide grants.
type Person = (&'static str, &'static [(&'static str, &'static str)], Option<Value>);

/// Institutions `grad-a` and `grad-b` (rs) and `opstina-m` (me), a plan in
/// each rs institution (`plan-1` of A, `plan-2` of B), and one user per
/// role of B, an agency of each jurisdiction and a consultant.
struct World {
    server: TestServer,
    /// User id → bearer token.
    tokens: BTreeMap<&'static str, String>,
}

impl World {
    fn new() -> World {
        // Many sign-ins from one address while the world is built.
        World::with(TestServer::start_with(ServerConfig {
            secure_cookies: false,
            logins_per_minute: 10_000,
            ..Default::default()
        }))
    }

    fn with(server: TestServer) -> World {
        let admin = server.admin.clone();
        for (id, jurisdiction) in [("grad-a", "rs"), ("grad-b", "rs"), ("opstina-m", "me")] {
            server.expect(
                201,
                "POST",
                "/api/v1/institutions",
                Some(&admin),
                Some(json!({"id": id, "name": id, "jurisdiction": jurisdiction})),
            );
        }
        for institution in ["grad-a", "grad-b"] {
            server.expect(
                201,
                "POST",
                "/api/v1/plans",
                Some(&admin),
                Some(json!({"institution": institution, "workflow": "rs/three_phase"})),
            );
        }
        let mut tokens = BTreeMap::new();
        let people: [Person; 9] = [
            ("a_head", &[("grad-a", "head")], None),
            ("b_head", &[("grad-b", "head")], None),
            ("b_coord", &[("grad-b", "coordinator")], None),
            ("b_wg", &[("grad-b", "working_group")], None),
            ("b_emp", &[("grad-b", "employee")], None),
            ("agency_rs", &[], Some(json!({"agency": ["rs"]}))),
            ("agency_me", &[], Some(json!({"agency": ["me"]}))),
            ("consultant", &[("grad-a", "coordinator"), ("opstina-m", "manager")], None),
            ("b_two_roles", &[("grad-b", "coordinator"), ("grad-b", "working_group")], None),
        ];
        for (id, roles, grants) in people {
            tokens.insert(id, server.user(id, roles, grants));
        }
        tokens.insert("admin", admin);
        World { server, tokens }
    }

    fn token(&self, who: &str) -> &str {
        &self.tokens[who]
    }

    /// Today as the server dates acts of an institution's plan.
    fn today(&self, plan: &str) -> String {
        let view = self.server.expect(200, "GET", &format!("/api/v1/plans/{plan}"), Some(self.token("admin")), None);
        view["today"].as_str().expect("today").to_string()
    }

    fn events(&self, plan: &str) -> u64 {
        let view = self.server.expect(200, "GET", &format!("/api/v1/plans/{plan}"), Some(self.token("admin")), None);
        view["events"].as_u64().expect("events")
    }

    fn fire(&self, who: &str, plan: &str, event: &str, payload: Value) -> client::Response {
        self.server.call(
            "POST",
            &format!("/api/v1/plans/{plan}/events"),
            Some(self.token(who)),
            Some(&json!({"event": event, "payload": payload})),
        )
    }
}

fn coordinator_decision(today: &str) -> Value {
    json!({"coordinator_decision": {"number": "01-1", "decided_on": today, "posted_on": today, "coordinator": "Ana Anić", "position": "sekretar"}})
}

/// The concrete URL and body of a route of the document, aimed at
/// institution B (`grad-b`, `plan-2`), and whether it names B.
struct Target {
    url: String,
    missing_url: String,
    body: Option<Value>,
    names_b: bool,
}

/// Every route template of the API with the request the walk sends. A
/// route missing here fails the walk: a new route needs its case.
fn target(method: &str, template: &str, today: &str) -> Option<Target> {
    let b = |url: &str| url.replace("{id}", "grad-b");
    let p = |url: &str| url.replace("{id}", "plan-2");
    let body = match (method, template) {
        ("post", "/api/v1/auth/login") => Some(json!({"user": "nobody", "password": "wrong-password"})),
        ("put", "/api/v1/auth/password") => Some(json!({"current": "wrong-password", "new": "another-password"})),
        ("post", "/api/v1/auth/tokens") => Some(json!({"name": "walk"})),
        ("post", "/api/v1/users") => Some(json!({"id": "walk-user", "name": "Walk", "password": "walk-password"})),
        ("put", "/api/v1/users/{id}/grants") => Some(json!({"admin": false, "agency": []})),
        ("post", "/api/v1/institutions") => Some(json!({"id": "walk-inst", "name": "W", "jurisdiction": "rs"})),
        ("post", "/api/v1/institutions/{id}/members") => Some(json!({"user": "b_emp", "role": "working_group"})),
        ("post", "/api/v1/plans") => Some(json!({"institution": "grad-b", "workflow": "rs/three_phase"})),
        ("post", "/api/v1/plans/{id}/events") => {
            Some(json!({"event": "appoint_coordinator", "payload": coordinator_decision(today)}))
        }
        ("post", "/api/v1/plans/{id}/migration") => Some(json!({"to": "1.0.0"})),
        ("post", "/api/v1/plans/{id}/import") => Some(json!({"sample": "grad_primer"})),
        _ => None,
    };
    let (url, missing, names_b) = match template {
        "/api/v1/health"
        | "/api/v1/openapi.json"
        | "/api/v1/auth/login"
        | "/api/v1/auth/logout"
        | "/api/v1/auth/me"
        | "/api/v1/auth/password"
        | "/api/v1/auth/tokens"
        | "/api/v1/users"
        | "/api/v1/institutions"
        | "/api/v1/packs"
        | "/api/v1/admin/verify"
        | "/api/v1/admin/backup"
        | "/api/v1/admin/security-log" => (template.to_string(), String::new(), false),
        "/api/v1/auth/tokens/{id}" => (template.replace("{id}", "0123456789ab"), String::new(), false),
        "/api/v1/users/{id}" | "/api/v1/users/{id}/grants" => (template.replace("{id}", "b_wg"), String::new(), false),
        "/api/v1/packs/{id}" => (template.replace("{id}", "rs"), String::new(), false),
        "/api/v1/plans" if method == "get" => {
            ("/api/v1/plans?institution=grad-b".into(), "/api/v1/plans?institution=zz-missing".into(), true)
        }
        "/api/v1/plans" => (template.to_string(), template.to_string(), true),
        "/api/v1/institutions/{id}" | "/api/v1/institutions/{id}/members" => {
            (b(template), template.replace("{id}", "zz-missing"), true)
        }
        "/api/v1/institutions/{id}/members/{user}/{role}" => {
            let url = template.replace("{user}", "b_wg").replace("{role}", "working_group");
            (b(&url), url.replace("{id}", "zz-missing"), true)
        }
        t if t.starts_with("/api/v1/plans/{id}") => {
            let url = t.replace("{form}", "coordinator_decision").replace("{document}", "coordinator_decision");
            let url = if t.ends_with("/migration") && method == "get" { format!("{url}?to=1.0.0") } else { url };
            (p(&url), url.replace("{id}", "zz-missing"), true)
        }
        _ => return None,
    };
    Some(Target { url, missing_url: missing, body, names_b })
}

/// What each principal may do to B: `true` when a 2xx is right.
fn may(who: &str, method: &str, template: &str) -> bool {
    let read = method == "get";
    let own_account = template.starts_with("/api/v1/auth/") || template == "/api/v1/health";
    let public = matches!(template, "/api/v1/openapi.json" | "/api/v1/packs" | "/api/v1/packs/{id}");
    let admin_only = template.starts_with("/api/v1/users")
        || template.starts_with("/api/v1/admin/")
        || (template == "/api/v1/institutions" && !read)
        || (template.starts_with("/api/v1/institutions/{id}/members") && !read);
    let member_of_b = who.starts_with("b_");
    let reads_b = member_of_b || who == "agency_rs" || who == "admin";
    if own_account || public {
        return true;
    }
    if admin_only {
        return who == "admin";
    }
    if template == "/api/v1/institutions" {
        return true; // a list: what it shows is checked apart
    }
    if read {
        return reads_b;
    }
    match template {
        "/api/v1/plans" | "/api/v1/plans/{id}/migration" => member_of_b || who == "admin",
        "/api/v1/plans/{id}/events" | "/api/v1/plans/{id}/import" => who == "b_head",
        _ => panic!("no expectation for {method} {template}"),
    }
}

/// A body with the ids of B (and the id a missing URL names) replaced, so a
/// 404 about B can be compared with a 404 about nothing.
fn normalized(body: &Value) -> String {
    body.to_string().replace("plan-2", "ID").replace("grad-b", "ID").replace("zz-missing", "ID")
}

#[test]
fn every_route_of_the_openapi_document_keeps_each_caller_to_its_own() {
    let world = World::new();
    let server = &world.server;
    let doc = server.expect(200, "GET", "/api/v1/openapi.json", None, None);
    let today = world.today("plan-2");
    let mut routes: Vec<(String, String)> = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                routes.push((method.to_string(), template.clone()));
            }
        }
    }
    assert!(routes.len() >= 30, "the document lists every route: {routes:?}");
    // Outsiders first, then B's own roles, the agency, the head, the administrator last.
    let order = [
        "a_head",
        "agency_me",
        "consultant",
        "b_emp",
        "b_wg",
        "b_coord",
        "b_two_roles",
        "agency_rs",
        "b_head",
        "admin",
    ];
    let mut wrong = Vec::new();
    for who in order {
        let token = world.token(who).to_string();
        for (method, template) in &routes {
            if template == "/api/v1/packs" && method == "post" {
                // Installing a pack: only an administrator (junk bytes are refused whole).
                let r = server.raw(
                    "POST",
                    template,
                    &[("Authorization", &format!("Bearer {token}")), ("Content-Type", "application/gzip")],
                    b"not a tar.gz",
                );
                let expected = if who == "admin" { 422 } else { 403 };
                if r.status != expected {
                    wrong.push(format!("{who} POST {template}: {} (expected {expected})", r.status));
                }
                continue;
            }
            let Some(t) = target(method, template, &today) else {
                panic!("the walk has no case for {method} {template}: add one");
            };
            let before = world.events("plan-2");
            let m = method.to_uppercase();
            let response = server.call(&m, &t.url, Some(&token), t.body.as_ref());
            let ok = (200..300).contains(&response.status);
            let allowed = may(who, method, template);
            if response.status >= 500 {
                wrong.push(format!("{who} {m} {}: server error {}", t.url, response.text()));
            }
            if ok && !allowed {
                wrong.push(format!(
                    "{who} {m} {}: {} but should not happen: {}",
                    t.url,
                    response.status,
                    response.text()
                ));
            }
            if !allowed && !ok && !["get", "delete"].contains(&method.as_str()) && world.events("plan-2") != before {
                wrong.push(format!("{who} {m} {}: refused, but plan-2 changed", t.url));
            }
            let outsider = ["a_head", "agency_me", "consultant"].contains(&who);
            if outsider && t.names_b {
                // Exactly what a URL naming nothing gets.
                let missing_body: Option<Value> = t
                    .body
                    .as_ref()
                    .map(|b| serde_json::from_str(&b.to_string().replace("grad-b", "zz-missing")).expect("json"));
                let missing = server.call(&m, &t.missing_url, Some(&token), missing_body.as_ref());
                if response.status != 404
                    || missing.status != 404
                    || normalized(&response.json()) != normalized(&missing.json())
                {
                    wrong.push(format!(
                        "{who} {m} {}: {} {} vs a missing one: {} {}",
                        t.url,
                        response.status,
                        response.text(),
                        missing.status,
                        missing.text()
                    ));
                }
            }
            // 422 only for "say which of your roles" (b_two_roles).
            if !ok && !allowed && ![401, 403, 404, 422].contains(&response.status) {
                wrong.push(format!("{who} {m} {}: refused with {} (expected 403 or 404)", t.url, response.status));
            }
            if method == "get" && ok && (template == "/api/v1/institutions" || template == "/api/v1/plans") {
                let ids: Vec<String> = response.json()["items"]
                    .as_array()
                    .map(|items| items.iter().map(|i| i["id"].as_str().unwrap_or("").to_string()).collect())
                    .unwrap_or_default();
                let sees_b = ids.iter().any(|i| i == "grad-b" || i == "plan-2");
                if sees_b != (who.starts_with("b_") || who == "agency_rs" || who == "admin") {
                    wrong.push(format!("{who} lists {ids:?} at {template}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong answer(s):\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn a_refused_role_names_the_role_needed_and_the_actor_is_the_signed_in_user() {
    let world = World::new();
    let today = world.today("plan-2");
    let refused = world.fire("b_coord", "plan-2", "appoint_coordinator", coordinator_decision(&today));
    assert_eq!(refused.status, 403, "{}", refused.text());
    let error = &refused.json()["error"];
    assert_eq!((error["code"].as_str(), error["guard"].as_str()), (Some("refused"), Some("role")), "{error}");
    assert_eq!(error["roles_needed"], json!(["head"]));
    let agency = world.fire("agency_rs", "plan-2", "appoint_coordinator", coordinator_decision(&today));
    assert_eq!(agency.status, 403, "an agency reads but never writes: {}", agency.text());
    let two = world.fire("b_two_roles", "plan-2", "appoint_coordinator", coordinator_decision(&today));
    assert_eq!(two.status, 422, "two roles: say which: {}", two.text());
    assert_eq!(two.json()["error"]["problems"][0]["path"], "as");
    // A date of the act from the client is refused as an unknown field.
    let dated = world.server.call(
        "POST",
        "/api/v1/plans/plan-2/events",
        Some(world.token("b_head")),
        Some(&json!({"event": "appoint_coordinator", "today": "2022-01-01", "payload": coordinator_decision(&today)})),
    );
    assert_eq!(dated.status, 422, "{}", dated.text());
    assert!(dated.text().contains("today"), "{}", dated.text());
    let fired = world.fire("b_head", "plan-2", "appoint_coordinator", coordinator_decision(&today));
    assert_eq!(fired.status, 201, "{}", fired.text());
    let event = &fired.json()["event"];
    assert_eq!((event["actor"].as_str(), event["role"].as_str()), (Some("b_head"), Some("head")));
    assert_eq!(event["date"].as_str(), Some(today.as_str()), "the date of the act is the server's");
    // An invalid payload names the field.
    let bad = world.fire(
        "b_head",
        "plan-2",
        "form_working_group",
        json!({"working_group_decision": {"number": 5, "decided_on": today, "members": []}}),
    );
    assert_eq!(bad.status, 409, "{}", bad.text());
    let paths: Vec<String> =
        bad.json()["error"]["problems"].as_array().expect("problems").iter().map(|p| p["path"].to_string()).collect();
    assert!(paths.iter().any(|p| p.contains("working_group_decision.number")), "{paths:?}");
}

/// Moves plan-2 to the questionnaire and answers it as `employees`, one
/// answer each: `(process, measures_exist)`.
fn answer_all(world: &World, employees: &[(&str, &str, &str)]) {
    let today = world.today("plan-2");
    for (who, event, payload) in [
        ("b_head", "appoint_coordinator", coordinator_decision(&today)),
        (
            "b_head",
            "form_working_group",
            json!({"working_group_decision": {"number": "02", "decided_on": today, "members": [
                {"name": "A", "area": "finansije"}, {"name": "B", "area": "kadrovi"}, {"name": "C", "area": "nabavke"}]}}),
        ),
        (
            "b_coord",
            "identify_processes",
            json!({"risky_processes": {"processes": [
                {"area": "upravljanje finansijama", "process": "Javne nabavke", "kind": "javne nabavke"}]}}),
        ),
    ] {
        let r = world.fire(who, "plan-2", event, payload);
        assert_eq!(r.status, 201, "{event}: {}", r.text());
    }
    for (who, process, measures) in employees {
        let r = world.server.call(
            "POST",
            "/api/v1/plans/plan-2/events",
            Some(&world.tokens[who]),
            Some(&json!({"event": "answer_questionnaire", "payload": {"questionnaire_answers": {"responses": [
                {"process": process, "measures_exist": measures, "knowledge": "ne", "experience": "ne"}]}}})),
        );
        assert_eq!(r.status, 201, "{who}: {}", r.text());
        let receipt = r.json();
        assert_eq!(receipt["answered"]["event"], "answer_questionnaire", "{receipt}");
        assert!(receipt.get("event").is_none(), "an answer is no event of the log: {receipt}");
    }
}

#[test]
fn anonymous_answers_are_kept_apart_once_per_person_and_shown_only_as_large_enough_groups() {
    let mut world = World::new();
    let mut employees = Vec::new();
    for i in 0..7 {
        let id: &'static str = Box::leak(format!("emp{i}").into_boxed_str());
        let token = world.server.user(id, &[("grad-b", "employee")], None);
        world.tokens.insert(id, token);
        // Five answer about procurement, two about staff selection.
        let process = if i < 5 { "javne nabavke" } else { "odabir kadrova" };
        employees.push((id, process, if i % 2 == 0 { "da" } else { "ne" }));
    }
    answer_all(&world, &employees);
    // A second answer in the cycle is refused, and the first one stays single.
    let again = world.server.call(
        "POST",
        "/api/v1/plans/plan-2/events",
        Some(world.token("emp0")),
        Some(&json!({"event": "answer_questionnaire", "payload": {"questionnaire_answers": {"responses": [
            {"process": "javne nabavke", "measures_exist": "ne"}]}}})),
    );
    assert_eq!(again.status, 409, "{}", again.text());
    // No route shows a single answer: not the plan, its forms, its history or its documents.
    for who in ["admin", "b_head", "b_coord", "agency_rs", "emp0"] {
        for url in [
            "/api/v1/plans/plan-2",
            "/api/v1/plans/plan-2?as=coordinator",
            "/api/v1/plans/plan-2/history",
            "/api/v1/plans/plan-2/scores",
            "/api/v1/plans/plan-2/documents/integrity_plan",
        ] {
            let r = world.server.call("GET", url, Some(world.token(who)), None);
            assert_eq!(r.status, 200, "{who} {url}: {}", r.text());
            let text = r.text();
            for answer in ["measures_exist", "odabir kadrova", "answer_questionnaire"] {
                assert!(!text.contains(answer), "{who} {url} shows `{answer}`: {text}");
            }
        }
    }
    // The forms show the questionnaire's fields (choices included) but no data of it.
    let form = world.server.expect(
        200,
        "GET",
        "/api/v1/plans/plan-2/forms/questionnaire_answers",
        Some(world.token("admin")),
        None,
    );
    assert_eq!((form["anonymous"].clone(), form["data"].clone()), (json!(true), Value::Null));
    let forms = world.server.expect(200, "GET", "/api/v1/plans/plan-2/forms", Some(world.token("b_coord")), None);
    let anonymous: Vec<&Value> = forms.as_array().expect("forms").iter().filter(|f| f["anonymous"] == true).collect();
    assert_eq!(anonymous.len(), 1);
    assert_eq!(anonymous[0]["data"], Value::Null);
    let history = world.server.expect(200, "GET", "/api/v1/plans/plan-2/history", Some(world.token("admin")), None);
    assert_eq!(history["items"].as_array().map(Vec::len), Some(4), "four named events, no answers: {history}");
    // Closing aggregates them: the group of five is shown, the group of two suppressed.
    let today = world.today("plan-2");
    let closed = world.fire(
        "b_coord",
        "plan-2",
        "close_questionnaire",
        json!({"questionnaire": {"opened_on": today, "closed_on": today}}),
    );
    assert_eq!(closed.status, 201, "{}", closed.text());
    let effects = closed.json()["event"]["effects"].clone();
    let sealed = effects.as_array().expect("effects").iter().find(|e| e["type"] == "answers_sealed").cloned();
    assert_eq!(sealed.as_ref().map(|s| s["count"].clone()), Some(json!(7)), "{effects}");
    let scores = world.server.expect(200, "GET", "/api/v1/plans/plan-2/scores", Some(world.token("b_head")), None);
    let processes = &scores["questionnaire"]["value"]["processes"];
    assert_eq!(processes[0]["process"], "javne nabavke");
    assert_eq!(processes[0]["respondents"], 5);
    assert_eq!(
        processes[0]["questions"][0]["counts"],
        json!([{"option": "da", "count": 3}, {"option": "ne", "count": 2}, {"option": "ne znam", "count": 0}])
    );
    assert_eq!((processes[1]["suppressed"].clone(), processes[1]["respondents"].clone()), (json!(true), Value::Null));
    let verify = world.server.expect(200, "POST", "/api/v1/admin/verify", Some(world.token("admin")), None);
    assert_eq!(verify["broken"], json!([]), "{verify}");
    // After closing, no more answers come in (the plan left the questionnaire).
    let late = world.server.call(
        "POST",
        "/api/v1/plans/plan-2/events",
        Some(world.token("b_emp")),
        Some(&json!({"event": "answer_questionnaire", "payload": {"questionnaire_answers": {"responses": [
            {"process": "javne nabavke"}]}}})),
    );
    assert_eq!(late.status, 409, "{}", late.text());
    // In the store each answer is its month and its data under a random key: no person, no time of day.
    let dir = world.server.stop();
    let store = SledStore::open(&dir.path().join("data")).expect("store");
    let answers = store.records("answers", "").expect("answers");
    assert_eq!(answers.len(), 7);
    for (key, bytes) in &answers {
        let answer: Value = serde_json::from_slice(bytes).expect("json");
        let fields: Vec<&String> = answer.as_object().expect("object").keys().collect();
        assert_eq!(fields, ["event", "month", "payload"], "{answer}");
        assert_eq!(answer["month"].as_str().map(str::len), Some(7), "YYYY-MM only: {answer}");
        let id = key.rsplit('\u{0}').next().expect("id");
        assert_eq!(id.len(), 32, "a random 128-bit key: {key:?}");
        for person in ["emp0", "emp1", "b_emp"] {
            assert!(!String::from_utf8_lossy(bytes).contains(person));
        }
    }
    // Changing an answer in the store is caught by verify (the CLI, no server now).
    let (key, bytes) = &answers[0];
    let changed = String::from_utf8_lossy(bytes)
        .replace("\"ne\"", "\"da\"")
        .replace("\"da\",\"knowledge\"", "\"ne\",\"knowledge\"");
    store
        .write_records(&[integritas_core::store::RecordWrite::Put {
            kind: "answers",
            key: key.clone(),
            bytes: format!("{changed} ").into_bytes(),
        }])
        .expect("tamper");
    drop(store);
    let install = integritas_tests::Install { dir, packs: integritas_tests::packs_dir() };
    let run = install.run("2030-01-01", &["verify"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("anonymous answers of cycle"), "{}", run.stdout);
}

#[test]
fn sessions_rotate_end_on_logout_expire_and_need_csrf_for_writes() {
    let world = World::new();
    let server = &world.server;
    let login = |cookie: Option<&str>| {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(c) = cookie {
            headers.push(("Cookie", c));
        }
        let r =
            server.raw("POST", "/api/v1/auth/login", &headers, br#"{"user": "b_head", "password": "b_head-password"}"#);
        assert_eq!(r.status, 200, "{}", r.text());
        let set = r.header("set-cookie").expect("cookie").to_string();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
            assert!(set.contains(attribute), "{set}");
        }
        (set.split(';').next().expect("pair").to_string(), r.json()["csrf_token"].as_str().expect("csrf").to_string())
    };
    let (first, _) = login(None);
    let (second, csrf) = login(Some(&first));
    assert_ne!(first, second, "a new session id at every login");
    let me = |cookie: &str| server.raw("GET", "/api/v1/auth/me", &[("Cookie", cookie)], b"").status;
    assert_eq!((me(&first), me(&second)), (401, 200), "the session the browser had ended at the new login");
    // A cookie-authenticated write needs the session's CSRF token.
    let today = world.today("plan-2");
    let body = serde_json::to_vec(
        &json!({"event": "appoint_coordinator", "as": "head", "payload": coordinator_decision(&today)}),
    )
    .expect("body");
    let json = ("Content-Type", "application/json");
    let events = "/api/v1/plans/plan-2/events";
    let before = world.events("plan-2");
    let without = server.raw("POST", events, &[("Cookie", &second), json], &body);
    assert_eq!((without.status, without.json()["error"]["code"].clone()), (403, json!("csrf")), "{}", without.text());
    let wrong = server.raw("POST", events, &[("Cookie", &second), ("X-CSRF-Token", "0000"), json], &body);
    assert_eq!(wrong.status, 403);
    assert_eq!(world.events("plan-2"), before, "a write refused for its CSRF token records nothing");
    let with = server.raw("POST", events, &[("Cookie", &second), ("X-CSRF-Token", &csrf), json], &body);
    assert_eq!(with.status, 201, "{}", with.text());
    // Logout ends the session on the server, not only in the browser.
    let out = server.raw("POST", "/api/v1/auth/logout", &[("Cookie", &second), ("X-CSRF-Token", &csrf)], b"");
    assert_eq!(out.status, 204);
    assert_eq!(me(&second), 401);
    // The security log has the logins, the failed one, the role changes; no secret.
    let bad = server.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"user": "b_head", "password": "not-her-password"})),
    );
    assert_eq!(bad.status, 401);
    let log = server.expect(200, "GET", "/api/v1/admin/security-log?limit=1000", Some(world.token("admin")), None);
    let kinds: Vec<&str> = log.as_array().expect("entries").iter().filter_map(|e| e["kind"].as_str()).collect();
    for kind in ["user_created", "role_granted", "login", "login_failed", "logout", "token_created"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let text = log.to_string();
    for secret in ["b_head-password", "not-her-password", &csrf, second.split('=').nth(1).unwrap_or("x")] {
        assert!(!text.contains(secret), "the security log holds a secret");
    }
    let dir = world.server.stop();
    // Nor does the store: passwords only as argon2id hashes, sessions and tokens only as hashes.
    for entry in walk(&dir.path().join("data")) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for secret in ["b_head-password", second.split('=').nth(1).unwrap_or("x")] {
            assert!(!text.contains(secret), "{} holds a secret", entry.display());
        }
    }
    let store = SledStore::open(&dir.path().join("data")).expect("store");
    let user = store.record("users", "b_head").expect("read").expect("b_head");
    let user: Value = serde_json::from_slice(&user).expect("json");
    assert!(user["password"].as_str().is_some_and(|h| h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")), "{user}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

#[test]
fn sessions_expire_when_idle() {
    let mut config = ServerConfig { secure_cookies: false, ..Default::default() };
    config.sessions.idle = std::time::Duration::from_secs(1);
    let server = TestServer::start_with(config);
    let r = server.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"user": "admin", "password": integritas_tests::server::ADMIN_PASSWORD})),
    );
    let cookie = r.header("set-cookie").and_then(|c| c.split(';').next()).expect("cookie").to_string();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(server.raw("GET", "/api/v1/auth/me", &[("Cookie", &cookie)], b"").status, 401);
}

#[test]
fn sign_in_attempts_are_limited_per_address_whatever_it_forwards() {
    let server = TestServer::start();
    let body = br#"{"user": "admin", "password": "wrong-password"}"#;
    let mut statuses = Vec::new();
    for i in 0..12 {
        // A client cannot reset the limit by claiming another address.
        let forwarded = format!("10.0.0.{i}");
        let r = server.raw(
            "POST",
            "/api/v1/auth/login",
            &[("Content-Type", "application/json"), ("X-Forwarded-For", &forwarded)],
            body,
        );
        statuses.push(r.status);
        if r.status == 429 {
            assert!(r.header("retry-after").is_some());
        }
    }
    // The test server made one login for its own token first.
    assert_eq!(statuses, [401, 401, 401, 401, 401, 401, 401, 401, 401, 429, 429, 429]);
}

#[test]
fn every_route_has_a_body_limit_and_security_headers() {
    let server = TestServer::start();
    let big = vec![b'x'; 2 * 1024 * 1024];
    for (method, path) in
        [("POST", "/api/v1/auth/login"), ("POST", "/api/v1/plans/plan-1/events"), ("PUT", "/api/v1/no/such/route")]
    {
        let r = server.raw(method, path, &[("Content-Type", "application/json")], &big);
        assert!([413, 404].contains(&r.status), "{method} {path}: {}", r.status);
        assert!(r.status != 200);
    }
    let huge = server.raw(
        "POST",
        "/api/v1/auth/tokens",
        &[("Content-Type", "application/json"), ("Authorization", &format!("Bearer {}", server.admin))],
        &big,
    );
    assert_eq!(huge.status, 413, "{}", huge.text());
    for path in ["/api/v1/health", "/api/v1/no/such/route"] {
        let r = server.call("GET", path, None, None);
        for (name, value) in [
            ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("x-frame-options", "DENY"),
        ] {
            assert_eq!(r.header(name), Some(value), "{path}: {name}");
        }
    }
    let missing = server.call("GET", "/api/v1/no/such/route", Some(&server.admin), None);
    assert_eq!((missing.status, missing.json()["error"]["code"].clone()), (404, json!("not_found")));
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let config = ServerConfig {
        secure_cookies: false,
        header_read_timeout: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let server = TestServer::start_with(config);
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&server.address).expect("connect");
    stream.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n").expect("partial headers");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).expect("timeout");
    let mut buf = Vec::new();
    let read = stream.read_to_end(&mut buf);
    assert!(read.is_ok(), "the server closed the connection: {read:?}");
    let text = String::from_utf8_lossy(&buf);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
}
