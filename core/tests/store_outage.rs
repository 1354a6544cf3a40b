//! A store that drops every connection (Postgres backends terminated, Redis clients
//! killed): monitors and event readers connect again and go on; nothing is lost. (Its own
//! test binary, because it cuts every connection to the server.)

mod common;
mod store_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::Env;
use deviceauth::activeconnect::store::{StoreMonitor, StoreMonitorOptions};
use deviceauth::activeconnect::{MonitorOptions, Status};
use store_support::{Kind, fresh};

async fn connections_cut_are_made_again(kind: Kind) {
    let cut = match kind {
        Kind::Postgres => {
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
        }
        Kind::Redis => "CLIENT KILL TYPE normal",
        _ => return,
    };
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let mut sessions = Vec::new();
    for i in 0..3 {
        let session = env.signed_in_attempt(&format!("user-{i}")).await;
        env.act(&session, "approve").await;
        assert_eq!(session.refresh().await.unwrap(), Status::Active);
        assert!(f.store.add(&format!("k{i}"), &session.data()).await.unwrap());
        sessions.push(session);
    }
    let events = f.store.subscribe(16).await.unwrap();
    let options = StoreMonitorOptions {
        poll: MonitorOptions { interval: Duration::from_millis(200), ..MonitorOptions::default() },
        lease: Duration::from_secs(2),
        idle: Duration::from_millis(50),
        ..StoreMonitorOptions::default()
    };
    let monitor = StoreMonitor::start(&env.client(), &f.reopen().await, options).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    f.raw(cut);
    for session in &sessions {
        env.act(session, "walkaway").await;
    }
    let started = Instant::now();
    let mut ids = HashSet::new();
    while ids.len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(10), "events after the cut: {ids:?}");
        // A reader may report the cut (`Unreachable`) before it connects again.
        for event in events.recv_batch(16, Duration::from_millis(200)).await.into_iter().flatten() {
            assert_eq!(event.status, Status::Walkaway);
            ids.insert(event.id);
        }
    }
    for i in 0..3 {
        let status = f.store.status(&format!("k{i}")).await.unwrap().unwrap();
        assert_eq!(status.status, Status::Walkaway);
    }
    eprintln!("{kind:?}: recovered in {:?}; problems: {:?}", started.elapsed(), monitor.problems());
    monitor.close().await;
}

for_each_store!(connections_cut_are_made_again);
