//! Reading a pack folder: every file it names is parsed and checked, every
//! problem collected; the pack exists only if there is no error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use semver::Version;
use serde_json::{Value, json};

use super::unpack::{SHARED_DIR, declared_path};
use super::{Catalog, DocumentDecl, ENGINE_VERSION, Manifest, Pack, SampleDecl, plugin_key, valid_pack_id};
use crate::definition::parse::parse_ron;
use crate::definition::scenario::Scenario;
use crate::definition::{Action, FormDef, PluginGuard, Workflow, WorkflowDef, check_forms, check_with_forms};
use crate::diagnostic::{Diagnostic, Needle, Severity, Source};
use crate::locale::{Locale, source_labels};
use crate::plugin::host::PluginHost;
use crate::plugin::{PluginError, PluginRunner};
use crate::render::{Templates, data_paths};

/// What loading needs besides the pack folder.
#[derive(Default, Clone, Copy)]
pub struct Loader<'a> {
    /// Plugins are loaded into it (sha256, ABI, self-test); without it
    /// they are not checked and cannot run.
    pub host: Option<&'a PluginHost>,
    /// The shared `templates/` folder (page wrapper and partials).
    pub templates: Option<&'a Path>,
}

/// Reads a file as a diagnostic source; a missing file is a diagnostic too.
pub fn read_source(path: &Path) -> Result<Source, Diagnostic> {
    let file = path.display().to_string();
    std::fs::read_to_string(path)
        .map(|text| Source::new(file.clone(), text))
        .map_err(|e| Diagnostic::file(Severity::Error, "E002", file, format!("cannot read the file: {e}")))
}

/// Reads and parses a RON file; problems go to `out`.
fn read_ron<T: serde::de::DeserializeOwned>(path: &Path, out: &mut Vec<Diagnostic>) -> Option<(T, Source)> {
    let source = read_source(path).map_err(|d| out.push(d)).ok()?;
    let value = parse_ron(&source).map_err(|d| out.push(d)).ok()?;
    Some((value, source))
}

/// Reads and checks one workflow file on its own.
pub fn load_workflow(path: &Path) -> (Option<Workflow>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let Some((def, source)) = read_ron::<WorkflowDef>(path, &mut out) else { return (None, out) };
    let (workflow, found) = check_with_forms(def, &source, &[]);
    out.extend(found);
    (workflow, out)
}

impl Loader<'_> {
    /// Loads every pack folder directly under `dir`.
    pub fn load_dir(&self, dir: &Path) -> (Catalog, Vec<Diagnostic>) {
        let mut catalog = Catalog::default();
        let mut diagnostics = Vec::new();
        let mut folders: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => {
                entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("pack.ron").is_file()).collect()
            }
            Err(e) => {
                let mut d = file_error(dir, format!("cannot read the packs folder: {e}"));
                d.hint = Some("pass `--packs DIR` with the folder that holds the jurisdiction packs".into());
                diagnostics.push(d);
                Vec::new()
            }
        };
        folders.sort();
        for folder in folders {
            let (pack, found) = load_pack(&folder, self);
            diagnostics.extend(found);
            if let Some(pack) = pack {
                catalog.insert(pack);
            }
        }
        (catalog, diagnostics)
    }
}

fn file_error(path: &Path, message: String) -> Diagnostic {
    Diagnostic::file(Severity::Error, "E002", path.display().to_string(), message)
}

