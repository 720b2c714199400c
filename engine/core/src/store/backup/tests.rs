//! Backups round-trip a whole install, stay consistent while writers go
//! on, and every damaged or doctored backup is refused whole.

use std::io::Read;
use std::sync::Arc;

use super::*;
use crate::fixtures::event;
use crate::store::{Institution, PlanMeta, hash_hex};

fn institution() -> Institution {
    Institution {
        id: "i".into(),
        name: "Ĩnstitution".into(),
        jurisdiction: "p".into(),
        kind: String::new(),
        employees: Some(3),
        parent: None,
        timezone: None,
    }
}

fn meta(id: &str) -> PlanMeta {
    PlanMeta {
        id: id.into(),
        institution: "i".into(),
        workflow: "p/w".into(),
        pack_version: "1.0.0".into(),
        created: "2022-01-01".parse().expect("date"),
    }
}

/// Appends events `from..=to` to a plan whose last event is `prev`'s bytes.
fn append(store: &dyn Store, plan: &str, from: u64, to: u64) {
    let mut prev = store.raw_events(plan).expect("raw").last().map(|b| hash_hex(b)).unwrap_or_default();
    for seq in from..=to {
        let bytes = event(seq, &prev, serde_json::json!({"text": format!("«{seq}»\n\"quoted\"")})).to_bytes();
        if seq == 1 {
            store.add_plan(&meta(plan), &bytes).expect("plan");
        } else {
            store.append(plan, seq, &bytes).expect("append");
        }
        prev = hash_hex(&bytes);
    }
}

struct Install {
    dir: tempfile::TempDir,
    store: Arc<SledStore>,
}

fn install() -> Install {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(&dir.path().join("data")).expect("open"));
    store.add_institution(&institution()).expect("institution");
    append(store.as_ref(), "plan-1", 1, 4);
    append(store.as_ref(), "plan-2", 1, 2);
    let pack = dir.path().join("data/packs/p/1.0.0");
    std::fs::create_dir_all(pack.join("plugins")).expect("pack dir");
    std::fs::write(pack.join("pack.ron"), "Pack(id: \"p\")\n").expect("manifest");
    std::fs::write(pack.join("plugins/x.wasm"), (0..=255u8).collect::<Vec<_>>()).expect("binary");
    std::fs::create_dir_all(dir.path().join("data/packs/.staging-x")).expect("staging");
    std::fs::write(dir.path().join("data/packs/.staging-x/junk"), "half-installed").expect("junk");
    Install { dir, store }
}

fn take_backup(install: &Install) -> (Vec<u8>, Summary) {
    let mut out = Vec::new();
    let summary =
        backup(install.store.as_ref(), Some(&install.dir.path().join("data/packs")), &mut out, "2024-01-01T00:00:00Z")
            .expect("backup");
    (out, summary)
}

#[test]
fn a_backup_restores_every_record_and_pack_file() {
    let install = install();
    let (bytes, written) = take_backup(&install);
    assert_eq!(written.counts, Counts { institutions: 1, plans: 2, events: 6, pack_files: 2 });
    let target = install.dir.path().join("restored");
    let restored = restore(&mut bytes.as_slice(), &target).expect("restore");
    assert_eq!(restored, written);
    let store = SledStore::open(&target).expect("open restored");
    let audit = store.audit().expect("audit");
    assert_eq!((audit.events_checked, audit.broken), (6, vec![]));
    for plan in ["plan-1", "plan-2"] {
        assert_eq!(store.raw_events(plan).expect("raw"), install.store.raw_events(plan).expect("raw"), "{plan}");
    }
    assert_eq!(store.institutions().expect("institutions"), vec![institution()]);
    assert_eq!(store.journal_head().expect("head"), install.store.journal_head().expect("head"));
    let wasm = std::fs::read(target.join("packs/p/1.0.0/plugins/x.wasm")).expect("restored plugin");
    assert_eq!(wasm, (0..=255u8).collect::<Vec<_>>());
    assert!(!target.join("packs/.staging-x").exists(), "staging folders are not backed up");
    // The restored store is a working store: it takes new events.
    append(&store, "plan-2", 3, 3);
}

