//! Store mode (issue 13): `deviceauth-load --store URL [--monitors K]`.
//!
//! The parent signs users in against the emulator (fast path: `authenticate_user`, then
//! the emulator's `--approve-after` makes each one active; no status polling), adds every
//! session to the store (`SessionStore::add`, key `s<index>`), starts K child processes
//! `deviceauth-load store-monitor` (each one `StoreMonitor` on the same store), subscribes
//! to the store's events itself, waits until every session was polled once (warm-up),
//! then runs the window: flips `--flip-percent` % to walkaway and as many to remote logout
//! over the first 3/4 of the window, SIGKILLs monitor 0 half-way, samples each child's
//! `VmHWM` and CPU ticks, and reads the store's own counters (Postgres
//! `pg_stat_database`, Redis `INFO`). A change is seen when its event reaches the parent's
//! subscription. Exits 1 on lost changes.
//!
//! `--store memory`: a memory `SessionStore` with one `StoreMonitor` in the parent (no
//! children: a memory store is one process). `--store none`: today's in-memory `Monitor`
//! in the parent, the same harness, for comparison.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use deviceauth::activeconnect::store::{SessionStore, StoreMonitor, StoreMonitorOptions};
use deviceauth::activeconnect::{AuthenticateOptions, Monitor, MonitorEvent, MonitorOptions, Status};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::RunArgs;
use crate::child::{JsonChild, emit, env_client, stdin_lines};
use crate::proc_stats::{
    machine_jiffies, parent_pid, proc_cpu_seconds, proc_status_mb, self_cpu_seconds, tree_cpu_seconds, unix_ms,
};
use crate::report::{latency_json, latency_text, pct};
use crate::setup::Emulator;
use crate::window::{Flips, WindowMeter, expected_status, recv_until, watch_in_process};

const ENV_STORE_URL: &str = "DEVICEAUTH_LOAD_STORE_URL";
const ENV_SEAL_KEY: &str = "DEVICEAUTH_LOAD_SEAL_KEY";

#[derive(Args)]
pub(crate) struct StoreMonitorArgs {
    #[arg(long)]
    index: u32,
    #[arg(long)]
    base_url: String,
    #[arg(long, default_value_t = 30_000)]
    interval_ms: u64,
    #[arg(long, default_value_t = 200)]
    max_in_flight: usize,
    #[arg(long, default_value_t = 60_000)]
    lease_ms: u64,
    #[arg(long, default_value_t = 100)]
    batch: usize,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2).filter_map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()).collect()
}

fn store_options(interval_ms: u64, max_in_flight: usize, lease_ms: u64, batch: usize) -> StoreMonitorOptions {
    StoreMonitorOptions {
        poll: MonitorOptions {
            interval: Duration::from_millis(interval_ms.max(1)),
            max_in_flight: max_in_flight.max(1),
            ..MonitorOptions::default()
        },
        lease: Duration::from_millis(lease_ms.max(1)),
        batch: batch.max(1),
        ..StoreMonitorOptions::default()
    }
}

/// A URL without its query (namespace) and without a password, for messages.
fn redact(url: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &base[..scheme], &base[at..]),
        _ => base.to_owned(),
    }
}

// ---------------------------------------------------------------- the store's own counters

enum StoreCounters {
    /// The client and the postmaster's pid (its children are the server's processes).
    Postgres(tokio_postgres::Client, Option<u32>),
    Redis(redis::aio::MultiplexedConnection),
    Nothing,
}

