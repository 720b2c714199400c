//! Issue 11, item 9: the pack administration pages against a real server
//! (127.0.0.1, real sled, the bundled packs). An administrator sees every
//! pack version with its plans; uploads a copy of the Serbian pack with a
//! syntax error and gets its `file:line:column` with nothing installed;
//! uploads it as version 1.0.1 with one title reworded and sees it listed;
//! previews moving a plan there (the reworded title, classed as a patch)
//! and moves it; the plan then runs on 1.0.1. An institution's user gets
//! the same 404 as for nothing and installs nothing; an agency sees its
//! jurisdiction's packs but may neither install nor move a plan. In real
//! Chromium the upload goes through the file input; axe-core finds no
//! serious or critical violation and nothing scrolls sideways at 375 px.

#[path = "support/browser.rs"]
mod browser;

use std::fs::File;
use std::path::{Path, PathBuf};

use browser::{Browser, axe_source};
use flate2::Compression;
use flate2::write::GzEncoder;
use integritas_server::ServerConfig;
use integritas_server::client::Response;
use integritas_tests::packs_dir;
use integritas_tests::pages::{Session, admin_session, get, page, post_form, session, unescape};
use integritas_tests::server::{ADMIN_PASSWORD, TestServer};
use serde_json::{Value, json};

/// The line of `forms/decisions.ron` the broken copy loses a comma on.
const BROKEN_LINE: &str =
    r#"            Field(id: "number", title: "Broj odluke", kind: Text, required: true, section: "act"),"#;
/// The title the new version rewords (a patch: wording only).
const OLD_TITLE: &str = r#"title: "Broj odluke","#;
const NEW_TITLE: &str = r#"title: "Broj odluke o usvajanju","#;

/// Institutions `grad-a` and `grad-b` (rs) with a plan each (`plan-1`,
/// `plan-2`); `a_head` heads A, `b_head` heads B, `agency_rs` supervises rs.
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
    server.user("b_head", &[("grad-b", "head")], None);
    server.user("agency_rs", &[], Some(json!({"agency": ["rs"]})));
    server
}

/// POSTs the install form as a browser sends it: `multipart/form-data`
/// with `_csrf` (when given) and the archive in `pack`.
fn upload(server: &TestServer, session: &Session, csrf: Option<&str>, name: &str, archive: &[u8]) -> Response {
    let boundary = "----integritas-test-boundary-7d41";
    let mut body = Vec::new();
    if let Some(csrf) = csrf {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"pack\"; filename=\"{name}\"\r\n\
             Content-Type: application/gzip\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(archive);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    server.raw("POST", "/admin/packs/install", &[("Cookie", &session.cookie), ("Content-Type", &content_type)], &body)
}

/// Copies `from` into `to`, every file through `edit(relative path, bytes)`.
fn copy_dir(from: &Path, to: &Path, rel: &str, edit: &dyn Fn(&str, Vec<u8>) -> Vec<u8>) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &to.join(&name), &path, edit);
        } else {
            let bytes = std::fs::read(entry.path()).expect("read");
            std::fs::write(to.join(&name), edit(&path, bytes)).expect("write");
        }
    }
}

/// The bundled Serbian pack at `version` as `rs-<version>.tar.gz` (the
/// folder `rs-<version>/` inside), with `forms/decisions.ron` edited.
fn rs_archive(work: &Path, version: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let folder = work.join(format!("rs-{version}"));
    copy_dir(&packs_dir().join("rs"), &folder, "", &|path: &str, bytes: Vec<u8>| -> Vec<u8> {
        let text = || String::from_utf8(bytes.clone()).expect("utf-8");
        match path {
            "pack.ron" => {
                let manifest = text();
                assert!(manifest.contains("version: \"1.0.0\""), "the bundled rs pack is 1.0.0");
                manifest.replacen("version: \"1.0.0\"", &format!("version: \"{version}\""), 1).into_bytes()
            }
            "forms/decisions.ron" => edit(text()).into_bytes(),
            _ => bytes,
        }
    });
    let archive = work.join(format!("rs-{version}.tar.gz"));
    let mut builder = tar::Builder::new(GzEncoder::new(File::create(&archive).expect("create"), Compression::fast()));
    builder.append_dir_all(format!("rs-{version}"), &folder).expect("append the pack");
    builder.into_inner().expect("finish the tar").finish().expect("finish the gzip");
    archive
}

