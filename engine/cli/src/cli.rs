//! The `integritas` command line: a thin layer that parses arguments,
//! calls the engine and prints for people (default) or scripts (`--json`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use integritas_core::date::Date;
use integritas_core::deadline::{DueItem, Status};
use integritas_core::diagnostic::Diagnostic;
use integritas_core::engine::{Engine, EngineError};
use integritas_core::executor::Command;
use integritas_core::pack::{InstallError, Loader, install, load_installed, load_pack, load_workflow};
use integritas_core::plugin::host::{HostConfig, PluginHost};
use integritas_core::projection::Plan;
use integritas_core::store::{Event, Institution, SledStore};

/// integritas: integrity-plan workflows for public institutions.
#[derive(Debug, Parser)]
#[command(name = "integritas", version, about)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Args)]
struct Global {
    /// Folder of the data store.
    #[arg(long, global = true, default_value = "./data")]
    data: PathBuf,
    /// Folder of the jurisdiction packs.
    #[arg(long, global = true, default_value = "./jurisdictions", env = "INTEGRITAS_PACKS")]
    packs: PathBuf,
    /// Folder of the shared templates (page wrapper and partials); by
    /// default `./templates`, or the `templates/` beside the packs folder.
    #[arg(long, global = true, env = "INTEGRITAS_TEMPLATES")]
    templates: Option<PathBuf>,
    /// The date to act on (YYYY-MM-DD); defaults to today. Lets a cycle be simulated.
    #[arg(long, global = true)]
    today: Option<String>,
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Institutions that keep plans.
    #[command(subcommand)]
    Institution(InstitutionCmd),
    /// Integrity plans.
    #[command(subcommand)]
    Plan(PlanCmd),
    /// Check every plan's hash chain; names the first broken link.
    Verify,
    /// Jurisdiction packs: test, install, list.
    #[command(subcommand)]
    Pack(PackCmd),
    /// Back up the install to one file, or restore one into a new folder.
    #[command(flatten)]
    Backup(crate::backup_cmd::BackupCmd),
    /// Inspect or call a WebAssembly scoring plugin.
    #[command(subcommand)]
    Plugin(crate::plugin_cmd::PluginCmd),
    /// Check workflow definitions or whole packs; lists every problem.
    Lint {
        /// Workflow `.ron` files, pack folders, or folders of packs.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum PackCmd {
    /// Run a pack's scenario tests.
    Test {
        /// The pack folder.
        dir: PathBuf,
    },
    /// Validate a pack (folder or .tar.gz) and activate it in this install.
    Install {
        /// The pack folder or archive.
        source: PathBuf,
    },
    /// Pack versions available, and how many plans use each.
    List,
}

#[derive(Debug, Subcommand)]
enum InstitutionCmd {
    /// Register an institution.
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// The pack id of the law it falls under.
        #[arg(long)]
        jurisdiction: String,
        /// Kind of body (ministry, municipality, public enterprise...).
        #[arg(long, default_value = "")]
        kind: String,
        #[arg(long)]
        employees: Option<u32>,
        /// The institution this is an organisational unit of.
        #[arg(long)]
        parent: Option<String>,
    },
    /// List institutions.
    List,
}

