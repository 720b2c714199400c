//! Bringing a pack's files into a staging folder — from a folder or a
//! `.tar.gz` — within limits, keeping only what its manifest names.
//!
//! Why limits here: an archive is someone else's bytes. Unpacking it first
//! and measuring after let a 3.3 MB archive write 3 GB into the data folder.
//! Every entry is checked on its header before its data is read (size,
//! kind, path), and reading stops at the first limit passed. Only plain
//! files and folders are accepted: no links of any kind, no devices, no
//! path outside the pack's folder.
//!
//! Two passes over an archive: the first checks every entry and finds
//! `pack.ron` (a tar has no index, and the manifest says what to keep);
//! the second writes the files the manifest names. Both read under the
//! same limits, so the whole job is bounded by them.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::{Read, Write as _};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::Manifest;

/// Entries (files and folders) an archive may have. The bundled packs have
/// fewer than 50; a thousand leaves room for a large pack, not for a flood
/// of entries each cheap to compress.
pub const MAX_ENTRIES: usize = 1_000;
/// Largest file in a pack. The largest a pack needs is a plugin, and the
/// plugin host refuses modules over 4 MiB; samples of large registers are
/// a few hundred KiB.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// What all of an archive's entries together may unpack to, kept or not
/// (skipping an entry still means decompressing it). The bundled packs are
/// under 1.5 MiB each.
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;
/// Folders deep a path may go. A pack's deepest file is
/// `<folder>/documents/partials/x.hbs` (four names).
pub const MAX_PATH_DEPTH: usize = 8;
/// Decompressed bytes read from an archive: the unpacked cap plus room for
/// each entry's headers and padding (a header block, a long name or an
/// extended header, and the padding of each: at most 16 blocks of 512
/// bytes). It bounds what the tar reader buffers of long names and
/// extended headers, which it reads whole.
const MAX_STREAM_BYTES: u64 = MAX_UNPACKED_BYTES + MAX_ENTRIES as u64 * 16 * 512;
/// Where the shared templates an installed version keeps are copied; no
/// file of a pack may be named under it.
pub const SHARED_DIR: &str = "_shared";

/// Why a pack's files were not brought in: the first entry that breaks a
/// rule. Nothing was kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    /// A symbolic or hard link: a pack holds plain files only.
    #[error("`{path}` is a link; a pack holds plain files and folders only")]
    Link { path: String },
    /// A device, a pipe, a sparse file...
    #[error("`{path}` is a {kind}; a pack holds plain files and folders only")]
    Special { path: String, kind: String },
    /// `..` or an absolute path.
    #[error("`{path}` points outside the pack's folder")]
    Outside { path: String },
    #[error("`{path}` is nested deeper than {limit} folders")]
    TooDeep { path: String, limit: usize },
    #[error("`{path}` is {size} bytes; a pack's file may have at most {limit}")]
    FileTooLarge { path: String, size: u64, limit: u64 },
    /// The entries together unpack to more than the cap.
    #[error("the archive unpacks to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the archive has more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error("`{path}` appears twice in the archive")]
    Duplicate { path: String },
    #[error("no pack.ron at the top of the pack (or of its single folder)")]
    NoManifest,
    /// Not a `.tar.gz`, or cut short.
    #[error("the archive cannot be read: {0}")]
    Damaged(String),
    #[error("{0}")]
    Io(String),
}

fn io_err(what: &str, e: impl std::fmt::Display) -> UnpackError {
    UnpackError::Io(format!("{what}: {e}"))
}

/// A path inside a pack, as its names (`["workflows", "annual.ron"]`).
type RelPath = Vec<String>;

/// The names of a path inside a pack, or why it is not one: `.` is
/// dropped; `..`, a root or a drive prefix point outside.
fn rel_path(path: &Path, shown: &str) -> Result<RelPath, UnpackError> {
    let mut names = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => names.push(name.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(UnpackError::Outside { path: shown.to_string() });
            }
        }
    }
    if names.len() > MAX_PATH_DEPTH {
        return Err(UnpackError::TooDeep { path: shown.to_string(), limit: MAX_PATH_DEPTH });
    }
    Ok(names)
}

/// A file name the manifest gives, as names inside the pack; `None` when
/// it is not a plain relative path (lint reports it, E203).
pub(crate) fn declared_path(file: &str) -> Option<RelPath> {
    let names = rel_path(Path::new(file), file).ok()?;
    (!names.is_empty() && names[0] != SHARED_DIR).then_some(names)
}

/// The files of a pack worth keeping: what its manifest names, and the
/// pack's own partials.
pub(crate) struct Declared {
    files: BTreeSet<RelPath>,
}

