//! Durable storage: institutions, plans and each plan's append-only,
//! hash-chained event log.
//!
//! Architecture invariant: everything above this module sees only the
//! [`Store`] trait and the plain records here; `sled` is named in
//! [`sled_store`] alone, so a networked backend can replace it.
//!
//! Beside each plan's own chain, every write also records an entry in a
//! store-wide, hash-chained **journal** ([`journal`]), just before it (a crash
//! between the two is undone on open). A plan's chain alone cannot notice its last event being changed
//! or removed, events appended after it, or the whole plan vanishing; the
//! journal can, and [`Store::audit`] checks both against each other.

pub mod backup;
mod chain;
mod commit;
pub mod journal;
pub mod sled_store;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::date::Date;
use crate::plugin::Provenance;

pub use chain::{BrokenLink, hash_hex, verify_chain};
pub use journal::{Audit, JournalHead};
pub use sled_store::{SledConfig, SledStore};

/// A public body that keeps integrity plans (a tenant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Institution {
    pub id: String,
    pub name: String,
    /// The pack id of the law the institution falls under.
    pub jurisdiction: String,
    /// Kind of body (ministry, municipality, public enterprise...).
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub employees: Option<u32>,
    /// The institution this one is an organisational unit of.
    #[serde(default)]
    pub parent: Option<String>,
    /// IANA time zone the dates of its acts are taken in (`Area/City`);
    /// `None` follows its pack's zone. A server takes "today" in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// What a plan is: which institution, which workflow of which pack version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanMeta {
    pub id: String,
    pub institution: String,
    /// Pack id and workflow id, as `pack/workflow`.
    pub workflow: String,
    /// The pack version the plan is pinned to.
    pub pack_version: String,
    pub created: Date,
}

/// Something a transition did besides moving the plan, recorded in its
/// event so that replaying the log never re-runs a plugin or a renderer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    /// A cycle began (the plan's first, or the next one).
    CycleOpened { number: u32, start: Date },
    /// A document is to be produced from the plan as of this event.
    Document { id: String },
    /// Holders of these roles are told something.
    Notice { roles: Vec<String>, message: String },
    /// A plugin computed scores; the provenance makes them re-checkable.
    Scores {
        output: String,
        value: Value,
        provenance: Provenance,
        /// The configuration the plugin was called with (scales, bands,
        /// weights), so documents print the numbers that were applied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Value>,
    },
    /// The plan moved to another pack version. `preview` records what the
    /// move changed for the plan (a `wire::MigrationPreviewView`: state,
    /// data, every score before and after); events recorded before it
    /// existed have none.
    Migrated {
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preview: Option<Value>,
    },
    /// The anonymous answers of a cycle were read (to be scored) and closed:
    /// their number and the XOR of the sha256 of each answer's stored bytes,
    /// an order-free commitment that `verify` checks the answers against.
    AnswersSealed { cycle: u32, count: u64, digest: String },
    /// Whether the law obliges the institution, as checked when the plan
    /// started (`None`: not known, e.g. its number of employees is not recorded).
    Obligation {
        obliged: Option<bool>,
        #[serde(default)]
        reasons: Vec<String>,
    },
}

/// One entry of a plan's log, exactly as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    /// The business date the event counts for (the simulated "today").
    pub date: Date,
    /// Wall-clock time it was recorded, RFC 3339 UTC.
    pub recorded_at: String,
    pub actor: String,
    pub role: String,
    pub event: String,
    pub payload: Value,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub effects: Vec<Effect>,
    /// Hex sha256 of the previous event's stored bytes ("" for the first).
    pub prev: String,
}

impl Event {
    /// The bytes that are stored and hashed.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events serialize: all keys are strings")
    }
}

/// Why the store could not do what was asked. Each message says what
/// happened and what a coordinator can do about it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage layer failed in a way none of the variants below names.
    #[error("storage failed: {0}")]
    Backend(String),
    /// Stored bytes could not be read back as a record.
    #[error("stored record {key} cannot be read: {reason}")]
    Corrupt { key: String, reason: String },
    /// Another writer appended this sequence number first.
    #[error("plan {plan} already has an event number {seq}")]
    Conflict { plan: String, seq: u64 },
    #[error("{kind} `{id}` already exists")]
    Exists { kind: &'static str, id: String },
    /// Another process holds the data folder and did not let go in time.
    #[error(
        "the data folder {dir} is in use by another integritas process (waited {waited_secs} s for it); stop that process or try again when it has finished"
    )]
    Locked { dir: String, waited_secs: u64 },
    /// The data folder's files are not a readable store (a damaged byte,
    /// a truncated file). Nothing was changed.
    #[error(
        "the data folder {dir} is damaged and cannot be opened ({reason}); keep it for inspection, restore the last backup into an empty folder with `integritas restore BACKUP --data NEW_FOLDER` and use that folder from now on"
    )]
    Damaged { dir: String, reason: String },
    /// The disk (or a quota) is full. Nothing was acknowledged.
    #[error(
        "the disk is full ({reason}); nothing was acknowledged. Free some space, run `integritas verify`, and look at the plan's history before trying again"
    )]
    DiskFull { reason: String },
    /// The disk reported an error. Nothing was acknowledged; a write may
    /// or may not have reached the disk.
    #[error(
        "the disk reported an error ({reason}); nothing was acknowledged. Check the disk, run `integritas verify`, and look at the plan's history before trying again"
    )]
    Io { reason: String },
}