#[test]
fn a_backup_taken_while_writers_go_on_is_consistent() {
    let install = install();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (3..5)
        .map(|p| {
            let (store, stop) = (install.store.clone(), stop.clone());
            std::thread::spawn(move || {
                let plan = format!("plan-{p}");
                let mut seq = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || seq < 5 {
                    seq += 1;
                    append(store.as_ref(), &plan, seq, seq);
                }
            })
        })
        .collect();
    let (bytes, summary) = take_backup(&install);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    let target = install.dir.path().join("restored");
    restore(&mut bytes.as_slice(), &target).expect("restore");
    let store = SledStore::open(&target).expect("open restored");
    assert_eq!(store.audit().expect("audit").broken, vec![]);
    assert!(summary.journal_position <= install.store.journal_head().expect("head").position);
}

/// The backup's lines, uncompressed.
fn lines(bytes: &[u8]) -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).expect("gzip");
    text.lines().map(String::from).collect()
}

/// Lines back into a backup, with the checksum recomputed (a careful forger).
fn reseal(mut lines: Vec<String>) -> Vec<u8> {
    let end = lines.pop().expect("end line");
    let mut body = String::new();
    for line in &lines {
        body.push_str(line);
        body.push('\n');
    }
    let mut end: serde_json::Value = serde_json::from_str(&end).expect("end json");
    end["sha256"] = crate::store::hash_hex(body.as_bytes()).into();
    body.push_str(&end.to_string());
    body.push('\n');
    body.into_bytes()
}

type Doctor = fn(Vec<String>) -> Vec<u8>;

/// Each damaged or doctored backup, and the words of its refusal.
const REFUSED: &[(&str, Doctor, &str)] = &[
    (
        "one byte of an event changed",
        |mut l| {
            l[4] = l[4].replace("quoted", "quotes");
            let mut b = l.join("\n").into_bytes();
            b.push(b'\n');
            b
        },
        "checksum does not match",
    ),
    (
        "an event changed and the checksum recomputed",
        |mut l| {
            l[4] = l[4].replace("quoted", "quotes");
            reseal(l)
        },
        "do not rebuild the journal",
    ),
    (
        "an event left out and the checksum recomputed",
        |mut l| {
            l.remove(5);
            reseal(l)
        },
        "it holds",
    ),
    (
        "cut short",
        |l| {
            let mut b = l[..6].join("\n").into_bytes();
            b.push(b'\n');
            b
        },
        "cut short",
    ),
    (
        "no header",
        |mut l| {
            l.remove(0);
            reseal(l)
        },
        "does not start with a backup header",
    ),
    (
        "a pack file outside the packs folder",
        |mut l| {
            let at = l.iter().position(|x| x.contains("pack_file")).expect("a pack file");
            l[at] = l[at].replace("p/1.0.0/pack.ron", "../../escape.ron");
            reseal(l)
        },
        "leaves the packs folder",
    ),
];

#[test]
fn damaged_or_doctored_backups_are_refused_whole() {
    let install = install();
    let (bytes, _) = take_backup(&install);
    for (name, doctor, words) in REFUSED {
        let doctored = doctor(lines(&bytes));
        let target = install.dir.path().join(format!("restored-{}", name.replace(' ', "-")));
        let err = restore(&mut doctored.as_slice(), &target).expect_err(name);
        assert!(err.to_string().contains(words), "{name}: {err}");
        assert!(!target.exists(), "{name}: a refused restore leaves nothing behind");
    }
    let leftovers: Vec<_> = std::fs::read_dir(install.dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".integritas-restore-"))
        .collect();
    assert!(leftovers.is_empty(), "staging folders are removed");
}

#[test]
fn a_restore_never_overwrites_a_store() {
    let install = install();
    let (bytes, _) = take_backup(&install);
    let err = restore(&mut bytes.as_slice(), &install.dir.path().join("data")).expect_err("data is in use");
    assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
    // An empty folder is fine.
    let empty = install.dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    restore(&mut bytes.as_slice(), &empty).expect("restore into an empty folder");
}
