//! Load test of the session monitor against the emulator binary.
//!
//! `deviceauth-load [--users 10000] [--seconds 60] [--shards 4] [--json PATH]` starts
//! `deviceauth-emulator` as a separate process, signs N users in (bounded concurrency),
//! watches every session with a `Monitor` (or with `--shards K` child processes of this
//! binary, `deviceauth-load monitor-shard ...`, each owning one `Shard`), flips 10 % of
//! the sessions to walkaway and 10 % to remote logout over the first half of the window,
//! and checks that every change is seen exactly once. Exits 1 on lost or duplicated
//! changes.

#![recursion_limit = "256"]

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use deviceauth::activeconnect::{
    AuthenticateOptions, Monitor, MonitorEvent, MonitorOptions, SessionData, Shard, Status, WaitOptions,
};
use serde_json::json;
use tokio::sync::mpsc;

use crate::child::{JsonChild, emit, env_client, stdin_lines};
use crate::proc_stats::{proc_status_mb, self_cpu_seconds, unix_ms};
use crate::report::{latency_json, latency_text};
use crate::setup::Emulator;
use crate::window::{Flips, WindowMeter, expected_status, recv_until, watch_in_process};

mod child;
mod proc_stats;
mod report;
mod setup;
mod store;
mod window;

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
    /// Internal: one StoreMonitor on the store in $DEVICEAUTH_LOAD_STORE_URL (store mode).
    StoreMonitor(store::StoreMonitorArgs),
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
    /// Store mode (issue 13): `none` (today's Monitor), `memory`, `sqlite:///path`,
    /// `postgresql://...` or `redis://...`; see store.rs. Sign-ins take the fast path.
    #[arg(long)]
    store: Option<String>,
    /// Store mode: monitor processes on a shared store.
    #[arg(long, default_value_t = 4)]
    monitors: usize,
    /// Store mode: do not SIGKILL monitor 0 half-way.
    #[arg(long)]
    no_kill: bool,
    /// Store mode: StoreMonitorOptions.lease, ms.
    #[arg(long, default_value_t = 60_000)]
    lease_ms: u64,
    /// Store mode: StoreMonitorOptions.batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Store mode: SessionStore::add calls in flight while loading the store.
    #[arg(long, default_value_t = 64)]
    add_in_flight: usize,
    /// Store mode: capacity of the parent's event subscription.
    #[arg(long, default_value_t = 10_000)]
    capacity: usize,
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
        Some(Sub::StoreMonitor(args)) => runtime.block_on(store::store_monitor(args)),
        None if cli.run.store.is_some() => runtime.block_on(store::run_store(cli.run)),
        None => runtime.block_on(run(cli.run)),
    };
    std::process::exit(code);
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
    let emulator = Emulator::start(args.emulator.clone());
    let base = emulator.base.clone();

    // 1. users and phones
    let (users, setup_seconds) = emulator.add_users(args.users, "phones registered").await;

    // 2. sign-ins, bounded
    let wait = WaitOptions { interval: Duration::from_secs(1), deadline: Duration::from_secs(300) };
    let signins = emulator
        .sign_in(&users, args.in_flight, "sign-ins active", |client, user| async move {
            let session = client
                .authenticate_user(&user, &AuthenticateOptions::default())
                .await
                .map_err(|e| format!("authenticate_user: {e}"))?;
            match session.wait(&wait).await {
                Ok(Status::Active) => Ok(session.data()),
                Ok(other) => Err(format!("ended {}", other.as_str())),
                Err(e) => Err(format!("wait: {e}")),
            }
        })
        .await;
    let (sessions, signin_seconds) = (signins.sessions, signins.seconds);
    let signed_in = sessions.len();
    let rss_after_signin = proc_status_mb("self", "VmRSS");

    // 3. watchers
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let interval = Duration::from_millis(args.interval_ms.max(1));
    let sharded = args.shards > 1;
    let mut children: Vec<JsonChild> = Vec::new();
    let mut in_process: Option<Monitor> = None;
    let mut sessions_file: Option<PathBuf> = None;
    let watch_started = Instant::now();
    if sharded {
        let path = std::env::temp_dir().join(format!("deviceauth-load-sessions-{}.json", std::process::id()));
        write_private(&path, &serde_json::to_vec(&sessions).expect("serialize sessions"));
        sessions_file = Some(path.clone());
        for index in 0..args.shards {
            children.push(spawn_shard(index, args.shards, &path, &base, &args, seen_tx.clone()));
        }
        for child in &mut children {
            child.wait_ready();
        }
    } else {
        let monitor =
            watch_in_process(&emulator.client, interval, args.max_in_flight, &sessions, seen_tx.clone(), |event| {
                match event {
                    MonitorEvent::Changed { session_token, status, .. } => Some(Seen::Change {
                        token: session_token,
                        status: status.as_str().to_owned(),
                        at_ms: unix_ms(),
                        shard: 0,
                    }),
                    MonitorEvent::Unreachable { session_token, error, .. } => {
                        Some(Seen::Unreachable { token: session_token, error: error.to_string() })
                    }
                    _ => None,
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
    let mut meter = WindowMeter::start(&emulator).await;

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
    let expected_status = expected_status(&plan);
    let mut flips = Flips::spawn(&emulator, plan, window_start, window / 2);

    // collect until the window ends (and then until every made change is seen, or grace)
    let mut seen: HashMap<String, Vec<(String, u64, u32)>> = HashMap::new();
    let mut unreachable: Vec<(String, String)> = Vec::new();
    let window_end = window_start + window;
    let hard_end = window_end + Duration::from_secs(args.grace_seconds);
    loop {
        let now = Instant::now();
        if now >= window_end && !meter.ended() {
            meter.end(&emulator).await;
            for child in &mut children {
                child.send("window-end");
            }
        }
        flips.poll().await;
        if now >= window_end && (flips.all_seen(&seen) || now >= hard_end) {
            break;
        }
        let wake = if now < window_end { window_end } else { hard_end }.min(now + Duration::from_millis(250));
        match recv_until(&mut seen_rx, wake).await {
            Some(Seen::Change { token, status, at_ms, shard }) => {
                seen.entry(token).or_default().push((status, at_ms, shard))
            }
            Some(Seen::Unreachable { token, error }) => unreachable.push((token, error)),
            None => {}
        }
    }
    let drain_seconds = Instant::now().saturating_duration_since(window_end).as_secs_f64();
    let (made, flip_failures) = flips.into_made();
    let window_cpu = meter.cpu_seconds();
    let window_end_ms = meter.end_ms();
    let window_wall = window.as_secs_f64();

    // stop the watchers; shard children report their summaries
    drop(in_process);
    let summaries: Vec<ShardSummary> = children.drain(..).map(ShardSummary::of).collect();
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
    let seen_in_window = made.keys().filter(|t| seen.get(*t).is_some_and(|l| l[0].1 <= window_end_ms)).count();

    let parent_peak = proc_status_mb("self", "VmHWM");
    let children_peak: f64 = summaries.iter().map(|s| s.peak_rss_mb).sum();
    let max_child_peak = summaries.iter().map(|s| s.peak_rss_mb).fold(0.0, f64::max);
    let children_cpu: f64 = summaries.iter().map(|s| s.window_cpu_s).sum();
    let client_window_cpu = window_cpu + children_cpu;
    let (requests_in_window, requests_per_s) = meter.requests();
    let emu_peak = proc_status_mb(&emulator.process.pid().to_string(), "VmHWM");
    let emu_cpu = meter.emulator_cpu_seconds();
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
        "signin_errors": signins.errors,
        "signin_error_samples": signins.error_samples,
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
        "detect_latency_ms": latency_json(&latencies),
        "client_peak_rss_mb": parent_peak,
        "client_rss_after_signin_mb": rss_after_signin,
        "shard_peak_rss_mb": summaries.iter().map(|s| s.peak_rss_mb).collect::<Vec<_>>(),
        "shard_watched": summaries.iter().map(|s| s.watched).collect::<Vec<_>>(),
        "client_window_cpu_seconds": client_window_cpu,
        "client_window_avg_cores": client_window_cpu / window_wall,
        "parent_window_cpu_seconds": window_cpu,
        "client_total_cpu_seconds": self_cpu_seconds() + summaries.iter().map(|s| s.total_cpu_s).sum::<f64>(),
        "emulator_requests_per_second": requests_per_s,
        "emulator_requests_in_window": requests_in_window,
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
        ("sign-in errors", signins.errors.to_string(), "0"),
        ("changes made / seen", format!("{} / {}", made.len(), changes_seen), "equal"),
        ("lost / duplicated", format!("{lost} / {duplicated}"), "0 / 0"),
        ("wrong status / wrong shard / unexpected", format!("{wrong} / {wrong_shard} / {unexpected}"), "0 / 0 / 0"),
        ("unreachable / flip failures", format!("{} / {}", unreachable.len(), flip_failures.len()), "0 / 0"),
        ("seen within the window", format!("{seen_in_window} (drain after window {drain_seconds:.1} s)"), ""),
        ("detection latency p50 / p99 / max", format!("{} ms", latency_text(&latencies)), ""),
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
    crate::report::finish(&flip_failures, args.json.as_ref(), &report);
    if !unreachable.is_empty() {
        eprintln!("unreachable (first 5): {:?}", &unreachable[..unreachable.len().min(5)]);
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

/// Spawns `deviceauth-load monitor-shard` for shard `index` of `count`; its changes and
/// unreachables go to `seen`.
fn spawn_shard(
    index: u32,
    count: u32,
    sessions: &PathBuf,
    base: &str,
    args: &RunArgs,
    seen: mpsc::UnboundedSender<Seen>,
) -> JsonChild {
    let name = format!("shard {index}");
    let configure = |command: &mut std::process::Command| {
        command
            .args(["--index", &index.to_string(), "--count", &count.to_string()])
            .arg("--sessions")
            .arg(sessions)
            .args(["--base-url", base])
            .args(["--interval-ms", &args.interval_ms.to_string(), "--max-in-flight", &args.max_in_flight.to_string()]);
    };
    JsonChild::spawn("monitor-shard", name.clone(), name, configure, move |value| {
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
            return Some(value);
        }
        None
    })
}

impl ShardSummary {
    /// Stops a shard child (closes its stdin) and reads its summary.
    fn of(child: JsonChild) -> ShardSummary {
        let summary = child.finish(Some(Duration::from_secs(30)));
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
    let client = env_client(&args.base_url);
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
    emit(json!({ "ready": { "index": args.index, "watched": watched } }));

    let mut control_rx = stdin_lines();
    let mut cpu_start = self_cpu_seconds();
    let mut cpu_end = None;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(MonitorEvent::Changed { session_token, status, .. }) => {
                    emit(json!({ "change": { "token": session_token, "status": status.as_str(), "at_ms": unix_ms() } }))
                }
                Some(MonitorEvent::Unreachable { session_token, error, .. }) => {
                    emit(json!({ "unreachable": { "token": session_token, "error": error.to_string() } }))
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
    emit(json!({ "summary": {
        "index": args.index,
        "watched": watched,
        "peak_rss_mb": proc_status_mb("self", "VmHWM"),
        "window_cpu_s": window_cpu,
        "total_cpu_s": self_cpu_seconds(),
    }}));
    drop(monitor);
    0
}
