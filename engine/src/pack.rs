//! Jurisdiction packs: a folder with a `pack.ron` manifest and the files it
//! names. This module reads and checks them and keeps the loaded versions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::definition::parse::parse_ron;
use crate::definition::{Action, Workflow, WorkflowDef, check};
use crate::diagnostic::{Diagnostic, Needle, Severity, Source};
use crate::plugin::host::PluginHost;

/// The engine's own version, which a pack's `requires` must accept.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `pack.ron`, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Pack", deny_unknown_fields)]
pub struct Manifest {
    pub id: String,
    /// Title per language code (`en`, `sr-Latn`, `ro`...).
    pub title: BTreeMap<String, String>,
    pub version: Version,
    /// The integritas versions this pack works with, as a semver range.
    pub requires: VersionReq,
    pub languages: Vec<String>,
    /// Workflow files, relative to the pack folder.
    pub workflows: Vec<String>,
    /// Scoring plugins the workflows call.
    #[serde(default)]
    pub plugins: Vec<PluginDecl>,
}

/// A plugin a pack ships: its id in the pack, its file and its sha256.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Plugin", deny_unknown_fields)]
pub struct PluginDecl {
    pub id: String,
    /// The `.wasm` file, relative to the pack folder.
    pub file: String,
    /// Lower-case hex sha256 of the file; loading refuses any other bytes.
    pub sha256: String,
}

/// The id under which a pack version's plugin is loaded in the host, so
/// that two versions of a pack can ship different builds of one plugin.
pub fn plugin_key(pack: &str, version: &str, plugin: &str) -> String {
    format!("{pack}@{version}/{plugin}")
}

/// A checked pack version.
#[derive(Debug, Clone)]
pub struct Pack {
    pub manifest: Manifest,
    pub dir: PathBuf,
    /// Workflow id → checked workflow.
    pub workflows: BTreeMap<String, Arc<Workflow>>,
}

/// Reads a file as a diagnostic source; a missing file is a diagnostic too.
pub fn read_source(path: &Path) -> Result<Source, Diagnostic> {
    let file = path.display().to_string();
    std::fs::read_to_string(path).map(|text| Source::new(file.clone(), text)).map_err(|e| Diagnostic {
        severity: Severity::Error,
        code: "E002",
        file,
        line: 1,
        column: 1,
        element: String::new(),
        message: format!("cannot read the file: {e}"),
        hint: None,
    })
}

/// Reads and checks one workflow file.
pub fn load_workflow(path: &Path) -> (Option<Workflow>, Vec<Diagnostic>) {
    let (workflow, diagnostics, _) = load_workflow_source(path);
    (workflow, diagnostics)
}

fn load_workflow_source(path: &Path) -> (Option<Workflow>, Vec<Diagnostic>, Option<Source>) {
    let source = match read_source(path) {
        Ok(source) => source,
        Err(d) => return (None, vec![d], None),
    };
    match parse_ron::<WorkflowDef>(&source) {
        Ok(def) => {
            let (workflow, diagnostics) = check(def, &source);
            (workflow, diagnostics, Some(source))
        }
        Err(d) => (None, vec![d], Some(source)),
    }
}

/// The plugin calls a workflow makes: (plugin, entry, where it is written).
fn plugin_calls(workflow: &Workflow) -> Vec<(String, String, usize)> {
    let mut calls = Vec::new();
    for (i, t) in workflow.def().transitions.iter().enumerate() {
        if let Some(guard) = &t.plugin {
            calls.push((guard.plugin.clone(), guard.entry.clone(), i));
        }
        for action in &t.actions {
            if let Action::Score { plugin, entry, .. } = action {
                calls.push((plugin.clone(), entry.clone(), i));
            }
        }
    }
    calls
}

/// Loads a pack's plugins into `host` (checking sha256, ABI and limits),
/// runs their self-tests, and checks every plugin call of its workflows
/// names a shipped plugin and an entry point it exports.
fn check_plugins(
    manifest: &Manifest,
    dir: &Path,
    source: &Source,
    workflows: &[(Workflow, Source)],
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
        for (plugin, entry, i) in plugin_calls(workflow) {
            let at = [Needle::Key("transitions"), Needle::TextNth("Transition(", i), Needle::Quoted(&plugin)];
            let element = format!("transition {} (on `{}`)", i + 1, workflow.def().transitions[i].on);
            if !manifest.plugins.iter().any(|d| d.id == plugin) {
                let msg = format!("the pack ships no plugin `{plugin}`");
                let mut d = wf_source.diagnostic(Severity::Error, "E303", &at, element, msg);
                d.hint = Some("declare it under `plugins:` in pack.ron".into());
                out.push(d);
            } else if let Some(exported) = entries.get(plugin.as_str())
                && !exported.contains(&entry)
            {
                let msg = format!("plugin `{plugin}` has no entry point `{entry}`; it has: {}", exported.join(", "));
                out.push(wf_source.diagnostic(Severity::Error, "E304", &at, element, msg));
            }
        }
    }
    out
}

