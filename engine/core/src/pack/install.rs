//! Installing pack versions at run time: a folder or a `.tar.gz` of one is
//! validated whole in a staging folder and only then moved into the
//! install's packs store (`<data>/packs/<id>/<version>/`). A refused pack
//! leaves nothing behind, and the versions already installed keep serving.

use std::path::{Path, PathBuf};

use super::{Catalog, Loader, Pack, load_pack};
use crate::diagnostic::Diagnostic;

/// Why a pack was not installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The pack has errors; every one is listed.
    #[error("the pack is invalid ({} error(s)); nothing was installed", .0.iter().filter(|d| d.is_error()).count())]
    Invalid(Vec<Diagnostic>),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(String),
}

fn io(what: &str, e: impl std::fmt::Display) -> InstallError {
    InstallError::Io(format!("{what}: {e}"))
}

/// Loads every installed pack version under `store` (`<id>/<version>/`).
pub fn load_installed(store: &Path, loader: &Loader, catalog: &mut Catalog) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let Ok(ids) = std::fs::read_dir(store) else { return diagnostics };
    let mut folders: Vec<PathBuf> = ids
        .filter_map(Result::ok)
        .filter_map(|id| std::fs::read_dir(id.path()).ok())
        .flat_map(|versions| versions.filter_map(Result::ok).map(|v| v.path()))
        .filter(|p| p.join("pack.ron").is_file())
        .collect();
    folders.sort();
    for folder in folders {
        let (pack, found) = load_pack(&folder, loader);
        diagnostics.extend(found);
        if let Some(pack) = pack {
            catalog.insert(pack);
        }
    }
    diagnostics
}

/// Validates the pack at `source` (a folder or a `.tar.gz`) and installs it
/// into `store`, unless that id and version are already in `catalog`.
pub fn install(source: &Path, store: &Path, loader: &Loader, catalog: &Catalog) -> Result<Pack, InstallError> {
    std::fs::create_dir_all(store).map_err(|e| io("cannot create the packs store", e))?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(store)
        .map_err(|e| io("cannot create a staging folder", e))?;
    let root = staging.path().join("pack");
    if source.is_dir() {
        copy_dir(source, &root)?;
    } else {
        unpack(source, &root)?;
    }
    let root = pack_root(&root)?;
    let (pack, diagnostics) = load_pack(&root, loader);
    let Some(pack) = pack else { return Err(InstallError::Invalid(diagnostics)) };
    if catalog.pack(pack.id(), Some(pack.version())).is_some() {
        return Err(InstallError::Refused(format!(
            "version {} of pack `{}` is already installed; publish a new version",
            pack.version(),
            pack.id()
        )));
    }
    let target = store.join(pack.id()).join(pack.version().to_string());
    std::fs::create_dir_all(target.parent().unwrap_or(store)).map_err(|e| io("cannot create the pack's folder", e))?;
    std::fs::rename(&root, &target).map_err(|e| io("cannot move the pack into place", e))?;
    // Load from its final place so the pack knows where it lives.
    let (pack, diagnostics) = load_pack(&target, loader);
    pack.ok_or(InstallError::Invalid(diagnostics))
}

/// The folder holding `pack.ron`: the unpacked root or its single sub-folder.
fn pack_root(root: &Path) -> Result<PathBuf, InstallError> {
    if root.join("pack.ron").is_file() {
        return Ok(root.to_path_buf());
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| io("cannot read the unpacked pack", e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    match entries.as_slice() {
        [only] if only.join("pack.ron").is_file() => Ok(only.clone()),
        _ => Err(InstallError::Refused("no pack.ron at the top of the pack (or of its single folder)".into())),
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), InstallError> {
    std::fs::create_dir_all(to).map_err(|e| io("cannot create a folder", e))?;
    for entry in std::fs::read_dir(from).map_err(|e| io(&format!("cannot read {}", from.display()), e))? {
        let entry = entry.map_err(|e| io("cannot read a folder entry", e))?;
        let kind = entry.file_type().map_err(|e| io("cannot read a file type", e))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| io(&format!("cannot copy {}", entry.path().display()), e))?;
        }
        // Symbolic links are not followed: a pack is plain files.
    }
    Ok(())
}

/// Unpacks a `.tar.gz`; entries that would land outside `to` are refused
/// by `unpack_in`, and links are skipped.
fn unpack(archive: &Path, to: &Path) -> Result<(), InstallError> {
    let file = std::fs::File::open(archive).map_err(|e| io(&format!("cannot open {}", archive.display()), e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    std::fs::create_dir_all(to).map_err(|e| io("cannot create a folder", e))?;
    let entries = tar.entries().map_err(|e| io("not a .tar.gz archive", e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| io("the archive is damaged", e))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            continue;
        }
        let inside = entry.unpack_in(to).map_err(|e| io("cannot unpack the archive", e))?;
        if !inside {
            return Err(InstallError::Refused(
                "the archive has entries outside its folder (`..` or absolute paths)".into(),
            ));
        }
    }
    Ok(())
}