impl StoreCounters {
    async fn connect(url: &str) -> StoreCounters {
        let base = url.split('?').next().unwrap_or(url).to_owned();
        if base.starts_with("postgres") {
            match tokio_postgres::connect(&base, tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(connection);
                    let backend = client.query_one("SELECT pg_backend_pid()", &[]).await.ok();
                    let postmaster =
                        backend.and_then(|row| row.try_get::<_, i32>(0).ok()).and_then(|pid| parent_pid(pid as u32));
                    return StoreCounters::Postgres(client, postmaster);
                }
                Err(error) => eprintln!("store counters: postgres: {error}"),
            }
        } else if base.starts_with("redis") {
            match redis::Client::open(base.as_str()) {
                Ok(client) => match client.get_multiplexed_async_connection().await {
                    Ok(con) => return StoreCounters::Redis(con),
                    Err(error) => eprintln!("store counters: redis: {error}"),
                },
                Err(error) => eprintln!("store counters: redis: {error}"),
            }
        }
        StoreCounters::Nothing
    }

    /// Named counters now.
    async fn sample(&mut self) -> HashMap<String, f64> {
        let mut out = HashMap::new();
        match self {
            StoreCounters::Postgres(client, postmaster) => {
                if let Some(postmaster) = postmaster {
                    out.insert("server_cpu_seconds".into(), tree_cpu_seconds(*postmaster));
                }
                let sql = "SELECT xact_commit::float8, xact_rollback::float8, tup_inserted::float8, \
                           tup_updated::float8, tup_deleted::float8, tup_fetched::float8 \
                           FROM pg_stat_database WHERE datname = current_database()";
                if let Ok(row) = client.query_one(sql, &[]).await {
                    for (i, name) in
                        ["xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted", "tup_fetched"]
                            .iter()
                            .enumerate()
                    {
                        out.insert((*name).to_owned(), row.try_get::<_, f64>(i).unwrap_or(0.0));
                    }
                }
            }
            StoreCounters::Redis(con) => {
                let text: String = redis::cmd("INFO").arg("all").query_async(con).await.unwrap_or_default();
                for line in text.lines() {
                    if let Some(n) = line.strip_prefix("total_commands_processed:") {
                        out.insert("total_commands_processed".into(), n.trim().parse().unwrap_or(0.0));
                    } else if let Some(rest) = line.strip_prefix("cmdstat_") {
                        // cmdstat_evalsha:calls=N,usec=...
                        if let Some((name, fields)) = rest.split_once(':')
                            && let Some(calls) = fields.split(',').find_map(|f| f.strip_prefix("calls="))
                        {
                            out.insert(format!("calls_{name}"), calls.parse().unwrap_or(0.0));
                        }
                    } else if let Some(n) =
                        line.strip_prefix("used_cpu_sys:").or_else(|| line.strip_prefix("used_cpu_user:"))
                    {
                        *out.entry("server_cpu_seconds".into()).or_insert(0.0) +=
                            n.trim().parse::<f64>().unwrap_or(0.0);
                    } else if let Some(n) = line.strip_prefix("used_memory:") {
                        out.insert("used_memory_mb".into(), n.trim().parse::<f64>().unwrap_or(0.0) / 1048576.0);
                    }
                }
            }
            StoreCounters::Nothing => {}
        }
        out
    }
}

// ---------------------------------------------------------------- monitor children

/// A `store-monitor` child and what the parent measured of it.
struct MonitorChild {
    index: u32,
    pid: u32,
    process: JsonChild,
    polls: Arc<AtomicU64>,
    problems: Arc<AtomicU64>,
    problem_samples: Arc<std::sync::Mutex<Vec<String>>>,
    peak_rss_mb: f64,
    cpu_start: f64,
    polls_start: u64,
    /// CPU seconds, polls and time at window end (or at the kill).
    cpu_end: Option<f64>,
    polls_end: Option<u64>,
    ended_at: Option<Instant>,
    killed: bool,
}

impl MonitorChild {
    /// Spawns `deviceauth-load store-monitor` number `index` on the store at `url`.
    fn spawn(index: u32, base: &str, args: &RunArgs, url: &str, seal_key: &[u8]) -> MonitorChild {
        let polls = Arc::new(AtomicU64::new(0));
        let problems = Arc::new(AtomicU64::new(0));
        let problem_samples = Arc::new(std::sync::Mutex::new(Vec::new()));
        let configure = |command: &mut std::process::Command| {
            command
                .args(["--index", &index.to_string(), "--base-url", base])
                .args([
                    "--interval-ms",
                    &args.interval_ms.to_string(),
                    "--max-in-flight",
                    &args.max_in_flight.to_string(),
                ])
                .args(["--lease-ms", &args.lease_ms.to_string(), "--batch", &args.batch.to_string()])
                .env(ENV_STORE_URL, url)
                .env(ENV_SEAL_KEY, hex(seal_key));
        };
        let route = {
            let (polls, problems, samples) = (polls.clone(), problems.clone(), problem_samples.clone());
            move |value: Value| {
                let Some(s) = value.get("stats") else { return Some(value) };
                polls.store(s["polls"].as_u64().unwrap_or(0), Ordering::SeqCst);
                problems.store(s["problems"].as_u64().unwrap_or(0), Ordering::SeqCst);
                if let Some(list) = s["problem_samples"].as_array() {
                    let mut kept = samples.lock().unwrap();
                    for p in list {
                        if kept.len() < 5 {
                            kept.push(p.as_str().unwrap_or("").to_owned());
                        }
                    }
                }
                None
            }
        };
        let name = format!("store monitor {index}");
        let process = JsonChild::spawn("store-monitor", name, format!("monitor {index}"), configure, route);
        MonitorChild {
            index,
            pid: process.pid(),
            process,
            polls,
            problems,
            problem_samples,
            peak_rss_mb: 0.0,
            cpu_start: 0.0,
            polls_start: 0,
            cpu_end: None,
            polls_end: None,
            ended_at: None,
            killed: false,
        }
    }