impl Declared {
    pub(crate) fn of(manifest: &Manifest) -> Declared {
        let named = std::iter::once("pack.ron")
            .chain(manifest.workflows.iter().map(String::as_str))
            .chain(manifest.forms.iter().map(String::as_str))
            .chain(manifest.documents.iter().map(|d| d.template.as_str()))
            .chain(manifest.locales.iter().map(String::as_str))
            .chain(manifest.plugins.iter().map(|p| p.file.as_str()))
            .chain(manifest.samples.iter().map(|s| s.file.as_str()))
            .chain(manifest.scenarios.iter().map(String::as_str));
        Declared { files: named.filter_map(declared_path).collect() }
    }

    /// Whether a file at `path` (inside the pack) is kept: named by the
    /// manifest, or a `.hbs` directly in `documents/partials/`.
    fn keeps(&self, path: &[String]) -> bool {
        let partial = matches!(path, [d, p, name] if d == "documents" && p == "partials" && name.ends_with(".hbs"));
        partial || self.files.iter().any(|f| f.as_slice() == path)
    }
}

/// Writes `path` (inside `root`) from `data`, creating its folders; at
/// most `size` bytes are accepted.
fn write_file(root: &Path, path: &[String], mut data: impl Read, size: u64) -> Result<u64, UnpackError> {
    let target = path.iter().fold(root.to_path_buf(), |p, name| p.join(name));
    let shown = path.join("/");
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err(&format!("cannot create the folder of `{shown}`"), e))?;
    }
    // `create_new`: never through something already there (the staging
    // folder is new, and only this code writes into it).
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|e| io_err(&format!("cannot write `{shown}`"), e))?;
    let written = std::io::copy(&mut (&mut data).take(size.saturating_add(1)), &mut file)
        .map_err(|e| io_err(&format!("cannot write `{shown}`"), e))?;
    if written > size {
        return Err(UnpackError::FileTooLarge { path: shown, size: written, limit: size });
    }
    file.flush().map_err(|e| io_err(&format!("cannot write `{shown}`"), e))?;
    Ok(written)
}

/// Where a pack came from, for messages: its folder's name (`ut`), so
/// problems are named `ut/workflows/w.ron`, never by the staging folder.
fn name_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let name = name.strip_suffix(".tar.gz").or_else(|| name.strip_suffix(".tgz")).unwrap_or(name);
    (!name.is_empty() && !name.starts_with('.')).then(|| name.to_string())
}

/// A pack's files, ready to be staged.
pub(crate) trait PackSource {
    /// The pack's name for messages (its folder's).
    fn name(&self) -> String;
    /// The bytes of `pack.ron`.
    fn manifest(&self) -> &[u8];
    /// Writes every file `declared` keeps under `root`.
    fn stage(&self, declared: &Declared, root: &Path) -> Result<(), UnpackError>;
}

/// Opens a folder or a `.tar.gz` as a pack source; an archive is checked
/// entry by entry on the way.
pub(crate) fn open(source: &Path) -> Result<Box<dyn PackSource>, UnpackError> {
    if source.is_dir() { Ok(Box::new(Folder::open(source)?)) } else { Ok(Box::new(Archive::open(source)?)) }
}

/// A pack folder on disk.
struct Folder {
    root: PathBuf,
    manifest: Vec<u8>,
}

impl Folder {
    fn open(source: &Path) -> Result<Folder, UnpackError> {
        let root = if source.join("pack.ron").is_file() {
            source.to_path_buf()
        } else {
            let entries: Vec<PathBuf> = std::fs::read_dir(source)
                .map_err(|e| io_err("cannot read the pack's folder", e))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect();
            match entries.as_slice() {
                [only] if only.join("pack.ron").is_file() => only.clone(),
                _ => return Err(UnpackError::NoManifest),
            }
        };
        let root = std::fs::canonicalize(&root).map_err(|e| io_err("cannot read the pack's folder", e))?;
        let manifest = read_plain(&root, &["pack.ron".to_string()])?.ok_or(UnpackError::NoManifest)?;
        Ok(Folder { root, manifest })
    }
}