#[derive(Debug, Subcommand)]
enum PlanCmd {
    /// Start a plan for an institution.
    New {
        #[arg(long)]
        institution: String,
        /// `pack/workflow`, or a workflow id unique across packs.
        #[arg(long)]
        workflow: String,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// List plans.
    List,
    /// Fire an event on a plan as someone in a role.
    Fire {
        plan: String,
        event: String,
        /// The role the actor acts in.
        #[arg(long = "as")]
        role: String,
        /// Form data as JSON (`{"form": {"field": value}}`), or `@file`.
        #[arg(long)]
        payload: Option<String>,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// State, next events for a role, due and overdue items.
    Show {
        plan: String,
        /// Show the next events this role may fire.
        #[arg(long = "as")]
        role: Option<String>,
    },
    /// The plan's event log.
    History { plan: String },
    /// Move a plan to a newer, compatible version of its pack.
    Migrate {
        plan: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Fill a plan from one of its pack's samples (fires the sample's event).
    Import {
        plan: String,
        sample: String,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Render one of the plan's documents as HTML.
    Document {
        plan: String,
        document: String,
        /// One of the pack's languages (default: the pack's first).
        #[arg(long)]
        lang: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs the CLI; never panics on user input.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr, quiet unless RUST_LOG asks (e.g. RUST_LOG=integritas=debug).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let json = cli.global.json;
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            if json {
                println!("{}", json!({ "error": { "message": format!("{error:#}") } }));
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(mut cli: Cli) -> Result<ExitCode> {
    let mut near: Vec<PathBuf> = vec![cli.global.packs.clone()];
    match &cli.command {
        Cmd::Lint { paths } => near.extend(paths.iter().cloned()),
        Cmd::Pack(PackCmd::Test { dir }) => near.push(dir.clone()),
        Cmd::Pack(PackCmd::Install { source }) => near.push(source.clone()),
        _ => {}
    }
    let near: Vec<&Path> = near.iter().map(PathBuf::as_path).collect();
    resolve_templates(&mut cli.global, &near);
    let g = &cli.global;
    // A bad --today is refused whatever the command, before anything runs.
    today(g)?;
    match cli.command {
        Cmd::Lint { paths } => lint(g, &paths),
        Cmd::Plugin(cmd) => crate::plugin_cmd::run(cmd, g.json),
        Cmd::Pack(cmd) => pack(g, cmd),
        Cmd::Verify => verify(g),
        Cmd::Backup(cmd) => crate::backup_cmd::run(cmd, &g.data, g.json),
        Cmd::Institution(cmd) => institution(g, cmd),
        Cmd::Plan(cmd) => plan(g, cmd),
    }
}

fn today(g: &Global) -> Result<Date> {
    match &g.today {
        Some(text) => Ok(text.parse()?),
        None => Ok(Date::today_utc()),
    }
}

/// Opens the store, the plugin host (with its compilation cache in the data
/// folder) and the packs. Packs with errors are left out, with a warning.
fn open_engine(g: &Global) -> Result<Engine> {
    let (engine, _) = open_engine_with_host(g)?;
    Ok(engine)
}

/// The engine and the plugin host it runs (for installing packs into it).
fn open_engine_with_host(g: &Global) -> Result<(Engine, Arc<PluginHost>)> {
    // The store's errors say whether the folder is busy or damaged, and what to do.
    let store = SledStore::open(&g.data)?;
    let config = HostConfig { cache_dir: Some(g.data.join("plugin-cache")), ..HostConfig::default() };
    let host = Arc::new(PluginHost::new(config)?);
    let loader = loader(g, &host);
    let (mut catalog, mut diagnostics) = loader.load_dir(&g.packs);
    diagnostics.extend(load_installed(&installed_packs(g), &loader, &mut catalog));
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        eprintln!("warning: a pack was not loaded: {d}");
    }
    Ok((Engine::new(Arc::new(store), catalog, host.clone()), host))
}

/// Where `pack install` keeps the versions it installed.
fn installed_packs(g: &Global) -> PathBuf {
    g.data.join("packs")
}

/// How packs are read: plugins into `host`, shared templates from `--templates`.
fn loader<'a>(g: &'a Global, host: &'a PluginHost) -> Loader<'a> {
    Loader { host: Some(host), templates: g.templates.as_deref() }
}

/// Fills in `--templates` when it was not given: `./templates`, else the
/// `templates/` folder of the nearest ancestor of `near` (a pack or packs
/// folder) that has one, so `lint .` works from inside a pack.
fn resolve_templates(g: &mut Global, near: &[&Path]) {
    if g.templates.is_some() {
        return;
    }
    let cwd = PathBuf::from("templates");
    let found = std::iter::once(cwd).chain(near.iter().flat_map(|p| {
        let absolute = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        absolute.ancestors().map(|a| a.join("templates")).collect::<Vec<_>>()
    }));
    g.templates = found.into_iter().find(|dir| dir.join("page.hbs").is_file());
}

fn print(g: &Global, value: Value, text: impl FnOnce() -> String) {
    if g.json {
        println!("{value}");
    } else {
        println!("{}", text());
    }
}

fn institution(g: &Global, cmd: InstitutionCmd) -> Result<ExitCode> {
    let engine = open_engine(g)?;
    match cmd {
        InstitutionCmd::Add { id, name, jurisdiction, kind, employees, parent } => {
            let inst = engine.add_institution(Institution { id, name, jurisdiction, kind, employees, parent })?;
            print(g, json!(inst), || format!("added institution {} ({})", inst.id, inst.name));
        }
        InstitutionCmd::List => {
            let all = engine.store().institutions()?;
            print(g, json!(all), || {
                all.iter()
                    .map(|i| format!("{}\t{}\t{}\t{}", i.id, i.jurisdiction, i.kind, i.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn plan(g: &Global, cmd: PlanCmd) -> Result<ExitCode> {
    let engine = open_engine(g)?;
    let today = today(g)?;
    match cmd {
        PlanCmd::New { institution, workflow, actor } => {
            let plan = engine.new_plan(&institution, &workflow, &actor, today)?;
            print(g, json!({"plan": plan.meta, "state": plan.state, "cycle": plan.cycle}), || {
                format!(
                    "started {} ({} for {}), cycle {} from {}, in `{}`",
                    plan.meta.id,
                    plan.meta.workflow,
                    plan.meta.institution,
                    plan.cycle.number,
                    plan.cycle.start,
                    plan.state
                )
            });
        }
        PlanCmd::List => {
            let plans = engine.plans()?;
            print(g, json!(plans), || {
                plans
                    .iter()
                    .map(|p| format!("{}\t{}\t{}@{}", p.id, p.institution, p.workflow, p.pack_version))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        PlanCmd::Fire { plan, event, role, payload, actor } => {
            let payload = match payload {
                Some(text) => read_payload(&text)?,
                None => Value::Null,
            };
            let command = Command { event, role, actor, payload, today };
            match engine.fire(&plan, &command) {
                Ok(fired) => print(g, json!({"event": fired.event, "state": fired.state}), || {
                    format!("{} #{}: {} → {}", plan, fired.event.seq, fired.event.from, fired.event.to)
                }),
                Err(EngineError::Refused(refusal)) => {
                    let value = json!({"refused": {"guard": refusal.guard(), "message": refusal.to_string(), "detail": refusal}});
                    if g.json {
                        println!("{value}");
                    } else {
                        eprintln!("refused ({} guard): {refusal}", refusal.guard());
                    }
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => return Err(e.into()),
            }
        }
        PlanCmd::Show { plan, role } => show(g, &engine, &plan, role.as_deref(), today)?,
        PlanCmd::Migrate { plan, to, actor } => {
            let to = semver::Version::parse(&to).with_context(|| format!("`{to}` is not a semver version"))?;
            let fired = engine.migrate(&plan, &to, &actor, today)?;
            print(g, json!({"event": fired.event, "state": fired.state}), || {
                format!("{plan} #{}: moved to version {to}", fired.event.seq)
            });
        }
        PlanCmd::Import { plan, sample, actor } => {
            let fired = engine.import_sample(&plan, &sample, &actor, today)?;
            print(g, json!({"event": fired.event, "state": fired.state}), || {
                format!(
                    "{plan} #{}: imported sample {sample} ({}), now in `{}`",
                    fired.event.seq, fired.event.event, fired.state
                )
            });
        }
        PlanCmd::Document { plan, document, lang, out } => {
            let html = engine.document(&plan, &document, lang.as_deref(), today)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => print!("{html}"),
            }
        }
        PlanCmd::History { plan } => {
            let events = engine.history(&plan)?;
            print(g, json!(events), || events.iter().map(history_line).collect::<Vec<_>>().join("\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_payload(text: &str) -> Result<Value> {
    let body = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read the payload file {path}"))?,
        None => text.to_string(),
    };
    serde_json::from_str(&body).context("the payload is not valid JSON")
}

fn history_line(e: &Event) -> String {
    let who = if e.role.is_empty() { e.actor.clone() } else { format!("{} as {}", e.actor, e.role) };
    let moved = if e.from == e.to { e.to.clone() } else { format!("{} → {}", e.from, e.to) };
    format!("#{:<4} {}  {:<22} {:<20} {}", e.seq, e.date, e.event, who, moved)
}

fn show(g: &Global, engine: &Engine, plan_id: &str, role: Option<&str>, today: Date) -> Result<()> {
    let plan = engine.plan(plan_id)?;
    let workflow = engine.workflow_of(&plan.meta)?;
    let due = engine.due(plan_id, today)?;
    let next = match role {
        Some(role) => engine.next_events(plan_id, role, today)?,
        None => Vec::new(),
    };
    let phase = workflow.state(&plan.state).and_then(|s| s.parent.clone());
    let value = json!({
        "plan": plan.meta, "state": plan.state, "phase": phase, "cycle": plan.cycle, "today": today,
        "next": next.iter().map(|(e, r)| json!({"event": e, "ready": r.is_none(), "refusal": r.as_ref().map(ToString::to_string)})).collect::<Vec<_>>(),
        "due": due, "data": plan.data, "scores": plan.scores, "documents": plan.documents,
    });
    print(g, value, || show_text(&plan, &workflow, role, &next, &due, today));
    Ok(())
}

fn show_text(
    plan: &Plan,
    workflow: &integritas_core::definition::Workflow,
    role: Option<&str>,
    next: &[(String, Option<integritas_core::executor::Refusal>)],
    due: &[DueItem],
    today: Date,
) -> String {
    let title = |id: &str| workflow.state(id).map(|s| s.title.clone()).filter(|t| !t.is_empty()).unwrap_or_default();
    let mut out = vec![
        format!("{}  {}  {}@{}", plan.meta.id, plan.meta.institution, plan.meta.workflow, plan.meta.pack_version),
        format!("cycle {} (from {})", plan.cycle.number, plan.cycle.start),
        format!("state: {} {}", plan.state, title(&plan.state)),
    ];
    if let Some(phase) = workflow.state(&plan.state).and_then(|s| s.parent.as_deref()) {
        out.push(format!("phase: {phase} {}", title(phase)));
    }
    if let Some(role) = role {
        out.push(format!("next for {role}:"));
        if next.is_empty() {
            out.push("  (nothing)".into());
        }
        for (event, refusal) in next {
            match refusal {
                None => out.push(format!("  {event}  ready")),
                Some(r) => out.push(format!("  {event}  not yet: {r}")),
            }
        }
    }
    out.push(format!("due at {today}:"));
    if due.is_empty() {
        out.push("  (nothing)".into());
    }
    for item in due {
        let when = match item.status {
            Status::Overdue { days_late } => format!("OVERDUE by {days_late} days"),
            Status::Upcoming { days_left: 0 } => "due today".into(),
            Status::Upcoming { days_left } => format!("in {days_left} days"),
            Status::Met { on, .. } => format!("met on {on}"),
        };
        out.push(format!("  {}  {:<16} {:<12} {} ({when})", item.due, item.deadline, item.who, item.what));
    }
    out.join("\n")
}

fn verify(g: &Global) -> Result<ExitCode> {
    let engine = open_engine(g)?;
    let (checked, broken) = engine.verify()?;
    let value = json!({"events_checked": checked, "broken": broken.iter().map(|b| json!({"plan": b.plan, "seq": b.seq, "reason": b.reason})).collect::<Vec<_>>()});
    print(g, value, || {
        let mut lines: Vec<String> = broken.iter().map(|b| format!("BROKEN {b}")).collect();
        lines.push(format!("{checked} events in intact chains; {} broken plan(s)", broken.len()));
        lines.join("\n")
    });
    Ok(if broken.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Lints each path: a workflow file, a pack folder, or a folder of packs.
fn lint(g: &Global, paths: &[PathBuf]) -> Result<ExitCode> {
    let json_out = g.json;
    let mut all: Vec<Diagnostic> = Vec::new();
    for path in paths {
        all.extend(lint_path(g, path)?);
    }
    let errors = all.iter().filter(|d| d.is_error()).count();
    let warnings = all.len() - errors;
    if json_out {
        println!("{}", json!({"errors": errors, "warnings": warnings, "diagnostics": all}));
    } else {
        for d in &all {
            println!("{d}");
        }
        println!("{errors} error(s), {warnings} warning(s)");
    }
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn lint_path(g: &Global, path: &Path) -> Result<Vec<Diagnostic>> {
    // A fresh host without a cache: lint compiles and self-tests every plugin.
    let host = PluginHost::new(HostConfig::default())?;
    if path.is_file() {
        if path.file_name().is_some_and(|n| n == "pack.ron") {
            return Ok(load_pack(path.parent().unwrap_or(Path::new(".")), &loader(g, &host)).1);
        }
        return Ok(load_workflow(path).1);
    }
    if path.join("pack.ron").is_file() {
        return Ok(load_pack(path, &loader(g, &host)).1);
    }
    if path.is_dir() {
        let (catalog, diagnostics) = loader(g, &host).load_dir(path);
        if catalog.all().next().is_none() && diagnostics.is_empty() {
            bail!("{} holds no pack (no pack.ron in it or in its sub-folders)", path.display());
        }
        return Ok(diagnostics);
    }
    bail!("{} does not exist", path.display())
}

fn pack(g: &Global, cmd: PackCmd) -> Result<ExitCode> {
    match cmd {
        PackCmd::Test { dir } => pack_test(g, &dir),
        PackCmd::Install { source } => pack_install(g, &source),
        PackCmd::List => pack_list(g),
    }
}

/// Runs every scenario of a pack; exit 1 when the pack does not load or a scenario fails.
fn pack_test(g: &Global, dir: &Path) -> Result<ExitCode> {
    let host = Arc::new(PluginHost::new(HostConfig::default())?);
    let (pack, diagnostics) = load_pack(dir, &loader(g, &host));
    let Some(pack) = pack else {
        for d in diagnostics.iter().filter(|d| d.is_error()) {
            eprintln!("{d}");
        }
        bail!("the pack in {} has errors; `integritas lint` lists them", dir.display());
    };
    let pack = Arc::new(pack);
    let reports: Vec<integritas_core::scenario::Report> = pack
        .scenarios
        .iter()
        .map(|(file, scenario)| integritas_core::scenario::run(&pack, host.clone(), file, scenario))
        .collect();
    let failed = reports.iter().filter(|r| !r.passed()).count();
    print(g, json!({"scenarios": reports, "failed": failed}), || {
        let mut lines = Vec::new();
        for r in &reports {
            let verdict = if r.passed() { "ok" } else { "FAILED" };
            lines.push(format!("{verdict:<7} {} ({}, {} steps)", r.name, r.file, r.steps));
            lines.extend(r.failures.iter().map(|f| format!("        {f}")));
        }
        lines.push(format!("{} passed, {failed} failed", reports.len() - failed));
        lines.join("\n")
    });
    Ok(if failed == 0 && !reports.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn pack_install(g: &Global, source: &Path) -> Result<ExitCode> {
    let (engine, host) = open_engine_with_host(g)?;
    let catalog = engine.catalog();
    match install(source, &installed_packs(g), &loader(g, &host), &catalog) {
        Ok(pack) => {
            let (id, version) = (pack.id().to_string(), pack.version().to_string());
            engine.add_pack(Arc::new(pack));
            print(g, json!({"installed": {"id": id, "version": version}}), || format!("installed {id} {version}"));
            Ok(ExitCode::SUCCESS)
        }
        Err(InstallError::Invalid(diagnostics)) => {
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            if g.json {
                println!(
                    "{}",
                    json!({"error": {"message": "the pack is invalid; nothing was installed", "diagnostics": diagnostics}})
                );
            } else {
                for d in &diagnostics {
                    eprintln!("{d}");
                }
                eprintln!("error: the pack is invalid ({errors} error(s)); nothing was installed");
            }
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

fn pack_list(g: &Global) -> Result<ExitCode> {
    let engine = open_engine(g)?;
    let counts = engine.plans_per_version()?;
    let rows: Vec<Value> = engine
        .catalog()
        .all()
        .map(|p| {
            let plans = counts.get(&(p.id().to_string(), p.version().to_string())).copied().unwrap_or(0);
            let title = p.manifest.title.get(p.source_language()).cloned().unwrap_or_default();
            json!({"id": p.id(), "version": p.version().to_string(), "title": title, "languages": p.manifest.languages, "plans": plans, "dir": p.dir})
        })
        .collect();
    print(g, json!(rows), || {
        rows.iter()
            .map(|r| {
                format!(
                    "{}\t{}\t{} plan(s)\t{}",
                    r["id"].as_str().unwrap_or(""),
                    r["version"].as_str().unwrap_or(""),
                    r["plans"],
                    r["title"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(ExitCode::SUCCESS)
}
