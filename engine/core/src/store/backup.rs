//! Backups of a whole install and restoring them into a fresh data folder.
//!
//! A backup is one gzip-compressed file of JSON lines, readable with
//! `zcat` anywhere:
//!
//! ```text
//! {"kind":"header","format":"integritas-backup","version":1,"created_at":"…","journal":{"position":42,"head":"…"}}
//! {"kind":"institution","id":"grad-x","data":"{…the record's exact stored text…}"}
//! {"kind":"plan","id":"plan-1","data":"{…}"}
//! {"kind":"event","plan":"plan-1","seq":1,"data":"{…}"}
//! {"kind":"pack_file","path":"rs/1.1.0/pack.ron","base64":"…"}
//! {"kind":"end","counts":{"institutions":1,"plans":1,"events":1,"pack_files":9},"sha256":"…"}
//! ```
//!
//! Records come in journal order, as their exact stored bytes, so every
//! hash still verifies; the last line holds the sha256 of all the lines
//! before it. A backup is consistent while the install is in use: it takes
//! the journal's head first and copies exactly the records up to it
//! (records are never rewritten, so that prefix is a snapshot). Packs
//! installed under `<data>/packs/` come along; the plugin compile cache does
//! not (it is rebuilt on use).
//!
//! Restoring replays the records in the same order into a new store in a
//! staging folder beside the target, which rebuilds the very same journal:
//! its head must equal the one in the header, and the new store must pass
//! a full [`Store::audit`], before the staging folder is moved into place.
//! A refused restore leaves nothing behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::journal::JournalHead;
use super::{Record, SledStore, Store, StoreError};

/// The `format` of a backup's header.
pub const FORMAT: &str = "integritas-backup";
/// The layout version this engine writes and reads.
pub const VERSION: u32 = 1;

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the install's files or writing the backup failed.
    #[error("{what}: {reason}")]
    Io { what: String, reason: String },
    /// The backup file is not a whole, intact backup; nothing was restored.
    #[error("the backup is refused, nothing was restored: {0}")]
    Refused(String),
    /// Restoring never overwrites anything.
    #[error("the data folder {0} is not empty; restore into a new folder (a restore never overwrites a store)")]
    NotEmpty(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |e| BackupError::Io { what, reason: e.to_string() }
}

/// What a backup holds (also what a restore rebuilt).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub institutions: u64,
    pub plans: u64,
    pub events: u64,
    pub pack_files: u64,
}

/// What [`backup`] wrote or [`restore`] rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub counts: Counts,
    /// The journal position the backup covers.
    pub journal_position: u64,
    /// Hex sha256 of the backup's lines (its last line's checksum).
    pub sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct JournalLine {
    position: u64,
    head: String,
}

/// One line of a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Header { format: String, version: u32, created_at: String, journal: JournalLine },
    Institution { id: String, data: String },
    Plan { id: String, data: String },
    Event { plan: String, seq: u64, data: String },
    PackFile { path: String, base64: String },
    End { counts: Counts, sha256: String },
}

/// Writes lines, hashing each, into a gzip stream.
struct Writer<W: Write> {
    out: flate2::write::GzEncoder<W>,
    hash: Sha256,
}

impl<W: Write> Writer<W> {
    fn line(&mut self, line: &Line) -> Result<(), BackupError> {
        let mut bytes = serde_json::to_vec(line)
            .map_err(|e| BackupError::Io { what: "cannot encode a backup line".into(), reason: e.to_string() })?;
        bytes.push(b'\n');
        self.hash.update(&bytes);
        self.out.write_all(&bytes).map_err(io("cannot write the backup"))
    }
}

fn text(bytes: &[u8], what: &str) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::Corrupt {
        key: what.to_string(),
        reason: "the stored record is not UTF-8 text".into(),
    })
}