    /// The polls the child last reported.
    fn polls(&self) -> u64 {
        self.polls.load(Ordering::SeqCst)
    }

    /// Updates the child's peak RSS.
    fn sample(&mut self) {
        if !self.killed {
            self.peak_rss_mb = self.peak_rss_mb.max(proc_status_mb(&self.pid.to_string(), "VmHWM"));
        }
    }

    /// Takes the window-end figures, once.
    fn mark_end(&mut self) {
        if self.cpu_end.is_none() {
            self.sample();
            self.cpu_end = Some(proc_cpu_seconds(self.pid));
            self.polls_end = Some(self.polls());
            self.ended_at = Some(Instant::now());
        }
    }

    /// Takes the end figures, then SIGKILLs the child.
    fn kill(&mut self) {
        self.mark_end();
        self.process.kill();
        self.killed = true;
    }

    /// Closes stdin (the child closes its StoreMonitor) and reads its summary.
    fn finish(self) -> Value {
        self.process.finish((!self.killed).then_some(Duration::from_secs(60)))
    }
}

/// `store-monitor`: one `StoreMonitor` on the store in `$DEVICEAUTH_LOAD_STORE_URL`.
/// Prints `{"ready"}`, then `{"stats": {"polls", "problems"}}` every second; stdin EOF
/// closes the monitor (releasing its claims) and prints `{"summary"}`.
pub(crate) async fn store_monitor(args: StoreMonitorArgs) -> i32 {
    let url = std::env::var(ENV_STORE_URL).expect("DEVICEAUTH_LOAD_STORE_URL");
    let key = unhex(&std::env::var(ENV_SEAL_KEY).expect("DEVICEAUTH_LOAD_SEAL_KEY"));
    let client = env_client(&args.base_url);
    let store = match SessionStore::open(&url, &key).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("store-monitor {}: cannot open the store: {error}", args.index);
            return 2;
        }
    };
    let options = store_options(args.interval_ms, args.max_in_flight, args.lease_ms, args.batch);
    let monitor = StoreMonitor::start(&client, &store, options).expect("store monitor");
    emit(json!({ "ready": { "index": args.index, "owner": monitor.owner(), "pid": std::process::id() } }));
    let mut control_rx = stdin_lines();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut problems = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let new = monitor.problems();
                problems += new.len() as u64;
                let samples: Vec<String> = new.iter().take(3).map(|p| p.to_string()).collect();
                emit(json!({ "stats": { "polls": monitor.polls(), "problems": problems, "problem_samples": samples } }));
            }
            line = control_rx.recv() => if line.is_none() { break },
        }
    }
    let polls = monitor.polls();
    let closing = Instant::now();
    monitor.close().await;
    emit(json!({ "summary": {
        "index": args.index,
        "polls": polls,
        "problems": problems,
        "close_seconds": closing.elapsed().as_secs_f64(),
        "peak_rss_mb": proc_status_mb("self", "VmHWM"),
        "total_cpu_s": self_cpu_seconds(),
    }}));
    0
}

// ---------------------------------------------------------------- the run

/// An event as the parent saw it.
struct Seen {
    token: String,
    kind: String,
    status: String,
    id: Option<String>,
    /// When the monitor saw the change (store events), ms since the epoch.
    at_ms: Option<u64>,
    /// When it reached the parent.
    arrived_ms: u64,
}

enum Watcher {
    /// Today's in-memory Monitor in this process.
    Today(Monitor),
    /// One StoreMonitor in this process (memory store).
    InProcess(StoreMonitor),
    /// Child processes on a shared store.
    Children,
}