/// Reads and checks a whole pack folder; the pack exists only without errors.
pub fn load_pack(dir: &Path, loader: &Loader) -> (Option<Pack>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let Some((manifest, source)) = read_ron::<Manifest>(&dir.join("pack.ron"), &mut out) else { return (None, out) };
    check_manifest(&manifest, &source, &mut out);
    if out.iter().any(|d| d.code == "E203") {
        // Nothing is read through a name that leaves the pack's folder.
        return (None, out);
    }
    let forms = load_forms(&manifest, dir, &mut out);
    let checked = load_workflows(&manifest, dir, &forms, &source, &mut out);
    // What the other files say is checked against the forms and workflows;
    // when one of those is broken, that check would only repeat the one
    // real error as dozens of consequences, so it waits until it is fixed.
    if out.iter().any(Diagnostic::is_error) {
        return (None, out);
    }
    let (templates, documents) = load_documents(&manifest, dir, loader.templates, &source, &mut out);
    let workflows: BTreeMap<String, Arc<Workflow>> =
        checked.iter().map(|(w, _)| (w.id().to_string(), Arc::new(w.clone()))).collect();
    check_documents(&manifest, &source, &workflows, &documents, &mut out);
    let defs: Vec<&WorkflowDef> = checked.iter().map(|(w, _)| w.def()).collect();
    let doc_titles: Vec<(String, String)> = manifest
        .documents
        .iter()
        .map(|d| {
            (
                d.id.clone(),
                d.title.get(manifest.languages.first().map_or("", String::as_str)).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let source_language = manifest.languages.first().cloned().unwrap_or_default();
    let mut labels = source_labels(&manifest.title, &source_language, &defs, &forms, &doc_titles);
    let locales = load_locales(&manifest, dir, &mut labels, &mut out);
    let samples = load_samples(&manifest, dir, &source, &workflows, &mut out);
    let scenarios = load_scenarios(&manifest, dir, &workflows, &mut out);
    if let Some(host) = loader.host {
        out.extend(check_plugins(&manifest, dir, &source, &checked, &samples, host));
    }
    let no_errors = !out.iter().any(Diagnostic::is_error);
    let document_forms = documents
        .iter()
        .map(|(id, text)| {
            let mut forms: Vec<String> = data_paths(text).into_iter().map(|(form, _)| form).collect();
            forms.sort();
            forms.dedup();
            (id.clone(), forms)
        })
        .collect();
    let pack = Pack {
        manifest,
        dir: dir.to_path_buf(),
        workflows,
        forms,
        templates,
        document_forms,
        locales,
        source_labels: labels,
        samples,
        scenarios,
    };
    if no_errors {
        render_samples(&pack, &source, &mut out);
    }
    if out.iter().any(Diagnostic::is_error) {
        return (None, out);
    }
    (Some(pack), out)
}

fn check_manifest(manifest: &Manifest, source: &Source, out: &mut Vec<Diagnostic>) {
    let element = format!("pack `{}`", manifest.id);
    for tag in &manifest.languages {
        if let Some(why) = crate::language::problem(tag) {
            let msg = format!("`{tag}` is not a BCP 47 language tag: {why}");
            let mut d = source.diagnostic(
                Severity::Error,
                "E205",
                &[Needle::Field("languages"), Needle::Quoted(tag)],
                element.clone(),
                msg,
            );
            d.hint = Some("write languages as BCP 47 tags: `sr-Latn`, `cnr` (Montenegrin), `ro`, `en`".into());
            out.push(d);
        }
    }
    for (word, colour) in &manifest.presentation.colours {
        let hex = colour.strip_prefix('#').filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()));
        if hex.is_none() {
            let msg = format!("the colour of `{word}` is `{colour}`; a colour is written `#rrggbb`");
            let mut d = source.diagnostic(
                Severity::Error,
                "E207",
                &[Needle::Field("colours"), Needle::Quoted(colour)],
                element.clone(),
                msg,
            );
            d.hint = Some("six hexadecimal digits after `#`, e.g. `#2e7d32`".into());
            out.push(d);
        }
    }
    if !valid_pack_id(&manifest.id) {
        let msg = format!(
            "the id `{}` must be lower-case ASCII letters, digits, `-` or `_` (it names workflows, plugins and folders)",
            manifest.id
        );
        out.push(source.diagnostic(Severity::Error, "E204", &[Needle::Key("id")], element.clone(), msg));
    }
    let named = manifest
        .workflows
        .iter()
        .chain(&manifest.forms)
        .chain(manifest.documents.iter().map(|d| &d.template))
        .chain(&manifest.locales)
        .chain(manifest.plugins.iter().map(|p| &p.file))
        .chain(manifest.samples.iter().map(|s| &s.file))
        .chain(&manifest.scenarios);
    for file in named.filter(|f| declared_path(f).is_none()) {
        let msg = format!("`{file}` is not a file inside the pack's folder");
        let mut d = source.diagnostic(Severity::Error, "E203", &[Needle::Quoted(file)], element.clone(), msg);
        d.hint = Some(format!(
            "name files relative to pack.ron, without `..`, a leading `/` or the reserved `{SHARED_DIR}/`"
        ));
        out.push(d);
    }
    for doc in &manifest.documents {
        if let Some(Err(why)) = doc.page.as_ref().map(crate::page::PageSetup::from_decl) {
            let at = [Needle::Key("documents"), Needle::Id(&doc.id), Needle::Key("size")];
            let mut d = source.diagnostic(Severity::Error, "E506", &at, format!("document `{}`", doc.id), why);
            d.hint = Some("write `page: Page(size: \"A4\", orientation: Landscape)`; without `page:` a document prints on A4 portrait".into());
            out.push(d);
        }
    }
    let engine = Version::parse(ENGINE_VERSION).expect("the crate version is semver");
    if !manifest.requires.matches(&engine) {
        let msg = format!("the pack requires integritas {}, but this is {ENGINE_VERSION}", manifest.requires);
        out.push(source.diagnostic(Severity::Error, "E201", &[Needle::Key("requires")], element.clone(), msg));
    }
    if manifest.languages.is_empty() {
        let msg = "`languages` is empty; the first language is the one the definitions are written in".to_string();
        out.push(source.diagnostic(Severity::Error, "E202", &[Needle::Key("languages")], element.clone(), msg));
    }
    if let Some(lang) = manifest.languages.first()
        && !manifest.title.contains_key(lang)
    {
        let msg = format!("the title has no text in the pack's first language `{lang}`");
        out.push(source.diagnostic(Severity::Error, "E202", &[Needle::Key("title")], element, msg));
    }
}

fn load_forms(manifest: &Manifest, dir: &Path, out: &mut Vec<Diagnostic>) -> Vec<FormDef> {
    let mut forms = Vec::new();
    for file in &manifest.forms {
        if let Some((list, source)) = read_ron::<Vec<FormDef>>(&dir.join(file), out) {
            out.extend(check_forms(&list, &source));
            forms.extend(list);
        }
    }
    forms
}

fn load_workflows(
    manifest: &Manifest,
    dir: &Path,
    forms: &[FormDef],
    manifest_source: &Source,
    out: &mut Vec<Diagnostic>,
) -> Vec<(Workflow, Source)> {
    let mut checked: Vec<(Workflow, Source)> = Vec::new();
    for file in &manifest.workflows {
        let Some((def, source)) = read_ron::<WorkflowDef>(&dir.join(file), out) else { continue };
        let (workflow, found) = check_with_forms(def, &source, forms);
        out.extend(found);
        let Some(workflow) = workflow else { continue };
        if checked.iter().any(|(w, _)| w.id() == workflow.id()) {
            let at = [Needle::Key("workflows"), Needle::Quoted(file)];
            let msg = format!("two workflow files define the workflow `{}`", workflow.id());
            out.push(manifest_source.diagnostic(Severity::Error, "E101", &at, format!("pack `{}`", manifest.id), msg));
        }
        checked.push((workflow, source));
    }
    checked
}

fn load_documents(
    manifest: &Manifest,
    dir: &Path,
    shared: Option<&Path>,
    source: &Source,
    out: &mut Vec<Diagnostic>,
) -> (Templates, BTreeMap<String, String>) {
    let mut texts = BTreeMap::new();
    for doc in &manifest.documents {
        let at = [Needle::Key("documents"), Needle::Id(&doc.id)];
        match std::fs::read_to_string(dir.join(&doc.template)) {
            Ok(text) => {
                texts.insert(doc.id.clone(), text);
            }
            Err(e) => out.push(source.diagnostic(
                Severity::Error,
                "E501",
                &at,
                format!("document `{}`", doc.id),
                format!("cannot read the template {}: {e}", doc.template),
            )),
        }
    }
    let (templates, problems) = Templates::compile(&texts, shared, &dir.join("documents/partials"));
    for p in problems {
        let decl = manifest.documents.iter().find(|d| d.id == p.name);
        let file = decl.map_or(p.name.clone(), |d| dir.join(&d.template).display().to_string());
        let text = decl.and_then(|d| texts.get(&d.id)).cloned().unwrap_or_default();
        let element = format!("pack `{}` template `{}`", manifest.id, p.name);
        out.push(Source::new(file, text).at(
            Severity::Error,
            "E502",
            p.line.max(1),
            p.column.max(1),
            element,
            p.message,
        ));
    }
    (templates, texts)
}

/// Every document a workflow renders is shipped; every `data.form.field`
/// a template names exists.
fn check_documents(
    manifest: &Manifest,
    source: &Source,
    workflows: &BTreeMap<String, Arc<Workflow>>,
    texts: &BTreeMap<String, String>,
    out: &mut Vec<Diagnostic>,
) {
    for workflow in workflows.values() {
        for doc in &workflow.def().documents {
            if !manifest.documents.iter().any(|d: &DocumentDecl| &d.id == doc) {
                let at = [Needle::Key("documents")];
                let msg =
                    format!("workflow `{}` renders the document `{doc}`, which the pack does not ship", workflow.id());
                out.push(source.diagnostic(Severity::Error, "E503", &at, format!("pack `{}`", manifest.id), msg));
            }
        }
    }
    for (id, text) in texts {
        let Some(decl) = manifest.documents.iter().find(|d| &d.id == id) else { continue };
        let template = Source::new(decl.template.clone(), text.clone());
        for (form, field) in data_paths(text) {
            let known =
                workflows.values().any(|w| w.form(&form).is_some_and(|f| f.fields.iter().any(|x| x.id == field)));
            if !known {
                let needle = format!("data.{form}.{field}");
                let (line, column) = text.find(&needle).map_or((1, 1), |i| template.line_col(i));
                let message = format!("the template uses `{needle}`, but no form of the pack defines that field");
                out.push(template.at(Severity::Error, "E504", line, column, format!("document `{id}`"), message));
            }
        }
    }
}

/// Reads the locales. A locale in the source language adds texts of its own
/// (keys templates use, e.g. `doc.number`) to the labels; every other
/// `messages` locale must translate every label.
fn load_locales(
    manifest: &Manifest,
    dir: &Path,
    labels: &mut BTreeMap<String, String>,
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Locale> {
    let source_language = manifest.languages.first().cloned().unwrap_or_default();
    let mut read: Vec<(Locale, Source)> =
        manifest.locales.iter().filter_map(|file| read_ron::<Locale>(&dir.join(file), out)).collect();
    // The source language's own texts first, so the others are checked against them.
    read.sort_by_key(|(l, _)| l.language != source_language);
    let mut locales = BTreeMap::new();
    for (locale, source) in read {
        let element = format!("locale `{}`", locale.language);
        if !manifest.languages.contains(&locale.language) {
            let msg =
                format!("`{}` is not one of the pack's languages ({})", locale.language, manifest.languages.join(", "));
            out.push(source.diagnostic(Severity::Error, "E401", &[Needle::Key("language")], element.clone(), msg));
        }
        match &locale.transliterate {
            Some(t) if t.from != source_language => {
                let msg = format!("only the source language `{source_language}` can be transliterated");
                out.push(source.diagnostic(Severity::Error, "E401", &[Needle::Key("from")], element.clone(), msg));
            }
            Some(_) => {}
            None if locale.language == source_language => {
                for (key, text) in &locale.messages {
                    labels.entry(key.clone()).or_insert_with(|| text.clone());
                }
            }
            None => {
                let given_elsewhere = |key: &str| {
                    crate::locale::is_engine_word(key)
                        || super::manifest_text(manifest, &locale.language, key).is_some()
                };
                let untranslated =
                    labels.iter().filter(|(k, _)| !locale.messages.contains_key(*k) && !given_elsewhere(k));
                for (key, text) in untranslated {
                    let msg = format!("no translation of `{key}` (\"{text}\")");
                    out.push(source.diagnostic(
                        Severity::Warning,
                        "W402",
                        &[Needle::Key("messages")],
                        element.clone(),
                        msg,
                    ));
                }
                for key in
                    locale.messages.keys().filter(|k| !labels.contains_key(*k) && !crate::locale::is_engine_word(k))
                {
                    let msg = format!("`{key}` is not a label of the pack (misspelt, or its source text is empty)");
                    out.push(source.diagnostic(
                        Severity::Warning,
                        "W403",
                        &[Needle::Quoted(key)],
                        element.clone(),
                        msg,
                    ));
                }
            }
        }
        locales.insert(locale.language.clone(), locale);
    }
    for lang in manifest.languages.iter().skip(1).filter(|l| !locales.contains_key(*l)) {
        let msg = format!("the pack lists the language `{lang}` but ships no locale for it");
        out.push(Diagnostic { element: format!("pack `{}`", manifest.id), ..file_error(&dir.join("pack.ron"), msg) });
    }
    locales
}

fn load_samples(
    manifest: &Manifest,
    dir: &Path,
    source: &Source,
    workflows: &BTreeMap<String, Arc<Workflow>>,
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<String, (SampleDecl, Value)> {
    let mut samples = BTreeMap::new();
    for decl in &manifest.samples {
        let at = [Needle::Key("samples"), Needle::Id(&decl.id)];
        let element = format!("sample `{}`", decl.id);
        let Some(workflow) = workflows.get(&decl.workflow) else {
            out.push(source.diagnostic(
                Severity::Error,
                "E601",
                &at,
                element,
                format!("no workflow `{}`", decl.workflow),
            ));
            continue;
        };
        let Some(event) = workflow.event(&decl.event) else {
            out.push(source.diagnostic(Severity::Error, "E601", &at, element, format!("no event `{}`", decl.event)));
            continue;
        };
        let Some((payload, _)) = read_ron::<Value>(&dir.join(&decl.file), out) else { continue };
        for problem in crate::guard::validate_payload(workflow, &event.fills, &payload) {
            out.push(source.diagnostic(Severity::Error, "E602", &at, element.clone(), problem.to_string()));
        }
        samples.insert(decl.id.clone(), (decl.clone(), payload));
    }
    samples
}

fn load_scenarios(
    manifest: &Manifest,
    dir: &Path,
    workflows: &BTreeMap<String, Arc<Workflow>>,
    out: &mut Vec<Diagnostic>,
) -> Vec<(String, Scenario)> {
    let mut scenarios = Vec::new();
    for file in &manifest.scenarios {
        let Some((scenario, source)) = read_ron::<Scenario>(&dir.join(file), out) else { continue };
        if !workflows.contains_key(&scenario.workflow) {
            let msg = format!("no workflow `{}` in this pack", scenario.workflow);
            out.push(source.diagnostic(
                Severity::Error,
                "E701",
                &[Needle::Key("workflow")],
                format!("scenario `{}`", scenario.name),
                msg,
            ));
        }
        scenarios.push((file.clone(), scenario));
    }
    scenarios
}

/// Renders every document against every sample of a workflow that renders it.
fn render_samples(pack: &Pack, source: &Source, out: &mut Vec<Diagnostic>) {
    for (decl, payload) in pack.samples.values() {
        let Some(workflow) = pack.workflows.get(&decl.workflow) else { continue };
        let context = sample_context(pack, workflow, payload);
        for doc in &workflow.def().documents {
            for lang in &pack.manifest.languages {
                if let Err(e) = pack.render(doc, lang, context.clone()) {
                    let at = [Needle::Key("samples"), Needle::Id(&decl.id)];
                    let msg = format!("document `{doc}` does not render in `{lang}` against this sample: {e}");
                    out.push(source.diagnostic(Severity::Error, "E505", &at, format!("sample `{}`", decl.id), msg));
                }
            }
        }
    }
}

/// The render context of a sample: its data in an imagined plan.
pub(crate) fn sample_context(pack: &Pack, workflow: &Workflow, payload: &Value) -> Value {
    json!({
        "pack": {"id": pack.id(), "version": pack.version().to_string(), "title": pack.manifest.title},
        "institution": {"id": "sample", "name": "Sample institution", "kind": "", "employees": null, "jurisdiction": pack.id()},
        "plan": {"id": "sample", "state": workflow.def().initial, "state_title": "", "phase": null, "phase_title": "", "cycle": {"number": 1, "start": "2025-01-01"}},
        "today": "2025-01-01",
        "data": payload,
        "scores": {},
        "deadlines": [],
        "events": [],
    })
}
/// `today` of the plugin guards lint calls: a fixed date, so lint is
/// deterministic (the date a sample imagines, as in [`sample_context`]).
const LINT_TODAY: &str = "2025-01-01";

/// One plugin call a workflow makes: a transition's guard or a `Score` action.
struct PluginCall<'a> {
    /// Index of the transition in the workflow.
    transition: usize,
    plugin: &'a str,
    entry: &'a str,
    kind: CallKind<'a>,
}

enum CallKind<'a> {
    Guard(&'a PluginGuard),
    /// The `nth` (from 0) `Score` action of its transition.
    Score {
        nth: usize,
        input: &'a str,
        config: &'a Option<Value>,
    },
}

impl PluginCall<'_> {
    /// Where the call is written: the transition, then the call, then its `config`.
    fn needles(&self) -> Vec<Needle<'_>> {
        let mut at = vec![Needle::Key("transitions"), Needle::TextNth("Transition(", self.transition)];
        let config = match &self.kind {
            CallKind::Guard(guard) => {
                at.push(Needle::TextNth("PluginGuard(", 0));
                &guard.config
            }
            CallKind::Score { nth, config, .. } => {
                at.push(Needle::TextNth("Score(", *nth));
                config
            }
        };
        // Only a `config` that is written: a search for one that is not
        // would land on a later transition's.
        if config.is_some() {
            at.push(Needle::Key("config"));
        }
        at
    }
}