/// Writes a backup of `store` (and of the pack versions installed under
/// `packs`, when given) to `out`. `created_at` is recorded as given (the
/// caller owns the clock).
pub fn backup(
    store: &dyn Store,
    packs: Option<&Path>,
    out: &mut dyn Write,
    created_at: &str,
) -> Result<Summary, BackupError> {
    let head = store.journal_head()?;
    let mut w = Writer { out: flate2::write::GzEncoder::new(out, flate2::Compression::fast()), hash: Sha256::new() };
    w.line(&Line::Header {
        format: FORMAT.into(),
        version: VERSION,
        created_at: created_at.into(),
        journal: JournalLine { position: head.position, head: head.hash_hex() },
    })?;
    let mut counts = Counts::default();
    let mut failed: Option<BackupError> = None;
    let exported = store.export(&head, &mut |record| {
        let line = match record {
            Record::Institution { id, bytes } => {
                counts.institutions += 1;
                Line::Institution { id: id.into(), data: text(bytes, id)? }
            }
            Record::Plan { id, bytes } => {
                counts.plans += 1;
                Line::Plan { id: id.into(), data: text(bytes, id)? }
            }
            Record::Event { plan, seq, bytes } => {
                counts.events += 1;
                Line::Event { plan: plan.into(), seq, data: text(bytes, &format!("{plan}#{seq}"))? }
            }
        };
        // Keep the write error itself; the store only needs to stop.
        w.line(&line).map_err(|e| {
            let reason = e.to_string();
            failed = Some(e);
            StoreError::Io { reason }
        })
    });
    exported.map_err(|e| failed.take().unwrap_or(BackupError::Store(e)))?;
    if let Some(dir) = packs.filter(|p| p.is_dir()) {
        let mut files = Vec::new();
        pack_files(dir, dir, &mut files)?;
        files.sort();
        for (relative, path) in files {
            let bytes = std::fs::read(&path).map_err(io(format!("cannot read {}", path.display())))?;
            w.line(&Line::PackFile { path: relative, base64: base64::encode(&bytes) })?;
            counts.pack_files += 1;
        }
    }
    let sha256 = super::chain::hex(&w.hash.clone().finalize().into());
    let mut end = serde_json::to_vec(&Line::End { counts: counts.clone(), sha256: sha256.clone() })
        .map_err(|e| BackupError::Io { what: "cannot encode a backup line".into(), reason: e.to_string() })?;
    end.push(b'\n');
    w.out.write_all(&end).map_err(io("cannot write the backup"))?;
    w.out.finish().and_then(|out| out.flush()).map_err(io("cannot write the backup"))?;
    Ok(Summary { counts, journal_position: head.position, sha256 })
}

/// The files under an installed-packs folder, as (`/`-separated path
/// relative to `root`, full path); staging folders (`.…`) and links are left out.
fn pack_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), BackupError> {
    for entry in std::fs::read_dir(dir).map_err(io(format!("cannot read {}", dir.display())))? {
        let entry = entry.map_err(io(format!("cannot read {}", dir.display())))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(io(format!("cannot read {}", entry.path().display())))?;
        if kind.is_dir() {
            pack_files(root, &entry.path(), out)?;
        } else if kind.is_file() {
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push((parts.join("/"), path));
        }
    }
    Ok(())
}

