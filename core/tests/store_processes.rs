//! Monitors in separate processes on one store (SQLite, Postgres, Redis): the test adds
//! sessions, two child processes (this test binary again) run a monitor each, one is
//! killed with SIGKILL, and every change is still written to the store and published.

mod common;
mod store_support;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, fast_retries};
use deviceauth::activeconnect::store::{SessionStore, StoreMonitor, StoreMonitorOptions};
use deviceauth::activeconnect::{Client, MonitorOptions, Status};
use store_support::{KEY, Kind, fresh};

/// Kills the children when the test ends, however it ends.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_monitor(env: &Env, url: &str) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_monitor", "--ignored", "--nocapture", "--test-threads", "1"])
        .env("CHILD_STORE_URL", url)
        .env("CHILD_BASE_URL", env.emulator.base_url())
        .env("CHILD_APP_ID", &env.app_id)
        .env("CHILD_APP_SECRET", &env.app_secret)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("child monitor starts")
}

/// The child: a monitor on the store, until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "started by the other tests as a child process"]
async fn child_monitor() {
    if std::env::var("CHILD_STORE_URL").is_err() {
        return; // run by hand: nothing to do
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name}"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::builder(var("CHILD_APP_ID"), var("CHILD_APP_SECRET").as_str())
        .base_url(var("CHILD_BASE_URL"))
        .retry_policy(fast_retries())
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let store = SessionStore::open(&var("CHILD_STORE_URL"), &KEY).await.expect("store");
    let options = StoreMonitorOptions {
        poll: MonitorOptions { interval: Duration::from_millis(400), ..MonitorOptions::default() },
        lease: Duration::from_secs(2),
        batch: 3,
        idle: Duration::from_millis(100),
        owner: None,
    };
    let _monitor = StoreMonitor::start(&client, &store, options).expect("monitor");
    tokio::time::sleep(Duration::from_secs(120)).await;
}

async fn sigkilled_monitor_process_loses_nothing(kind: Kind) {
    if kind == Kind::Memory {
        return; // a memory store is one process
    }
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let mut sessions = Vec::new();
    for i in 0..8 {
        let session = env.signed_in_attempt(&format!("user-{i}")).await;
        env.act(&session, "approve").await;
        assert_eq!(session.refresh().await.unwrap(), Status::Active);
        sessions.push(session);
    }
    let events = f.store.subscribe(64).await.unwrap();
    let mut children = Children(vec![spawn_monitor(&env, &f.url), spawn_monitor(&env, &f.url)]);
    for (i, session) in sessions.iter().enumerate() {
        assert!(f.store.add(&format!("k{i}"), &session.data()).await.unwrap());
    }
    // Both children are polling: every row written back at least twice.
    let started = Instant::now();
    let base = env.requests("/authentication/session_status/").await;
    while env.requests("/authentication/session_status/").await < base + 16 {
        assert!(started.elapsed() < Duration::from_secs(20), "the child monitors do not poll");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    children.0[0].kill().expect("SIGKILL");
    let _ = children.0[0].wait();
    let killed = Instant::now();
    for session in &sessions {
        env.act(session, "walkaway").await;
    }
    for (i, _) in sessions.iter().enumerate() {
        loop {
            let status = f.store.status(&format!("k{i}")).await.unwrap().unwrap();
            if status.status == Status::Walkaway {
                break;
            }
            // One interval plus the lease, plus slack for a loaded machine.
            assert!(killed.elapsed() < Duration::from_secs(8), "k{i} still {status:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut ids = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while ids.len() < 8 && Instant::now() < deadline {
        for item in events.recv_batch(64, Duration::from_millis(200)).await {
            let event = item.expect("event");
            assert_eq!(event.status, Status::Walkaway);
            ids.insert(event.id);
        }
    }
    assert_eq!(ids.len(), 8, "one event per change, all delivered");
    eprintln!("{kind:?}: all changes seen {:?} after the SIGKILL", killed.elapsed());
}

for_each_store!(sigkilled_monitor_process_loses_nothing);