/// Reads a file of a folder pack: every folder on the way and the file
/// itself must be plain (not links), the file within the size cap.
/// `None` when it does not exist (lint says so).
fn read_plain(root: &Path, path: &[String]) -> Result<Option<Vec<u8>>, UnpackError> {
    let shown = path.join("/");
    let mut at = root.to_path_buf();
    for (i, name) in path.iter().enumerate() {
        at.push(name);
        let Ok(meta) = std::fs::symlink_metadata(&at) else { return Ok(None) };
        let last = i + 1 == path.len();
        if meta.file_type().is_symlink() {
            return Err(UnpackError::Link { path: shown });
        }
        if !last && !meta.is_dir() {
            return Ok(None);
        }
        if last {
            if !meta.is_file() {
                let kind = if meta.is_dir() { "folder" } else { "special file" };
                return Err(UnpackError::Special { path: shown, kind: kind.into() });
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err(UnpackError::FileTooLarge { path: shown, size: meta.len(), limit: MAX_FILE_BYTES });
            }
        }
    }
    let file = std::fs::File::open(&at).map_err(|e| io_err(&format!("cannot read `{shown}`"), e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| io_err(&format!("cannot read `{shown}`"), e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(UnpackError::FileTooLarge { path: shown, size: bytes.len() as u64, limit: MAX_FILE_BYTES });
    }
    Ok(Some(bytes))
}

impl PackSource for Folder {
    fn name(&self) -> String {
        name_of(&self.root).unwrap_or_else(|| "pack".into())
    }

    fn manifest(&self) -> &[u8] {
        &self.manifest
    }

    fn stage(&self, declared: &Declared, root: &Path) -> Result<(), UnpackError> {
        let mut files: Vec<RelPath> = declared.files.iter().cloned().collect();
        let partials_dir = self.root.join("documents").join("partials");
        let partials_are_plain = std::fs::symlink_metadata(self.root.join("documents")).is_ok_and(|m| m.is_dir())
            && std::fs::symlink_metadata(&partials_dir).is_ok_and(|m| m.is_dir());
        if partials_are_plain && let Ok(entries) = std::fs::read_dir(&partials_dir) {
            for entry in entries.filter_map(Result::ok).take(MAX_ENTRIES + 1) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".hbs") {
                    files.push(vec!["documents".into(), "partials".into(), name]);
                }
            }
        }
        if files.len() > MAX_ENTRIES {
            return Err(UnpackError::TooManyEntries { limit: MAX_ENTRIES });
        }
        let mut total = 0u64;
        for path in files {
            let Some(bytes) = read_plain(&self.root, &path)? else { continue };
            total += bytes.len() as u64;
            if total > MAX_UNPACKED_BYTES {
                return Err(UnpackError::TooLarge { limit: MAX_UNPACKED_BYTES });
            }
            write_file(root, &path, bytes.as_slice(), MAX_FILE_BYTES)?;
        }
        Ok(())
    }
}

/// A `.tar.gz` of a pack (its files at the top, or in one folder).
struct Archive {
    path: PathBuf,
    /// The pack's folder inside the archive (`ut`), if it has one.
    prefix: Option<String>,
    manifest: Vec<u8>,
}

/// A reader that fails once more than `cap` bytes went through it, and
/// says so in `hit` (the tar reader wraps errors, so a flag is clearer).
struct Capped<R> {
    inner: R,
    left: u64,
    hit: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more than the cap would be too many: see whether it exists.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.hit.set(true);
            return Err(std::io::Error::other("the archive's stream is over its cap"));
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// One checked entry of an archive.
struct Checked {
    /// Its names, as written (with the pack's folder, if any).
    path: RelPath,
    is_file: bool,
    size: u64,
}

impl Archive {
    fn open(path: &Path) -> Result<Archive, UnpackError> {
        let mut files: Vec<(RelPath, u64)> = Vec::new();
        let mut manifests: Vec<(RelPath, Vec<u8>)> = Vec::new();
        walk(path, |entry, checked| {
            if checked.is_file {
                files.push((checked.path.clone(), checked.size));
                if checked.path.last().is_some_and(|n| n == "pack.ron") && checked.path.len() <= 2 {
                    let mut bytes = Vec::new();
                    entry
                        .take(MAX_FILE_BYTES + 1)
                        .read_to_end(&mut bytes)
                        .map_err(|e| UnpackError::Damaged(e.to_string()))?;
                    manifests.push((checked.path.clone(), bytes));
                }
            }
            Ok(())
        })?;
        // The pack at the top, or in the one folder everything is in.
        let top = manifests.iter().find(|(p, _)| p.len() == 1);
        let (prefix, manifest) = match top {
            Some((_, bytes)) => (None, bytes.clone()),
            None => {
                let first = files.first().and_then(|(p, _)| p.first()).cloned().ok_or(UnpackError::NoManifest)?;
                let all_inside = files.iter().all(|(p, _)| p.len() > 1 && p[0] == first);
                let found = manifests.iter().find(|(p, _)| p[0] == first).filter(|_| all_inside);
                let (_, bytes) = found.ok_or(UnpackError::NoManifest)?;
                (Some(first), bytes.clone())
            }
        };
        Ok(Archive { path: path.to_path_buf(), prefix, manifest })
    }
}

impl PackSource for Archive {
    fn name(&self) -> String {
        self.prefix.clone().or_else(|| name_of(&self.path)).unwrap_or_else(|| "pack".into())
    }

    fn manifest(&self) -> &[u8] {
        &self.manifest
    }

