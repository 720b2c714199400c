//! Screenshots of the main pages in every language a pack speaks, written
//! on each run for a reviewer to look at (`target/tmp/screenshots/`, one
//! folder per language, and an `index.html` showing them all). The test
//! checks what a screenshot cannot: each page answered in the language
//! chosen (`<html lang>`), and each picture is a real PNG of the page.
//!
//! Real server on 127.0.0.1, real sled, the bundled packs and their sample
//! plans, headless Chromium through chromedriver.

#[path = "support/browser.rs"]
mod browser;

use std::path::{Path, PathBuf};

use browser::Browser;
use integritas_tests::server::TestServer;
use serde_json::json;

/// The pages a coordinator and an agency analyst use most, under a plan
/// (`{plan}`), an institution (`{institution}`) or a jurisdiction (`{pack}`).
const PAGES: [(&str, &str); 8] = [
    ("home", "/institutions/{institution}"),
    ("plan", "/plans/{plan}"),
    ("register", "/plans/{plan}/register"),
    ("measures", "/plans/{plan}/measures"),
    ("documents", "/plans/{plan}/documents"),
    ("import", "/plans/{plan}/import"),
    ("exports", "/plans/{plan}/exports"),
    ("dashboard", "/agency/{pack}"),
];

/// Each bundled pack, how its plan starts (a sample plan taken over, or a
/// workflow started today: the rs sample's dates belong to an earlier
/// cycle) and the languages its pages are shown in.
const PACKS: [(&str, &str, &[&str]); 3] = [
    ("rs", "workflow:rs/three_phase", &["sr-Latn", "sr-Cyrl", "en"]),
    ("me", "opstina", &["cnr", "en"]),
    ("ro", "alunis", &["ro", "en"]),
];

fn screenshots_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
}

/// An institution per pack with its sample plan; `reviewer` heads each and
/// is the agency of each jurisdiction. Returns (pack, institution, plan).
fn world(server: &TestServer) -> Vec<(&'static str, String, String)> {
    let institutions: Vec<String> = PACKS.iter().map(|(pack, _, _)| format!("{pack}-sample")).collect();
    for ((pack, _, _), institution) in PACKS.iter().zip(&institutions) {
        server.expect(
            201,
            "POST",
            "/api/v1/institutions",
            Some(&server.admin),
            Some(json!({"id": institution, "name": format!("Institution ({pack})"), "jurisdiction": pack})),
        );
    }
    let grants: Vec<(&str, &str)> = institutions.iter().map(|institution| (institution.as_str(), "head")).collect();
    let reviewer = server.user("reviewer", &grants, Some(json!({"agency": ["rs", "me", "ro"]})));
    let mut made = Vec::new();
    for ((pack, sample, _), institution) in PACKS.iter().zip(institutions) {
        // A sample is imported by the role its events need: the head's.
        let body = match sample.strip_prefix("workflow:") {
            Some(workflow) => json!({"institution": institution, "workflow": workflow}),
            None => json!({"institution": institution, "sample": sample}),
        };
        let plan = server.expect(201, "POST", "/api/v1/plans", Some(&reviewer), Some(body));
        let plan = plan["plan"]["id"].as_str().expect("plan id").to_string();
        made.push((*pack, institution, plan));
    }
    made
}

#[test]
fn screenshots_of_the_main_pages_are_written_in_every_language() {
    let server = TestServer::start();
    let made = world(&server);
    let base = format!("http://{}", server.address);
    let out = screenshots_dir();
    let _ = std::fs::remove_dir_all(&out);
    let mut index = String::from("<!doctype html><meta charset=\"utf-8\"><title>integritas pages</title>\n");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let browser = Browser::start(&base, 1200).await;
        browser.sign_in("reviewer").await;
        for ((pack, institution, plan), (_, _, languages)) in made.iter().zip(PACKS) {
            for language in languages {
                let folder = out.join(language);
                std::fs::create_dir_all(&folder).expect("the screenshots folder");
                // The language is the user's setting; `?lang=` switches it.
                browser.open(&format!("/plans/{plan}?lang={language}")).await;
                for (name, path) in PAGES {
                    let path = path.replace("{plan}", plan).replace("{institution}", institution).replace("{pack}", pack);
                    browser.open(&path).await;
                    let lang = browser.find("html").await.attr("lang").await.ok().flatten().unwrap_or_default();
                    assert_eq!(&lang, language, "{path} was asked in {language}");
                    let png = browser.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot of {path}: {e}"));
                    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000, "{path} gave no picture");
                    let file = folder.join(format!("{pack}-{name}.png"));
                    std::fs::write(&file, &png).expect("write the screenshot");
                    index.push_str(&format!(
                        "<h2>{language} · {pack} · {name} <code>{path}</code></h2><img src=\"{language}/{pack}-{name}.png\" width=\"900\">\n"
                    ));
                }
            }
        }
        browser.finish().await;
    });
    std::fs::write(out.join("index.html"), index).expect("write the index");
    let written = PACKS.iter().map(|(_, _, languages)| languages.len() * PAGES.len()).sum::<usize>();
    let found: usize = std::fs::read_dir(&out)
        .expect("screenshots")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| std::fs::read_dir(e.path()).map(|d| d.count()).unwrap_or(0))
        .sum();
    assert_eq!(found, written, "one picture per page, pack and language in {}", out.display());
}
