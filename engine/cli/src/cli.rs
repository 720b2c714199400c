//! The `integritas` command line: parses arguments, calls the engine and
//! prints for people (default) or scripts (`--json`, the wire types of
//! `integritas_core::wire`). No engine logic lives here.

mod versions_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::{Value, json};

use integritas_core::date::Date;
use integritas_core::diagnostic::Diagnostic;
use integritas_core::engine::Engine;
use integritas_core::error::EngineError;
use integritas_core::executor::Command;
use integritas_core::open::{OpenOptions, Opened, open};
use integritas_core::pack::{Catalog, Loader, Pack, load_pack, load_workflow};
use integritas_core::plugin::host::{HostConfig, PluginHost};
use integritas_core::store::{Event, Institution};
use integritas_core::wire::{
    DueView, ErrorBody, ErrorView, EventView, FiredView, NextEventView, NoticeView, PackDetail, PackSummary,
    PlanSummary, PlanView, VerifyView,
};

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
    #[arg(long, global = true, default_value = "./data", env = "INTEGRITAS_DATA")]
    data: PathBuf,
    /// Folder of the bundled jurisdiction packs.
    #[arg(long, global = true, default_value = "./jurisdictions", env = "INTEGRITAS_PACKS")]
    packs: PathBuf,
    /// Folder of the shared templates (page wrapper and partials); by
    /// default `./templates`, or the `templates/` beside the packs folder.
    #[arg(long, global = true, env = "INTEGRITAS_TEMPLATES")]
    templates: Option<PathBuf>,
    /// The date to act on (YYYY-MM-DD); defaults to today. Lets a cycle be
    /// simulated on a data folder no server holds.
    #[arg(long, global = true)]
    today: Option<String>,
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    json: bool,
    /// A language of the plan's pack (`sr-Latn`, `cnr`, `ro`, `en`…) for
    /// refusals, problems and next steps; English by default.
    #[arg(long, global = true)]
    lang: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve the JSON API (and later the pages) over HTTP on the data folder.
    /// On a fresh folder it creates the administrator `admin` and prints its
    /// one-time password (or takes it from INTEGRITAS_ADMIN_PASSWORD).
    Serve(ServeArgs),
    /// Institutions that keep plans.
    #[command(subcommand)]
    Institution(InstitutionCmd),
    /// Integrity plans.
    #[command(subcommand)]
    Plan(PlanCmd),
    /// Check every plan's hash chain; names the first broken link.
    Verify,
    /// Jurisdiction packs: show, test, install, list.
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
        /// An earlier version of the pack linted (a folder, a .tar.gz, or
        /// ID@VERSION): warn (W206) when the new version's number is
        /// smaller than its changes require.
        #[arg(long, value_name = "OLD")]
        against: Option<String>,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "INTEGRITAS_LISTEN")]
    listen: std::net::SocketAddr,
    /// Take the client's address for the sign-in rate limit from the last
    /// X-Forwarded-For entry (only behind a proxy that sets it).
    #[arg(long)]
    trust_forwarded_for: bool,
    /// Send the session cookie without `Secure` (plain HTTP beyond this
    /// machine; behind a TLS proxy leave this off).
    #[arg(long)]
    insecure_cookies: bool,
}

#[derive(Debug, Subcommand)]
enum PackCmd {
    /// What a pack offers: workflows, roles, events, forms with their JSON keys, documents, samples.
    Show {
        /// The pack id (e.g. from `pack list`).
        id: String,
        /// A version of it (default: the newest).
        #[arg(long)]
        version: Option<String>,
    },
    /// Run a pack's scenario tests.
    Test {
        /// The pack folder.
        dir: PathBuf,
    },
    /// Validate a pack (folder or .tar.gz) and activate it in this install.
    /// Its number is checked against the newest version of the pack below
    /// it: a warning (W206) when it is smaller than its changes require.
    Install {
        /// The pack folder or archive.
        source: PathBuf,
        /// Refuse, instead of warning, a version numbered too small for its changes.
        #[arg(long)]
        strict: bool,
    },
    /// What changed between two versions of a pack, each change classed
    /// patch, minor or major (rules: jurisdictions/README.md, Versions).
    Diff {
        /// The older version: a pack folder, a .tar.gz, or ID@VERSION.
        old: String,
        /// The newer version, the same way.
        new: String,
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
        /// IANA time zone of its acts (e.g. Europe/Vienna); default: its pack's.
        #[arg(long)]
        timezone: Option<String>,
    },
    /// List institutions.
    List,
}