/// Rebuilds a data folder at `data` from a backup: refuses when `data` is
/// not empty, and refuses the backup (leaving nothing behind) unless every
/// line is intact, the records rebuild the journal the backup was taken
/// from, and the rebuilt store passes a full audit.
pub fn restore(input: &mut dyn Read, data: &Path) -> Result<Summary, BackupError> {
    if let Ok(mut entries) = std::fs::read_dir(data) {
        if entries.next().is_some() {
            return Err(BackupError::NotEmpty(data.display().to_string()));
        }
    } else if data.exists() {
        return Err(BackupError::NotEmpty(data.display().to_string()));
    }
    let parent = match data.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(format!("cannot create {}", parent.display())))?;
    let staging = tempfile::Builder::new()
        .prefix(".integritas-restore-")
        .tempdir_in(&parent)
        .map_err(io(format!("cannot create a staging folder in {}", parent.display())))?;
    let summary = {
        let store = SledStore::open(&staging.path().join("store"))?;
        let summary = replay(input, &store, &staging.path().join("store").join("packs"))?;
        let audit = store.audit()?;
        if let Some(first) = audit.broken.first() {
            return Err(BackupError::Refused(format!(
                "{} problem(s) in its records, the first: {first}",
                audit.broken.len()
            )));
        }
        summary
    };
    let built = staging.path().join("store");
    sync_tree(&built.join("packs"))?;
    if data.exists() {
        // Empty, checked above: replaced by the rebuilt folder.
        std::fs::remove_dir(data).map_err(io(format!("cannot replace the empty folder {}", data.display())))?;
    }
    std::fs::rename(&built, data).map_err(io(format!("cannot move the restored store to {}", data.display())))?;
    std::fs::File::open(&parent).and_then(|d| d.sync_all()).map_err(io("cannot sync the data folder's parent"))?;
    Ok(summary)
}

/// Reads the backup's lines into `store` and `packs`; checks the header,
/// the checksum, the counts and the rebuilt journal head.
fn replay(input: &mut dyn Read, store: &SledStore, packs: &Path) -> Result<Summary, BackupError> {
    let refused = |why: String| BackupError::Refused(why);
    let mut reader = BufReader::new(input);
    let gzip = reader.fill_buf().map_err(io("cannot read the backup"))?.starts_with(&[0x1f, 0x8b]);
    let mut lines: Box<dyn BufRead> =
        if gzip { Box::new(BufReader::new(flate2::read::GzDecoder::new(reader))) } else { Box::new(reader) };
    let mut hash = Sha256::new();
    let mut counts = Counts::default();
    let mut header: Option<JournalLine> = None;
    let mut buf = Vec::new();
    let mut number = 0u64;
    let mut pending_plan: Option<(String, String)> = None;
    loop {
        buf.clear();
        let read = lines.read_until(b'\n', &mut buf).map_err(|e| refused(format!("it cannot be read: {e}")))?;
        if read == 0 {
            return Err(refused("it is cut short: its last line (the checksum) is missing".into()));
        }
        number += 1;
        let line: Line =
            serde_json::from_slice(&buf).map_err(|e| refused(format!("line {number} is not a backup line: {e}")))?;
        if let Line::End { counts: claimed, sha256 } = &line {
            let actual = super::chain::hex(&hash.clone().finalize().into());
            if *sha256 != actual {
                return Err(refused(format!(
                    "its checksum does not match: the lines hash to {actual}, the backup says {sha256}"
                )));
            }
            if *claimed != counts {
                return Err(refused(format!("it holds {counts:?} but says {claimed:?}")));
            }
            break;
        }
        hash.update(&buf);
        match line {
            Line::Header { format, version, journal, .. } => {
                if format != FORMAT || version != VERSION || header.is_some() || number != 1 {
                    return Err(refused(format!(
                        "line {number}: not an {FORMAT} version {VERSION} header (found {format} version {version})"
                    )));
                }
                header = Some(journal);
            }
            _ if header.is_none() => return Err(refused("it does not start with a backup header".into())),
            Line::Institution { id, data } => {
                flush_plan(store, &mut pending_plan)?;
                store.import(&[Record::Institution { id: &id, bytes: data.as_bytes() }])?;
                counts.institutions += 1;
            }
            Line::Plan { id, data } => {
                flush_plan(store, &mut pending_plan)?;
                pending_plan = Some((id, data));
                counts.plans += 1;
            }
            Line::Event { plan, seq, data } => {
                let event = Record::Event { plan: &plan, seq, bytes: data.as_bytes() };
                match pending_plan.take() {
                    // A plan was written together with its first event: one journal write.
                    Some((id, meta)) if id == plan && seq == 1 => {
                        store.import(&[Record::Plan { id: &id, bytes: meta.as_bytes() }, event])?
                    }
                    other => {
                        pending_plan = other;
                        flush_plan(store, &mut pending_plan)?;
                        store.import(&[event])?;
                    }
                }
                counts.events += 1;
            }
            Line::PackFile { path, base64: text } => {
                flush_plan(store, &mut pending_plan)?;
                let target = safe_join(packs, &path).ok_or_else(|| {
                    refused(format!("line {number}: pack file path `{path}` leaves the packs folder"))
                })?;
                let bytes = base64::decode(&text)
                    .ok_or_else(|| refused(format!("line {number}: pack file `{path}` is not base64")))?;
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
                }
                std::fs::write(&target, bytes).map_err(io(format!("cannot write {}", target.display())))?;
                counts.pack_files += 1;
            }
            Line::End { .. } => unreachable!("handled above"),
        }
    }
    flush_plan(store, &mut pending_plan)?;
    let Some(header) = header else { return Err(refused("it has no header".into())) };
    let rebuilt: JournalHead = store.finish_import()?;
    if rebuilt.position != header.position || rebuilt.hash_hex() != header.head {
        return Err(refused(format!(
            "its records do not rebuild the journal it was taken from (entry {} hashes to {}, the backup says entry {} with {})",
            rebuilt.position,
            rebuilt.hash_hex(),
            header.position,
            header.head
        )));
    }
    Ok(Summary { counts, journal_position: rebuilt.position, sha256: super::chain::hex(&hash.finalize().into()) })
}