fn plugin_calls(workflow: &Workflow) -> Vec<PluginCall<'_>> {
    let mut calls = Vec::new();
    for (i, t) in workflow.def().transitions.iter().enumerate() {
        if let Some(guard) = &t.plugin {
            calls.push(PluginCall {
                transition: i,
                plugin: &guard.plugin,
                entry: &guard.entry,
                kind: CallKind::Guard(guard),
            });
        }
        let scores = t.actions.iter().filter_map(|a| match a {
            Action::Score { plugin, entry, input, config, .. } => Some((plugin, entry, input, config)),
            _ => None,
        });
        for (nth, (plugin, entry, input, config)) in scores.enumerate() {
            calls.push(PluginCall { transition: i, plugin, entry, kind: CallKind::Score { nth, input, config } });
        }
    }
    calls
}

/// Loads a pack's plugins into `host` (checking sha256, ABI and limits),
/// runs their self-tests, checks every plugin call of its workflows names a
/// shipped plugin and an entry point it exports, and runs each such call
/// with its configuration (see [`check_call`]).
fn check_plugins(
    manifest: &Manifest,
    dir: &Path,
    source: &Source,
    workflows: &[(Workflow, Source)],
    samples: &BTreeMap<String, (SampleDecl, Value)>,
    host: &PluginHost,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let element = |id: &str| format!("plugin `{id}`");
    let mut entries: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for decl in &manifest.plugins {
        let at = [Needle::Key("plugins"), Needle::Id(&decl.id)];
        let key = plugin_key(&manifest.id, &manifest.version.to_string(), &decl.id);
        match host.load_file(&key, &dir.join(&decl.file), Some(&decl.sha256)) {
            Err(e) => out.push(source.diagnostic(Severity::Error, "E301", &at, element(&decl.id), e.to_string())),
            Ok(info) => {
                match host.self_test(&key) {
                    Ok(report) if report.passed() => {}
                    Ok(report) => {
                        let failed: Vec<String> =
                            report.cases.iter().filter(|c| !c.passed).map(|c| c.name.clone()).collect();
                        let msg = format!("its self-test fails: {}", failed.join(", "));
                        out.push(source.diagnostic(Severity::Error, "E302", &at, element(&decl.id), msg));
                    }
                    Err(e) => {
                        out.push(source.diagnostic(Severity::Error, "E302", &at, element(&decl.id), e.to_string()))
                    }
                }
                entries.insert(decl.id.as_str(), info.entries);
            }
        }
    }
    for (workflow, wf_source) in workflows {
        for call in plugin_calls(workflow) {
            let (plugin, entry, i) = (call.plugin, call.entry, call.transition);
            let at = [Needle::Key("transitions"), Needle::TextNth("Transition(", i), Needle::Quoted(plugin)];
            let element = format!("transition {} (on `{}`)", i + 1, workflow.def().transitions[i].on);
            if !manifest.plugins.iter().any(|d| d.id == plugin) {
                let msg = format!("the pack ships no plugin `{plugin}`");
                let mut d = wf_source.diagnostic(Severity::Error, "E303", &at, element, msg);
                d.hint = Some("declare it under `plugins:` in pack.ron".into());
                out.push(d);
                continue;
            }
            let Some(exported) = entries.get(plugin) else { continue };
            if !exported.iter().any(|e| e == entry) {
                let msg = format!("plugin `{plugin}` has no entry point `{entry}`; it has: {}", exported.join(", "));
                out.push(wf_source.diagnostic(Severity::Error, "E304", &at, element, msg));
                continue;
            }
            let key = plugin_key(&manifest.id, &manifest.version.to_string(), plugin);
            for problem in check_call(&call, &key, samples, host) {
                let (code, hint) = match &problem.sample {
                    None => (
                        "E305",
                        "the plugin checks its `config` on every call, even with an empty table; its message says what it expects",
                    ),
                    Some(_) => {
                        ("E306", "`plan import` of this sample would be refused; fix its rows or the configuration")
                    }
                };
                let mut d =
                    wf_source.diagnostic(Severity::Error, code, &call.needles(), element.clone(), problem.message);
                d.hint = Some(hint.into());
                out.push(d);
            }
        }
    }
    out
}

