//! Issue 11, item 4: documents through the real binary and the real packs —
//! a preview of every document a pack defines, HTML and a PDF typeset
//! in-process with its fonts embedded (read back with poppler's
//! `pdftotext`, `pdfinfo` and `pdffonts`), the paper the pack asks for,
//! drafts marked and empty forms refused rather than printed, and each
//! issued document listed in the plan's history.

use std::path::Path;
use std::process::Command;

use integritas_tests::{Install, Run};
use serde_json::Value;

/// A poppler tool's standard output; the test fails if the tool is missing
/// (CI installs `poppler-utils`).
fn poppler(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{tool}` ({e}); install poppler-utils"));
    assert!(output.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("poppler writes UTF-8")
}

/// The text of a PDF as `pdftotext -raw` extracts it (in the order it was
/// set, so a table cell's words stay together), runs of white space as one
/// space (a cell breaks its text across lines).
fn pdf_text(pdf: &Path) -> String {
    let text = poppler("pdftotext", &["-raw", &pdf.display().to_string(), "-"]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `Page size` of `pdfinfo`, e.g. `841.89 x 595.276 pts (A4)`.
fn page_size(pdf: &Path) -> String {
    let info = poppler("pdfinfo", &[&pdf.display().to_string()]);
    let line = info.lines().find(|l| l.starts_with("Page size:")).expect("pdfinfo gives the page size");
    line.trim_start_matches("Page size:").trim().to_string()
}

/// Every font of the PDF, with whether it is embedded (`pdffonts`' `emb`:
/// the fifth field from the end of a line, after which come `sub`, `uni`
/// and the object's number and generation; a font's type may hold spaces).
fn fonts(pdf: &Path) -> Vec<(String, bool)> {
    let listing = poppler("pdffonts", &[&pdf.display().to_string()]);
    listing
        .lines()
        .skip(2)
        .map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            assert!(fields.len() >= 7, "a pdffonts line I cannot read: {l}");
            (fields[0].to_string(), fields[fields.len() - 5] == "yes")
        })
        .collect()
}

/// Writes a document as a PDF and returns its path.
#[track_caller]
fn write_pdf(install: &Install, today: &str, plan: &str, document: &str, lang: Option<&str>) -> std::path::PathBuf {
    let out = install.dir.path().join(format!("{document}-{}.pdf", lang.unwrap_or("default")));
    let mut args = vec!["plan", "document", plan, document, "--format", "pdf", "--out"];
    let out_text = out.display().to_string();
    args.push(&out_text);
    if let Some(lang) = lang {
        args.extend(["--lang", lang]);
    }
    let run = install.run(today, &args);
    assert_eq!(run.code, 0, "{document}: {}{}", run.stdout, run.stderr);
    let bytes = std::fs::read(&out).expect("the PDF is written");
    assert!(bytes.starts_with(b"%PDF-"), "{document} is not a PDF");
    out
}

#[track_caller]
fn assert_fonts_embedded(pdf: &Path) {
    let fonts = fonts(pdf);
    assert!(!fonts.is_empty(), "{} uses no font", pdf.display());
    for (name, embedded) in &fonts {
        assert!(embedded, "{name} is not embedded in {}", pdf.display());
    }
}

fn serbian_plan(install: &Install) {
    install.ok("2022-11-01", &["institution", "add", "--id", "grad", "--name", "Grad Primer", "--jurisdiction", "rs"]);
    install.ok("2022-11-01", &["plan", "new", "--institution", "grad", "--workflow", "rs/three_phase"]);
    assert_eq!(install.ok("2022-11-02", &["plan", "import", "plan-1", "grad_primer"])["state"], "implementing");
}

fn montenegrin_plan(install: &Install) {
    let institution = ["institution", "add", "--id", "opstina", "--name", "Opština Kolašin", "--jurisdiction", "me"];
    install.ok("2026-05-01", &institution);
    install.ok("2026-05-01", &["plan", "new", "--institution", "opstina", "--workflow", "me/annual"]);
    assert_eq!(install.ok("2026-05-01", &["plan", "import", "plan-1", "opstina"])["state"], "implementing");
}

/// A Romanian plan whose declaration is issued (adopted, then sent to the ministry).
fn romanian_plan(install: &Install) {
    let institution = ["institution", "add", "--id", "alunis", "--name", "Comuna Aluniș", "--jurisdiction", "ro"];
    install.ok("2023-02-01", &institution);
    install.ok("2023-02-01", &["plan", "new", "--institution", "alunis", "--workflow", "ro/sna"]);
    let adopted = r#"{"declaration": {"number": "512", "adopted_on": "2023-02-05", "signed_by": "Mihai Sav - primar",
        "text": "Conducerea instituției își asumă agenda de integritate organizațională în cadrul SNA 2021-2025."}}"#;
    install.ok("2023-02-05", &["plan", "fire", "plan-1", "adopt_declaration", "--as", "head", "--payload", adopted]);
    let sent = r#"{"declaration": {"disseminated_by": ["e-mail", "ședință"], "published_on": "2023-02-06",
        "web_address": "https://comunaalunis.ro", "sent_to_mdlpa_on": "2023-02-07", "mdlpa_reference": "MDLPA 1234/2023"}}"#;
    install.ok("2023-02-08", &["plan", "fire", "plan-1", "send_declaration", "--as", "head", "--payload", sent]);
}

#[test]
fn a_serbian_cyrillic_pdf_keeps_every_letter_with_its_fonts_embedded() {
    let install = Install::default();
    serbian_plan(&install);
    let cyrillic = write_pdf(&install, "2022-11-02", "plan-1", "plan_adoption_decision", Some("sr-Cyrl"));
    let text = pdf_text(&cyrillic);
    for words in [
        "ОДЛУКА О УСВАЈАЊУ ПЛАНА ИНТЕГРИТЕТА",
        "Усваја се план интегритета институције Град Пример",
        "Љиљана Ђорђевић",
        "Његош Шарић",
        "Џемал Ћосић",
        "Агенцији за спречавање корупције",
    ] {
        assert!(text.contains(words), "`{words}` is not in the Cyrillic PDF:\n{text}");
    }
    assert_fonts_embedded(&cyrillic);
    assert!(page_size(&cyrillic).starts_with("595.276 x 841.89 pts"), "{}", page_size(&cyrillic));
    // The same decision in Latin script, from the same source.
    let latin = pdf_text(&write_pdf(&install, "2022-11-02", "plan-1", "plan_adoption_decision", Some("sr-Latn")));
    assert!(latin.contains("Ljiljana Đorđević") && latin.contains("Njegoš Šarić"), "{latin}");
}

#[test]
fn the_montenegrin_plan_form_prints_its_whole_register_on_landscape_a4() {
    let install = Install::default();
    montenegrin_plan(&install);
    let form = write_pdf(&install, "2026-05-01", "plan-1", "plan_form", None);
    assert!(page_size(&form).starts_with("841.89 x 595.276 pts (A4)"), "{}", page_size(&form));
    assert_fonts_embedded(&form);
    let text = pdf_text(&form);
    // The register's 13 columns, the last one included, and text with the
    // language's letters from the rows.
    for words in [
        "Oblasti rizika",
        "Radna mjesta",
        "Osnovni rizici (inherentni)",
        "Postojeće mjere kontrole",
        "Preostali rizici (rezidualni)",
        "Vjer.",
        "Posljedice",
        "Procjena",
        "Predložene mjere za smanjenje/otklanjanje rizika",
        "Odgovorna osoba",
        "Rok",
        "St.",
        "Kratak opis i ocjena realizacije mjere",
        "Široka diskreciona ovlašćenja",
        "Šćepanović",
        "Đukić",
        "Čuvanje i bezbjednost podataka i dokumenata",
    ] {
        assert!(text.contains(words), "`{words}` is not in the plan form:\n{text}");
    }
    // The register's header is repeated atop every page it runs onto.
    let info = poppler("pdfinfo", &[&form.display().to_string()]);
    let pages: usize =
        info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|n| n.trim().parse().ok()).expect("pages");
    assert!(pages >= 2, "{info}");
    assert_eq!(text.matches("Kratak opis i ocjena realizacije mjere").count(), pages, "{text}");
    // The HTML asks a browser for the same paper.
    let html = install.run("2026-05-01", &["plan", "document", "plan-1", "plan_form"]);
    assert!(html.stdout.contains("size: A4 landscape"), "{}", html.stdout);
    // And the listing says so.
    let listed = install.ok("2026-05-01", &["plan", "document", "plan-1"]);
    let plan_form = listed.as_array().into_iter().flatten().find(|d| d["id"] == "plan_form").expect("listed");
    assert_eq!(plan_form["page"]["orientation"], "landscape");
    assert_eq!(
        (plan_form["page"]["width_mm"].as_f64(), plan_form["page"]["height_mm"].as_f64()),
        (Some(297.0), Some(210.0))
    );
}

#[test]
fn a_romanian_pdf_keeps_the_comma_below() {
    let install = Install::default();
    romanian_plan(&install);
    let declaration = write_pdf(&install, "2023-02-08", "plan-1", "declaration", None);
    assert_fonts_embedded(&declaration);
    let text = pdf_text(&declaration);
    for words in [
        "Comuna Aluniș",
        "DECLARAȚIA PRIVIND ASUMAREA UNEI AGENDE DE INTEGRITATE ORGANIZAȚIONALĂ",
        "Conducerea instituției își asumă agenda de integritate organizațională",
        "e-mail, ședință",
    ] {
        assert!(text.contains(words), "`{words}` is not in the declaration:\n{text}");
    }
    // ș and ț with the comma below (U+0219, U+021B), never the cedilla forms.
    assert!(text.contains('\u{219}') && text.contains('\u{21b}'));
    assert!(!text.contains('\u{15f}') && !text.contains('\u{163}'), "{text}");
}

#[test]
fn every_document_a_pack_defines_previews_or_says_why_not() {
    for (setup, today, pack) in [
        (serbian_plan as fn(&Install), "2022-11-02", "rs"),
        (montenegrin_plan, "2026-05-01", "me"),
        (romanian_plan, "2023-02-08", "ro"),
    ] {
        let install = Install::default();
        setup(&install);
        let listed = install.ok(today, &["plan", "document", "plan-1"]);
        let documents = listed.as_array().expect("a list");
        assert!(documents.len() >= 4, "{pack}: {listed}");
        for document in documents {
            let id = document["id"].as_str().expect("id");
            let run = install.run(today, &["plan", "document", "plan-1", id, "--json"]);
            if document["empty"] == true {
                assert_ne!(run.code, 0, "{pack} {id}: an empty form is printed");
                assert_eq!(run.json()["error"]["code"], "not_drafted", "{pack} {id}");
            } else {
                assert_eq!(run.code, 0, "{pack} {id}: {}{}", run.stdout, run.stderr);
                let html = run.json()["html"].as_str().expect("html").to_string();
                let marked = html.contains("class=\"draft-mark\"");
                assert_eq!(marked, document["status"] == "draft", "{pack} {id}: marked {marked}, {document}");
            }
        }
    }
}

/// The text inside the draft marking of an HTML page.
fn draft_word(html: &str) -> String {
    let at = html.find("class=\"draft-mark\"").expect("a draft mark");
    let rest = &html[at..];
    let start = rest.find('>').expect("tag end") + 1;
    let end = rest.find("</div>").expect("mark end");
    rest[start..end].trim().to_string()
}

#[test]
fn a_draft_is_marked_and_a_document_with_empty_forms_is_refused() {
    let install = Install::default();
    montenegrin_plan(&install);
    // The annual report is drafted by the import but not yet submitted.
    let html = install.run("2026-05-01", &["plan", "document", "plan-1", "annual_report"]);
    assert_eq!(html.code, 0, "{}", html.stderr);
    let word = draft_word(&html.stdout);
    assert_eq!(word, "NACRT", "a draft is marked in the document's language (the pack's `doc.draft`)");
    let pdf = write_pdf(&install, "2026-05-01", "plan-1", "annual_report", None);
    assert!(pdf_text(&pdf).contains(&word), "the PDF of a draft does not say `{word}`");
    // An issued document carries no marking.
    let issued = install.run("2026-05-01", &["plan", "document", "plan-1", "plan_form"]);
    assert!(issued.code == 0 && !issued.stdout.contains("class=\"draft-mark\""));

    // A fresh plan: its decisions have nothing in them yet.
    install.ok("2026-05-01", &["plan", "new", "--institution", "opstina", "--workflow", "me/annual"]);
    let refused = install.run("2026-05-01", &["plan", "document", "plan-2", "manager_decision", "--json"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "not_drafted");
    let message = error["message"].as_str().expect("a sentence");
    assert!(
        message.contains("Rješenje o određivanju odgovornog lica")
            && message.contains("još nema podataka")
            && !message.contains('<'),
        "the sentence names the document, in the plan's language: {message}"
    );
    // Nor as a PDF: no file is written.
    let out = install.dir.path().join("empty.pdf");
    let args =
        ["plan", "document", "plan-2", "manager_decision", "--format", "pdf", "--out", &out.display().to_string()];
    let run: Run = install.run("2026-05-01", &args);
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("error: ") && run.stdout.is_empty(), "{}{}", run.stdout, run.stderr);
    assert!(!out.exists(), "an empty document was written");
    // The listing says which are empty.
    let listed = install.ok("2026-05-01", &["plan", "document", "plan-2"]);
    let manager = listed.as_array().into_iter().flatten().find(|d| d["id"] == "manager_decision").expect("listed");
    assert_eq!((manager["status"].as_str(), manager["empty"].as_bool()), (Some("draft"), Some(true)));
}

/// The documents an event of `plan history --json` lists, as (id, title).
fn issued(history: &Value, seq: u64) -> Vec<(String, String)> {
    let event = history.as_array().into_iter().flatten().find(|e| e["seq"] == seq).expect("the event");
    event["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| (d["id"].as_str().unwrap_or_default().into(), d["title"].as_str().unwrap_or_default().into()))
        .collect()
}

#[test]
fn the_history_lists_each_issued_document_and_each_copy_can_be_had() {
    let install = Install::default();
    montenegrin_plan(&install);
    let history = install.ok("2026-05-01", &["plan", "history", "plan-1"]);
    assert_eq!(issued(&history, 1), []);
    let imported = issued(&history, 2);
    assert!(imported.contains(&("plan_form".into(), "Obrazac plana integriteta".into())), "{imported:?}");
    assert!(imported.iter().any(|(id, _)| id == "adoption_decision"), "{imported:?}");
    // Titles in the language asked for.
    let english = install.ok("2026-05-01", &["--lang", "en", "plan", "history", "plan-1"]);
    assert!(issued(&english, 2).contains(&("plan_form".into(), "Integrity plan form".into())));
    // The text listing names them too.
    let text = install.run("2026-05-01", &["plan", "history", "plan-1"]).stdout;
    assert!(text.contains("issued: ") && text.contains("plan_form (Obrazac plana integriteta)"), "{text}");

    // The plan is revised and adopted anew: a second copy of the plan form.
    install.ok("2026-05-02", &["plan", "fire", "plan-1", "amend_plan", "--as", "head"]);
    let decision = r#"{"new_adoption_decision": {"number": "01-031/26-777", "place": "Kolašin",
        "decided_on": "2026-05-03", "head": "Predsjednik Opštine", "employees_informed_on": "2026-05-03"}}"#;
    let fired = install
        .ok("2026-05-03", &["plan", "fire", "plan-1", "adopt_revised_plan", "--as", "head", "--payload", decision]);
    let seq = fired["event"]["seq"].as_u64().expect("seq");
    let history = install.ok("2026-05-03", &["plan", "history", "plan-1"]);
    assert!(issued(&history, seq).contains(&("plan_form".into(), "Obrazac plana integriteta".into())));
    let copy = |seq: &str| install.run("2026-05-03", &["plan", "document", "plan-1", "plan_form", "--seq", seq]);
    let first = copy("2");
    let second = copy(&seq.to_string());
    assert!(first.code == 0 && !first.stdout.contains("01-031/26-777"), "{}", first.stderr);
    assert!(second.stdout.contains("01-031/26-777"));
    // The latest copy is the one shown without --seq.
    assert_eq!(install.run("2026-05-03", &["plan", "document", "plan-1", "plan_form"]).stdout, second.stdout);
    // An event that issued no such document.
    let none = install.run("2026-05-03", &["plan", "document", "plan-1", "plan_form", "--seq", "1", "--json"]);
    assert_eq!(none.code, 1);
    assert_eq!(none.json()["error"]["code"], "not_found");
}
