//! The engine facade the CLI (and later the server) drive: institutions,
//! plans, firing events, deadlines and verification, over one [`Store`].
//!
//! Architecture invariant: an event is acknowledged (this returns `Ok`) only
//! after the store made it durable, and a plan's projection changes only
//! after that. Events of one plan are decided one at a time (a lock per
//! plan); different plans proceed in parallel and share flushes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use semver::Version;
use serde_json::{Value, json};

use crate::date::{Date, now_rfc3339};
use crate::deadline::{self, DueItem};
use crate::definition::Workflow;
use crate::executor::{self, Command, Refusal};
use crate::pack::{Catalog, Pack, plugin_key};
use crate::plugin::{PluginError, PluginOutput, PluginRunner};
use crate::projection::Plan;
use crate::store::{self, BrokenLink, Effect, Event, Institution, PlanMeta, Store, StoreError, hash_hex};

/// The system event that opens a plan's log.
pub const CREATED: &str = "@created";

/// The system event that moves a plan to another pack version.
pub const MIGRATED: &str = "@migrated";

/// The actor recorded for events of anonymous kinds.
pub const ANONYMOUS: &str = "anonymous";

/// Why an engine call did not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A guard refused the event; nothing was written.
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error("no {kind} `{id}`")]
    NotFound { kind: &'static str, id: String },
    /// The request itself makes no sense (e.g. an institution without a name).
    #[error("{0}")]
    Invalid(String),
    /// A plan cannot move to that pack version; every reason is listed.
    #[error("plan {plan} cannot move to version {to}: {}", reasons.join("; "))]
    MigrationRefused { plan: String, to: String, reasons: Vec<String> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

// Not `#[from]`: that would make the refusal a "source" too, and error
// chains would print its reason twice.
impl From<Refusal> for EngineError {
    fn from(refusal: Refusal) -> Self {
        EngineError::Refused(refusal)
    }
}

/// What a successful `fire` recorded.
#[derive(Debug, Clone)]
pub struct Fired {
    pub event: Event,
    /// The plan's state after the event.
    pub state: String,
}

/// The engine over a store, a pack catalog and a plugin runner.
pub struct Engine {
    store: Arc<dyn Store>,
    catalog: RwLock<Catalog>,
    plugins: Arc<dyn PluginRunner>,
    plans: Mutex<HashMap<String, Arc<Mutex<Plan>>>>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, catalog: Catalog, plugins: Arc<dyn PluginRunner>) -> Engine {
        Engine { store, catalog: RwLock::new(catalog), plugins, plans: Mutex::new(HashMap::new()) }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// A snapshot of the pack versions active now (cheap: packs are shared).
    /// A snapshot, not a guard, so a caller can never hold the lock that
    /// [`Engine::add_pack`] needs.
    pub fn catalog(&self) -> Catalog {
        self.catalog.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn add_institution(&self, institution: Institution) -> Result<Institution, EngineError> {
        if institution.id.trim().is_empty() || institution.name.trim().is_empty() {
            return Err(EngineError::Invalid("an institution needs an id and a name".into()));
        }
        if !institution.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(EngineError::Invalid(format!(
                "institution id `{}` may use only letters, digits, `-` and `_`",
                institution.id
            )));
        }
        if self.catalog().pack(&institution.jurisdiction, None).is_none() {
            return Err(EngineError::NotFound { kind: "jurisdiction pack", id: institution.jurisdiction });
        }
        if let Some(parent) = &institution.parent
            && self.store.institution(parent)?.is_none()
        {
            return Err(EngineError::NotFound { kind: "institution", id: parent.clone() });
        }
        self.store.add_institution(&institution)?;
        Ok(institution)
    }

    /// Starts a plan of `workflow` (`pack/workflow`) for an institution, on
    /// the newest version of the pack, in the cycle `today` falls in.
    pub fn new_plan(&self, institution: &str, workflow: &str, actor: &str, today: Date) -> Result<Plan, EngineError> {
        let inst = self
            .store
            .institution(institution)?
            .ok_or_else(|| EngineError::NotFound { kind: "institution", id: institution.into() })?;
        let (pack, wf) = self
            .catalog()
            .workflow(workflow, None)
            .ok_or_else(|| EngineError::NotFound { kind: "workflow", id: workflow.into() })?;
        if pack.manifest.id != inst.jurisdiction {
            return Err(EngineError::Invalid(format!(
                "institution `{institution}` falls under `{}`, but workflow `{workflow}` belongs to pack `{}`",
                inst.jurisdiction, pack.manifest.id
            )));
        }
        let id = format!("plan-{}", self.store.next_plan_number()?);
        let meta = PlanMeta {
            id: id.clone(),
            institution: institution.into(),
            workflow: format!("{}/{}", pack.manifest.id, wf.id()),
            pack_version: pack.manifest.version.to_string(),
            created: today,
        };
        let (number, start) = executor::first_cycle(&wf, today);
        let first = Event {
            seq: 1,
            date: today,
            recorded_at: now_rfc3339(),
            actor: actor.into(),
            role: String::new(),
            event: CREATED.into(),
            payload: json!({}),
            from: String::new(),
            to: wf.def().initial.clone(),
            effects: vec![Effect::CycleOpened { number, start }],
            prev: String::new(),
        };
        let bytes = first.to_bytes();
        self.store.add_plan(&meta, &bytes)?;
        let plan = Plan::replay(meta, &wf, &[(first, bytes)]).expect("a log with one event replays");
        self.lock_plans().insert(id, Arc::new(Mutex::new(plan.clone())));
        Ok(plan)
    }

    /// Fires an event. `Ok` means it is durable; a refusal writes nothing.
    pub fn fire(&self, plan_id: &str, command: &Command) -> Result<Fired, EngineError> {
        // A conflict means another writer got there first: reload and decide again.
        for _ in 0..3 {
            let slot = self.slot(plan_id)?;
            let mut plan = slot.lock().unwrap_or_else(|p| p.into_inner());
            let workflow = self.workflow_of(&plan.meta)?;
            let plugins = self.plugins_for(&plan.meta);
            let decision = executor::decide(&workflow, &plan, command, &plugins).inspect_err(|refusal| {
                tracing::debug!(plan = plan_id, event = %command.event, role = %command.role, guard = refusal.guard(), "refused: {refusal}");
            })?;
            // Anonymous answers keep no actor and no time of day that could be matched to a login.
            let anonymous = workflow.event(&command.event).is_some_and(|e| e.anonymous);
            let (actor, recorded_at) = if anonymous {
                (ANONYMOUS.to_string(), command.today.to_string())
            } else {
                (command.actor.clone(), now_rfc3339())
            };
            let event = Event {
                seq: plan.seq + 1,
                date: command.today,
                recorded_at,
                actor,
                role: command.role.clone(),
                event: command.event.clone(),
                payload: command.payload.clone(),
                from: plan.state.clone(),
                to: decision.to,
                effects: decision.effects,
                prev: plan.head.clone(),
            };
            let bytes = event.to_bytes();
            match self.store.append(plan_id, event.seq, &bytes) {
                Ok(()) => {
                    plan.apply(&workflow, &event, hash_hex(&bytes));
                    tracing::info!(plan = plan_id, seq = event.seq, event = %event.event, to = %event.to, "event recorded");
                    let state = plan.state.clone();
                    return Ok(Fired { event, state });
                }
                Err(StoreError::Conflict { .. }) => {
                    drop(plan);
                    self.lock_plans().remove(plan_id);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Invalid(format!("plan {plan_id} is being changed by another writer; try again")))
    }

    /// The plan's current projection.
    pub fn plan(&self, plan_id: &str) -> Result<Plan, EngineError> {
        let slot = self.slot(plan_id)?;
        let plan = slot.lock().unwrap_or_else(|p| p.into_inner());
        Ok(plan.clone())
    }

    pub fn plans(&self) -> Result<Vec<PlanMeta>, EngineError> {
        Ok(self.store.plans()?)
    }

    /// The workflow a plan is pinned to.
    pub fn workflow_of(&self, meta: &PlanMeta) -> Result<Arc<Workflow>, EngineError> {
        let version = Version::parse(&meta.pack_version).ok();
        self.catalog().workflow(&meta.workflow, version.as_ref()).map(|(_, wf)| wf).ok_or_else(|| {
            EngineError::NotFound {
                kind: "workflow",
                id: format!("{} (pack version {})", meta.workflow, meta.pack_version),
            }
        })
    }

    pub fn history(&self, plan_id: &str) -> Result<Vec<Event>, EngineError> {
        self.meta(plan_id)?;
        Ok(store::events(self.store.as_ref(), plan_id)?)
    }

    /// Upcoming and overdue deadlines of a plan at `today`.
    pub fn due(&self, plan_id: &str, today: Date) -> Result<Vec<DueItem>, EngineError> {
        let plan = self.plan(plan_id)?;
        let workflow = self.workflow_of(&plan.meta)?;
        Ok(deadline::open_items(&workflow, &plan, today))
    }

    /// Each event `role` may fire now, with the refusal it would get with
    /// an empty payload (`None` when it would pass).
    pub fn next_events(
        &self,
        plan_id: &str,
        role: &str,
        today: Date,
    ) -> Result<Vec<(String, Option<Refusal>)>, EngineError> {
        let plan = self.plan(plan_id)?;
        let workflow = self.workflow_of(&plan.meta)?;
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
                let refusal = executor::decide(&workflow, &plan, &command, self.plugins.as_ref()).err();
                (event, refusal)
            })
            .collect())
    }

    /// Activates a pack version in the running engine: new plans start on
    /// it at once; existing plans stay on the version they are pinned to.
    pub fn add_pack(&self, pack: Arc<Pack>) {
        self.catalog.write().unwrap_or_else(|p| p.into_inner()).insert_arc(pack);
    }

    /// How many plans are on each pack version: `(pack, version) → count`.
    pub fn plans_per_version(&self) -> Result<HashMap<(String, String), usize>, EngineError> {
        let mut counts = HashMap::new();
        for meta in self.store.plans()? {
            let version = self.plan(&meta.id).map_or(meta.pack_version.clone(), |p| p.meta.pack_version);
            let pack = meta.workflow.split('/').next().unwrap_or_default().to_string();
            *counts.entry((pack, version)).or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// Moves a plan to another version of its pack, with an audited
    /// `@migrated` event, when semver says the change is compatible (same
    /// major, newer) and the plan's state and data fit the new version.
    pub fn migrate(&self, plan_id: &str, to: &Version, actor: &str, today: Date) -> Result<Fired, EngineError> {
        let slot = self.slot(plan_id)?;
        let mut plan = slot.lock().unwrap_or_else(|p| p.into_inner());
        let current = Version::parse(&plan.meta.pack_version)
            .map_err(|e| EngineError::Invalid(format!("the plan's pack version is not semver: {e}")))?;
        let refuse =
            |reasons: Vec<String>| EngineError::MigrationRefused { plan: plan_id.into(), to: to.to_string(), reasons };
        let (pack_id, workflow_id) = plan.meta.workflow.split_once('/').unwrap_or_default();
        let Some(target) = self.catalog().pack(pack_id, Some(to)).cloned() else {
            return Err(refuse(vec![format!("version {to} of pack `{pack_id}` is not installed")]));
        };
        let reasons = migration_problems(&plan, &current, to, target.workflows.get(workflow_id).map(Arc::as_ref));
        if !reasons.is_empty() {
            return Err(refuse(reasons));
        }
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
            effects: vec![Effect::Migrated { from: current.to_string(), to: to.to_string() }],
            prev: plan.head.clone(),
        };
        let bytes = event.to_bytes();
        self.store.append(plan_id, event.seq, &bytes)?;
        let workflow = target.workflows.get(workflow_id).cloned().expect("checked above");
        plan.apply(&workflow, &event, hash_hex(&bytes));
        Ok(Fired { event, state: plan.state.clone() })
    }

    /// The pack version a plan is pinned to.
    pub fn pack_of(&self, meta: &PlanMeta) -> Result<Arc<Pack>, EngineError> {
        let pack_id = meta.workflow.split('/').next().unwrap_or_default();
        let version = Version::parse(&meta.pack_version).ok();
        self.catalog()
            .pack(pack_id, version.as_ref())
            .cloned()
            .ok_or_else(|| EngineError::NotFound { kind: "pack", id: format!("{pack_id} {}", meta.pack_version) })
    }

    /// Fires a pack sample's event with its data on a plan (through every guard).
    pub fn import_sample(&self, plan_id: &str, sample: &str, actor: &str, today: Date) -> Result<Fired, EngineError> {
        let plan = self.plan(plan_id)?;
        let pack = self.pack_of(&plan.meta)?;
        let (decl, payload) =
            pack.samples.get(sample).ok_or_else(|| EngineError::NotFound { kind: "sample", id: sample.into() })?;
        if format!("{}/{}", pack.id(), decl.workflow) != plan.meta.workflow {
            return Err(EngineError::Invalid(format!(
                "sample `{sample}` is for workflow `{}`, but plan {plan_id} follows `{}`",
                decl.workflow, plan.meta.workflow
            )));
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

    /// Renders one of the plan's documents in a language of its pack.
    ///
    /// A document a transition produced is rendered as of that event (the
    /// latest one that produced it), so a decision keeps the data it was
    /// taken on even after the plan moved on; one not produced yet renders
    /// as a draft from the current data.
    pub fn document(
        &self,
        plan_id: &str,
        document: &str,
        language: Option<&str>,
        today: Date,
    ) -> Result<String, EngineError> {
        let current = self.plan(plan_id)?;
        let produced = current.documents.iter().rev().find(|d| d.id == document).map(|d| (d.seq, d.date));
        let (plan, today) = match produced {
            Some((seq, date)) => (self.replay(plan_id, Some(seq))?, date),
            None => (current, today),
        };
        let pack = self.pack_of(&plan.meta)?;
        let workflow = self.workflow_of(&plan.meta)?;
        if !workflow.def().documents.iter().any(|d| d == document) {
            return Err(EngineError::NotFound { kind: "document", id: document.into() });
        }
        let language = language.unwrap_or(pack.source_language());
        if !pack.manifest.languages.iter().any(|l| l == language) {
            return Err(EngineError::Invalid(format!(
                "the pack speaks {}, not `{language}`",
                pack.manifest.languages.join(", ")
            )));
        }
        let institution = self.store.institution(&plan.meta.institution)?;
        let labels = pack.labels(language);
        let phase = workflow.state(&plan.state).and_then(|s| s.parent.clone());
        let context = json!({
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
            "deadlines": deadline::schedule(&workflow, &plan, today),
            "events": plan.happened,
        });
        pack.render(document, language, context)
            .map_err(|e| EngineError::Invalid(format!("document `{document}` cannot be rendered: {e}")))
    }

    /// Audits the store (every plan's chain, and every record against the
    /// store's journal); returns the number of events in intact plans and
    /// the first broken link of each broken plan.
    pub fn verify(&self) -> Result<(u64, Vec<BrokenLink>), EngineError> {
        let audit = self.store.audit()?;
        Ok((audit.events_checked, audit.broken))
    }

    /// The plugins of the pack version a plan is pinned to.
    fn plugins_for(&self, meta: &PlanMeta) -> PackPlugins<'_> {
        let pack = meta.workflow.split('/').next().unwrap_or_default();
        PackPlugins { runner: self.plugins.as_ref(), pack: pack.to_string(), version: meta.pack_version.clone() }
    }

    fn meta(&self, plan_id: &str) -> Result<PlanMeta, EngineError> {
        self.store.plan(plan_id)?.ok_or_else(|| EngineError::NotFound { kind: "plan", id: plan_id.into() })
    }

    fn lock_plans(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Mutex<Plan>>>> {
        self.plans.lock().unwrap_or_else(|p| p.into_inner())
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
    fn slot(&self, plan_id: &str) -> Result<Arc<Mutex<Plan>>, EngineError> {
        if let Some(slot) = self.lock_plans().get(plan_id) {
            return Ok(slot.clone());
        }
        let plan = self.replay(plan_id, None)?;
        let slot = Arc::new(Mutex::new(plan));
        Ok(self.lock_plans().entry(plan_id.to_string()).or_insert(slot).clone())
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

/// Why a plan cannot move from `current` to `to` (empty when it can).
fn migration_problems(plan: &Plan, current: &Version, to: &Version, target: Option<&Workflow>) -> Vec<String> {
    let mut reasons = Vec::new();
    if to <= current {
        reasons.push(format!("{to} is not newer than the plan's version {current}"));
    }
    let compatible = semver::VersionReq::parse(&format!("^{current}")).is_ok_and(|req| req.matches(to));
    if to > current && !compatible {
        reasons.push(format!(
            "{to} is not compatible with {current} under semver (a major change); finish this plan on {current} or start a new plan"
        ));
    }
    let Some(workflow) = target else {
        reasons.push(format!("version {to} has no workflow `{}`", plan.meta.workflow));
        return reasons;
    };
    if workflow.state(&plan.state).is_none() {
        reasons.push(format!("version {to} has no state `{}`, where the plan is now", plan.state));
    }
    let forms: Vec<String> = plan.data.keys().cloned().collect();
    for form in forms.iter().filter(|f| workflow.form(f).is_none()) {
        reasons.push(format!("version {to} has no form `{form}`, which holds data of this plan"));
    }
    let known: Vec<String> = forms.into_iter().filter(|f| workflow.form(f).is_some()).collect();
    let data = Value::Object(
        plan.data.iter().filter(|(k, _)| known.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
    );
    reasons.extend(
        crate::guard::validate_payload(workflow, &known, &data).into_iter().map(|p| format!("under {to}, {p}")),
    );
    reasons
}