/// Version 1.0.2 with a comma missing on [`BROKEN_LINE`]: `(line, column)`
/// of the place the comma is missing (1-based), and the archive.
fn broken_archive(work: &Path) -> ((usize, usize), PathBuf) {
    let text = std::fs::read_to_string(packs_dir().join("rs/forms/decisions.ron")).expect("decisions.ron");
    let line = text.lines().position(|l| l == BROKEN_LINE).expect("the line to break") + 1;
    let broken = BROKEN_LINE.replacen(r#""number", title"#, r#""number" title"#, 1);
    let column = broken.find(" title").expect("title") + 2;
    let archive = rs_archive(work, "1.0.2", |text| text.replacen(BROKEN_LINE, &broken, 1));
    ((line, column), archive)
}

/// Version 1.0.1 with one title reworded.
fn good_archive(work: &Path) -> PathBuf {
    rs_archive(work, "1.0.1", |text| text.replacen(OLD_TITLE, NEW_TITLE, 1))
}

/// `(pack, version, plans)` of every row of the pack list.
fn rows(html: &str) -> Vec<(String, String, u64)> {
    let attr = |tag: &str, name: &str| -> String {
        let needle = format!(" {name}=\"");
        let at = tag.find(&needle).map(|a| a + needle.len()).unwrap_or_else(|| panic!("no {name} in {tag}"));
        tag[at..at + tag[at..].find('"').expect("quote")].to_string()
    };
    html.match_indices("<tr id=")
        .map(|(at, _)| {
            let tag = &html[at..at + html[at..].find('>').expect("tag end")];
            (attr(tag, "data-pack"), attr(tag, "data-version"), attr(tag, "data-plans").parse().expect("count"))
        })
        .collect()
}

fn installed_versions(server: &TestServer) -> Vec<String> {
    let packs = server.expect(200, "GET", "/api/v1/packs", Some(&server.admin), None);
    let mut versions: Vec<String> = packs
        .as_array()
        .expect("packs")
        .iter()
        .filter(|p| p["id"] == "rs")
        .map(|p| p["version"].as_str().expect("version").to_string())
        .collect();
    versions.sort();
    versions
}

fn plan_version(server: &TestServer, plan: &str) -> Value {
    let plans = server.expect(200, "GET", "/api/v1/plans", Some(&server.admin), None);
    plans["items"].as_array().expect("items").iter().find(|p| p["id"] == plan).expect("the plan")["pack_version"]
        .clone()
}

#[test]
fn an_administrator_installs_a_version_from_an_upload_and_moves_a_plan_to_it() {
    let server = world();
    let work = tempfile::tempdir().expect("tempdir");
    let admin = admin_session(&server);

    // Every installed version with its plans; the menu links the page.
    let list = page(&server, &admin, "/admin/packs");
    let all = rows(&list);
    assert!(all.contains(&("rs".into(), "1.0.0".into(), 2)), "{all:?}");
    for pack in ["me", "ro"] {
        assert!(all.iter().any(|(p, _, n)| p == pack && *n == 0), "{pack} is listed with no plans: {all:?}");
    }
    assert!(list.contains(r#"<a href="/admin/packs">Packs</a>"#), "the menu links the packs");
    assert!(list.contains(r#"enctype="multipart/form-data""#), "the install form is there for an administrator");
    let plans = page(&server, &admin, "/institutions/grad-a");
    assert!(plans.contains(r#"<a href="/admin/packs">"#), "every page's menu links the packs for an administrator");

    // A syntax error: refused whole, with its file:line:column, code and message; nothing installed.
    let ((line, column), broken) = broken_archive(work.path());
    let refused = upload(&server, &admin, Some(&admin.csrf), "rs-1.0.2.tar.gz", &std::fs::read(&broken).expect("read"));
    assert_eq!(refused.status, 422, "{}", refused.text());
    let html = unescape(&refused.text());
    let place = format!("rs-1.0.2/forms/decisions.ron:{line}:{column}");
    assert!(html.contains(&format!(r#"<code class="where">{place}</code>"#)), "{place} is shown:\n{html}");
    assert!(html.contains(r#"<strong class="code">E001</strong>"#), "the code is shown:\n{html}");
    assert!(html.contains("rs-1.0.2.tar.gz was not installed: the pack has"), "{html}");
    assert!(html.contains("Nothing was installed"), "{html}");
    assert_eq!(installed_versions(&server), ["1.0.0"], "nothing of 1.0.2 is active");
    assert!(!server.data().join("packs/rs/1.0.2").exists(), "nothing of 1.0.2 is kept");
    // The refusal is shown at the list's address: the language switch comes back to the list.
    assert!(html.contains(r#"name="back" value="/admin/packs""#), "{html}");
    // In Serbian, the refusal and each code's meaning in Serbian words (the checker's own
    // detail stays beside it, marked as English).
    let _ = page(&server, &admin, "/admin/packs?lang=sr-Latn");
    let serbian = upload(&server, &admin, Some(&admin.csrf), "rs-1.0.2.tar.gz", &std::fs::read(&broken).expect("read"));
    assert_eq!(serbian.status, 422, "{}", serbian.text());
    let serbian = unescape(&serbian.text());
    assert!(serbian.contains("datoteka nije ispravan RON ili nema očekivani oblik"), "{serbian}");
    assert!(serbian.contains(r#"<span class="message" lang="en">"#), "{serbian}");
    let _ = page(&server, &admin, "/admin/packs?lang=en");

    // Without the form's CSRF token nothing is installed.
    let good = std::fs::read(good_archive(work.path())).expect("read");
    let forged = upload(&server, &admin, None, "rs-1.0.1.tar.gz", &good);
    assert_eq!(forged.status, 403, "{}", forged.text());
    let forged = upload(&server, &admin, Some("not-the-token"), "rs-1.0.1.tar.gz", &good);
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert_eq!(installed_versions(&server), ["1.0.0"]);
    // No file chosen: said so, nothing installed.
    let empty = upload(&server, &admin, Some(&admin.csrf), "", b"");
    assert_eq!(empty.status, 422, "{}", empty.text());
    assert!(empty.text().contains("No archive was chosen"), "{}", empty.text());

    // A valid version: installed, confirmed, listed with no plans yet.
    let installed = upload(&server, &admin, Some(&admin.csrf), "rs-1.0.1.tar.gz", &good);
    assert_eq!(installed.status, 303, "{}", installed.text());
    let to = installed.header("location").expect("location").to_string();
    assert!(to.starts_with("/admin/packs?installed="), "{to}");
    let list = unescape(&page(&server, &admin, to.split('#').next().unwrap_or_default()));
    assert!(list.contains(r#"<p class="ok" role="status" id="installed">Installed: rs 1.0.1.</p>"#), "{list}");
    let all = rows(&list);
    assert!(all.contains(&("rs".into(), "1.0.1".into(), 0)), "{all:?}");
    assert!(all.contains(&("rs".into(), "1.0.0".into(), 2)), "{all:?}");
    assert_eq!(installed_versions(&server), ["1.0.0", "1.0.1"]);
    // The older version's plans link to the preview of their move.
    assert!(list.contains(r#"<a href="/plans/plan-1/migration?to=1.0.1">plan-1</a>"#), "{list}");

    // The plan's page names its version and the newer one.
    let plan = unescape(&page(&server, &admin, "/plans/plan-1"));
    assert!(plan.contains("Rules: pack rs, version 1.0.0"), "{plan}");
    assert!(
        plan.contains(r#"<a href="/plans/plan-1/migration?to=1.0.1">version 1.0.1 is installed: preview the move</a>"#),
        "{plan}"
    );

    // The preview: allowed, the reworded title classed as a patch, the stage kept.
    let preview = unescape(&page(&server, &admin, "/plans/plan-1/migration?to=1.0.1"));
    assert!(preview.contains(r#"<p class="ok" id="verdict">This plan can move to the new version.</p>"#), "{preview}");
    assert!(preview.contains("From version 1.0.0 to 1.0.1: patch (wording only)."), "{preview}");
    assert!(preview.contains("Changes: 0 major, 0 minor, 1 patch."), "{preview}");
    assert!(preview.contains("<code>forms[adoption_decision].fields[number].title</code>"), "{preview}");
    assert!(preview.contains("exists in the new version: the plan stays there."), "{preview}");
    assert!(
        preview
            .contains(r#"<button type="submit" class="primary" id="migrate">Move the plan to version 1.0.1</button>"#),
        "{preview}"
    );
    assert_eq!(plan_version(&server, "plan-1"), "1.0.0", "a preview records nothing");
    // In Romanian, the same preview in Romanian words.
    let romanian = unescape(&page(&server, &admin, "/plans/plan-1/migration?to=1.0.1&lang=ro"));
    assert!(romanian.contains("De la versiunea 1.0.0 la 1.0.1: corectură (doar text)."), "{romanian}");
    assert!(romanian.contains("Mută planul pe versiunea 1.0.1"), "{romanian}");
    assert!(romanian.contains("doar text (titluri, texte de ajutor, etichete, traduceri)"), "why a patch: {romanian}");
    assert!(!romanian.contains("wording only"), "no English reason on a Romanian page: {romanian}");
    let _ = page(&server, &admin, "/admin/packs?lang=en");

    // A version that is not installed, or not a version: the pages say so.
    assert_eq!(get(&server, &admin, "/plans/plan-1/migration?to=9.0.0").status, 404);
    assert_eq!(get(&server, &admin, "/plans/plan-1/migration?to=latest").status, 400);

    // The move: without the token refused, with it the plan runs on 1.0.1.
    let forged = post_form(&server, &admin, "/plans/plan-1/migration", "to=1.0.1");
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert_eq!(plan_version(&server, "plan-1"), "1.0.0");
    let moved = post_form(&server, &admin, "/plans/plan-1/migration", &format!("_csrf={}&to=1.0.1", admin.csrf));
    assert_eq!(moved.status, 303, "{}", moved.text());
    let to = moved.header("location").expect("location").to_string();
    assert_eq!(to, "/plans/plan-1?migrated=1.0.1");
    let plan = unescape(&page(&server, &admin, &to));
    assert!(
        plan.contains(r#"<p class="ok" role="status" id="migrated">The plan now runs on version 1.0.1.</p>"#),
        "{plan}"
    );
    assert!(plan.contains("Rules: pack rs, version 1.0.1"), "{plan}");
    assert!(plan.contains("Moved from version 1.0.0 to version 1.0.1 of the rules"), "the history says so: {plan}");
    assert_eq!(plan_version(&server, "plan-1"), "1.0.1");
    let all = rows(&page(&server, &admin, "/admin/packs"));
    assert!(all.contains(&("rs".into(), "1.0.0".into(), 1)), "{all:?}");
    assert!(all.contains(&("rs".into(), "1.0.1".into(), 1)), "{all:?}");
    // Back to 1.0.0 is no move forward: the preview refuses and has no button.
    let back = page(&server, &admin, "/plans/plan-1/migration?to=1.0.0");
    assert!(back.contains(r#"<div class="alert" id="verdict">"#), "{back}");
    assert!(!back.contains(r#"id="migrate""#), "{back}");
}

#[test]
fn institution_users_and_agencies_may_not_install_and_only_members_move_plans() {
    let server = world();
    let work = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read(good_archive(work.path())).expect("read");

    // An institution's user: the same 404 as for nothing, and no install.
    let head = session(&server, "a_head");
    let missing = get(&server, &head, "/admin/packs");
    assert_eq!(missing.status, 404, "{}", missing.text());
    let nothing = get(&server, &head, "/no-such-page");
    assert_eq!(missing.text().replace("/admin/packs", "/no-such-page"), nothing.text(), "word for word the same 404");
    let home = page(&server, &head, "/institutions/grad-a");
    assert!(!home.contains("/admin/packs"), "the menu does not link the packs for an institution's user");
    let refused = upload(&server, &head, Some(&head.csrf), "rs-1.0.1.tar.gz", &good);
    assert_eq!(refused.status, 404, "{}", refused.text());

    // An agency: its jurisdiction's packs, no install form, and a 403 when it posts one.
    let agency = session(&server, "agency_rs");
    let list = page(&server, &agency, "/admin/packs");
    let packs: Vec<String> = rows(&list).into_iter().map(|(p, _, _)| p).collect();
    assert_eq!(packs, ["rs"], "an agency sees the packs of what it supervises");
    assert!(!list.contains("multipart/form-data"), "no install form for an agency");
    let refused = upload(&server, &agency, Some(&agency.csrf), "rs-1.0.1.tar.gz", &good);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.text().contains("This needs one of these roles: admin."), "{}", refused.text());
    assert_eq!(installed_versions(&server), ["1.0.0"], "nothing was installed");

    // With 1.0.1 installed by the administrator: who may preview and who may move.
    let admin = admin_session(&server);
    assert_eq!(upload(&server, &admin, Some(&admin.csrf), "rs-1.0.1.tar.gz", &good).status, 303);
    // The agency reads the preview but has no button, and its POST is refused.
    let preview = page(&server, &agency, "/plans/plan-1/migration?to=1.0.1");
    assert!(!preview.contains(r#"id="migrate""#), "{preview}");
    assert!(preview.contains("Only an administrator or a member with a role in the institution may move the plan."));
    let moved = post_form(&server, &agency, "/plans/plan-1/migration", &format!("_csrf={}&to=1.0.1", agency.csrf));
    assert_eq!(moved.status, 403, "{}", moved.text());
    // Another institution's head: the plan is not found.
    let other = session(&server, "b_head");
    assert_eq!(get(&server, &other, "/plans/plan-1/migration?to=1.0.1").status, 404);
    let moved = post_form(&server, &other, "/plans/plan-1/migration", &format!("_csrf={}&to=1.0.1", other.csrf));
    assert_eq!(moved.status, 404, "{}", moved.text());
    assert_eq!(plan_version(&server, "plan-1"), "1.0.0");
    // The institution's own head may move its plan.
    let preview = page(&server, &head, "/plans/plan-1/migration?to=1.0.1");
    assert!(preview.contains(r#"id="migrate""#), "{preview}");
    let moved = post_form(&server, &head, "/plans/plan-1/migration", &format!("_csrf={}&to=1.0.1", head.csrf));
    assert_eq!(moved.status, 303, "{}", moved.text());
    assert_eq!(plan_version(&server, "plan-1"), "1.0.1");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

#[test]
fn in_a_browser_the_upload_installs_and_the_pages_are_accessible_at_a_phones_width() {
    let server = world();
    let work = tempfile::tempdir().expect("tempdir");
    let ((line, column), broken) = broken_archive(work.path());
    let good = good_archive(work.path());
    let base = format!("http://{}", server.address);
    let axe = axe_source();
    runtime().block_on(async {
        for width in [1200, 375] {
            let browser = Browser::start(&base, width).await;
            browser.open("/login").await;
            browser.find("#user").await.send_keys("admin").await.expect("type the user");
            browser.find("#password").await.send_keys(ADMIN_PASSWORD).await.expect("type the password");
            let button = browser.find("form[action=\"/login\"] button[type=submit]").await;
            browser.click_and_wait(&button).await;
            // The menu leads to the packs.
            let link = browser.find("header nav a[href=\"/admin/packs\"]").await;
            browser.click_and_wait(&link).await;
            assert_eq!(browser.path().await, "/admin/packs");
            let mut violations: Vec<(String, Vec<Value>)> = Vec::new();
            violations.push(("/admin/packs".into(), browser.axe(&axe).await));
            assert!(browser.overflow().await.is_none(), "/admin/packs scrolls sideways at {width} px");

            // The file input takes a path typed into it, as a person picks a file.
            let archive = if width == 1200 { &broken } else { &good };
            browser.find("#pack-file").await.send_keys(&archive.display().to_string()).await.expect("choose the file");
            let submit = browser.find("form[enctype=\"multipart/form-data\"] button[type=submit]").await;
            browser.click_and_wait(&submit).await;
            if width == 1200 {
                let place = browser.text("#refused code.where").await;
                assert_eq!(place, format!("rs-1.0.2/forms/decisions.ron:{line}:{column}"));
                violations.push(("the refusal".into(), browser.axe(&axe).await));
                assert!(browser.overflow().await.is_none(), "the refusal scrolls sideways at {width} px");
            } else {
                assert_eq!(browser.text("#installed").await, "Installed: rs 1.0.1.");
                assert!(browser.has("tr[data-pack=\"rs\"][data-version=\"1.0.1\"]").await, "the new version is listed");
                violations.push(("/admin/packs after an install".into(), browser.axe(&axe).await));
                // The preview of a plan's move, then the move by its button.
                browser.open("/plans/plan-2/migration?to=1.0.1").await;
                violations.push(("/plans/plan-2/migration".into(), browser.axe(&axe).await));
                assert!(browser.overflow().await.is_none(), "the preview scrolls sideways at {width} px");
                let migrate = browser.find("#migrate").await;
                browser.click_and_wait(&migrate).await;
                assert_eq!(browser.path().await, "/plans/plan-2?migrated=1.0.1");
                assert_eq!(browser.text("#migrated").await, "The plan now runs on version 1.0.1.");
                violations.push(("/plans/plan-2 after the move".into(), browser.axe(&axe).await));
                assert!(browser.overflow().await.is_none(), "the plan scrolls sideways at {width} px");
            }
            for (path, found) in &violations {
                assert!(
                    found.is_empty(),
                    "axe-core at {width} px on {path}: {}",
                    serde_json::to_string_pretty(found).unwrap_or_default()
                );
            }
            browser.finish().await;
        }
    });
    assert_eq!(plan_version(&server, "plan-2"), "1.0.1");
    assert_eq!(installed_versions(&server), ["1.0.0", "1.0.1"]);
}
