//! The sled store on disk: reopening, the journal, the audit against edits
//! made through sled itself, and opening a busy or damaged folder.

use super::*;
use crate::date::Date;
use crate::fixtures::event;
use crate::store::{BrokenLink, events, hash_hex, verify_chain};

fn meta(id: &str) -> PlanMeta {
    PlanMeta {
        id: id.into(),
        institution: "i".into(),
        workflow: "p/w".into(),
        pack_version: "1.0.0".into(),
        created: Date::new(2022, 1, 1).expect("date"),
    }
}

fn institution() -> Institution {
    Institution {
        id: "i".into(),
        name: "I".into(),
        jurisdiction: "p".into(),
        kind: String::new(),
        employees: None,
        parent: None,
        timezone: None,
    }
}

/// Writes plan `id` with `n` chained events through the store.
fn plan_with_events(store: &SledStore, id: &str, n: u64) {
    let mut prev = String::new();
    for seq in 1..=n {
        let bytes = event(seq, &prev, serde_json::json!({"n": seq})).to_bytes();
        if seq == 1 {
            store.add_plan(&meta(id), &bytes).expect("plan");
        } else {
            store.append(id, seq, &bytes).expect("append");
        }
        prev = hash_hex(&bytes);
    }
}

/// A store on disk with an institution, plan-1 (3 events) and plan-2 (2 events).
fn populated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("open");
    store.add_institution(&institution()).expect("institution");
    plan_with_events(&store, "plan-1", 3);
    plan_with_events(&store, "plan-2", 2);
    dir
}

#[test]
fn events_survive_reopening_and_keep_their_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = SledStore::open(dir.path()).expect("open");
        let first = event(1, "", serde_json::Value::Null);
        store.add_plan(&meta("plan-1"), &first.to_bytes()).expect("plan");
        assert!(matches!(store.add_plan(&meta("plan-1"), &first.to_bytes()), Err(StoreError::Exists { .. })));
        let second = event(2, &hash_hex(&first.to_bytes()), serde_json::Value::Null).to_bytes();
        store.append("plan-1", 2, &second).expect("append");
        assert!(matches!(store.append("plan-1", 2, &second), Err(StoreError::Conflict { seq: 2, .. })));
        assert!(matches!(store.add_institution(&institution()), Ok(())));
        assert!(matches!(store.add_institution(&institution()), Err(StoreError::Exists { .. })));
    }
    let store = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(store.plans().expect("plans"), vec![meta("plan-1")]);
    assert_eq!(events(&store, "plan-1").expect("events").len(), 2);
    assert_eq!(verify_chain("plan-1", &store.raw_events("plan-1").expect("raw")), Ok(2));
    // A plan id that is a prefix of another must not see its events.
    assert!(store.raw_events("plan-").expect("raw").is_empty());
    // Refused writes left no journal entries: plan, event 1, event 2, institution.
    let audit = store.audit().expect("audit");
    assert_eq!((audit.journal_entries, audit.events_checked, audit.broken), (4, 2, vec![]));
}

/// An edit made with sled itself, as someone with the folder could.
type Tamper = fn(&sled::Db);

fn tree(db: &sled::Db, name: &str) -> sled::Tree {
    db.open_tree(name).expect("tree")
}

fn stored(db: &sled::Db, plan: &str, seq: u64) -> String {
    let bytes = tree(db, "events").get(event_key(plan, seq)).expect("read").expect("stored");
    String::from_utf8(bytes.to_vec()).expect("json")
}

fn put(db: &sled::Db, plan: &str, seq: u64, text: &str) {
    tree(db, "events").insert(event_key(plan, seq), text.as_bytes()).expect("write");
}

