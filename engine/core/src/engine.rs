//! The engine facade the CLI and the HTTP server drive: institutions,
//! plans, firing events, deadlines, documents, packs and verification, over
//! one [`Store`]. One `Engine` is shared by every request (`Engine: Send +
//! Sync`; wrap it in an `Arc`).
//!
//! Architecture invariants:
//! - An event is acknowledged (`fire` returns `Ok`) only after the store
//!   made it durable, and a plan's projection changes only after that.
//! - Events of one plan are decided one at a time (a lock per plan);
//!   different plans proceed in parallel and share the store's flushes.
//! - Reading the pack catalog takes a snapshot (an `Arc`), never a lock a
//!   caller could hold; installing a pack swaps in a new catalog.
//! - Projections are cached in a bounded cache (least recently used
//!   plans leave it first) and rebuilt from the log when needed.
//!
//! # Calls that block
//! These wait on other threads or on the disk; an async caller (the HTTP
//! server) runs them on a blocking thread (`tokio::task::spawn_blocking`):
//! - every write ([`Engine::fire`], [`Engine::answer`], [`Engine::new_plan`],
//!   [`Engine::add_institution`], [`Engine::migrate`], [`Engine::import_sample`]):
//!   the store's group commit waits for a flush and `fdatasync`;
//! - every call naming a plan: on a cache miss it replays the plan's log
//!   from the store, and a write waits for the plan's earlier writes
//!   (reads never wait for writes; [`Engine::cached_plan`] never blocks);
//! - calls that run plugins (`fire` with a `Score` action or a plugin guard,
//!   [`Engine::next_events`] with a plugin guard): a plugin slot may be busy;
//! - [`Engine::verify`], [`Engine::document`], [`Engine::install_pack`]: they
//!   read the whole store, render templates or compile plugins.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::date::{Date, now_rfc3339};
use crate::deadline::{self, DueItem};
use crate::definition::Workflow;
use crate::error::{EngineError, NotFound, Problem};
use crate::executor::{self, Command, Facts, Mode, Refusal};
use crate::guard;
use crate::message::Message;
use crate::pack::{
    Catalog, InstallError, Loader, Pack, ScenarioRunner, VersionCheck, VersionReport, install_checked, plugin_key,
};
use crate::page::PageSetup;
use crate::plugin::host::PluginHost;
use crate::plugin::{PluginError, PluginOutput, PluginRunner};
use crate::projection::Plan;
use crate::store::{BrokenLink, Effect, Event, Institution, PlanMeta, RecordWrite, Store, StoreError, hash_hex};
use crate::summary::{PlanSummary, SUMMARIES, SUMMARIES_CLOSED};

mod preview;

pub use preview::{MigrationPreview, ScoreComparison, ScoreRun, ScoreValue, StateMapping, StateShape};

/// The system event that opens a plan's log.
pub const CREATED: &str = "@created";

/// The system event that moves a plan to another pack version.
pub const MIGRATED: &str = "@migrated";

/// Plans whose projections stay in memory by default: a plan of a few
/// hundred risks is tens of KiB, so 4,096 bound the cache to a few hundred
/// MiB at worst while every plan in use at once stays warm.
pub const PLAN_CACHE_CAPACITY: usize = 4_096;

/// Keyed-record kind of anonymous answers: `plan NUL cycle NUL random id`.
pub const ANSWERS: &str = "answers";
/// Keyed-record kind of the one-way tokens of people who answered:
/// `plan NUL cycle NUL token`. Nothing links a token to an answer.
pub const BALLOTS: &str = "ballots";
/// Keyed-record kind of the running commitment of a cycle's answers.
pub const ANSWER_COMMITMENTS: &str = "answer_commitments";

/// Times `fire` decides again when another writer appended first.
const CONFLICT_RETRIES: usize = 3;

/// What a successful `fire` recorded.
#[derive(Debug, Clone)]
pub struct Fired {
    pub event: Event,
    /// The plan's state after the event.
    pub state: String,
}

/// What recording an anonymous answer kept: nothing that names its author.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub event: String,
    /// The cycle the answer counts in (one answer per person and cycle).
    pub cycle: u32,
    /// The month it counts in (`YYYY-MM`): no finer time is kept.
    pub month: String,
}

/// An anonymous answer as stored, under a random key: the event, the month
/// and the data, and nothing else (no actor, no role, no time of day).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAnswer {
    event: String,
    month: String,
    payload: Value,
}

/// The order-free commitment to a set of answers: how many, and the XOR of
/// the sha256 of each answer's stored bytes (hex).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Commitment {
    count: u64,
    digest: String,
}

impl Commitment {
    fn add(&mut self, bytes: &[u8]) {
        let mut acc = [0u8; 32];
        if let Some(current) = decode_hex32(&self.digest) {
            acc = current;
        }
        for (a, b) in acc.iter_mut().zip(Sha256::digest(bytes)) {
            *a ^= b;
        }
        self.count += 1;
        self.digest = acc.iter().map(|b| format!("{b:02x}")).collect();
    }

    fn of<'a>(answers: impl IntoIterator<Item = &'a [u8]>) -> Commitment {
        let mut c = Commitment { count: 0, digest: "00".repeat(32) };
        for bytes in answers {
            c.add(bytes);
        }
        c
    }
}