pub(crate) async fn run_store(args: RunArgs) -> i32 {
    // `sqlite`, `postgres` or `redis` alone: the URL is in $DEVICEAUTH_LOAD_STORE_URL (so a
    // password stays off the command line); else the argument is the URL.
    let given = args.store.clone().unwrap_or_default();
    let target = match given.as_str() {
        "sqlite" | "postgres" | "postgresql" | "redis" => match std::env::var(ENV_STORE_URL) {
            Ok(url) => url,
            Err(_) => {
                eprintln!("--store {given}: set {ENV_STORE_URL} to the store URL (or pass the URL)");
                return 2;
            }
        },
        _ => given,
    };
    let kind = if target == "none" {
        "none"
    } else if target == "memory" || target == "memory://" {
        "memory"
    } else if target.starts_with("sqlite:") {
        "sqlite"
    } else if target.starts_with("postgres") {
        "postgres"
    } else if target.starts_with("redis:") {
        "redis"
    } else {
        eprintln!("--store: none, memory, sqlite:///path, postgresql://... or redis://...");
        return 2;
    };
    let monitors = if matches!(kind, "none" | "memory") { 1 } else { args.monitors.max(1) };
    let kill = monitors > 1 && !args.no_kill;
    eprintln!("store mode: {kind} ({}), {monitors} monitor process(es), kill one: {kill}", redact(&target));

    let emulator = Emulator::start(args.emulator.clone());
    let base = emulator.base.clone();

    // 1. users and phones
    let (users, setup_seconds) = emulator.add_users(args.users, "phones").await;

    // 2. sign-ins: authenticate_user only; the emulator approves each after 1 s
    let signins = emulator
        .sign_in(&users, args.in_flight, "sign-ins", |client, user| async move {
            let mut data = client
                .authenticate_user(&user, &AuthenticateOptions::default())
                .await
                .map(|s| s.data())
                .map_err(|e| format!("authenticate_user: {e}"))?;
            data.status = Status::Active;
            Ok(data)
        })
        .await;
    let approved_at = Instant::now() + Duration::from_millis(1200);
    let (sessions, signin_seconds) = (signins.sessions, signins.seconds);
    let signed_in = sessions.len();

    // 3. the store, and every session in it
    let seal_key = random_key();
    let store = if kind == "none" {
        None
    } else {
        match SessionStore::open(&target, &seal_key).await {
            Ok(store) => Some(store),
            Err(error) => {
                eprintln!("cannot open the store: {error}");
                return 2;
            }
        }
    };
    let add_started = Instant::now();
    let mut add_failures = 0u64;
    if let Some(store) = &store {
        let limit = Arc::new(Semaphore::new(args.add_in_flight.max(1)));
        let mut tasks = JoinSet::new();
        for (i, data) in sessions.iter().enumerate() {
            let permit = limit.clone().acquire_owned().await.expect("semaphore");
            let (store, data) = (store.clone(), data.clone());
            tasks.spawn(async move {
                let _permit = permit;
                store.add(&format!("s{i:06}"), &data).await
            });
            while let Some(done) = tasks.try_join_next() {
                if !matches!(done, Ok(Ok(true))) {
                    add_failures += 1;
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            if !matches!(done, Ok(Ok(true))) {
                add_failures += 1;
            }
        }
    }
    let add_seconds = add_started.elapsed().as_secs_f64();
    if store.is_some() {
        eprintln!(
            "{} sessions added to the store in {add_seconds:.1} s ({:.0}/s), {add_failures} failed",
            signed_in,
            signed_in as f64 / add_seconds.max(1e-9)
        );
    }
    tokio::time::sleep_until(approved_at.into()).await;

    // 4. the subscription, then the monitors
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    if let Some(store) = &store {
        let events = match store.subscribe(args.capacity.max(1)).await {
            Ok(events) => events,
            Err(error) => {
                eprintln!("cannot subscribe: {error}");
                return 2;
            }
        };
        let tx = seen_tx.clone();
        tokio::spawn(async move {
            while let Some(item) = events.recv().await {
                let seen = match item {
                    Ok(event) => Seen {
                        token: event.session_token,
                        kind: event.kind,
                        status: event.status.as_str().to_owned(),
                        id: Some(event.id),
                        at_ms: Some(event.at_ms.max(0) as u64),
                        arrived_ms: unix_ms(),
                    },
                    Err(error) => Seen {
                        token: String::new(),
                        kind: "error".into(),
                        status: error.to_string(),
                        id: None,
                        at_ms: None,
                        arrived_ms: unix_ms(),
                    },
                };
                if tx.send(seen).is_err() {
                    break;
                }
            }
        });
    }
    let watch_started = Instant::now();
    let interval = Duration::from_millis(args.interval_ms.max(1));
    let mut children: Vec<MonitorChild> = Vec::new();
    let watcher = match kind {
        "none" => {
            let monitor =
                watch_in_process(&emulator.client, interval, args.max_in_flight, &sessions, seen_tx.clone(), |event| {
                    let (token, kind, status) = match event {
                        MonitorEvent::Changed { session_token, status, .. } => {
                            (session_token, "changed", status.as_str().to_owned())
                        }
                        MonitorEvent::Unreachable { session_token, error, .. } => {
                            (session_token, "unreachable", error.to_string())
                        }
                        _ => return None,
                    };
                    Some(Seen { token, kind: kind.into(), status, id: None, at_ms: None, arrived_ms: unix_ms() })
                });
            Watcher::Today(monitor)
        }
        "memory" => {
            let options = store_options(args.interval_ms, args.max_in_flight, args.lease_ms, args.batch);
            let store = store.as_ref().expect("store");
            Watcher::InProcess(StoreMonitor::start(&emulator.client, store, options).expect("store monitor"))
        }
        _ => {
            for index in 0..monitors as u32 {
                children.push(MonitorChild::spawn(index, &base, &args, &target, &seal_key));
            }
            for child in &mut children {
                child.process.wait_ready();
            }
            Watcher::Children
        }
    };
    drop(seen_tx);
    let tokens: Vec<String> = sessions.iter().map(|d| d.session_token.clone()).collect();
    drop(sessions);

    // events seen, by token
    let mut seen: HashMap<String, Vec<Seen>> = HashMap::new();
    let mut store_errors: Vec<String> = Vec::new();
    let record = |event: Seen, seen: &mut HashMap<String, Vec<Seen>>, errors: &mut Vec<String>| {
        if event.kind == "error" {
            errors.push(event.status);
        } else {
            seen.entry(event.token.clone()).or_default().push(event);
        }
    };

    // 5. warm-up: until every session was polled once (today's Monitor: one interval)
    let total_polls = |children: &[MonitorChild], watcher: &Watcher| -> u64 {
        match watcher {
            Watcher::InProcess(m) => m.polls(),
            Watcher::Today(_) => 0,
            Watcher::Children => children.iter().map(|c| c.polls()).sum(),
        }
    };
    let warmup_limit = interval * 2 + Duration::from_secs(60);
    loop {
        let elapsed = watch_started.elapsed();
        let done = match &watcher {
            Watcher::Today(_) => elapsed >= interval,
            _ => total_polls(&children, &watcher) >= signed_in as u64,
        };
        if done || elapsed >= warmup_limit {
            break;
        }
        for child in &mut children {
            child.sample();
        }
        let wake = Instant::now() + Duration::from_millis(250);
        while let Some(event) = recv_until(&mut seen_rx, wake).await {
            record(event, &mut seen, &mut store_errors);
        }
    }
    let warmup_seconds = watch_started.elapsed().as_secs_f64();
    let warmup_polls = total_polls(&children, &watcher);
    let warmup_events: u64 = seen.values().map(|l| l.len() as u64).sum();
    eprintln!("warm-up: {warmup_polls} polls in {warmup_seconds:.1} s, {warmup_events} events (unexpected)");
    seen.clear();

    // 6. the window
    let window = Duration::from_secs(args.seconds.max(2));
    let mut counters = match &store {
        Some(_) => StoreCounters::connect(&target).await,
        None => StoreCounters::Nothing,
    };
    let counters_start = counters.sample().await;
    let window_start = Instant::now();
    for child in &mut children {
        child.cpu_start = proc_cpu_seconds(child.pid);
        child.polls_start = child.polls();
    }
    let in_process_polls_start = total_polls(&children, &watcher);
    let machine_start = machine_jiffies();
    let mut meter = WindowMeter::start(&emulator).await;

    let per_kind = signed_in * args.flip_percent / 100;
    let mut plan: Vec<(String, &'static str)> = Vec::with_capacity(per_kind * 2);
    for (i, token) in tokens.iter().enumerate() {
        let action = match i % 10 {
            0 if i / 10 < per_kind => "walkaway",
            1 if i / 10 < per_kind => "remote-logout",
            _ => continue,
        };
        plan.push((token.clone(), action));
    }
    // interleave the two kinds over time in a spread-out order
    plan.sort_by_key(|(t, _)| t.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)));
    let expected = expected_status(&plan);
    let mut flips = Flips::spawn(&emulator, plan, window_start, window.mul_f64(0.75));

    let window_end = window_start + window;
    let kill_at = window_start + window / 2;
    let mut killed_at_ms: Option<u64> = None;
    let lease = Duration::from_millis(args.lease_ms);
    let grace = Duration::from_secs(args.grace_seconds).max(interval + lease + Duration::from_secs(15));
    let hard_end = window_end + grace;
    let mut machine_end = (0.0, 0.0);
    let mut counters_end = HashMap::new();
    let mut in_process_polls_end = 0;
    let mut last_sample = Instant::now();
    loop {
        let now = Instant::now();
        if kill && killed_at_ms.is_none() && now >= kill_at {
            children[0].kill();
            killed_at_ms = Some(unix_ms());
            eprintln!(
                "SIGKILL store monitor 0 (pid {}) at {:.1} s",
                children[0].pid,
                (now - window_start).as_secs_f64()
            );
        }
        if now >= window_end && !meter.ended() {
            meter.end(&emulator).await;
            machine_end = machine_jiffies();
            for child in &mut children {
                child.mark_end();
            }
            in_process_polls_end = total_polls(&children, &watcher);
            counters_end = counters.sample().await;
        }
        if now.duration_since(last_sample) >= Duration::from_secs(1) {
            for child in &mut children {
                child.sample();
            }
            last_sample = now;
        }
        flips.poll().await;
        if now >= window_end && (flips.all_seen(&seen) || now >= hard_end) {
            break;
        }
        let wake = if now < window_end { window_end } else { hard_end }.min(now + Duration::from_millis(250));
        if let Some(event) = recv_until(&mut seen_rx, wake).await {
            record(event, &mut seen, &mut store_errors);
        }
    }
    let drain_seconds = Instant::now().saturating_duration_since(window_end).as_secs_f64();
    // a last short look for repeats arriving late
    let linger = Instant::now() + Duration::from_secs(2);
    while let Ok(Some(event)) = tokio::time::timeout_at(linger.into(), seen_rx.recv()).await {
        record(event, &mut seen, &mut store_errors);
    }
    let (made, flip_failures) = flips.into_made();
    let window_cpu = meter.cpu_seconds();
    let window_end_ms = meter.end_ms();
    let window_wall = window.as_secs_f64();
    let parent_peak = proc_status_mb("self", "VmHWM");

    // 7. stop the monitors
    let mut child_rows: Vec<Value> = Vec::new();
    let mut problem_samples: Vec<String> = Vec::new();
    let mut problems_total = 0u64;
    for child in children.drain(..) {
        let seconds = child.ended_at.map_or(window_wall, |t| t.duration_since(window_start).as_secs_f64()).max(1e-9);
        let cpu = child.cpu_end.unwrap_or(0.0) - child.cpu_start;
        let polls = child.polls_end.unwrap_or(0).saturating_sub(child.polls_start);
        problems_total += child.problems.load(Ordering::SeqCst);
        problem_samples.extend(child.problem_samples.lock().unwrap().iter().cloned());
        let (index, pid, killed, peak) = (child.index, child.pid, child.killed, child.peak_rss_mb);
        let summary = child.finish();
        child_rows.push(json!({
            "index": index,
            "pid": pid,
            "killed": killed,
            "peak_rss_mb": peak.max(summary["peak_rss_mb"].as_f64().unwrap_or(0.0)),
            "window_cpu_seconds": cpu,
            "window_seconds": seconds,
            "avg_cores": cpu / seconds,
            "window_polls": polls,
            "polls_per_second": polls as f64 / seconds,
            "summary": summary,
        }));
    }
    let in_process_row = match watcher {
        Watcher::Children => None,
        Watcher::InProcess(monitor) => {
            problems_total += monitor.problems().len() as u64;
            monitor.close().await;
            Some(("StoreMonitor (memory store) in the parent", true))
        }
        Watcher::Today(monitor) => {
            drop(monitor);
            Some(("today's Monitor in the parent", false))
        }
    };
    if let Some((what, has_polls)) = in_process_row {
        let polls = in_process_polls_end.saturating_sub(in_process_polls_start);
        child_rows.push(json!({
            "index": 0,
            "what": what,
            "killed": false,
            "peak_rss_mb": parent_peak,
            "window_cpu_seconds": window_cpu,
            "window_seconds": window_wall,
            "avg_cores": window_cpu / window_wall,
            "window_polls": if has_polls { json!(polls) } else { Value::Null },
            "polls_per_second": if has_polls { json!(polls as f64 / window_wall) } else { Value::Null },
        }));
    }

    // 8. verdict
    let mut lost = 0u64;
    let mut repeats = 0u64;
    let mut duplicated_changes = 0u64;
    let mut wrong = 0u64;
    let mut latencies: Vec<u64> = Vec::new();
    let mut monitor_latencies: Vec<u64> = Vec::new();
    let mut late_after_kill = 0u64;
    for (token, sent_at) in &made {
        let Some(list) = seen.get(token) else {
            lost += 1;
            continue;
        };
        let changed: Vec<&Seen> = list.iter().filter(|s| s.kind == "changed").collect();
        let Some(first) = changed.first() else {
            lost += 1;
            continue;
        };
        let ids: HashSet<&str> = changed.iter().filter_map(|s| s.id.as_deref()).collect();
        if ids.is_empty() {
            duplicated_changes += changed.len() as u64 - 1;
        } else {
            repeats += changed.len() as u64 - ids.len() as u64;
            duplicated_changes += ids.len() as u64 - 1;
        }
        if first.status != expected[token] {
            wrong += 1;
        }
        let latency = first.arrived_ms.saturating_sub(*sent_at);
        if latency > interval.as_millis() as u64 + 5_000 {
            late_after_kill += 1;
        }
        latencies.push(latency);
        if let Some(at) = first.at_ms {
            monitor_latencies.push(at.saturating_sub(*sent_at));
        }
    }
    let unexpected: u64 = seen.iter().filter(|(t, _)| !made.contains_key(*t)).map(|(_, l)| l.len() as u64).sum();
    let unreachable: u64 = seen.values().flatten().filter(|s| s.kind == "unreachable").count() as u64;
    let events_total: u64 = seen.values().map(|l| l.len() as u64).sum();
    latencies.sort_unstable();
    monitor_latencies.sort_unstable();
    let seen_in_window = made
        .keys()
        .filter(|t| seen.get(*t).and_then(|l| l.first()).is_some_and(|s| s.arrived_ms <= window_end_ms))
        .count();
    let requests_per_s = meter.requests().1;
    let emu_cpu = meter.emulator_cpu_seconds();
    let rates: serde_json::Map<String, Value> = counters_end
        .iter()
        .filter(|(name, _)| !name.ends_with("_mb"))
        .map(|(name, end)| {
            let delta = end - counters_start.get(name).copied().unwrap_or(0.0);
            (format!("{name}_per_second"), json!(delta / window_wall))
        })
        .collect();
    let window_polls: u64 = child_rows.iter().filter_map(|r| r["window_polls"].as_u64()).sum();
    let max_peak = child_rows.iter().filter_map(|r| r["peak_rss_mb"].as_f64()).fold(0.0, f64::max);
    let max_cores = child_rows.iter().filter_map(|r| r["avg_cores"].as_f64()).fold(0.0, f64::max);
    let ok = lost == 0 && duplicated_changes == 0 && wrong == 0;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let machine_busy = (machine_end.0 - machine_start.0) / (machine_end.1 - machine_start.1).max(1.0) * cpus as f64;
    let p99_goal_ms = (interval + lease).as_millis() as u64;

    let mut detect_latency = latency_json(&latencies);
    detect_latency["goal_p99"] = json!(p99_goal_ms);
    let report = json!({
        "store": kind,
        "monitors": monitors,
        "killed_one": kill,
        "users": args.users,
        "window_seconds": args.seconds,
        "interval_ms": args.interval_ms,
        "lease_ms": args.lease_ms,
        "batch": args.batch,
        "max_in_flight": args.max_in_flight,
        "setup_seconds": setup_seconds,
        "signins": signed_in,
        "signin_errors": signins.errors,
        "signin_error_samples": signins.error_samples,
        "signin_seconds": signin_seconds,
        "store_add_seconds": add_seconds,
        "store_add_failures": add_failures,
        "warmup_seconds": warmup_seconds,
        "warmup_polls": warmup_polls,
        "warmup_events_unexpected": warmup_events,
        "changes_made": made.len(),
        "flip_failures": flip_failures.len(),
        "events_received": events_total,
        "changes_seen_distinct": made.len() as u64 - lost,
        "changes_seen_in_window": seen_in_window,
        "lost": lost,
        "repeats_delivered": repeats,
        "duplicated_changes": duplicated_changes,
        "wrong_status": wrong,
        "unexpected_events": unexpected,
        "unreachable": unreachable,
        "store_errors_on_subscription": store_errors.len(),
        "store_error_samples": store_errors.iter().take(5).collect::<Vec<_>>(),
        "monitor_problems": problems_total,
        "monitor_problem_samples": problem_samples,
        "drain_seconds_after_window": drain_seconds,
        "detect_latency_ms": detect_latency,
        "monitor_saw_latency_ms": latency_json(&monitor_latencies),
        "seen_later_than_interval_plus_5s": late_after_kill,
        "monitors_detail": child_rows,
        "max_peak_rss_mb_per_monitor": max_peak,
        "max_avg_cores_per_monitor": max_cores,
        "window_polls": window_polls,
        "window_polls_per_second": window_polls as f64 / window_wall,
        "store_counters_start": counters_start,
        "store_counters_end": counters_end,
        "store_rates": rates,
        "parent_peak_rss_mb": parent_peak,
        "parent_window_cpu_seconds": window_cpu,
        "emulator_requests_per_second": requests_per_s,
        "emulator_window_avg_cores": emu_cpu / window_wall,
        "emulator_peak_rss_mb": proc_status_mb(&emulator.process.pid().to_string(), "VmHWM"),
        "demanded_polls_per_second": signed_in as f64 / interval.as_secs_f64(),
        "machine_busy_cores_in_window": machine_busy,
        "cpus": cpus,
        "ok": ok,
    });

    let store_load = match kind {
        "postgres" => format!(
            "{:.0} xact/s ({:.0} rows updated/s)",
            rates.get("xact_commit_per_second").and_then(Value::as_f64).unwrap_or(0.0),
            rates.get("tup_updated_per_second").and_then(Value::as_f64).unwrap_or(0.0)
        ),
        "redis" => format!(
            "{:.0} commands/s ({:.0} EVALSHA/s)",
            rates.get("total_commands_processed_per_second").and_then(Value::as_f64).unwrap_or(0.0),
            rates.get("calls_evalsha_per_second").and_then(Value::as_f64).unwrap_or(0.0)
        ),
        "sqlite" => format!(
            "{:.0} write-backs/s, each a BEGIN IMMEDIATE transaction (+ claims, not counted)",
            window_polls as f64 / window_wall
        ),
        _ => "(no server counters)".to_owned(),
    };
    let store_load = match rates.get("server_cpu_seconds_per_second").and_then(Value::as_f64) {
        Some(cores) => format!("{store_load}; server CPU {cores:.2} cores"),
        None => store_load,
    };
    println!();
    println!(
        "deviceauth-load --store {kind}: {} sessions, {monitors} monitor(s){}",
        signed_in,
        if kill { ", one SIGKILLed half-way" } else { "" }
    );
    println!("{}", "-".repeat(100));
    let rows: Vec<(&str, String)> = vec![
        ("window / interval / lease", format!("{} s / {} ms / {} ms", args.seconds, args.interval_ms, args.lease_ms)),
        (
            "sign-ins / store adds",
            format!("{signed_in} in {signin_seconds:.1} s / added in {add_seconds:.1} s ({add_failures} failed)"),
        ),
        ("warm-up (every session polled once)", format!("{warmup_polls} polls in {warmup_seconds:.1} s")),
        ("changes made / seen (distinct)", format!("{} / {}", made.len(), made.len() as u64 - lost)),
        ("lost / repeats / duplicated changes / wrong", format!("{lost} / {repeats} / {duplicated_changes} / {wrong}")),
        ("unexpected / unreachable / store errors", format!("{unexpected} / {unreachable} / {}", store_errors.len())),
        ("detection latency p50 / p99 / max", format!("{} ms (goal p99 <= {p99_goal_ms})", latency_text(&latencies))),
        (
            "  of which monitor saw it p50 / p99",
            format!("{} / {} ms", pct(&monitor_latencies, 0.5), pct(&monitor_latencies, 0.99)),
        ),
        ("drain after window", format!("{drain_seconds:.1} s; seen later than interval+5 s: {late_after_kill}")),
        ("peak RSS per monitor (max)", format!("{max_peak:.1} MB")),
        ("CPU per monitor (max avg cores)", format!("{max_cores:.2}")),
        (
            "polls written back in window",
            format!(
                "{window_polls} = {:.0}/s (demand {:.0}/s)",
                window_polls as f64 / window_wall,
                signed_in as f64 / interval.as_secs_f64()
            ),
        ),
        ("store load", store_load),
        ("emulator requests/s / cores", format!("{requests_per_s:.0} / {:.2}", emu_cpu / window_wall)),
        ("machine busy in window (all processes)", format!("{machine_busy:.2} of {cpus} cores")),
        ("monitor problems", format!("{problems_total} {:?}", problem_samples.iter().take(3).collect::<Vec<_>>())),
        ("verdict", if ok { "OK".to_owned() } else { "FAIL: lost, duplicated or wrong changes".to_owned() }),
    ];
    for (name, value) in rows {
        println!("{name:<46} {value}");
    }
    for row in report["monitors_detail"].as_array().into_iter().flatten() {
        println!(
            "  monitor {}{}: peak RSS {:.1} MB, {:.2} cores, {} polls in window",
            row["index"],
            if row["killed"].as_bool() == Some(true) { " (killed)" } else { "" },
            row["peak_rss_mb"].as_f64().unwrap_or(0.0),
            row["avg_cores"].as_f64().unwrap_or(0.0),
            row["window_polls"]
        );
    }
    crate::report::finish(&flip_failures, args.json.as_ref(), &report);
    drop(emulator);
    if ok { 0 } else { 1 }
}

/// 32 bytes from /dev/urandom (the run's seal key, handed to the children in the environment).
fn random_key() -> [u8; 32] {
    use std::io::Read;
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key)).expect("/dev/urandom");
    key
}
