//! Issue 2: an acknowledged event survives `kill -9`. A real process
//! appends to real sled; it is SIGKILLed at random moments, restarted, and
//! every event it acknowledged must be there, with every chain intact.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use integritas_core::store::{SledStore, Store, events, verify_chain};
use integritas_tests::{packs_dir, repo_root};

/// A random number from the standard library's per-process hash keys.
fn random_below(n: u64) -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish() % n
}

const ROUNDS: usize = 40;
const THREADS: &str = "3";

#[test]
fn acknowledged_events_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // plan → highest acknowledged sequence number, across all rounds.
    let acked: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let mut total_acks = 0usize;
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_appender"))
            .arg(&data)
            .arg(packs_dir())
            .arg(repo_root().join("templates"))
            .arg(THREADS)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn appender");
        let stdout = child.stdout.take().expect("stdout");
        let sink = acked.clone();
        // Each acknowledgement of this round is also sent here, so the kill
        // waits for acknowledgements instead of sleeping.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut count = 0usize;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut parts = line.split_whitespace();
                if let (Some("ack"), Some(plan), Some(seq)) =
                    (parts.next(), parts.next(), parts.next().and_then(|s| s.parse::<u64>().ok()))
                {
                    let mut map = sink.lock().expect("lock");
                    let max = map.entry(plan.to_string()).or_insert(0);
                    *max = (*max).max(seq);
                    count += 1;
                    let _ = tx.send(());
                }
            }
            count
        });
        // Kill it mid-write after a random number (1 to 40) of this round's acknowledgements.
        let wanted = 1 + random_below(40);
        for got in 0..wanted {
            if rx.recv_timeout(Duration::from_secs(30)).is_err() {
                let status = child.try_wait().expect("poll child");
                panic!("round {round}: the appender stopped acknowledging after {got} event(s) (exit: {status:?})");
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        total_acks += reader.join().expect("reader");

        let store =
            SledStore::open(&data).unwrap_or_else(|e| panic!("round {round}: reopening after kill failed: {e}"));
        for (plan, &max) in acked.lock().expect("lock").iter() {
            let raw = store.raw_events(plan).expect("read log");
            assert!(
                raw.len() as u64 >= max,
                "round {round}: plan {plan} acknowledged event {max} but only {} survived",
                raw.len()
            );
            verify_chain(plan, &raw).unwrap_or_else(|e| panic!("round {round}: chain broken after kill: {e}"));
            let log = events(&store, plan).expect("decode");
            assert!(
                log.iter().skip(3).all(|e| e.event == "record_meeting"),
                "round {round}: unexpected events in {plan}"
            );
        }
        let audit = store.audit().expect("audit");
        assert_eq!(audit.broken, vec![], "round {round}: the store does not audit clean after a kill");
        drop(store);
    }
    assert!(total_acks >= ROUNDS, "the appender should acknowledge events in most rounds (got {total_acks})");
    eprintln!("{ROUNDS} kills, {total_acks} acknowledged events, all present and chained");
}
