//! Issue 2: one Serbian plan walked through its whole three-year cycle by
//! moving the clock, with one refusal for every guard, through the real
//! binary, real sled and the bundled `rs` pack. Issue 13: each decision is
//! delivered on the day it is posted to the Agency's application, the report
//! covers every measure, and a city keeps one plan.

use integritas_tests::Install;
use serde_json::{Value, json};

fn fire(install: &Install, today: &str, event: &str, role: &str, payload: Value) -> Value {
    let payload = payload.to_string();
    install.ok(today, &["plan", "fire", "plan-1", event, "--as", role, "--payload", &payload])
}

fn refusal(install: &Install, today: &str, event: &str, role: &str, payload: Value) -> Value {
    let payload = payload.to_string();
    install.refused(today, &["plan", "fire", "plan-1", event, "--as", role, "--payload", &payload])
}

fn state(install: &Install, today: &str) -> Value {
    install.ok(today, &["plan", "show", "plan-1", "--as", "head"])
}

/// The open deadlines at a date, as (id, status, due) triples.
fn due(install: &Install, today: &str) -> Vec<(String, String, String)> {
    let show = state(install, today);
    show["due"]
        .as_array()
        .expect("due list")
        .iter()
        .map(|d| {
            (
                d["deadline"].as_str().unwrap_or("").to_string(),
                d["status"].as_str().unwrap_or("").to_string(),
                d["due"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn members(n: usize, same_area: bool) -> Value {
    let rows: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("Član {i}"), "area": if same_area { "finansije".to_string() } else { format!("oblast {i}") }}))
        .collect();
    json!({"working_group_decision": {"number": "02-7/21", "decided_on": "2021-12-10", "members": rows}})
}

fn setup() -> Install {
    let install = Install::default();
    install.ok(
        "2021-11-15",
        &[
            "institution",
            "add",
            "--id",
            "grad-x",
            "--name",
            "Grad X",
            "--jurisdiction",
            "rs",
            "--kind",
            "jedinica lokalne samouprave",
            "--employees",
            "240",
        ],
    );
    let plan = install.ok("2021-11-15", &["plan", "new", "--institution", "grad-x", "--workflow", "rs/three_phase"]);
    assert_eq!(plan["plan"]["id"], "plan-1");
    assert_eq!(
        plan["cycle"],
        json!({"number": 3, "start": "2021-11-01"}),
        "the third cycle began on 2021-11-01 (Art. 20)"
    );
    install
}

#[test]
fn third_cycle_deadlines_come_from_the_definition_and_the_clock() {
    let install = setup();
    let at_start = due(&install, "2021-11-15");
    let dates: Vec<(&str, &str)> = at_start.iter().map(|(id, _, d)| (id.as_str(), d.as_str())).collect();
    assert_eq!(
        dates,
        [
            ("coordinator", "2022-01-31"),
            ("plan", "2022-10-31"),
            ("implementation", "2024-09-30"),
            ("report", "2024-10-31")
        ]
    );
    assert!(at_start.iter().all(|(_, status, _)| status == "upcoming"));
    // The same plan, read a day after the coordinator deadline: overdue, though nothing was stored.
    let late = due(&install, "2022-02-01");
    assert_eq!(late[0], ("coordinator".into(), "overdue".into(), "2022-01-31".into()));
    let show = state(&install, "2022-02-01");
    assert_eq!(show["due"][0]["days_late"], 1);
}

#[test]
fn every_guard_refuses_with_a_reason() {
    let install = setup();
    let decision = json!({"coordinator_decision": {"number": "01-1/21", "decided_on": "2021-12-01", "posted_on": "2021-12-01", "coordinator": "Ana Anić", "position": "sekretar"}});

    let r = refusal(&install, "2021-12-01", "dance", "head", json!(null));
    assert_eq!(r["guard"], "unknown_event");
    let r = refusal(&install, "2021-12-01", "adopt_plan", "head", json!(null));
    assert_eq!(r["guard"], "state");
    assert!(r["message"].as_str().expect("msg").contains("appoint_coordinator"), "{r}");
    let r = refusal(&install, "2021-12-01", "appoint_coordinator", "coordinator", decision.clone());
    assert_eq!(r["guard"], "role");
    let r = refusal(&install, "2021-12-01", "appoint_coordinator", "agency", decision.clone());
    assert_eq!(r["guard"], "role", "the Agency only reads");
    let r = refusal(
        &install,
        "2021-12-01",
        "appoint_coordinator",
        "head",
        json!({"coordinator_decision": {"number": 5, "colour": "red"}}),
    );
    assert_eq!(r["guard"], "payload");
    let message = r["message"].as_str().expect("msg");
    assert!(message.contains("must be text, not a number") && message.contains("no field `colour`"), "{message}");
    let paths: Vec<&str> =
        r["problems"].as_array().expect("problems").iter().filter_map(|p| p["path"].as_str()).collect();
    assert_eq!(paths, ["coordinator_decision.colour", "coordinator_decision.number"], "{r}");
    let r = refusal(
        &install,
        "2021-12-01",
        "appoint_coordinator",
        "head",
        json!({"coordinator_decision": {"number": "01-1/21"}}),
    );
    assert_eq!(r["guard"], "form");
    assert!(r["message"].as_str().expect("msg").contains("Datum odluke"), "{r}");
    let r = refusal(
        &install,
        "2021-12-01",
        "appoint_coordinator",
        "head",
        json!({"coordinator_decision": {"number": "1", "decided_on": "2021-12-24", "posted_on": "2021-12-24", "coordinator": "A", "position": "B"}}),
    );
    assert_eq!(r["guard"], "condition");
    assert!(r["message"].as_str().expect("msg").contains("must not be after 2021-12-01 (today)"), "{r}");

    fire(&install, "2021-12-01", "appoint_coordinator", "head", decision);
    let r = refusal(&install, "2021-12-10", "form_working_group", "head", members(2, false));
    assert_eq!(r["guard"], "condition");
    assert_eq!(r["message"], "working group members (Art. 8 para. 3): 2; this transition needs 3 to 7");
    let r = refusal(&install, "2021-12-10", "form_working_group", "head", members(8, false));
    assert_eq!(r["message"], "working group members (Art. 8 para. 3): 8; this transition needs 3 to 7");
    let r = refusal(&install, "2021-12-10", "form_working_group", "head", members(3, true));
    assert!(
        r["message"].as_str().expect("msg").contains("1 different area values; this transition needs at least 2"),
        "{r}"
    );

    // A refused event writes nothing.
    let history = install.ok("2021-12-10", &["plan", "history", "plan-1"]);
    assert_eq!(history.as_array().expect("events").len(), 2);

    let cessation = json!({"cessation": {"ceased_on": "2021-12-10", "reason": "institucija ima 30 ili manje zaposlenih (čl. 2 t. 2)"}});
    fire(&install, "2021-12-10", "cease_obligation", "head", cessation);
    let r = refusal(&install, "2021-12-11", "form_working_group", "head", members(3, false));
    assert_eq!(r["guard"], "finished");
}

#[test]
fn a_plan_walks_the_whole_cycle_and_opens_the_next() {
    let install = setup();
    fire(
        &install,
        "2021-12-01",
        "appoint_coordinator",
        "head",
        json!({"coordinator_decision": {"number": "01-1/21", "decided_on": "2021-12-01", "posted_on": "2021-12-01", "coordinator": "Ana Anić", "position": "sekretar"}}),
    );
    fire(&install, "2021-12-10", "form_working_group", "head", members(5, false));
    fire(
        &install,
        "2022-01-20",
        "record_meeting",
        "working_group",
        json!({"meeting_minutes": {"meetings": [{"held_on": "2022-01-20", "present": "svi", "conclusions": "Plan rada."}]}}),
    );
    fire(
        &install,
        "2022-02-15",
        "identify_processes",
        "working_group",
        json!({"risky_processes": {"processes": [
            {"area": "finansije", "process": "javne nabavke", "sources": ["dokumentacija", "pritužbe"]},
            {"area": "kadrovi", "process": "odabir kadrova"},
        ]}}),
    );
    fire(
        &install,
        "2022-04-01",
        "close_questionnaire",
        "coordinator",
        json!({"questionnaire": {"opened_on": "2022-03-01", "closed_on": "2022-03-31"}}),
    );
    let risks = json!({"assessment": {"risks": [
        {"id": "R1", "process": "javne nabavke", "risk": "Namešteni tehnički uslovi", "existing_measures": "Interna procedura, ne primenjuje se dosledno", "impact": 4, "probability": 3},
        {"id": "R2", "process": "odabir kadrova", "risk": "Netransparentan izbor", "existing_measures": "Oglas na sajtu", "impact": 3, "probability": 2},
    ]}});
    fire(&install, "2022-05-10", "assess_risks", "working_group", risks);
    // Intensity (Art. 12) comes from the pack's risk-matrix plugin, with the pack's scale.
    let scores = &state(&install, "2022-05-10")["scores"]["intensity"];
    assert_eq!(scores["value"]["risks"][0]["score"], 12);
    assert_eq!(scores["value"]["risks"][0]["level"], "srednji");
    assert_eq!(scores["value"]["risks"][1]["level"], "srednji");
    assert_eq!(scores["value"]["risks"][1]["score"], 6);
    assert_eq!(scores["provenance"]["id"], "rs@1.0.0/risk-matrix");
    let wasm = std::fs::read(integritas_tests::packs_dir().join("rs/plugins/risk-matrix.wasm")).expect("plugin file");
    assert_eq!(scores["provenance"]["sha256"], integritas_core::store::hash_hex(&wasm));
    // A bad date in a measure row: refused by the payload check, nothing recorded.
    let bad = json!({"measures": {"measures": [{"id": "M1", "deadline": "someday"}]}});
    let r = refusal(&install, "2022-05-11", "propose_measures", "coordinator", bad);
    assert_eq!(r["guard"], "payload");
    let measures = json!({"measures": {"measures": [
        {"id": "M1", "measure": "Objavljivanje tehničkih specifikacija na javnu raspravu", "risks": "R1", "aim": "jačanje transparentnosti radnih procesa", "owner": "rukovodilac službe nabavki", "deadline": "2023-06-30", "urgency": "srednji"},
        {"id": "M2", "measure": "Pravilnik o zapošljavanju sa kriterijumima", "risks": "R1, R2", "aim": "jasni kriterijumi za donošenje odluka", "owner": "rukovodilac kadrovske službe", "deadline": "2023-12-31", "urgency": "srednji"},
    ]}});
    fire(&install, "2022-06-01", "propose_measures", "coordinator", measures.clone());
    // The head sends it back once; the group revises and proposes again.
    fire(&install, "2022-06-10", "return_for_revision", "head", json!(null));
    assert_eq!(state(&install, "2022-06-10")["state"], "risk_assessment");
    fire(&install, "2022-06-20", "assess_risks", "working_group", json!(null));
    fire(&install, "2022-07-01", "propose_measures", "coordinator", json!(null));

    // Not adopted by 2022-10-31: the plan deadline is overdue on 2022-11-02.
    let late = due(&install, "2022-11-02");
    assert!(late.contains(&("plan".into(), "overdue".into(), "2022-10-31".into())), "{late:?}");
    let adopted = fire(
        &install,
        "2022-10-20",
        "adopt_plan",
        "head",
        json!({"adoption_decision": {"number": "03-9/22", "decided_on": "2022-10-20", "posted_on": "2022-10-20"}}),
    );
    assert_eq!(adopted["state"], "implementing");
    let after = due(&install, "2022-11-02");
    assert!(
        after.iter().all(|(id, _, _)| id != "plan" && id != "coordinator"),
        "met deadlines are no longer open: {after:?}"
    );

    let report = json!({"implementation_report": {"measures": [
        {"id": "M1", "status": "u roku", "done_on": "2023-05-15", "as_planned": true},
        {"id": "M2", "status": "nije sprovedena", "reason": "Pravilnik čeka saglasnost osnivača."},
    ]}});
    fire(&install, "2023-06-01", "record_progress", "coordinator", report.clone());
    fire(&install, "2024-09-25", "finish_implementation", "coordinator", json!(null));
    let show = state(&install, "2024-10-15");
    assert_eq!(show["state"], "reporting");
    assert_eq!(show["phase"], "implementation");
    // M2 was not carried out: its own deadline and the plan's implementation deadline
    // are missed, whatever day the coordinator closed the report (Art. 4, 20).
    let open = |id: &str, status: &str, due: &str| (id.to_string(), status.to_string(), due.to_string());
    assert_eq!(
        due(&install, "2024-10-15"),
        [
            open("measure:M2", "overdue", "2023-12-31"),
            open("implementation", "overdue", "2024-09-30"),
            open("report", "upcoming", "2024-10-31")
        ]
    );
    // Art. 17: the report only after the implementation deadline.
    let early = refusal(
        &install,
        "2024-10-15",
        "adopt_report",
        "head",
        json!({"report_decision": {"number": "04-2/24", "decided_on": "2024-09-30", "posted_on": "2024-09-30"}}),
    );
    assert_eq!(early["guard"], "condition");
    assert!(early["message"].as_str().expect("msg").contains("must be after 2024-09-30"), "{early}");

    let next = fire(
        &install,
        "2024-10-25",
        "adopt_report",
        "head",
        json!({"report_decision": {"number": "04-2/24", "decided_on": "2024-10-25", "posted_on": "2024-10-25"}}),
    );
    assert_eq!(next["state"], "coordinator_appointment");
    let show = state(&install, "2024-11-15");
    assert_eq!(show["cycle"], json!({"number": 4, "start": "2024-11-01"}), "every third year (Art. 21)");
    let dates: Vec<String> = due(&install, "2024-11-15").into_iter().map(|(_, _, d)| d).collect();
    assert_eq!(dates, ["2025-01-31", "2025-10-31", "2027-09-30", "2027-10-31"]);
    // The register is carried forward; the decisions of the old cycle are not.
    assert_eq!(show["data"]["risky_processes"]["processes"][0]["process"], "javne nabavke");
    assert_eq!(show["data"]["assessment"]["risks"][1]["id"], "R2");
    assert!(show["data"].get("coordinator_decision").is_none());
    let documents: Vec<&str> =
        show["documents"].as_array().expect("docs").iter().filter_map(|d| d["id"].as_str()).collect();
    assert_eq!(
        documents,
        [
            "coordinator_decision",
            "working_group_decision",
            "meeting_minutes",
            "integrity_plan",
            "plan_adoption_decision",
            "agency_checklist",
            "implementation_report",
            "report_adoption_decision",
            "agency_checklist"
        ]
    );

    let history = install.ok("2024-11-15", &["plan", "history", "plan-1"]);
    assert_eq!(history.as_array().expect("events").len(), 15);
    let verify = install.ok("2024-11-15", &["verify"]);
    assert_eq!(verify, json!({"events_checked": 15, "broken": []}));
}

#[test]
fn a_city_keeps_one_plan_and_its_organs_take_part_in_it() {
    let install = setup();
    // Art. 5 para. 2: one plan of the local authority; a second one is refused while the first is open.
    let second = install.run("2021-11-16", &["plan", "new", "--institution", "grad-x", "--workflow", "rs/three_phase"]);
    assert_eq!(second.code, 1, "{}", second.stdout);
    assert!(second.stderr.contains("already keeps plan plan-1"), "{}", second.stderr);
    // An organ of the city is told, at its plan's first act, that it takes part in the city's plan.
    install.ok(
        "2021-11-16",
        &[
            "institution",
            "add",
            "--id",
            "uprava-x",
            "--name",
            "Gradska uprava Grada X",
            "--jurisdiction",
            "rs",
            "--kind",
            "organ jedinice lokalne samouprave",
            "--employees",
            "180",
            "--parent",
            "grad-x",
        ],
    );
    let organ = install.ok("2021-11-16", &["plan", "new", "--institution", "uprava-x", "--workflow", "rs/three_phase"]);
    let plan = organ["plan"]["id"].as_str().expect("plan id").to_string();
    let decision = json!({"coordinator_decision": {"number": "1", "decided_on": "2021-12-01", "posted_on": "2021-12-01", "coordinator": "A", "position": "B"}});
    let payload = decision.to_string();
    let r = install
        .refused("2021-12-01", &["plan", "fire", &plan, "appoint_coordinator", "--as", "head", "--payload", &payload]);
    assert_eq!(r["guard"], "condition");
    assert!(r["message"].as_str().expect("msg").contains("Art. 5 para. 2"), "{r}");
}

#[test]
fn show_lists_what_a_role_may_do_next_and_why_not_yet() {
    let install = setup();
    let show = state(&install, "2021-11-20");
    let next: Vec<(String, bool)> = show["next"]
        .as_array()
        .expect("next events")
        .iter()
        .map(|n| (n["event"].as_str().unwrap_or_default().to_string(), n["ready"].as_bool().unwrap_or(false)))
        .collect();
    assert!(next.contains(&("appoint_coordinator".to_string(), false)), "{next:?}");
    // Closing the plan needs its reason and date (the form `cessation`).
    assert!(next.contains(&("cease_obligation".to_string(), false)), "{next:?}");
    let cease =
        show["next"].as_array().expect("next").iter().find(|n| n["event"] == "cease_obligation").expect("listed");
    assert!(cease["refusal"].as_str().unwrap_or_default().contains("cessation"), "{cease}");
    let why =
        show["next"].as_array().expect("next").iter().find(|n| n["event"] == "appoint_coordinator").expect("listed");
    assert!(why["refusal"].as_str().unwrap_or_default().contains("coordinator_decision"), "{why}");
    // The coordinator may fire nothing in this step; the Agency never.
    for role in ["coordinator", "agency"] {
        let show = install.ok("2021-11-20", &["plan", "show", "plan-1", "--as", role]);
        assert_eq!(show["next"], json!([]), "{role}");
    }
}

#[test]
fn verify_names_the_first_broken_link_of_a_tampered_log() {
    let install = setup();
    let decision = json!({"coordinator_decision": {"number": "01-1/21", "decided_on": "2021-12-01", "posted_on": "2021-12-01", "coordinator": "Ana Anić", "position": "sekretar"}});
    fire(&install, "2021-12-01", "appoint_coordinator", "head", decision);
    fire(&install, "2021-12-10", "form_working_group", "head", members(4, false));
    assert_eq!(install.ok("2021-12-10", &["verify"]), json!({"events_checked": 3, "broken": []}));
    // Someone edits the stored coordinator's name behind integritas's back.
    {
        let db = sled::open(install.data()).expect("open the store directly");
        let events = db.open_tree("events").expect("events tree");
        let mut key = b"plan-1\0".to_vec();
        key.extend_from_slice(&2u64.to_be_bytes());
        let stored = events.get(&key).expect("read").expect("event 2 exists");
        let edited = String::from_utf8(stored.to_vec()).expect("json").replace("Ana Anić", "Ana Anićka");
        events.insert(key, edited.as_bytes()).expect("write");
        db.flush().expect("flush");
    }
    let run = install.run("2021-12-10", &["verify", "--json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.json();
    assert_eq!(report["broken"][0]["plan"], "plan-1");
    // The journal names the edited event itself (its chain alone would only show event 3 no longer linking).
    assert_eq!(report["broken"][0]["seq"], 2, "{report}");
    assert!(
        report["broken"][0]["reason"].as_str().is_some_and(|r| r.contains("changed after it was written")),
        "{report}"
    );
}

/// čl. 2 t. 2: a body of 12 employees is told, when its plan starts, that the
/// law does not oblige it; the plan's view says so too, in text and JSON.
#[test]
fn a_body_the_law_does_not_oblige_is_told_so_when_its_plan_starts() {
    let install = Install::default();
    install.ok(
        "2021-11-01",
        &["institution", "add", "--id", "mala", "--name", "Mala ustanova", "--jurisdiction", "rs", "--employees", "12"],
    );
    let started = install.ok("2021-11-15", &["plan", "new", "--institution", "mala", "--workflow", "rs/three_phase"]);
    assert_eq!(started["obliged"], json!(false), "{started}");
    let notice = started["notices"][0]["message"].as_str().expect("a notice");
    assert!(notice.contains("30"), "the notice gives the law's threshold: {notice}");
    let text = install.run("2021-11-15", &["plan", "new", "--institution", "mala", "--workflow", "rs/three_phase"]);
    assert_ne!(text.code, 0, "one plan at a time: {}", text.stdout);
    let shown = install.run("2021-11-16", &["plan", "show", "plan-1"]);
    assert!(shown.stdout.contains("obliged by the law: NO"), "{}", shown.stdout);
    assert!(shown.stdout.contains(notice), "{}", shown.stdout);
    // A city of 240 employees is obliged, and no notice says otherwise.
    install.ok(
        "2021-11-01",
        &["institution", "add", "--id", "grad", "--name", "Grad", "--jurisdiction", "rs", "--employees", "240"],
    );
    let city = install.ok("2021-11-15", &["plan", "new", "--institution", "grad", "--workflow", "rs/three_phase"]);
    assert_eq!((city["obliged"].clone(), city["notices"].clone()), (json!(true), json!([])), "{city}");
}
