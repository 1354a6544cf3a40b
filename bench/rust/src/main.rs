//! Benchmarks of the deviceauth core against the emulator binary.
//!
//! 1. `has_registered_mobile_device` through the core (signed) vs a bare unsigned reqwest
//!    GET of the same endpoint (the floor; the emulator answers it 401 without checking a
//!    signature): sequential latency p50/p99 and throughput with 100 in flight.
//! 2. Emulator requests/s for status polls (`Session::refresh` of approved sessions) with
//!    1, 10 and 100 concurrent clients, each its own `Client` and session.
//!
//! `deviceauth-bench [--seconds 5] [--json PATH] [--emulator PATH]`

use std::path::PathBuf;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use deviceauth::activeconnect::{AuthenticateOptions, Client, Session, Status, WaitOptions};
use serde_json::{Value, json};

const APP_ID: &str = "bench-app";
const APP_SECRET: &str = "bench-secret-0123456789abcdef";

#[derive(Parser)]
#[command(name = "deviceauth-bench", about = "deviceauth core vs a bare reqwest floor, and status-poll throughput")]
struct Cli {
    /// Length of each measurement.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Calls in flight for the throughput measurement.
    #[arg(long, default_value_t = 100)]
    in_flight: usize,
    /// Write the results here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The emulator binary (default: $DEVICEAUTH_EMULATOR, else next to this binary).
    #[arg(long)]
    emulator: Option<PathBuf>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e6
}

/// Sequential calls for `seconds`: (calls/s, p50 µs, p99 µs).
async fn sequential<F, Fut>(seconds: f64, call: F) -> (f64, f64, f64)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut latencies = Vec::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    while Instant::now() < deadline {
        let t = Instant::now();
        call().await;
        latencies.push(t.elapsed());
    }
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    (rate, percentile(&latencies, 0.5), percentile(&latencies, 0.99))
}

/// Sequential calls for `seconds`: every call's latency.
async fn sequential_latencies<F, Fut>(seconds: f64, call: F) -> Vec<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < deadline {
        let t = Instant::now();
        call().await;
        latencies.push(t.elapsed());
    }
    latencies
}

/// `in_flight` loops for `seconds`: calls/s.
async fn concurrent<F, Fut>(seconds: f64, in_flight: usize, call: F) -> f64
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (call, done) = (call.clone(), done.clone());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                call().await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("bench task");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn stats(http: &reqwest::Client, base: &str) -> (u64, f64) {
    let body =
        http.get(format!("{base}/_emulator/stats")).send().await.expect("stats").bytes().await.expect("stats body");
    let value: Value = serde_json::from_slice(&body).expect("stats json");
    (value["requests_total"].as_u64().unwrap_or(0), value["uptime_seconds"].as_f64().unwrap_or(0.0))
}

fn client(base: &str) -> Client {
    Client::builder(APP_ID, APP_SECRET).base_url(base).build().expect("client")
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(cli));
}

