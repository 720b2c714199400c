//! The sled-backed [`Store`]: the embedded default.
//!
//! sled batches writes and by default flushes them only every 500 ms, so
//! every write here ends with [`GroupCommit::commit`], which returns only
//! after a `flush` that began after the write finished. Concurrent writers
//! share one flush (group commit), so durability costs one fsync per batch,
//! not per event.

use std::path::Path;
use std::sync::{Condvar, Mutex};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Db, Transactional, Tree};

use super::{Institution, PlanMeta, RecordWrite, Store, StoreError};

/// sled on a directory.
pub struct SledStore {
    db: Db,
    institutions: Tree,
    plans: Tree,
    events: Tree,
    /// Keyed records of every kind: `kind NUL key` → bytes.
    records: Tree,
    /// The security log: big-endian entry number → bytes.
    security: Tree,
    commit: GroupCommit,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        // No periodic background flush: durability is explicit, per write.
        Self::with_config(sled::Config::new().path(dir))
    }

    /// A store that lives in memory and a temporary file, gone when dropped
    /// (scenario tests).
    pub fn temporary() -> Result<SledStore, StoreError> {
        Self::with_config(sled::Config::new().temporary(true))
    }

    fn with_config(config: sled::Config) -> Result<SledStore, StoreError> {
        let db = config.flush_every_ms(None).open().map_err(backend)?;
        Ok(SledStore {
            institutions: db.open_tree("institutions").map_err(backend)?,
            plans: db.open_tree("plans").map_err(backend)?,
            events: db.open_tree("events").map_err(backend)?,
            records: db.open_tree("records").map_err(backend)?,
            security: db.open_tree("security_log").map_err(backend)?,
            db,
            commit: GroupCommit::default(),
        })
    }

    fn durable(&self) -> Result<(), StoreError> {
        self.commit.commit(|| self.db.flush().map(|_| ()).map_err(backend))
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

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

/// Key of a keyed record: its kind, a NUL, its key (kinds never hold NUL).
fn record_key(kind: &str, key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(kind.len() + 1 + key.len());
    out.extend_from_slice(kind.as_bytes());
    out.push(0);
    out.extend_from_slice(key.as_bytes());
    out
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt { key: String::from_utf8_lossy(key).into_owned(), reason: e.to_string() })
}

/// One JSON record of a tree by id.
fn get_record<T: serde::de::DeserializeOwned>(tree: &Tree, id: &str) -> Result<Option<T>, StoreError> {
    match tree.get(id.as_bytes()).map_err(backend)? {
        Some(bytes) => decode(id.as_bytes(), &bytes).map(Some),
        None => Ok(None),
    }
}

/// Every JSON record of a tree, in key order.
fn all_records<T: serde::de::DeserializeOwned>(tree: &Tree) -> Result<Vec<T>, StoreError> {
    tree.iter()
        .map(|item| {
            let (key, bytes) = item.map_err(backend)?;
            decode(&key, &bytes)
        })
        .collect()
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialize: all keys are strings")
}

impl Store for SledStore {
    fn add_institution(&self, institution: &Institution) -> Result<(), StoreError> {
        let swapped = self
            .institutions
            .compare_and_swap(institution.id.as_bytes(), None as Option<&[u8]>, Some(encode(institution)))
            .map_err(backend)?;
        if swapped.is_err() {
            return Err(StoreError::Exists { kind: "institution", id: institution.id.clone() });
        }
        self.durable()
    }

    fn institution(&self, id: &str) -> Result<Option<Institution>, StoreError> {
        get_record(&self.institutions, id)
    }

    fn institutions(&self) -> Result<Vec<Institution>, StoreError> {
        all_records(&self.institutions)
    }

    fn next_plan_number(&self) -> Result<u64, StoreError> {
        let next = self
            .db
            .update_and_fetch("next_plan_number", |old| {
                let n = old.and_then(|b| <[u8; 8]>::try_from(b).ok()).map_or(0, u64::from_be_bytes);
                Some((n + 1).to_be_bytes().to_vec())
            })
            .map_err(backend)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map_or(1, u64::from_be_bytes);
        // Durable before use, so a number is never handed out twice.
        self.durable()?;
        Ok(next)
    }

    fn add_plan(&self, plan: &PlanMeta, first: &[u8]) -> Result<(), StoreError> {
        let meta = encode(plan);
        let event = first.to_vec();
        let key = event_key(&plan.id, 1);
        let result = (&self.plans, &self.events).transaction(|(plans, events)| {
            if plans.get(plan.id.as_bytes())?.is_some() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            plans.insert(plan.id.as_bytes(), meta.clone())?;
            events.insert(key.clone(), event.clone())?;
            Ok(())
        });
        match result {
            Ok(()) => self.durable(),
            Err(TransactionError::Abort(())) => Err(StoreError::Exists { kind: "plan", id: plan.id.clone() }),
            Err(TransactionError::Storage(e)) => Err(backend(e)),
        }
    }

    fn plan(&self, id: &str) -> Result<Option<PlanMeta>, StoreError> {
        get_record(&self.plans, id)
    }

    fn plans(&self) -> Result<Vec<PlanMeta>, StoreError> {
        all_records(&self.plans)
    }

    fn append(&self, plan: &str, seq: u64, event: &[u8]) -> Result<(), StoreError> {
        let key = event_key(plan, seq);
        let swapped = self.events.compare_and_swap(key, None as Option<&[u8]>, Some(event)).map_err(backend)?;
        if swapped.is_err() {
            return Err(StoreError::Conflict { plan: plan.to_string(), seq });
        }
        self.durable()
    }