    fn stage(&self, declared: &Declared, root: &Path) -> Result<(), UnpackError> {
        let skip = usize::from(self.prefix.is_some());
        walk(&self.path, |entry, checked| {
            let inside = &checked.path[skip.min(checked.path.len())..];
            if checked.is_file && declared.keeps(inside) {
                write_file(root, inside, entry, checked.size)?;
            }
            Ok(())
        })
    }
}

/// Reads every entry of the archive at `path`, checks it on its header
/// (kind, path, size, count, running total) before anything reads its
/// data, and hands the entries that pass to `visit`. Stops at the first
/// breach.
fn walk(
    path: &Path,
    mut visit: impl FnMut(&mut dyn Read, &Checked) -> Result<(), UnpackError>,
) -> Result<(), UnpackError> {
    let file = std::fs::File::open(path).map_err(|e| io_err("cannot open the archive", e))?;
    let hit = Rc::new(Cell::new(false));
    let stream = Capped { inner: flate2::read::GzDecoder::new(file), left: MAX_STREAM_BYTES, hit: hit.clone() };
    let mut tar = tar::Archive::new(stream);
    let damaged = |e: std::io::Error| {
        if hit.get() {
            UnpackError::TooLarge { limit: MAX_UNPACKED_BYTES }
        } else {
            UnpackError::Damaged(e.to_string())
        }
    };
    let mut seen: BTreeSet<RelPath> = BTreeSet::new();
    let mut total = 0u64;
    for (count, entry) in tar.entries().map_err(damaged)?.enumerate() {
        if count >= MAX_ENTRIES {
            return Err(UnpackError::TooManyEntries { limit: MAX_ENTRIES });
        }
        let mut entry = entry.map_err(damaged)?;
        let kind = entry.header().entry_type();
        let shown = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(UnpackError::Link { path: shown });
        }
        if kind.is_pax_global_extensions() {
            // Archive-wide metadata (`git archive` writes the commit id).
            continue;
        }
        if !(kind.is_file() || kind.is_dir()) {
            let kind = match () {
                _ if kind.is_character_special() || kind.is_block_special() => "device",
                _ if kind.is_fifo() => "named pipe",
                _ if kind.is_gnu_sparse() => "sparse file",
                _ => "special entry",
            };
            return Err(UnpackError::Special { path: shown, kind: kind.into() });
        }
        let names = rel_path(&entry.path().map_err(damaged)?, &shown)?;
        let size = entry.size();
        if kind.is_file() {
            if size > MAX_FILE_BYTES {
                return Err(UnpackError::FileTooLarge { path: shown, size, limit: MAX_FILE_BYTES });
            }
            total += size;
            if total > MAX_UNPACKED_BYTES {
                return Err(UnpackError::TooLarge { limit: MAX_UNPACKED_BYTES });
            }
            if names.is_empty() {
                return Err(UnpackError::Outside { path: shown });
            }
            if !seen.insert(names.clone()) {
                return Err(UnpackError::Duplicate { path: shown });
            }
        }
        let checked = Checked { path: names, is_file: kind.is_file(), size };
        visit(&mut entry, &checked).map_err(|e| match e {
            UnpackError::Io(_) | UnpackError::Damaged(_) if hit.get() => {
                UnpackError::TooLarge { limit: MAX_UNPACKED_BYTES }
            }
            e => e,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_a_pack() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            ("workflows/a.ron", Ok(&["workflows", "a.ron"])),
            ("./workflows/./a.ron", Ok(&["workflows", "a.ron"])),
            ("../a.ron", Err("`../a.ron` points outside the pack's folder")),
            ("workflows/../../a.ron", Err("`workflows/../../a.ron` points outside the pack's folder")),
            ("/etc/passwd", Err("`/etc/passwd` points outside the pack's folder")),
            ("a/b/c/d/e/f/g/h/i", Err("`a/b/c/d/e/f/g/h/i` is nested deeper than 8 folders")),
        ];
        for (path, expect) in cases {
            let got = rel_path(Path::new(path), path).map_err(|e| e.to_string());
            let expect = expect.map(|names| names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
            assert_eq!(got, expect.map_err(str::to_string), "{path}");
        }
        assert_eq!(declared_path("_shared/page.hbs"), None, "reserved for the shared templates");
        assert_eq!(declared_path(""), None);
    }

    #[test]
    fn partials_are_kept_with_what_the_manifest_names() {
        let declared = Declared { files: [vec!["pack.ron".to_string()]].into_iter().collect() };
        let cases: &[(&[&str], bool)] = &[
            (&["pack.ron"], true),
            (&["documents", "partials", "row.hbs"], true),
            (&["documents", "partials", "deeper", "row.hbs"], false),
            (&["documents", "partials", "notes.txt"], false),
            (&["junk.bin"], false),
        ];
        for (path, kept) in cases {
            let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            assert_eq!(declared.keeps(&path), *kept, "{path:?}");
        }
    }
}
