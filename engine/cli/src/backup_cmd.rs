//! `integritas backup --out FILE` and `integritas restore FILE`: one
//! portable, verifiable file holding the whole install, and a fresh data
//! folder rebuilt from it (the format lives in `integritas_core::store::backup`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use serde_json::json;

use integritas_core::date::now_rfc3339;
use integritas_core::store::SledStore;
use integritas_core::store::backup::{self, Summary};

#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Write a consistent copy of the whole install (institutions, every
    /// plan's log, installed packs) to one file; safe while others write.
    Backup {
        /// The backup file to write (gzip-compressed JSON lines).
        #[arg(long)]
        out: PathBuf,
    },
    /// Rebuild a new, empty data folder (`--data`) from a backup, after
    /// checking every chain and checksum in it.
    Restore {
        /// The backup file.
        file: PathBuf,
    },
}

pub fn run(cmd: BackupCmd, data: &Path, json: bool) -> Result<ExitCode> {
    match cmd {
        BackupCmd::Backup { out } => {
            let summary = write_backup(data, &out)?;
            print(json, "backup", &out, &summary);
        }
        BackupCmd::Restore { file } => {
            let mut input =
                std::fs::File::open(&file).with_context(|| format!("cannot open the backup {}", file.display()))?;
            let summary = backup::restore(&mut input, data)?;
            print(json, "restore", data, &summary);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the backup beside `out` and moves it into place once complete
/// and synced, so a failed backup never leaves a file that looks like one.
fn write_backup(data: &Path, out: &Path) -> Result<Summary> {
    let store = SledStore::open(data)?;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot create a file in {}", dir.display()))?;
    let summary = backup::backup(&store, Some(&data.join("packs")), &mut file, &now_rfc3339())?;
    file.flush().and_then(|()| file.as_file().sync_all()).context("cannot write the backup")?;
    file.persist(out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(summary)
}

fn print(json: bool, what: &str, path: &Path, s: &Summary) {
    if json {
        println!(
            "{}",
            json!({what: {"path": path, "counts": s.counts, "journal_position": s.journal_position, "sha256": s.sha256}})
        );
    } else {
        let verb = if what == "backup" { "backed up" } else { "restored" };
        println!(
            "{verb} {} institution(s), {} plan(s), {} event(s), {} pack file(s) (journal entry {}, sha256 {}) {} {}",
            s.counts.institutions,
            s.counts.plans,
            s.counts.events,
            s.counts.pack_files,
            s.journal_position,
            &s.sha256[..12.min(s.sha256.len())],
            if what == "backup" { "to" } else { "into" },
            path.display()
        );
    }
}
