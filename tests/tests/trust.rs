//! Issue 9: the store's trust, through the real binary. `verify` catches
//! every edit made behind the engine's back with sled itself; an
//! acknowledged event went through `fdatasync` first (traced with
//! `strace`); a damaged store says so and the last backup restores it; a
//! busy store names the other process; injected disk errors (`fiu-run`)
//! are refused, never acknowledged, never panic, and the store verifies.
//!
//! `strace` and `fiu-run` are Debian packages (`strace`, `fiu-utils`) that
//! `.ci/run` installs.

use std::path::Path;

use integritas_core::store::{SledStore, hash_hex};
use integritas_tests::{Install, Run};
use serde_json::{Value, json};

const DAY: &str = "2022-02-10";

fn decision() -> String {
    json!({"coordinator_decision": {"number": "01-1/22", "decided_on": "2022-02-01", "posted_on": "2022-02-01", "coordinator": "Ana Anić", "position": "sekretar"}}).to_string()
}

fn group() -> String {
    let rows: Vec<Value> =
        (0..3).map(|i| json!({"name": format!("Član {i}"), "area": format!("oblast {i}")})).collect();
    json!({"working_group_decision": {"number": "02-3/22", "decided_on": "2022-02-10", "members": rows}}).to_string()
}

fn meeting(n: usize) -> String {
    json!({"meeting_minutes": {"meetings": [{"held_on": DAY, "present": "all", "conclusions": format!("meeting {n}")}]}})
        .to_string()
}

/// An install with `plans` plans, each with three events (created,
/// coordinator appointed, working group formed), each of its own
/// institution (the rs workflow keeps one plan per institution).
fn install_with_plans(plans: usize) -> Install {
    let install = Install::default();
    for p in 1..=plans {
        let plan = format!("plan-{p}");
        let institution = format!("grad-{p}");
        install.ok(DAY, &["institution", "add", "--id", &institution, "--name", "Grad", "--jurisdiction", "rs"]);
        install.ok("2022-01-10", &["plan", "new", "--institution", &institution, "--workflow", "rs/three_phase"]);
        install.ok(DAY, &["plan", "fire", &plan, "appoint_coordinator", "--as", "head", "--payload", &decision()]);
        install.ok(DAY, &["plan", "fire", &plan, "form_working_group", "--as", "head", "--payload", &group()]);
    }
    install
}

/// Event `seq` of a plan as sled keys it.
fn event_key(plan: &str, seq: u64) -> Vec<u8> {
    let mut key = plan.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn stored(events: &sled::Tree, plan: &str, seq: u64) -> Value {
    let bytes = events.get(event_key(plan, seq)).expect("read").expect("stored event");
    serde_json::from_slice(&bytes).expect("event json")
}

fn put(events: &sled::Tree, plan: &str, seq: u64, event: &Value) {
    events.insert(event_key(plan, seq), serde_json::to_vec(event).expect("json")).expect("write");
}

/// An edit made with sled itself, as anyone with the folder could.
type Edit = fn(&sled::Db);

/// Issue 9 item 1's five edits, and the first broken link each must give.
const EDITS: &[(&str, Edit, &str, u64, &str)] = &[
    (
        "the last event of a plan changed",
        |db| {
            let events = db.open_tree("events").expect("events");
            let mut last = stored(&events, "plan-1", 3);
            last["payload"]["working_group_decision"]["number"] = json!("02-4/22");
            put(&events, "plan-1", 3, &last);
        },
        "plan-1",
        3,
        "changed after it was written",
    ),
    (
        "the last event removed",
        |db| drop(db.open_tree("events").expect("events").remove(event_key("plan-1", 3))),
        "plan-1",
        3,
        "is missing",
    ),
    (
        "events appended, each linked to the one before",
        |db| {
            let events = db.open_tree("events").expect("events");
            for seq in 4..=5 {
                let before = events.get(event_key("plan-1", seq - 1)).expect("read").expect("stored");
                let mut next: Value = serde_json::from_slice(&before).expect("json");
                next["seq"] = json!(seq);
                next["prev"] = json!(hash_hex(&before));
                put(&events, "plan-1", seq, &next);
            }
        },
        "plan-1",
        4,
        "not in the journal",
    ),
    (
        "an event's date moved",
        |db| {
            let events = db.open_tree("events").expect("events");
            let mut second = stored(&events, "plan-1", 2);
            second["date"] = json!("2022-01-20");
            put(&events, "plan-1", 2, &second);
        },
        "plan-1",
        2,
        "changed after it was written",
    ),
    (
        "a whole plan removed",
        |db| {
            db.open_tree("plans").expect("plans").remove("plan-2").expect("remove");
            let events = db.open_tree("events").expect("events");
            for seq in 1..=3 {
                events.remove(event_key("plan-2", seq)).expect("remove");
            }
        },
        "plan-2",
        0,
        "record is missing",
    ),
];

#[test]
fn verify_catches_every_edit_made_through_sled() {
    for (name, edit, plan, seq, words) in EDITS {
        let install = install_with_plans(2);
        assert_eq!(install.ok(DAY, &["verify"]), json!({"events_checked": 6, "broken": []}), "{name}");
        {
            let db = sled::open(install.data()).expect("open the store directly");
            edit(&db);
            db.flush().expect("flush");
        }
        let run = install.run(DAY, &["verify", "--json"]);
        assert_eq!(run.code, 1, "{name}: verify must fail: {}", run.stdout);
        let broken = run.json()["broken"].as_array().cloned().unwrap_or_default();
        assert!(
            broken.iter().any(|b| b["plan"] == *plan
                && b["seq"] == *seq
                && b["reason"].as_str().is_some_and(|r| r.contains(words))),
            "{name}: expected plan `{plan}` event {seq} `{words}` in {broken:#?}"
        );
        let text = install.run(DAY, &["verify"]);
        assert!(text.stdout.contains("1 broken plan(s)"), "{name}: {}", text.stdout);
    }
}

/// One system call in an `strace -f -y` log.
#[derive(Debug)]
struct Call {
    name: String,
    /// The first argument with `-y`'s path annotation, e.g. `3</tmp/x/data/db>`.
    first_arg: String,
    /// Line numbers where it began and where it returned.
    start: usize,
    end: usize,
    /// The rest of the line it began on (the written text, for `write`).
    text: String,
}

/// Reads an `strace -f` log, pairing `<unfinished ...>` with `resumed`.
fn calls(log: &str) -> Vec<Call> {
    let mut done = Vec::new();
    let mut pending: std::collections::HashMap<(String, String), Call> = std::collections::HashMap::new();
    for (i, line) in log.lines().enumerate() {
        let Some((pid, rest)) = line.split_once(' ') else { continue };
        let rest = rest.trim_start();
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let name = resumed.split_whitespace().next().unwrap_or_default().to_string();
            if let Some(mut call) = pending.remove(&(pid.to_string(), name)) {
                call.end = i;
                done.push(call);
            }
            continue;
        }
        let Some((name, args)) = rest.split_once('(') else { continue };
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        // `-y` writes a file descriptor as `3</path/to/file>`.
        let first_arg = match args.find('>') {
            Some(end) if args.starts_with(|c: char| c.is_ascii_digit()) => args[..=end].to_string(),
            _ => String::new(),
        };
        let call = Call { name: name.to_string(), first_arg, start: i, end: i, text: args.to_string() };
        if rest.ends_with("<unfinished ...>") {
            pending.insert((pid.to_string(), name.to_string()), call);
        } else {
            done.push(call);
        }
    }
    done.sort_by_key(|c| c.start);
    done
}