    fn append_and_update(&self, plan: &str, seq: u64, event: &[u8], meta: &PlanMeta) -> Result<(), StoreError> {
        let key = event_key(plan, seq);
        let record = encode(meta);
        let result = (&self.plans, &self.events).transaction(|(plans, events)| {
            if events.get(&key)?.is_some() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            events.insert(key.clone(), event)?;
            plans.insert(plan.as_bytes(), record.clone())?;
            Ok(())
        });
        match result {
            Ok(()) => self.durable(),
            Err(TransactionError::Abort(())) => Err(StoreError::Conflict { plan: plan.to_string(), seq }),
            Err(TransactionError::Storage(e)) => Err(backend(e)),
        }
    }

    fn raw_events(&self, plan: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        self.events
            .scan_prefix(plan_prefix(plan))
            .values()
            .map(|v| v.map(|bytes| bytes.to_vec()).map_err(backend))
            .collect()
    }

    fn write_records(&self, batch: &[RecordWrite]) -> Result<(), StoreError> {
        let result = self.records.transaction(|tree| {
            for write in batch {
                match write {
                    RecordWrite::Create { kind, key, bytes } => {
                        let k = record_key(kind, key);
                        if tree.get(&k)?.is_some() {
                            return Err(ConflictableTransactionError::Abort((*kind, key.clone())));
                        }
                        tree.insert(k, bytes.as_slice())?;
                    }
                    RecordWrite::Put { kind, key, bytes } => {
                        tree.insert(record_key(kind, key), bytes.as_slice())?;
                    }
                    RecordWrite::Delete { kind, key } => {
                        tree.remove(record_key(kind, key))?;
                    }
                }
            }
            Ok(())
        });
        match result {
            Ok(()) => self.durable(),
            Err(TransactionError::Abort((kind, id))) => Err(StoreError::Exists { kind, id }),
            Err(TransactionError::Storage(e)) => Err(backend(e)),
        }
    }

    fn record(&self, kind: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.records.get(record_key(kind, key)).map_err(backend)?.map(|v| v.to_vec()))
    }

    fn records(&self, kind: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let skip = kind.len() + 1;
        self.records
            .scan_prefix(record_key(kind, prefix))
            .map(|item| {
                let (k, v) = item.map_err(backend)?;
                Ok((String::from_utf8_lossy(&k[skip..]).into_owned(), v.to_vec()))
            })
            .collect()
    }

    fn append_security_log(&self, entry: &[u8]) -> Result<u64, StoreError> {
        let number = self.security.transaction(|tree| {
            let next = tree
                .get(LAST_SECURITY_ENTRY)?
                .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
                .map_or(1, |b| u64::from_be_bytes(b) + 1);
            tree.insert(&next.to_be_bytes(), entry)?;
            tree.insert(LAST_SECURITY_ENTRY, &next.to_be_bytes())?;
            Ok::<u64, ConflictableTransactionError<String>>(next)
        });
        let number = number.map_err(backend)?;
        self.durable()?;
        Ok(number)
    }

    fn security_log(&self, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.security
            .range(from.max(1).to_be_bytes()..)
            .filter_map(|item| match item {
                Ok((k, v)) => <[u8; 8]>::try_from(k.as_ref()).ok().map(|k| Ok((u64::from_be_bytes(k), v.to_vec()))),
                Err(e) => Some(Err(backend(e))),
            })
            .take(limit)
            .collect()
    }
}

/// Where the security log keeps its last entry number (longer than the
/// 8-byte entry keys, so a range over entries never meets it).
const LAST_SECURITY_ENTRY: &[u8] = b"last entry";

/// Coalesces concurrent flush requests: each caller returns once a flush
/// that *started after its write* has finished.
#[derive(Default)]
struct GroupCommit {
    state: Mutex<CommitState>,
    flushed: Condvar,
}

#[derive(Default)]
struct CommitState {
    /// Tickets handed out (one per finished write).
    issued: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    flushing: bool,
}

impl GroupCommit {
    fn commit(&self, flush: impl Fn() -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.issued += 1;
        let ticket = state.issued;
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if !state.flushing {
                state.flushing = true;
                let covers = state.issued;
                drop(state);
                let result = flush();
                state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                state.flushing = false;
                if result.is_ok() {
                    state.durable = state.durable.max(covers);
                }
                self.flushed.notify_all();
                result?;
                continue;
            }
            state = self.flushed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;
    use crate::fixtures::event;
    use crate::store::{events, hash_hex, verify_chain};

    #[test]
    fn events_survive_reopening_and_keep_their_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let meta = PlanMeta {
            id: "plan-1".into(),
            institution: "i".into(),
            workflow: "p/w".into(),
            pack_version: "1.0.0".into(),
            created: Date::new(2022, 1, 1).expect("date"),
        };
        {
            let store = SledStore::open(dir.path()).expect("open");
            let first = event(1, "", serde_json::Value::Null);
            store.add_plan(&meta, &first.to_bytes()).expect("plan");
            assert!(matches!(store.add_plan(&meta, &first.to_bytes()), Err(StoreError::Exists { .. })));
            let second = event(2, &hash_hex(&first.to_bytes()), serde_json::Value::Null).to_bytes();
            store.append("plan-1", 2, &second).expect("append");
            assert!(matches!(store.append("plan-1", 2, &second), Err(StoreError::Conflict { seq: 2, .. })));
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(store.plans().expect("plans"), vec![meta]);
        assert_eq!(events(&store, "plan-1").expect("events").len(), 2);
        assert_eq!(verify_chain("plan-1", &store.raw_events("plan-1").expect("raw")), Ok(2));
        // A plan id that is a prefix of another must not see its events.
        assert!(store.raw_events("plan-").expect("raw").is_empty());
    }
}