/// Each edit, and the first broken link `verify` must name.
const TAMPERING: &[(&str, Tamper, &str, u64, &str)] = &[
    (
        "last event changed",
        |db| put(db, "plan-1", 3, &stored(db, "plan-1", 3).replace("\"n\":3", "\"n\":33")),
        "plan-1",
        3,
        "changed after it was written",
    ),
    (
        "last event removed",
        |db| drop(tree(db, "events").remove(event_key("plan-1", 3))),
        "plan-1",
        3,
        "is missing: it was removed",
    ),
    ("a middle event removed", |db| drop(tree(db, "events").remove(event_key("plan-1", 2))), "plan-1", 2, "is missing"),
    (
        "an event appended with a valid link",
        |db| {
            let prev = hash_hex(stored(db, "plan-1", 3).as_bytes());
            put(
                db,
                "plan-1",
                4,
                &String::from_utf8(event(4, &prev, serde_json::json!({"n": 4})).to_bytes()).expect("utf8"),
            );
        },
        "plan-1",
        4,
        "not in the journal",
    ),
    (
        "an event's business date moved",
        |db| put(db, "plan-2", 2, &stored(db, "plan-2", 2).replace("2022-01-01", "2021-12-31")),
        "plan-2",
        2,
        "changed after it was written",
    ),
    (
        "a whole plan removed",
        |db| {
            tree(db, "plans").remove("plan-2").expect("remove");
            for seq in 1..=2 {
                tree(db, "events").remove(event_key("plan-2", seq)).expect("remove");
            }
        },
        "plan-2",
        0,
        "record is missing",
    ),
    (
        "a plan's record changed",
        |db| {
            let text = String::from_utf8(tree(db, "plans").get("plan-1").expect("read").expect("meta").to_vec())
                .expect("utf8");
            tree(db, "plans").insert("plan-1", text.replace("1.0.0", "2.0.0").as_bytes()).expect("write");
        },
        "plan-1",
        0,
        "record was changed",
    ),
    (
        "an institution changed",
        |db| drop(tree(db, "institutions").insert("i", &br#"{"id":"i","name":"J","jurisdiction":"p"}"#[..])),
        "",
        0,
        "institution `i` was changed",
    ),
    (
        "the journal's last entry removed",
        |db| drop(tree(db, "journal").remove(8u64.to_be_bytes())),
        "plan-2",
        2,
        "not in the journal",
    ),
    (
        "a journal entry edited",
        |db| {
            let journal = tree(db, "journal");
            let mut entry = journal.get(2u64.to_be_bytes()).expect("read").expect("entry").to_vec();
            entry[40] ^= 1;
            journal.insert(2u64.to_be_bytes(), entry).expect("write");
        },
        "plan-1",
        0,
        "does not link to entry 2",
    ),
    ("the journal removed", |db| drop(tree(db, "journal").clear()), "", 0, "institution `i` is not in the journal"),
];

#[test]
fn verify_catches_every_edit_made_through_sled() {
    for (name, tamper, plan, seq, words) in TAMPERING {
        let dir = populated();
        {
            let db = sled::open(dir.path()).expect("open with sled");
            tamper(&db);
            db.flush().expect("flush");
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        let audit = store.audit().expect("audit");
        let first = audit.broken.iter().find(|b| b.plan == *plan);
        assert!(
            first.is_some_and(|b| b.seq == *seq && b.reason.contains(words)),
            "{name}: expected plan `{plan}` event {seq} `{words}`, got {:#?}",
            audit.broken
        );
    }
}

#[test]
fn an_untouched_store_audits_clean_after_reopening() {
    let dir = populated();
    let store = SledStore::open(dir.path()).expect("reopen");
    let audit = store.audit().expect("audit");
    assert_eq!(audit, Audit { events_checked: 5, plans_checked: 2, journal_entries: 8, broken: vec![] });
}

#[test]
fn a_store_written_before_the_journal_is_adopted_once() {
    let dir = populated();
    {
        let db = sled::open(dir.path()).expect("open with sled");
        tree(&db, "journal").clear().expect("clear");
        db.remove(FORMAT_KEY).expect("unmark");
        db.flush().expect("flush");
    }
    let store = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(store.audit().expect("audit").broken, Vec::<BrokenLink>::new());
    plan_with_events(&store, "plan-3", 2);
    let audit = store.audit().expect("audit");
    assert_eq!((audit.journal_entries, audit.events_checked, audit.broken.len()), (11, 7, 0));
}

#[test]
fn a_busy_folder_is_told_apart_from_a_damaged_one() {
    let dir = populated();
    let quick = SledConfig { lock_wait: Duration::from_millis(100), ..SledConfig::default() };
    {
        let _held = SledStore::open(dir.path()).expect("open");
        let err = SledStore::open_with(dir.path(), &quick).err().expect("a second opener waits, then gives up");
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("in use by another integritas process"), "{err}");
    }
    // One damaged byte in the log.
    let db = dir.path().join("db");
    let mut bytes = std::fs::read(&db).expect("read");
    bytes[100] ^= 0x5a;
    std::fs::write(&db, bytes).expect("write");
    let err = SledStore::open_with(dir.path(), &quick).err().expect("a damaged store does not open");
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("integritas restore"), "{err}");
}

#[test]
fn journal_entries_round_trip() {
    let entry = Entry { kind: Kind::Event, flags: 1, id: "plan-7", seq: 9, record: [3; 32], prev: [4; 32] };
    let bytes = entry.encode();
    assert_eq!(Entry::decode(&bytes), Ok(entry));
    for (bad, why) in [(&bytes[..10], "shorter"), (&[9u8; 80][..], "layout version 9")] {
        assert!(Entry::decode(bad).is_err_and(|e| e.contains(why)), "{why}");
    }
}

#[test]
fn opening_removes_a_write_a_crash_cut_short_and_only_that() {
    let dir = populated();
    {
        let db = sled::open(dir.path()).expect("open with sled");
        let journal = tree(&db, "journal");
        let (key, last) = journal.last().expect("read").expect("entries");
        let head = JournalHead { position: position_of(&key).expect("key"), hash: journal::entry_hash(8, &last) };
        // A write cut after its journal entry, before its record, past the last sync.
        let entry = Entry {
            kind: Kind::Event,
            flags: journal::END_OF_WRITE,
            id: "plan-2",
            seq: 3,
            record: [7; 32],
            prev: head.hash,
        };
        journal.insert(9u64.to_be_bytes(), entry.encode()).expect("write");
        // Its plan's last event number, as if written: the write is removed, so is the number.
        tree(&db, "plan_heads").insert("plan-2", &3u64.to_be_bytes()).expect("write");
        db.flush().expect("flush");
    }
    let store = SledStore::open(dir.path()).expect("reopen");
    let audit = store.audit().expect("audit");
    assert_eq!((audit.journal_entries, audit.broken), (8, vec![]));
    assert_eq!(store.last_seq("plan-2").expect("last"), 2, "the number went with the cut write");
    plan_with_events(&store, "plan-3", 1);
    assert_eq!(store.audit().expect("audit").broken, vec![]);
}

#[test]
fn a_plans_last_event_number_is_kept_beside_its_log() {
    let dir = populated();
    {
        let store = SledStore::open(dir.path()).expect("open");
        assert_eq!((store.last_seq("plan-1").expect("1"), store.last_seq("plan-2").expect("2")), (3, 2));
        assert_eq!(store.last_seq("plan-").expect("none"), 0, "a prefix of a plan id has no events");
    }
    // Kept on disk: read from the index, not the log.
    let db = sled::open(dir.path()).expect("open with sled");
    let heads = tree(&db, "plan_heads");
    assert_eq!(heads.get("plan-1").expect("read").as_deref(), Some(&3u64.to_be_bytes()[..]));
    // A store written before the index (or restored without it) reads each log instead.
    heads.clear().expect("clear");
    db.flush().expect("flush");
    drop((heads, db));
    let store = SledStore::open(dir.path()).expect("reopen");
    assert_eq!((store.last_seq("plan-1").expect("1"), store.last_seq("plan-2").expect("2")), (3, 2));
    plan_with_events(&store, "plan-3", 4);
    assert_eq!(store.last_seq("plan-3").expect("3"), 4);
}
