//! `plan document` (HTML or PDF, issued or draft), `plan export` (a table
//! or a report as CSV, XLSX or JSON), `plan import` of a table from a
//! sheet, and `plan calendar` (the deadlines as iCalendar): printing over
//! `integritas_core`, `integritas_pdf` and `integritas_exchange`.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Context as _, anyhow};
use clap::ValueEnum;
use serde_json::json;

use integritas_core::date::Date;
use integritas_core::engine::{DocumentStatus, Engine};
use integritas_core::executor::Command;
use integritas_core::wire::{DocumentView, EventView, FiredView};
use integritas_exchange::calendar::Calendar;
use integritas_exchange::import::{self, ImportError, Target};
use integritas_exchange::{Format, TablePath, export, sheet};

use crate::cli::{Failure, Outcome};

/// What `plan document` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocumentFormat {
    Html,
    Pdf,
}

/// Writes bytes to a file, or to standard output without one.
fn emit(out: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match out {
        Some(path) => std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes).and_then(|()| stdout.flush()).context("cannot write to standard output")
        }
    }
}

fn status_words(status: &DocumentStatus) -> String {
    match status {
        DocumentStatus::Issued { event, seq, date } => format!("issued by {event} on {date} (#{seq})"),
        DocumentStatus::Draft { empty: true, .. } => "draft, not filled in yet".into(),
        DocumentStatus::Draft { missing, .. } if missing.is_empty() => "draft".into(),
        DocumentStatus::Draft { missing, .. } => format!("draft, {} required field(s) missing", missing.len()),
    }
}

/// What `plan document` asks for.
pub(crate) struct DocumentRequest<'a> {
    pub plan: &'a str,
    /// `None`: list the plan's documents.
    pub document: Option<&'a str>,
    /// The copy issued by this event, rather than the latest or the draft.
    pub seq: Option<u64>,
    pub lang: Option<&'a str>,
    pub format: DocumentFormat,
    pub out: Option<&'a Path>,
}

