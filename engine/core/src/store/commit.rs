//! Group commit: concurrent writers share one sync to the device.
//!
//! Each finished write takes a ticket; a caller returns once a sync that
//! *started after its ticket was issued* has finished. One caller at a time
//! (the leader) syncs, covering every ticket issued before it began. When
//! it ends it wakes exactly the writers it covered, and one writer that is
//! still waiting to lead the next sync at once, instead of waking everyone
//! to find out (with 64 writers that herd cost more than the sync).
//!
//! A failed sync poisons the commit: on Linux a failed `fsync` may drop
//! the dirty pages it could not write and report success next time, so no
//! later sync can be trusted to cover earlier writes. Every waiting and
//! later writer gets the error until the store is reopened.

use std::sync::{Mutex, MutexGuard};
use std::thread::Thread;

use super::StoreError;

#[derive(Default)]
pub(super) struct GroupCommit {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Tickets handed out (one per finished write).
    issued: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// A sync is running.
    leading: bool,
    /// Writers asleep, with their tickets.
    waiting: Vec<(u64, Thread)>,
    /// The error of a failed sync; nothing is acknowledged after it.
    failed: Option<StoreError>,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses every later commit with `error` (a write failed half-way).
    pub(super) fn poison(&self, error: StoreError) {
        let mut state = self.lock();
        state.failed.get_or_insert(error);
        wake(&mut state);
    }

    /// Returns once a `sync` that started after this call began has
    /// succeeded; `sync` runs on one caller's thread at a time.
    pub(super) fn commit(&self, sync: impl Fn() -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(e) = &state.failed {
            return Err(e.clone());
        }
        state.issued += 1;
        let ticket = state.issued;
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if let Some(e) = &state.failed {
                return Err(e.clone());
            }
            if !state.leading {
                state.leading = true;
                let covers = state.issued;
                drop(state);
                let result = sync();
                state = self.lock();
                state.leading = false;
                match &result {
                    Ok(()) => state.durable = state.durable.max(covers),
                    Err(e) => state.failed = Some(e.clone()),
                }
                wake(&mut state);
                return result;
            }
            state.waiting.push((ticket, std::thread::current()));
            drop(state);
            // A spurious or early wake-up just goes round the loop again.
            std::thread::park();
            state = self.lock();
            state.waiting.retain(|(t, _)| *t != ticket);
        }
    }
}

/// Wakes the writers the last sync covered (all of them after a failure)
/// and the earliest one still waiting, who leads the next sync.
fn wake(state: &mut State) {
    let durable = state.durable;
    let failed = state.failed.is_some();
    let mut next_leader = true;
    state.waiting.retain(|(ticket, thread)| {
        if failed || *ticket <= durable {
            thread.unpark();
            return false;
        }
        if next_leader {
            next_leader = false;
            thread.unpark();
        }
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Every caller returns after a sync that began after it arrived, and
    /// concurrent callers share syncs.
    #[test]
    fn concurrent_writers_share_syncs_and_each_is_covered() {
        let commit = Arc::new(GroupCommit::default());
        // Counts writes "made" and, at each sync start, how many it covers.
        let written = Arc::new(AtomicU64::new(0));
        let synced = Arc::new(AtomicU64::new(0));
        let syncs = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (commit, written, synced, syncs) = (commit.clone(), written.clone(), synced.clone(), syncs.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let mine = written.fetch_add(1, Ordering::SeqCst) + 1;
                        commit
                            .commit(|| {
                                syncs.fetch_add(1, Ordering::SeqCst);
                                synced.fetch_max(written.load(Ordering::SeqCst), Ordering::SeqCst);
                                std::thread::yield_now();
                                Ok(())
                            })
                            .expect("sync");
                        assert!(synced.load(Ordering::SeqCst) >= mine, "returned before a sync covered write {mine}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("writer");
        }
        assert!(syncs.load(Ordering::SeqCst) <= 1600);
    }

    #[test]
    fn a_failed_sync_is_reported_to_everyone_from_then_on() {
        let commit = GroupCommit::default();
        let disk = || Err(StoreError::Io { reason: "injected".into() });
        assert!(matches!(commit.commit(disk), Err(StoreError::Io { .. })));
        // Even a sync that would succeed now is not trusted to cover earlier writes.
        assert!(matches!(commit.commit(|| Ok(())), Err(StoreError::Io { .. })));
    }
}
