//! Jurisdiction packs: a folder with a `pack.ron` manifest and the files it
//! names (format: `jurisdictions/README.md`). [`load_pack`] reads and checks
//! a pack whole; [`install`] brings a version into an install; the
//! [`Catalog`] keeps every loaded version.

pub mod diff;
mod install;
mod load;
mod unpack;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::scenario::Scenario;
use crate::definition::{FormDef, Workflow};
use crate::locale::{Labels, Locale};
use crate::render::Templates;

pub use install::{
    InstallError, Installed, ScenarioRunner, VersionCheck, VersionReport, install, install_checked, load_installed,
    load_source,
};
pub use load::{Loader, load_pack, load_workflow, read_source};
/// Pack versions are semver versions.
pub use semver::Version as PackVersion;
pub use unpack::{MAX_ENTRIES, MAX_FILE_BYTES, MAX_PATH_DEPTH, MAX_UNPACKED_BYTES, SHARED_DIR, UnpackError};

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
    /// The first is the language the definitions are written in.
    pub languages: Vec<String>,
    /// IANA time zone (`Area/City`) the dates of acts are taken in for
    /// institutions under this pack that set none of their own; UTC when
    /// left out.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Workflow files, relative to the pack folder.
    pub workflows: Vec<String>,
    /// Form files (each a list of forms) shared by the pack's workflows.
    #[serde(default)]
    pub forms: Vec<String>,
    #[serde(default)]
    pub documents: Vec<DocumentDecl>,
    /// Locale files.
    #[serde(default)]
    pub locales: Vec<String>,
    /// Scoring plugins the workflows call.
    #[serde(default)]
    pub plugins: Vec<PluginDecl>,
    #[serde(default)]
    pub samples: Vec<SampleDecl>,
    /// Scenario test files.
    #[serde(default)]
    pub scenarios: Vec<String>,
    /// How pages show the pack's values (colours of risk levels...).
    #[serde(default)]
    pub presentation: Presentation,
}

/// How pages show a pack's values; all optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename = "Presentation", deny_unknown_fields)]
pub struct Presentation {
    /// A colour (`#rrggbb`) per value word a plugin returns or a choice
    /// holds (a risk level's name: `"visok": "#b71c1c"`): the heat map's
    /// cells and the level badges. Text on it is black or white, whichever
    /// contrasts more.
    #[serde(default)]
    pub colours: BTreeMap<String, String>,
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

/// A document template a pack ships.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Document", deny_unknown_fields)]
pub struct DocumentDecl {
    pub id: String,
    /// The `.hbs` file, relative to the pack folder.
    pub template: String,
    /// Title per language.
    #[serde(default)]
    pub title: BTreeMap<String, String>,
    /// The paper it prints on (A4 portrait when absent; E506 for a size
    /// integritas does not know).
    #[serde(default)]
    pub page: Option<crate::page::PageDecl>,
}

/// Sample plan data: the payload of one event of one workflow.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "Sample", deny_unknown_fields)]
pub struct SampleDecl {
    pub id: String,
    pub workflow: String,
    /// The event that imports it, and the role that fires it.
    pub event: String,
    pub role: String,
    /// A RON file holding `{form: {field: value}}`.
    pub file: String,
}

/// The id under which a pack version's plugin is loaded in the host, so
/// that two versions of a pack can ship different builds of one plugin.
pub fn plugin_key(pack: &str, version: &str, plugin: &str) -> String {
    format!("{pack}@{version}/{plugin}")
}

/// Whether a pack id can name things: packs (`rs/three_phase`), plugin keys
/// and the installed version's folder. Lower-case ASCII letters, digits,
/// `-` and `_`, starting with a letter or digit.
pub fn valid_pack_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The folder an installed version lives in: `<store>/<id>/<version>`
/// (`None` for an id that cannot name a folder).
fn pack_folder(store: &std::path::Path, pack: &Pack) -> Option<PathBuf> {
    valid_pack_id(pack.id()).then(|| store.join(pack.id()).join(pack.version().to_string()))
}

/// A label text the manifest itself gives in `language`: the pack's title
/// (`pack.title`) and its documents' titles (`document.<id>`).
pub(crate) fn manifest_text(manifest: &Manifest, language: &str, key: &str) -> Option<String> {
    if key == "pack.title" {
        return manifest.title.get(language).cloned();
    }
    let id = key.strip_prefix("document.")?;
    manifest.documents.iter().find(|d| d.id == id)?.title.get(language).cloned()
}

/// A checked pack version, with everything it ships read and compiled.
#[derive(Debug)]
pub struct Pack {
    pub manifest: Manifest,
    pub dir: PathBuf,
    /// Workflow id → checked workflow (pack forms included).
    pub workflows: BTreeMap<String, Arc<Workflow>>,
    /// Forms shared by the workflows.
    pub forms: Vec<FormDef>,
    pub templates: Templates,
    /// Document id → the forms its template reads (`data.<form>.…`), so
    /// a draft can tell whether it has anything to show yet.
    pub document_forms: BTreeMap<String, Vec<String>>,
    /// Language → locale file.
    pub locales: BTreeMap<String, Locale>,
    /// Label key → text in the source language.
    pub source_labels: BTreeMap<String, String>,
    /// Sample id → (declaration, payload).
    pub samples: BTreeMap<String, (SampleDecl, Value)>,
    /// (file, scenario).
    pub scenarios: Vec<(String, Scenario)>,
}

impl Pack {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    pub fn version(&self) -> &Version {
        &self.manifest.version
    }

