//! The agency's dashboard over many institutions (issue 11): 20,000
//! institutions of one jurisdiction, each with a plan whose register holds
//! 100 scored risks, served by the real server on 127.0.0.1 over a real
//! sled store; the dashboard page is requested over HTTP and timed.
//!
//! The store is built once with the engine directly (not over HTTP), in a
//! child process, and kept under `target/bench-dashboard-<N>x<R>/`, so a
//! second run starts at the measurement and the server's memory is not the
//! builder's. `BENCH_INSTITUTIONS` and `BENCH_RISKS` change the size,
//! `BENCH_REQUESTS` the number of timed requests (default 20).
//!
//! Run with `cargo bench -p integritas-tests --bench dashboard`. A load
//! script, not a test: it asserts nothing but the answers' status and
//! prints the figures: the first request (the engine loads its plan
//! summaries), the median and worst of the following ones, a sorted and a
//! filtered page, the CSV, XLSX and JSON of every institution, and the process's resident
//! memory (now and at its peak, from `/proc/self/status`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use integritas_core::executor::Command as Fire;
use integritas_core::open::{OpenOptions, open};
use integritas_core::store::Institution;
use integritas_server::{ServeOptions, ServerConfig, client};
use integritas_tests::{packs_dir, repo_root};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "bench-admin-password";