#[test]
fn an_event_is_synced_to_the_device_before_it_is_acknowledged() {
    let install = install_with_plans(1);
    let trace = install.dir.path().join("strace.log");
    let trace_arg = trace.display().to_string();
    let wrapper = [
        "strace",
        "-f",
        "-y",
        "-qq",
        "-s",
        "65536",
        "-o",
        &trace_arg,
        "-e",
        "trace=write,pwrite64,pwritev,pwritev2,fsync,fdatasync",
    ];
    let run = install.run_under(
        &wrapper,
        DAY,
        &["plan", "fire", "plan-1", "record_meeting", "--as", "coordinator", "--payload", &meeting(1), "--json"],
    );
    assert_eq!(
        run.code, 0,
        "the traced command failed (is Debian's `strace` installed? .ci/run installs it): {}",
        run.stderr
    );
    let log = std::fs::read_to_string(&trace).expect("strace log");
    let calls = calls(&log);
    // What a failure shows: the calls on the data file and stdout, without their bytes.
    let log: String = calls
        .iter()
        .filter(|c| c.first_arg.ends_with("/data/db>") || c.first_arg.starts_with("1<"))
        .map(|c| format!("{}-{} {}({})\n", c.start, c.end, c.name, c.first_arg))
        .collect();
    let is_db = |c: &Call| c.first_arg.ends_with("/data/db>");
    let ack = calls
        .iter()
        .find(|c| c.name == "write" && c.first_arg.starts_with("1<") && c.text.contains("record_meeting"))
        .unwrap_or_else(|| panic!("no acknowledgement written to stdout in:\n{log}"));
    let last_write = calls
        .iter()
        .filter(|c| c.name.starts_with("pwrite") && is_db(c) && c.start < ack.start)
        .map(|c| c.end)
        .max()
        .unwrap_or_else(|| panic!("sled wrote nothing to its data file before the acknowledgement:\n{log}"));
    let synced = calls
        .iter()
        .any(|c| (c.name == "fdatasync" || c.name == "fsync") && is_db(c) && c.start > last_write && c.end < ack.start);
    assert!(
        synced,
        "no fdatasync/fsync of the data file between its last write (line {last_write}) and the acknowledgement (line {}):\n{log}",
        ack.start
    );
    assert_eq!(install.ok(DAY, &["verify"])["events_checked"], 4);
}

