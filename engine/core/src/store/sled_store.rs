//! The sled-backed [`Store`]: the embedded default, and the only module
//! that names sled.
//!
//! Durability: sled 0.34's `flush` writes its log with `sync_file_range`,
//! which neither flushes the device's write cache nor the file's metadata
//! (its size), and sled calls `fsync` only from a background thread every
//! 500 ms. So every write here ends in a group commit ([`super::commit`])
//! whose leader runs sled's `flush` and then `fdatasync`s the files sled
//! wrote ([`SledFiles`]) before anyone is told their write is done.
//!
//! Atomicity: each write inserts its journal entries, then its records,
//! under a mutex (the journal head) held only for those inserts, never for
//! the sync; sled recovers a prefix of inserts, so a crash can only cut the
//! last write short, and opening removes such a write (see
//! [`SledStore::write_unsynced`] for why not sled transactions).

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sled::{Db, Tree};

use super::commit::GroupCommit;
use super::journal::{self, Audit, Digest32, Entry, Expected, JournalHead, Kind, Scanned, sha256};
use super::{Institution, PlanMeta, Record, RecordWrite, Store, StoreError};

/// How a store on disk is opened.
#[derive(Debug, Clone)]
pub struct SledConfig {
    /// How long to wait for another process to let go of the folder
    /// before saying it is in use (a short command of another process
    /// finishes well within it).
    pub lock_wait: Duration,
    /// sled's page cache. Small on purpose: the engine keeps its own
    /// projections, and verifying a million events must fit in 512 MiB.
    pub cache_bytes: u64,
}

impl Default for SledConfig {
    fn default() -> Self {
        SledConfig { lock_wait: Duration::from_secs(5), cache_bytes: 64 << 20 }
    }
}

/// Marks a store whose every record has a journal entry; a store without
/// it predates the journal and is adopted (journaled as found) on open.
const FORMAT_KEY: &[u8] = b"store_format";
const FORMAT: &[u8] = b"2";
/// The journal position the last successful sync covered.
const SYNCED_KEY: &[u8] = b"synced_through";

/// sled on a directory.
pub struct SledStore {
    db: Db,
    institutions: Tree,
    plans: Tree,
    events: Tree,
    journal: Tree,
    /// Plan id → the pack version its last `@migrated` event moved it to:
    /// derived from the events as they are written (never authoritative),
    /// so listing plans needs no replay of their logs.
    versions: Tree,
    /// Each plan's last event number (8 bytes, big-endian), written with
    /// its events: checking a plan summary against its log then reads
    /// these few bytes, not the leaf holding the plan's last (possibly
    /// large) event. Derived: a plan without an entry falls back to its log.
    heads: Tree,
    /// Keyed records of every kind (`kind NUL key` → bytes): accounts,
    /// sessions, anonymous answers. Outside the journal.
    keyed: Tree,
    /// The security log: big-endian entry number → bytes.
    security: Tree,
    /// Orders writes of keyed records and of the security log, so that a
    /// `Create` checks and writes its batch as one.
    keyed_lock: Mutex<()>,
    /// The journal's end; its lock is the writers' short critical section.
    head: Mutex<JournalHead>,
    commit: GroupCommit,
    /// The files to `fdatasync` after each flush (`None` for a temporary store).
    files: Option<SledFiles>,
    dir: PathBuf,
}

