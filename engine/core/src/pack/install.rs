//! Installing pack versions at run time: a folder or a `.tar.gz` of one is
//! brought into a staging folder within limits ([`super::unpack`]),
//! keeping only what its manifest names, checked whole, its scenarios run,
//! and only then moved into the install's packs store
//! (`<data>/packs/<id>/<version>/`).
//!
//! Invariants:
//! - A refused pack leaves nothing behind: not in the packs store, not in
//!   the plugin host, not in the compilation cache (its plugins are tried
//!   in a [staging host](crate::plugin::host::PluginHost::staging)).
//! - An installed version is self-contained: it keeps the shared templates
//!   it was checked against in `_shared/`, and loads from there wherever
//!   integritas runs, so a later change to `templates/` never changes a
//!   document it issues.
//! - Problems name the pack's own files (`ut/workflows/w.ron:12:5`), never
//!   the staging folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diff::{PackDiff, diff, predecessor};
use super::unpack::{self, Declared, SHARED_DIR, UnpackError};
use super::{Catalog, Loader, Manifest, Pack, load_pack};
use crate::definition::parse::parse_ron;
use crate::definition::scenario::Report;
use crate::diagnostic::{Diagnostic, Severity, Source};
use crate::plugin::{NoPlugins, PluginRunner};

/// Runs every scenario of a pack with a plugin runner; one report each.
pub type ScenarioRunner = dyn Fn(&Arc<Pack>, Arc<dyn PluginRunner>) -> Vec<Report> + Send + Sync;

/// Why a pack was not installed. In every case nothing was kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The pack has errors; every one is listed.
    #[error("the pack is invalid ({} error(s)); nothing was installed", .0.iter().filter(|d| d.is_error()).count())]
    Invalid(Vec<Diagnostic>),
    /// The pack's files could not be brought in safely (a link, a path
    /// outside its folder, an archive over its limits...).
    #[error("the pack was not unpacked: {0}; nothing was installed")]
    Unpack(UnpackError),
    /// Some of the pack's own scenarios fail; the failed ones are listed.
    #[error("{}", scenario_failures(.0))]
    Scenarios(Vec<Report>),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(String),
}

// Not `#[from]`: that would make the unpack error the source as well, and
// error reports that print the chain would say it twice.
impl From<UnpackError> for InstallError {
    fn from(e: UnpackError) -> Self {
        InstallError::Unpack(e)
    }
}

fn scenario_failures(failed: &[Report]) -> String {
    let mut lines = vec![format!("{} of the pack's scenarios fail; nothing was installed:", failed.len())];
    for report in failed {
        lines.push(format!("  {} ({}):", report.name, report.file));
        lines.extend(report.failures.iter().map(|f| format!("    {f}")));
    }
    lines.join("\n")
}

fn io(what: &str, e: impl std::fmt::Display) -> InstallError {
    InstallError::Io(format!("{what}: {e}"))
}

/// What `install` does with a version whose number is smaller than its
/// changes against the version it follows require (W206).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VersionCheck {
    /// Install it, and say so in [`VersionReport::warnings`].
    #[default]
    Warn,
    /// Refuse it, as an error (`pack install --strict`).
    Strict,
}

/// How an installed version compares with the version it follows: the
/// newest version of the same pack below it, installed or bundled.
#[derive(Debug, Clone, Default)]
pub struct VersionReport {
    /// Every change from that version (`None` for a pack's first version).
    pub against: Option<PackDiff>,
    /// W206 when the number is too small for those changes.
    pub warnings: Vec<Diagnostic>,
}

/// A version [`install_checked`] installed.
#[derive(Debug)]
pub struct Installed {
    pub pack: Pack,
    pub report: VersionReport,
}

/// Loads every installed pack version under `store` (`<id>/<version>/`),
/// each with the shared templates it keeps (versions installed before
/// packs kept them use `loader.templates`). Staging leftovers of an
/// interrupted install (`.staging-*`) are not packs.
pub fn load_installed(store: &Path, loader: &Loader, catalog: &mut Catalog) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let Ok(ids) = std::fs::read_dir(store) else { return diagnostics };
    let visible = |e: &std::fs::DirEntry| !e.file_name().to_string_lossy().starts_with('.');
    let mut folders: Vec<PathBuf> = ids
        .filter_map(Result::ok)
        .filter(visible)
        .filter_map(|id| std::fs::read_dir(id.path()).ok())
        .flat_map(|versions| versions.filter_map(Result::ok).filter(visible).map(|v| v.path()))
        .filter(|p| p.join("pack.ron").is_file())
        .collect();
    folders.sort();
    for folder in folders {
        let shared = folder.join(SHARED_DIR);
        let templates = if shared.is_dir() { Some(shared.as_path()) } else { loader.templates };
        let (pack, found) = load_pack(&folder, &Loader { templates, ..*loader });
        diagnostics.extend(found);
        if let Some(pack) = pack {
            catalog.insert(pack);
        }
    }
    diagnostics
}