/// The storage boundary. Every write returns only once it is durable
/// (synced to the device), and records a journal entry for every record.
pub trait Store: Send + Sync {
    fn add_institution(&self, institution: &Institution) -> Result<(), StoreError>;
    fn institution(&self, id: &str) -> Result<Option<Institution>, StoreError>;
    fn institutions(&self) -> Result<Vec<Institution>, StoreError>;
    /// A new, never reused number for naming a plan.
    fn next_plan_number(&self) -> Result<u64, StoreError>;
    /// Creates a plan together with its first event (stored bytes), atomically.
    fn add_plan(&self, plan: &PlanMeta, first: &[u8]) -> Result<(), StoreError>;
    fn plan(&self, id: &str) -> Result<Option<PlanMeta>, StoreError>;
    fn plans(&self) -> Result<Vec<PlanMeta>, StoreError>;
    /// Appends the stored bytes of event number `seq` to a plan's log;
    /// `Conflict` if that number is taken.
    fn append(&self, plan: &str, seq: u64, event: &[u8]) -> Result<(), StoreError>;
    /// A plan's log as stored bytes, in order.
    fn raw_events(&self, plan: &str) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Writes keyed records (accounts, sessions, anonymous answers...) in
    /// one atomic, durable batch. `Exists` (and nothing written) when a
    /// [`RecordWrite::Create`] finds its key taken.
    fn write_records(&self, batch: &[RecordWrite]) -> Result<(), StoreError>;
    /// One keyed record's bytes.
    fn record(&self, kind: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every record of a kind whose key starts with `prefix`, in key order.
    fn records(&self, kind: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Appends an entry to the append-only security log (logins, role
    /// changes...), durably; returns its number (from 1).
    fn append_security_log(&self, entry: &[u8]) -> Result<u64, StoreError>;
    /// Security log entries from number `from`, at most `limit`, oldest first.
    fn security_log(&self, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Checks the whole store: the journal's own chain, every record
    /// against its journal entry (both ways), and every plan's chain.
    fn audit(&self) -> Result<Audit, StoreError>;
    /// The journal's last position and entry hash now.
    fn journal_head(&self) -> Result<JournalHead, StoreError>;
    /// Calls `visit` with every record the journal covers up to `upto`, in
    /// journal order, as its exact stored bytes, after checking each one
    /// against its journal entry. Records are never rewritten, so a
    /// journal prefix is a consistent copy even while writers go on.
    fn export(
        &self,
        upto: &JournalHead,
        visit: &mut dyn FnMut(Record<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// The number of a plan's last event (0 when it has none). The default
    /// reads the log; a backend that keys events by number reads one key.
    fn last_seq(&self, plan: &str) -> Result<u64, StoreError> {
        Ok(self.raw_events(plan)?.len() as u64)
    }

    /// Keeps a record derived from the plans' logs (a summary that can be
    /// rebuilt from them): neither journaled nor synced, so a crash may
    /// lose or leave behind an old copy, and readers check it against the
    /// log (see `summary`). The default writes it durably.
    fn put_derived(&self, kind: &'static str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.write_records(&[RecordWrite::Put { kind, key: key.to_string(), bytes: bytes.to_vec() }])
    }
}

/// One write of an atomic batch of keyed records ([`Store::write_records`]).
/// A record is named by a kind (`users`, `answers`...) and a key within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordWrite {
    /// Creates a record; the whole batch fails with `Exists` if it is there.
    Create { kind: &'static str, key: String, bytes: Vec<u8> },
    /// Creates or replaces a record.
    Put { kind: &'static str, key: String, bytes: Vec<u8> },
    /// Removes a record (nothing when it is absent).
    Delete { kind: &'static str, key: String },
}

/// One stored record, as its exact bytes (what backups carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    Institution { id: &'a str, bytes: &'a [u8] },
    Plan { id: &'a str, bytes: &'a [u8] },
    Event { plan: &'a str, seq: u64, bytes: &'a [u8] },
}

/// Reads a plan's log as events.
pub fn events(store: &dyn Store, plan: &str) -> Result<Vec<Event>, StoreError> {
    store
        .raw_events(plan)?
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            serde_json::from_slice(bytes)
                .map_err(|e| StoreError::Corrupt { key: format!("{plan}#{}", i + 1), reason: e.to_string() })
        })
        .collect()
}