/// Writes a plan read from a backup whose first event did not follow it.
fn flush_plan(store: &SledStore, pending: &mut Option<(String, String)>) -> Result<(), StoreError> {
    match pending.take() {
        Some((id, meta)) => store.import(&[Record::Plan { id: &id, bytes: meta.as_bytes() }]),
        None => Ok(()),
    }
}

/// `root/relative` when `relative` is a plain relative path (no `..`, no root).
fn safe_join(root: &Path, relative: &str) -> Option<PathBuf> {
    let path = Path::new(relative);
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && !relative.is_empty()).then(|| root.join(path))
}

/// `fsync`s every file and folder under `dir` (restored pack files).
fn sync_tree(dir: &Path) -> Result<(), BackupError> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries {
        let entry = entry.map_err(io(format!("cannot read {}", dir.display())))?;
        let path = entry.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io(format!("cannot sync {}", path.display())))?;
        }
    }
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(format!("cannot sync {}", dir.display())))
}

/// Standard base64 (RFC 4648, with padding), for the pack files' bytes.
mod base64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let text = text.as_bytes();
        if !text.len().is_multiple_of(4) {
            return None;
        }
        let mut out = Vec::with_capacity(text.len() / 4 * 3);
        for (index, chunk) in text.chunks(4).enumerate() {
            let last = index + 1 == text.len() / 4;
            let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
            if pad > 2 || (pad > 0 && !last) {
                return None;
            }
            let mut n = 0u32;
            for (i, &c) in chunk.iter().enumerate() {
                let v = if i >= 4 - pad { 0 } else { ALPHABET.iter().position(|&a| a == c)? as u32 };
                n |= v << (18 - 6 * i);
            }
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..3 - pad]);
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn round_trips_and_matches_the_rfc_vectors() {
            for (plain, coded) in [
                ("", ""),
                ("f", "Zg=="),
                ("fo", "Zm8="),
                ("foo", "Zm9v"),
                ("foob", "Zm9vYg=="),
                ("fooba", "Zm9vYmE="),
                ("foobar", "Zm9vYmFy"),
            ] {
                assert_eq!(super::encode(plain.as_bytes()), coded);
                assert_eq!(super::decode(coded).as_deref(), Some(plain.as_bytes()));
            }
            let all: Vec<u8> = (0..=255).collect();
            assert_eq!(super::decode(&super::encode(&all)), Some(all));
            for bad in ["Zg=", "Z===", "Zg==Zg==", "Zm9*"] {
                assert_eq!(super::decode(bad), None, "{bad}");
            }
        }
    }
}

#[cfg(test)]
mod tests;