/// Validates the pack at `source` (a folder or a `.tar.gz`) and installs it
/// into `store`, unless that id and version are already in `catalog`.
///
/// In order: the files are brought into a staging folder within limits,
/// keeping only what the manifest names; the shared templates
/// (`loader.templates`) are copied beside them; the pack is loaded whole
/// (its plugins in a staging host), its scenarios run; only if all of
/// that passes is the compiled code cached, the folder moved into place
/// and the pack loaded from there into `loader.host`.
///
/// `scenarios` runs a pack's scenarios with a plugin runner (the engine's
/// `scenario::run_all`, passed in so that packs need not know the engine).
/// A version numbered too small for its changes is installed with a
/// warning the caller does not see; [`install_checked`] returns it.
pub fn install(
    source: &Path,
    store: &Path,
    loader: &Loader,
    catalog: &Catalog,
    scenarios: &ScenarioRunner,
) -> Result<Pack, InstallError> {
    install_checked(source, store, loader, catalog, scenarios, VersionCheck::Warn).map(|i| i.pack)
}

/// [`install`], comparing the version with the one it follows (the newest
/// version of the same pack in `catalog` below it) once it loads, before
/// its scenarios run: a number smaller than its changes require is a W206
/// warning, or with [`VersionCheck::Strict`] a refusal.
pub fn install_checked(
    source: &Path,
    store: &Path,
    loader: &Loader,
    catalog: &Catalog,
    scenarios: &ScenarioRunner,
    check: VersionCheck,
) -> Result<Installed, InstallError> {
    std::fs::create_dir_all(store).map_err(|e| io("cannot create the packs store", e))?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(store)
        .map_err(|e| io("cannot create a staging folder", e))?;
    let relabel = Relabel::new(staging.path());
    let opened = unpack::open(source)?;
    let root = staging.path().join(opened.name());
    let manifest = parse_manifest(opened.manifest(), &root.join("pack.ron")).map_err(|d| relabel.invalid(d))?;
    if catalog.pack(&manifest.id, Some(&manifest.version)).is_some() {
        return Err(InstallError::Refused(format!(
            "version {} of pack `{}` is already installed; publish a new version",
            manifest.version, manifest.id
        )));
    }
    std::fs::create_dir_all(&root).map_err(|e| io("cannot create the staging folder", e))?;
    opened.stage(&Declared::of(&manifest), &root)?;
    let shared = root.join(SHARED_DIR);
    copy_shared_templates(loader.templates, &shared)?;

    let staging_host = loader.host.map(|host| Arc::new(host.staging()));
    let staged = Loader { host: staging_host.as_deref(), templates: Some(&shared) };
    let (pack, diagnostics) = load_pack(&root, &staged);
    let Some(pack) = pack else { return Err(relabel.invalid(diagnostics)) };
    let against = predecessor(catalog, &pack).map(|previous| diff(previous, &pack));
    let warnings: Vec<Diagnostic> =
        against.as_ref().and_then(|d| d.warning(&root.join("pack.ron"))).into_iter().collect();
    if check == VersionCheck::Strict && !warnings.is_empty() {
        let refused = warnings.into_iter().map(|d| Diagnostic { severity: Severity::Error, ..d }).collect();
        return Err(relabel.invalid(refused));
    }
    let report = VersionReport { against, warnings: relabel.diagnostics(warnings) };
    let target = match super::pack_folder(store, &pack) {
        Some(target) => target,
        None => return Err(InstallError::Refused(format!("`{}` cannot name a folder", pack.id()))),
    };
    if target.exists() {
        return Err(InstallError::Refused(format!(
            "{} exists but holds no loaded pack; remove it, or publish a new version",
            target.display()
        )));
    }
    let runner: Arc<dyn PluginRunner> = match &staging_host {
        Some(host) => host.clone(),
        None => Arc::new(NoPlugins),
    };
    let pack = Arc::new(pack);
    let failed: Vec<Report> =
        scenarios(&pack, runner).into_iter().filter(|r| !r.passed()).map(|r| relabel.report(r)).collect();
    if !failed.is_empty() {
        return Err(InstallError::Scenarios(failed));
    }
    drop(pack);

    std::fs::create_dir_all(target.parent().unwrap_or(store)).map_err(|e| io("cannot create the pack's folder", e))?;
    std::fs::rename(&root, &target).map_err(|e| io("cannot move the pack into place", e))?;
    if let Some(host) = &staging_host {
        host.commit_cache();
    }
    // Loaded again from its final place, into the real host, so the pack
    // knows where it lives (its plugins come from the cache just written).
    let shared = target.join(SHARED_DIR);
    let (pack, diagnostics) = load_pack(&target, &Loader { templates: Some(&shared), ..*loader });
    match pack {
        Some(pack) => Ok(Installed { pack, report }),
        None => {
            let _ = std::fs::remove_dir_all(&target);
            Err(InstallError::Invalid(diagnostics))
        }
    }
}