    /// The language the definitions are written in.
    pub fn source_language(&self) -> &str {
        self.manifest.languages.first().map_or("", String::as_str)
    }

    /// The pack's labels in `language` (source texts when it has none).
    pub fn labels(&self, language: &str) -> Labels {
        let locale = (language != self.source_language()).then(|| self.locales.get(language)).flatten();
        let mut labels = Labels::resolve(language, &self.source_labels, locale);
        // What the manifest already says in this language need not be repeated in its locale.
        for (key, text) in labels.map.iter_mut() {
            if locale.is_some_and(|l| !l.messages.contains_key(key))
                && let Some(given) = manifest_text(&self.manifest, language, key)
            {
                *text = given;
            }
        }
        if let Some(locale) = locale.filter(|l| l.transliterate.is_none()) {
            // Engine words (messages, plugin values, the date format) come from this
            // locale or from the engine's English, never from the source language.
            labels.map.retain(|key, _| !crate::locale::is_engine_word(key) || locale.messages.contains_key(key));
            for (key, text) in locale.messages.iter().filter(|(k, _)| crate::locale::is_engine_word(k)) {
                labels.map.insert(key.clone(), text.clone());
            }
        }
        labels
    }

    /// A sentence of the engine (or a label) in `language`: the pack's
    /// translation when it has one (English is the engine's fallback).
    pub fn translator(&self, language: &str) -> impl Fn(&str) -> Option<String> + use<> {
        let labels = self.labels(language);
        move |key: &str| labels.map.get(key).cloned()
    }

    /// The paper a document prints on: its `page:`, A4 portrait when it
    /// has none (a pack with a bad size does not load).
    pub fn page(&self, document: &str) -> crate::page::PageSetup {
        let decl = self.manifest.documents.iter().find(|d| d.id == document).and_then(|d| d.page.as_ref());
        decl.and_then(|d| crate::page::PageSetup::from_decl(d).ok()).unwrap_or_default()
    }

    /// A document's title in a language: the manifest's title in it, else
    /// the pack's first language's title (transliterated for a language
    /// that is a script of it), else the document's label.
    pub fn document_title(&self, document: &str, language: &str) -> String {
        let decl = self.manifest.documents.iter().find(|d| d.id == document);
        if let Some(title) = decl.and_then(|d| d.title.get(language)) {
            return title.clone();
        }
        match decl.and_then(|d| d.title.get(self.source_language())) {
            // A script of the source language (sr-Cyrl of sr-Latn) gets the source title transliterated.
            Some(title) => match self.locales.get(language).and_then(|l| l.transliterate.as_ref()) {
                Some(table) => table.apply(title),
                None => title.clone(),
            },
            None => self.labels(language).get(&format!("document.{document}")),
        }
    }

    /// Renders a document in a language against a render context.
    pub fn render(
        &self,
        document: &str,
        language: &str,
        context: Value,
    ) -> Result<String, crate::render::TemplateProblem> {
        self.render_marked(document, language, context, None)
    }

    /// Renders a document, marked as a draft with `draft` (the word, in
    /// the document's language) when it is one.
    pub fn render_marked(
        &self,
        document: &str,
        language: &str,
        context: Value,
        draft: Option<&str>,
    ) -> Result<String, crate::render::TemplateProblem> {
        let labels = self.labels(language);
        let title = self.document_title(document, language);
        let wrap = crate::render::Wrap { title: &title, page: self.page(document), draft };
        let transliteration = self.locales.get(language).and_then(|l| l.transliterate.as_ref());
        self.templates.render(document, &wrap, &labels, transliteration, context)
    }
}

/// Every loaded pack version, by pack id then version.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    packs: BTreeMap<String, BTreeMap<Version, Arc<Pack>>>,
}

impl Catalog {
    pub fn insert(&mut self, pack: Pack) {
        self.insert_arc(Arc::new(pack));
    }

    pub fn insert_arc(&mut self, pack: Arc<Pack>) {
        let versions = self.packs.entry(pack.manifest.id.clone()).or_default();
        versions.insert(pack.manifest.version.clone(), pack);
    }

    /// A pack at a version, or its newest version.
    pub fn pack(&self, id: &str, version: Option<&Version>) -> Option<&Arc<Pack>> {
        let versions = self.packs.get(id)?;
        match version {
            Some(v) => versions.get(v),
            None => versions.values().next_back(),
        }
    }

    /// The ids of the packs loaded.
    pub fn ids(&self) -> Vec<String> {
        self.packs.keys().cloned().collect()
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
