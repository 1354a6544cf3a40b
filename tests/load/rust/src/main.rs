//! Load test of the session monitor against the emulator binary.
//!
//! `deviceauth-load [--users 10000] [--seconds 60] [--shards 4] [--json PATH]` starts
//! `deviceauth-emulator` as a separate process, signs N users in (bounded concurrency),
//! watches every session with a `Monitor` (or with `--shards K` child processes of this
//! binary, `deviceauth-load monitor-shard ...`, each owning one `Shard`), flips 10 % of
//! the sessions to walkaway and 10 % to remote logout over the first half of the window,
//! and checks that every change is seen exactly once. Exits 1 on lost or duplicated
//! changes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use deviceauth::activeconnect::{
    AuthenticateOptions, Client, Monitor, MonitorEvent, MonitorOptions, SessionData, Shard, Status, WaitOptions,
};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

const APP_ID: &str = "load-app";
const APP_SECRET: &str = "load-secret-0123456789abcdef";
const ENV_APP_ID: &str = "DEVICEAUTH_LOAD_APP_ID";
const ENV_APP_SECRET: &str = "DEVICEAUTH_LOAD_APP_SECRET";

#[derive(Parser)]
#[command(name = "deviceauth-load", about = "Load test of the deviceauth session monitor against the emulator binary")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Sub {
    /// Internal: watch one shard of the sessions in FILE; JSON lines on stdout.
    MonitorShard(ShardArgs),
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Users to sign in and watch.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Length of the monitoring window.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Sign-ins in flight at once.
    #[arg(long, default_value_t = 500)]
    in_flight: usize,
    /// Monitor poll interval, ms.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Monitor `max_in_flight` (per process).
    #[arg(long, default_value_t = 200)]
    max_in_flight: usize,
    /// Watch with this many child processes, one shard each (1: in this process).
    #[arg(long, default_value_t = 1)]
    shards: u32,
    /// Percent of sessions flipped to walkaway, and the same again to remote logout.
    #[arg(long, default_value_t = 10)]
    flip_percent: usize,
    /// After the window, wait at most this long for changes not yet seen.
    #[arg(long, default_value_t = 20)]
    grace_seconds: u64,
    /// Write the report here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The emulator binary (default: next to this binary, else target/release).
    #[arg(long)]
    emulator: Option<PathBuf>,
}

#[derive(Args)]
struct ShardArgs {
    #[arg(long)]
    index: u32,
    #[arg(long)]
    count: u32,
    /// JSON list of SessionData.
    #[arg(long)]
    sessions: PathBuf,
    #[arg(long)]
    base_url: String,
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    #[arg(long, default_value_t = 200)]
    max_in_flight: usize,
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let code = match cli.command {
        Some(Sub::MonitorShard(args)) => runtime.block_on(monitor_shard(args)),
        None => runtime.block_on(run(cli.run)),
    };
    std::process::exit(code);
}

// ---------------------------------------------------------------- process measurements

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// CPU seconds (user + system) of this process.
fn self_cpu_seconds() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A `kB` field of /proc/PID/status in MB (`VmHWM` peak, `VmRSS` now).
fn proc_status_mb(pid: &str, field: &str) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds (utime + stime) of a process from /proc/PID/stat.
fn proc_cpu_seconds(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(after) = text.rfind(')').map(|i| &text[i + 2..]) else { return 0.0 };
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after the command: state is field 3, so utime (14) and stime (15) are at 11 and 12
    let ticks: f64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<f64>().ok()).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks / hz
}

/// `GET /_emulator/stats`: (requests_total, uptime_seconds).
async fn stats(http: &reqwest::Client, base: &str) -> (u64, f64) {
    let value = control(http, reqwest::Method::GET, &format!("{base}/_emulator/stats")).await.1;
    (value["requests_total"].as_u64().unwrap_or(0), value["uptime_seconds"].as_f64().unwrap_or(0.0))
}

async fn control(http: &reqwest::Client, method: reqwest::Method, url: &str) -> (u16, Value) {
    match http.request(method, url).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
        }
        Err(error) => (0, json!({ "error": error.to_string() })),
    }
}

