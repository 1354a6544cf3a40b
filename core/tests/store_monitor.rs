//! Monitors on a store against the emulator: any handle adds, any monitor polls; two
//! monitors never poll one session in the same interval; a killed monitor's sessions are
//! taken over after its lease; corrupted rows are skipped and reported; events reach every
//! subscriber with stable ids, through a bounded channel, without loss.

mod common;
mod store_support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{Env, fault};
use deviceauth::activeconnect::store::{StoreErrorKind, StoreEvent, StoreEvents, StoreMonitor, StoreMonitorOptions};
use deviceauth::activeconnect::{MonitorOptions, Status};
use serde_json::json;
use store_support::{Kind, fresh};

const STATUS_PATH: &str = "/authentication/session_status/";

fn options(interval_ms: u64, lease_ms: u64) -> StoreMonitorOptions {
    StoreMonitorOptions {
        poll: MonitorOptions {
            interval: Duration::from_millis(interval_ms),
            max_in_flight: 8,
            unreachable_after: Duration::from_secs(5),
            shard: None,
        },
        lease: Duration::from_millis(lease_ms),
        batch: 4,
        idle: Duration::from_millis(50),
        owner: None,
    }
}

/// Events until `want` changed events arrived or `limit` passed.
async fn collect(events: &StoreEvents, want: usize, limit: Duration) -> Vec<StoreEvent> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while seen.len() < want && Instant::now() < deadline {
        for item in events.recv_batch(100, Duration::from_millis(200)).await {
            seen.push(item.unwrap_or_else(|e| panic!("event error: {e}")));
        }
    }
    seen
}

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn added_anywhere_polled_by_another_monitor(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let sessions = env.active_sessions(5).await;
    let web = f.reopen().await;
    let (sub1, sub2) = (f.store.subscribe(16).await.unwrap(), web.subscribe(16).await.unwrap());
    for (i, session) in sessions.iter().enumerate() {
        assert!(web.add(&format!("sign-in-{i}"), &session.data()).await.unwrap());
    }
    let monitor_store = f.reopen().await;
    let monitor = StoreMonitor::start(&env.client(), &monitor_store, options(200, 3000)).unwrap();
    wait_for("first polls", Duration::from_secs(5), async || monitor.polls() >= 5).await;
    env.act(&sessions[0], "walkaway").await;
    env.act(&sessions[1], "remote-logout").await;
    wait_for("the changes in the store", Duration::from_secs(5), async || {
        let a = web.status("sign-in-0").await.unwrap().unwrap();
        let b = web.status("sign-in-1").await.unwrap().unwrap();
        a.status == Status::Walkaway && b.status == Status::Closed
    })
    .await;
    let closed = web.status("sign-in-1").await.unwrap().unwrap();
    assert!(!closed.watched, "an ended session is no longer polled");
    assert!(web.status("sign-in-2").await.unwrap().unwrap().watched);

    let (one, two) = (collect(&sub1, 2, Duration::from_secs(5)).await, collect(&sub2, 2, Duration::from_secs(5)).await);
    assert_eq!(one.len(), 2, "{one:?}");
    assert_eq!(one, two, "every subscriber sees the same events, same ids");
    let by_key: HashMap<_, _> = one.iter().map(|e| (e.key.as_str(), e)).collect();
    let walk = by_key["sign-in-0"];
    assert_eq!((walk.kind.as_str(), &walk.previous, &walk.status), ("changed", &Status::Active, &Status::Walkaway));
    assert_eq!(walk.session_token, sessions[0].session_token());
    assert_eq!(by_key["sign-in-1"].status, Status::Closed);
    assert_ne!(one[0].id, one[1].id);
    monitor.close().await;
    assert!(monitor_store.status("sign-in-3").await.unwrap().unwrap().watched);
}