async fn run(cli: Cli) {
    let binary = deviceauth_emulator::EmulatorProcess::locate(cli.emulator.clone());
    let emulator = deviceauth_emulator::EmulatorProcess::spawn(
        &binary,
        &["--approve-after", "200", "--app", &format!("{APP_ID}:{APP_SECRET}")],
    )
    .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let base = emulator.url().to_owned();
    let seconds = cli.seconds;
    eprintln!("emulator {} at {base}; {seconds} s per measurement", binary.display());
    let http = reqwest::Client::builder().build().expect("reqwest");
    let core = client(&base);
    let user = "bench-user";
    core.add_users(&[user]).await.expect("add_users");
    let register =
        http.post(format!("{base}/_emulator/apps/{APP_ID}/users/{user}/device")).send().await.expect("register device");
    assert_eq!(register.status(), 200);
    assert!(core.has_registered_mobile_device(user).await.expect("setup call"));

    // 1. signed core call vs bare reqwest floor
    let endpoint = format!("{base}/management/has_registered_mobile_device/{APP_ID}/{user}");
    let signed = {
        let core = core.clone();
        move || {
            let core = core.clone();
            async move {
                assert!(core.has_registered_mobile_device(user).await.expect("signed call"));
            }
        }
    };
    let bare = {
        let (http, endpoint) = (http.clone(), endpoint.clone());
        move || {
            let (http, endpoint) = (http.clone(), endpoint.clone());
            async move {
                let response =
                    http.get(&endpoint).header("accept", "application/json").send().await.expect("bare call");
                assert_eq!(response.status(), 401);
                let _ = response.bytes().await;
            }
        }
    };
    // the same signed request by hand over plain reqwest: same wire and emulator work as
    // the core, without the core's client (retry policy, error mapping, status parsing)
    let nonce_seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
    let nonces = Arc::new(AtomicU64::new(nonce_seed));
    let by_hand = {
        let (http, url) = (http.clone(), reqwest::Url::parse(&endpoint).expect("url"));
        move || {
            let (http, url, nonces) = (http.clone(), url.clone(), nonces.clone());
            async move {
                use deviceauth::activeconnect::signing;
                let nonce = nonces.fetch_add(1, Ordering::Relaxed);
                let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
                let sig = signing::signature(APP_SECRET, nonce, signing::signed_uri(&url), timestamp);
                let response = http
                    .get(url)
                    .header(signing::AUTHENTICATION_HEADER, format!("hmac {APP_ID}:{nonce}:{sig}"))
                    .header(signing::TIMESTAMP_HEADER, timestamp.to_string())
                    .header(signing::VERSION_HEADER, "1")
                    .header("accept", "application/json")
                    .send()
                    .await
                    .expect("hand-signed call");
                assert_eq!(response.status(), 200);
                let body: Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("json");
                assert_eq!(body["device_registered"], true, "{body}");
            }
        }
    };
    // warm-up
    sequential(0.5, &by_hand).await;
    sequential(0.5, &signed).await;
    sequential(0.5, &bare).await;
    // Interleaved rounds (core, bare, by hand, repeated) so that other work on a shared
    // machine hits every column alike.
    let rounds = 5usize;
    let slice = seconds / rounds as f64;
    let mut lat: [Vec<Duration>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut seq_time = [0.0f64; 3];
    eprintln!("  sequential, {rounds} interleaved rounds ...");
    for _ in 0..rounds {
        for (i, l) in lat.iter_mut().enumerate() {
            let started = Instant::now();
            let mut got = match i {
                0 => sequential_latencies(slice, &signed).await,
                1 => sequential_latencies(slice, &bare).await,
                _ => sequential_latencies(slice, &by_hand).await,
            };
            seq_time[i] += started.elapsed().as_secs_f64();
            l.append(&mut got);
        }
    }
    let summary = |i: usize, lat: &mut [Vec<Duration>; 3]| {
        lat[i].sort_unstable();
        (lat[i].len() as f64 / seq_time[i], percentile(&lat[i], 0.5), percentile(&lat[i], 0.99))
    };
    let (core_seq, core_p50, core_p99) = summary(0, &mut lat);
    let (bare_seq, bare_p50, bare_p99) = summary(1, &mut lat);
    let (hand_seq, hand_p50, hand_p99) = summary(2, &mut lat);
    eprintln!("  {} in flight, {rounds} interleaved rounds ...", cli.in_flight);
    concurrent(0.5, cli.in_flight, signed.clone()).await;
    concurrent(0.5, cli.in_flight, bare.clone()).await;
    concurrent(0.5, cli.in_flight, by_hand.clone()).await;
    let mut tp = [0.0f64; 3];
    for _ in 0..rounds {
        tp[0] += concurrent(slice, cli.in_flight, signed.clone()).await / rounds as f64;
        tp[1] += concurrent(slice, cli.in_flight, bare.clone()).await / rounds as f64;
        tp[2] += concurrent(slice, cli.in_flight, by_hand.clone()).await / rounds as f64;
    }
    let [core_tp, bare_tp, hand_tp] = tp;

    // 2. status polls with N concurrent clients, each with its own approved session
    let max_clients = 100;
    let mut sessions: Vec<Session> = Vec::new();
    let users: Vec<String> = (0..max_clients).map(|i| format!("poll-user-{i}")).collect();
    core.add_users(&users).await.expect("add_users");
    for user in &users {
        let r =
            http.post(format!("{base}/_emulator/apps/{APP_ID}/users/{user}/device")).send().await.expect("register");
        assert_eq!(r.status(), 200);
    }
    let mut pending = tokio::task::JoinSet::new();
    for user in users.clone() {
        let own = client(&base);
        pending.spawn(async move {
            let session = own.authenticate_user(&user, &AuthenticateOptions::default()).await.expect("authenticate");
            let wait = WaitOptions { interval: Duration::from_millis(100), deadline: Duration::from_secs(60) };
            assert_eq!(session.wait(&wait).await.expect("wait"), Status::Active);
            session
        });
    }
    while let Some(session) = pending.join_next().await {
        sessions.push(session.expect("sign-in task"));
    }
    let mut polls = Vec::new();
    for n in [1usize, 10, 100] {
        let stop = Arc::new(AtomicBool::new(false));
        let client_calls = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for session in &sessions[..n.min(sessions.len())] {
            let session = session.clone();
            let (stop, client_calls, errors) = (stop.clone(), client_calls.clone(), errors.clone());
            tasks.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match session.refresh().await {
                        Ok(Status::Active) => client_calls.fetch_add(1, Ordering::Relaxed),
                        _ => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await; // warm-up
        let (r0, t0) = stats(&http, &base).await;
        let c0 = client_calls.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        let (r1, t1) = stats(&http, &base).await;
        let c1 = client_calls.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        while tasks.join_next().await.is_some() {}
        let rate = (r1 - r0) as f64 / (t1 - t0);
        eprintln!("  status polls, {n} clients: {rate:.0} requests/s");
        polls.push(json!({
            "clients": n,
            "emulator_requests_per_second": rate,
            "client_refreshes_per_second": (c1 - c0) as f64 / (t1 - t0),
            "errors": errors.load(Ordering::Relaxed),
        }));
    }

    let report = json!({
        "seconds": seconds,
        "in_flight": cli.in_flight,
        "has_registered_mobile_device": {
            "core_signed": { "sequential_calls_per_second": core_seq, "p50_us": core_p50, "p99_us": core_p99, "concurrent_calls_per_second": core_tp },
            "reqwest_signed_by_hand": { "sequential_calls_per_second": hand_seq, "p50_us": hand_p50, "p99_us": hand_p99, "concurrent_calls_per_second": hand_tp },
            "bare_reqwest_unsigned_401": { "sequential_calls_per_second": bare_seq, "p50_us": bare_p50, "p99_us": bare_p99, "concurrent_calls_per_second": bare_tp },
        },
        "status_polls": polls,
    });
    println!("has_registered_mobile_device, {seconds} s per cell (bare = unsigned reqwest GET, answered 401)");
    println!(
        "{:<34} {:>12} {:>12} {:>12} {:>16}",
        "",
        "seq calls/s",
        "p50 us",
        "p99 us",
        format!("{} in flight/s", cli.in_flight)
    );
    println!("{:<34} {core_seq:>12.0} {core_p50:>12.0} {core_p99:>12.0} {core_tp:>16.0}", "deviceauth core (signed)");
    println!(
        "{:<34} {bare_seq:>12.0} {bare_p50:>12.0} {bare_p99:>12.0} {bare_tp:>16.0}",
        "bare reqwest (unsigned, 401)"
    );
    println!(
        "{:<34} {hand_seq:>12.0} {hand_p50:>12.0} {hand_p99:>12.0} {hand_tp:>16.0}",
        "reqwest, signed by hand (200)"
    );
    println!(
        "{:<34} {:>12.2} {:>12.2} {:>12.2} {:>16.2}",
        "core / bare (time ratio)",
        bare_seq / core_seq,
        core_p50 / bare_p50,
        core_p99 / bare_p99,
        bare_tp / core_tp
    );
    for p in report["status_polls"].as_array().unwrap() {
        println!(
            "status polls, {:>3} clients: {:>8.0} emulator requests/s",
            p["clients"],
            p["emulator_requests_per_second"].as_f64().unwrap_or(0.0)
        );
    }
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report).expect("json")).expect("write --json");
    }
}
