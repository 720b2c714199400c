//! Issue 4: nothing is recompiled. A pack for an invented jurisdiction is
//! built from files alone — its own workflow, forms, document and a plugin
//! compiled here from a test source with its own scale — installed into a
//! running install, and a plan is taken through it. Versions coexist,
//! plans stay pinned, migration is audited and semver-checked, and an
//! invalid pack is refused whole.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use integritas_core::date::Date;
use integritas_core::engine::{Engine, MIGRATED};
use integritas_core::error::EngineError;
use integritas_core::executor::Command as Fire;
use integritas_core::executor::Refusal;
use integritas_core::pack::{InstallError, Loader, install};
use integritas_core::plugin::host::{HostConfig, PluginHost};
use integritas_core::store::{Institution, SledStore, hash_hex};
use integritas_tests::{Install, packs_dir, repo_root, ut};
use serde_json::json;

fn plugin_wasm() -> Vec<u8> {
    ut::plugin_wasm()
}

/// Writes the invented pack at `version` into `dir/ut-<version>`; `edit`
/// may change the workflow.
fn write_pack(dir: &Path, version: &str, edit: impl Fn(String) -> String) -> PathBuf {
    ut::write_pack(dir, version, |file, text| if file == "workflows/register.ron" { edit(text) } else { text })
}

fn day(s: &str) -> Date {
    s.parse().expect("date")
}

fn risks() -> serde_json::Value {
    json!({"register": {"risks": [
        {"id": "U1", "risk": "Gifts", "likelihood": 1, "severity": 2},
        {"id": "U2", "risk": "Permits", "likelihood": 4, "severity": 3},
    ]}})
}

