//! The session monitor against the emulator: every change reported once, shards without
//! overlap, unreachable sessions reported, never dropped silently.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{Env, fault};
use deviceauth::activeconnect::{Monitor, MonitorEvent, MonitorEvents, MonitorOptions, Shard, Status};
use serde_json::json;

fn options() -> MonitorOptions {
    MonitorOptions {
        interval: Duration::from_millis(100),
        max_in_flight: 8,
        unreachable_after: Duration::from_millis(500),
        shard: None,
    }
}

/// Every event until `quiet` passes with none.
async fn drain(events: &mut MonitorEvents, quiet: Duration) -> Vec<MonitorEvent> {
    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(quiet, events.recv()).await {
        seen.push(event);
    }
    seen
}

#[tokio::test]
async fn each_change_is_reported_once_and_ended_sessions_are_dropped() {
    let env = Env::start().await;
    let sessions = env.active_sessions(30).await;
    let (monitor, mut events) = Monitor::start(&env.client(), options()).unwrap();
    for session in &sessions {
        assert!(monitor.add(session.data()));
        assert!(!monitor.add(session.data()), "added twice");
    }
    assert_eq!(monitor.len(), 30);
    for session in &sessions[..5] {
        env.act(session, "walkaway").await;
    }
    for session in &sessions[5..10] {
        env.act(session, "remote-logout").await;
    }
    let seen = drain(&mut events, Duration::from_millis(800)).await;
    let mut changes: HashMap<String, Vec<(Status, Status)>> = HashMap::new();
    for event in seen {
        match event {
            MonitorEvent::Changed { session_token, previous, status, .. } => {
                changes.entry(session_token).or_default().push((previous, status))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(changes.len(), 10, "{changes:?}");
    for session in &sessions[..5] {
        assert_eq!(changes[&session.data().session_token], [(Status::Active, Status::Walkaway)]);
    }
    for session in &sessions[5..10] {
        assert_eq!(changes[&session.data().session_token], [(Status::Active, Status::Closed)]);
        assert!(!monitor.contains(&session.data().session_token), "ended sessions are dropped");
    }
    assert_eq!(monitor.len(), 25);

    // Coming back is a change too; removing a session stops its reports.
    env.act(&sessions[0], "return").await;
    assert!(monitor.remove(&sessions[1].data().session_token));
    env.act(&sessions[1], "return").await;
    let seen = drain(&mut events, Duration::from_millis(800)).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(matches!(&seen[0], MonitorEvent::Changed { status: Status::Active, .. }));
}

#[tokio::test]
async fn polls_are_spread_and_bounded() {
    let env = Env::start().await;
    let sessions = env.active_sessions(20).await;
    let interval = Duration::from_millis(400);
    env.control(reqwest::Method::DELETE, "/_emulator/requests", None).await;
    let (monitor, _events) = Monitor::start(&env.client(), MonitorOptions { interval, ..options() }).unwrap();
    for session in &sessions {
        monitor.add(session.data());
    }
    tokio::time::sleep(interval / 2).await;
    let early = env.requests("/authentication/session_status/").await;
    assert!(early > 0 && early < 20, "first polls spread over the interval, {early} in the first half");
    tokio::time::sleep(interval * 5).await;
    let polls = env.requests("/authentication/session_status/").await;
    // 20 sessions every 400 ms for 2.2 s: about 110 polls, never one per session per tick
    assert!((60..=140).contains(&polls), "{polls} polls");
}

#[tokio::test]
async fn shards_split_sessions_without_overlap() {
    let env = Env::start().await;
    let sessions = env.active_sessions(24).await;
    let client = env.client();
    let mut owners: HashMap<String, u32> = HashMap::new();
    let mut monitors = Vec::new();
    for index in 0..4 {
        let shard = Shard::new(index, 4).unwrap();
        let (monitor, events) = Monitor::start(&client, MonitorOptions { shard: Some(shard), ..options() }).unwrap();
        for session in &sessions {
            if monitor.add(session.data()) {
                assert!(owners.insert(session.data().session_token, index).is_none(), "two shards took one session");
            }
        }
        monitors.push((monitor, events));
    }
    assert_eq!(owners.len(), 24, "every session has a shard");
    for session in &sessions {
        env.act(session, "walkaway").await;
    }
    let mut seen = HashSet::new();
    for (index, (_, events)) in monitors.iter_mut().enumerate() {
        for event in drain(events, Duration::from_millis(600)).await {
            let MonitorEvent::Changed { session_token, .. } = event else { panic!("{event:?}") };
            assert_eq!(owners[&session_token], index as u32);
            assert!(seen.insert(session_token), "a change seen twice");
        }
    }
    assert_eq!(seen.len(), 24);
}

#[tokio::test]
async fn sessions_that_cannot_be_reached_are_reported() {
    let env = Env::start().await;
    let sessions = env.active_sessions(3).await;
    let (monitor, mut events) = Monitor::start(&env.client(), options()).unwrap();
    for session in &sessions {
        monitor.add(session.data());
    }
    env.fault(fault("/authentication/session_status/", json!({"status": 503, "count": 100_000}))).await;
    let seen = drain(&mut events, Duration::from_secs(3)).await;
    let unreachable: HashSet<String> = seen
        .iter()
        .map(|event| match event {
            MonitorEvent::Unreachable { session_token, error, .. } => {
                assert_eq!(error.status(), Some(503));
                session_token.clone()
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(unreachable.len(), 3);
    assert!(monitor.is_empty());
}

#[tokio::test]
async fn ended_or_foreign_sessions_are_not_added_and_the_stream_ends_with_the_monitor() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("ada").await;
    env.act(&session, "deny").await;
    session.refresh().await.unwrap();
    let (monitor, events) = Monitor::start(&env.client(), options()).unwrap();
    assert!(!monitor.add(session.data()), "an ended session is not watched");
    let other = Shard::new(1 - Shard::of(&session.data().session_token, 2), 2).unwrap();
    let (foreign, _) = Monitor::start(&env.client(), MonitorOptions { shard: Some(other), ..options() }).unwrap();
    let mut pending = session.data();
    pending.status = Status::Pending;
    assert!(!foreign.add(pending));
    drop(monitor);
    assert!(tokio::time::timeout(Duration::from_secs(2), events.recv()).await.unwrap().is_none());
    assert!(Monitor::start(&env.client(), MonitorOptions { interval: Duration::ZERO, ..options() }).is_err());
}
