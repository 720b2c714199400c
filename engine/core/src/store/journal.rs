//! The store-wide journal and the audit that checks a store against it.
//!
//! Every write (an institution, a plan with its first event, an event)
//! records one journal entry per record, in the same atomic write as the
//! record: its kind and id, the sha256 of the record's exact stored bytes,
//! and the hash of the journal entry before it. Entries are keyed by a
//! global position (1, 2, 3...), so the journal is one hash chain over
//! everything the store ever acknowledged.
//!
//! A plan's own chain proves that each event follows the previous one, but
//! not that the log is whole: its last event can be changed or removed,
//! events can be added after it, a plan can vanish with all its events, and
//! every one of these still leaves a valid chain. The journal catches each:
//! a changed record no longer hashes to its entry, a removed one leaves an
//! entry without a record, an added one is a record without an entry. A
//! rewrite that recomputes every hash and the whole journal consistently is
//! not caught here; that takes checkpoints signed and kept outside the store.
//!
//! The audit is backend-neutral: a backend feeds [`Expected`] with the
//! journal and [`Scanned`] with the stored records (each may be filled on
//! its own thread), and [`audit`] compares them.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::chain::{BrokenLink, hex_into, short};

/// A sha256 digest.
pub type Digest32 = [u8; 32];

/// The sha256 of some bytes.
pub fn sha256(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

/// Version byte that starts every entry, so the layout can change later.
const ENTRY_VERSION: u8 = 1;
/// version, kind, flags, prev, record, seq.
const FIXED: usize = 1 + 1 + 1 + 32 + 32 + 8;
/// Flag of the last entry of one write (a plan's creation writes two).
pub const END_OF_WRITE: u8 = 1;

/// What a journal entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Institution,
    Plan,
    Event,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Institution => 1,
            Kind::Plan => 2,
            Kind::Event => 3,
        }
    }

    fn from_code(code: u8) -> Option<Kind> {
        match code {
            1 => Some(Kind::Institution),
            2 => Some(Kind::Plan),
            3 => Some(Kind::Event),
            _ => None,
        }
    }
}

/// One journal entry, borrowing its id from the stored bytes.
///
/// Layout: version (1 byte), kind (1), flags (1: [`END_OF_WRITE`]), the
/// previous entry's hash (32), the record's sha256 (32), the event's
/// sequence number (8, big-endian; 0 for other kinds), then the
/// institution or plan id in UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub kind: Kind,
    /// [`END_OF_WRITE`] on the last entry of a write.
    pub flags: u8,
    /// The institution id, or the plan id (for plans and events).
    pub id: &'a str,
    pub seq: u64,
    /// sha256 of the record's exact stored bytes.
    pub record: Digest32,
    /// Hash of the entry before this one (zeros for the first).
    pub prev: Digest32,
}

impl<'a> Entry<'a> {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED + self.id.len());
        out.push(ENTRY_VERSION);
        out.push(self.kind.code());
        out.push(self.flags);
        out.extend_from_slice(&self.prev);
        out.extend_from_slice(&self.record);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(self.id.as_bytes());
        out
    }

    pub fn decode(bytes: &'a [u8]) -> Result<Entry<'a>, String> {
        if bytes.len() < FIXED {
            return Err(format!("is {} bytes long, shorter than any entry", bytes.len()));
        }
        if bytes[0] != ENTRY_VERSION {
            return Err(format!("has layout version {}, this engine reads {ENTRY_VERSION}", bytes[0]));
        }
        let kind = Kind::from_code(bytes[1]).ok_or_else(|| format!("has an unknown kind {}", bytes[1]))?;
        let take = |from: usize| -> Digest32 {
            let mut d = [0; 32];
            d.copy_from_slice(&bytes[from..from + 32]);
            d
        };
        let mut seq = [0; 8];
        seq.copy_from_slice(&bytes[67..75]);
        let id = std::str::from_utf8(&bytes[FIXED..]).map_err(|_| "names an id that is not UTF-8".to_string())?;
        Ok(Entry { kind, flags: bytes[2], id, seq: u64::from_be_bytes(seq), record: take(35), prev: take(3) })
    }
}

/// The hash that links the next entry to this one: it covers the position
/// too, so entries cannot be renumbered.
pub fn entry_hash(position: u64, bytes: &[u8]) -> Digest32 {
    let mut h = Sha256::new();
    h.update(position.to_be_bytes());
    h.update(bytes);
    h.finalize().into()
}

