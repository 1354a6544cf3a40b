//! The Rust core's cell of the cross-language benchmark (`bench/interleave.py`).
//!
//! `bench-cell URL APP_ID APP_SECRET USER` makes sure USER exists with a registered
//! phone, prints `ready`, then answers each line `seq SECONDS` or `c100 SECONDS` on stdin
//! with one JSON line: calls made, seconds taken and every call's latency in µs. The
//! Python and Node cells (bench/cells/) speak the same protocol, so the driver can
//! interleave them and background load hits every column alike.

use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deviceauth::activeconnect::Client;

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, app_id, app_secret, user] = args.as_slice() else {
        eprintln!("usage: bench-cell URL APP_ID APP_SECRET USER");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let client = Client::builder(app_id.as_str(), app_secret.as_str()).base_url(url.as_str()).build().expect("client");
    runtime.block_on(async {
        client.add_users(&[user.as_str()]).await.expect("add_users");
        let register = reqwest::Client::new()
            .post(format!("{url}/_emulator/apps/{app_id}/users/{user}/device"))
            .send()
            .await
            .expect("register the phone");
        assert!(register.status().is_success(), "register the phone: HTTP {}", register.status());
        assert!(client.has_registered_mobile_device(user).await.expect("setup call"));
    });
    println!("ready");
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let mut words = line.split_whitespace();
        let (Some(mode), Some(seconds)) = (words.next(), words.next().and_then(|s| s.parse::<f64>().ok())) else {
            continue;
        };
        let in_flight = if mode == "c100" { 100 } else { 1 };
        let started = Instant::now();
        let latencies = runtime.block_on(run(&client, user, in_flight, Duration::from_secs_f64(seconds)));
        let elapsed = started.elapsed().as_secs_f64();
        let micros: Vec<u64> = latencies.iter().map(|d| d.as_micros() as u64).collect();
        println!("{}", serde_json::json!({ "calls": micros.len(), "seconds": elapsed, "lat_us": micros }));
    }
}

/// `in_flight` loops of signed `has_registered_mobile_device` calls for `length`. One loop
/// runs right in `block_on` on the calling thread, as `#[tokio::main]` runs a program's
/// sequential calls (and as the Python and Node bindings wait from their own threads);
/// more run as spawned tasks.
async fn run(client: &Client, user: &str, in_flight: usize, length: Duration) -> Vec<Duration> {
    let deadline = Instant::now() + length;
    if in_flight == 1 {
        let mut latencies = Vec::new();
        while Instant::now() < deadline {
            let t = Instant::now();
            assert!(client.has_registered_mobile_device(user).await.expect("signed call"));
            latencies.push(t.elapsed());
        }
        return latencies;
    }
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut loops = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (client, user, latencies) = (client.clone(), user.to_owned(), latencies.clone());
        loops.spawn(async move {
            let mut own = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                assert!(client.has_registered_mobile_device(&user).await.expect("signed call"));
                own.push(t.elapsed());
            }
            latencies.lock().expect("latencies").extend(own);
        });
    }
    while let Some(done) = loops.join_next().await {
        done.expect("bench loop");
    }
    std::mem::take(&mut *latencies.lock().expect("latencies"))
}