#[test]
fn an_invented_jurisdiction_runs_in_a_running_install_without_recompiling() {
    let work = tempfile::tempdir().expect("tempdir");
    let templates = repo_root().join("templates");
    let host = Arc::new(PluginHost::new(HostConfig::default()).expect("host"));
    let loader = Loader { host: Some(&host), templates: Some(&templates) };
    // A running install with the bundled packs and nothing about Utopia.
    let (catalog, _) = loader.load_dir(&packs_dir());
    let store = SledStore::open(&work.path().join("data")).expect("store");
    let engine = Engine::new(Arc::new(store), catalog, host.clone());
    let utopia = Institution {
        id: "ut-ministry".into(),
        name: "Ministry of Utopia".into(),
        jurisdiction: "ut".into(),
        kind: "ministry".into(),
        employees: Some(60),
        parent: None,
        timezone: None,
    };
    assert!(matches!(engine.add_institution(utopia.clone()), Err(EngineError::NotFound(_))));

    let packs_store = work.path().join("data/packs");
    let source = write_pack(work.path(), "1.0.0", |w| w);
    let pack = install(&source, &packs_store, &loader, &engine.catalog(), &integritas_core::scenario::run_all)
        .expect("installs");
    engine.add_pack(Arc::new(pack));
    assert!(packs_store.join("ut/1.0.0/pack.ron").is_file());

    engine.add_institution(utopia).expect("the new jurisdiction is known at once");
    let plan =
        engine.new_plan("ut-ministry", "ut/register", "officer", day("2030-01-02")).expect("plan").meta.id.clone();
    let fire = |event: &str, role: &str, payload, on: &str| {
        engine
            .fire(&plan, &Fire { event: event.into(), role: role.into(), actor: role.into(), payload, today: day(on) })
    };
    fire("submit", "officer", risks(), "2030-01-10").expect("submitted");
    let scored = engine.plan(&plan).expect("plan");
    let grades = &scored.scores["grades"];
    assert_eq!(
        grades.value["risks"],
        json!([{"id": "U1", "sum": 3, "band": "green"}, {"id": "U2", "sum": 7, "band": "red"}])
    );
    assert_eq!(grades.provenance.id, "ut@1.0.0/grade");
    assert_eq!(grades.provenance.version, "0.3.0");
    assert_eq!(grades.provenance.sha256, hash_hex(&plugin_wasm()));
    let refused = fire("adopt", "chief", json!(null), "2030-02-01").expect_err("no approver");
    assert!(refused.to_string().contains("the approver is empty"), "{refused}");
    fire("adopt", "chief", json!({"register": {"approved_by": "M. More"}}), "2030-02-01").expect("adopted");
    let html = engine.document(&plan, "summary", None, day("2030-02-01")).expect("renders");
    assert!(html.contains("<h1>Register summary</h1>") && html.contains("<td>U2</td><td>red (7)</td>"), "{html}");
    assert!(html.contains("M. More") && html.contains("Ministry of Utopia"), "{html}");

    // A 1.1.0 (a wider amber band) coexists with 1.0.0. By the version
    // rules a changed band is major, so it installs with a W206 warning
    // (`pack_versions.rs`); semver still lets plans migrate to it.
    let wider = |w: String| w.replace(r#"{"name": "amber", "up_to": 6}"#, r#"{"name": "amber", "up_to": 7}"#);
    let source = write_pack(work.path(), "1.1.0", wider);
    let pack = install(&source, &packs_store, &loader, &engine.catalog(), &integritas_core::scenario::run_all)
        .expect("installs 1.1.0");
    engine.add_pack(Arc::new(pack));
    let second =
        engine.new_plan("ut-ministry", "ut/register", "officer", day("2030-03-01")).expect("plan").meta.clone();
    assert_eq!(second.pack_version, "1.1.0", "new plans start on the newest version");
    assert_eq!(engine.plan(&plan).expect("plan").meta.pack_version, "1.0.0", "the first plan stays pinned");
    let counts = engine.plans_per_version().expect("counts");
    assert_eq!(counts[&("ut".to_string(), "1.0.0".to_string())], 1);
    assert_eq!(counts[&("ut".to_string(), "1.1.0".to_string())], 1);
    engine
        .fire(
            &second.id,
            &Fire {
                event: "submit".into(),
                role: "officer".into(),
                actor: "o".into(),
                payload: risks(),
                today: day("2030-03-02"),
            },
        )
        .expect("submitted on 1.1.0");
    assert_eq!(engine.plan(&second.id).expect("plan").scores["grades"].value["risks"][1]["band"], "amber");

    // The same version twice is refused; so is an invalid pack, whole.
    let again = install(
        &write_pack(work.path(), "1.1.0", |w| w),
        &packs_store,
        &loader,
        &engine.catalog(),
        &integritas_core::scenario::run_all,
    );
    assert!(matches!(again, Err(InstallError::Refused(m)) if m.contains("already installed")));
    let broken = write_pack(work.path(), "1.2.0", |w| w.replace(r#"to: "adopted""#, r#"to: "adoptd""#));
    let Err(InstallError::Invalid(diagnostics)) =
        install(&broken, &packs_store, &loader, &engine.catalog(), &integritas_core::scenario::run_all)
    else {
        panic!("a pack with an unknown state must be refused")
    };
    assert!(diagnostics.iter().any(|d| d.code == "E102" && d.message.contains("adoptd")), "{diagnostics:?}");
    assert!(!packs_store.join("ut/1.2.0").exists(), "nothing of a refused pack is kept");
    assert!(
        engine.catalog().pack("ut", None).is_some_and(|p| p.version().to_string() == "1.1.0"),
        "1.1.0 keeps serving"
    );

    // Migration: audited when compatible, refused with reasons across a major version.
    let moved = engine
        .migrate(&plan, &integritas_core::pack::PackVersion::new(1, 1, 0), "analyst", day("2030-04-01"))
        .expect("migrates");
    assert_eq!(moved.event.event, MIGRATED);
    assert_eq!(engine.plan(&plan).expect("plan").meta.pack_version, "1.1.0");
    let major = write_pack(work.path(), "2.0.0", |w| w);
    engine.add_pack(Arc::new(
        install(&major, &packs_store, &loader, &engine.catalog(), &integritas_core::scenario::run_all)
            .expect("installs 2.0.0"),
    ));
    let Err(EngineError::Refused(Refusal::Migration { reasons, .. })) =
        engine.migrate(&plan, &integritas_core::pack::PackVersion::new(2, 0, 0), "analyst", day("2030-04-02"))
    else {
        panic!("a major version must be refused")
    };
    assert!(reasons.iter().any(|r| r.contains("not compatible")), "{reasons:?}");
    let history = engine.history(&plan, 1, usize::MAX).expect("history");
    assert_eq!(
        history.iter().filter(|e| e.event == MIGRATED).count(),
        1,
        "one audited migration, none for the refusal"
    );
    assert_eq!(engine.verify().expect("verify").1, vec![]);
}

#[test]
fn the_cli_installs_an_archive_lists_versions_and_runs_the_packs_scenarios() {
    let install_dir = Install::default();
    let work = tempfile::tempdir().expect("tempdir");
    let pack = write_pack(work.path(), "1.0.0", |w| w);
    let archive = work.path().join("ut-1.0.0.tar.gz");
    let status =
        Command::new("tar").arg("-czf").arg(&archive).arg("-C").arg(work.path()).arg("ut-1.0.0").status().expect("tar");
    assert!(status.success());

    let tested = install_dir.run("2030-01-01", &["pack", "test", pack.to_str().expect("utf8")]);
    assert_eq!(tested.code, 0, "{}{}", tested.stdout, tested.stderr);
    assert!(tested.stdout.contains("1 passed, 0 failed"), "{}", tested.stdout);

    let installed = install_dir.ok("2030-01-01", &["pack", "install", archive.to_str().expect("utf8")]);
    assert_eq!(installed["installed"], json!({"id": "ut", "version": "1.0.0"}));
    install_dir.ok("2030-01-01", &["institution", "add", "--id", "ut-m", "--name", "Ministry", "--jurisdiction", "ut"]);
    install_dir.ok("2030-01-02", &["plan", "new", "--institution", "ut-m", "--workflow", "ut/register"]);
    let list = install_dir.ok("2030-01-02", &["pack", "list"]);
    let ut = list.as_array().expect("list").iter().find(|p| p["id"] == "ut").cloned().expect("ut listed");
    assert_eq!((ut["version"].as_str(), ut["plans"].as_u64()), (Some("1.0.0"), Some(1)));
    assert!(list.as_array().expect("list").iter().any(|p| p["id"] == "rs"), "bundled packs are listed too");
}
