//! The server under load (issue 10), in one run on this machine:
//!
//! 1. **Mixed**: 64 keep-alive connections for `BENCH_SECS` (default 60)
//!    seconds: plan reads 70%, register reads 20%, event posts 10% (each
//!    connection writes to its own plan); p50/p99 latency, throughput,
//!    errors.
//! 2. **Read overhead**: the same plan read against the server and against
//!    a bare axum handler returning the same bytes, 64 connections each,
//!    for `BENCH_PHASE_SECS` (default 15); the throughput ratio.
//! 3. **Durable events**: 64 writers on 64 plans through the server, and
//!    raw sled with one flush + `fdatasync` per 64 inserts of the same
//!    bytes, `BENCH_PHASE_SECS` each; the ratio.
//!
//! Run with `cargo bench -p integritas-tests --bench load`. A load script,
//! not a test: it asserts nothing and prints a table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use integritas_server::ServerConfig;
use integritas_tests::server::TestServer;
use serde_json::json;

const CONNECTIONS: usize = 64;

fn secs(var: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// What one connection's requests took.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: u64,
}

#[derive(Clone, Copy)]
enum Op {
    ReadPlan,
    ReadRegister,
    Post,
}

/// A keep-alive HTTP/1.1 connection.
struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    address: String,
}

impl Conn {
    async fn open(address: &str) -> Conn {
        let stream = tokio::net::TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(connection);
        Conn { sender, address: address.to_string() }
    }

    async fn send(&mut self, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, Bytes) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.address)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or("").to_string())))
            .expect("request");
        match self.sender.send_request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                (status, bytes)
            }
            Err(_) => (0, Bytes::new()),
        }
    }
}