fn decode_hex32(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The prefix of a plan's answers (or ballots, or commitment) in a cycle.
fn answer_prefix(plan: &str, cycle: u32) -> String {
    format!("{plan}\u{0}{cycle:010}\u{0}")
}

/// A random 128-bit id in hex: answers are keyed by it so that their order
/// in the store says nothing about the order they came in.
fn random_id() -> Result<String, EngineError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| internal(format!("no randomness from the system: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// An event a role may fire now, or why not yet.
#[derive(Debug, Clone, PartialEq)]
pub struct NextEvent {
    pub event: String,
    /// `None` when the event would pass with the data the plan has.
    pub refusal: Option<Refusal>,
}

/// Where `pack install` puts pack versions and how it reads them.
pub struct PackInstaller {
    /// The plugin host packs' plugins are compiled into.
    pub host: Arc<PluginHost>,
    /// `<data>/packs`: installed versions, `<id>/<version>/`.
    pub installed: PathBuf,
    /// The shared `templates/` folder packs are checked against.
    pub templates: Option<PathBuf>,
    /// Runs a pack's scenarios before it is accepted.
    pub scenarios: Arc<ScenarioRunner>,
}

/// The engine over a store, a pack catalog and a plugin runner.
pub struct Engine {
    store: Arc<dyn Store>,
    catalog: RwLock<Arc<Catalog>>,
    plugins: Arc<dyn PluginRunner>,
    cache: PlanCache,
    installer: Option<PackInstaller>,
    /// Every plan's summary by id, once [`Engine::summaries`] loaded them;
    /// writers update it (and the stored copy) after each event.
    summaries: Mutex<Option<HashMap<String, Arc<PlanSummary>>>>,
    /// Writes whose summary is not kept yet (or failed to be): while any
    /// is, closing does not vouch for the stored summaries.
    unsummarized: AtomicU64,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, catalog: Catalog, plugins: Arc<dyn PluginRunner>) -> Engine {
        Engine {
            store,
            catalog: RwLock::new(Arc::new(catalog)),
            plugins,
            cache: PlanCache::new(PLAN_CACHE_CAPACITY),
            installer: None,
            summaries: Mutex::new(None),
            unsummarized: AtomicU64::new(0),
        }
    }

    /// The store under the engine, for the records a server keeps beside
    /// the plans (accounts, sessions, the security log).
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Lets this engine install pack versions at run time.
    pub fn with_installer(mut self, installer: PackInstaller) -> Engine {
        self.installer = Some(installer);
        self
    }

    /// Bounds the plan cache to `capacity` plans (at least one).
    pub fn with_cache_capacity(mut self, capacity: usize) -> Engine {
        self.cache = PlanCache::new(capacity.max(1));
        self
    }

    /// A snapshot of the pack versions active now: an `Arc`, cheap to take,
    /// never a lock a caller could hold while a pack is installed.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn add_institution(&self, institution: Institution) -> Result<Institution, EngineError> {
        let mut problems = Vec::new();
        if institution.id.trim().is_empty() {
            problems.push(("id", "an institution needs an id".to_string()));
        } else if !institution.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || institution.id.len() > 64
        {
            let msg = format!("`{}` may use only letters, digits, `-` and `_` (at most 64)", institution.id);
            problems.push(("id", msg));
        }
        if institution.name.trim().is_empty() || institution.name.chars().any(char::is_control) {
            problems.push(("name", "an institution needs a name, on one line".to_string()));
        }
        if let Some(first) = problems.into_iter().next() {
            return Err(EngineError::invalid(first.0, first.1));
        }
        let catalog = self.catalog();
        if catalog.pack(&institution.jurisdiction, None).is_none() {
            let known = catalog.ids();
            return Err(NotFound::new("jurisdiction pack", &institution.jurisdiction, known).into());
        }
        if let Some(parent) = &institution.parent
            && self.store.institution(parent)?.is_none()
        {
            return Err(self.no_institution(parent));
        }
        self.store.add_institution(&institution)?;
        Ok(institution)
    }

    pub fn institutions(&self) -> Result<Vec<Institution>, EngineError> {
        Ok(self.store.institutions()?)
    }

    pub fn institution(&self, id: &str) -> Result<Institution, EngineError> {
        self.store.institution(id)?.ok_or_else(|| self.no_institution(id))
    }

    fn no_institution(&self, id: &str) -> EngineError {
        let known: Vec<String> =
            self.store.institutions().map(|all| all.into_iter().map(|i| i.id).collect()).unwrap_or_default();
        EngineError::not_found("institution", id, known)
    }

    /// Starts a plan of `workflow` (`pack/workflow`, or a workflow id
    /// unique across packs) for an institution, on the newest version of
    /// the pack, in the cycle `today` falls in.
    pub fn new_plan(
        &self,
        institution: &str,
        workflow: &str,
        actor: &str,
        today: Date,
    ) -> Result<Arc<Plan>, EngineError> {
        let inst = self.institution(institution)?;
        let catalog = self.catalog();
        let (pack, wf) = catalog.workflow(workflow, None).ok_or_else(|| {
            let known = catalog
                .all()
                .flat_map(|p| p.workflows.keys().map(move |w| format!("{}/{w}", p.id())))
                .collect::<Vec<_>>();
            EngineError::not_found("workflow", workflow, known)
        })?;
        if pack.manifest.id != inst.jurisdiction {
            return Err(EngineError::invalid(
                "workflow",
                format!(
                    "institution `{institution}` falls under `{}`, but workflow `{workflow}` belongs to pack `{}`",
                    inst.jurisdiction, pack.manifest.id
                ),
            ));
        }
        if wf.def().single_plan {
            self.refuse_second_plan(institution, &format!("{}/{}", pack.manifest.id, wf.id()))?;
        }
        let id = format!("plan-{}", self.store.next_plan_number()?);
        let meta = PlanMeta {
            id: id.clone(),
            institution: institution.into(),
            workflow: format!("{}/{}", pack.manifest.id, wf.id()),
            pack_version: pack.manifest.version.to_string(),
            created: today,
        };
        let first = self.created_event(&wf, institution, actor, today);
        let bytes = first.to_bytes();
        self.unsummarized.fetch_add(1, Ordering::SeqCst);
        self.store.add_plan(&meta, &bytes)?;
        let plan =
            Arc::new(Plan::replay(meta, &wf, &[(first, bytes)]).ok_or_else(|| internal("a new plan has no event"))?);
        self.cache.insert(&id, plan.clone());
        self.keep_summary(&plan, &wf);
        Ok(plan)
    }

    /// A plan's first event: its first cycle opened and, where the workflow
    /// says whom its law applies to, whether it obliges the institution.
    fn created_event(&self, workflow: &Workflow, institution: &str, actor: &str, today: Date) -> Event {
        let (number, start) = executor::first_cycle(workflow, today);
        let mut effects = vec![Effect::CycleOpened { number, start }];
        effects.extend(self.obligation(workflow, institution, today));
        Event {
            seq: 1,
            date: today,
            recorded_at: now_rfc3339(),
            actor: actor.into(),
            role: String::new(),
            event: CREATED.into(),
            payload: json!({}),
            from: String::new(),
            to: workflow.def().initial.clone(),
            effects,
            prev: String::new(),
        }
    }

    /// Refuses a new plan while the institution has one of the workflow that
    /// has not reached a final state.
    fn refuse_second_plan(&self, institution: &str, workflow: &str) -> Result<(), EngineError> {
        for meta in self.store.plans()?.into_iter().filter(|m| m.institution == institution && m.workflow == workflow) {
            let plan = self.plan(&meta.id)?;
            if !self.workflow_of(&plan.meta)?.is_final(&plan.state) {
                return Err(EngineError::Conflict {
                    message: format!(
                        "institution `{institution}` already keeps plan {} of `{workflow}` (in `{}`); the law asks for one plan at a time",
                        meta.id, plan.state
                    ),
                });
            }
        }
        Ok(())
    }

    /// Fires an event. `Ok` means it is durable; a refusal writes nothing.
    pub fn fire(&self, plan_id: &str, command: &Command) -> Result<Fired, EngineError> {
        for _ in 0..CONFLICT_RETRIES {
            let slot = self.slot(plan_id)?;
            let order = slot.order();
            let plan = slot.snapshot();
            let workflow = self.workflow_of(&plan.meta)?;
            let plugins = self.plugins_for(&plan.meta);
            let facts = self.facts(&plan.meta.institution);
            let mut command = command.clone();
            if let Some(event) = workflow.event(&command.event) {
                if event.anonymous {
                    return Err(EngineError::invalid(
                        "event",
                        format!(
                            "`{}` is an anonymous answer: it is recorded apart from the plan's log, without its author (answer it instead of firing it)",
                            command.event
                        ),
                    ));
                }
                guard::normalize_payload(&workflow, &event.fills, &mut command.payload);
            }
            // A score over anonymous answers reads them from their own store and seals them.
            let (deciding, sealed) = match self.reads_answers(&workflow, &plan, &command.event) {
                true => {
                    let (with_answers, commitment) = self.with_answers(&workflow, &plan)?;
                    (Arc::new(with_answers), Some(commitment))
                }
                false => (plan.clone(), None),
            };
            let mut decision =
                executor::decide(&workflow, &deciding, &command, &facts, &plugins, Mode::Fire).inspect_err(|refusal| {
                    tracing::debug!(plan = plan_id, event = %command.event, role = %command.role, guard = refusal.guard(), "refused: {refusal}");
                })?;
            drop(deciding);
            if let Some(c) = sealed {
                decision.effects.push(Effect::AnswersSealed {
                    cycle: plan.cycle.number,
                    count: c.count,
                    digest: c.digest,
                });
            }
            let event = Event {
                seq: plan.seq + 1,
                date: command.today,
                recorded_at: now_rfc3339(),
                actor: command.actor.clone(),
                role: command.role.clone(),
                event: command.event.clone(),
                payload: command.payload,
                from: plan.state.clone(),
                to: decision.to,
                effects: decision.effects,
                prev: plan.head.clone(),
            };
            let bytes = event.to_bytes();
            self.unsummarized.fetch_add(1, Ordering::SeqCst);
            match self.store.append(plan_id, event.seq, &bytes) {
                Ok(()) => {
                    drop(plan);
                    let state = slot.apply(&workflow, &event, hash_hex(&bytes));
                    self.keep_summary(&slot.snapshot(), &workflow);
                    drop(order);
                    tracing::info!(plan = plan_id, seq = event.seq, event = %event.event, to = %event.to, "event recorded");
                    return Ok(Fired { event, state });
                }
                Err(StoreError::Conflict { .. }) => {
                    self.unsummarized.fetch_sub(1, Ordering::SeqCst);
                    drop(order);
                    self.cache.remove(plan_id);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Conflict { message: format!("plan {plan_id} is being changed by another writer; try again") })
    }

    /// Whether `event` of the plan's workflow is answered anonymously.
    pub fn is_anonymous(&self, plan_id: &str, event: &str) -> Result<bool, EngineError> {
        let plan = self.plan(plan_id)?;
        Ok(self.workflow_of(&plan.meta)?.event(event).is_some_and(|e| e.anonymous))
    }

    /// Records an anonymous answer (an event the workflow marks
    /// `anonymous`) apart from the plan's log: under a random key, with the
    /// month and the data only, so neither its content nor its place can be
    /// matched to a person or a login. The guards of its transition apply
    /// as to any event. `ballot` is a one-way token of the person (and
    /// plan) that the caller derives; with one, a second answer of that
    /// person in the cycle is refused (`Conflict`). Nothing links the
    /// token to the answer.
    pub fn answer(&self, plan_id: &str, command: &Command, ballot: Option<&str>) -> Result<Answered, EngineError> {
        let slot = self.slot(plan_id)?;
        let order = slot.order();
        let plan = slot.snapshot();
        let workflow = self.workflow_of(&plan.meta)?;
        let mut command = command.clone();
        let Some(event) = workflow.event(&command.event).filter(|e| e.anonymous) else {
            return Err(EngineError::invalid(
                "event",
                format!("`{}` is not an anonymous answer of this workflow; fire it instead", command.event),
            ));
        };
        guard::normalize_payload(&workflow, &event.fills, &mut command.payload);
        let plugins = self.plugins_for(&plan.meta);
        let facts = self.facts(&plan.meta.institution);
        executor::decide(&workflow, &plan, &command, &facts, &plugins, Mode::Preview)?;
        let cycle = plan.cycle.number;
        if plan.sealed.contains(&cycle) {
            return Err(EngineError::Conflict {
                message: format!("the anonymous answers of cycle {cycle} of plan {plan_id} are closed"),
            });
        }
        let prefix = answer_prefix(plan_id, cycle);
        let month = format!("{:04}-{:02}", command.today.year(), command.today.month());
        let stored = StoredAnswer { event: command.event.clone(), month: month.clone(), payload: command.payload };
        let bytes = serde_json::to_vec(&stored).map_err(|e| internal(e.to_string()))?;
        let mut commitment: Commitment = match self.store.record(ANSWER_COMMITMENTS, &prefix)? {
            Some(b) => serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt {
                key: format!("{ANSWER_COMMITMENTS}/{plan_id}"),
                reason: e.to_string(),
            })?,
            None => Commitment::of([]),
        };
        commitment.add(&bytes);
        let commitment = serde_json::to_vec(&commitment).map_err(|e| internal(e.to_string()))?;
        let mut batch = vec![
            RecordWrite::Create { kind: ANSWERS, key: format!("{prefix}{}", random_id()?), bytes },
            RecordWrite::Put { kind: ANSWER_COMMITMENTS, key: prefix.clone(), bytes: commitment },
        ];
        if let Some(token) = ballot {
            batch.push(RecordWrite::Create { kind: BALLOTS, key: format!("{prefix}{token}"), bytes: Vec::new() });
        }
        match self.store.write_records(&batch) {
            Err(StoreError::Exists { kind: BALLOTS, .. }) => Err(EngineError::Conflict {
                message: format!(
                    "you have already answered in cycle {cycle} of plan {plan_id}; one answer per person and cycle"
                ),
            }),
            Err(e) => Err(e.into()),
            Ok(()) => {
                drop(order);
                Ok(Answered { event: command.event, cycle, month })
            }
        }
    }

    /// Whether firing `event` from the plan's state scores a form that
    /// anonymous events fill (so the answers must be read and sealed).
    fn reads_answers(&self, workflow: &Workflow, plan: &Plan, event: &str) -> bool {
        workflow.transition(&plan.state, event).is_some_and(|t| {
            t.actions.iter().any(|a| match a {
                crate::definition::Action::Score { input, .. } => {
                    input.split('.').next().is_some_and(|form| workflow.anonymous_filler(form).is_some())
                }
                _ => false,
            })
        })
    }

    /// The plan with this cycle's anonymous answers merged into its data
    /// (for deciding only: never cached, never shown) and their
    /// commitment, checked against the one kept while they came in.
    fn with_answers(&self, workflow: &Workflow, plan: &Plan) -> Result<(Plan, Commitment), EngineError> {
        let prefix = answer_prefix(&plan.meta.id, plan.cycle.number);
        let stored = self.store.records(ANSWERS, &prefix)?;
        let commitment = Commitment::of(stored.iter().map(|(_, b)| b.as_slice()));
        let kept: Commitment = match self.store.record(ANSWER_COMMITMENTS, &prefix)? {
            Some(b) => serde_json::from_slice(&b).map_err(|e| internal(e.to_string()))?,
            None => Commitment::of([]),
        };
        if kept != commitment {
            return Err(internal(format!(
                "the anonymous answers of plan {} in cycle {} do not match their commitment ({} kept, {} found); the store was changed",
                plan.meta.id, plan.cycle.number, kept.count, commitment.count
            )));
        }
        let mut with = plan.clone();
        for (key, bytes) in &stored {
            let answer: StoredAnswer = serde_json::from_slice(bytes)
                .map_err(|e| StoreError::Corrupt { key: format!("{ANSWERS}/{key}"), reason: e.to_string() })?;
            let append = workflow.event(&answer.event).is_some_and(|e| e.append_rows);
            crate::projection::merge_forms(&mut with.data, &answer.payload, append);
        }
        Ok((with, commitment))
    }

    /// Checks every cycle's anonymous answers against the commitment kept
    /// with them and against the one sealed into the plan's chain.
    fn verify_answers(&self, meta: &PlanMeta, events: &[Vec<u8>]) -> Result<(), BrokenLink> {
        let broken = |seq: u64, reason: String| BrokenLink { plan: meta.id.clone(), seq, reason };
        let mut sealed: HashMap<u32, (u64, Commitment)> = HashMap::new();
        for (i, bytes) in events.iter().enumerate() {
            if let Ok(event) = serde_json::from_slice::<Event>(bytes) {
                for effect in event.effects {
                    if let Effect::AnswersSealed { cycle, count, digest } = effect {
                        sealed.insert(cycle, (i as u64 + 1, Commitment { count, digest }));
                    }
                }
            }
        }
        let prefix = format!("{}\u{0}", meta.id);
        let kept = self.store.records(ANSWER_COMMITMENTS, &prefix).map_err(|e| broken(0, e.to_string()))?;
        for (key, bytes) in kept {
            let kept: Commitment = serde_json::from_slice(&bytes).map_err(|e| broken(0, e.to_string()))?;
            let answers = self.store.records(ANSWERS, &key).map_err(|e| broken(0, e.to_string()))?;
            let found = Commitment::of(answers.iter().map(|(_, b)| b.as_slice()));
            let cycle = key.split('\u{0}').nth(1).and_then(|c| c.parse::<u32>().ok()).unwrap_or(0);
            if found != kept {
                return Err(broken(
                    0,
                    format!(
                        "the anonymous answers of cycle {cycle} were changed ({} kept, {} found)",
                        kept.count, found.count
                    ),
                ));
            }
            if let Some((seq, seal)) = sealed.get(&cycle)
                && *seal != found
            {
                return Err(broken(
                    *seq,
                    format!(
                        "the anonymous answers of cycle {cycle} differ from those sealed ({} sealed, {} found)",
                        seal.count, found.count
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The plan's current projection (a snapshot: later events do not change it).
    pub fn plan(&self, plan_id: &str) -> Result<Arc<Plan>, EngineError> {
        Ok(self.slot(plan_id)?.snapshot())
    }

    /// The plan's projection if it is in the cache, else `None`. Never
    /// blocks on the disk nor on a write in progress (a writer holds the
    /// projection only while folding in its acknowledged event), so an
    /// async caller may call it on its runtime and fall back to
    /// [`Engine::plan`] on a blocking thread.
    pub fn cached_plan(&self, plan_id: &str) -> Option<Arc<Plan>> {
        self.cache.get(plan_id).map(|slot| slot.snapshot())
    }

    /// Every plan, as recorded (no replay: cheap however many plans there are).
    pub fn plans(&self) -> Result<Vec<PlanMeta>, EngineError> {
        Ok(self.store.plans()?)
    }

    /// The workflow a plan is pinned to.
    pub fn workflow_of(&self, meta: &PlanMeta) -> Result<Arc<Workflow>, EngineError> {
        let version = Version::parse(&meta.pack_version).ok();
        self.catalog().workflow(&meta.workflow, version.as_ref()).map(|(_, wf)| wf).ok_or_else(|| {
            EngineError::Internal {
                message: format!(
                    "plan {} follows {} of pack version {}, which is not loaded; reinstall that pack version",
                    meta.id, meta.workflow, meta.pack_version
                ),
            }
        })
    }

    /// The plan's log, oldest first: `limit` events from number `from` (1-based).
    pub fn history(&self, plan_id: &str, from: u64, limit: usize) -> Result<Vec<Event>, EngineError> {
        self.meta(plan_id)?;
        let raw = self.store.raw_events(plan_id)?;
        let skip = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
        raw.iter()
            .enumerate()
            .skip(skip)
            .take(limit)
            .map(|(i, bytes)| {
                serde_json::from_slice(bytes).map_err(|e| {
                    EngineError::from(StoreError::Corrupt {
                        key: format!("{plan_id}#{}", i + 1),
                        reason: e.to_string(),
                    })
                })
            })
            .collect()
    }

    /// Upcoming and overdue deadlines of a plan at `today`.
    pub fn due(&self, plan_id: &str, today: Date) -> Result<Vec<DueItem>, EngineError> {
        let plan = self.plan(plan_id)?;
        let workflow = self.workflow_of(&plan.meta)?;
        Ok(deadline::open_items(&workflow, &plan, today))
    }

    /// Every deadline occurrence of the plan's current cycle at `today`,
    /// met ones included (for a calendar; [`Engine::due`] gives only what
    /// is still open).
    pub fn deadlines(&self, plan_id: &str, today: Date) -> Result<Vec<DueItem>, EngineError> {
        let plan = self.plan(plan_id)?;
        let workflow = self.workflow_of(&plan.meta)?;
        Ok(deadline::schedule(&workflow, &plan, today))
    }

    /// Each event `role` may fire from the plan's state, with the refusal
    /// it would get now with no new data (`None` when it would pass). Runs
    /// the guards only, with the plugins of the plan's own pack version;
    /// nothing is scored. An unknown role is an error, not an empty list.
    pub fn next_events(&self, plan_id: &str, role: &str, today: Date) -> Result<Vec<NextEvent>, EngineError> {
        let plan = self.plan(plan_id)?;
        let workflow = self.workflow_of(&plan.meta)?;
        if workflow.role(role).is_none() {
            let known = workflow.def().roles.iter().map(|r| r.id.clone());
            return Err(EngineError::not_found("role", role, known));
        }
        let plugins = self.plugins_for(&plan.meta);
        let facts = self.facts(&plan.meta.institution);
        Ok(executor::events_for_role(&workflow, &plan, role)
            .into_iter()
            .map(|event| {
                let command = Command {
                    event: event.clone(),
                    role: role.into(),
                    actor: String::new(),
                    payload: Value::Null,
                    today,
                };
                let refusal = executor::decide(&workflow, &plan, &command, &facts, &plugins, Mode::Preview).err();
                NextEvent { event, refusal }
            })
            .collect())
    }

    /// Activates a pack version in the running engine: new plans start on
    /// it at once; existing plans stay on the version they are pinned to.
    pub fn add_pack(&self, pack: Arc<Pack>) {
        let mut catalog = self.catalog.write().unwrap_or_else(|p| p.into_inner());
        let mut next = Catalog::clone(&catalog);
        next.insert_arc(pack);
        *catalog = Arc::new(next);
    }

    /// Validates a pack (a folder or `.tar.gz`), installs it into the data
    /// folder and activates it. A number too small for its changes is
    /// installed all the same; [`Engine::install_pack_with`] says so.
    pub fn install_pack(&self, source: &std::path::Path) -> Result<Arc<Pack>, InstallError> {
        self.install_pack_with(source, VersionCheck::Warn).map(|(pack, _)| pack)
    }

    /// [`Engine::install_pack`], comparing the version with the newest
    /// installed or bundled version of the pack below it: its changes, and
    /// W206 when its number is smaller than they require (a refusal with
    /// [`VersionCheck::Strict`]).
    pub fn install_pack_with(
        &self,
        source: &std::path::Path,
        check: VersionCheck,
    ) -> Result<(Arc<Pack>, VersionReport), InstallError> {
        let installer = self
            .installer
            .as_ref()
            .ok_or_else(|| InstallError::Refused("this engine was opened without a packs store".into()))?;
        let loader = Loader { host: Some(&installer.host), templates: installer.templates.as_deref() };
        let installed =
            install_checked(source, &installer.installed, &loader, &self.catalog(), &*installer.scenarios, check)?;
        let pack = Arc::new(installed.pack);
        self.add_pack(pack.clone());
        Ok((pack, installed.report))
    }

    /// How many plans are on each pack version: `(pack, version) → count`,
    /// from the plans' records (no replay).
    pub fn plans_per_version(&self) -> Result<HashMap<(String, String), usize>, EngineError> {
        let mut counts = HashMap::new();
        for meta in self.store.plans()? {
            let pack = meta.workflow.split('/').next().unwrap_or_default().to_string();
            *counts.entry((pack, meta.pack_version)).or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// Moves a plan to another version of its pack, with an audited
    /// `@migrated` event, when semver says the change is compatible (same
    /// major, newer) and the plan's state and data fit the new version.
    /// The event's effect records the [`MigrationPreview`]: what the move
    /// changed for the plan, every score before and after included.
    pub fn migrate(&self, plan_id: &str, to: &Version, actor: &str, today: Date) -> Result<Fired, EngineError> {
        let slot = self.slot(plan_id)?;
        let order = slot.order();
        let plan = slot.snapshot();
        let current = Version::parse(&plan.meta.pack_version)
            .map_err(|e| internal(format!("the plan's pack version is not semver: {e}")))?;
        let refuse = |reasons: Vec<String>| EngineError::Refused(Refusal::Migration { to: to.to_string(), reasons });
        let (pack_id, workflow_id) = plan.meta.workflow.split_once('/').unwrap_or_default();
        let Some(target) = self.catalog().pack(pack_id, Some(to)).cloned() else {
            return Err(refuse(vec![format!("version {to} of pack `{pack_id}` is not installed")]));
        };
        if let Some((previous, at_start)) = plan.latest_date().filter(|(d, _)| today < *d) {
            return Err(Refusal::Date { date: today, previous, at_start }.into());
        }
        let reasons = migration_problems(&plan, &current, to, target.workflows.get(workflow_id).map(Arc::as_ref));
        if !reasons.is_empty() {
            let english = |p: &Problem| migration_refusal(&to.to_string(), p, &|_| None);
            return Err(refuse(reasons.iter().map(english).collect()));
        }
        // What the move changes for this plan, for the audit trail.
        let preview = self.preview(&plan, to)?;
        let preview = serde_json::to_value(crate::wire::MigrationPreviewView::from(&preview))
            .map_err(|e| internal(format!("the migration preview does not serialize: {e}")))?;
        let event = Event {
            seq: plan.seq + 1,
            date: today,
            recorded_at: now_rfc3339(),
            actor: actor.into(),
            role: String::new(),
            event: MIGRATED.into(),
            payload: Value::Null,
            from: plan.state.clone(),
            to: plan.state.clone(),
            effects: vec![Effect::Migrated { from: current.to_string(), to: to.to_string(), preview: Some(preview) }],
            prev: plan.head.clone(),
        };
        let bytes = event.to_bytes();
        // The store derives the plan's listed version from this event.
        self.unsummarized.fetch_add(1, Ordering::SeqCst);
        self.store.append(plan_id, event.seq, &bytes)?;
        let workflow = target.workflows.get(workflow_id).cloned().ok_or_else(|| internal("checked above"))?;
        drop(plan);
        let state = slot.apply(&workflow, &event, hash_hex(&bytes));
        self.keep_summary(&slot.snapshot(), &workflow);
        drop(order);
        Ok(Fired { event, state })
    }

    /// Records a plan's summary after an event: in memory when summaries
    /// are loaded, and beside the log. A failed write is only logged: the
    /// stored copy is then behind the log, and is rebuilt when read.
    fn keep_summary(&self, plan: &Plan, workflow: &Workflow) {
        let summary = Arc::new(PlanSummary::of(plan, workflow));
        let mut loaded = self.summaries.lock().unwrap_or_else(|p| p.into_inner());
        match serde_json::to_vec(summary.as_ref()) {
            Ok(bytes) => match self.store.put_derived(SUMMARIES, &plan.meta.id, &bytes) {
                Ok(()) => {
                    self.unsummarized.fetch_sub(1, Ordering::SeqCst);
                }
                Err(e) => tracing::warn!(plan = %plan.meta.id, "the plan's summary was not kept: {e}"),
            },
            Err(e) => tracing::warn!(plan = %plan.meta.id, "the plan's summary does not serialize: {e}"),
        }
        if let Some(map) = loaded.as_mut() {
            map.insert(plan.meta.id.clone(), summary);
        }
    }

    /// Every plan's summary (the projection without scores and without the
    /// data no deadline reads), for supervision over many plans. The first
    /// call reads the stored summaries and rebuilds from the log any that
    /// is missing or behind its plan's last event; later calls read memory.
    pub fn summaries(&self) -> Result<Vec<Arc<PlanSummary>>, EngineError> {
        let mut loaded = self.summaries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(map) = loaded.as_ref() {
            return Ok(map.values().cloned().collect());
        }
        // Closed cleanly with every summary kept: none can be behind its plan. From now
        // on a crash could leave one behind, so the mark goes (durably) before any is trusted.
        let closed = self.store.record(SUMMARIES_CLOSED, "")?.is_some();
        if closed {
            self.store.write_records(&[RecordWrite::Delete { kind: SUMMARIES_CLOSED, key: String::new() }])?;
        }
        let mut stored: HashMap<String, (PlanSummary, usize)> = HashMap::new();
        for (key, bytes) in self.store.records(SUMMARIES, "")? {
            if let Ok(summary) = serde_json::from_slice::<PlanSummary>(&bytes) {
                stored.insert(key, (summary, bytes.len()));
            }
        }
        let mut map = HashMap::new();
        let mut workflows: HashMap<(String, String), Arc<Workflow>> = HashMap::new();
        for meta in self.store.plans()? {
            let found = stored.remove(&meta.id);
            // Checked against the log's last event unless closing vouched for them.
            let current = match &found {
                Some((s, _)) => closed || s.seq() == self.store.last_seq(&meta.id)?,
                None => false,
            };
            let summary = match found {
                Some((s, size)) if current && s.plan.meta.pack_version == meta.pack_version => {
                    // Kept as its workflow's deadlines read it now (a summary written by an
                    // earlier build may hold more).
                    let key = (meta.workflow.clone(), meta.pack_version.clone());
                    let workflow = match workflows.get(&key) {
                        Some(w) => w.clone(),
                        None => workflows.entry(key).or_insert(self.workflow_of(&meta)?).clone(),
                    };
                    let slim = PlanSummary::of(&s.plan, &workflow);
                    if let Ok(bytes) = serde_json::to_vec(&slim)
                        && bytes.len() != size
                    {
                        self.store.put_derived(SUMMARIES, &meta.id, &bytes)?;
                    }
                    slim
                }
                _ => {
                    let plan = self.replay(&meta.id, None)?;
                    let summary = PlanSummary::of(&plan, &*self.workflow_of(&plan.meta)?);
                    if let Ok(bytes) = serde_json::to_vec(&summary) {
                        self.store.put_derived(SUMMARIES, &meta.id, &bytes)?;
                    }
                    summary
                }
            };
            map.insert(meta.id.clone(), Arc::new(summary));
        }
        let all = map.values().cloned().collect();
        *loaded = Some(map);
        Ok(all)
    }

    /// The pack version a plan is pinned to.
    pub fn pack_of(&self, meta: &PlanMeta) -> Result<Arc<Pack>, EngineError> {
        let pack_id = meta.workflow.split('/').next().unwrap_or_default();
        let version = Version::parse(&meta.pack_version).ok();
        self.catalog().pack(pack_id, version.as_ref()).cloned().ok_or_else(|| {
            internal(format!("pack {pack_id} {} is not loaded; reinstall that pack version", meta.pack_version))
        })
    }

    /// Fires a pack sample's event with its data on a plan (through every guard).
    pub fn import_sample(&self, plan_id: &str, sample: &str, actor: &str, today: Date) -> Result<Fired, EngineError> {
        let plan = self.plan(plan_id)?;
        let pack = self.pack_of(&plan.meta)?;
        let (decl, payload) = pack
            .samples
            .get(sample)
            .ok_or_else(|| EngineError::not_found("sample", sample, pack.samples.keys().cloned()))?;
        if format!("{}/{}", pack.id(), decl.workflow) != plan.meta.workflow {
            return Err(EngineError::invalid(
                "sample",
                format!(
                    "sample `{sample}` is for workflow `{}`, but plan {plan_id} follows `{}`",
                    decl.workflow, plan.meta.workflow
                ),
            ));
        }
        let command = Command {
            event: decl.event.clone(),
            role: decl.role.clone(),
            actor: actor.into(),
            payload: payload.clone(),
            today,
        };
        self.fire(plan_id, &command)
    }

    /// Starts a plan from one of its pack's samples: the sample names the
    /// workflow, and its event is fired at once with its data.
    pub fn new_plan_from_sample(
        &self,
        institution: &str,
        sample: &str,
        actor: &str,
        today: Date,
    ) -> Result<(Arc<Plan>, Fired), EngineError> {
        let inst = self.institution(institution)?;
        let catalog = self.catalog();
        let pack = catalog.pack(&inst.jurisdiction, None).ok_or_else(|| {
            internal(format!("the pack `{}` of institution `{institution}` is not loaded", inst.jurisdiction))
        })?;
        let (decl, payload) = pack
            .samples
            .get(sample)
            .ok_or_else(|| EngineError::not_found("sample", sample, pack.samples.keys().cloned()))?;
        self.preflight_sample(institution, pack, decl, payload, actor, today)?;
        let plan = self.new_plan(institution, &format!("{}/{}", pack.id(), decl.workflow), actor, today)?;
        let fired = self.import_sample(&plan.meta.id, sample, actor, today)?;
        Ok((self.plan(&plan.meta.id)?, fired))
    }

    /// Decides a sample's event on the plan as it would start, so that a
    /// refused sample leaves no empty plan behind.
    fn preflight_sample(
        &self,
        institution: &str,
        pack: &Pack,
        decl: &crate::pack::SampleDecl,
        payload: &Value,
        actor: &str,
        today: Date,
    ) -> Result<(), EngineError> {
        let workflow = pack.workflows.get(&decl.workflow).cloned().ok_or_else(|| internal("the sample's workflow"))?;
        let meta = PlanMeta {
            id: String::new(),
            institution: institution.into(),
            workflow: format!("{}/{}", pack.id(), decl.workflow),
            pack_version: pack.version().to_string(),
            created: today,
        };
        let first = self.created_event(&workflow, institution, actor, today);
        let bytes = first.to_bytes();
        let would_be = Plan::replay(meta.clone(), &workflow, &[(first, bytes)]).ok_or_else(|| internal("no event"))?;
        let mut command = Command {
            event: decl.event.clone(),
            role: decl.role.clone(),
            actor: actor.into(),
            payload: payload.clone(),
            today,
        };
        if let Some(event) = workflow.event(&command.event) {
            guard::normalize_payload(&workflow, &event.fills, &mut command.payload);
        }
        let facts = self.facts(institution);
        executor::decide(&workflow, &would_be, &command, &facts, &self.plugins_for(&meta), Mode::Preview)?;
        Ok(())
    }

    /// Renders one of the plan's documents in a language of its pack, as
    /// an HTML page (see [`Engine::render_document`], which also says
    /// whether it is issued or a draft).
    pub fn document(
        &self,
        plan_id: &str,
        document: &str,
        language: Option<&str>,
        today: Date,
    ) -> Result<String, EngineError> {
        Ok(self.render_document(plan_id, document, language, today)?.html)
    }

    /// Renders one of the plan's documents in a language of its pack.
    ///
    /// A document a transition produced is issued: it is rendered as of
    /// that event (the latest one that produced it), so a decision keeps
    /// the data it was taken on even after the plan moved on. One not
    /// produced yet is a draft: rendered from the current data and marked
    /// with the pack's `doc.draft` word. When none of the forms it reads
    /// holds anything yet, it is refused ([`EngineError::NotDrafted`],
    /// a sentence in the document's language saying what to fill in)
    /// rather than printed as an empty shell.
    pub fn render_document(
        &self,
        plan_id: &str,
        document: &str,
        language: Option<&str>,
        today: Date,
    ) -> Result<RenderedDocument, EngineError> {
        self.render_current(plan_id, document, language, today, EmptyDraft::Refuse)
    }

    /// Renders a document as [`Engine::render_document`] does, except that
    /// a draft whose forms hold nothing is rendered too, as its template
    /// writes it (marked as a draft). For a pack's own scenarios, which
    /// check what its templates say of a document not taken yet; a person
    /// asking for such a document is refused instead.
    pub fn preview_document(
        &self,
        plan_id: &str,
        document: &str,
        language: Option<&str>,
        today: Date,
    ) -> Result<RenderedDocument, EngineError> {
        self.render_current(plan_id, document, language, today, EmptyDraft::Render)
    }

    fn render_current(
        &self,
        plan_id: &str,
        document: &str,
        language: Option<&str>,
        today: Date,
        empty: EmptyDraft,
    ) -> Result<RenderedDocument, EngineError> {
        let current = self.plan(plan_id)?;
        let (pack, workflow, language) = self.document_setup(&current, document, language)?;
        let status = self.document_status(&current, &workflow, &pack, document)?;
        match &status {
            DocumentStatus::Issued { seq, date, .. } => {
                let plan = self.replay(plan_id, Some(*seq))?;
                self.render_as(&plan, &workflow, &pack, document, &language, *date, status)
            }
            DocumentStatus::Draft { missing, empty: true } if empty == EmptyDraft::Refuse => {
                let translate = pack.translator(&language);
                let title = pack.document_title(document, &language);
                Err(not_drafted(&workflow, &pack, &translate, &title, document, missing))
            }
            DocumentStatus::Draft { .. } => {
                self.render_as(&current, &workflow, &pack, document, &language, today, status)
            }
        }
    }

    /// Renders the copy of a document that event `seq` issued (a plan's
    /// history links each issued document by its event, and a document
    /// issued twice, such as a plan adopted and adopted again after a
    /// revision, has one copy per event).
    pub fn render_issued(
        &self,
        plan_id: &str,
        document: &str,
        seq: u64,
        language: Option<&str>,
    ) -> Result<RenderedDocument, EngineError> {
        let current = self.plan(plan_id)?;
        let (pack, workflow, language) = self.document_setup(&current, document, language)?;
        let Some(record) = current.documents.iter().find(|d| d.id == document && d.seq == seq) else {
            let issued = current.documents.iter().filter(|d| d.id == document).map(|d| format!("{document}#{}", d.seq));
            return Err(EngineError::not_found("issued document", format!("{document}#{seq}"), issued));
        };
        let event = self.history(plan_id, seq, 1)?.into_iter().next().map(|e| e.event).unwrap_or_default();
        let status = DocumentStatus::Issued { event, seq, date: record.date };
        let plan = self.replay(plan_id, Some(seq))?;
        self.render_as(&plan, &workflow, &pack, document, &language, record.date, status)
    }

    /// The pack and workflow of a plan's document, and the language asked
    /// for (the pack's first by default), each checked to exist.
    fn document_setup(
        &self,
        plan: &Plan,
        document: &str,
        language: Option<&str>,
    ) -> Result<(Arc<Pack>, Arc<Workflow>, String), EngineError> {
        let pack = self.pack_of(&plan.meta)?;
        let workflow = self.workflow_of(&plan.meta)?;
        if !workflow.def().documents.iter().any(|d| d == document) {
            return Err(EngineError::not_found("document", document, workflow.def().documents.iter().cloned()));
        }
        let language = language.unwrap_or(pack.source_language()).to_string();
        if !pack.manifest.languages.contains(&language) {
            return Err(EngineError::not_found("language", &language, pack.manifest.languages.iter().cloned()));
        }
        Ok((pack, workflow, language))
    }

    /// Renders a document from `plan` as it stands, marked as a draft
    /// unless `status` says it is issued.
    #[allow(clippy::too_many_arguments)]
    fn render_as(
        &self,
        plan: &Plan,
        workflow: &Workflow,
        pack: &Pack,
        document: &str,
        language: &str,
        today: Date,
        status: DocumentStatus,
    ) -> Result<RenderedDocument, EngineError> {
        let context = self.render_context(plan, workflow, pack, language, today)?;
        let mark = matches!(status, DocumentStatus::Draft { .. })
            .then(|| Message::new("doc.draft").render(&pack.translator(language)));
        let html = pack.render_marked(document, language, context, mark.as_deref()).map_err(|e| {
            internal(format!("document `{document}` of pack {} {} cannot be rendered: {e}", pack.id(), pack.version()))
        })?;
        Ok(RenderedDocument {
            id: document.to_string(),
            title: pack.document_title(document, language),
            language: language.to_string(),
            html,
            page: pack.page(document),
            status,
        })
    }

    /// Every document the plan's workflow renders, with its title in
    /// `language` (the pack's first when `None`), its paper, and whether
    /// it is issued or still a draft (nothing is rendered).
    pub fn documents(&self, plan_id: &str, language: Option<&str>) -> Result<Vec<DocumentInfo>, EngineError> {
        let plan = self.plan(plan_id)?;
        let pack = self.pack_of(&plan.meta)?;
        let workflow = self.workflow_of(&plan.meta)?;
        let language = language.unwrap_or(pack.source_language());
        workflow
            .def()
            .documents
            .iter()
            .map(|id| {
                Ok(DocumentInfo {
                    id: id.clone(),
                    title: pack.document_title(id, language),
                    page: pack.page(id),
                    status: self.document_status(&plan, &workflow, &pack, id)?,
                })
            })
            .collect()
    }

    /// [`document_status`], with the issuing event of an earlier cycle read from the log.
    fn document_status(
        &self,
        plan: &Plan,
        workflow: &Workflow,
        pack: &Pack,
        document: &str,
    ) -> Result<DocumentStatus, EngineError> {
        let mut status = document_status(plan, workflow, pack, document);
        if let DocumentStatus::Issued { event, seq, .. } = &mut status
            && event.is_empty()
            && let Some(found) = self.history(&plan.meta.id, *seq, 1)?.into_iter().next()
        {
            *event = found.event;
        }
        Ok(status)
    }

    /// The context a template renders against (keys in `jurisdictions/README.md`).
    fn render_context(
        &self,
        plan: &Plan,
        workflow: &Workflow,
        pack: &Pack,
        language: &str,
        today: Date,
    ) -> Result<Value, EngineError> {
        let institution = self.store.institution(&plan.meta.institution)?;
        let labels = pack.labels(language);
        let phase = workflow.state(&plan.state).and_then(|s| s.parent.clone());
        Ok(json!({
            "pack": {"id": pack.id(), "version": pack.version().to_string(), "title": pack.manifest.title},
            "institution": institution,
            "plan": {
                "id": plan.meta.id, "state": plan.state, "state_title": labels.get(&format!("state.{}", plan.state)),
                "phase": phase, "phase_title": phase.as_ref().map(|p| labels.get(&format!("state.{p}"))),
                "cycle": plan.cycle,
            },
            "today": today,
            "data": plan.data,
            "scores": plan.scores,
            "deadlines": deadline::schedule(workflow, plan, today)
                .into_iter()
                .map(|item| item.translated(&|key| labels.map.get(key).cloned()))
                .collect::<Vec<_>>(),
            "events": plan.happened,
        }))
    }

    /// Audits the store (every plan's chain, and every record against the
    /// store's journal); returns the number of events in intact plans and
    /// the first broken link of each broken plan.
    pub fn verify(&self) -> Result<(u64, Vec<BrokenLink>), EngineError> {
        let audit = self.store.audit()?;
        let (mut checked, mut broken) = (audit.events_checked, audit.broken);
        // The anonymous answers of each intact plan, against their commitments.
        for meta in self.store.plans()? {
            if broken.iter().any(|b| b.plan == meta.id) {
                continue;
            }
            let raw = self.store.raw_events(&meta.id)?;
            if let Err(link) = self.verify_answers(&meta, &raw) {
                checked = checked.saturating_sub(raw.len() as u64);
                broken.push(link);
            }
        }
        Ok((checked, broken))
    }

    /// Whether the workflow's law obliges the institution (its `applies_to`),
    /// and the notice to give when it does not.
    fn obligation(&self, workflow: &Workflow, institution: &str, today: Date) -> Vec<Effect> {
        let Some(applies) = &workflow.def().applies_to else { return Vec::new() };
        let facts = self.facts(institution);
        let draft_data = serde_json::Map::new();
        let draft = guard::Draft::stored(&draft_data);
        let ctx = crate::condition::Context {
            institution: facts.institution.as_ref(),
            ..crate::condition::Context::dates(today, today)
        };
        let failed: Vec<crate::error::Problem> = applies
            .conditions
            .iter()
            .filter_map(|c| crate::condition::evaluate(workflow, c, &draft, &ctx).err())
            .collect();
        let unknown = failed.iter().any(|p| p.code == "condition.institution_unknown");
        let obliged = if unknown { None } else { Some(failed.is_empty()) };
        let reasons: Vec<String> = failed.iter().map(|p| p.message.clone()).collect();
        let mut effects = vec![Effect::Obligation { obliged, reasons: reasons.clone() }];
        if obliged != Some(true) {
            let roles = workflow.def().roles.iter().map(|r| r.id.clone()).collect();
            let message = format!("{} ({})", applies.notice, reasons.join("; "));
            effects.push(Effect::Notice { roles, message });
        }
        effects
    }

    /// What conditions may read of an institution: its record, with its
    /// parent's record under `parent`.
    fn facts(&self, institution: &str) -> Facts {
        let record = |id: &str| self.store.institution(id).ok().flatten();
        let value = record(institution).map(|inst| {
            let parent = inst.parent.as_deref().and_then(record);
            let mut value = serde_json::to_value(&inst).unwrap_or_default();
            if let (Some(parent), Some(map)) = (parent, value.as_object_mut()) {
                map.insert("parent".into(), serde_json::to_value(parent).unwrap_or_default());
            }
            value
        });
        Facts { institution: value }
    }

    /// The plugins of the pack version a plan is pinned to.
    fn plugins_for(&self, meta: &PlanMeta) -> PackPlugins<'_> {
        let pack = meta.workflow.split('/').next().unwrap_or_default();
        PackPlugins { runner: self.plugins.as_ref(), pack: pack.to_string(), version: meta.pack_version.clone() }
    }

    fn meta(&self, plan_id: &str) -> Result<PlanMeta, EngineError> {
        self.store.plan(plan_id)?.ok_or_else(|| {
            let known: Vec<String> =
                self.store.plans().map(|all| all.into_iter().map(|p| p.id).collect()).unwrap_or_default();
            EngineError::not_found("plan", plan_id, known)
        })
    }

    /// Rebuilds a plan from its log: all of it, or (for a document) up to
    /// and including event `upto`, as that event left the plan's data — a
    /// next cycle it opens is not applied, so its decision keeps its data.
    fn replay(&self, plan_id: &str, upto: Option<u64>) -> Result<Plan, EngineError> {
        let meta = self.meta(plan_id)?;
        let mut raw = self.store.raw_events(plan_id)?;
        if let Some(upto) = upto {
            raw.truncate(usize::try_from(upto).unwrap_or(usize::MAX));
        }
        let mut events = Vec::with_capacity(raw.len());
        for (i, bytes) in raw.into_iter().enumerate() {
            let event: Event = serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt { key: format!("{plan_id}#{}", i + 1), reason: e.to_string() })?;
            events.push((event, bytes));
        }
        if let Some((last, _)) = events.last_mut().filter(|(e, _)| upto.is_some() && e.seq > 1) {
            last.effects.retain(|e| !matches!(e, Effect::CycleOpened { .. }));
        }
        // Replay with the workflow of the version the plan is on at the end
        // (after any migration; migrations only join compatible versions).
        let mut current = meta.clone();
        for (event, _) in &events {
            for effect in &event.effects {
                if let Effect::Migrated { to, .. } = effect {
                    current.pack_version = to.clone();
                }
            }
        }
        let workflow = self.workflow_of(&current)?;
        Ok(Plan::replay(meta, &workflow, &events)
            .ok_or_else(|| StoreError::Corrupt { key: plan_id.into(), reason: "the plan has no events".into() })?)
    }

    /// The cached projection of a plan, replayed from the log on first use.
    fn slot(&self, plan_id: &str) -> Result<Slot, EngineError> {
        if let Some(slot) = self.cache.get(plan_id) {
            return Ok(slot);
        }
        let plan = Arc::new(self.replay(plan_id, None)?);
        Ok(self.cache.insert(plan_id, plan))
    }
}

/// A document rendered for a plan.
#[derive(Debug, Clone)]
pub struct RenderedDocument {
    pub id: String,
    /// Its title in the language rendered.
    pub title: String,
    pub language: String,
    /// The whole HTML page.
    pub html: String,
    /// The paper it prints on.
    pub page: PageSetup,
    pub status: DocumentStatus,
}

/// A document of a plan's workflow, without its text.
#[derive(Debug, Clone)]
pub struct DocumentInfo {
    pub id: String,
    pub title: String,
    pub page: PageSetup,
    pub status: DocumentStatus,
}

/// What rendering does with a draft whose forms hold nothing yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmptyDraft {
    /// Refuse it with [`EngineError::NotDrafted`] (what people get).
    Refuse,
    /// Render its template (what a pack's scenarios check).
    Render,
}

/// Whether a document is issued, or only a draft of what it would say now.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentStatus {
    /// Produced by event `event` (number `seq` in the plan's log) on `date`.
    Issued { event: String, seq: u64, date: Date },
    /// Not produced yet. `missing`: the required fields the events that
    /// issue it still lack; `empty`: none of the forms it reads holds
    /// anything yet, so it is refused rather than printed.
    Draft { missing: Vec<crate::error::Problem>, empty: bool },
}

/// Whether `document` is issued in `plan`, and if not, what it lacks.
fn document_status(plan: &Plan, workflow: &Workflow, pack: &Pack, document: &str) -> DocumentStatus {
    if let Some(record) = plan.documents.iter().rev().find(|d| d.id == document) {
        // The event's name is among this cycle's events; one of an earlier cycle is named by the caller.
        let event = plan.happened.iter().find(|h| h.seq == record.seq).map(|h| h.event.clone()).unwrap_or_default();
        return DocumentStatus::Issued { event, seq: record.seq, date: record.date };
    }
    let forms = draft_forms(workflow, pack, document);
    let draft = guard::Draft::stored(&plan.data);
    let missing = forms
        .iter()
        .filter_map(|id| workflow.form(id).map(|form| guard::missing_fields(id, form, &draft)))
        .flatten()
        .collect();
    let empty = !forms.is_empty()
        && forms.iter().all(|form| {
            plan.data
                .get(form.as_str())
                .and_then(Value::as_object)
                .is_none_or(|fields| !fields.values().any(|v| guard::filled(Some(v))))
        });
    DocumentStatus::Draft { missing, empty }
}

/// The forms a draft of `document` is about: those its template reads
/// that an event issuing it fills (an event that fills every form, such as
/// taking a plan over from paper, would otherwise make every form count),
/// else all its template reads, else all the issuing events fill.
fn draft_forms(workflow: &Workflow, pack: &Pack, document: &str) -> Vec<String> {
    let mut issuing: Vec<String> = workflow
        .def()
        .transitions
        .iter()
        .filter(|t| t.actions.iter().any(|a| matches!(a, crate::definition::Action::Render(d) if d == document)))
        .filter_map(|t| workflow.event(&t.on))
        .flat_map(|e| e.fills.iter().cloned())
        .collect();
    issuing.sort();
    issuing.dedup();
    let read = pack.document_forms.get(document).cloned().unwrap_or_default();
    let both: Vec<String> = read.iter().filter(|f| issuing.contains(f)).cloned().collect();
    if !both.is_empty() {
        both
    } else if !read.is_empty() {
        read
    } else {
        issuing
    }
}

/// The refusal of a draft that has nothing to show yet: one sentence in
/// the document's language naming the forms to fill in, and each required
/// field they lack (by path, so a page can point at it).
fn not_drafted(
    workflow: &Workflow,
    pack: &Pack,
    translate: &dyn Fn(&str) -> Option<String>,
    title: &str,
    document: &str,
    missing: &[crate::error::Problem],
) -> EngineError {
    let forms: Vec<String> = draft_forms(workflow, pack, document)
        .iter()
        .map(|f| {
            translate(&format!("form.{f}")).or_else(|| workflow.form(f).map(|d| d.title.clone())).unwrap_or(f.clone())
        })
        .collect();
    let message = Message::new("doc.not_drafted")
        .arg("document", title)
        .arg("missing", crate::message::list(&forms))
        .render(translate);
    let problems =
        missing.iter().map(|p| crate::error::Problem { message: p.render(translate), ..p.clone() }).collect();
    EngineError::NotDrafted { document: document.to_string(), message, problems }
}

impl Drop for Engine {
    /// Vouches for the stored summaries when every write of this engine
    /// kept its summary: the mark follows them in sled's log, so a store
    /// that has the mark has them (the store flushes when it closes).
    fn drop(&mut self) {
        if self.unsummarized.load(Ordering::SeqCst) == 0 {
            let _ = self.store.put_derived(SUMMARIES_CLOSED, "", b"closed");
        }
    }
}

fn internal(message: impl Into<String>) -> EngineError {
    EngineError::Internal { message: message.into() }
}

/// One plan's projection, and the lock that orders its events.
type Slot = Arc<PlanSlot>;

/// Writers hold `order` from deciding until their event is folded in, so
/// the events of a plan are decided one at a time; readers take only
/// `current`, which a writer holds just while folding in an acknowledged
/// event: a read never waits for another plan's write nor for a flush.
struct PlanSlot {
    order: Mutex<()>,
    current: Mutex<Arc<Plan>>,
}

impl PlanSlot {
    fn order(&self) -> std::sync::MutexGuard<'_, ()> {
        self.order.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn snapshot(&self) -> Arc<Plan> {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Folds an acknowledged event into the projection (in place unless a
    /// reader still holds the previous snapshot); returns the new state.
    fn apply(&self, workflow: &Workflow, event: &Event, hash: String) -> String {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        Arc::make_mut(&mut current).apply(workflow, event, hash);
        current.state.clone()
    }
}

/// Projections of the plans in use, at most `capacity` of them; the least
/// recently used leaves first. Each plan sits behind its own lock, which
/// orders the events of that plan.
struct PlanCache {
    capacity: usize,
    clock: AtomicU64,
    slots: Mutex<HashMap<String, (Slot, u64)>>,
}

impl PlanCache {
    fn new(capacity: usize) -> PlanCache {
        PlanCache { capacity, clock: AtomicU64::new(0), slots: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Slot, u64)>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, id: &str) -> Option<Slot> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.lock();
        let (slot, used) = slots.get_mut(id)?;
        *used = tick;
        Some(slot.clone())
    }

    /// Caches a plan unless another thread cached it first; returns the slot in use.
    fn insert(&self, id: &str, plan: Arc<Plan>) -> Slot {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.lock();
        if let Some((slot, used)) = slots.get_mut(id) {
            *used = tick;
            return slot.clone();
        }
        if slots.len() >= self.capacity {
            // Evicting is O(capacity), once per miss when full: far less than the replay that caused it.
            if let Some(oldest) = slots.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone()) {
                slots.remove(&oldest);
            }
        }
        let slot = Arc::new(PlanSlot { order: Mutex::new(()), current: Mutex::new(plan) });
        slots.insert(id.to_string(), (slot.clone(), tick));
        slot
    }

    fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// Resolves a workflow's plugin ids within its own pack version.
struct PackPlugins<'a> {
    runner: &'a dyn PluginRunner,
    pack: String,
    version: String,
}

impl PluginRunner for PackPlugins<'_> {
    fn call(&self, plugin: &str, entry: &str, input: &Value) -> Result<PluginOutput, PluginError> {
        self.runner.call(&plugin_key(&self.pack, &self.version, plugin), entry, input)
    }
}

/// Why a plan cannot move from `current` to `to` (empty when it can): the
/// move's own problems (`refusal.migration.*`, no path) and, by path, the
/// plan's data the new version would not accept. Kept as sentences with
/// keys so a page says them in its reader's language.
fn migration_problems(plan: &Plan, current: &Version, to: &Version, target: Option<&Workflow>) -> Vec<Problem> {
    let mut reasons = Vec::new();
    let refusal = |key| Problem::new("", Message::new(key).arg("to", to).arg("current", current));
    if to <= current {
        reasons.push(refusal("refusal.migration.not_newer"));
    }
    let compatible = semver::VersionReq::parse(&format!("^{current}")).is_ok_and(|req| req.matches(to));
    if to > current && !compatible {
        reasons.push(refusal("refusal.migration.not_compatible"));
    }
    let Some(workflow) = target else {
        let missing = Message::new("refusal.migration.no_workflow").arg("to", to).arg("workflow", &plan.meta.workflow);
        reasons.push(Problem::new("", missing));
        return reasons;
    };
    if workflow.state(&plan.state).is_none() {
        let missing = Message::new("refusal.migration.no_state").arg("to", to).arg("state", &plan.state);
        reasons.push(Problem::new("", missing));
    }
    let forms: Vec<String> = plan.data.keys().cloned().collect();
    for form in forms.iter().filter(|f| workflow.form(f).is_none()) {
        let missing = Message::new("refusal.migration.no_form").arg("to", to).arg("form", form);
        reasons.push(Problem::new(form.as_str(), missing));
    }
    let known: Vec<String> = forms.into_iter().filter(|f| workflow.form(f).is_some()).collect();
    let data = Value::Object(
        plan.data.iter().filter(|(k, _)| known.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
    );
    reasons.extend(guard::validate_payload(workflow, &known, &data));
    reasons
}

/// A migration refusal as a sentence through `translate` (English with
/// `|_| None`, as the CLI and the API's `refusals` say it): the move's own
/// reasons as they are, the plan's data problems under the version they
/// fail under (`refusal.migration.data`).
pub fn migration_refusal(to: &str, problem: &Problem, translate: &dyn Fn(&str) -> Option<String>) -> String {
    let sentence = problem.render(translate);
    if problem.code.starts_with("refusal.migration.") {
        sentence
    } else {
        Message::new("refusal.migration.data").arg("to", to).arg("problem", sentence).render(translate)
    }
}