#[test]
fn a_damaged_store_says_so_and_the_last_backup_restores() {
    let install = install_with_plans(2);
    let backup = install.dir.path().join("backup.jsonl.gz");
    let backup_arg = backup.display().to_string();
    let written = install.ok(DAY, &["backup", "--out", &backup_arg]);
    assert_eq!(written["backup"]["counts"], json!({"institutions": 2, "plans": 2, "events": 6, "pack_files": 0}));
    let history = install.ok(DAY, &["plan", "history", "plan-2"]);

    // One damaged byte in sled's log.
    let db = install.data().join("db");
    let mut bytes = std::fs::read(&db).expect("read the data file");
    bytes[100] ^= 0x5a;
    std::fs::write(&db, bytes).expect("damage it");
    for args in [&["plan", "show", "plan-1"][..], &["verify"], &["backup", "--out", "/dev/null"]] {
        let run = install.run(DAY, args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        assert!(
            run.stderr.contains("is damaged") && run.stderr.contains("integritas restore"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("another integritas") && !run.stderr.contains("panicked"), "{}", run.stderr);
    }

    // A restore never overwrites, even a damaged store.
    let refused = install.run(DAY, &["restore", &backup_arg]);
    assert!(refused.code == 1 && refused.stderr.contains("is not empty"), "{}", refused.stderr);

    let restored = Install { dir: tempfile::tempdir().expect("tempdir"), packs: install.packs.clone() };
    let report = restored.ok(DAY, &["restore", &backup_arg]);
    assert_eq!(report["restore"]["counts"], written["backup"]["counts"]);
    assert_eq!(restored.ok(DAY, &["verify"]), json!({"events_checked": 6, "broken": []}));
    assert_eq!(restored.ok(DAY, &["plan", "history", "plan-2"]), history);
    // The restored install carries on.
    restored.ok(DAY, &["plan", "fire", "plan-2", "record_meeting", "--as", "coordinator", "--payload", &meeting(1)]);
}

#[test]
fn a_busy_store_is_waited_for_then_named_as_busy() {
    let install = install_with_plans(1);
    let held = SledStore::open(&install.data()).expect("hold the store");
    let run = install.run(DAY, &["plan", "list"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("in use by another integritas process"), "{}", run.stderr);
    assert!(!run.stderr.contains("damaged"), "{}", run.stderr);
    drop(held);
    install.ok(DAY, &["plan", "list"]);
}

/// The outcome of one command under injected faults: an acknowledgement
/// (the meeting number it recorded) or a refusal with one of these words.
fn outcome(run: &Run, n: usize, refusal_words: &[&str]) -> Option<usize> {
    assert!(
        !run.stderr.contains("panicked") && (run.code == 0 || run.code == 1),
        "meeting {n}: {}{}",
        run.stdout,
        run.stderr
    );
    let value = run.json();
    if run.code == 0 {
        assert_eq!(value["event"]["event"], "record_meeting", "{value}");
        return Some(n);
    }
    let message = value["error"]["message"].as_str().unwrap_or_default();
    assert!(refusal_words.iter().any(|w| message.contains(w)), "meeting {n}: unclear refusal: {message}");
    assert!(message.contains("nothing was acknowledged"), "{message}");
    None
}

/// libfiu failure points, how many commands run under each, and the words
/// their refusals must use (errno 28 is ENOSPC, 5 is EIO).
const FAULTS: &[(&str, usize, &[&str])] = &[
    ("enable name=posix/io/sync/fdatasync,failinfo=5", 2, &["the disk reported an error"]),
    ("enable_random name=posix/io/rw/pwrite,probability=0.3,failinfo=28", 12, &["the disk is full"]),
    ("enable_random name=posix/io/rw/pwrite,probability=0.3,failinfo=5", 6, &["the disk reported an error"]),
];

#[test]
fn disk_errors_are_refused_never_acknowledged_and_the_store_verifies() {
    let install = install_with_plans(1);
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    let mut n = 0;
    for (failpoint, runs, words) in FAULTS {
        for _ in 0..*runs {
            n += 1;
            let wrapper = ["fiu-run", "-x", "-c", failpoint];
            let run = install.run_under(
                &wrapper,
                DAY,
                &[
                    "plan",
                    "fire",
                    "plan-1",
                    "record_meeting",
                    "--as",
                    "coordinator",
                    "--payload",
                    &meeting(n),
                    "--json",
                ],
            );
            assert_ne!(run.code, 127, "fiu-run is missing (Debian's `fiu-utils`; .ci/run installs it)");
            match outcome(&run, n, words) {
                Some(done) => acknowledged.push(done),
                None => refused += 1,
            }
        }
    }
    assert!(refused >= 2, "the failure points must have refused something (the fdatasync ones always do)");
    // Without faults the store verifies, and every acknowledged meeting is in the log.
    let verify = install.ok(DAY, &["verify"]);
    assert_eq!(verify["broken"], json!([]), "{verify}");
    let history = install.ok(DAY, &["plan", "history", "plan-1"]).to_string();
    for done in &acknowledged {
        assert!(history.contains(&format!("meeting {done}\"")), "acknowledged meeting {done} is not in the log");
    }
    install.ok(DAY, &["plan", "fire", "plan-1", "record_meeting", "--as", "coordinator", "--payload", &meeting(0)]);
    assert!(Path::new(&install.data()).join("db").exists());
}