impl SledStore {
    /// Opens (or creates) the store in `dir` with the default settings.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        Self::open_with(dir, &SledConfig::default())
    }

    /// Opens (or creates) the store in `dir`: waits up to
    /// `config.lock_wait` for another process holding it, and tells a
    /// damaged store apart from a busy one.
    pub fn open_with(dir: &Path, config: &SledConfig) -> Result<SledStore, StoreError> {
        let deadline = Instant::now() + config.lock_wait;
        let locked = || StoreError::Locked { dir: dir.display().to_string(), waited_secs: config.lock_wait.as_secs() };
        let db = loop {
            if !wait_for_lock(dir, deadline) {
                return Err(locked());
            }
            // No periodic background flush: durability is explicit, per write.
            let opened = sled::Config::new().path(dir).cache_capacity(config.cache_bytes).flush_every_ms(None).open();
            match opened {
                Ok(db) => break db,
                // Someone took the lock between the probe and sled's own attempt.
                Err(e) if is_lock_error(&e) => {
                    if Instant::now() >= deadline {
                        return Err(locked());
                    }
                    std::thread::sleep(LOCK_POLL);
                }
                Err(e) => return Err(open_error(dir, e)),
            }
        };
        let files = SledFiles::open(dir).map_err(|e| open_error(dir, sled::Error::Io(e)))?;
        Self::with_db(db, Some(files), dir.to_path_buf())
    }

    /// A store that lives in memory and a temporary file, gone when dropped
    /// (scenario tests). Its writes skip the device sync: nothing outlives it.
    pub fn temporary() -> Result<SledStore, StoreError> {
        let db = sled::Config::new().temporary(true).flush_every_ms(None).open().map_err(backend)?;
        Self::with_db(db, None, PathBuf::from("(temporary)"))
    }

    fn with_db(db: Db, files: Option<SledFiles>, dir: PathBuf) -> Result<SledStore, StoreError> {
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_error(&dir, e));
        let mut store = SledStore {
            institutions: tree("institutions")?,
            plans: tree("plans")?,
            events: tree("events")?,
            journal: tree("journal")?,
            versions: tree("plan_versions")?,
            heads: tree("plan_heads")?,
            keyed: tree("records")?,
            security: tree("security_log")?,
            keyed_lock: Mutex::new(()),
            head: Mutex::new(JournalHead::default()),
            commit: GroupCommit::default(),
            files,
            dir: dir.clone(),
            db,
        };
        let head = store.read_head()?;
        *store.head.get_mut().unwrap_or_else(|p| p.into_inner()) = head;
        store.adopt_unjournaled()?;
        store.heal()?;
        Ok(store)
    }

    /// The journal's last entry, as stored.
    fn read_head(&self) -> Result<JournalHead, StoreError> {
        match self.journal.last().map_err(|e| self.storage(e))? {
            None => Ok(JournalHead::default()),
            Some((key, bytes)) => {
                let position = position_of(&key).ok_or_else(|| StoreError::Damaged {
                    dir: self.dir.display().to_string(),
                    reason: "the journal's last key is malformed".into(),
                })?;
                Ok(JournalHead { position, hash: journal::entry_hash(position, &bytes) })
            }
        }
    }

    /// A store written before the journal existed gets its records
    /// journaled as they are found, once; a new store is marked so that a
    /// journal removed later is noticed instead of being rebuilt.
    fn adopt_unjournaled(&self) -> Result<(), StoreError> {
        if self.db.get(FORMAT_KEY).map_err(|e| self.storage(e))?.is_some() {
            return Ok(());
        }
        if self.journal.is_empty() {
            let mut head = self.lock_head();
            let mut batch = sled::Batch::default();
            let mut next = *head;
            let mut add = |kind: Kind, id: &str, seq: u64, bytes: &[u8]| {
                let flags = journal::END_OF_WRITE;
                let entry = Entry { kind, flags, id, seq, record: sha256(bytes), prev: next.hash }.encode();
                next = next.next(&entry);
                batch.insert(&next.position.to_be_bytes(), entry);
            };
            for item in self.institutions.iter() {
                let (key, bytes) = item.map_err(|e| self.storage(e))?;
                add(Kind::Institution, &String::from_utf8_lossy(&key), 0, &bytes);
            }
            for item in self.plans.iter() {
                let (key, bytes) = item.map_err(|e| self.storage(e))?;
                let id = String::from_utf8_lossy(&key).into_owned();
                add(Kind::Plan, &id, 0, &bytes);
                for event in self.events.scan_prefix(plan_prefix(&id)) {
                    let (key, bytes) = event.map_err(|e| self.storage(e))?;
                    let seq = event_key_parts(&key).map_or(0, |(_, seq)| seq);
                    add(Kind::Event, &id, seq, &bytes);
                }
            }
            if next.position > 0 {
                tracing::warn!(entries = next.position, "journaled a store written before the journal existed");
            }
            self.journal.apply_batch(batch).map_err(|e| self.storage(e))?;
            *head = next;
        }
        self.db.insert(FORMAT_KEY, FORMAT).map_err(|e| self.storage(e))?;
        self.durable()
    }

    fn lock_head(&self) -> MutexGuard<'_, JournalHead> {
        self.head.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns once everything written so far is on the device.
    fn durable(&self) -> Result<(), StoreError> {
        self.commit.commit(|| {
            // Everything up to here is in sled's memory, so this flush covers it.
            let covers = self.lock_head().position;
            self.db.flush().map_err(|e| self.storage(e))?;
            if let Some(files) = &self.files {
                files.sync().map_err(io_error)?;
            }
            // Reaches the disk with the next flush (at the latest on close):
            // tells `heal` which writes were acknowledged.
            self.db.insert(SYNCED_KEY, &covers.to_be_bytes()).map_err(|e| self.storage(e))?;
            Ok(())
        })
    }

    /// A sled error as the store error a coordinator can act on.
    fn storage(&self, e: sled::Error) -> StoreError {
        match e {
            sled::Error::Io(e) => io_error(e),
            sled::Error::Corruption { .. } => {
                StoreError::Damaged { dir: self.dir.display().to_string(), reason: "sled found a damaged page".into() }
            }
            other => backend(other),
        }
    }

    /// Runs one write (its journal entries, then its records) under the
    /// journal head's lock, then the group commit.
    fn write(&self, records: &[Record<'_>]) -> Result<(), StoreError> {
        self.write_unsynced(records)?;
        self.durable()
    }

    /// The tree and key a record lives under.
    fn place<'r>(&self, record: &Record<'r>) -> (&Tree, Vec<u8>, Kind, &'r str, u64, &'r [u8]) {
        match *record {
            Record::Institution { id, bytes } => {
                (&self.institutions, id.as_bytes().to_vec(), Kind::Institution, id, 0, bytes)
            }
            Record::Plan { id, bytes } => (&self.plans, id.as_bytes().to_vec(), Kind::Plan, id, 0, bytes),
            Record::Event { plan, seq, bytes } => (&self.events, event_key(plan, seq), Kind::Event, plan, seq, bytes),
        }
    }

    /// Why not sled transactions: in sled 0.34 every transaction or batch
    /// rolls the log buffer and writes it with `sync_file_range` before it
    /// commits, while holding a process-wide lock that also waits for any
    /// flush: that tripled the cost of one durable event and serialised
    /// concurrent writers behind device writes. Plain inserts are atomic
    /// each, and sled recovers a prefix of them in order, so the entries
    /// go first and the records after them: a crash can only leave the
    /// last write without (some of) its records, which [`Self::heal`]
    /// removes on open (it was never acknowledged).
    fn write_unsynced(&self, records: &[Record<'_>]) -> Result<(), StoreError> {
        let mut head = self.lock_head();
        for record in records {
            let (tree, key, ..) = self.place(record);
            if tree.contains_key(&key).map_err(|e| self.storage(e))? {
                return Err(match *record {
                    Record::Institution { id, .. } => StoreError::Exists { kind: "institution", id: id.into() },
                    Record::Plan { id, .. } => StoreError::Exists { kind: "plan", id: id.into() },
                    Record::Event { plan, seq, .. } => StoreError::Conflict { plan: plan.into(), seq },
                });
            }
        }
        let mut next = *head;
        let mut entries = Vec::with_capacity(records.len());
        for (i, record) in records.iter().enumerate() {
            let (_, _, kind, id, seq, bytes) = self.place(record);
            let flags = if i + 1 == records.len() { journal::END_OF_WRITE } else { 0 };
            let entry = Entry { kind, flags, id, seq, record: sha256(bytes), prev: next.hash }.encode();
            next = next.next(&entry);
            entries.push((next.position, entry));
        }
        let inserted = entries
            .into_iter()
            .try_for_each(|(position, entry)| self.journal.insert(position.to_be_bytes(), entry).map(drop))
            .and_then(|()| {
                records.iter().try_for_each(|record| {
                    let (tree, key, .., bytes) = self.place(record);
                    tree.insert(key, bytes).map(drop)
                })
            });
        let inserted = inserted.and_then(|()| {
            records.iter().try_for_each(|record| self.index_version(record).and_then(|()| self.index_head(record)))
        });
        if let Err(e) = inserted {
            // Half a write is in sled's memory: nothing more may be acknowledged.
            let e = self.storage(e);
            self.commit.poison(e.clone());
            return Err(e);
        }
        *head = next;
        Ok(())
    }

    /// Keeps the plan-version index up to date with a migration event.
    fn index_version(&self, record: &Record<'_>) -> sled::Result<()> {
        let Record::Event { plan, bytes, .. } = *record else { return Ok(()) };
        if !bytes.windows(MIGRATED_MARK.len()).any(|w| w == MIGRATED_MARK) {
            return Ok(());
        }
        let Ok(event) = serde_json::from_slice::<super::Event>(bytes) else { return Ok(()) };
        for effect in &event.effects {
            if let super::Effect::Migrated { to, .. } = effect {
                self.versions.insert(plan.as_bytes(), to.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Keeps a plan's last event number beside its log (after the event,
    /// so sled's in-order recovery never has the number without the event).
    fn index_head(&self, record: &Record<'_>) -> sled::Result<()> {
        let Record::Event { plan, seq, .. } = *record else { return Ok(()) };
        self.heads.insert(plan.as_bytes(), &seq.to_be_bytes()).map(drop)
    }

    /// A plan's record with the version its migrations moved it to.
    fn with_version(&self, mut meta: PlanMeta) -> Result<PlanMeta, StoreError> {
        if let Some(version) = self.versions.get(meta.id.as_bytes()).map_err(|e| self.storage(e))? {
            meta.pack_version = String::from_utf8_lossy(&version).into_owned();
        }
        Ok(meta)
    }

    /// Removes a write that a crash cut short: the journal's last write, if
    /// it began after the last sync this store recorded and lacks its end
    /// flag or any of its records. Such a write was never acknowledged.
    /// (A record removed later by hand from an acknowledged write is not
    /// touched: its write is at or before the recorded sync, and the audit
    /// names it.)
    fn heal(&self) -> Result<(), StoreError> {
        let synced = self.synced_through()?;
        let mut tail: Vec<(u64, Vec<u8>)> = Vec::new();
        for item in self.journal.iter().rev() {
            let (key, bytes) = item.map_err(|e| self.storage(e))?;
            let Some(position) = position_of(&key).filter(|p| *p > synced) else { break };
            let Ok(entry) = Entry::decode(&bytes) else { break };
            if !tail.is_empty() && entry.flags & journal::END_OF_WRITE != 0 {
                break;
            }
            tail.push((position, bytes.to_vec()));
        }
        let Some((_, last)) = tail.first() else { return Ok(()) };
        // The write after the last sync may have lost its plans' last event
        // numbers, or may be removed below: those plans read their logs again.
        for (_, bytes) in &tail {
            if let Ok(entry) = Entry::decode(bytes)
                && entry.kind == Kind::Event
            {
                self.heads.remove(entry.id.as_bytes()).map_err(|e| self.storage(e))?;
            }
        }
        let ended = Entry::decode(last).is_ok_and(|e| e.flags & journal::END_OF_WRITE != 0);
        let mut whole = ended;
        for (_, bytes) in &tail {
            let Ok(entry) = Entry::decode(bytes) else { return Ok(()) };
            let (tree, key) = self.entry_place(&entry);
            whole &= tree.contains_key(key).map_err(|e| self.storage(e))?;
        }
        if whole {
            return Ok(());
        }
        for (position, bytes) in &tail {
            if let Ok(entry) = Entry::decode(bytes) {
                let (tree, key) = self.entry_place(&entry);
                tree.remove(key).map_err(|e| self.storage(e))?;
            }
            self.journal.remove(position.to_be_bytes()).map_err(|e| self.storage(e))?;
        }
        tracing::warn!(entries = tail.len(), "removed a write that a crash cut short (it was never acknowledged)");
        *self.lock_head() = self.read_head()?;
        self.durable()
    }

    fn entry_place(&self, entry: &Entry<'_>) -> (&Tree, Vec<u8>) {
        match entry.kind {
            Kind::Institution => (&self.institutions, entry.id.as_bytes().to_vec()),
            Kind::Plan => (&self.plans, entry.id.as_bytes().to_vec()),
            Kind::Event => (&self.events, event_key(entry.id, entry.seq)),
        }
    }

    /// The journal position the last recorded sync covered.
    fn synced_through(&self) -> Result<u64, StoreError> {
        Ok(self.db.get(SYNCED_KEY).map_err(|e| self.storage(e))?.and_then(|v| position_of(&v)).unwrap_or(0))
    }

    /// Writes records restored from a backup, in journal order, without a
    /// sync each: [`SledStore::finish_import`] syncs once at the end.
    /// (A plan and its first event make one write, as [`Store::add_plan`] does.)
    pub(super) fn import(&self, records: &[Record<'_>]) -> Result<(), StoreError> {
        self.write_unsynced(records)
    }

    /// Makes an import durable; returns the journal head it built.
    pub(super) fn finish_import(&self) -> Result<JournalHead, StoreError> {
        let head = *self.lock_head();
        self.durable()?;
        Ok(head)
    }

    /// Reads the events of plans in `[from, to)` (key range) into a scan.
    fn scan_events(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> Result<Scanned, StoreError> {
        use std::ops::Bound;
        let lower = from.map_or(Bound::Unbounded, Bound::Included);
        let upper = to.map_or(Bound::Unbounded, Bound::Excluded);
        let mut scanned = Scanned::default();
        for item in self.events.range::<&[u8], _>((lower, upper)) {
            let (key, bytes) = item.map_err(|e| self.storage(e))?;
            match event_key_parts(&key) {
                Some((plan, seq)) => scanned.event(plan, seq, &bytes),
                None => scanned.bad_key(&key),
            }
        }
        Ok(scanned)
    }

    fn read_journal(&self, upto: u64) -> Result<Expected, StoreError> {
        let mut expected = Expected::default();
        for item in self.journal.range(..=upto.to_be_bytes()) {
            let (key, bytes) = item.map_err(|e| self.storage(e))?;
            // A malformed key counts as position 0: reported as out of order.
            expected.entry(position_of(&key).unwrap_or(0), &bytes);
        }
        Ok(expected)
    }

    fn digests(&self, tree: &Tree) -> Result<Vec<(String, Digest32)>, StoreError> {
        tree.iter()
            .map(|item| {
                let (key, bytes) = item.map_err(|e| self.storage(e))?;
                Ok((String::from_utf8_lossy(&key).into_owned(), sha256(&bytes)))
            })
            .collect()
    }
}

impl Drop for SledStore {
    /// Closing flushes, so the last recorded sync reaches the disk too.
    fn drop(&mut self) {
        let _ = self.db.flush();
    }
}

/// How often to look again while another process holds the folder.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Waits until no other process holds sled's lock on `<dir>/db` (sled
/// takes an exclusive `flock` on it); false if it is still held at
/// `deadline`. A folder without a store yet is free.
fn wait_for_lock(dir: &Path, deadline: Instant) -> bool {
    let Ok(file) = File::open(dir.join("db")) else { return true };
    loop {
        match file.try_lock() {
            // Closing the file releases the probe's lock at once.
            Ok(()) => return true,
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => std::thread::sleep(LOCK_POLL),
            Err(std::fs::TryLockError::WouldBlock) => return false,
            // Let sled report whatever this is.
            Err(std::fs::TryLockError::Error(_)) => return true,
        }
    }
}

/// sled 0.34 reports a held lock as an `Other` I/O error with these words.
fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// Why a folder could not be opened as a store.
fn open_error(dir: &Path, e: sled::Error) -> StoreError {
    let damaged = |reason: String| StoreError::Damaged { dir: dir.display().to_string(), reason };
    match e {
        sled::Error::Corruption { .. } => damaged("sled found a damaged page or log entry".into()),
        sled::Error::Unsupported(why) => damaged(format!("sled cannot read its files: {why}")),
        sled::Error::ReportableBug(why) => damaged(format!("sled cannot read its files: {why}")),
        sled::Error::Io(io)
            if matches!(io.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof) =>
        {
            damaged(format!("a file is cut short or garbled: {io}"))
        }
        // A folder that is not there or not ours is a setting to fix, not a disk failure.
        sled::Error::Io(io)
            if !matches!(io.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied) =>
        {
            io_error(io)
        }
        other => StoreError::Backend(format!("cannot open the data folder {}: {other}", dir.display())),
    }
}

fn is_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

fn io_error(e: std::io::Error) -> StoreError {
    let reason = describe(&e);
    if is_full(&e) { StoreError::DiskFull { reason } } else { StoreError::Io { reason } }
}

/// The words of an I/O error. sled re-raises an error it met earlier as a
/// new error holding the old one's `Debug` text (`Os { code: 28, … }`):
/// that text is for developers, so the error's kind speaks instead.
fn describe(e: &std::io::Error) -> String {
    if e.raw_os_error().is_some() {
        return e.to_string();
    }
    let text = e.to_string();
    match text.split_once("message: \"").and_then(|(_, rest)| rest.split_once('"')) {
        Some((message, _)) => message.to_string(),
        None if text.starts_with("Os {") => e.kind().to_string(),
        None => text,
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The files sled writes in its folder, synced after each flush.
///
/// sled 0.34.7 keeps its log and pages in `<dir>/db` (written in place,
/// growing), its settings in `<dir>/conf` (written once), values too large
/// for a log segment in new files under `<dir>/blobs/` (written, never
/// synced), and snapshots `snap.*` (synced by sled, written only on open
/// and close). So: the data file every time, any new blob file and the
/// blobs folder when there is one, and everything once on open.
struct SledFiles {
    db: File,
    blobs: PathBuf,
    /// Blob files already synced (only the commit leader touches this).
    synced_blobs: Mutex<HashSet<OsString>>,
}

impl SledFiles {
    fn open(dir: &Path) -> std::io::Result<SledFiles> {
        let db = File::open(dir.join("db"))?;
        db.sync_all()?;
        if let Ok(conf) = File::open(dir.join("conf")) {
            conf.sync_all()?;
        }
        let blobs = dir.join("blobs");
        let mut synced = HashSet::new();
        if let Ok(entries) = std::fs::read_dir(&blobs) {
            for entry in entries {
                let entry = entry?;
                File::open(entry.path())?.sync_data()?;
                synced.insert(entry.file_name());
            }
            File::open(&blobs)?.sync_all()?;
        }
        // The folder itself: `db`, `conf`, `blobs/` and snapshots were created or renamed in it.
        File::open(dir)?.sync_all()?;
        Ok(SledFiles { db, blobs, synced_blobs: Mutex::new(synced) })
    }

    /// `fdatasync` of what the last flush wrote.
    fn sync(&self) -> std::io::Result<()> {
        self.db.sync_data()?;
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|p| p.into_inner());
        let mut new = false;
        for entry in std::fs::read_dir(&self.blobs)? {
            let entry = entry?;
            if !synced.contains(&entry.file_name()) {
                File::open(entry.path())?.sync_data()?;
                synced.insert(entry.file_name());
                new = true;
            }
        }
        if new {
            File::open(&self.blobs)?.sync_all()?;
        }
        Ok(())
    }
}

/// What a migration event's bytes contain (its `event` field).
const MIGRATED_MARK: &[u8] = b"\"@migrated\"";

/// Key of a plan's event: the plan id, a NUL, the big-endian sequence number,
/// so a plan's events are contiguous and in order.
fn event_key(plan: &str, seq: u64) -> Vec<u8> {
    let mut key = plan_prefix(plan);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn plan_prefix(plan: &str) -> Vec<u8> {
    let mut key = plan.as_bytes().to_vec();
    key.push(0);
    key
}

/// The plan and sequence number of an event key.
fn event_key_parts(key: &[u8]) -> Option<(&str, u64)> {
    let split = key.len().checked_sub(9)?;
    let (plan, rest) = key.split_at(split);
    if rest[0] != 0 {
        return None;
    }
    let seq = u64::from_be_bytes(rest[1..].try_into().ok()?);
    Some((std::str::from_utf8(plan).ok()?, seq))
}

fn position_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt { key: String::from_utf8_lossy(key).into_owned(), reason: e.to_string() })
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialize: all keys are strings")
}

impl SledStore {
    /// One JSON record of a tree by id.
    fn get_record<T: serde::de::DeserializeOwned>(&self, tree: &Tree, id: &str) -> Result<Option<T>, StoreError> {
        match tree.get(id.as_bytes()).map_err(|e| self.storage(e))? {
            Some(bytes) => decode(id.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every JSON record of a tree, in key order.
    fn all_records<T: serde::de::DeserializeOwned>(&self, tree: &Tree) -> Result<Vec<T>, StoreError> {
        tree.iter()
            .map(|item| {
                let (key, bytes) = item.map_err(|e| self.storage(e))?;
                decode(&key, &bytes)
            })
            .collect()
    }
}

impl Store for SledStore {
    fn add_institution(&self, institution: &Institution) -> Result<(), StoreError> {
        let bytes = encode(institution);
        self.write(&[Record::Institution { id: &institution.id, bytes: &bytes }])
    }

    fn institution(&self, id: &str) -> Result<Option<Institution>, StoreError> {
        self.get_record(&self.institutions, id)
    }

    fn institutions(&self) -> Result<Vec<Institution>, StoreError> {
        self.all_records(&self.institutions)
    }

    fn next_plan_number(&self) -> Result<u64, StoreError> {
        let next = self
            .db
            .update_and_fetch("next_plan_number", |old| {
                let n = old.and_then(|b| <[u8; 8]>::try_from(b).ok()).map_or(0, u64::from_be_bytes);
                Some((n + 1).to_be_bytes().to_vec())
            })
            .map_err(|e| self.storage(e))?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map_or(1, u64::from_be_bytes);
        // Durable before use, so a number is never handed out twice.
        self.durable()?;
        Ok(next)
    }

    fn add_plan(&self, plan: &PlanMeta, first: &[u8]) -> Result<(), StoreError> {
        let meta = encode(plan);
        self.write(&[
            Record::Plan { id: &plan.id, bytes: &meta },
            Record::Event { plan: &plan.id, seq: 1, bytes: first },
        ])
    }

    fn plan(&self, id: &str) -> Result<Option<PlanMeta>, StoreError> {
        self.get_record(&self.plans, id)?.map(|meta| self.with_version(meta)).transpose()
    }

    fn plans(&self) -> Result<Vec<PlanMeta>, StoreError> {
        self.all_records(&self.plans)?.into_iter().map(|meta| self.with_version(meta)).collect()
    }

    fn append(&self, plan: &str, seq: u64, event: &[u8]) -> Result<(), StoreError> {
        self.write(&[Record::Event { plan, seq, bytes: event }])
    }

    fn last_seq(&self, plan: &str) -> Result<u64, StoreError> {
        let head = self.heads.get(plan.as_bytes()).map_err(|e| self.storage(e))?;
        if let Some(bytes) = head.and_then(|h| <[u8; 8]>::try_from(h.as_ref()).ok()) {
            return Ok(u64::from_be_bytes(bytes));
        }
        match self.events.scan_prefix(plan_prefix(plan)).keys().next_back() {
            Some(key) => {
                let key = key.map_err(|e| self.storage(e))?;
                Ok(event_key_parts(&key).map_or(0, |(_, seq)| seq))
            }
            None => Ok(0),
        }
    }

    fn put_derived(&self, kind: &'static str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        // A cache beside the records: it reaches the disk with the next flush.
        self.keyed.insert(keyed_key(kind, key), bytes).map_err(|e| self.storage(e))?;
        Ok(())
    }

    fn raw_events(&self, plan: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        self.events
            .scan_prefix(plan_prefix(plan))
            .values()
            .map(|v| v.map(|bytes| bytes.to_vec()).map_err(|e| self.storage(e)))
            .collect()
    }

    /// Reads the journal on one thread and the events, cut in two at a
    /// plan boundary, on two more: hashing dominates, and it splits.
    fn audit(&self) -> Result<Audit, StoreError> {
        let plan_keys: Vec<Vec<u8>> = self
            .plans
            .iter()
            .keys()
            .map(|k| k.map(|k| k.to_vec()).map_err(|e| self.storage(e)))
            .collect::<Result<_, _>>()?;
        let middle = plan_keys.get(plan_keys.len() / 2).map(|k| {
            let mut key = k.clone();
            key.push(0);
            key
        });
        // Writes that begin after this are left out (see `journal::audit`).
        let head = *self.lock_head();
        std::thread::scope(|s| {
            let journal = s.spawn(|| self.read_journal(head.position));
            let upper = s.spawn(|| match &middle {
                Some(m) => self.scan_events(Some(m), None),
                None => Ok(Scanned::default()),
            });
            let mut scanned = self.scan_events(None, middle.as_deref())?;
            let institutions = self.digests(&self.institutions)?;
            let plans = self.digests(&self.plans)?;
            scanned.merge(upper.join().map_err(|_| backend("the audit thread failed"))??);
            let expected = journal.join().map_err(|_| backend("the audit thread failed"))??;
            let mut late = Vec::new();
            for item in self.journal.range((head.position + 1).to_be_bytes()..) {
                let (_, bytes) = item.map_err(|e| self.storage(e))?;
                if let Ok(entry) = Entry::decode(&bytes) {
                    late.push((entry.kind, entry.id.to_string(), entry.seq));
                }
            }
            Ok(journal::audit(expected, institutions, plans, scanned, &late))
        })
    }

    fn journal_head(&self) -> Result<JournalHead, StoreError> {
        let head = *self.lock_head();
        self.durable()?;
        Ok(head)
    }

    fn export(
        &self,
        upto: &JournalHead,
        visit: &mut dyn FnMut(Record<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let damaged = |reason: String| StoreError::Damaged { dir: self.dir.display().to_string(), reason };
        let mut head = JournalHead::default();
        for item in self.journal.range(..=upto.position.to_be_bytes()) {
            let (key, bytes) = item.map_err(|e| self.storage(e))?;
            let position = position_of(&key).filter(|p| *p == head.position + 1).ok_or_else(|| {
                damaged(format!("the journal has a gap after entry {}; run `integritas verify`", head.position))
            })?;
            let entry = Entry::decode(&bytes)
                .map_err(|why| damaged(format!("journal entry {position} {why}; run `integritas verify`")))?;
            if entry.prev != head.hash {
                return Err(damaged(format!(
                    "journal entry {position} does not link to the one before it; run `integritas verify`"
                )));
            }
            head = head.next(&bytes);
            let (stored, record) = match entry.kind {
                Kind::Institution => {
                    let stored = self.institutions.get(entry.id).map_err(|e| self.storage(e))?;
                    (stored, Record::Institution { id: entry.id, bytes: &[] })
                }
                Kind::Plan => {
                    let stored = self.plans.get(entry.id).map_err(|e| self.storage(e))?;
                    (stored, Record::Plan { id: entry.id, bytes: &[] })
                }
                Kind::Event => {
                    let stored = self.events.get(event_key(entry.id, entry.seq)).map_err(|e| self.storage(e))?;
                    (stored, Record::Event { plan: entry.id, seq: entry.seq, bytes: &[] })
                }
            };
            let stored = stored.ok_or_else(|| {
                damaged(format!("a record of journal entry {position} is missing; run `integritas verify`"))
            })?;
            if sha256(&stored) != entry.record {
                return Err(damaged(format!(
                    "a record of journal entry {position} was changed after it was written; run `integritas verify`"
                )));
            }
            visit(match record {
                Record::Institution { id, .. } => Record::Institution { id, bytes: &stored },
                Record::Plan { id, .. } => Record::Plan { id, bytes: &stored },
                Record::Event { plan, seq, .. } => Record::Event { plan, seq, bytes: &stored },
            })?;
        }
        if head != *upto {
            return Err(damaged(format!(
                "the journal up to entry {} is not the one the copy started from; run `integritas verify`",
                upto.position
            )));
        }
        Ok(())
    }

    fn write_records(&self, batch: &[RecordWrite]) -> Result<(), StoreError> {
        let order = self.keyed_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut writes = sled::Batch::default();
        for write in batch {
            match write {
                RecordWrite::Create { kind, key, bytes } => {
                    let k = keyed_key(kind, key);
                    if self.keyed.get(&k).map_err(|e| self.storage(e))?.is_some() {
                        return Err(StoreError::Exists { kind, id: key.clone() });
                    }
                    writes.insert(k, bytes.as_slice());
                }
                RecordWrite::Put { kind, key, bytes } => writes.insert(keyed_key(kind, key), bytes.as_slice()),
                RecordWrite::Delete { kind, key } => writes.remove(keyed_key(kind, key)),
            }
        }
        // One batch of one tree: sled applies it whole or not at all.
        self.keyed.apply_batch(writes).map_err(|e| self.storage(e))?;
        drop(order);
        self.durable()
    }

    fn record(&self, kind: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.keyed.get(keyed_key(kind, key)).map_err(|e| self.storage(e))?.map(|v| v.to_vec()))
    }

    fn records(&self, kind: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let skip = kind.len() + 1;
        self.keyed
            .scan_prefix(keyed_key(kind, prefix))
            .map(|item| {
                let (k, v) = item.map_err(|e| self.storage(e))?;
                Ok((String::from_utf8_lossy(&k[skip..]).into_owned(), v.to_vec()))
            })
            .collect()
    }

    fn append_security_log(&self, entry: &[u8]) -> Result<u64, StoreError> {
        let order = self.keyed_lock.lock().unwrap_or_else(|p| p.into_inner());
        let next = self
            .security
            .get(LAST_SECURITY_ENTRY)
            .map_err(|e| self.storage(e))?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map_or(1, |b| u64::from_be_bytes(b) + 1);
        let mut writes = sled::Batch::default();
        writes.insert(&next.to_be_bytes(), entry);
        writes.insert(LAST_SECURITY_ENTRY, &next.to_be_bytes());
        self.security.apply_batch(writes).map_err(|e| self.storage(e))?;
        drop(order);
        self.durable()?;
        Ok(next)
    }

    fn security_log(&self, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.security
            .range(from.max(1).to_be_bytes()..)
            .filter_map(|item| match item {
                Ok((k, v)) => <[u8; 8]>::try_from(k.as_ref()).ok().map(|k| Ok((u64::from_be_bytes(k), v.to_vec()))),
                Err(e) => Some(Err(self.storage(e))),
            })
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests;

/// Key of a keyed record: its kind, a NUL, its key (kinds never hold NUL).
fn keyed_key(kind: &str, key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(kind.len() + 1 + key.len());
    out.extend_from_slice(kind.as_bytes());
    out.push(0);
    out.extend_from_slice(key.as_bytes());
    out
}

/// Where the security log keeps its last entry number (longer than the
/// 8-byte entry keys, so a range over entries never meets it).
const LAST_SECURITY_ENTRY: &[u8] = b"last entry";