fn number(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn store_dir(institutions: usize, risks: usize) -> PathBuf {
    repo_root().join("target").join(format!("bench-dashboard-{institutions}x{risks}"))
}

/// The sample plan of the Montenegrin pack with `risks` short risks in its
/// register (the pack's four general areas and two special ones, so its
/// guards pass).
fn payload(sample: &Value, risks: usize) -> Value {
    let mut payload = sample.clone();
    let areas = [
        ("opšta", "Rukovođenje i upravljanje"),
        ("opšta", "Kadrovska politika, etično i profesionalno ponašanje zaposlenih"),
        ("opšta", "Planiranje i upravljanje finansijama"),
        ("opšta", "Čuvanje i bezbjednost podataka i dokumenata"),
        ("posebna", "Inspekcijski nadzor"),
        ("posebna", "Uređenje prostora i izdavanje dozvola"),
    ];
    let rows: Vec<Value> = (0..risks)
        .map(|n| {
            let (kind, area) = areas[n % areas.len()];
            json!({
                "id": format!("{}.{}", n % areas.len() + 1, n / areas.len() + 1),
                "area_kind": kind, "area": area,
                "workplaces": "Službenici", "inherent": "Diskrecija", "controls": "Pravilnik",
                "residual": "Diskrecija bez kontrole",
                "probability": n % 10 + 1, "impact": (n * 7) % 10 + 1,
                "measure": "Dvostruki potpis", "owner": format!("Lice {}", n % 12),
                "deadline": "2026-12-31",
            })
        })
        .collect();
    payload["register"]["risks"] = Value::Array(rows);
    payload
}

/// Builds the store: institutions, each (but every 20th) with a plan, each
/// plan (but every 10th) with the sample imported; marks it complete.
fn build(dir: &Path, institutions: usize, risks: usize) {
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    let opened = open(&OpenOptions {
        data: dir.join("data"),
        packs: Some(packs_dir()),
        templates: Some(repo_root().join("templates")),
        create: true,
    })
    .expect("the store opens");
    let engine = opened.engine;
    let catalog = engine.catalog();
    let pack = catalog.pack("me", None).expect("the me pack");
    let (decl, sample) = pack.samples.get("opstina").expect("the sample").clone();
    let payload = payload(&sample, risks);
    let today = integritas_server::clock::today(pack.manifest.timezone.as_deref()).expect("today");
    let threads = 8;
    std::thread::scope(|s| {
        for t in 0..threads {
            let (engine, payload, decl) = (&engine, &payload, &decl);
            s.spawn(move || {
                for i in (t..institutions).step_by(threads) {
                    let id = format!("inst-{i:05}");
                    engine
                        .add_institution(Institution {
                            id: id.clone(),
                            name: format!("Opština {i:05}"),
                            jurisdiction: "me".into(),
                            kind: "opština".into(),
                            employees: Some(50 + (i % 500) as u32),
                            parent: None,
                            timezone: None,
                        })
                        .expect("institution");
                    if i % 20 == 19 {
                        continue;
                    }
                    let plan = engine.new_plan(&id, "me/annual", "bench", today).expect("plan");
                    if i % 10 == 9 {
                        continue;
                    }
                    let command = Fire {
                        event: decl.event.clone(),
                        role: decl.role.clone(),
                        actor: "bench".into(),
                        payload: payload.clone(),
                        today,
                    };
                    engine.fire(&plan.meta.id, &command).expect("the import passes");
                    if i % 1000 == 0 {
                        eprintln!("  {i} institutions, {:.0?}", started.elapsed());
                    }
                }
            });
        }
    });
    drop(engine);
    std::fs::write(dir.join("complete"), format!("{institutions} institutions, {risks} risks\n")).expect("mark");
    eprintln!("built {institutions} institutions in {:.1?}", started.elapsed());
}

/// Resident memory now and at its peak (kB), from /proc/self/status.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Makes the store look as a crash leaves it: without the mark a clean
/// close writes that vouches for every plan summary (so each is checked
/// against its plan's log on the first dashboard request). Run with
/// `BENCH_AFTER_CRASH=1`.
fn forget_clean_close(data: &Path) {
    let db = sled::Config::new().path(data).open().expect("the store opens");
    let records = db.open_tree("records").expect("the records tree");
    let mut mark = integritas_core::summary::SUMMARIES_CLOSED.as_bytes().to_vec();
    mark.push(0);
    let removed = records.remove(mark).expect("the mark is removed");
    db.flush().expect("flushed");
    eprintln!("after a crash: the clean-close mark {}", if removed.is_some() { "was removed" } else { "was absent" });
}

fn main() {
    let institutions = number("BENCH_INSTITUTIONS", 20_000);
    let risks = number("BENCH_RISKS", 100);
    let requests = number("BENCH_REQUESTS", 20).max(1);
    let dir = store_dir(institutions, risks);
    if std::env::args().any(|a| a == "--build-store") {
        build(&dir, institutions, risks);
        return;
    }
    if !dir.join("complete").exists() {
        eprintln!("building the store in {} (once; kept for later runs)", dir.display());
        let exe = std::env::current_exe().expect("this bench");
        let status = Command::new(exe).arg("--build-store").status().expect("the builder runs");
        assert!(status.success(), "building the store failed");
    }
    let config = ServerConfig {
        secure_cookies: false,
        logins_per_minute: 10_000,
        request_timeout: Duration::from_secs(120),
        ..Default::default()
    };
    let options = ServeOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data: dir.join("data"),
        packs: Some(packs_dir()),
        templates: Some(repo_root().join("templates")),
        config: config.clone(),
        admin_password: Some(ADMIN_PASSWORD.into()),
    };
    if std::env::var_os("BENCH_AFTER_CRASH").is_some() {
        forget_clean_close(&options.data);
    }
    let opening = Instant::now();
    let (state, _) = integritas_server::open_state(&options, None).expect("the server opens the store");
    let opened = opening.elapsed();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let listener = runtime.block_on(tokio::net::TcpListener::bind(options.listen)).expect("listener");
    let address = listener.local_addr().expect("address").to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let app = integritas_server::app(state);
        runtime
            .block_on(integritas_server::serve_on(listener, app, &config, async {
                let _ = stopped.await;
            }))
            .expect("the server runs");
    });
    let (rss_open, _) = rss();

    let login = client::request(
        &address,
        "POST",
        "/api/v1/auth/login",
        &[("Content-Type", "application/json")],
        json!({"user": "admin", "password": ADMIN_PASSWORD}).to_string().as_bytes(),
    )
    .expect("login");
    assert_eq!(login.status, 200, "{}", login.text());
    let cookie = login.header("set-cookie").and_then(|c| c.split(';').next()).expect("cookie").to_string();
    let timed = |path: &str| {
        let start = Instant::now();
        let response = client::request(&address, "GET", path, &[("Cookie", &cookie)], b"").expect("answer");
        let took = start.elapsed();
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        (took, response.body.len())
    };
    let (first, bytes) = timed("/agency/me?lang=en");
    let mut times: Vec<Duration> = (0..requests).map(|_| timed("/agency/me").0).collect();
    let worst = times.iter().max().copied().unwrap_or_default();
    let page = median(&mut times);
    let mut sorted: Vec<Duration> =
        (0..requests.min(10)).map(|_| timed("/agency/me?sort=annual_report&dir=desc&page=7").0).collect();
    let mut filtered: Vec<Duration> =
        (0..requests.min(10)).map(|_| timed("/agency/me?check=annual_report&status=no_plan&q=1").0).collect();
    let (csv, csv_bytes) = timed("/agency/me/export.csv");
    let (xlsx, xlsx_bytes) = timed("/agency/me/export.xlsx");
    let (json_file, json_bytes) = timed("/agency/me/export.json");
    let (rss_now, rss_peak) = rss();
    let _ = stop.send(());
    let _ = server.join();

    println!("dashboard of {institutions} institutions × {risks} risks ({requests} timed requests)");
    println!("| what | figure |");
    println!("| --- | --- |");
    println!("| opening the store (server state) | {opened:.1?} |");
    println!("| first dashboard request (loads the plan summaries) | {first:.1?} ({} KiB) |", bytes / 1024);
    println!("| dashboard page, median / worst | {page:.1?} / {worst:.1?} |");
    println!("| sorted by a check, page 7, median | {:.1?} |", median(&mut sorted));
    println!("| filtered by a check's status and a name, median | {:.1?} |", median(&mut filtered));
    println!("| CSV of every institution | {csv:.1?} ({} KiB) |", csv_bytes / 1024);
    println!("| XLSX of every institution | {xlsx:.1?} ({} KiB) |", xlsx_bytes / 1024);
    println!("| JSON of every institution | {json_file:.1?} ({} KiB) |", json_bytes / 1024);
    println!(
        "| resident memory: after opening / now / peak | {} / {} / {} MiB |",
        rss_open / 1024,
        rss_now / 1024,
        rss_peak / 1024
    );
}
