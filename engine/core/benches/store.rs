//! Store benchmarks (issue 9): durable appends through the store against
//! the raw cost of the same bytes made durable — a plain file with one
//! append and `fdatasync` per record (one writer), and raw sled with one
//! flush and `fdatasync` per 64 inserts (64 writers) — and the time and
//! peak memory of auditing a large store.
//!
//! Run: `cargo bench -p integritas-core --bench store`. The audit uses
//! 100 plans × 100 events unless `INTEGRITAS_BENCH_AUDIT_PLANS` says how
//! many plans of 100 events (10000 for the million-event figure).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use integritas_core::store::{Effect, Event, SledStore, Store, hash_hex};
use serde_json::json;

/// An event like the ones a plan records: a meeting's minutes.
fn event(seq: u64, prev: &str) -> Vec<u8> {
    Event {
        seq,
        date: "2024-03-01".parse().expect("date"),
        recorded_at: "2026-11-25T10:00:00.000000Z".into(),
        actor: "coordinator@institution".into(),
        role: "coordinator".into(),
        event: "record_meeting".into(),
        payload: json!({"meeting_minutes": {"meetings": [{"held_on": "2024-03-01", "present": "all members",
            "conclusions": format!("meeting {seq}: the working group reviewed the risk register and agreed on the next steps")}]}}),
        from: "identifying_processes".into(),
        to: "identifying_processes".into(),
        effects: vec![Effect::Document { id: "meeting_minutes".into() }],
        prev: prev.into(),
    }
    .to_bytes()
}

fn meta(id: &str) -> integritas_core::store::PlanMeta {
    integritas_core::store::PlanMeta {
        id: id.into(),
        institution: "i".into(),
        workflow: "bench/bench".into(),
        pack_version: "1.0.0".into(),
        created: "2024-01-01".parse().expect("date"),
    }
}

/// A plan writer that keeps its chain.
struct Writer {
    plan: String,
    seq: u64,
    prev: String,
}

impl Writer {
    fn new(store: &dyn Store, plan: &str) -> Writer {
        let first = event(1, "");
        store.add_plan(&meta(plan), &first).expect("plan");
        Writer { plan: plan.into(), seq: 1, prev: hash_hex(&first) }
    }

    fn append(&mut self, store: &dyn Store) {
        self.seq += 1;
        let bytes = event(self.seq, &self.prev);
        store.append(&self.plan, self.seq, &bytes).expect("append");
        self.prev = hash_hex(&bytes);
    }
}

fn one_writer(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_one_writer");
    group.sample_size(30).measurement_time(Duration::from_secs(8));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(&dir.path().join("store")).expect("store");
    let mut writer = Writer::new(&store, "plan-1");
    group.bench_function("store_append", |b| b.iter(|| writer.append(&store)));

    // The same without any device sync: the write path's own cost.
    let temporary = SledStore::temporary().expect("temporary store");
    let mut unsynced = Writer::new(&temporary, "plan-1");
    group.bench_function("store_append_unsynced", |b| b.iter(|| unsynced.append(&temporary)));

    let sample = event(2, &hash_hex(b"x"));
    let mut file = OpenOptions::new().create(true).append(true).open(dir.path().join("raw.log")).expect("raw file");
    group.bench_function("raw_file_append_fdatasync", |b| {
        b.iter(|| {
            file.write_all(&sample).expect("write");
            file.sync_data().expect("fdatasync")
        })
    });
    group.finish();
}

const WRITERS: usize = 64;