/// Reads a pack from a folder or a `.tar.gz` to look at it (`pack diff`,
/// `lint --against`): an archive is unpacked into `scratch` within the
/// install's limits, keeping only the files its manifest names. Nothing is
/// installed; problems name the pack's own files.
pub fn load_source(source: &Path, scratch: &Path, loader: &Loader) -> Result<Pack, InstallError> {
    if source.is_dir() {
        let (pack, diagnostics) = load_pack(source, loader);
        return pack.ok_or(InstallError::Invalid(diagnostics));
    }
    let relabel = Relabel::new(scratch);
    let opened = unpack::open(source)?;
    let root = scratch.join(opened.name());
    let manifest = parse_manifest(opened.manifest(), &root.join("pack.ron")).map_err(|d| relabel.invalid(d))?;
    std::fs::create_dir_all(&root).map_err(|e| io("cannot create a folder to unpack into", e))?;
    opened.stage(&Declared::of(&manifest), &root)?;
    let (pack, diagnostics) = load_pack(&root, loader);
    pack.ok_or_else(|| relabel.invalid(diagnostics))
}

/// Parses `pack.ron` from its bytes; problems are located in `file`.
fn parse_manifest(bytes: &[u8], file: &Path) -> Result<Manifest, Vec<Diagnostic>> {
    let file = file.display().to_string();
    let text = std::str::from_utf8(bytes).map_err(|e| {
        vec![Diagnostic::file(Severity::Error, "E002", file.clone(), format!("the manifest is not UTF-8 text: {e}"))]
    })?;
    parse_ron(&Source::new(file.clone(), text)).map_err(|d| vec![d])
}

/// Copies the shared page and partials (`templates/page.hbs`,
/// `templates/partials/*.hbs`) into an installed version's `_shared/`.
/// The folder is made even when there are none, so the installed version
/// never looks for templates anywhere else.
fn copy_shared_templates(from: Option<&Path>, to: &Path) -> Result<(), InstallError> {
    std::fs::create_dir_all(to.join("partials")).map_err(|e| io("cannot create the shared templates' folder", e))?;
    let Some(from) = from else { return Ok(()) };
    let mut files = vec![(from.join("page.hbs"), to.join("page.hbs"))];
    if let Ok(entries) = std::fs::read_dir(from.join("partials")) {
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            if Path::new(&name).extension().is_some_and(|e| e == "hbs") {
                files.push((entry.path(), to.join("partials").join(name)));
            }
        }
    }
    for (from, to) in files {
        // Plain files only: a link in the install's own templates is not followed.
        if std::fs::symlink_metadata(&from).is_ok_and(|m| m.is_file()) {
            std::fs::copy(&from, &to).map_err(|e| io(&format!("cannot copy {}", from.display()), e))?;
        }
    }
    Ok(())
}

/// Names the staging folder out of what an install reports, so problems
/// read `ut/workflows/w.ron`.
struct Relabel {
    prefix: String,
}

impl Relabel {
    fn new(staging: &Path) -> Relabel {
        Relabel { prefix: format!("{}{}", staging.display(), std::path::MAIN_SEPARATOR) }
    }

    fn text(&self, text: &str) -> String {
        text.replace(&self.prefix, "")
    }

    fn invalid(&self, diagnostics: Vec<Diagnostic>) -> InstallError {
        InstallError::Invalid(self.diagnostics(diagnostics))
    }

    fn diagnostics(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        diagnostics
            .into_iter()
            .map(|d| Diagnostic {
                file: self.text(&d.file),
                message: self.text(&d.message),
                hint: d.hint.as_deref().map(|h| self.text(h)),
                ..d
            })
            .collect()
    }

    fn report(&self, report: Report) -> Report {
        Report { failures: report.failures.iter().map(|f| self.text(f)).collect(), ..report }
    }
}