// ---------------------------------------------------------------- seen changes

/// A change a watcher saw.
#[derive(Debug)]
enum Seen {
    Change { token: String, status: String, at_ms: u64, shard: u32 },
    Unreachable { token: String, error: String },
}

/// What a shard child reports when it stops.
#[derive(Debug, Default, Clone)]
struct ShardSummary {
    watched: u64,
    peak_rss_mb: f64,
    window_cpu_s: f64,
    total_cpu_s: f64,
}

// ---------------------------------------------------------------- the run

async fn run(args: RunArgs) -> i32 {
    let binary = deviceauth_emulator::EmulatorProcess::locate(args.emulator.clone());
    let emulator = deviceauth_emulator::EmulatorProcess::spawn(
        &binary,
        &["--approve-after", "1000", "--app", &format!("{APP_ID}:{APP_SECRET}")],
    )
    .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let base = emulator.url().to_owned();
    eprintln!("emulator {} at {base} (pid {})", binary.display(), emulator.pid());
    let http = reqwest::Client::builder().pool_max_idle_per_host(200).build().expect("reqwest client");
    let client = Client::builder(APP_ID, APP_SECRET).base_url(&base).build().expect("deviceauth client");

    // 1. users and phones
    let setup_started = Instant::now();
    let users: Vec<String> = (0..args.users).map(|i| format!("load-user-{i:06}")).collect();
    for batch in users.chunks(1000) {
        client.add_users(batch).await.expect("add_users");
    }
    let registered = Arc::new(AtomicU64::new(0));
    {
        let limit = Arc::new(Semaphore::new(100));
        let mut tasks = JoinSet::new();
        for user in &users {
            let permit = limit.clone().acquire_owned().await.expect("semaphore");
            let (http, url, registered) =
                (http.clone(), format!("{base}/_emulator/apps/{APP_ID}/users/{user}/device"), registered.clone());
            tasks.spawn(async move {
                if control(&http, reqwest::Method::POST, &url).await.0 == 200 {
                    registered.fetch_add(1, Ordering::Relaxed);
                }
                drop(permit);
            });
        }
        while tasks.join_next().await.is_some() {}
    }
    let setup_seconds = setup_started.elapsed().as_secs_f64();
    eprintln!(
        "{} users, {} phones registered in {setup_seconds:.1} s",
        users.len(),
        registered.load(Ordering::Relaxed)
    );

    // 2. sign-ins, bounded
    let signin_started = Instant::now();
    let mut sessions: Vec<SessionData> = Vec::with_capacity(users.len());
    let mut signin_errors: u64 = 0;
    let mut error_samples: Vec<String> = Vec::new();
    {
        let limit = Arc::new(Semaphore::new(args.in_flight.max(1)));
        let mut tasks = JoinSet::new();
        let wait = WaitOptions { interval: Duration::from_secs(1), deadline: Duration::from_secs(300) };
        let mut collect = |outcome: Result<Result<SessionData, String>, tokio::task::JoinError>| match outcome {
            Ok(Ok(data)) => sessions.push(data),
            Ok(Err(error)) => {
                signin_errors += 1;
                if error_samples.len() < 5 {
                    error_samples.push(error);
                }
            }
            Err(error) => {
                signin_errors += 1;
                error_samples.push(error.to_string());
            }
        };
        for user in users.clone() {
            let permit = limit.clone().acquire_owned().await.expect("semaphore");
            let client = client.clone();
            tasks.spawn(async move {
                let _permit = permit;
                let session = client
                    .authenticate_user(&user, &AuthenticateOptions::default())
                    .await
                    .map_err(|e| format!("authenticate_user: {e}"))?;
                match session.wait(&wait).await {
                    Ok(Status::Active) => Ok(session.data()),
                    Ok(other) => Err(format!("ended {}", other.as_str())),
                    Err(e) => Err(format!("wait: {e}")),
                }
            });
            while let Some(done) = tasks.try_join_next() {
                collect(done);
            }
        }
        while let Some(done) = tasks.join_next().await {
            collect(done);
        }
    }
    let signin_seconds = signin_started.elapsed().as_secs_f64();
    let signed_in = sessions.len();
    eprintln!(
        "{signed_in} sign-ins active, {signin_errors} errors in {signin_seconds:.1} s ({:.0}/s) {error_samples:?}",
        signed_in as f64 / signin_seconds
    );
    let rss_after_signin = proc_status_mb("self", "VmRSS");

    // 3. watchers
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let interval = Duration::from_millis(args.interval_ms.max(1));
    let options = MonitorOptions { interval, max_in_flight: args.max_in_flight.max(1), ..MonitorOptions::default() };
    let sharded = args.shards > 1;
    let mut children: Vec<ShardChild> = Vec::new();
    let mut in_process: Option<Monitor> = None;
    let mut sessions_file: Option<PathBuf> = None;
    let watch_started = Instant::now();
    if sharded {
        let path = std::env::temp_dir().join(format!("deviceauth-load-sessions-{}.json", std::process::id()));
        write_private(&path, &serde_json::to_vec(&sessions).expect("serialize sessions"));
        sessions_file = Some(path.clone());
        for index in 0..args.shards {
            children.push(ShardChild::spawn(index, args.shards, &path, &base, &args, seen_tx.clone()));
        }
        for child in &mut children {
            child.wait_ready();
        }
    } else {
        let (monitor, events) = Monitor::start(&client, options).expect("monitor");
        for data in &sessions {
            monitor.add(data.clone());
        }
        let tx = seen_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let seen = match event {
                    MonitorEvent::Changed { session_token, status, .. } => Seen::Change {
                        token: session_token,
                        status: status.as_str().to_owned(),
                        at_ms: unix_ms(),
                        shard: 0,
                    },
                    MonitorEvent::Unreachable { session_token, error, .. } => {
                        Seen::Unreachable { token: session_token, error: error.to_string() }
                    }
                    _ => continue,
                };
                if tx.send(seen).is_err() {
                    break;
                }
            }
        });
        in_process = Some(monitor);
    }
    drop(seen_tx);
    let watch_setup_seconds = watch_started.elapsed().as_secs_f64();

    // 4. the window: flips over the first half
    let window = Duration::from_secs(args.seconds.max(2));
    let window_start = Instant::now();
    for child in &mut children {
        child.send("start");
    }
    let cpu_start = self_cpu_seconds();
    let emu_cpu_start = proc_cpu_seconds(emulator.pid());
    let (requests_start, uptime_start) = stats(&http, &base).await;

    let per_kind = signed_in * args.flip_percent / 100;
    let mut plan: Vec<(String, &'static str)> = Vec::with_capacity(per_kind * 2);
    for (i, data) in sessions.iter().enumerate() {
        let kind = match i % 10 {
            0 if plan.iter().filter(|p| p.1 == "walkaway").count() < per_kind => "walkaway",
            1 if plan.iter().filter(|p| p.1 == "remote-logout").count() < per_kind => "remote-logout",
            _ => continue,
        };
        plan.push((data.session_token.clone(), kind));
    }
    // with flip_percent other than 10 fill up from the start
    for data in &sessions {
        let walk = plan.iter().filter(|p| p.1 == "walkaway").count();
        let out = plan.iter().filter(|p| p.1 == "remote-logout").count();
        if walk >= per_kind && out >= per_kind {
            break;
        }
        if plan.iter().any(|p| p.0 == data.session_token) {
            continue;
        }
        plan.push((data.session_token.clone(), if walk < per_kind { "walkaway" } else { "remote-logout" }));
    }
    let expected_status: HashMap<String, &'static str> =
        plan.iter().map(|(t, k)| (t.clone(), if *k == "walkaway" { "walkaway" } else { "closed" })).collect();
    let flips = {
        let (http, base, plan) = (http.clone(), base.clone(), plan.clone());
        let half = window / 2;
        tokio::spawn(async move {
            let mut made: HashMap<String, u64> = HashMap::new();
            let mut failed: Vec<String> = Vec::new();
            let mut tasks = JoinSet::new();
            let n = plan.len().max(1);
            for (k, (token, action)) in plan.into_iter().enumerate() {
                tokio::time::sleep_until((window_start + half.mul_f64(k as f64 / n as f64)).into()).await;
                let (http, url) = (http.clone(), format!("{base}/_emulator/sessions/{token}/{action}"));
                tasks.spawn(async move {
                    let at = unix_ms();
                    let (status, body) = control(&http, reqwest::Method::POST, &url).await;
                    (token, at, status, body)
                });
                while let Some(Ok((token, at, status, body))) = tasks.try_join_next() {
                    if status == 200 {
                        made.insert(token, at);
                    } else {
                        failed.push(format!("{status} {body}"));
                    }
                }
            }
            while let Some(Ok((token, at, status, body))) = tasks.join_next().await {
                if status == 200 {
                    made.insert(token, at);
                } else {
                    failed.push(format!("{status} {body}"));
                }
            }
            (made, failed)
        })
    };

    // collect until the window ends (and then until every made change is seen, or grace)
    let mut seen: HashMap<String, Vec<(String, u64, u32)>> = HashMap::new();
    let mut unreachable: Vec<(String, String)> = Vec::new();
    let window_end = window_start + window;
    let mut made_changes: Option<(HashMap<String, u64>, Vec<String>)> = None;
    let mut flips = Some(flips);
    let mut requests_end = None;
    let mut cpu_end = None;
    let mut emu_cpu_end = 0.0;
    let mut window_end_ms = u64::MAX;
    let hard_end = window_end + Duration::from_secs(args.grace_seconds);
    loop {
        let now = Instant::now();
        if now >= window_end && requests_end.is_none() {
            window_end_ms = unix_ms();
            requests_end = Some(stats(&http, &base).await);
            cpu_end = Some(self_cpu_seconds());
            emu_cpu_end = proc_cpu_seconds(emulator.pid());
            for child in &mut children {
                child.send("window-end");
            }
        }
        if let Some(handle) = flips.as_mut().filter(|h| h.is_finished()) {
            made_changes = Some(handle.await.expect("flip task"));
            flips = None;
        }
        if now >= window_end {
            let all_seen = made_changes.as_ref().is_some_and(|(made, _)| made.keys().all(|t| seen.contains_key(t)));
            if all_seen || now >= hard_end {
                break;
            }
        }
        let wake = if now < window_end { window_end } else { hard_end }.min(now + Duration::from_millis(250));
        tokio::select! {
            event = seen_rx.recv() => match event {
                Some(Seen::Change { token, status, at_ms, shard }) => seen.entry(token).or_default().push((status, at_ms, shard)),
                Some(Seen::Unreachable { token, error }) => unreachable.push((token, error)),
                None => tokio::time::sleep_until(wake.into()).await,
            },
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
    }
    let drain_seconds = Instant::now().saturating_duration_since(window_end).as_secs_f64();
    let (made, flip_failures) = made_changes.unwrap_or_default();
    let requests_end = requests_end.unwrap_or((requests_start, uptime_start));
    let window_cpu = cpu_end.unwrap_or_else(self_cpu_seconds) - cpu_start;
    let window_wall = window.as_secs_f64();

    // stop the watchers; shard children report their summaries
    drop(in_process);
    let mut summaries: Vec<ShardSummary> = Vec::new();
    for child in children.drain(..) {
        summaries.push(child.finish());
    }
    if let Some(path) = sessions_file {
        let _ = std::fs::remove_file(path);
    }

    // 5. verdict
    let mut lost = 0u64;
    let mut duplicated = 0u64;
    let mut wrong = 0u64;
    let mut wrong_shard = 0u64;
    let mut latencies: Vec<u64> = Vec::new();
    for (token, sent_at) in &made {
        match seen.get(token) {
            None => lost += 1,
            Some(list) => {
                duplicated += list.len() as u64 - 1;
                if list[0].0 != expected_status[token] {
                    wrong += 1;
                }
                if sharded && list.iter().any(|(_, _, shard)| *shard != Shard::of(token, args.shards)) {
                    wrong_shard += 1;
                }
                latencies.push(list[0].1.saturating_sub(*sent_at));
            }
        }
    }
    let unexpected: u64 = seen.iter().filter(|(t, _)| !made.contains_key(*t)).map(|(_, l)| l.len() as u64).sum();
    let changes_seen: u64 = seen.values().map(|l| l.len() as u64).sum();
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0);
    let seen_in_window = made.keys().filter(|t| seen.get(*t).is_some_and(|l| l[0].1 <= window_end_ms)).count();

    let parent_peak = proc_status_mb("self", "VmHWM");
    let children_peak: f64 = summaries.iter().map(|s| s.peak_rss_mb).sum();
    let max_child_peak = summaries.iter().map(|s| s.peak_rss_mb).fold(0.0, f64::max);
    let children_cpu: f64 = summaries.iter().map(|s| s.window_cpu_s).sum();
    let client_window_cpu = window_cpu + children_cpu;
    let requests_per_s = (requests_end.0 - requests_start) as f64 / (requests_end.1 - uptime_start).max(1e-9);
    let emu_peak = proc_status_mb(&emulator.pid().to_string(), "VmHWM");
    let emu_cpu = emu_cpu_end - emu_cpu_start;
    let ok = lost == 0 && duplicated == 0;

    let report = json!({
        "mode": if sharded { format!("{} shard processes", args.shards) } else { "one process".to_owned() },
        "users": args.users,
        "seconds": args.seconds,
        "interval_ms": args.interval_ms,
        "monitor_max_in_flight": args.max_in_flight,
        "signin_in_flight": args.in_flight,
        "setup_seconds": setup_seconds,
        "signins_completed": signed_in,
        "signin_errors": signin_errors,
        "signin_error_samples": error_samples,
        "signin_seconds": signin_seconds,
        "watch_setup_seconds": watch_setup_seconds,
        "changes_made": made.len(),
        "flip_failures": flip_failures.len(),
        "changes_seen": changes_seen,
        "changes_seen_distinct": made.len() as u64 - lost,
        "changes_seen_in_window": seen_in_window,
        "lost": lost,
        "duplicated": duplicated,
        "wrong_status": wrong,
        "wrong_shard": wrong_shard,
        "unexpected_changes": unexpected,
        "unreachable": unreachable.len(),
        "drain_seconds_after_window": drain_seconds,
        "detect_latency_ms": { "p50": pct(0.5), "p99": pct(0.99), "max": latencies.last().copied().unwrap_or(0) },
        "client_peak_rss_mb": parent_peak,
        "client_rss_after_signin_mb": rss_after_signin,
        "shard_peak_rss_mb": summaries.iter().map(|s| s.peak_rss_mb).collect::<Vec<_>>(),
        "shard_watched": summaries.iter().map(|s| s.watched).collect::<Vec<_>>(),
        "client_window_cpu_seconds": client_window_cpu,
        "client_window_avg_cores": client_window_cpu / window_wall,
        "parent_window_cpu_seconds": window_cpu,
        "client_total_cpu_seconds": self_cpu_seconds() + summaries.iter().map(|s| s.total_cpu_s).sum::<f64>(),
        "emulator_requests_per_second": requests_per_s,
        "emulator_requests_in_window": requests_end.0 - requests_start,
        "demanded_polls_per_second": (signed_in as f64) / (args.interval_ms as f64 / 1000.0),
        "emulator_peak_rss_mb": emu_peak,
        "emulator_window_cpu_seconds": emu_cpu,
        "emulator_window_avg_cores": emu_cpu / window_wall,
        "ok": ok,
    });

    let rows: Vec<(&str, String, &str)> = vec![
        ("mode", report["mode"].as_str().unwrap_or("").to_owned(), ""),
        ("users / window / interval", format!("{} / {} s / {} ms", args.users, args.seconds, args.interval_ms), ""),
        (
            "sign-ins completed",
            format!("{signed_in} in {signin_seconds:.1} s ({:.0}/s)", signed_in as f64 / signin_seconds),
            "",
        ),
        ("sign-in errors", signin_errors.to_string(), "0"),
        ("changes made / seen", format!("{} / {}", made.len(), changes_seen), "equal"),
        ("lost / duplicated", format!("{lost} / {duplicated}"), "0 / 0"),
        ("wrong status / wrong shard / unexpected", format!("{wrong} / {wrong_shard} / {unexpected}"), "0 / 0 / 0"),
        ("unreachable / flip failures", format!("{} / {}", unreachable.len(), flip_failures.len()), "0 / 0"),
        ("seen within the window", format!("{seen_in_window} (drain after window {drain_seconds:.1} s)"), ""),
        (
            "detection latency p50 / p99 / max",
            format!("{} / {} / {} ms", pct(0.5), pct(0.99), latencies.last().copied().unwrap_or(0)),
            "",
        ),
        (
            "client peak RSS (VmHWM)",
            if sharded {
                format!("parent {parent_peak:.1} MB; shards {max_child_peak:.1} MB max, {children_peak:.1} MB sum")
            } else {
                format!("{parent_peak:.1} MB (after sign-ins {rss_after_signin:.1} MB)")
            },
            "<= 200 MB",
        ),
        (
            "client CPU in window",
            format!("{client_window_cpu:.1} s = {:.2} cores avg", client_window_cpu / window_wall),
            "<= 1 core",
        ),
        (
            "emulator requests/s in window",
            format!("{requests_per_s:.0} (demand {:.0})", signed_in as f64 / (args.interval_ms as f64 / 1000.0)),
            "",
        ),
        ("emulator peak RSS / CPU in window", format!("{emu_peak:.1} MB / {:.2} cores avg", emu_cpu / window_wall), ""),
        ("verdict", if ok { "OK".to_owned() } else { "FAIL: lost or duplicated changes".to_owned() }, ""),
    ];
    println!();
    println!("{:<42} {:<58} target", "deviceauth-load", "value");
    println!("{}", "-".repeat(112));
    for (name, value, target) in rows {
        println!("{name:<42} {value:<58} {target}");
    }
    if !flip_failures.is_empty() {
        eprintln!("flip failures (first 5): {:?}", &flip_failures[..flip_failures.len().min(5)]);
    }
    if !unreachable.is_empty() {
        eprintln!("unreachable (first 5): {:?}", &unreachable[..unreachable.len().min(5)]);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report).expect("json")).expect("write --json");
    }
    drop(emulator);
    if ok { 0 } else { 1 }
}