/// Reads and checks a whole pack folder; the pack exists only without
/// errors. With a host, its plugins are loaded into it and checked too.
pub fn load_pack(dir: &Path, host: Option<&PluginHost>) -> (Option<Pack>, Vec<Diagnostic>) {
    let manifest_path = dir.join("pack.ron");
    let source = match read_source(&manifest_path) {
        Ok(source) => source,
        Err(d) => return (None, vec![d]),
    };
    let manifest: Manifest = match parse_ron(&source) {
        Ok(m) => m,
        Err(d) => return (None, vec![d]),
    };
    let mut diagnostics = Vec::new();
    let engine = Version::parse(ENGINE_VERSION).expect("the crate version is semver");
    if !manifest.requires.matches(&engine) {
        diagnostics.push(source.diagnostic(
            Severity::Error,
            "E201",
            &[Needle::Key("requires")],
            format!("pack `{}`", manifest.id),
            format!("the pack requires integritas {}, but this is {ENGINE_VERSION}", manifest.requires),
        ));
    }
    let mut workflows = BTreeMap::new();
    let mut checked = Vec::new();
    for file in &manifest.workflows {
        let (workflow, found, wf_source) = load_workflow_source(&dir.join(file));
        diagnostics.extend(found);
        if let (Some(workflow), Some(wf_source)) = (workflow, wf_source) {
            checked.push((workflow.clone(), wf_source));
            if workflows.contains_key(workflow.id()) {
                diagnostics.push(source.diagnostic(
                    Severity::Error,
                    "E101",
                    &[Needle::Key("workflows"), Needle::Quoted(file)],
                    format!("pack `{}`", manifest.id),
                    format!("two workflow files define the workflow `{}`", workflow.id()),
                ));
            }
            workflows.insert(workflow.id().to_string(), Arc::new(workflow));
        }
    }
    if let Some(host) = host {
        diagnostics.extend(check_plugins(&manifest, dir, &source, &checked, host));
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return (None, diagnostics);
    }
    (Some(Pack { manifest, dir: dir.to_path_buf(), workflows }), diagnostics)
}

/// Every loaded pack version, by pack id then version.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    packs: BTreeMap<String, BTreeMap<Version, Arc<Pack>>>,
}

impl Catalog {
    /// Loads every pack folder directly under `dir`; returns the catalog of
    /// the packs that passed and the diagnostics of all of them.
    pub fn load_dir(dir: &Path, host: Option<&PluginHost>) -> (Catalog, Vec<Diagnostic>) {
        let mut catalog = Catalog::default();
        let mut diagnostics = Vec::new();
        let mut folders: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => {
                entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("pack.ron").is_file()).collect()
            }
            Err(e) => {
                diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    code: "E002",
                    file: dir.display().to_string(),
                    line: 1,
                    column: 1,
                    element: String::new(),
                    message: format!("cannot read the packs folder: {e}"),
                    hint: Some("pass `--packs DIR` with the folder that holds the jurisdiction packs".into()),
                });
                Vec::new()
            }
        };
        folders.sort();
        for folder in folders {
            let (pack, found) = load_pack(&folder, host);
            diagnostics.extend(found);
            if let Some(pack) = pack {
                catalog.insert(pack);
            }
        }
        (catalog, diagnostics)
    }

    pub fn insert(&mut self, pack: Pack) {
        let versions = self.packs.entry(pack.manifest.id.clone()).or_default();
        versions.insert(pack.manifest.version.clone(), Arc::new(pack));
    }

    /// A pack at a version, or its newest version.
    pub fn pack(&self, id: &str, version: Option<&Version>) -> Option<&Arc<Pack>> {
        let versions = self.packs.get(id)?;
        match version {
            Some(v) => versions.get(v),
            None => versions.values().next_back(),
        }
    }

    /// Every pack version, by id then version.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Pack>> {
        self.packs.values().flat_map(|versions| versions.values())
    }

    /// Resolves `pack/workflow` (or a workflow id unique across packs) at a
    /// pack version (newest when `None`).
    pub fn workflow(&self, name: &str, version: Option<&Version>) -> Option<(Arc<Pack>, Arc<Workflow>)> {
        if let Some((pack_id, workflow_id)) = name.split_once('/') {
            let pack = self.pack(pack_id, version)?;
            let workflow = pack.workflows.get(workflow_id)?;
            return Some((pack.clone(), workflow.clone()));
        }
        let mut found = self
            .packs
            .values()
            .filter_map(|versions| versions.values().next_back())
            .filter_map(|pack| pack.workflows.get(name).map(|w| (pack.clone(), w.clone())));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}
