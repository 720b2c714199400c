//! Pack versions on the command line: `pack diff OLD NEW`, the version
//! check of `lint --against OLD` and `pack install [--strict]`, and
//! `plan migrate --dry-run`. The rules live in
//! `integritas_core::pack::diff`; this only finds the packs and prints.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use semver::Version;
use serde_json::json;

use integritas_core::diagnostic::Diagnostic;
use integritas_core::engine::Engine;
use integritas_core::error::EngineError;
use integritas_core::pack::diff::diff;
use integritas_core::pack::{InstallError, Loader, Pack, VersionCheck, load_source};
use integritas_core::wire::{MigrationPreviewView, PackDiffView};

use super::{Failure, Global, Outcome, catalog_and_counts, open_engine, print};

/// A pack named on the command line: a folder, a `.tar.gz`, or
/// `ID@VERSION` of an installed or bundled version. An archive is
/// unpacked into `scratch`, which must outlive the pack.
pub(super) fn resolve(g: &Global, spec: &str, scratch: &Path) -> Result<Arc<Pack>, Failure> {
    let path = Path::new(spec);
    if path.exists() {
        let loader = Loader { host: None, templates: g.templates.as_deref() };
        return match load_source(path, scratch, &loader) {
            Ok(pack) => Ok(Arc::new(pack)),
            Err(InstallError::Invalid(diagnostics)) => {
                for d in diagnostics.iter().filter(|d| d.is_error()) {
                    eprintln!("{}", d.render());
                }
                Err(anyhow!("the pack in {spec} has errors; `integritas lint` lists them").into())
            }
            Err(e) => Err(anyhow::Error::from(e).into()),
        };
    }
    let Some((id, version)) = spec.split_once('@') else {
        return Err(anyhow!("`{spec}` is neither a pack folder, a .tar.gz, nor ID@VERSION of an installed pack").into());
    };
    let version =
        Version::parse(version).with_context(|| format!("`{version}` in `{spec}` is not a semver version"))?;
    let (catalog, _) = catalog_and_counts(g)?;
    catalog.pack(id, Some(&version)).cloned().ok_or_else(|| {
        let known = catalog.all().filter(|p| p.id() == id).map(|p| format!("{id}@{}", p.version()));
        EngineError::not_found("pack version", spec, known).into()
    })
}

/// `integritas pack diff OLD NEW`: every change and its class.
pub(super) fn pack_diff(g: &Global, old: &str, new: &str) -> Outcome {
    let scratch = tempfile::tempdir().context("cannot create a temporary folder")?;
    let (a, b) = (scratch.path().join("old"), scratch.path().join("new"));
    let old = resolve(g, old, &a)?;
    let new = resolve(g, new, &b)?;
    if old.id() != new.id() {
        return Err(anyhow!("these are two packs (`{}` and `{}`), not two versions of one", old.id(), new.id()).into());
    }
    let d = diff(&old, &new);
    let view = PackDiffView::from(&d);
    print(g, &view, || {
        let mut lines = vec![format!(
            "{} {} → {}: {} ({} change(s): {} major, {} minor, {} patch)",
            view.pack,
            view.from,
            view.to,
            view.class,
            view.changes.len(),
            view.counts.major,
            view.counts.minor,
            view.counts.patch
        )];
        for c in &d.changes {
            lines.push(format!("  {}", c.line()));
            lines.push(format!("        {}: {}", c.rule.id(), c.rule.why()));
        }
        lines.push(verdict(&view));
        lines.join("\n")
    });
    Ok(ExitCode::SUCCESS)
}

/// Whether the new number is high enough, in one line.
fn verdict(view: &PackDiffView) -> String {
    match (view.enough, view.bump) {
        (true, _) if view.class == "none" => format!("nothing changed from {} to {}", view.from, view.to),
        (true, bump) => format!("the number {} ({bump}) is high enough for {} changes", view.to, view.class),
        (false, "none") => {
            format!("{} is not newer than {}; these changes need {} or higher", view.to, view.from, view.required)
        }
        (false, bump) => format!(
            "the number {} says {bump}, but these changes are {}: publish them as {} or higher",
            view.to, view.class, view.required
        ),
    }
}

/// W206 for each linted pack of the same id as `against`.
pub(super) fn lint_against(g: &Global, against: &str, packs: &[Arc<Pack>]) -> Result<Vec<Diagnostic>, Failure> {
    let scratch = tempfile::tempdir().context("cannot create a temporary folder")?;
    let old = resolve(g, against, scratch.path())?;
    let same: Vec<&Arc<Pack>> = packs.iter().filter(|p| p.id() == old.id()).collect();
    if same.is_empty() {
        return Err(anyhow!("--against names pack `{}`, but no pack linted here has that id", old.id()).into());
    }
    Ok(same.into_iter().filter_map(|new| diff(&old, new).warning(&new.dir.join("pack.ron"))).collect())
}