fn write_private(path: &PathBuf, bytes: &[u8]) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("sessions file");
    file.write_all(bytes).expect("write sessions file");
}

// ---------------------------------------------------------------- shard children

struct ShardChild {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    ready: std::sync::mpsc::Receiver<Value>,
    reader: Option<std::thread::JoinHandle<()>>,
    index: u32,
}

impl ShardChild {
    fn spawn(
        index: u32,
        count: u32,
        sessions: &PathBuf,
        base: &str,
        args: &RunArgs,
        seen: mpsc::UnboundedSender<Seen>,
    ) -> ShardChild {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .arg("monitor-shard")
            .args(["--index", &index.to_string(), "--count", &count.to_string()])
            .arg("--sessions")
            .arg(sessions)
            .args(["--base-url", base])
            .args(["--interval-ms", &args.interval_ms.to_string(), "--max-in-flight", &args.max_in_flight.to_string()])
            .env(ENV_APP_ID, APP_ID)
            .env(ENV_APP_SECRET, APP_SECRET)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn monitor-shard");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    eprintln!("shard {index}: {line}");
                    continue;
                };
                if let Some(change) = value.get("change") {
                    let _ = seen.send(Seen::Change {
                        token: change["token"].as_str().unwrap_or("").to_owned(),
                        status: change["status"].as_str().unwrap_or("").to_owned(),
                        at_ms: change["at_ms"].as_u64().unwrap_or(0),
                        shard: index,
                    });
                } else if let Some(gone) = value.get("unreachable") {
                    let _ = seen.send(Seen::Unreachable {
                        token: gone["token"].as_str().unwrap_or("").to_owned(),
                        error: gone["error"].as_str().unwrap_or("").to_owned(),
                    });
                } else {
                    let _ = ready_tx.send(value);
                }
            }
        });
        ShardChild { child, stdin, ready, reader: Some(reader), index }
    }

    fn wait_ready(&mut self) {
        match self.ready.recv_timeout(Duration::from_secs(120)) {
            Ok(value) => eprintln!("shard {} ready: {value}", self.index),
            Err(_) => panic!("shard {} did not start", self.index),
        }
    }

    fn send(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}");
            let _ = stdin.flush();
        }
    }

    /// Closes stdin (the child stops) and reads its summary.
    fn finish(mut self) -> ShardSummary {
        self.stdin = None;
        let summary = self.ready.recv_timeout(Duration::from_secs(30)).unwrap_or(Value::Null)["summary"].clone();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        ShardSummary {
            watched: summary["watched"].as_u64().unwrap_or(0),
            peak_rss_mb: summary["peak_rss_mb"].as_f64().unwrap_or(0.0),
            window_cpu_s: summary["window_cpu_s"].as_f64().unwrap_or(0.0),
            total_cpu_s: summary["total_cpu_s"].as_f64().unwrap_or(0.0),
        }
    }
}