fn many_writers(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_64_writers");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(&dir.path().join("store")).expect("store"));
    let writers: Vec<_> =
        (1..=WRITERS).map(|p| std::sync::Mutex::new(Writer::new(store.as_ref(), &format!("plan-{p}")))).collect();
    let writers = Arc::new(writers);
    // Per event: 64 threads, one plan each, `iters` events in all.
    group.bench_function("store_append_64_plans", |b| {
        b.iter_custom(|iters| {
            let per = iters.div_ceil(WRITERS as u64);
            let start = Instant::now();
            std::thread::scope(|s| {
                for w in writers.iter() {
                    let store = store.clone();
                    s.spawn(move || {
                        let mut w = w.lock().expect("writer");
                        for _ in 0..per {
                            w.append(store.as_ref());
                        }
                    });
                }
            });
            start.elapsed().mul_f64(iters as f64 / (per * WRITERS as u64) as f64)
        })
    });

    // Raw sled: the same bytes, 64 inserts, then one flush and one fdatasync.
    let raw_dir = dir.path().join("raw");
    let db = sled::Config::new().path(&raw_dir).flush_every_ms(None).open().expect("sled");
    let tree = db.open_tree("events").expect("tree");
    let data = File::open(raw_dir.join("db")).expect("data file");
    let sample = event(2, &hash_hex(b"x"));
    let mut seq: u64 = 0;
    group.bench_function("raw_sled_64_inserts_flush_fdatasync", |b| {
        b.iter_custom(|iters| {
            let batches = iters.div_ceil(WRITERS as u64);
            let start = Instant::now();
            for _ in 0..batches {
                for p in 0..WRITERS {
                    seq += 1;
                    let mut key = format!("plan-{p}").into_bytes();
                    key.push(0);
                    key.extend_from_slice(&seq.to_be_bytes());
                    tree.insert(key, sample.as_slice()).expect("insert");
                }
                db.flush().expect("flush");
                data.sync_data().expect("fdatasync");
            }
            start.elapsed().mul_f64(iters as f64 / (batches * WRITERS as u64) as f64)
        })
    });
    group.finish();
}

/// Builds `plans` plans of 100 events with 64 writers (sharing syncs).
fn build(dir: &Path, plans: usize) {
    let store = Arc::new(SledStore::open(dir).expect("store"));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    std::thread::scope(|s| {
        for _ in 0..WRITERS {
            let (store, next) = (store.clone(), next.clone());
            s.spawn(move || {
                loop {
                    let p = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if p > plans {
                        return;
                    }
                    let mut w = Writer::new(store.as_ref(), &format!("plan-{p}"));
                    for _ in 2..=100 {
                        w.append(store.as_ref());
                    }
                }
            });
        }
    });
}

/// The process's peak resident memory (VmHWM), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

fn audit(c: &mut Criterion) {
    let plans: usize = std::env::var("INTEGRITAS_BENCH_AUDIT_PLANS").ok().and_then(|p| p.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let started = Instant::now();
    build(&path, plans);
    eprintln!("built {plans} plans × 100 events in {:.1} s", started.elapsed().as_secs_f64());
    // Measure the audit's own peak: reset the high-water mark (Linux).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    // The first answer after a restart: open the store and list every plan
    // with its pack version (what `plan list` and `pack list` need).
    let started = Instant::now();
    let store = SledStore::open(&path).expect("reopen");
    let listed = store.plans().expect("plans").len();
    eprintln!(
        "restart: open + list {listed} plans in {:.3} s, peak RSS {} MiB",
        started.elapsed().as_secs_f64(),
        peak_rss_mib().map_or("?".into(), |m| m.to_string())
    );
    assert_eq!(listed, plans);
    let started = Instant::now();
    let first = store.audit().expect("audit");
    eprintln!(
        "first audit of {} events: {:.2} s, peak RSS {} MiB",
        first.events_checked,
        started.elapsed().as_secs_f64(),
        peak_rss_mib().map_or("?".into(), |m| m.to_string())
    );
    assert_eq!((first.events_checked, first.broken.len()), (plans as u64 * 100, 0));
    let mut group = c.benchmark_group("audit");
    group.sample_size(10).measurement_time(Duration::from_secs(if plans > 1000 { 40 } else { 5 }));
    group.bench_function(format!("{plans}_plans_x_100_events"), |b| b.iter(|| store.audit().expect("audit")));
    group.finish();
    eprintln!("peak RSS after the audits: {} MiB", peak_rss_mib().map_or("?".into(), |m| m.to_string()));
}

criterion_group!(benches, one_writer, many_writers, audit);
criterion_main!(benches);