/// Where the journal ends: its last position and that entry's hash (zeros
/// and position 0 for an empty journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JournalHead {
    pub position: u64,
    pub hash: Digest32,
}

impl JournalHead {
    /// The head after appending an entry with these bytes.
    pub fn next(&self, entry: &[u8]) -> JournalHead {
        let position = self.position + 1;
        JournalHead { position, hash: entry_hash(position, entry) }
    }

    pub fn hash_hex(&self) -> String {
        super::chain::hex(&self.hash)
    }
}

/// What a store audit found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Events in plans with nothing wrong.
    pub events_checked: u64,
    pub plans_checked: u64,
    pub journal_entries: u64,
    /// The first problem of each plan (by plan id; store-wide problems,
    /// such as an institution's record or the journal itself, have an
    /// empty plan).
    pub broken: Vec<BrokenLink>,
}

/// What the journal says was written, read entry by entry in order.
#[derive(Debug, Default)]
pub struct Expected {
    institutions: HashMap<String, (Digest32, u64)>,
    plans: HashMap<String, ExpectedPlan>,
    findings: Vec<BrokenLink>,
    head: JournalHead,
}

#[derive(Debug, Default)]
struct ExpectedPlan {
    /// The plan record's hash and journal position.
    meta: Option<(Digest32, u64)>,
    /// (seq, hash, position) in journal order.
    events: Vec<(u64, Digest32, u64)>,
}

impl Expected {
    /// Takes the next entry (position and stored bytes), in key order.
    pub fn entry(&mut self, position: u64, bytes: &[u8]) {
        let expected = self.head.position + 1;
        if position != expected {
            let gap = if position > expected {
                format!("journal entries {expected} to {} are missing", position - 1)
            } else {
                format!("journal entry {position} is out of order")
            };
            self.findings.push(BrokenLink { plan: String::new(), seq: 0, reason: gap });
        }
        let next = JournalHead { position, hash: entry_hash(position, bytes) };
        match Entry::decode(bytes) {
            Err(why) => self.findings.push(BrokenLink {
                plan: String::new(),
                seq: 0,
                reason: format!("journal entry {position} {why}"),
            }),
            Ok(entry) => {
                if entry.prev != self.head.hash && position == expected {
                    let blame = if position > 1 { position - 1 } else { position };
                    self.findings.push(BrokenLink {
                        plan: if entry.kind == Kind::Institution { String::new() } else { entry.id.to_string() },
                        seq: 0,
                        reason: format!(
                            "journal entry {position} does not link to entry {blame}: the journal was edited"
                        ),
                    });
                }
                self.record(entry, position);
            }
        }
        self.head = next;
    }

    fn record(&mut self, entry: Entry<'_>, position: u64) {
        match entry.kind {
            Kind::Institution => {
                self.institutions.insert(entry.id.to_string(), (entry.record, position));
            }
            Kind::Plan => {
                let plan = self.plans.entry(entry.id.to_string()).or_default();
                plan.meta = Some((entry.record, position));
            }
            Kind::Event => {
                // Most entries follow one of the same plan: look up without allocating.
                match self.plans.get_mut(entry.id) {
                    Some(plan) => plan.events.push((entry.seq, entry.record, position)),
                    None => {
                        self.plans.entry(entry.id.to_string()).or_default().events.push((
                            entry.seq,
                            entry.record,
                            position,
                        ));
                    }
                }
            }
        }
    }

    pub fn head(&self) -> JournalHead {
        self.head
    }
}

/// The stored events, read plan by plan in key order; checks each plan's
/// own chain (numbering and links) as it goes.
#[derive(Debug, Default)]
pub struct Scanned {
    plans: HashMap<String, ScannedPlan>,
    current: Option<(String, ScannedPlan)>,
}

#[derive(Debug, Default)]
struct ScannedPlan {
    /// (seq, hash) in key order.
    events: Vec<(u64, Digest32)>,
    /// The first break of the plan's own chain.
    chain: Option<(u64, String)>,
}

/// The fields of an event the chain needs; the rest (payload, effects) is
/// skipped without being built.
#[derive(Deserialize)]
struct Link<'a> {
    seq: u64,
    #[serde(borrow)]
    prev: std::borrow::Cow<'a, str>,
}