/// Runs `CONNECTIONS` connections for `duration`; connection `i` calls `pick(i, n)` for its n-th request.
async fn run(
    address: &str,
    token: &str,
    duration: Duration,
    pick: impl Fn(usize, u64) -> Op + Send + Sync + 'static,
    meeting: Arc<String>,
) -> (Vec<Duration>, u64, Duration) {
    let pick = Arc::new(pick);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let (address, token, pick, stop, meeting) =
            (address.to_string(), token.to_string(), pick.clone(), stop.clone(), meeting.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&address).await;
            let mut tally = Tally::default();
            let plan = format!("/api/v1/plans/plan-{}", i + 1);
            let register = format!("{plan}/forms/working_group_decision");
            let events = format!("{plan}/events");
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let (status, _) = match pick(i, n) {
                    Op::ReadPlan => conn.send("GET", &plan, &token, None).await,
                    Op::ReadRegister => conn.send("GET", &register, &token, None).await,
                    Op::Post => conn.send("POST", &events, &token, Some(&meeting)).await,
                };
                tally.latencies.push(t.elapsed());
                if !(200..300).contains(&status) {
                    tally.errors += 1;
                    if status == 0 {
                        conn = Conn::open(&address).await;
                    }
                }
                n += 1;
            }
            tally
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let tally = task.await.expect("task");
        all.extend(tally.latencies);
        errors += tally.errors;
    }
    let elapsed = started.elapsed();
    all.sort();
    (all, errors, elapsed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Raw sled: `inserts` of `bytes`-sized values, one flush + fdatasync per 64.
fn raw_sled(duration: Duration, value: &[u8]) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::Config::new().path(dir.path()).flush_every_ms(None).open().expect("sled");
    let tree = db.open_tree("events").expect("tree");
    let file = std::fs::File::open(dir.path().join("db")).expect("sled's data file");
    let started = Instant::now();
    let mut n: u64 = 0;
    while started.elapsed() < duration {
        for _ in 0..64 {
            tree.insert(n.to_be_bytes(), value).expect("insert");
            n += 1;
        }
        db.flush().expect("flush");
        file.sync_data().expect("fdatasync");
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let mixed = secs("BENCH_SECS", 60);
    let phase = secs("BENCH_PHASE_SECS", 15);
    let server = TestServer::start_with(ServerConfig {
        secure_cookies: false,
        logins_per_minute: 10_000,
        request_timeout: Duration::from_secs(60),
        ..Default::default()
    });
    let admin = server.admin.clone();
    server.expect(
        201,
        "POST",
        "/api/v1/institutions",
        Some(&admin),
        Some(json!({"id": "bench", "name": "Bench", "jurisdiction": "rs"})),
    );
    let token = server.user("bench-user", &[("bench", "head")], None);
    server.expect(
        201,
        "POST",
        "/api/v1/institutions/bench/members",
        Some(&admin),
        Some(json!({"user": "bench-user", "role": "coordinator"})),
    );
    let today = server.expect(
        201,
        "POST",
        "/api/v1/plans",
        Some(&token),
        Some(json!({"institution": "bench", "workflow": "rs/three_phase"})),
    )["plan"]["created"]
        .as_str()
        .expect("date")
        .to_string();
    for i in 1..=CONNECTIONS {
        if i > 1 {
            server.expect(
                201,
                "POST",
                "/api/v1/plans",
                Some(&token),
                Some(json!({"institution": "bench", "workflow": "rs/three_phase"})),
            );
        }
        let plan = format!("/api/v1/plans/plan-{i}/events");
        for body in [
            json!({"event": "appoint_coordinator", "as": "head", "payload": {"coordinator_decision": {"number": "1", "decided_on": today, "posted_on": today, "coordinator": "A", "position": "B"}}}),
            json!({"event": "form_working_group", "as": "head", "payload": {"working_group_decision": {"number": "2", "decided_on": today, "members": [{"name": "A", "area": "a"}, {"name": "B", "area": "b"}, {"name": "C", "area": "c"}]}}}),
        ] {
            server.expect(201, "POST", &plan, Some(&token), Some(body));
        }
    }
    let meeting = Arc::new(
        json!({"event": "record_meeting", "as": "coordinator", "payload": {"meeting_minutes": {"meetings": [{"held_on": today, "present": "svi članovi", "conclusions": "Plan rada usvojen."}]}}})
            .to_string(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let address = server.address.clone();

    // BENCH_ONLY=durable runs the third part alone (for profiling).
    let only_durable = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "durable");
    if !only_durable {
        mixed_and_reads(&runtime, &address, &token, mixed, phase, &meeting);
    }
    durable(&runtime, &server, &address, &token, phase, &meeting);
}

fn mixed_and_reads(
    runtime: &tokio::runtime::Runtime,
    address: &str,
    token: &str,
    mixed: Duration,
    phase: Duration,
    meeting: &Arc<String>,
) {
    let (address, token) = (address.to_string(), token.to_string());
    // 1. The mixed load.
    let pick = |i: usize, n: u64| {
        // A fixed interleaving per connection: 7 plan reads, 2 register reads, 1 post in every 10.
        match (n + i as u64) % 10 {
            0 => Op::Post,
            1 | 5 => Op::ReadRegister,
            _ => Op::ReadPlan,
        }
    };
    let (lat, errors, elapsed) = runtime.block_on(run(&address, &token, mixed, pick, meeting.clone()));
    let mixed_rps = lat.len() as f64 / elapsed.as_secs_f64();
    println!(
        "mixed (70% plan reads, 20% register reads, 10% event posts), {CONNECTIONS} connections, {:.0} s: {} requests, {mixed_rps:.0} req/s, p50 {}, p99 {}, errors {errors}",
        elapsed.as_secs_f64(),
        lat.len(),
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
    );

    // 2. The plan read against a bare axum handler returning the same bytes.
    let (_, same) = runtime.block_on(async {
        let mut conn = Conn::open(&address).await;
        conn.send("GET", "/api/v1/plans/plan-1", &token, None).await
    });
    let (lat, errors, elapsed) = runtime.block_on(run(&address, &token, phase, |_, _| Op::ReadPlan, meeting.clone()));
    let server_rps = lat.len() as f64 / elapsed.as_secs_f64();
    println!(
        "plan read through the server: {server_rps:.0} req/s, p50 {}, p99 {}, errors {errors}",
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99))
    );
    let bare_address = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let app = axum::Router::new().route(
            "/api/v1/plans/{id}",
            axum::routing::get(move || {
                let body = same.clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });
    let (lat, errors, elapsed) =
        runtime.block_on(run(&bare_address, &token, phase, |_, _| Op::ReadPlan, meeting.clone()));
    let bare_rps = lat.len() as f64 / elapsed.as_secs_f64();
    println!(
        "the same bytes from a bare axum handler: {bare_rps:.0} req/s, p50 {}, p99 {}, errors {errors}; ratio {:.2}",
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        server_rps / bare_rps
    );
}

fn durable(
    runtime: &tokio::runtime::Runtime,
    server: &TestServer,
    address: &str,
    token: &str,
    phase: Duration,
    meeting: &Arc<String>,
) {
    let (address, token) = (address.to_string(), token.to_string());
    // 3. Durable events: 64 writers on 64 plans, against raw sled.
    let (lat, errors, elapsed) = runtime.block_on(run(&address, &token, phase, |_, _| Op::Post, meeting.clone()));
    let events = (lat.len() as u64 - errors) as f64 / elapsed.as_secs_f64();
    println!(
        "durable events through the server, {CONNECTIONS} writers on {CONNECTIONS} plans: {events:.0} events/s, p50 {}, p99 {}, errors {errors}",
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99))
    );
    let history = server.expect(200, "GET", "/api/v1/plans/plan-1/history?after=3&limit=1", Some(&token), None);
    let sample = history["items"][0].to_string().into_bytes();
    let raw = raw_sled(phase, &sample);
    println!(
        "raw sled, one flush + fdatasync per 64 inserts of an event's {} bytes: {raw:.0} inserts/s; ratio {:.2}",
        sample.len(),
        events / raw
    );
}