/// `monitor-shard`: watches its shard; one JSON line per change on stdout. Stdin lines:
/// `start` and `window-end` mark the measured window; EOF stops it and prints a summary.
async fn monitor_shard(args: ShardArgs) -> i32 {
    let app_id = std::env::var(ENV_APP_ID).unwrap_or_else(|_| APP_ID.to_owned());
    let secret = std::env::var(ENV_APP_SECRET).unwrap_or_else(|_| APP_SECRET.to_owned());
    let client = Client::builder(app_id, secret).base_url(&args.base_url).build().expect("client");
    let shard = Shard::new(args.index, args.count).expect("shard");
    let sessions: Vec<SessionData> =
        serde_json::from_slice(&std::fs::read(&args.sessions).expect("read sessions")).expect("sessions JSON");
    let options = MonitorOptions {
        interval: Duration::from_millis(args.interval_ms.max(1)),
        max_in_flight: args.max_in_flight.max(1),
        shard: Some(shard),
        ..MonitorOptions::default()
    };
    let (monitor, events) = Monitor::start(&client, options).expect("monitor");
    let watched = sessions.into_iter().filter(|data| monitor.add(data.clone())).count();
    let out = |value: Value| {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{value}");
        let _ = stdout.flush();
    };
    out(json!({ "ready": { "index": args.index, "watched": watched } }));

    let (control_tx, mut control_rx) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if control_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut cpu_start = self_cpu_seconds();
    let mut cpu_end = None;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(MonitorEvent::Changed { session_token, status, .. }) => {
                    out(json!({ "change": { "token": session_token, "status": status.as_str(), "at_ms": unix_ms() } }))
                }
                Some(MonitorEvent::Unreachable { session_token, error, .. }) => {
                    out(json!({ "unreachable": { "token": session_token, "error": error.to_string() } }))
                }
                Some(_) => {}
                None => break,
            },
            line = control_rx.recv() => match line.as_deref() {
                Some("start") => cpu_start = self_cpu_seconds(),
                Some("window-end") => cpu_end = Some(self_cpu_seconds()),
                Some(_) => {}
                None => break,
            },
        }
    }
    let window_cpu = cpu_end.unwrap_or_else(self_cpu_seconds) - cpu_start;
    out(json!({ "summary": {
        "index": args.index,
        "watched": watched,
        "peak_rss_mb": proc_status_mb("self", "VmHWM"),
        "window_cpu_s": window_cpu,
        "total_cpu_s": self_cpu_seconds(),
    }}));
    drop(monitor);
    0
}