impl Scanned {
    /// Takes the next stored event (in key order: plan, then seq).
    pub fn event(&mut self, plan: &str, seq: u64, bytes: &[u8]) {
        if self.current.as_ref().is_none_or(|(id, _)| id != plan) {
            self.finish_plan();
            self.current = Some((plan.to_string(), self.plans.remove(plan).unwrap_or_default()));
        }
        let Some((_, scanned)) = self.current.as_mut() else { return };
        let digest = sha256(bytes);
        if scanned.chain.is_none() {
            let (expected_seq, prev) = match scanned.events.last() {
                Some((s, d)) => (s + 1, Some(d)),
                None => (1, None),
            };
            scanned.chain = check_link(seq, bytes, expected_seq, prev);
        }
        scanned.events.push((seq, digest));
    }

    /// Takes a stored key that is not a well-formed event key.
    pub fn bad_key(&mut self, key: &[u8]) {
        self.finish_plan();
        let plan = String::from_utf8_lossy(key.split(|&b| b == 0).next().unwrap_or_default()).into_owned();
        let scanned = self.plans.entry(plan).or_default();
        if scanned.chain.is_none() {
            scanned.chain = Some((0, format!("a stored event key is malformed ({} bytes)", key.len())));
        }
    }

    fn finish_plan(&mut self) {
        if let Some((id, plan)) = self.current.take() {
            self.plans.insert(id, plan);
        }
    }

    /// Adds another scan of a disjoint key range.
    pub fn merge(&mut self, mut other: Scanned) {
        self.finish_plan();
        other.finish_plan();
        for (id, plan) in other.plans {
            match self.plans.get_mut(&id) {
                // A plan split across ranges cannot happen with ranges cut at
                // plan boundaries; keep both halves' findings if it does.
                Some(mine) => {
                    mine.events.extend(plan.events);
                    mine.events.sort_by_key(|(s, _)| *s);
                    if mine.chain.is_none() {
                        mine.chain = plan.chain;
                    }
                }
                None => {
                    self.plans.insert(id, plan);
                }
            }
        }
    }
}

/// The first break of a plan's own chain at this event, if any.
fn check_link(seq: u64, bytes: &[u8], expected_seq: u64, prev: Option<&Digest32>) -> Option<(u64, String)> {
    if seq != expected_seq {
        return Some((expected_seq, format!("is missing (the next stored event is number {seq})")));
    }
    let link: Link = match serde_json::from_slice(bytes) {
        Ok(link) => link,
        Err(e) => return Some((seq, format!("cannot be read: {e}"))),
    };
    if link.seq != seq {
        return Some((seq, format!("is numbered {} but stored as event {seq}", link.seq)));
    }
    let links = match prev {
        None => link.prev.is_empty(),
        Some(d) => {
            let mut buf = [0; 64];
            hex_into(d, &mut buf);
            link.prev.as_bytes() == buf
        }
    };
    if !links {
        let actual = prev.map(super::chain::hex).unwrap_or_default();
        return Some((
            seq,
            format!("links to {} but the previous event hashes to {}", short(&link.prev), short(&actual)),
        ));
    }
    None
}