/// `plan document PLAN [DOC]`: without DOC, the plan's documents and
/// whether each is issued; with it, the document as HTML or PDF.
pub(crate) fn document(engine: &Engine, json: bool, request: &DocumentRequest, today: Date) -> Outcome {
    let DocumentRequest { plan, document, seq, lang, format, out } = *request;
    let meta = engine.plan(plan)?.meta.clone();
    let pack = engine.pack_of(&meta)?;
    let language = lang.unwrap_or(pack.source_language()).to_string();
    let translate = pack.translator(&language);
    let Some(document) = document else {
        let views: Vec<DocumentView> = engine
            .documents(plan, Some(&language))?
            .iter()
            .map(|d| DocumentView::new(&d.id, &d.title, d.page, &d.status, &translate))
            .collect();
        if json {
            println!("{}", serde_json::to_string(&views).unwrap_or_default());
        } else {
            let infos = engine.documents(plan, Some(&language))?;
            for d in &infos {
                println!("{:<28} {:<14} {:<44} {}", d.id, d.page, status_words(&d.status), d.title);
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let rendered = match seq {
        Some(seq) => engine.render_issued(plan, document, seq, lang)?,
        None => engine.render_document(plan, document, lang, today)?,
    };
    let view = DocumentView::new(&rendered.id, &rendered.title, rendered.page, &rendered.status, &translate);
    let bytes = match format {
        DocumentFormat::Html => rendered.html.clone().into_bytes(),
        DocumentFormat::Pdf => {
            if out.is_none() && json {
                return Err(
                    anyhow!("--json with --format pdf needs --out FILE (the JSON goes to standard output)").into()
                );
            }
            integritas_pdf::pdf(&rendered.html, &rendered.page).map_err(|e| anyhow!(e))?
        }
    };
    let format_name = match format {
        DocumentFormat::Html => "html",
        DocumentFormat::Pdf => "pdf",
    };
    if json {
        if let Some(path) = out {
            emit(Some(path), &bytes)?;
        }
        let mut body = json!({"document": view, "format": format_name, "bytes": bytes.len()});
        if let Some(path) = out {
            body["out"] = json!(path.display().to_string());
        } else {
            body["html"] = json!(rendered.html);
        }
        println!("{body}");
        return Ok(ExitCode::SUCCESS);
    }
    emit(out, &bytes)?;
    if let Some(path) = out {
        println!(
            "wrote {} ({}, {format_name}, {}, {} bytes): {}",
            path.display(),
            rendered.id,
            rendered.page,
            bytes.len(),
            status_words(&rendered.status)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What `plan export` names: a table `form.field`, or a report
/// `scores.<output>` (optionally `scores.<output>.<list>`).
enum Exported {
    Table(TablePath),
    Report { output: String, list: Option<String> },
}

fn exported(name: &str) -> anyhow::Result<Exported> {
    if let Some(rest) = name.strip_prefix("scores.") {
        let (output, list) = match rest.split_once('.') {
            Some((output, list)) => (output.to_string(), Some(list.to_string())),
            None => (rest.to_string(), None),
        };
        return Ok(Exported::Report { output, list });
    }
    Ok(Exported::Table(TablePath::from_str(name)?))
}

/// The format asked for, else the one `out`'s extension names, else CSV.
fn format_of(format: Option<&str>, out: Option<&Path>) -> anyhow::Result<Format> {
    match format {
        Some(f) => Ok(Format::from_str(f)?),
        None => Ok(out.and_then(Format::of_path).unwrap_or(Format::Csv)),
    }
}

/// `plan export PLAN TABLE`: a table or a report as CSV, XLSX or JSON,
/// headers in `lang` (the pack's first language by default).
pub(crate) fn export(
    engine: &Engine,
    json: bool,
    plan: &str,
    name: &str,
    format: Option<&str>,
    out: Option<&Path>,
    lang: Option<&str>,
) -> Outcome {
    let current = engine.plan(plan)?;
    let pack = engine.pack_of(&current.meta)?;
    let workflow = engine.workflow_of(&current.meta)?;
    let language = lang.unwrap_or(pack.source_language());
    if !pack.manifest.languages.iter().any(|l| l == language) {
        let known = pack.manifest.languages.iter().cloned();
        return Err(integritas_core::error::EngineError::not_found("language", language, known).into());
    }
    let format = format_of(format, out)?;
    let table = match exported(name)? {
        Exported::Table(path) => export::table(&pack, &workflow, &current.data, &path, language)?,
        Exported::Report { output, list } => {
            export::report(&pack, &workflow, &current.scores, &output, list.as_deref(), language)?
        }
    };
    let bytes = export::write(&table, format)?;
    if json {
        if let Some(path) = out {
            emit(Some(path), &bytes)?;
        } else {
            return Err(anyhow!("--json needs --out FILE (the JSON summary goes to standard output)").into());
        }
        let body = json!({
            "exported": name, "format": format!("{format:?}").to_lowercase(), "language": language,
            "columns": table.columns, "rows": table.rows.len(), "bytes": bytes.len(),
            "out": out.map(|p| p.display().to_string()),
        });
        println!("{body}");
        return Ok(ExitCode::SUCCESS);
    }
    emit(out, &bytes)?;
    if let Some(path) = out {
        println!("wrote {} ({name}: {} row(s), {} column(s))", path.display(), table.rows.len(), table.columns.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// What `plan import PLAN TABLE FILE` needs besides the plan.
pub(crate) struct TableImport<'a> {
    pub table: &'a str,
    pub file: &'a Path,
    pub format: Option<&'a str>,
    pub event: &'a str,
    pub role: &'a str,
    pub actor: &'a str,
}

/// `plan import PLAN TABLE FILE --event E --as ROLE`: reads the rows of a
/// CSV or XLSX sheet, checks every row, and fires the event with them
/// only when none has a problem; otherwise lists every problem by row and
/// column and records nothing.
pub(crate) fn import_table(
    engine: &Engine,
    json: bool,
    lang: Option<&str>,
    plan: &str,
    spec: &TableImport,
    today: Date,
) -> Outcome {
    let current = engine.plan(plan)?;
    let pack = engine.pack_of(&current.meta)?;
    let workflow = engine.workflow_of(&current.meta)?;
    let table = TablePath::from_str(spec.table)?;
    let format = match spec.format {
        Some(f) => Format::from_str(f)?,
        None => Format::of_path(spec.file)
            .ok_or_else(|| anyhow!("cannot tell the format of {}; give --format csv|xlsx|json", spec.file.display()))?,
    };
    let bytes = std::fs::read(spec.file).with_context(|| format!("cannot read {}", spec.file.display()))?;
    let sheet = match format {
        Format::Csv => sheet::read_csv(&bytes)?,
        Format::Xlsx => sheet::read_xlsx(&bytes)?,
        Format::Json => sheet::read_json(&bytes)?,
    };
    // The engine's sentences in `--lang`; English without it.
    let labels = lang.map(|l| pack.translator(l));
    let translate = |key: &str| labels.as_ref().and_then(|t| t(key));
    let target = Target { pack: &pack, workflow: &workflow, table: &table, event: spec.event };
    let imported = match import::import(target, &sheet, &translate) {
        Ok(imported) => imported,
        Err(ImportError::File(e)) => return Err(anyhow!(e).into()),
        Err(ImportError::Rows(problems)) => {
            let message =
                format!("{} problem(s) in {}; nothing was imported or recorded", problems.len(), spec.file.display());
            if json {
                println!("{}", json!({"error": {"code": "invalid", "message": message, "rows": problems}}));
            } else {
                for p in &problems {
                    let header = p.header.as_ref().map(|h| format!(" ({h})")).unwrap_or_default();
                    match (&p.row, &p.column) {
                        (Some(row), Some(column)) => eprintln!("row {row}, column {column}{header}: {}", p.message),
                        (Some(row), None) => eprintln!("row {row}: {}", p.message),
                        _ => eprintln!("{}", p.message),
                    }
                }
                eprintln!("error: {message}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let command = Command {
        event: spec.event.to_string(),
        role: spec.role.to_string(),
        actor: spec.actor.to_string(),
        payload: imported.payload,
        today,
    };
    let fired = engine.fire(plan, &command).map_err(|e| match lang {
        Some(l) => Failure::View(Box::new(integritas_core::wire::ErrorView::localized(&e, &pack.translator(l)))),
        None => Failure::Engine(e),
    })?;
    let view = FiredView { event: EventView::from(&fired.event), state: fired.state.clone() };
    if json {
        println!("{}", json!({"imported": {"table": spec.table, "rows": imported.rows}, "fired": view}));
    } else {
        println!(
            "{plan} #{}: imported {} row(s) into {} ({}), now in `{}`",
            fired.event.seq, imported.rows, spec.table, fired.event.event, fired.state
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `plan calendar PLAN`: every deadline occurrence of the plan's cycle as
/// an iCalendar feed, in `lang` (the pack's first language by default).
pub(crate) fn calendar(
    engine: &Engine,
    json: bool,
    plan: &str,
    out: Option<&Path>,
    lang: Option<&str>,
    today: Date,
) -> Outcome {
    let current = engine.plan(plan)?;
    let pack = engine.pack_of(&current.meta)?;
    let language = lang.unwrap_or(pack.source_language());
    let items = engine.deadlines(plan, today)?;
    let institution = engine.institution(&current.meta.institution)?;
    let name = format!("{} — {}", institution.name, pack.manifest.title.get(language).cloned().unwrap_or_default());
    let mut calendar = Calendar::new(&name, today);
    calendar.add_plan(plan, &items, &pack.translator(language));
    let ics = calendar.to_ics();
    if json {
        let Some(path) = out else {
            return Err(anyhow!("--json needs --out FILE (the JSON summary goes to standard output)").into());
        };
        emit(Some(path), ics.as_bytes())?;
        println!("{}", json!({"calendar": plan, "events": items.len(), "out": path.display().to_string()}));
        return Ok(ExitCode::SUCCESS);
    }
    emit(out, ics.as_bytes())?;
    if let Some(path) = out {
        println!("wrote {} ({} deadline(s) of {plan})", path.display(), items.len());
    }
    Ok(ExitCode::SUCCESS)
}