async fn two_monitors_never_poll_one_session_in_the_same_interval(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let sessions = env.active_sessions(12).await;
    for (i, session) in sessions.iter().enumerate() {
        assert!(f.store.add(&format!("k{i}"), &session.data()).await.unwrap());
    }
    let before: Vec<usize> = {
        let mut counts = Vec::new();
        for s in &sessions {
            counts.push(env.requests(&format!("{STATUS_PATH}{}", s.session_token())).await);
        }
        counts
    };
    let (a, b) = (f.reopen().await, f.reopen().await);
    let started = Instant::now();
    let one = StoreMonitor::start(&env.client(), &a, options(1000, 5000)).unwrap();
    let two = StoreMonitor::start(&env.client(), &b, options(1000, 5000)).unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (p1, p2) = (one.polls(), two.polls());
    one.close().await;
    two.close().await;
    let elapsed = started.elapsed().as_secs_f64();
    for (s, before) in sessions.iter().zip(before) {
        let polls = env.requests(&format!("{STATUS_PATH}{}", s.session_token())).await - before;
        // One poll per interval at most: at 0, 1, 2, 3 s (4), never two in one interval.
        assert!(polls <= elapsed.ceil() as usize && polls >= 3, "{polls} polls in {elapsed:.1} s");
    }
    assert!(p1 + p2 >= 36, "{p1} + {p2}");
    eprintln!("{kind:?}: monitor one polled {p1}, monitor two {p2}");
}

async fn a_killed_monitor_is_taken_over_after_its_lease(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let sessions = env.active_sessions(4).await;
    for (i, session) in sessions.iter().enumerate() {
        assert!(f.store.add(&format!("k{i}"), &session.data()).await.unwrap());
    }
    // The first monitor's polls hang, and it dies holding its claims.
    env.fault(fault(STATUS_PATH, json!({"delay_ms": 1500, "count": 4}))).await;
    let before = env.requests(STATUS_PATH).await;
    let started = Instant::now();
    let doomed = StoreMonitor::start(&env.client(), &f.reopen().await, options(300, 2000)).unwrap();
    wait_for("the doomed monitor's requests", Duration::from_secs(3), async || {
        env.requests(STATUS_PATH).await >= before + 4
    })
    .await;
    drop(doomed); // like SIGKILL: nothing released
    let heir = StoreMonitor::start(&env.client(), &f.reopen().await, options(300, 2000)).unwrap();
    env.act(&sessions[0], "walkaway").await;
    tokio::time::sleep(Duration::from_millis(1200).saturating_sub(started.elapsed())).await;
    assert_eq!(heir.polls(), 0, "claims are held until the lease ends");
    wait_for("the take-over", Duration::from_secs(6), async || heir.polls() >= 4).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1900), "taken over after {took:?}, before the 2 s lease");
    let status = f.store.status("k0").await.unwrap().unwrap();
    assert_eq!(status.status, Status::Walkaway);
    heir.close().await;
}

async fn corrupt_rows_are_skipped_and_reported(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    if kind == Kind::Memory {
        return;
    }
    let env = Env::start().await;
    let sessions = env.active_sessions(3).await;
    for (i, session) in sessions.iter().enumerate() {
        assert!(f.store.add(&format!("k{i}"), &session.data()).await.unwrap());
    }
    f.corrupt("k1");
    let monitor = StoreMonitor::start(&env.client(), &f.store, options(200, 3000)).unwrap();
    wait_for("polls of the sound rows", Duration::from_secs(5), async || monitor.polls() >= 4).await;
    let problems = monitor.problems();
    assert!(
        problems.iter().any(|p| p.kind == StoreErrorKind::Corrupt && p.key.as_deref() == Some("k1")),
        "{problems:?}"
    );
    let parked = f.store.status("k1").await.unwrap().unwrap();
    assert!(!parked.watched && parked.error.as_deref().is_some_and(|e| e.contains("corrupt")), "{parked:?}");
    assert!(f.store.status("k0").await.unwrap().unwrap().watched);
    // Rows sealed under another key are corrupt to this monitor, never a crash.
    let stranger = store_support::OTHER_KEY;
    let other = deviceauth::activeconnect::store::SessionStore::open(&f.url, &stranger).await.unwrap();
    assert!(other.add("foreign", &sessions[2].data()).await.unwrap());
    wait_for("the foreign row parked", Duration::from_secs(5), async || {
        !f.store.status("foreign").await.unwrap().unwrap().watched
    })
    .await;
    assert!(monitor.problems().iter().any(|p| p.key.as_deref() == Some("foreign")));
    monitor.close().await;
}