/// Compares what the journal says with what is stored: the institutions'
/// and plans' records (id and sha256 of their bytes) and the scanned events.
///
/// `late` names the records of writes that began after the journal was
/// read (the store is in use): they are left out rather than reported as
/// written behind the engine's back.
pub fn audit(
    expected: Expected,
    mut institutions: Vec<(String, Digest32)>,
    mut plans: Vec<(String, Digest32)>,
    mut scanned: Scanned,
    late: &[(Kind, String, u64)],
) -> Audit {
    scanned.finish_plan();
    for (kind, id, seq) in late {
        match kind {
            Kind::Institution => institutions.retain(|(i, _)| i != id),
            Kind::Plan => plans.retain(|(p, _)| p != id),
            Kind::Event => {
                if let Some(plan) = scanned.plans.get_mut(id) {
                    plan.events.retain(|(s, _)| s != seq);
                    if plan.chain.as_ref().is_some_and(|(s, _)| s >= seq) {
                        plan.chain = None;
                    }
                }
            }
        }
    }
    scanned.plans.retain(|_, plan| !plan.events.is_empty() || plan.chain.is_some());
    let Expected { institutions: mut journal_institutions, plans: mut journal_plans, findings, head } = expected;
    // plan id → its findings (seq, reason); "" for store-wide ones.
    let mut found: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for f in findings {
        found.entry(f.plan).or_default().push((f.seq, f.reason));
    }
    let mut store_wide = |reason: String| found_push(&mut found, "", 0, reason);

    for (id, digest) in institutions {
        match journal_institutions.remove(&id) {
            None => {
                store_wide(format!("institution `{id}` is not in the journal: it was added behind integritas's back"))
            }
            Some((recorded, position)) if recorded != digest => {
                store_wide(format!("institution `{id}` was changed after it was written (journal entry {position})"))
            }
            Some(_) => {}
        }
    }
    for (id, (_, position)) in journal_institutions {
        store_wide(format!("institution `{id}` is missing: the journal recorded it at entry {position}"));
    }

    let mut plan_ids: Vec<String> = Vec::new();
    let mut stored_plans: HashMap<String, Digest32> = HashMap::new();
    for (id, digest) in plans {
        plan_ids.push(id.clone());
        stored_plans.insert(id, digest);
    }
    plan_ids.extend(journal_plans.keys().filter(|id| !stored_plans.contains_key(*id)).cloned());
    plan_ids.extend(
        scanned.plans.keys().filter(|id| !stored_plans.contains_key(*id) && !journal_plans.contains_key(*id)).cloned(),
    );

    let mut events_checked = 0;
    let mut plans_checked = 0;
    for id in &plan_ids {
        let journal = journal_plans.remove(id).unwrap_or_default();
        let stored = scanned.plans.remove(id).unwrap_or_default();
        let mut mine: Vec<(u64, String)> = found.remove(id).unwrap_or_default();
        match (stored_plans.get(id), journal.meta) {
            (None, Some((_, position))) => mine.push((
                0,
                format!(
                    "the plan's record is missing: it was removed behind integritas's back (journal entry {position})"
                ),
            )),
            (Some(_), None) => {
                mine.push((0, "the plan's record is not in the journal: it was added behind integritas's back".into()))
            }
            (Some(digest), Some((recorded, position))) if *digest != recorded => {
                mine.push((0, format!("the plan's record was changed after it was written (journal entry {position})")))
            }
            _ => {}
        }
        if let Some(chain) = stored.chain.clone() {
            mine.push(chain);
        }
        compare_events(&journal.events, &stored.events, &mut mine);
        plans_checked += 1;
        if mine.is_empty() {
            events_checked += stored.events.len() as u64;
        } else {
            found.insert(id.clone(), mine);
        }
    }
    let broken = found
        .into_iter()
        .filter_map(|(plan, mut list)| {
            list.sort_by_key(|(seq, _)| *seq);
            list.into_iter().next().map(|(seq, reason)| BrokenLink { plan, seq, reason })
        })
        .collect();
    Audit { events_checked, plans_checked, journal_entries: head.position, broken }
}

fn found_push(found: &mut BTreeMap<String, Vec<(u64, String)>>, plan: &str, seq: u64, reason: String) {
    found.entry(plan.to_string()).or_default().push((seq, reason));
}

/// Walks a plan's journal entries and stored events together, by sequence number.
fn compare_events(journal: &[(u64, Digest32, u64)], stored: &[(u64, Digest32)], out: &mut Vec<(u64, String)>) {
    let (mut j, mut s) = (0, 0);
    while j < journal.len() || s < stored.len() {
        let next_j = journal.get(j).map(|e| e.0);
        let next_s = stored.get(s).map(|e| e.0);
        match (next_j, next_s) {
            (Some(a), Some(b)) if a == b => {
                let (_, recorded, position) = journal[j];
                let (_, digest) = stored[s];
                if recorded != digest {
                    out.push((
                        a,
                        format!(
                            "its stored bytes were changed after it was written (they hash to {}, journal entry {position} recorded {})",
                            short(&super::chain::hex(&digest)),
                            short(&super::chain::hex(&recorded))
                        ),
                    ));
                    return;
                }
                j += 1;
                s += 1;
            }
            (Some(a), b) if b.is_none_or(|b| a < b) => {
                let position = journal[j].2;
                out.push((
                    a,
                    format!("is missing: it was removed behind integritas's back (journal entry {position})"),
                ));
                return;
            }
            (_, Some(b)) => {
                out.push((b, "is not in the journal: it was added behind integritas's back".into()));
                return;
            }
            _ => return,
        }
    }
}