/// `integritas pack install SOURCE [--strict]`.
pub(super) fn pack_install(g: &Global, source: &Path, strict: bool) -> Outcome {
    let engine = open_engine(g, true)?;
    let check = if strict { VersionCheck::Strict } else { VersionCheck::Warn };
    match engine.install_pack_with(source, check) {
        Ok((pack, report)) => {
            let (id, version) = (pack.id().to_string(), pack.version().to_string());
            let against = report.against.as_ref().map(PackDiffView::from);
            let value = json!({
                "installed": {"id": id, "version": version},
                "against": against.as_ref().map(|a| json!({
                    "from": a.from, "class": a.class, "bump": a.bump, "required": a.required, "enough": a.enough,
                })),
                "warnings": report.warnings,
            });
            if !g.json {
                for w in &report.warnings {
                    eprintln!("{}", w.render());
                }
            }
            print(g, &value, || match &against {
                Some(a) => format!("installed {id} {version} (after {}: {} changes; {})", a.from, a.class, verdict(a)),
                None => format!("installed {id} {version}"),
            });
            Ok(ExitCode::SUCCESS)
        }
        Err(InstallError::Invalid(diagnostics)) => {
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            if g.json {
                println!(
                    "{}",
                    json!({"error": {"code": "invalid", "message": "the pack is invalid; nothing was installed", "diagnostics": diagnostics}})
                );
            } else {
                for d in &diagnostics {
                    eprintln!("{}", d.render());
                }
                if diagnostics.iter().filter(|d| d.is_error()).all(|d| d.code == "W206") {
                    eprintln!(
                        "error: refused (--strict): the version's number is smaller than its changes require; nothing was installed"
                    );
                } else {
                    eprintln!("error: the pack is invalid ({errors} error(s)); nothing was installed");
                }
            }
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(anyhow::Error::from(e).into()),
    }
}

/// `integritas plan migrate PLAN --to VERSION --dry-run`.
pub(super) fn migrate_dry_run(g: &Global, engine: &Engine, plan: &str, to: &Version) -> Outcome {
    let preview = engine.migration_preview(plan, to)?;
    let view = MigrationPreviewView::from(&preview);
    print(g, &view, || preview_text(&view));
    Ok(ExitCode::SUCCESS)
}

/// The preview for a person: the move, the state, the data, every score.
pub(super) fn preview_text(v: &MigrationPreviewView) -> String {
    let mut out = vec![format!(
        "{}: {} {} → {} ({} change(s) between the versions, {})",
        v.plan,
        v.pack,
        v.from,
        v.to,
        v.changes.changes.len(),
        v.class
    )];
    let s = &v.state;
    let shape = |x: &integritas_core::wire::StateShapeView| match &x.parent {
        Some(p) => format!("{} in {p}", x.kind),
        None => x.kind.to_string(),
    };
    out.push(match (&s.before, &s.after) {
        (_, None) => format!("state: {} does not exist in {}", s.state, v.to),
        (Some(b), Some(a)) if shape(b) == shape(a) => {
            format!("state: {} ({}), the same in {}", s.state, shape(a), v.to)
        }
        (b, Some(a)) => {
            format!("state: {} ({} → {})", s.state, b.as_ref().map_or("?".into(), shape), shape(a))
        }
    });
    if s.events_before != s.events_after {
        out.push(format!("  events from it: {} → {}", list(&s.events_before), list(&s.events_after)));
    }
    if v.data.is_empty() && v.incomplete.is_empty() {
        out.push(format!("data: all of it fits {}", v.to));
    }
    for p in &v.data {
        out.push(format!("data no longer fits at {}: {}", or_whole(&p.path), p.message));
    }
    for p in &v.incomplete {
        out.push(format!("newly missing at {}: {}", or_whole(&p.path), p.message));
    }
    if v.scores.is_empty() {
        out.push("scores: the plan holds none yet".into());
    }
    for score in &v.scores {
        out.push(format!(
            "score {} ({} value(s) differ), recomputed on the plan's data by {} and by {}:",
            score.output,
            score.changed,
            score.before.call.as_deref().unwrap_or("(no action)"),
            score.after.call.as_deref().unwrap_or("(no action)")
        ));
        for (side, run) in [("before", &score.before), ("after", &score.after)] {
            if let Some(e) = &run.error {
                out.push(format!("  {side}: {e}"));
            }
        }
        for value in &score.values {
            let show = |x: &Option<serde_json::Value>| x.as_ref().map_or("(none)".to_string(), ToString::to_string);
            let mark = if value.changed { "  *" } else { "   " };
            let name = if value.path.is_empty() { score.output.clone() } else { value.path.clone() };
            out.push(format!("{mark} {name}: {} → {}", show(&value.before), show(&value.after)));
        }
    }
    if v.allowed {
        out.push(format!("`plan migrate {} --to {}` would move the plan", v.plan, v.to));
    } else {
        out.push(format!("`plan migrate` would refuse: {}", v.refusals.join("; ")));
    }
    out.join("\n")
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "(none)".into() } else { items.join(", ") }
}

fn or_whole(path: &str) -> &str {
    if path.is_empty() { "(the data)" } else { path }
}
