//! 10,000 concurrent idle connections (half silent, half with a half-sent head) are held
//! while valid requests are still answered quickly, and are all closed after the time-out.
//! Run with `--nocapture` to see the numbers.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use deviceauth_emulator::EmulatorProcess;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

const IDLE_CONNECTIONS: usize = 10_000;
const TIMEOUT_SECS: u64 = 20;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

async fn stats(http: &reqwest::Client, base: &str) -> Value {
    http.get(format!("{base}/_emulator/stats")).send().await.expect("stats").json().await.expect("json")
}

/// Opens `count` connections, `BATCH` at a time; odd ones send half a request head.
async fn open_idle(addr: std::net::SocketAddr, count: usize) -> Vec<TcpStream> {
    const BATCH: usize = 500;
    let mut held = Vec::with_capacity(count);
    while held.len() < count {
        let mut batch = JoinSet::new();
        for i in held.len()..(held.len() + BATCH).min(count) {
            batch.spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect (file descriptor limit?)");
                if i % 2 == 1 {
                    stream.write_all(b"GET /_emulator/apps HTTP/1.1\r\nHost: x\r\n").await.expect("half head");
                }
                stream
            });
        }
        while let Some(stream) = batch.join_next().await {
            held.push(stream.expect("connect task"));
        }
    }
    held
}

/// One signed `add_users` call on a new connection; returns its latency.
async fn valid_request(base: &str, user: &str) -> Duration {
    let http = http_client();
    let url = format!("{base}/management/add_users/APP");
    let ts = now();
    let t0 = Instant::now();
    let r = http
        .post(&url)
        .header("Authentication", sign("APP", "s3cret", rand::random::<u64>(), &url, ts))
        .header(SONIKPASS_TS, ts.to_string())
        .json(&serde_json::json!({ "users": [user] }))
        .send()
        .await
        .expect("a valid request is not refused");
    assert_eq!(r.status(), 201);
    let _ = r.bytes().await;
    t0.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_connections_do_not_block_a_valid_request() {
    let (soft, hard) = deviceauth_emulator::raise_fd_limit().expect("rlimit");
    if soft < IDLE_CONNECTIONS as u64 + 500 {
        eprintln!("SKIPPED: RLIMIT_NOFILE is {soft} (hard {hard}), need {} for this test", IDLE_CONNECTIONS + 500);
        return;
    }
    let secs = TIMEOUT_SECS.to_string();
    let binary = Path::new(env!("CARGO_BIN_EXE_deviceauth-emulator"));
    let args = ["--app", "APP:s3cret", "--idle-timeout", &secs, "--header-timeout", &secs];
    let emulator = EmulatorProcess::spawn(binary, &args).expect("emulator process");
    let base = emulator.url().to_owned();
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().expect("addr");
    let http = http_client();
    let rss_before = rss_kib(emulator.pid());
    let baseline = valid_request(&base, "before").await;

    let t0 = Instant::now();
    let held = open_idle(addr, IDLE_CONNECTIONS).await;
    let opened_in = t0.elapsed();
    // Wait until the emulator has accepted them all.
    loop {
        let open = stats(&http, &base).await["connections"].as_u64().expect("connections");
        if open > IDLE_CONNECTIONS as u64 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(TIMEOUT_SECS / 2), "only {open} connections accepted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let accepted_in = t0.elapsed();

    let mut latencies = Vec::new();
    for i in 0..20 {
        latencies.push(valid_request(&base, &format!("user-{i}")).await);
    }
    latencies.sort();
    let rss_held = rss_kib(emulator.pid());
    let still_open = held
        .iter()
        .filter(|s| matches!(s.try_read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock))
        .count();
    assert_eq!(still_open, IDLE_CONNECTIONS, "every idle connection is still held");
    assert!(t0.elapsed() < Duration::from_secs(TIMEOUT_SECS), "measured within the time-out");
    let max = *latencies.last().expect("latencies");
    assert!(max < Duration::from_secs(2), "valid requests stay fast: {latencies:?}");

    // After the time-out every idle connection is closed by the emulator.
    let deadline = t0 + Duration::from_secs(TIMEOUT_SECS + 15);
    let mut open = u64::MAX;
    while Instant::now() < deadline {
        open = stats(&http, &base).await["connections"].as_u64().expect("connections");
        if open <= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let closed_after = t0.elapsed();
    assert!(open <= 1, "{open} connections still open after the time-out");
    let mut buf = [0u8; 1];
    let closed = held.iter().filter(|s| matches!(s.try_read(&mut buf), Ok(0) | Err(_))).count();
    let would_block = held
        .iter()
        .filter(|s| matches!(s.try_read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock))
        .count();
    assert_eq!(would_block, 0, "closed by the emulator: {closed} of {IDLE_CONNECTIONS}");
    eprintln!(
        "idle connections: {IDLE_CONNECTIONS} held (half of them half-sent), opened in {opened_in:?}, \
         all accepted after {accepted_in:?}; valid request (new connection) before: {baseline:?}, \
         while held: median {:?}, max {max:?} over {} requests; emulator RSS {} KiB -> {} KiB; \
         all closed by the {TIMEOUT_SECS} s time-out {closed_after:?} after the first was opened; \
         RLIMIT_NOFILE soft {soft} hard {hard}",
        latencies[latencies.len() / 2],
        latencies.len(),
        rss_before,
        rss_held,
    );
}