async fn a_slow_reader_loses_nothing(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let sessions = env.active_sessions(3).await;
    let events = f.store.subscribe(1).await.unwrap();
    for (i, session) in sessions.iter().enumerate() {
        assert!(f.store.add(&format!("k{i}"), &session.data()).await.unwrap());
    }
    let monitor = StoreMonitor::start(&env.client(), &f.store, options(150, 3000)).unwrap();
    for action in ["walkaway", "return", "walkaway"] {
        for session in &sessions {
            env.act(session, action).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Nine changes behind a channel of one: the reader was not reading.
    let seen = collect(&events, 9, Duration::from_secs(5)).await;
    let ids: HashSet<_> = seen.iter().map(|e| e.id.clone()).collect();
    assert_eq!((seen.len(), ids.len()), (9, 9), "{seen:?}");
    monitor.close().await;
}

/// A reader behind the store's retention gets one `Lagged` error, then the events still
/// held: never a silent gap.
async fn a_reader_behind_the_retention_is_told(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let sessions = env.active_sessions(5).await;
    let events = f.store.subscribe(1).await.unwrap();
    for (i, session) in sessions.iter().enumerate() {
        assert!(f.store.add(&format!("k{i}"), &session.data()).await.unwrap());
    }
    let monitor = StoreMonitor::start(&env.client(), &f.store, options(150, 3000)).unwrap();
    let walk_away = async |i: usize| {
        env.act(&sessions[i], "walkaway").await;
        let key = format!("k{i}");
        wait_for("the walkaway in the store", Duration::from_secs(5), async || {
            f.store.status(&key).await.unwrap().unwrap().status == Status::Walkaway
        })
        .await;
        // Time for the reader to take the event (and block on the full channel).
        tokio::time::sleep(Duration::from_millis(1200)).await;
    };
    // k0 fills the channel of one, the reader holds k1; k2 and k3 stay unread, then expire.
    for i in 0..4 {
        walk_away(i).await;
    }
    f.expire_events();
    walk_away(4).await;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.len() < 4 && Instant::now() < deadline {
        seen.extend(events.recv_batch(10, Duration::from_millis(200)).await);
    }
    let shape: Vec<String> = seen
        .iter()
        .map(|item| match item {
            Ok(event) => event.key.clone(),
            Err(error) => format!("{:?}", error.kind),
        })
        .collect();
    assert_eq!(shape, ["k0", "k1", "Lagged", "k4"], "{seen:?}");
    monitor.close().await;
}

mod lagged {
    use super::store_support::Kind;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_reader_behind_the_retention_is_told(Kind::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_reader_behind_the_retention_is_told(Kind::Postgres).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        super::a_reader_behind_the_retention_is_told(Kind::Redis).await
    }
}

async fn a_session_the_service_forgot_is_reported_unreachable(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let session = env.active_sessions(1).await.remove(0);
    let mut data = session.data();
    let events = f.store.subscribe(4).await.unwrap();
    data.session_token = format!("{}-unknown", data.session_token);
    data.status_url = data.status_url.join(&format!("{STATUS_PATH}{}", data.session_token)).unwrap();
    assert!(f.store.add("gone", &data).await.unwrap());
    let monitor = StoreMonitor::start(&env.client(), &f.store, options(200, 3000)).unwrap();
    let seen = collect(&events, 1, Duration::from_secs(5)).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].kind, "unreachable");
    assert!(seen[0].error.as_deref().is_some_and(|e| e.starts_with("NOT_FOUND")), "{:?}", seen[0].error);
    let status = f.store.status("gone").await.unwrap().unwrap();
    assert!(!status.watched && status.error.is_some(), "{status:?}");
    assert_eq!(status.status, Status::Active, "the last status seen stays");
    monitor.close().await;
}

for_each_store!(
    a_session_the_service_forgot_is_reported_unreachable,
    added_anywhere_polled_by_another_monitor,
    two_monitors_never_poll_one_session_in_the_same_interval,
    a_killed_monitor_is_taken_over_after_its_lease,
    corrupt_rows_are_skipped_and_reported,
    a_slow_reader_loses_nothing,
);