#[derive(Debug, Subcommand)]
enum PlanCmd {
    /// Start a plan for an institution, from a workflow or from a pack's sample.
    New {
        #[arg(long)]
        institution: String,
        /// `pack/workflow`, or a workflow id unique across packs.
        #[arg(long, required_unless_present = "sample", conflicts_with = "sample")]
        workflow: Option<String>,
        /// A sample of the institution's pack (`pack show ID` lists them):
        /// the plan starts on its workflow, filled with its data.
        #[arg(long)]
        sample: Option<String>,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// List plans.
    List {
        /// Only the plans of this institution.
        #[arg(long)]
        institution: Option<String>,
    },
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
    History {
        plan: String,
        /// First event number shown (1 is the plan's creation).
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Most events shown.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Move a plan to a newer, compatible version of its pack.
    Migrate {
        plan: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "cli")]
        actor: String,
        /// Record nothing: show what the move would change for the plan
        /// (its state, data that no longer fits, every score before and after).
        #[arg(long)]
        dry_run: bool,
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

/// An error the CLI prints: by meaning when it comes from the engine.
enum Failure {
    Engine(EngineError),
    /// An engine error already put in the user's language.
    View(Box<ErrorView>),
    Other(anyhow::Error),
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure::Engine(e)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

type Outcome = std::result::Result<ExitCode, Failure>;

/// Runs the CLI; never panics on user input.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr, quiet unless RUST_LOG asks (e.g. RUST_LOG=integritas_core=debug).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let json = cli.global.json;
    match run(cli) {
        Ok(code) => code,
        Err(failure) => {
            report(&failure, json);
            ExitCode::FAILURE
        }
    }
}

/// Prints an error: a JSON body on stdout with `--json`, sentences on stderr otherwise.
fn report(failure: &Failure, json: bool) {
    let view = match failure {
        Failure::Engine(e) => ErrorView::from(e),
        Failure::View(view) => (**view).clone(),
        Failure::Other(e) => ErrorView::new("invalid", format!("{e:#}")),
    };
    if json {
        println!("{}", serde_json::to_string(&ErrorBody { error: view }).unwrap_or_default());
        return;
    }
    match &view.guard {
        Some(guard) => eprintln!("refused ({guard} guard): {}", view.message),
        None => eprintln!("error: {}", view.message),
    }
    // Each problem once more, by its field, when the sentence listed several.
    if view.problems.len() > 1 || view.guard.is_some() {
        for p in &view.problems {
            eprintln!("  at {}: {}", if p.path.is_empty() { "(the data)" } else { &p.path }, p.message);
        }
    }
}

fn run(mut cli: Cli) -> Outcome {
    let mut near: Vec<PathBuf> = vec![cli.global.packs.clone()];
    match &cli.command {
        Cmd::Lint { paths, .. } => near.extend(paths.iter().cloned()),
        Cmd::Pack(PackCmd::Test { dir }) => near.push(dir.clone()),
        Cmd::Pack(PackCmd::Install { source, .. }) => near.push(source.clone()),
        Cmd::Pack(PackCmd::Diff { old, new }) => near.extend([PathBuf::from(old), PathBuf::from(new)]),
        _ => {}
    }
    let near: Vec<&Path> = near.iter().map(PathBuf::as_path).collect();
    resolve_templates(&mut cli.global, &near);
    let g = &cli.global;
    // A bad --today is refused whatever the command, before anything runs.
    today(g)?;
    if let Some(holder) = held(g, &cli.command) {
        return match cli.command {
            Cmd::Verify => verify_through(g, &holder),
            Cmd::Backup(crate::backup_cmd::BackupCmd::Backup { out }) => backup_through(g, &holder, &out),
            _ => Err(anyhow::anyhow!(
                "a server (pid {}) holds the data folder {}; use the API at {} (integritas verify and integritas backup work through it)",
                holder.pid,
                g.data.display(),
                holder.base_url()
            )
            .into()),
        };
    }
    match cli.command {
        Cmd::Serve(args) => serve(g, args),
        Cmd::Lint { paths, against } => lint(g, &paths, against.as_deref()),
        Cmd::Plugin(cmd) => Ok(crate::plugin_cmd::run(cmd, g.json)?),
        Cmd::Pack(cmd) => pack(g, cmd),
        Cmd::Verify => verify(g),
        Cmd::Backup(cmd) => Ok(crate::backup_cmd::run(cmd, &g.data, g.json)?),
        Cmd::Institution(cmd) => institution(g, cmd),
        Cmd::Plan(cmd) => plan(g, cmd),
    }
}

/// The server holding the data folder, when the command would touch it.
fn held(g: &Global, command: &Cmd) -> Option<integritas_server::holder::Holder> {
    let touches = match command {
        Cmd::Lint { .. } | Cmd::Plugin(_) | Cmd::Pack(PackCmd::Test { .. }) => false,
        Cmd::Pack(PackCmd::Show { .. } | PackCmd::List) => g.data.exists(),
        _ => true,
    };
    touches.then(|| integritas_server::holder::running(&g.data)).flatten()
}

/// `integritas serve`: the date of every act is the server's, so `--today` is refused.
fn serve(g: &Global, args: ServeArgs) -> Outcome {
    if g.today.is_some() {
        return Err(anyhow::anyhow!(
            "--today simulates a date on a data folder no server holds; a server takes the date of every act from its clock"
        )
        .into());
    }
    let config = integritas_server::ServerConfig {
        trust_forwarded_for: args.trust_forwarded_for,
        secure_cookies: !args.insecure_cookies,
        ..Default::default()
    };
    integritas_server::serve(integritas_server::ServeOptions {
        listen: args.listen,
        data: g.data.clone(),
        packs: Some(g.packs.clone()),
        templates: g.templates.clone(),
        config,
        admin_password: std::env::var(integritas_server::ADMIN_PASSWORD_ENV).ok(),
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// `integritas verify` while a server holds the folder: asks the server,
/// with the local administrator token it left for this machine's owner.
fn verify_through(g: &Global, holder: &integritas_server::holder::Holder) -> Outcome {
    let token = integritas_server::holder::local_token(&g.data)
        .with_context(|| format!("cannot read the server's local token in {}", g.data.display()))?;
    let auth = format!("Bearer {token}");
    let response = integritas_server::client::request(
        &holder.connect_address(),
        "POST",
        "/api/v1/admin/verify",
        &[("Authorization", &auth)],
        b"",
    )
    .with_context(|| format!("cannot reach the server at {}", holder.base_url()))?;
    if response.status != 200 {
        return Err(anyhow::anyhow!("the server answered {}: {}", response.status, response.text()).into());
    }
    let view: Value = serde_json::from_slice(&response.body).context("the server's answer is not JSON")?;
    let broken = view["broken"].as_array().cloned().unwrap_or_default();
    print(g, &view, || {
        let mut lines: Vec<String> = broken
            .iter()
            .map(|b| {
                format!(
                    "BROKEN plan {}: event {}: {}",
                    b["plan"].as_str().unwrap_or(""),
                    b["seq"],
                    b["reason"].as_str().unwrap_or("")
                )
            })
            .collect();
        lines.push(format!(
            "{} events in intact chains; {} broken plan(s) (checked by the server, pid {})",
            view["events_checked"],
            broken.len(),
            holder.pid
        ));
        lines.join("\n")
    });
    Ok(if broken.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `integritas backup` while a server holds the folder: the server writes
/// a consistent backup while it serves, and it is written here as a file.
fn backup_through(g: &Global, holder: &integritas_server::holder::Holder, out: &Path) -> Outcome {
    let token = integritas_server::holder::local_token(&g.data)
        .with_context(|| format!("cannot read the server's local token in {}", g.data.display()))?;
    let auth = format!("Bearer {token}");
    let response = integritas_server::client::request(
        &holder.connect_address(),
        "POST",
        "/api/v1/admin/backup",
        &[("Authorization", &auth)],
        b"",
    )
    .with_context(|| format!("cannot reach the server at {}", holder.base_url()))?;
    if response.status != 200 {
        return Err(anyhow::anyhow!("the server answered {}: {}", response.status, response.text()).into());
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot create a file in {}", dir.display()))?;
    std::io::Write::write_all(&mut file, &response.body)
        .and_then(|()| file.as_file().sync_all())
        .context("cannot write the backup")?;
    file.persist(out).with_context(|| format!("cannot write {}", out.display()))?;
    let sha256 = response.header("x-backup-sha256").unwrap_or("").to_string();
    let counts: Value = serde_json::from_str(response.header("x-backup-counts").unwrap_or("{}")).unwrap_or_default();
    let value = json!({"backup": {"path": out, "counts": counts, "sha256": sha256, "server_pid": holder.pid}});
    print(g, &value, || {
        format!(
            "backed up {} institution(s), {} plan(s), {} event(s), {} pack file(s) (sha256 {}) to {} through the server (pid {})",
            counts["institutions"],
            counts["plans"],
            counts["events"],
            counts["pack_files"],
            &sha256[..12.min(sha256.len())],
            out.display(),
            holder.pid
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn today(g: &Global) -> Result<Date> {
    match &g.today {
        Some(text) => Ok(text.parse()?),
        None => Ok(Date::today_utc()),
    }
}

/// Opens the install. `create` only for commands that record something:
/// one that only reads never leaves an empty store behind.
fn open_engine(g: &Global, create: bool) -> std::result::Result<Engine, EngineError> {
    let options =
        OpenOptions { data: g.data.clone(), packs: Some(g.packs.clone()), templates: g.templates.clone(), create };
    let Opened { engine, diagnostics } = open(&options)?;
    for d in &diagnostics {
        eprintln!("warning: a pack was not loaded: {d}");
    }
    Ok(engine)
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

/// Prints a wire value as JSON, or text for people.
fn print<T: Serialize>(g: &Global, value: &T, text: impl FnOnce() -> String) {
    if g.json {
        println!("{}", serde_json::to_string(value).unwrap_or_default());
    } else {
        println!("{}", text());
    }
}

fn institution(g: &Global, cmd: InstitutionCmd) -> Outcome {
    match cmd {
        InstitutionCmd::Add { id, name, jurisdiction, kind, employees, parent, timezone } => {
            let engine = open_engine(g, true)?;
            let inst =
                engine.add_institution(Institution { id, name, jurisdiction, kind, employees, parent, timezone })?;
            print(g, &inst, || format!("added institution {} ({})", inst.id, inst.name));
        }
        InstitutionCmd::List => {
            let engine = open_engine(g, false)?;
            let all = engine.institutions()?;
            print(g, &all, || {
                if all.is_empty() {
                    return "(no institutions yet; add one with `integritas institution add`)".into();
                }
                all.iter()
                    .map(|i| format!("{}\t{}\t{}\t{}", i.id, i.jurisdiction, i.kind, i.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn plan(g: &Global, cmd: PlanCmd) -> Outcome {
    let today = today(g)?;
    match cmd {
        PlanCmd::New { institution, workflow, sample, actor } => {
            let engine = open_engine(g, true)?;
            let (plan, imported) = match (workflow, sample) {
                (_, Some(sample)) => {
                    let (plan, fired) = engine.new_plan_from_sample(&institution, &sample, &actor, today)?;
                    (plan, Some((sample, fired)))
                }
                (Some(workflow), None) => (engine.new_plan(&institution, &workflow, &actor, today)?, None),
                (None, None) => return Err(anyhow::anyhow!("give --workflow or --sample").into()),
            };
            let summary = PlanSummary::from(&plan.meta);
            let notices = NoticeView::all(&plan);
            let value = json!({"plan": summary, "state": plan.state, "cycle": {"number": plan.cycle.number, "start": plan.cycle.start},
                "obliged": plan.obliged, "notices": notices});
            print(g, &value, || {
                let mut text = format!(
                    "started {} ({} for {}), cycle {} from {}, in `{}`",
                    plan.meta.id,
                    plan.meta.workflow,
                    plan.meta.institution,
                    plan.cycle.number,
                    plan.cycle.start,
                    plan.state
                );
                for notice in &notices {
                    text.push_str(&format!("\nnotice: {}", notice.message));
                }
                if let Some((sample, fired)) = &imported {
                    text.push_str(&format!("\nimported sample {sample} ({}, #{})", fired.event.event, fired.event.seq));
                }
                text
            });
        }
        PlanCmd::List { institution } => {
            let engine = open_engine(g, false)?;
            if let Some(id) = &institution {
                engine.institution(id)?;
            }
            let plans: Vec<PlanSummary> = engine
                .plans()?
                .iter()
                .filter(|p| institution.as_ref().is_none_or(|i| &p.institution == i))
                .map(PlanSummary::from)
                .collect();
            print(g, &plans, || {
                if plans.is_empty() {
                    return "(no plans yet; start one with `integritas plan new`)".into();
                }
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
            let engine = open_engine(g, true)?;
            let command = Command { event, role, actor, payload, today };
            if engine.is_anonymous(&plan, &command.event)? {
                // On a data folder no server holds there are no accounts: no ballot.
                let answered = engine.answer(&plan, &command, None)?;
                let value =
                    json!({"answered": {"event": answered.event, "cycle": answered.cycle, "month": answered.month}});
                print(g, &value, || {
                    format!("{plan}: anonymous answer recorded (cycle {}, {})", answered.cycle, answered.month)
                });
                return Ok(ExitCode::SUCCESS);
            }
            let fired = engine.fire(&plan, &command).map_err(|e| in_language(g, &engine, &plan, e))?;
            let view = FiredView { event: EventView::from(&fired.event), state: fired.state.clone() };
            print(g, &view, || format!("{} #{}: {} → {}", plan, fired.event.seq, fired.event.from, fired.event.to));
        }
        PlanCmd::Show { plan, role } => show(g, &open_engine(g, false)?, &plan, role.as_deref(), today)?,
        PlanCmd::Migrate { plan, to, actor, dry_run } => {
            let to = semver::Version::parse(&to).with_context(|| format!("`{to}` is not a semver version"))?;
            if dry_run {
                return versions_cmd::migrate_dry_run(g, &open_engine(g, false)?, &plan, &to);
            }
            let engine = open_engine(g, true)?;
            let fired = engine.migrate(&plan, &to, &actor, today)?;
            let view = FiredView { event: EventView::from(&fired.event), state: fired.state.clone() };
            print(g, &view, || format!("{plan} #{}: moved to version {to}", fired.event.seq));
        }
        PlanCmd::Import { plan, sample, actor } => {
            let engine = open_engine(g, true)?;
            let fired = engine.import_sample(&plan, &sample, &actor, today)?;
            let view = FiredView { event: EventView::from(&fired.event), state: fired.state.clone() };
            print(g, &view, || {
                format!(
                    "{plan} #{}: imported sample {sample} ({}), now in `{}`",
                    fired.event.seq, fired.event.event, fired.state
                )
            });
        }
        PlanCmd::Document { plan, document, lang, out } => {
            let html = open_engine(g, false)?.document(&plan, &document, lang.as_deref(), today)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => print!("{html}"),
            }
        }
        PlanCmd::History { plan, from, limit } => {
            let events = open_engine(g, false)?.history(&plan, from, limit)?;
            let views: Vec<EventView> = events.iter().map(EventView::from).collect();
            print(g, &views, || events.iter().map(history_line).collect::<Vec<_>>().join("\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An engine error in the `--lang` language of the plan's pack, when one was asked for.
fn in_language(g: &Global, engine: &Engine, plan: &str, e: EngineError) -> Failure {
    let Some(lang) = &g.lang else { return Failure::Engine(e) };
    match engine.plan(plan).and_then(|p| engine.pack_of(&p.meta)) {
        Ok(pack) => Failure::View(Box::new(ErrorView::localized(&e, &pack.translator(lang)))),
        Err(_) => Failure::Engine(e),
    }
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

fn show(g: &Global, engine: &Engine, plan_id: &str, role: Option<&str>, today: Date) -> Result<(), EngineError> {
    let plan = engine.plan(plan_id)?;
    let workflow = engine.workflow_of(&plan.meta)?;
    let pack = engine.pack_of(&plan.meta)?;
    let due = engine.due(plan_id, today)?;
    let next = match role {
        Some(role) => {
            engine.next_events(plan_id, role, today)?.iter().map(|n| NextEventView::new(n, &workflow)).collect()
        }
        None => Vec::new(),
    };
    let view = PlanView::new(&plan, &workflow, &pack, today, next, &due);
    print(g, &view, || show_text(&view, role));
    Ok(())
}

fn show_text(view: &PlanView, role: Option<&str>) -> String {
    let p = &view.plan;
    let mut out = vec![
        format!("{}  {}  {}@{}", p.id, p.institution, p.workflow, p.pack_version),
        format!("cycle {} (from {})", view.cycle.number, view.cycle.start),
        format!("state: {} {}", view.state, view.state_title),
    ];
    if let (Some(phase), Some(title)) = (&view.phase, &view.phase_title) {
        out.push(format!("phase: {phase} {title}"));
    }
    match view.obliged {
        Some(true) => out.push("obliged by the law: yes".into()),
        Some(false) => out.push("obliged by the law: NO".into()),
        None => {}
    }
    for notice in &view.notices {
        out.push(format!("notice ({}): {}", notice.date, notice.message));
    }
    if let Some(role) = role {
        out.push(format!("next for {role}:"));
        if view.next.is_empty() {
            out.push("  (nothing)".into());
        }
        for n in &view.next {
            match &n.refusal {
                None => out.push(format!("  {}  ready", n.event)),
                Some(r) => out.push(format!("  {}  not yet: {r}", n.event)),
            }
        }
    }
    out.push(format!("due at {}:", view.today));
    if view.due.is_empty() {
        out.push(if view.finished { "  (nothing: the plan is closed)".into() } else { "  (nothing)".into() });
    }
    for item in &view.due {
        let basis = if item.basis.is_empty() { String::new() } else { format!(" [{}]", item.basis) };
        out.push(format!(
            "  {}  {:<16} {:<12} {} ({}){basis}",
            item.due,
            item.deadline,
            item.who,
            item.what,
            due_words(item)
        ));
    }
    out.join("\n")
}

fn due_words(item: &DueView) -> String {
    match (item.status, item.days_left, item.days_late, item.on) {
        ("overdue", _, Some(days), _) => format!("OVERDUE by {days} days"),
        ("upcoming", Some(0), _, _) => "due today".into(),
        ("upcoming", Some(days), _, _) => format!("in {days} days"),
        (_, _, _, Some(on)) => format!("met on {on}"),
        _ => item.status.to_string(),
    }
}

fn verify(g: &Global) -> Outcome {
    let engine = open_engine(g, false)?;
    let (checked, broken) = engine.verify()?;
    let view = VerifyView { events_checked: checked, broken: broken.iter().map(Into::into).collect() };
    print(g, &view, || {
        let mut lines: Vec<String> = broken.iter().map(|b| format!("BROKEN {b}")).collect();
        lines.push(format!("{checked} events in intact chains; {} broken plan(s)", broken.len()));
        lines.join("\n")
    });
    Ok(if broken.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Lints each path: a workflow file, a pack folder, or a folder of packs;
/// with `against`, each pack of that id is compared with it (W206).
fn lint(g: &Global, paths: &[PathBuf], against: Option<&str>) -> Outcome {
    let mut all: Vec<Diagnostic> = Vec::new();
    let mut packs: Vec<Arc<Pack>> = Vec::new();
    for path in paths {
        let (found, loaded) = lint_path(g, path)?;
        all.extend(found);
        packs.extend(loaded);
    }
    if let Some(against) = against {
        all.extend(versions_cmd::lint_against(g, against, &packs)?);
    }
    let errors = all.iter().filter(|d| d.is_error()).count();
    let warnings = all.len() - errors;
    if g.json {
        println!("{}", json!({"errors": errors, "warnings": warnings, "diagnostics": all}));
    } else {
        for d in &all {
            println!("{}", d.render());
        }
        println!("{errors} error(s), {warnings} warning(s)");
    }
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// What linting one path found, and the packs that loaded.
type Linted = (Vec<Diagnostic>, Vec<Arc<Pack>>);

fn lint_path(g: &Global, path: &Path) -> Result<Linted> {
    // A fresh host without a cache: lint compiles and self-tests every plugin.
    let host = PluginHost::new(HostConfig::default())?;
    let loader = Loader { host: Some(&host), templates: g.templates.as_deref() };
    let one = |dir: &Path| {
        let (pack, diagnostics) = load_pack(dir, &loader);
        (diagnostics, pack.map(Arc::new).into_iter().collect())
    };
    if path.is_file() {
        if path.file_name().is_some_and(|n| n == "pack.ron") {
            return Ok(one(path.parent().unwrap_or(Path::new("."))));
        }
        return Ok((load_workflow(path).1, Vec::new()));
    }
    if path.join("pack.ron").is_file() {
        return Ok(one(path));
    }
    if path.is_dir() {
        let (catalog, diagnostics) = loader.load_dir(path);
        if catalog.all().next().is_none() && diagnostics.is_empty() {
            bail!("{} holds no pack (no pack.ron in it or in its sub-folders)", path.display());
        }
        return Ok((diagnostics, catalog.all().cloned().collect()));
    }
    bail!("{} does not exist", path.display())
}

fn pack(g: &Global, cmd: PackCmd) -> Outcome {
    match cmd {
        PackCmd::Show { id, version } => pack_show(g, &id, version.as_deref()),
        PackCmd::Test { dir } => Ok(pack_test(g, &dir)?),
        PackCmd::Install { source, strict } => versions_cmd::pack_install(g, &source, strict),
        PackCmd::Diff { old, new } => versions_cmd::pack_diff(g, &old, &new),
        PackCmd::List => pack_list(g),
    }
}

/// The packs and how many plans use each version. Without a data folder
/// (nothing recorded yet) the bundled packs are read without touching the
/// disk: a command that only reads never creates a store.
fn catalog_and_counts(g: &Global) -> std::result::Result<(Arc<Catalog>, PlanCounts), EngineError> {
    if g.data.exists() {
        let engine = open_engine(g, false)?;
        return Ok((engine.catalog(), engine.plans_per_version()?));
    }
    let (catalog, diagnostics) = Loader { host: None, templates: g.templates.as_deref() }.load_dir(&g.packs);
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        eprintln!("warning: a pack was not loaded: {d}");
    }
    Ok((Arc::new(catalog), PlanCounts::new()))
}

type PlanCounts = std::collections::HashMap<(String, String), usize>;

fn pack_show(g: &Global, id: &str, version: Option<&str>) -> Outcome {
    let (catalog, counts) = catalog_and_counts(g)?;
    let version = version.map(semver::Version::parse).transpose().context("--version is not a semver version")?;
    let pack = catalog.pack(id, version.as_ref()).ok_or_else(|| {
        let known = match &version {
            Some(_) => catalog.all().filter(|p| p.id() == id).map(|p| format!("{id} {}", p.version())).collect(),
            None => catalog.ids(),
        };
        EngineError::not_found("pack", id, known)
    })?;
    let plans = counts.get(&(pack.id().to_string(), pack.version().to_string())).copied();
    let detail = PackDetail::new(pack, plans.unwrap_or(0));
    print(g, &detail, || pack_text(&detail));
    Ok(ExitCode::SUCCESS)
}

fn pack_text(d: &PackDetail) -> String {
    let s = &d.summary;
    let mut out = vec![
        format!("{} {} — {}", s.id, s.version, s.title),
        format!("languages: {}   plans on this version: {}", s.languages.join(", "), s.plans),
    ];
    for w in &d.workflows {
        out.push(format!("\nworkflow {}/{} — {}", s.id, w.id, w.title));
        out.push(format!(
            "  roles: {}",
            w.roles.iter().map(|r| format!("{} ({})", r.id, r.title)).collect::<Vec<_>>().join(", ")
        ));
        out.push(format!("  starts in: {}", w.initial));
        out.push("  events (who may fire them; the forms their --payload fills):".into());
        for e in &w.events {
            let fills = if e.fills.is_empty() { String::new() } else { format!("  fills {}", e.fills.join(", ")) };
            out.push(format!("    {:<24} as {}{fills}", e.id, e.roles.join("|")));
        }
        out.push("  forms (JSON keys of a payload: {\"form\": {\"field\": value}}):".into());
        for f in &w.forms {
            out.push(format!("    {} — {}", f.id, f.title));
            for field in &f.fields {
                let req = if field.required { " required" } else { "" };
                out.push(format!("      {:<40} {}{req}  {}", field.key, field.kind, field.title));
                for c in &field.columns {
                    let req = if c.required { " required" } else { "" };
                    out.push(format!("        {:<38} {}{req}  {}", c.key, c.kind, c.title));
                }
            }
        }
    }
    out.push("\ndocuments:".into());
    out.extend(d.documents.iter().map(|doc| format!("  {:<28} {}", doc.id, doc.title)));
    out.push("samples (start a plan with `integritas plan new --institution ID --sample SAMPLE`):".into());
    if d.samples.is_empty() {
        out.push("  (none)".into());
    }
    out.extend(
        d.samples.iter().map(|x| format!("  {:<20} workflow {}, event {} as {}", x.id, x.workflow, x.event, x.role)),
    );
    out.join("\n")
}

/// Runs every scenario of a pack; exit 1 when the pack does not load or a scenario fails.
fn pack_test(g: &Global, dir: &Path) -> Result<ExitCode> {
    let host = Arc::new(PluginHost::new(HostConfig::default())?);
    let (pack, diagnostics) = load_pack(dir, &Loader { host: Some(&host), templates: g.templates.as_deref() });
    let Some(pack) = pack else {
        for d in diagnostics.iter().filter(|d| d.is_error()) {
            eprintln!("{}", d.render());
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
    print(g, &json!({"scenarios": reports, "failed": failed}), || {
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

fn pack_list(g: &Global) -> Outcome {
    let (catalog, counts) = catalog_and_counts(g)?;
    let rows: Vec<PackSummary> = catalog
        .all()
        .map(|p| PackSummary::new(p, counts.get(&(p.id().to_string(), p.version().to_string())).copied().unwrap_or(0)))
        .collect();
    print(g, &rows, || {
        rows.iter()
            .map(|r| format!("{}\t{}\t{} plan(s)\t{}", r.id, r.version, r.plans, r.title))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(ExitCode::SUCCESS)
}