/// A plugin call that lint ran and that failed.
struct CallProblem {
    /// The sample whose rows were used; `None` for the empty table.
    sample: Option<String>,
    message: String,
}

/// Runs one plugin call of a workflow as the executor would: with its own
/// `config` and an empty table (or no forms, for a guard), then with the
/// rows of every sample that fills that table (or those forms) when the
/// configuration passed. A pack whose configuration the plugin rejects
/// must not lint clean: it would only fail later, on a coordinator's event.
fn check_call(
    call: &PluginCall,
    key: &str,
    samples: &BTreeMap<String, (SampleDecl, Value)>,
    host: &PluginHost,
) -> Vec<CallProblem> {
    // (sample, input) pairs: first the minimal input, then each sample's.
    let mut inputs: Vec<(Option<&str>, Value)> = Vec::new();
    match &call.kind {
        CallKind::Score { input, config, .. } => {
            // As the executor does: `register.risks` → `{"risks": rows}`.
            let (form, field) = input.split_once('.').unwrap_or((input, input));
            inputs.push((None, json!({ "config": config, field: [] })));
            for (id, (_, payload)) in samples {
                if let Some(rows) = payload.get(form).and_then(|f| f.get(field)) {
                    inputs.push((Some(id), json!({ "config": config, field: rows })));
                }
            }
        }
        CallKind::Guard(guard) => {
            inputs.push((None, json!({ "config": guard.config, "data": {}, "today": LINT_TODAY })));
            for (id, (_, payload)) in samples {
                let forms: serde_json::Map<String, Value> =
                    guard.forms.iter().filter_map(|f| payload.get(f).map(|v| (f.clone(), v.clone()))).collect();
                if !forms.is_empty() {
                    inputs.push((Some(id), json!({ "config": guard.config, "data": forms, "today": LINT_TODAY })));
                }
            }
        }
    }
    let (plugin, entry) = (call.plugin, call.entry);
    let mut problems = Vec::new();
    for (sample, input) in inputs {
        let with = match sample {
            None => "its configuration and an empty table".to_string(),
            Some(id) => format!("its configuration and the rows of sample `{id}`"),
        };
        let failure = match host.call(key, entry, &input) {
            Ok(out)
                if matches!(call.kind, CallKind::Guard(_)) && !out.value.get("ok").is_some_and(Value::is_boolean) =>
            {
                Some(format!("answers {with} without a boolean `ok`: {}", out.value))
            }
            Ok(_) => None,
            Err(PluginError::Rejected { message, .. }) => Some(format!("rejects {with}: {message}")),
            Err(PluginError::BadOutput { reason, .. }) => Some(format!("answers {with} with bad output: {reason}")),
            Err(e) => Some(format!("fails on {with}: {e}")),
        };
        if let Some(failure) = failure {
            problems.push(CallProblem {
                sample: sample.map(str::to_string),
                message: format!("plugin `{plugin}` (entry `{entry}`) {failure}"),
            });
            if sample.is_none() {
                // The configuration itself is refused: every sample would
                // repeat the same message.
                break;
            }
        }
    }
    problems
}
